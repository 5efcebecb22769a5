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
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$D"; }
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

say "done: every domain above was a separate xeno-hv process on /dev/kvm"
