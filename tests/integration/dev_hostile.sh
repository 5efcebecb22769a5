#!/bin/bash
# Queue attacks from the hostile guest against a VIF, a read-write VBD and
# a read-only VBD: bad QUEUE_SETUPs get their documented errors; malformed
# chains (addresses outside memory or in the system area, loops, chains
# too long, bad indices, bad indirect tables, readable after writable)
# each come back with length 0 and are counted by reason, exactly as many
# as the guest sent; a jumped avail index breaks only its own queue; a
# write to the ro VBD and a request without a status byte are counted;
# every device still works afterwards, and xeno-hv exits normally.
. "$(dirname "$0")/../lib.sh"
need_kvm
need_netns
netns_new hostile
tap_new xh 10.0.0.1/24
truncate -s 4M "$T/rw"
truncate -s 4M "$T/ro"
before=$(sha256sum <"$T/ro")

in_ns "${HV[@]}" run --image "$XENO_GUESTS/hostile.elf" --mem 128M \
    --vif tap=xh,ip=10.0.0.2/24 \
    --vbd "id=rw,extents=$T/rw:0:4M" --vbd "id=ro,extents=$T/ro:0:4M,ro" \
    --args "test=queues" --stats "$T/st" >"$T/out" 2>"$T/err"
rc=$?
cat "$T/out" "$T/err"
[ $rc = 0 ] || fail "hostile test=queues exited $rc"
grep -q "^hostile: checks=[1-9][0-9]* failed=0$" "$T/out" || fail "checks failed"
grep -q "skipped" "$T/out" && fail "an attack was skipped"
want() { sed -n "s/^hostile: .*$1=\([0-9]*\).*/\1/p" "$T/out" | head -1; }
sum() { stat_field "$T/st" "[.devices[].queues[].errors.$1] | add"; }

for r in addr loop index order nested indirect len; do
	w=$(sed -n "s/^hostile: expected_queue_errors_by_reason.* $r=\([0-9]*\).*/\1/p" "$T/out")
	g=$(sum "$r")
	[ -n "$w" ] && [ "$g" = "$w" ] || fail "$r errors: host $g, guest sent $w"
done
all=$(stat_field "$T/st" '[.devices[].queues[].errors |
    .addr + .loop + .index + .order + .nested + .indirect + .len] | add')
[ "$all" = "$(want expected_queue_errors)" ] && [ "$all" -ge 20 ] ||
    fail "queue errors $all, guest expected $(want expected_queue_errors)"
[ "$(sum ring)" = "$(want expected_ring_errors)" ] || fail "ring errors"
[ "$(stat_field "$T/st" '[.devices[].queues[].broken] | add')" = \
    "$(want expected_ring_errors)" ] || fail "broken queues"
[ "$(stat_field "$T/st" '[.devices[].err_ro // 0] | add')" = \
    "$(want expected_blk_err_ro)" ] || fail "err_ro"
[ "$(stat_field "$T/st" '[.devices[].err_bad // 0] | add')" = \
    "$(want expected_blk_err_bad)" ] || fail "err_bad"
[ "$(stat_field "$T/st" .hypercall_errors)" = \
    "$(want expected_hcall_errors)" ] || fail "hypercall errors"
[ "$(sha256sum <"$T/ro")" = "$before" ] || fail "the ro VBD's file changed"
[ "$(stat_field "$T/st" .end)" = exit ] || fail "domain did not exit normally"
ok "$all malformed chains refused and counted by reason; devices survived"
