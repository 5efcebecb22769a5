#!/bin/bash
# Two guests on one host bridge exchange traffic: pktgen in one domain
# resolves the other (udp-echo) by ARP and sends it 200 frames; both VIFs'
# counters show it, and the host reaches both through the bridge.
. "$(dirname "$0")/../lib.sh"
need_kvm
need_netns
netns_new br
ip -n "$NS" link add br0 type bridge || fail "bridge"
in_ns sysctl -q -w net.ipv6.conf.br0.disable_ipv6=1
ip -n "$NS" addr add 10.0.0.1/24 dev br0
ip -n "$NS" link set br0 up
for t in xa xb; do
	tap_new $t
	ip -n "$NS" link set $t master br0 || fail "enslave $t"
done

in_ns "${HV[@]}" run --image "$XENO_GUESTS/udp-echo.elf" \
    --vif tap=xa,mac=52:54:00:00:00:0a,ip=10.0.0.2/24 \
    --stats "$T/a" >"$T/a.out" 2>&1 &
pa=$!
T_PIDS+=($pa)
wait_for_line "$T/a.out" "^udp-echo: ready" || { cat "$T/a.out";
    fail "guest A not ready"; }

in_ns "${HV[@]}" run --image "$XENO_GUESTS/pktgen.elf" \
    --vif tap=xb,mac=52:54:00:00:00:0b,ip=10.0.0.3/24 \
    --args "mode=tx dst=10.0.0.2 size=128 count=200 rate=20000" \
    --stats "$T/b" >"$T/b.out" 2>&1
rc=$?
cat "$T/b.out"
[ $rc = 0 ] || fail "pktgen exited $rc"
grep -q "^pktgen: sent=200 " "$T/b.out" || fail "pktgen did not send 200"

in_ns ping -c 2 -i 0.2 -W 2 10.0.0.2 >/dev/null || fail "host -> A via bridge"
in_ns "$NETTOOL" udp-send 10.0.0.2 7 xeno:exit
wait $pa || fail "udp-echo exited $?"
cat "$T/a.out"
a_rx=$(stat_field "$T/a" '.devices[0].rx_packets')
a_tx=$(stat_field "$T/a" '.devices[0].tx_packets')
b_rx=$(stat_field "$T/b" '.devices[0].rx_packets')
b_tx=$(stat_field "$T/b" '.devices[0].tx_packets')
echo "A rx=$a_rx tx=$a_tx; B rx=$b_rx tx=$b_tx"
[ "$b_tx" -ge 201 ] || fail "B sent $b_tx frames (ARP + 200 wanted)"
[ "$a_rx" -ge 201 ] || fail "A received $a_rx frames, B sent $b_tx"
[ "$b_rx" -ge 1 ] && [ "$a_tx" -ge 1 ] || fail "no ARP reply from A to B"
ok "A received B's 200 frames across the bridge; B got A's ARP reply"
