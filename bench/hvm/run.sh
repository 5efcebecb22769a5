#!/bin/bash
# bench/hvm: boot time of a Linux guest (Debian's kernel and our busybox
# initramfs, `make linux-guest`) to its boot timer, on xeno-hv against
# QEMU with KVM, in one run inside the HVM test host (tests/hvm: QEMU TCG
# with emulated AMD-V, where kvm_amd gives a real /dev/kvm; this machine's
# own /dev/kvm cannot boot Linux).  See docs/PERFORMANCE.md.
#
#   bench/hvm/run.sh
#   ROUNDS=9 MACHINES=pc bench/hvm/run.sh
#
# QEMU is tried once on each of MACHINES and the fastest is used; then
# ROUNDS boots of each VMM alternate.  Printed per boot and as medians:
# exec -> the guest's boot-timer write (the figure compared), exec -> the
# "init up" line the guest's /init prints after it (measured the same way
# for both VMMs, a check), and xeno-hv's own "booted N ms after start"; then
# "ratio xeno-hv/QEMU-KVM boot: X.XX (target <= 0.5)".  How each is
# measured: bench/hvm/host.sh.  Takes 4-6 minutes under TCG.
#
# Exit status: non-zero if the test host or any boot failed; a missed
# target is reported, not judged.
#
#   ROUNDS        boots of each VMM (default 5)
#   KERNEL        vmlinuz (default), or vmlinux: the ELF inside it, which
#                 QEMU boots through its PVH entry (make linux-guest)
#   MACHINES      QEMU machine types to try (default "microvm,pcie=on
#                 microvm pc"; "pc" for vmlinux: qboot did not boot it)
#   CMDLINE       guest command line before xrun="exit 0" (default
#                 "console=ttyS0 reboot=k panic=-1 quiet")
#   BOOT_TIMEOUT  seconds one boot may take (default 300)
#   SHOW_CONSOLE  1: print every guest console
#   GUEST_CMD     a command the guest runs after the boot timer, e.g. to
#                 see where boot time goes: SHOW_CONSOLE=1 GUEST_CMD=dmesg
#                 CMDLINE="console=ttyS0 reboot=k panic=-1 quiet
#                 initcall_debug log_buf_len=4M"
#   HOST_TIMEOUT  seconds the whole test host may take (default: from
#                 the number of boots)
#   BUILD         build directory (default: build)
#   HVM_LOG       test-host console (default $BUILD/hvm-logs/bench-hvm.log)
set -eu
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
ROUNDS=${ROUNDS:-5}
case $ROUNDS in ''|*[!0-9]*|0) echo "bench/hvm: ROUNDS must be a number" \
    ">= 1" >&2; exit 2 ;; esac
KERNEL=${KERNEL:-vmlinuz}
case $KERNEL in
vmlinuz) MACHINES=${MACHINES:-microvm,pcie=on microvm pc} ;;
vmlinux) MACHINES=${MACHINES:-pc} ;;
*) echo "bench/hvm: KERNEL is vmlinuz or vmlinux" >&2; exit 2 ;;
esac
CMDLINE=${CMDLINE:-console=ttyS0 reboot=k panic=-1 quiet}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-300}
SHOW_CONSOLE=${SHOW_CONSOLE:-0}
GUEST_CMD=${GUEST_CMD:-}
set -- $MACHINES
# A boot takes 10-20 s in the test host; allow a minute each, and two for
# the host to come up.
HOST_TIMEOUT=${HOST_TIMEOUT:-$((120 + 60 * (1 + $# + 2 * ROUNDS)))}
export HVM_LOG=${HVM_LOG:-$B/hvm-logs/bench-hvm.log}

T=$(mktemp -d /tmp/bench-hvm.XXXXXX)
trap 'rm -rf "$T"' EXIT
# The settings go in front of the host script: the test host has no other
# way in.  Each value single-quoted for sh.
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
{
	echo "#!/bin/sh"
	for v in ROUNDS KERNEL MACHINES CMDLINE BOOT_TIMEOUT SHOW_CONSOLE \
	    GUEST_CMD; do
		echo "$v=$(q "${!v}")"
	done
	cat bench/hvm/host.sh
} >"$T/bench-hvm.sh"

HVMHOST_QEMU=1 tests/hvm/run-host.sh "$T/bench-hvm.sh" "$HOST_TIMEOUT"

# run-host.sh showed the host's console as it came; the figures again,
# without the host's kernel messages.
echo
echo "bench/hvm: $(date -u +%Y-%m-%d), $ROUNDS rounds (log: $HVM_LOG)"
tr -d '\r' <"$HVM_LOG" | grep -E '^(bench-hvm: |round |[0-9]+ |med |ratio )'
