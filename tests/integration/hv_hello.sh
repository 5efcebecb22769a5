#!/bin/bash
# hello: prints its marker, exits 0, and the counters page tells the story
# of its life (boot timestamps in order, console bytes, hypercalls).
. "$(dirname "$0")/../lib.sh"
need_kvm

hv run --image "$XENO_GUESTS/hello.elf" --mem 16M --args "who=test" \
    --stats "$T/s" >"$T/out" 2>"$T/err"
rc=$?
cat "$T/out" "$T/err"
[ $rc = 0 ] || fail "hello exited $rc"
grep -qx "Hello from Xeno PV guest" "$T/out" || fail "no marker"
grep -q "args=\[who=test\]" "$T/out" || fail "arguments not passed"

s="$T/s"
[ "$(stat_field "$s" .state)" = shutdown ] || fail "state"
[ "$(stat_field "$s" .end)" = exit ] || fail "end reason"
[ "$(stat_field "$s" .exit_status)" = 0 ] || fail "exit status"
bytes=$(wc -c <"$T/out")
[ "$(stat_field "$s" .console_bytes)" = "$bytes" ] ||
    fail "console_bytes $(stat_field "$s" .console_bytes) != $bytes"
[ "$(stat_field "$s" '.vcpu[0].hypercall.booted.count')" = 1 ] ||
    fail "booted hypercall not counted"
[ "$(stat_field "$s" '.vcpu[0].hypercall.exit.count')" = 1 ] || fail "exit"
[ "$(stat_field "$s" .hypercall_errors)" = 0 ] || fail "hypercall errors"
# start < VM created < first entry < first instruction <= boot done < end
stat_field "$s" '[.start_ns, .vm_created_ns, .first_entry_ns,
    .first_insn_ns, .boot_done_ns, .end_ns] |
    (.[0] < .[1] and .[1] < .[2] and .[2] < .[3] and .[3] <= .[4] and
    .[4] < .[5])' | grep -qx true || fail "timestamps out of order:
$("$XENO_HV" stat "$s" --json)"
"$XENO_HV" stat "$s" | tee "$T/stat"
grep -q "^hello.elf *shutdown" "$T/stat" || fail "human stat line"
grep -q "hypercall console_write" "$T/stat" || fail "human hypercalls"
ok "hello ran and its counters add up"

# --name, --console file: and none
hv run --image "$XENO_GUESTS/hello.elf" --name dom1 \
    --console "file:$T/console" --stats "$T/s2" >"$T/out2" || fail "file"
[ ! -s "$T/out2" ] || fail "console went to stdout"
grep -qx "Hello from Xeno PV guest" "$T/console" || fail "console file"
[ "$(stat_field "$T/s2" .name)" = dom1 ] || fail "name"
hv run --image "$XENO_GUESTS/hello.elf" --console none >"$T/out3" ||
    fail "console none"
[ ! -s "$T/out3" ] || fail "console none printed"
ok "console to file and none"
