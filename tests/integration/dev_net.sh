#!/bin/bash
# A VIF end to end: the udp-echo guest behind a tap in a private network
# namespace answers the host's ping and UDP echo; the guest's own packet
# counts, the host tap's counts and the VIF counters all agree exactly.
. "$(dirname "$0")/../lib.sh"
need_kvm
need_netns
netns_new net
tap_new xv1 10.0.0.1/24

in_ns "${HV[@]}" run --image "$XENO_GUESTS/udp-echo.elf" --mem 32M \
    --vif tap=xv1,mac=52:54:00:12:34:56,ip=10.0.0.2/24 \
    --stats "$T/st" >"$T/out" 2>"$T/err" &
pid=$!
T_PIDS+=($pid)
wait_for_line "$T/out" "^udp-echo: ready" || { cat "$T/out" "$T/err";
    fail "guest never became ready"; }
grep -q "ip=10.0.0.2 mac=52:54:00:12:34:56" "$T/out" ||
    fail "guest did not take its address from the VIF"

in_ns ping -c 5 -i 0.2 -W 2 10.0.0.2 >"$T/ping" || { cat "$T/ping";
    fail "ping 10.0.0.2 through the tap"; }
ok "host pings the guest: $(grep -o '5 received' "$T/ping")"
in_ns "$NETTOOL" udp-echo 10.0.0.2 7 20 100 || fail "UDP echo"
in_ns "$NETTOOL" udp-echo 10.0.0.2 7 5 1400 || fail "UDP echo, 1400 bytes"
ok "25 UDP datagrams echoed"
# live counters while the guest runs
[ "$(stat_field "$T/st" '.devices[0].tx_packets')" -ge 30 ] ||
    fail "tx_packets did not move while running"

in_ns "$NETTOOL" udp-send 10.0.0.2 7 xeno:exit
wait $pid
rc=$?
cat "$T/out"
[ $rc = 0 ] || { cat "$T/err"; fail "udp-echo exited $rc"; }
line=$(grep '^udp-echo: rx=' "$T/out" | tail -1)
g_rx=$(echo "$line" | sed 's/.*rx=\([0-9]*\).*/\1/')
g_tx=$(echo "$line" | sed 's/.*tx=\([0-9]*\).*/\1/')
v_rx=$(stat_field "$T/st" '.devices[0].rx_packets')
v_tx=$(stat_field "$T/st" '.devices[0].tx_packets')
h_tx=$(if_stat xv1 tx_packets)
h_rx=$(if_stat xv1 rx_packets)
echo "guest rx=$g_rx tx=$g_tx; VIF rx=$v_rx tx=$v_tx; tap tx=$h_tx rx=$h_rx"
[ -n "$g_rx" ] && [ "$g_rx" -ge 31 ] || fail "guest saw too few frames"
[ "$g_rx" = "$v_rx" ] || fail "guest received $g_rx, VIF rx_packets $v_rx"
[ "$g_tx" = "$v_tx" ] || fail "guest sent $g_tx, VIF tx_packets $v_tx"
[ "$h_tx" = "$v_rx" ] || fail "tap sent $h_tx, VIF rx_packets $v_rx"
[ "$h_rx" = "$v_tx" ] || fail "tap received $h_rx, VIF tx_packets $v_tx"
for f in rx_errors tx_errors rx_drop_no_buffer tx_drop_tap; do
	[ "$(stat_field "$T/st" ".devices[0].$f")" = 0 ] || fail "$f not 0"
done
[ "$(stat_field "$T/st" '.devices[0].rx_bytes')" = \
    "$(if_stat xv1 tx_bytes)" ] || fail "rx bytes differ from the tap's"
ok "guest, tap and VIF counters agree: rx $v_rx, tx $v_tx"
db=$(stat_field "$T/st" '.devices[0].queues[1].doorbells')
echo "tx doorbells $db for $v_tx frames"
