#!/bin/sh
# extract-vmlinux.sh BZIMAGE OUT: the uncompressed vmlinux (ELF) inside a
# bzImage, for xeno-hv's direct boot of an uncompressed kernel
# (docs/HVM.md).  The setup header says where the compressed payload is
# (payload_offset at 0x248, payload_length at 0x24c, both from the start
# of the protected-mode code, which follows the setup sectors); its magic
# says how it is compressed.  xz (Debian's choice), gzip and zstd are
# handled; the result must be an ELF file.
set -eu

[ $# -eq 2 ] || { echo "usage: $0 BZIMAGE OUT" >&2; exit 2; }
IN=$1
OUT=$2
die() { echo "extract-vmlinux: $*" >&2; exit 1; }
# u BYTES OFFSET: an unsigned little-endian number from the file
u() { od -An -t "u$1" -j "$2" -N "$1" "$IN" | tr -d ' '; }

[ "$(od -An -c -j 0x202 -N 4 "$IN" | tr -d ' ')" = HdrS ] ||
    die "$IN is not a bzImage (no HdrS magic at 0x202)"
[ "$(u 2 0x206)" -ge $((0x208)) ] ||
    die "$IN: boot protocol before 2.08 has no payload fields"
sects=$(u 1 0x1f1)
[ "$sects" -ne 0 ] || sects=4
off=$(( (sects + 1) * 512 + $(u 4 0x248) ))
len=$(u 4 0x24c)
magic=$(od -An -t x1 -j "$off" -N 6 "$IN" | tr -d ' \n')
case $magic in
fd377a585a00)	dec="xz -dc --single-stream" ;;
1f8b*)		dec="gzip -dc" ;;
28b52ffd*)	dec="zstd -dcq" ;;
*)		die "$IN: unknown payload compression (magic $magic)" ;;
esac
tmp=$OUT.tmp.$$
trap 'rm -f "$tmp"' EXIT
# The payload is followed by 4 bytes (its decompressed size): take
# exactly payload_length bytes.  A decompressor that complains about what
# follows the stream is forgiven if the output is a whole ELF file.
tail -c +$((off + 1)) "$IN" | head -c "$len" | $dec >"$tmp" 2>/dev/null ||
    [ -s "$tmp" ] || die "$IN: cannot decompress the payload ($dec)"
[ "$(od -An -c -N 4 "$tmp" | tr -d ' ')" = '177ELF' ] ||
    die "$IN: the payload is not an ELF vmlinux"
mv "$tmp" "$OUT"
trap - EXIT
echo "extract-vmlinux: $OUT ($(wc -c <"$OUT") bytes, from $IN)"
