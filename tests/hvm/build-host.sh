#!/bin/sh
# build-host.sh OUTDIR SCRIPT: OUTDIR/host.img, the initramfs of the HVM
# test host (see run-host.sh).  It holds busybox, the KVM modules of the
# Debian kernel that `make linux-guest` fetched, /bin/xeno-hv, the Linux
# guest as /guest/{vmlinuz,vmlinux,initrd.img}, SCRIPT as /test.sh and
# tests/hvm/host-init as /init.
#
#   BUILD         build directory (default: build)
#   XENO_HV       the xeno-hv to copy in (default: $BUILD/xeno-hv)
#   HVMHOST_QEMU  1: also this machine's qemu-system-x86_64, as
#                 /bin/qemu-system-x86_64 with its shared libraries and the
#                 firmware of the microvm and pc machines (bench/hvm).
#                 QEMU finds its data relative to its own path, which is
#                 /bin here: run it with -L /usr/share/qemu
#                 -L /usr/share/seabios.
set -eu

[ $# -eq 2 ] || { echo "usage: $0 OUTDIR SCRIPT" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$(cd "$1" && pwd)
SCRIPT=$2
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
XENO_HV=${XENO_HV:-$BUILD/xeno-hv}
LINUX=$BUILD/guests/linux
. "$ROOT/xen/guests/linux/initrd-lib.sh"

die() { echo "build-host: $*" >&2; exit 1; }
[ -f "$SCRIPT" ] || die "no test script '$SCRIPT'"
[ -x "$XENO_HV" ] || die "no $XENO_HV; run make"
for f in vmlinuz initrd.img kver root/.deb; do
	[ -e "$LINUX/$f" ] || die "no $LINUX/$f; run make linux-guest"
done
KVER=$(cat "$LINUX/kver")

# host_qemu STAGE: qemu-system-x86_64, the libraries ldd resolves for it
# (the dynamic loader too) at the same paths, and the firmware files
# `strace -e openat` showed QEMU opening for `-M microvm` (qboot) and
# `-M pc` (SeaBIOS, and kvmvapic.bin) booting with -kernel: a bzImage
# (linuxboot_dma.bin) or an ELF vmlinux through its PVH entry (pvh.bin).
# About 50 MB unpacked, 20 MB in the image.
# host_libs BINARY STAGE: the shared libraries ldd resolves for BINARY
# (the dynamic loader too), at the same paths; nothing for a static one.
host_libs() {
	readelf -l "$1" | grep -q 'Requesting program interpreter' || return 0
	_ldd=$(ldd "$1") || die "ldd $1 failed"
	if echo "$_ldd" | grep -q 'not found'; then
		die "$1 misses libraries: $(echo "$_ldd" | grep 'not found')"
	fi
	# "libz.so.1 => /lib/.../libz.so.1 (0x...)", or for the loader
	# "/lib64/ld-linux-x86-64.so.2 (0x...)"; the vDSO has no path.
	for _l in $(echo "$_ldd" | sed -n -e 's|.*=> \(/[^ ]*\) .*|\1|p' \
	    -e 's|^[[:space:]]*\(/[^ ]*\) .*|\1|p'); do
		mkdir -p "$2$(dirname "$_l")"
		cp -L "$_l" "$2$_l"
	done
}

host_qemu() {
	_q=$(command -v qemu-system-x86_64) ||
	    die "HVMHOST_QEMU=1 but no qemu-system-x86_64; run scripts/deps.sh"
	cp "$_q" "$1/bin/qemu-system-x86_64"
	host_libs "$_q" "$1"
	for _f in qemu/bios-microvm.bin qemu/linuxboot_dma.bin \
	    qemu/pvh.bin qemu/kvmvapic.bin seabios/bios-256k.bin; do
		[ -f "/usr/share/$_f" ] || die "no /usr/share/$_f for QEMU"
		mkdir -p "$1/usr/share/$(dirname "$_f")"
		cp -L "/usr/share/$_f" "$1/usr/share/$_f"
	done
}

STAGE=$(mktemp -d "$OUT/.host.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT

initrd_busybox "$STAGE"
mods=$(initrd_modules "$LINUX/root" "$KVER" "$STAGE" \
    irqbypass kvm ccp kvm_amd tun)
echo "build-host: modules for $KVER:"
echo "$mods" | sed 's/^/  /'
cp "$XENO_HV" "$STAGE/bin/xeno-hv"
# the SAN=1 build is dynamic: its libraries come along
host_libs "$XENO_HV" "$STAGE"
mkdir -p "$STAGE/guest"
cp "$LINUX/vmlinuz" "$LINUX/initrd.img" "$STAGE/guest/"
# the uncompressed kernel inside vmlinuz (make linux-guest extracts it)
[ ! -f "$LINUX/vmlinux" ] || cp "$LINUX/vmlinux" "$STAGE/guest/"
cp "$SCRIPT" "$STAGE/test.sh"
cp "$HERE/host-init" "$STAGE/init"
chmod 755 "$STAGE/init" "$STAGE/test.sh"
if [ "${HVMHOST_QEMU:-0}" = 1 ]; then
	host_qemu "$STAGE"
	echo "build-host: with $(qemu-system-x86_64 --version | head -n 1)"
fi
# Level 1: the guest kernel and initramfs are compressed already, and
# -9 would cost seconds at every run for 2% of the size.
initrd_pack "$STAGE" "$OUT/host.img" 1
echo "build-host: $OUT/host.img ($(wc -c <"$OUT/host.img") bytes)"
