#!/bin/sh
# build-host.sh OUTDIR SCRIPT: OUTDIR/host.img, the initramfs of the HVM
# test host (see run-host.sh).  It holds busybox, the KVM modules of the
# Debian kernel that `make linux-guest` fetched, /bin/xeno-hv, the Linux
# guest as /guest/{vmlinuz,initrd.img}, SCRIPT as /test.sh and
# tests/hvm/host-init as /init.
#
#   BUILD      build directory (default: build)
#   XENO_HV    the xeno-hv to copy in (default: $BUILD/xeno-hv)
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
# A dynamic xeno-hv (the SAN=1 or VG=1 builds) would need its libraries.
if readelf -l "$XENO_HV" | grep -q 'Requesting program interpreter'; then
	die "$XENO_HV is not static; the test host has no shared libraries"
fi
for f in vmlinuz initrd.img kver root/.deb; do
	[ -e "$LINUX/$f" ] || die "no $LINUX/$f; run make linux-guest"
done
KVER=$(cat "$LINUX/kver")

STAGE=$(mktemp -d "$OUT/.host.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT

initrd_busybox "$STAGE"
mods=$(initrd_modules "$LINUX/root" "$KVER" "$STAGE" \
    irqbypass kvm ccp kvm_amd tun)
echo "build-host: modules for $KVER:"
echo "$mods" | sed 's/^/  /'
cp "$XENO_HV" "$STAGE/bin/xeno-hv"
mkdir -p "$STAGE/guest"
cp "$LINUX/vmlinuz" "$LINUX/initrd.img" "$STAGE/guest/"
cp "$SCRIPT" "$STAGE/test.sh"
cp "$HERE/host-init" "$STAGE/init"
chmod 755 "$STAGE/init" "$STAGE/test.sh"
# Level 1: the guest kernel and initramfs are compressed already, and
# -9 would cost seconds at every run for 2% of the size.
initrd_pack "$STAGE" "$OUT/host.img" 1
echo "build-host: $OUT/host.img ($(wc -c <"$OUT/host.img") bytes)"
