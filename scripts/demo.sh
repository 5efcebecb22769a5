#!/bin/bash
# make demo: a few PV guests on xeno-hv and their counters.  Grows into the
# platform demo (controld, PostgreSQL, billing) as those parts land.
set -eu
cd "$(dirname "$0")/.."
B=${BUILD:-build}
HV=$B/xeno-hv
G=$B/guests
D=$(mktemp -d /tmp/xeno-demo.XXXXXX)
pids=()
NS=xeno-demo-$$
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$D"
}
trap cleanup EXIT

if [ ! -c /dev/kvm ]; then
	echo "demo: /dev/kvm is not present on this host; nothing to run"
	exit 1
fi
say() { printf '\n== %s\n' "$*"; }

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
