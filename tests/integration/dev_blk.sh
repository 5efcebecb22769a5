#!/bin/bash
# VBDs end to end with the blkbench guest:
#  - data written through a read-write VBD over two extents is in the host
#    files, at the right offsets, with the SHA-256 the guest computed;
#  - a read-only VBD refuses writes and the file is unchanged;
#  - two copy-on-write overlays on one base keep their own data across
#    restarts while the base stays byte-identical;
#  - a lease that expires mid-run makes I/O fail, and the counters say so.
. "$(dirname "$0")/../lib.sh"
need_kvm
G="$XENO_GUESTS/blkbench.elf"
sha() { sha256sum | cut -d' ' -f1; }

# rw over two extents: 1 MiB at offset 64 KiB of a, then 3 MiB of b
head -c $((2 << 20)) /dev/urandom >"$T/a"
truncate -s 3M "$T/b"
hv run --image "$G" --mem 32M \
    --vbd "id=data,extents=$T/a:64K:1M+$T/b:0:3M" \
    --args "mode=write-verify seed=7 offset=0 bytes=4194304" \
    --stats "$T/rw" >"$T/rw.out" 2>&1 || { cat "$T/rw.out"; fail "write-verify"; }
cat "$T/rw.out"
grep -q "^blkbench: verify ok" "$T/rw.out" || fail "guest read back other data"
g=$(sed -n 's/^blkbench: sha256=\([0-9a-f]*\).*/\1/p' "$T/rw.out" | head -1)
h=$( { dd if="$T/a" bs=64K skip=1 count=16 status=none; cat "$T/b"; } | sha)
[ -n "$g" ] && [ "$g" = "$h" ] || fail "host files sha $h, guest wrote $g"
[ "$(stat_field "$T/rw" '.devices[0].wr_bytes')" -ge 4194304 ] || fail wr_bytes
[ "$(stat_field "$T/rw" '.devices[0].rd_bytes')" -ge 4194304 ] || fail rd_bytes
[ "$(stat_field "$T/rw" '.devices[0].flushes')" -ge 1 ] || fail flushes
[ "$(stat_field "$T/rw" '.devices[0].errors')" = 0 ] || fail errors
ok "4 MiB over two extents: host sha256 = guest sha256 ($h)"

# ro: the write fails with IOERR, the file does not change
before=$(sha <"$T/a")
hv run --image "$G" --vbd "id=ro,extents=$T/a:0:2M,ro" \
    --args "mode=write-ro" --stats "$T/ro" >"$T/ro.out" 2>&1 ||
    { cat "$T/ro.out"; fail "write-ro"; }
grep -q "^blkbench: write status=1" "$T/ro.out" || { cat "$T/ro.out";
    fail "write to a ro VBD did not fail with IOERR"; }
[ "$(sha <"$T/a")" = "$before" ] || fail "read-only file changed"
[ "$(stat_field "$T/ro" '.devices[0].err_ro')" -ge 1 ] || fail err_ro
[ "$(stat_field "$T/ro" '.devices[0].ro')" = true ] || fail "ro flag"
ok "read-only VBD refused the write; file unchanged"

# CoW: one base, two overlays, different data; the base never changes
head -c $((8 << 20)) /dev/urandom >"$T/base"
base_sha=$(sha <"$T/base")
for d in 1 2; do
	hv run --image "$G" --mem 32M \
	    --vbd "id=root,base=$T/base,overlay=$T/ovl$d" \
	    --args "mode=write-verify seed=$d offset=$((d * 8 + 1)) bytes=1000448" \
	    --stats "$T/cow$d" >"$T/cow$d.out" 2>&1 ||
	    { cat "$T/cow$d.out"; fail "cow write $d"; }
	grep -q "^blkbench: verify ok" "$T/cow$d.out" || fail "cow verify $d"
done
[ "$(sha <"$T/base")" = "$base_sha" ] || fail "the base image changed"
[ "$(stat_field "$T/cow1" '.devices[0].cow')" = true ] || fail "cow flag"
[ "$(stat_field "$T/cow1" '.devices[0].cow_copies')" -ge 1 ] ||
    fail "a partial cluster was not copied up from the base"
for d in 1 2; do
	w=$(sed -n 's/^blkbench: sha256=\([0-9a-f]*\).*/\1/p' "$T/cow$d.out" | head -1)
	hv run --image "$G" --mem 32M \
	    --vbd "id=root,base=$T/base,overlay=$T/ovl$d" \
	    --args "mode=read-sha offset=$((d * 8 + 1)) bytes=1000448" \
	    >"$T/rd$d.out" 2>&1 || fail "cow read $d"
	r=$(sed -n 's/^blkbench: sha256=\([0-9a-f]*\).*/\1/p' "$T/rd$d.out")
	[ -n "$w" ] && [ "$r" = "$w" ] || fail "overlay $d: read $r, wrote $w"
done
# outside what was written, each overlay still shows the base
hv run --image "$G" --vbd "id=root,base=$T/base,overlay=$T/ovl1" \
    --args "mode=read-sha offset=4096 bytes=1048576" >"$T/rb.out" 2>&1 ||
    fail "cow read base"
r=$(sed -n 's/^blkbench: sha256=\([0-9a-f]*\).*/\1/p' "$T/rb.out")
h=$(dd if="$T/base" bs=512 skip=4096 count=2048 status=none | sha)
[ "$r" = "$h" ] || fail "unwritten part of the overlay is not the base"
[ "$(sha <"$T/base")" = "$base_sha" ] || fail "the base image changed"
ok "two overlays keep their own data; base unchanged ($base_sha)"

# lease: expires 2 s after start; I/O fails from then on
truncate -s 4M "$T/l"
until=$(date -u -d "@$(( $(date +%s) + 3 ))" +%Y-%m-%dT%H:%M:%SZ)
hv run --image "$G" --vbd "id=l,extents=$T/l:0:4M,lease-until=$until" \
    --args "mode=lease seconds=10" --stats "$T/ls" >"$T/l.out" 2>&1 ||
    { cat "$T/l.out"; fail "lease run"; }
cat "$T/l.out"
grep -q "^blkbench: lease ok_ops=[1-9]" "$T/l.out" || fail "no I/O before expiry"
[ "$(stat_field "$T/ls" '.devices[0].lease_expired')" = true ] ||
    fail "counters do not say expired"
[ "$(stat_field "$T/ls" '.devices[0].err_lease')" -ge 1 ] || fail err_lease
# (jq reads numbers as doubles: compare at microsecond precision)
exp=$(stat_field "$T/ls" '.devices[0].lease_expiry_realtime_ns / 1e9 | floor')
[ "$exp" = "$(date -u -d "$until" +%s)" ] || fail "lease expiry $exp, wanted $until"
stat_field "$T/ls" '.devices[0] | (.lease_start_realtime_ns +
    .lease_held_ns - .lease_expiry_realtime_ns) | fabs < 1e4' | grep -q true ||
    fail "held time does not end at the expiry"
ok "lease expired on time; I/O failed after it and was counted"
