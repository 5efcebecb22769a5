#!/bin/bash
# Domain lifecycle: SIGTERM/SIGINT/SIGHUP destroy a running domain cleanly
# (exit 82, counters final); exact hypercall counting; secondary vCPUs stay
# offline until started; many domains at once.
. "$(dirname "$0")/../lib.sh"
need_kvm

for sig in TERM INT HUP; do
	"${HV[@]}" run --image "$XENO_GUESTS/cpuburn.elf" --vcpus 2 \
	    --args "seconds=60" --stats "$T/s$sig" >/dev/null 2>"$T/err" &
	pid=$!; T_PIDS+=($pid)
	for i in $(seq 100); do
		[ "$(stat_field "$T/s$sig" .state 2>/dev/null)" = running ] &&
		    break
		sleep 0.05
	done
	sleep 0.2
	t0=$(date +%s%N)
	kill -$sig $pid
	wait $pid; rc=$?
	dt=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ $rc = 82 ] || fail "SIG$sig: exit $rc, wanted 82"
	[ $dt -lt 1000 ] || fail "SIG$sig: took $dt ms to stop"
	[ "$(stat_field "$T/s$sig" .end)" = destroy ] || fail "end reason"
	[ "$(stat_field "$T/s$sig" '.vcpu[1].state')" = stopped ] ||
	    fail "vcpu 1 not stopped"
	[ "$(stat_field "$T/s$sig" '.vcpu[0].run_ns')" -gt 100000000 ] ||
	    fail "no guest time recorded"
	grep -q "destroyed by signal" "$T/err" || fail "no message"
	ok "SIG$sig: destroyed in $dt ms, exit 82"
done

hv run --image "$XENO_GUESTS/hypercall-storm.elf" --args "n=5000" \
    --stats "$T/storm" >"$T/out" || fail "storm exited $?"
cat "$T/out"
[ "$(stat_field "$T/storm" '.vcpu[0].hypercall.nop.count')" = 5000 ] ||
    fail "nop count $(stat_field "$T/storm" '.vcpu[0].hypercall.nop.count')"
io=$(stat_field "$T/storm" '.vcpu[0].exit.io.count')
hc=$(stat_field "$T/storm" '.hypercalls')
[ "$io" = "$hc" ] || fail "io exits $io != hypercalls $hc"
ok "5000 null hypercalls counted exactly ($hc hypercalls, $io I/O exits)"

# hello on 4 vCPUs: the three it never starts stay offline
hv run --image "$XENO_GUESTS/hello.elf" --vcpus 4 --stats "$T/h4" \
    >/dev/null || fail "hello 4 vCPUs"
for v in 1 2 3; do
	[ "$(stat_field "$T/h4" ".vcpu[$v].state")" = offline ] ||
	    fail "vcpu $v $(stat_field "$T/h4" ".vcpu[$v].state")"
done
ok "unstarted vCPUs stay offline"

# 50 domains at once, all succeed
pids=()
for i in $(seq 50); do
	"${HV[@]}" run --image "$XENO_GUESTS/hello.elf" --mem 4M \
	    --console none --stats "$T/m$i" &
	pids+=($!); T_PIDS+=($!)
done
bad=0
for p in "${pids[@]}"; do wait $p || bad=$((bad + 1)); done
[ $bad = 0 ] || fail "$bad of 50 concurrent domains failed"
ok "50 concurrent domains all exited 0"

# a shutdown request: the guest is told (bi_shutdown) and woken from its
# yield at once; it exits by itself.  A guest that does not listen keeps
# running: the request ends nothing.
"${HV[@]}" run --image "$XENO_GUESTS/hello.elf" --args "sleep_ms=60000" \
    --control "$T/sd.sock" --stats "$T/sd" >"$T/sd.out" 2>&1 &
p=$!; T_PIDS+=($p)
wait_for_line "$T/sd.out" "args=" 5 || fail "hello did not start"
t0=$(date +%s%N)
"$XENO_HV" ctl "$T/sd.sock" shutdown-request | grep -q "shutdown requested" ||
    fail "shutdown-request not answered"
wait $p; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $rc = 0 ] && grep -q "hello: shutdown requested" "$T/sd.out" ||
    fail "guest did not shut down when asked (exit $rc)"
[ $ms -lt 1000 ] || fail "guest took $ms ms to shut down"
[ "$(stat_field "$T/sd" .end)" = exit ] || fail "end: $(stat_field "$T/sd" .end)"
"${HV[@]}" run --image "$XENO_GUESTS/hello.elf" \
    --args "sleep_ms=1500 ignore_shutdown=1" --control "$T/si.sock" \
    >"$T/si.out" 2>&1 &
p=$!; T_PIDS+=($p)
wait_for_line "$T/si.out" "args=" 5 || fail "hello did not start"
"$XENO_HV" ctl "$T/si.sock" shutdown-request >/dev/null || fail "request"
sleep 0.5
kill -0 $p || fail "a guest that ignores the request was ended by it"
wait $p || fail "ignoring guest exited $?"
ok "shutdown request: the guest woke and exited 0 in $ms ms; one that ignores it runs on"
