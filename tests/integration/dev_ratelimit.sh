#!/bin/bash
# A rate-limited VIF: pktgen sends 1500-byte frames as fast as it can
# through a limit of 1 MiB per 100 ms (10 MiB/s).  Over 5 s the host tap
# receives within 5% of that; nothing is dropped (the guest is held back
# instead), and the throttle counter shows it.  (The bucket absorbs stalls
# of the I/O thread shorter than 100 ms, as on a loaded or sanitized build;
# at most one bucket of difference over 5 s is 2%.)
. "$(dirname "$0")/../lib.sh"
need_kvm
need_netns
netns_new rl
tap_new xr 10.0.0.1/24
RATE=10485760

in_ns "${HV[@]}" run --image "$XENO_GUESTS/pktgen.elf" \
    --vif tap=xr,ip=10.0.0.2/24,tx-bytes=1M:100 \
    --args "mode=tx dst_mac=02:00:00:00:00:01 size=1500 seconds=8" \
    --stats "$T/st" >"$T/out" 2>&1 &
pid=$!
T_PIDS+=($pid)
wait_for_line "$T/out" "^pktgen: ready" || { cat "$T/out"; fail "not ready"; }
sleep 1.5
b0=$(if_stat xr rx_bytes); t0=$(date +%s%N)
sleep 5
b1=$(if_stat xr rx_bytes); t1=$(date +%s%N)
wait $pid || { cat "$T/out"; fail "pktgen exited $?"; }
cat "$T/out"
rate=$(awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) 'BEGIN { printf "%d", b * 1e9 / t }')
echo "measured $rate bytes/s at the tap, limit $RATE"
within "$rate" "$RATE" 5 || fail "rate $rate is not within 5% of $RATE"
[ "$(stat_field "$T/st" '.devices[0].tx_throttled')" -gt 0 ] ||
    fail "throttle counter did not move"
[ "$(stat_field "$T/st" '.devices[0].tx_drop_ratelimit')" = 0 ] ||
    fail "frames dropped instead of back-pressure"
[ "$(stat_field "$T/st" '.devices[0].tx_drop_tap')" = 0 ] || fail "tap drops"
ok "rate $rate bytes/s, within 5% of $RATE, no drops"
