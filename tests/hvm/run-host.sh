#!/bin/bash
# run-host.sh SCRIPT [TIMEOUT_S]: run SCRIPT inside the HVM test host and
# exit with its status.
#
# The test host is Debian's kernel under QEMU TCG with emulated AMD-V
# (-cpu EPYC,+svm,+npt): kvm_amd loads there and gives a /dev/kvm with
# real hardware-virtualization rules, which this machine's software KVM
# cannot give a Linux guest (docs: DESIGN.md, "What /dev/kvm is on our
# machines").  SCRIPT runs under busybox sh as /test.sh, with /bin/xeno-hv
# and the Linux guest in /guest; see build-host.sh and host-init.
#
# Needs `make` and `make linux-guest` done.  The serial console is shown
# as it comes and kept in $HVM_LOG.  Exit status: SCRIPT's, from the
# "HVMHOST-EXIT n" line, or 1 if the host timed out (default 300 s) or
# never printed that line.
#
#   BUILD         build directory (default: build)
#   HVM_LOG       console log (default: $BUILD/hvm-logs/<script name>.log)
#   HVMHOST_QEMU  1: QEMU in the test host too (passed to build-host.sh)
set -eu

[ $# -ge 1 ] && [ $# -le 2 ] || {
	echo "usage: $0 SCRIPT [TIMEOUT_S]" >&2; exit 2; }
SCRIPT=$1
TIMEOUT=${2:-300}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export BUILD=${BUILD:-build}
case $BUILD in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
LINUX=$B/guests/linux
HVM_LOG=${HVM_LOG:-$B/hvm-logs/$(basename "$SCRIPT" .sh).log}

die() { echo "run-host: $*" >&2; exit 1; }
[ -f "$SCRIPT" ] || die "no test script '$SCRIPT'"
[ -x "$B/xeno-hv" ] || die "no $B/xeno-hv: run 'make' first"
[ -f "$LINUX/vmlinuz" ] && [ -f "$LINUX/initrd.img" ] ||
    die "no Linux guest in $LINUX: run 'make linux-guest' first"
command -v qemu-system-x86_64 >/dev/null ||
    die "no qemu-system-x86_64: run scripts/deps.sh"

T=$(mktemp -d /tmp/xeno-hvm.XXXXXX)
QPID='' TPID=''
cleanup() {
	local p
	for p in $QPID $TPID; do
		kill -TERM "$p" 2>/dev/null || continue
		# QEMU exits on SIGTERM at once; KILL it if it does not.
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

"$HERE/build-host.sh" "$T" "$SCRIPT"

mkdir -p "$(dirname "$HVM_LOG")"
: >"$HVM_LOG"
# tee shows the console as it comes and keeps it; a fifo between them, so
# that $! is QEMU's own PID and not a pipeline's.
mkfifo "$T/console"
tee "$HVM_LOG" <"$T/console" &
TPID=$!
t0=$(date +%s.%N)
qemu-system-x86_64 -M q35 -accel tcg -cpu EPYC,+svm,+npt -m 2048 -smp 2 \
    -nodefaults -display none -serial stdio -no-reboot \
    -kernel "$LINUX/vmlinuz" -initrd "$T/host.img" \
    -append 'console=ttyS0 quiet panic=-1' \
    </dev/null >"$T/console" 2>"$T/qemu.err" &
QPID=$!

elapsed() { echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }'; }
t_init=
deadline=$((SECONDS + TIMEOUT))
while kill -0 "$QPID" 2>/dev/null; do
	if [ -z "$t_init" ] && grep -q '^hvmhost: init at' "$HVM_LOG"; then
		t_init=$(elapsed)
	fi
	if [ $SECONDS -ge $deadline ]; then
		echo "run-host: timeout: test host still running after" \
		    "${TIMEOUT} s; stopping QEMU (pid $QPID)" >&2
		break
	fi
	sleep 0.2
done
total=$(elapsed)
# On a timeout cleanup stops QEMU; tee ends when QEMU's output does.
if ! kill -0 "$QPID" 2>/dev/null; then
	wait "$QPID" || echo "run-host: QEMU exited with status $?" >&2
	QPID=
	wait "$TPID" || true
	TPID=
fi

# TCG lacks a few of EPYC's CPUID features and says so once per vCPU:
# show the rest of QEMU's complaints only.
grep -v "TCG doesn't support requested feature" "$T/qemu.err" >&2 || true

status=$(tr -d '\r' <"$HVM_LOG" |
    sed -n 's/^HVMHOST-EXIT \([0-9][0-9]*\)$/\1/p' | tail -n 1)
echo "run-host: test host reached /init after ${t_init:-?} s," \
    "ran ${total} s in all (log: $HVM_LOG)"
if [ -z "$status" ]; then
	echo "run-host: no HVMHOST-EXIT line from the test host" >&2
	exit 1
fi
echo "run-host: $(basename "$SCRIPT") exited $status"
exit "$status"
