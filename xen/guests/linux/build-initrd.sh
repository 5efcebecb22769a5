#!/bin/sh
# build-initrd.sh OUTDIR: OUTDIR/initrd.img, the initramfs of HVM Linux
# guests: static busybox, the virtio-pci, virtio-net and virtio-blk modules
# of the kernel that fetch-kernel.sh left in OUTDIR/root, and our /init
# (xen/guests/linux/init).  Prints the modules it put in.
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$1" && pwd)
. "$HERE/initrd-lib.sh"

[ -s "$OUT/kver" ] && [ -d "$OUT/root" ] ||
    { echo "build-initrd: no kernel in $OUT; run fetch-kernel.sh $1" >&2
      exit 1; }
KVER=$(cat "$OUT/kver")

STAGE=$(mktemp -d "$OUT/.initrd.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT

initrd_busybox "$STAGE"
echo "build-initrd: modules for $KVER:"
mods=$(initrd_modules "$OUT/root" "$KVER" "$STAGE" \
    virtio virtio_ring virtio_pci virtio_pci_modern_dev \
    virtio_pci_legacy_dev virtio_net net_failover failover virtio_blk)
echo "$mods" | sed 's/^/  /'
cp "$HERE/init" "$STAGE/init"
chmod 755 "$STAGE/init"
initrd_pack "$STAGE" "$OUT/initrd.img"
echo "build-initrd: $OUT/initrd.img ($(wc -c <"$OUT/initrd.img") bytes)"
