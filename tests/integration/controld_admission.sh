#!/bin/bash
# Admission through xeno-controld: each limit refuses with its reason and
# the requested and available amounts; a dry run creates nothing; extend
# re-runs admission; 20 concurrent creates on a host that fits 10 admit
# exactly 10; every decision is recorded with its inputs.  A VM with a
# network gets a tap on the host bridge and answers ping.
. "$(dirname "$0")/../lib.sh"
need_ctld
need_netns
netns_new adm
CTLD_NS=$NS
mkdir -p "$CTLD_STATE/images"
cp "$XENO_GUESTS/udp-echo.elf" "$CTLD_STATE/images/udp-echo.elf"
ctld_start --memory 160M --vcpus 4 --disk 100M --network 1000 \
    --bridge xenobr0 --subnet 10.77.0.1/24
api_expect 200 "$OP" PATCH /v1/host -d '{"price_vcpu_hour":3600000}'
decided=0	# admission decisions this test asks for

tenant_new small 1000000000 \
    '{"vms":3,"vcpus":3,"memory_mib":64,"disk_mib":40,"network_mbps":100}'
S=$TT
tenant_new big 1000000000
B=$TT; BTEN=$TENANT
tenant_new poor 1000
P=$TT
tenant_new tight 700000
TI=$TT

req() {	# vcpus memory_mib [more json]
	echo "{\"vcpus\":$1,\"memory_mib\":$2,\"image\":\"hello\",\"duration_s\":600,\"args\":\"sleep_ms=600000\"${3:+,$3}}"
}
# refuse TOKEN REASON REQUESTED AVAILABLE BODY
refuse() {
	decided=$((decided + 1))
	api_expect 409 "$1" POST /v1/vms -d "$5"
	[ "$(body .error)" = admission_refused ] &&
	[ "$(body .reason)" = "$2" ] &&
	[ "$(body .requested)" = "$3" ] &&
	[ "$(body .available)" = "$4" ] &&
	body .message | grep -q "^$2: requested $3, available $4" ||
	    fail "wanted $2 $3/$4, got $(cat "$T/body")"
	[ "$(psql_ctld "SELECT reason || ' ' || requested || ' ' || available FROM decisions ORDER BY id DESC LIMIT 1")" = "$2 $3 $4" ] ||
	    fail "decision not recorded for $2"
	ok "refused: $2 (requested $3, available $4 $(body .unit))"
}
create() {	# TOKEN BODY: sets ID
	decided=$((decided + 1))
	api_expect 201 "$1" POST /v1/vms -d "$2"
	ID=$(body .id)
}
live() { psql_ctld "SELECT count(*) FROM domains WHERE state IN ('starting', 'running', 'stopping')"; }

# host capacity
refuse "$B" vcpus 8 4 "$(req 8 16)"
refuse "$B" memory $((256 << 20)) $((160 << 20)) "$(req 1 256)"
refuse "$B" disk $((200 << 20)) $((100 << 20)) "$(req 1 16 '"disk":{"size_mib":200}')"
refuse "$B" network 2000000000 1000000000 \
    "$(req 1 16 '"network":true,"network_mbps":2000')"
# price, budget, draining
refuse "$B" max_price 3600000 1000 "$(req 1 16 '"max_price":1000')"
refuse "$P" budget 600000 1000 "$(req 1 16)"
api_expect 200 "$OP" PATCH /v1/host -d '{"draining":true}'
[ "$(body .draining)" = true ] || fail "draining not set"
refuse "$B" host_draining 0 0 "$(req 1 16)"
api_expect 200 "$OP" PATCH /v1/host -d '{"draining":false}'
# tenant quotas
refuse "$S" quota_vcpus 4 3 "$(req 4 16)"
refuse "$S" quota_memory $((128 << 20)) $((64 << 20)) "$(req 1 128)"
refuse "$S" quota_disk $((50 << 20)) $((40 << 20)) \
    "$(req 1 16 '"disk":{"size_mib":50}')"
refuse "$S" quota_network 200000000 100000000 \
    "$(req 1 16 '"network":true,"network_mbps":200')"
for i in 1 2 3; do create "$S" "$(req 1 16)"; done
refuse "$S" quota_vms 1 0 "$(req 1 16)"
[ "$(live)" = 3 ] || fail "$(live) live VMs, wanted 3"
api_expect 200 "$OP" GET /v1/tenants/2
for id in $(psql_ctld "SELECT id FROM domains WHERE state IN ('starting', 'running')"); do
	api_expect 202 "$S" DELETE "/v1/vms/$id"
done

# a dry run decides, records, creates nothing
before=$(psql_ctld "SELECT count(*) FROM domains")
decided=$((decided + 1))
api_expect 200 "$B" POST /v1/vms -d "$(req 2 32 '"dry_run":true')"
[ "$(body .admitted)" = true ] && [ "$(body .cost)" = 1200000 ] ||
    fail "dry run: $(cat "$T/body")"
[ "$(psql_ctld "SELECT count(*) FROM domains")" = "$before" ] ||
    fail "a dry run created a VM"
[ "$(psql_ctld "SELECT kind || ' ' || reason || ' ' || (inputs->'request'->>'vcpus') FROM decisions ORDER BY id DESC LIMIT 1")" = "dry_run ok 2" ] ||
    fail "dry run not recorded with its inputs"
ok "dry run: admitted, cost 1200000, nothing created, decision recorded"

# extend re-runs admission: within the budget, then beyond it
create "$TI" "$(req 1 16)"
ext=$ID
end0=$(body .lease_end)
decided=$((decided + 1))
api_expect 409 "$TI" POST "/v1/vms/$ext/extend" -d '{"duration_s":600}'
[ "$(body .reason)" = budget ] && [ "$(body .requested)" = 600000 ] &&
    [ "$(body .available)" = 100000 ] || fail "extend: $(cat "$T/body")"
decided=$((decided + 1))
api_expect 200 "$TI" POST "/v1/vms/$ext/extend" -d '{"duration_s":60}'
end1=$(body .lease_end)
[ $(( $(date -d "$end1" +%s) - $(date -d "$end0" +%s) )) = 60 ] ||
    fail "lease_end $end0 -> $end1"
[ "$(body .reserved)" = 660000 ] || fail "reserved $(body .reserved)"
[ "$(psql_ctld "SELECT committed FROM tenants WHERE name = 'tight'")" = 660000 ] ||
    fail "committed not raised"
ok "extend: refused past the budget, then +60 s admitted (lease $end0 -> $end1)"
api_expect 202 "$TI" DELETE "/v1/vms/$ext"
vm_wait_state "$TI" "$ext" destroyed 5

# 20 concurrent creates on a host that fits 10 (16 MiB each, 160 MiB; the
# 4 vCPUs overcommitted 8 times are not the limit)
api_expect 200 "$OP" PATCH /v1/host -d '{"vcpu_ratio":8000}'
[ "$(body .overcommit.vcpu_ratio)" = 8000 ] || fail "ratio not set"
pids=()
for i in $(seq 20); do
	BODY=$T/c$i.json api "$B" POST /v1/vms -d "$(req 1 16)" >"$T/c$i.code" &
	pids+=($!)
done
wait "${pids[@]}"
decided=$((decided + 20))
n201=$(grep -lx 201 "$T"/c*.code | wc -l)
n409=$(grep -lx 409 "$T"/c*.code | wc -l)
[ "$n201" = 10 ] && [ "$n409" = 10 ] ||
    { for f in "$T"/c*.json; do jq -c "[.error, .reason, .requested, .available, .message]" "$f"; done; psql_ctld "SELECT id, state FROM domains"; fail "concurrent creates: $n201 admitted, $n409 refused"; }
for i in $(seq 20); do
	grep -q 409 "$T/c$i.code" || continue
	[ "$(jq -r .reason "$T/c$i.json")" = memory ] || fail "$(cat "$T/c$i.json")"
done
[ "$(live)" = 10 ] || fail "$(live) live VMs after the race"
held=$(psql_ctld "SELECT sum(mem_bytes) FROM domains WHERE state IN ('starting', 'running')")
[ "$held" = $((160 << 20)) ] || fail "held $held bytes"
ok "20 concurrent creates, capacity 10: 10 admitted, 10 refused (memory)"
for id in $(psql_ctld "SELECT id FROM domains WHERE state IN ('starting', 'running')"); do
	api_expect 202 "$B" DELETE "/v1/vms/$id"
done
for id in $(psql_ctld "SELECT id FROM domains WHERE tenant_id = $BTEN"); do
	vm_wait_state "$B" "$id" destroyed 5
done

# a VM on the network: tap on the bridge, its address answers ping
create "$B" '{"vcpus":1,"memory_mib":16,"image":"udp-echo","duration_s":600,"network":true,"network_mbps":100}'
id=$ID
ip=$(body .addresses.ipv4); ip=${ip%/*}
[ "$ip" = 10.77.0.$((2 + (id - 1) % 253)) ] || fail "address $ip"
vm_wait_state "$B" "$id" running 5
in_ns ip link show "xv$id" | grep -q "master xenobr0" || fail "tap not on the bridge"
in_ns ping -c 3 -i 0.2 -W 2 "$ip" >/dev/null || fail "no ping reply from $ip"
api_expect 200 "$B" GET "/v1/vms/$id"
[ "$(body .counters.net_rx_bytes)" -gt 0 ] && [ "$(body .network_mbps)" = 100 ] ||
    fail "network counters: $(cat "$T/body")"
api_expect 202 "$B" DELETE "/v1/vms/$id"
vm_wait_state "$B" "$id" destroyed 5
in_ns ip link show "xv$id" >/dev/null 2>&1 && fail "tap left behind"
ok "VM $id on the bridge at $ip answers ping; its tap went with it"

got=$(psql_ctld "SELECT count(*) FROM decisions")
[ "$got" = "$decided" ] || fail "$got decisions recorded, $decided made"
[ "$(psql_ctld "SELECT count(*) FROM decisions WHERE inputs ? 'host' AND inputs ? 'tenant' AND inputs ? 'request'")" = "$decided" ] ||
    fail "a decision without its inputs"
ok "all $decided decisions recorded with their inputs"
ctld_stop
