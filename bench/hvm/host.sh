#!/bin/sh
# bench/hvm inside the HVM test host: a SCRIPT for tests/hvm/run-host.sh
# (busybox sh, as /test.sh), which bench/hvm/run.sh runs with its settings
# written in front of it.  Boots /guest/$KERNEL with /guest/initrd.img to
# the guest's boot timer on xeno-hv and on QEMU with KVM, ROUNDS times
# each, alternating, and prints every boot, the medians and the ratio.
#
# Both VMMs get the same kernel, initramfs and command line, 1 vCPU and
# 256 MiB.  The guest's /init writes the boot timer (port 0x440) and
# prints "xeno-linux: init up"; `xrun="exit 0"` then makes it write 0 to
# port 0x441, which ends xeno-hv with status 0 and QEMU, through
# isa-debug-exit, with status 1 ((0 << 1) | 1).
#
# Clock: busybox sh's $EPOCHREALTIME (gettimeofday, 1 us), read without a
# fork; `date +%s%N` has no %N in busybox and /proc/uptime ticks in 10 ms.
# The shell reads it, writes it to a file and execs the VMM; then:
#   boot  exec -> the boot-timer write: the figure compared.  QEMU:
#         isa-debugcon at 0x440 writes the byte to a fifo, and a shell
#         blocked reading it reads the clock.  xeno-hv: the boot-timer
#         time in its counters (CLOCK_MONOTONIC), put on the same clock
#         with the counters' CLOCK_REALTIME start.
#   line  exec -> the "init up" line on the guest console, seen the same
#         way for both: the serial console goes to a fifo that a shell
#         loop reads, reading the clock when the line comes.  A check on
#         `boot`: the gap between the two is the guest's own work plus
#         the console path, alike on both VMMs.
#   own   xeno-hv's "booted N ms after start" (from main(), not exec).
#
# Settings (run.sh writes them): ROUNDS, MACHINES (QEMU machine types to
# try once each; the fastest is used), KERNEL (vmlinuz, or vmlinux: the
# ELF inside it, which QEMU boots through its PVH entry), CMDLINE (before
# xrun=...), BOOT_TIMEOUT (s per boot), SHOW_CONSOLE (1: print every
# guest console), GUEST_CMD (run by the guest after the boot timer,
# before `exit 0`).
set -u
ROUNDS=${ROUNDS:-5}
MACHINES=${MACHINES:-microvm,pcie=on microvm pc}
KERNEL=/guest/${KERNEL:-vmlinuz}
CMDLINE=${CMDLINE:-console=ttyS0 reboot=k panic=-1 quiet}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-300}
SHOW_CONSOLE=${SHOW_CONSOLE:-0}
GUEST_CMD=${GUEST_CMD:-}
XRUN="xrun=\"${GUEST_CMD:+$GUEST_CMD; }exit 0\""
T=/tmp/bench-hvm
R=/tmp/bench-hvm.results

say() { echo "bench-hvm: $*"; }
# A $EPOCHREALTIME value (seconds, a dot, 6 digits) in microseconds.
us() { echo $((${1%.*}${1#*.})); }
ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# console_watch FIFO OUT: copy a guest console from FIFO to OUT, each line
# after the clock at which it came, and write the clock to OUT.seen when
# the boot-timer line arrives.  `read` takes a pipe a byte at a time; with
# `quiet` the guest prints a few lines only.
console_watch() {
	_seen=
	while IFS= read -r _l; do
		_t=$EPOCHREALTIME
		if [ -z "$_seen" ]; then
			case $_l in
			*"xeno-linux: init up"*)
				_seen=$_t
				echo "$_seen" >"$2.seen" ;;
			esac
		fi
		printf '%s %s\n' "$_t" "$_l" >>"$2"
	done <"$1"
}

# port_watch FIFO OUT: the clock to OUT when the first byte comes.
port_watch() {
	if read -r -n 1 _b <"$1"; then
		echo "$EPOCHREALTIME" >"$2"
	fi
}

# watchdog PID: kill PID (a VMM) after BOOT_TIMEOUT s; TERM stops it and
# its sleep.
watchdog() {
	trap 'kill $_s 2>/dev/null; exit 0' TERM
	sleep "$BOOT_TIMEOUT" &
	_s=$!
	wait $_s
	say "still booting after $BOOT_TIMEOUT s: killing pid $1"
	kill "$1"
}

# boot CMD...: one boot of a VMM whose console goes to $T/con and whose
# boot-timer write (if it can forward it) goes to $T/port, both fifos.
# Sets rc, t0 (us), line and port (us after t0, or empty).
boot() {
	rm -rf "$T"
	mkdir -p "$T"
	mkfifo "$T/con" "$T/port"
	console_watch "$T/con" "$T/out" &
	_cw=$!
	port_watch "$T/port" "$T/port.seen" &
	_pw=$!
	# The clock is read in the child, just before it becomes the VMM.
	(echo "$EPOCHREALTIME" >"$T/t0"; exec "$@") >"$T/vmm.out" 2>&1 &
	_vp=$!
	watchdog $_vp &
	_wd=$!
	wait $_vp
	rc=$?
	kill $_wd 2>/dev/null
	wait $_wd
	# A read-write open never blocks: it lets a watcher still waiting to
	# open its fifo (the VMM never opened it) through to end of file.
	: <>"$T/con"
	: <>"$T/port"
	wait $_cw
	wait $_pw
	t0=$(us "$(cat "$T/t0")")
	line= port=
	[ -f "$T/out.seen" ] && line=$(($(us "$(cat "$T/out.seen")") - t0))
	[ -f "$T/port.seen" ] && port=$(($(us "$(cat "$T/port.seen")") - t0))
	if [ "$SHOW_CONSOLE" = 1 ]; then
		say "console of: $*"
		show_console
	fi
}

# The console, each line after the ms since exec at which it came.
show_console() {
	[ -f "$T/out" ] || return 0
	awk -v t0="$t0" '{ t = $1; sub(/^[^ ]* /, "")
	    split(t, p, "."); printf "%+10.1f | %s\n",
	    ((p[1] * 1000000 + p[2]) - t0) / 1000, $0 }' "$T/out"
}

# check NAME WANT_RC: fail the benchmark if the boot did not reach the
# boot timer and the guest's exit.
check() {
	if [ "$rc" = "$2" ] && [ -n "$line" ] &&
	    grep -q "xeno-linux: exit status=0" "$T/out"; then
		return 0
	fi
	say "FAIL: $1: exit status $rc (want $2)," \
	    "boot-timer line ${line:-never seen}; VMM output and console:"
	cat "$T/vmm.out" 2>/dev/null
	show_console
	exit 1
}

xeno() {
	boot xeno-hv run --kernel "$KERNEL" --initrd /guest/initrd.img \
	    --mem 256M --vcpus 1 --console "file:$T/con" --stats "$T/st" \
	    --cmdline "$CMDLINE $XRUN"
	check xeno-hv 0
	# The counters' clock is CLOCK_MONOTONIC; start_realtime_ns is their
	# start on CLOCK_REALTIME, the clock $EPOCHREALTIME reads.
	xeno-hv stat "$T/st" --json >"$T/st.json"
	_f() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$T/st.json" | head -n 1; }
	port=$((($(_f start_realtime_ns) + $(_f boot_done_ns) - \
	    $(_f start_ns)) / 1000 - t0))
	own=$(xeno-hv stat "$T/st" | sed -n 's/.*booted \([0-9.]*\) ms.*/\1/p' |
	    awk '{ printf "%.1f", $1 }')
	[ -n "$own" ] || { say "FAIL: xeno-hv: no boot time in its counters"
	    exit 1; }
	[ "$SHOW_CONSOLE" = 1 ] && xeno-hv stat "$T/st"
}

qemu() {	# MACHINE
	boot qemu-system-x86_64 -L /usr/share/qemu -L /usr/share/seabios \
	    -M "$1" -accel kvm -cpu host -smp 1 -m 256M \
	    -nodefaults -no-user-config -display none -no-reboot \
	    -kernel "$KERNEL" -initrd /guest/initrd.img \
	    -append "$CMDLINE $XRUN" \
	    -chardev "file,id=con,path=$T/con" -serial chardev:con \
	    -chardev "file,id=port,path=$T/port" \
	    -device isa-debugcon,iobase=0x440,chardev=port \
	    -device isa-debug-exit,iobase=0x441,iosize=1
	check "qemu -M $1" 1
	[ -n "$port" ] || { say "FAIL: qemu -M $1: no boot-timer byte"
	    exit 1; }
	own=-
}

[ -c /dev/kvm ] || { say "FAIL: no /dev/kvm in the test host"; exit 1; }
[ -f "$KERNEL" ] || { say "FAIL: no $KERNEL in the test host"; exit 1; }
command -v qemu-system-x86_64 >/dev/null ||
    { say "FAIL: no QEMU in the test host (HVMHOST_QEMU=1)"; exit 1; }
say "$(qemu-system-x86_64 --version | head -n 1); $(xeno-hv --version 2>&1 |
    head -n 1); guest $KERNEL, cmdline: $CMDLINE $XRUN"

# The first boot after the host comes up pays for things no later boot
# does; the QEMU machine trials below warm QEMU up.
xeno
say "warm-up xeno-hv boot: $(ms $port) ms (line $(ms $line) ms; not counted)"

best= best_ms=
for m in $MACHINES; do
	qemu "$m"
	say "QEMU -M $m: boot $(ms $port) ms (line $(ms $line) ms)"
	if [ -z "$best" ] || [ "$port" -lt "$best_ms" ]; then
		best=$m best_ms=$port
	fi
done
say "QEMU machine: -M $best, the fastest of: $MACHINES"

: >"$R.x"; : >"$R.xl"; : >"$R.xo"; : >"$R.q"; : >"$R.ql"
row() { printf '%-5s %-30s %10s %10s %10s\n' "$@"; }
row round vmm "boot(ms)" "line(ms)" "own(ms)"
r=1
while [ $r -le "$ROUNDS" ]; do
	xeno
	row $r xeno-hv "$(ms $port)" "$(ms $line)" "$own"
	echo $port >>"$R.x"; echo $line >>"$R.xl"; echo "$own" >>"$R.xo"
	qemu "$best"
	row $r "qemu-kvm -M $best" "$(ms $port)" "$(ms $line)" -
	echo $port >>"$R.q"; echo $line >>"$R.ql"
	r=$((r + 1))
done

x=$(median <"$R.x") q=$(median <"$R.q")
xl=$(median <"$R.xl") ql=$(median <"$R.ql")
row med xeno-hv "$(ms $x)" "$(ms $xl)" "$(median <"$R.xo")"
row med "qemu-kvm -M $best" "$(ms $q)" "$(ms $ql)" -
echo "ratio xeno-hv/QEMU-KVM boot: $(awk -v a="$x" -v b="$q" \
    'BEGIN { printf "%.2f", a / b }') (target <= 0.5)"
say "ratio of the console-line figures: $(awk -v a="$xl" -v b="$ql" \
    'BEGIN { printf "%.2f", a / b }')"
rm -rf "$T" "$R".*
exit 0
