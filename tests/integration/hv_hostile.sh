#!/bin/bash
# The hostile guest: every non-fatal attack gets its documented error and
# is counted; every fatal one ends the domain with a crash report (vector,
# RIP) and the documented exit code.  xeno-hv itself never crashes (run
# this under `make test-asan` and `make test-valgrind` too).
. "$(dirname "$0")/../lib.sh"
need_kvm
G="$XENO_GUESTS/hostile.elf"

hv run --image "$G" --vcpus 2 --args "test=all" --stats "$T/all" \
    >"$T/out" 2>"$T/err"
rc=$?
cat "$T/out" "$T/err"
[ $rc = 0 ] || fail "hostile test=all exited $rc"
grep -q "^hostile: checks=[0-9]* failed=0$" "$T/out" || fail "checks failed"
want=$(sed -n 's/^hostile: expected_hcall_errors=//p' "$T/out")
got=$(stat_field "$T/all" .hypercall_errors)
[ -n "$want" ] && [ "$want" -gt 5 ] || fail "no expected error count"
[ "$got" = "$want" ] || fail "hypercall_errors $got, guest expected $want"
[ "$(stat_field "$T/all" .state)" = shutdown ] || fail "state"
ok "non-fatal attacks: all refused, $got errors counted"

# fatal NAME EXIT VECTOR [MESSAGE]: the domain ends, xeno-hv does not
fatal() {
	local name=$1 want=$2 vec=$3 msg=${4:-}
	hv run --image "$G" --args "test=$name" --stats "$T/$name" \
	    >"$T/$name.out" 2>"$T/$name.err"
	local rc=$?
	[ $rc = "$want" ] || { cat "$T/$name.out" "$T/$name.err";
	    fail "$name: exit $rc, wanted $want"; }
	grep -q "hostile: $name: about to fault" "$T/$name.out" ||
	    fail "$name: guest never got to the attack"
	grep -q "survived" "$T/$name.out" && fail "$name: attack survived"
	if [ "$vec" != - ]; then
		[ "$(stat_field "$T/$name" .end)" = crash ] || fail "$name: end"
		[ "$(stat_field "$T/$name" .crash.vector)" = "$vec" ] ||
		    fail "$name: vector $(stat_field "$T/$name" .crash.vector), wanted $vec"
		[ "$(stat_field "$T/$name" .crash.rip)" -ge $((0x100000)) ] ||
		    [ "$name" = wild-jump ] || fail "$name: rip"
	else
		[ "$(stat_field "$T/$name" .end)" = abort ] || fail "$name: end"
	fi
	[ -z "$msg" ] || grep -q -- "$msg" "$T/$name.err" ||
	    { cat "$T/$name.err"; fail "$name: no '$msg' in the report"; }
	echo "ok: $name: exit $rc: $(cat "$T/$name.err")"
}

fatal ud2		80 6	"crashed: vCPU 0: #UD invalid opcode at rip"
fatal cli		80 13	"#GP general protection"
fatal hlt		80 13	"#GP"
fatal wrmsr		80 13	"#GP"
fatal mov-cr3		80 13	"#GP"
fatal outb-unserved	80 13	"#GP"
fatal null-read		80 14	"#PF page fault at rip 0x[0-9a-f]* (error 0x4, address 0x0)"
fatal write-sysarea	80 14	"address 0x1000)"
fatal write-bootinfo	80 14	"(error 0x7, address 0x4000)"
fatal wild-jump		80 14	"#PF"
fatal stack-overflow	80 14	"#PF"
fatal div0		80 0	"#DE divide error"
fatal int3		80 3	"#BP breakpoint"
fatal bad-exit		81 -	"exit status 999 is outside 0..63"
fatal abort		81 -	"aborted: hostile abort test"
ok "every fatal attack ended the domain with a report"
