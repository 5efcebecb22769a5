#!/bin/bash
# xeno-controld end to end on loopback with its private PostgreSQL, driven
# by curl: a VM is created, runs, shows its guest's marker on the console
# and is destroyed with its usage recorded; a lease ends on time; a killed
# xeno-hv is recorded as crashed; controld killed with SIGKILL and started
# again finds its VMs running and re-attaches to them.
. "$(dirname "$0")/../lib.sh"
need_ctld

ctld_start --memory 256M --vcpus 8 --grace 2
tenant_new acme 1000000000
# prices: 0.36 credits per vCPU-hour (100 micro-credits a second)
api_expect 200 "$OP" PATCH /v1/host -d '{"price_vcpu_hour":360000}'

vm='{"vcpus":1,"memory_mib":16,"image":"hello","duration_s":600,"args":"sleep_ms=600000"}'

# create -> running -> console marker -> destroy
api_expect 201 "$TT" POST /v1/vms -d "$vm"
id=$(body .id)
[ "$(body .state)" = starting ] || [ "$(body .state)" = running ] ||
    fail "new VM is $(body .state)"
[ "$(body .price)" = 360000 ] || fail "price $(body .price)"
vm_wait_state "$TT" "$id" running 5
ok "VM $id running"
vm_wait_console "$TT" "$id" "Hello from Xeno PV guest"
grep -q "args=\[sleep_ms=600000\]" "$T/body" || fail "arguments not passed"
ok "console shows the guest's marker"
api_expect 200 "$TT" GET "/v1/vms/$id"
pid=$(body .pid)
kill -0 "$pid" || fail "xeno-hv $pid not running"
[ "$(body .counters.console_bytes)" -gt 0 ] || fail "no console bytes"
[ "$(psql_ctld "SELECT state FROM domains WHERE id = $id")" = running ] ||
    fail "database does not say running"
sleep 1.2
api_expect 202 "$TT" DELETE "/v1/vms/$id"
vm_wait_state "$TT" "$id" destroyed 5
alive "$pid" && fail "xeno-hv $pid still running"
[ -d "$CTLD_STATE/run/dom-$id" ] && { ls -la "$CTLD_STATE/run/dom-$id"; cat $T/controld.log; fail "run directory left behind"; }
row=$(psql_ctld "SELECT seconds, cost, cpu_ns > 0 FROM usage WHERE domain_id = $id")
secs=${row%%|*}
[ "$secs" -ge 2 ] && [ "$secs" -le 4 ] || fail "usage seconds $row"
cost=$(echo "$row" | cut -d'|' -f2)
[ "$cost" = $((secs * 100)) ] || fail "cost $cost for $secs s (row $row)"
[ "${row##*|}" = t ] || fail "no CPU time recorded: $row"
bal=$(psql_ctld "SELECT balance, committed FROM tenants WHERE id = $TENANT")
[ "$bal" = "$((1000000000 - cost))|0" ] || fail "balance/committed $bal"
[ "$(psql_ctld "SELECT amount FROM ledger WHERE domain_id = $id")" = "-$cost" ] ||
    fail "no ledger charge"
api_expect 200 "$TT" GET "/v1/vms/$id/console"
grep -q "Hello from Xeno PV guest" "$T/body" || fail "console lost at the end"
api_expect 409 "$TT" DELETE "/v1/vms/$id"
ok "destroyed: usage $secs s, cost $cost, balance and ledger agree"

# a lease ends on time.  The guest is asked to shut down --grace (2) s
# before lease_end; one that listens exits by itself, one that does not
# is gone within 2 s of lease_end, and pays for exactly its lease.
api_expect 201 "$TT" POST /v1/vms -d '{"vcpus":1,"memory_mib":16,"image":"hello","duration_s":4,"args":"sleep_ms=600000"}'
id=$(body .id)
vm_wait_state "$TT" "$id" expired 8
vm_wait_console "$TT" "$id" "hello: shutdown requested"
api_expect 200 "$TT" GET "/v1/vms/$id"
[ "$(body .exit_status)" = 0 ] && body .end_reason | grep -q "shut down by itself" ||
    fail "listening guest: $(cat "$T/body")"
early=$(psql_ctld "SELECT extract(epoch FROM lease_end - ended_at) FROM domains WHERE id = $id")
awk -v l="$early" 'BEGIN { exit !(l >= 1 && l <= 2.5) }' ||
    fail "the listening guest ended $early s before lease_end"
ok "lease: the guest was asked 2 s early and shut down by itself ($early s before lease_end)"

api_expect 201 "$TT" POST /v1/vms -d '{"vcpus":1,"memory_mib":16,"image":"hello","duration_s":3,"args":"sleep_ms=600000 ignore_shutdown=1"}'
id=$(body .id)
end=$(date -d "$(body .lease_end)" +%s)
vm_wait_state "$TT" "$id" expired 8
now=$(date +%s.%N)
late=$(awk -v a="$now" -v b="$end" 'BEGIN { printf "%.2f", a - b }')
awk -v l="$late" 'BEGIN { exit !(l >= -0.5 && l <= 2) }' ||
    fail "expired $late s after lease_end"
ended=$(psql_ctld "SELECT extract(epoch FROM ended_at - lease_end) FROM domains WHERE id = $id")
awk -v l="$ended" 'BEGIN { exit !(l >= 0 && l <= 2) }' ||
    fail "ended_at - lease_end = $ended s"
[ "$(psql_ctld "SELECT cost FROM usage WHERE domain_id = $id")" = 300 ] ||
    fail "an expired 3 s lease costs $(psql_ctld "SELECT cost FROM usage WHERE domain_id = $id")"
ok "lease: a guest that does not listen is ended on time (ended_at - lease_end = ${ended} s), charged 3 s"

# stop: the guest is asked and shuts down by itself, well within the grace
api_expect 201 "$TT" POST /v1/vms -d "$vm"
id=$(body .id)
vm_wait_state "$TT" "$id" running 5
api_expect 202 "$TT" POST "/v1/vms/$id/stop"
vm_wait_state "$TT" "$id" stopped 1
[ "$(body .exit_status)" = 0 ] || fail "stopped guest: $(cat "$T/body")"
vm_wait_console "$TT" "$id" "hello: shutdown requested"
ok "stop: the guest was asked and exited 0 within 1 s"

# a killed xeno-hv is detected and recorded, its usage up to the crash
api_expect 201 "$TT" POST /v1/vms -d "$vm"
id=$(body .id)
vm_wait_state "$TT" "$id" running 5
pid=$(body .pid)
sleep 1.1
kill -KILL "$pid"
vm_wait_state "$TT" "$id" crashed 5
[ "$(body .end_reason)" = "xeno-hv was killed by signal 9" ] ||
    fail "end_reason: $(body .end_reason)"
[ "$(psql_ctld "SELECT seconds >= 1 FROM usage WHERE domain_id = $id")" = t ] ||
    fail "usage up to the crash not kept"
[ "$(psql_ctld "SELECT committed FROM tenants WHERE id = $TENANT")" = 0 ] ||
    fail "crashed VM's reservation not released"
ok "killed xeno-hv recorded as crashed, usage kept, reservation released"

# controld killed with SIGKILL: VMs keep running and are re-attached
api_expect 201 "$TT" POST /v1/vms -d "$vm"
a=$(body .id)
api_expect 201 "$TT" POST /v1/vms -d "$vm"
b=$(body .id)
vm_wait_state "$TT" "$a" running 5
vm_wait_state "$TT" "$b" running 5
pa=$(api "$TT" GET "/v1/vms/$a" >/dev/null; body .pid)
pb=$(api "$TT" GET "/v1/vms/$b" >/dev/null; body .pid)
kill -KILL "$CTLD_PID"
wait "$CTLD_PID" 2>/dev/null
kill -0 "$pa" && kill -0 "$pb" || fail "VMs died with controld"
kill -KILL "$pb"	# this one ends while controld is away
ctld_start --memory 256M --vcpus 8 --grace 2
api_expect 200 "$TT" GET "/v1/vms/$a"
[ "$(body .state)" = running ] && [ "$(body .pid)" = "$pa" ] ||
    fail "VM $a after restart: $(cat "$T/body")"
kill -0 "$pa" || fail "xeno-hv $pa gone"
api_expect 200 "$TT" GET "/v1/vms/$b"
[ "$(body .state)" = crashed ] || fail "VM $b after restart: $(body .state)"
vm_wait_console "$TT" "$a" "Hello from Xeno PV guest"
grep -q "re-attached to pid $pa" "$T/controld.log" || fail "no re-attach logged"
api_expect 202 "$TT" DELETE "/v1/vms/$a"
vm_wait_state "$TT" "$a" destroyed 5
alive "$pa" && fail "re-attached xeno-hv not destroyed"
ok "after SIGKILL and restart: VM $a re-attached (pid $pa), VM $b recorded crashed"

# a clean stop leaves no PostgreSQL behind
ctld_stop
pgpid=$(head -1 "$CTLD_STATE/pg/data/postmaster.pid" 2>/dev/null)
[ -z "$pgpid" ] || ! kill -0 "$pgpid" 2>/dev/null ||
    fail "PostgreSQL $pgpid still running after controld stopped"
ok "controld stopped its private PostgreSQL"
