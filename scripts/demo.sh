#!/bin/bash
# make demo: the platform end to end (xeno-controld with its private
# PostgreSQL: a tenant rents a VM over HTTPS and pays for what it used),
# then a few PV guests on xeno-hv directly and their counters.
set -eu
cd "$(dirname "$0")/.."
B=${BUILD:-build}
HV=$B/xeno-hv
G=$B/guests
D=$(mktemp -d /tmp/xeno-demo.XXXXXX)
pids=()
NS=xeno-demo-$$
cpid=""
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	# controld stops its PostgreSQL on SIGTERM; its VMs are ours to stop
	[ -n "$cpid" ] && wait "$cpid" 2>/dev/null || true
	pkill -f -- "--stats $D/ctld/" 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$D"
}
trap cleanup EXIT

if [ ! -c /dev/kvm ]; then
	echo "demo: /dev/kvm is not present on this host; nothing to run"
	exit 1
fi
say() { printf '\n== %s\n' "$*"; }

say "xeno-controld: the Domain0 daemon, its HTTPS API and private PostgreSQL"
S=$D/ctld
mkdir -p "$S/images"
chmod 711 "$D"		# PostgreSQL runs as its own user below it
cp $G/hello.elf "$S/images/"
$B/xeno-controld --state "$S" --listen 127.0.0.1:0 --memory 1G --vcpus 8 \
    >$D/controld.log 2>&1 &
cpid=$!
pids+=($cpid)
for i in $(seq 600); do [ -s "$S/controld.url" ] && break; sleep 0.05; done
U=$(cat "$S/controld.url")
OP=$(cat "$S/operator.token")
api() {	# TOKEN curl-args...
	local t=$1; shift
	curl -sS --cacert "$S/tls/cert.pem" -H "Authorization: Bearer $t" "$@"
	echo
}
echo "controld at $U; operator token in $S/operator.token"
echo "-- operator: prices, a tenant with 10 credits, its token"
api "$OP" -X PATCH $U/v1/host -d '{"price_vcpu_hour":3600000,"price_gib_hour":360000}' |
    jq -c '{capacity, prices}'
api "$OP" $U/v1/tenants -d '{"name":"acme","balance":10000000,"quotas":{"vms":5}}' |
    jq -c '{id, name, balance, quotas}'
TT=$(api "$OP" $U/v1/tokens -d '{"role":"tenant","tenant":1}' | jq -r .token)
echo "-- tenant: a VM for 60 s (hello, idle for 3 s)"
vm=$(api "$TT" $U/v1/vms -d '{"vcpus":1,"memory_mib":16,"image":"hello","duration_s":60,"args":"sleep_ms=3000"}')
echo "$vm" | jq -c '{id, state, price, reserved, lease_end}'
id=$(echo "$vm" | jq .id)
sleep 0.5
api "$TT" $U/v1/vms/$id | jq -c '{state, pid, boot, counters, cost_so_far, time_left_s}'
echo "-- its console:"
api "$TT" $U/v1/vms/$id/console
echo "-- too big for this host: refused at once, saying which limit"
api "$TT" $U/v1/vms -d '{"vcpus":1,"memory_mib":4096,"image":"hello","duration_s":60}' | jq -c .
sleep 3
echo "-- the guest exited after 3 s; what was recorded and charged:"
api "$TT" $U/v1/vms/$id | jq -c '{state, end_reason, ended_at, cost_so_far, counters}'
api "$TT" $U/v1/usage | jq -c '.[0] | {vm, seconds, cpu_ns, cost}'
api "$TT" $U/v1/tenants/1 | jq -c '{balance, committed, available}'
api "$OP" "$U/v1/decisions?limit=2" | jq -c '.[] | {kind, reason, requested, available, cost}'
kill -TERM $cpid; wait $cpid || true; cpid=""
echo "controld stopped, and its PostgreSQL with it; running VMs would have stayed up"

say "hello: boot a PV unikernel and read its counters"
$HV run --image $G/hello.elf --mem 16M --args "greeting=demo" --stats $D/hello.stats
$HV stat $D/hello.stats

say "cpuburn on 2 vCPUs for 3 s, watched live like xentop"
$HV run --image $G/cpuburn.elf --mem 16M --vcpus 2 --args "seconds=3" \
    --name burner --stats $D/burn.stats >$D/burn.out &
pids+=($!)
for i in 1 2 3; do sleep 1; $HV stat $D/burn.stats | head -2 | tail -1; done
wait "${pids[0]}"
cat $D/burn.out
$HV stat $D/burn.stats

say "hypercall-storm: 20000 null hypercalls, counted exactly"
$HV run --image $G/hypercall-storm.elf --args "n=20000" --stats $D/storm.stats
$HV stat $D/storm.stats --json | jq '{hypercalls, exits, nop: .vcpu[0].hypercall.nop,
    io_exit_ns_avg: (.vcpu[0].exit.io.ns / .vcpu[0].exit.io.count)}'

say "hostile: a guest that attacks the hypervisor, then one that faults"
$HV run --image $G/hostile.elf --vcpus 2 --args "test=all" --stats $D/hostile.stats | tail -2
echo "hypercall errors counted by xeno-hv: $($HV stat $D/hostile.stats --json | jq .hypercall_errors)"
set +e
$HV run --image $G/hostile.elf --args "test=null-read" --stats $D/crash.stats
echo "xeno-hv exit status: $? (80 = guest crashed)"
set -e
$HV stat $D/crash.stats | tail -1

say "devices: a guest behind a tap (VIF) with a disk (VBD) on a CoW overlay"
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev xv1 mode tap
ip -n "$NS" addr add 10.0.0.1/24 dev xv1
ip -n "$NS" link set xv1 up
head -c $((4 << 20)) /dev/urandom >$D/base.img
ip netns exec "$NS" $HV run --image $G/udp-echo.elf --mem 32M \
    --vif tap=xv1,mac=52:54:00:12:34:56,ip=10.0.0.2/24 \
    --vbd id=root,base=$D/base.img,overlay=$D/dom1.cow \
    --stats $D/dev.stats >$D/echo.out &
pids+=($!)
for i in $(seq 100); do grep -q ready $D/echo.out && break; sleep 0.05; done
ip netns exec "$NS" ping -c 3 -i 0.2 10.0.0.2 | tail -2
ip netns exec "$NS" $B/tools/nettool udp-echo 10.0.0.2 7 10
ip netns exec "$NS" $B/tools/nettool udp-send 10.0.0.2 7 xeno:exit
wait "${pids[-1]}"
cat $D/echo.out
$HV stat $D/dev.stats | sed -n '/vif/,$p'
$HV run --image $G/blkbench.elf --mem 32M \
    --vbd id=root,base=$D/base.img,overlay=$D/dom1.cow \
    --args "mode=write-verify seed=1 offset=8 bytes=1048576" --stats $D/blk.stats
$HV stat $D/blk.stats | sed -n '/vbd/,$p'

say "done: every domain above was a separate xeno-hv process on /dev/kvm"
