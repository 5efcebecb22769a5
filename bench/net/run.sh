#!/bin/bash
# bench/net: packets/s through a VIF against a host process on a tap, in
# one run, at 64- and 1500-byte frames, both directions (docs/PERFORMANCE.md).
#
#   guest->host: pktgen (mode=tx) in a domain, frames written to the tap by
#                xeno-hv's VIF thread  vs  `nettool tap-write`, a host
#                process writing the same frames to a tap
#   host->guest: `nettool inject` sends frames into the tap's host side;
#                pktgen (mode=rx) counts what reaches the guest  vs
#                `nettool tap-read`, a host process reading the tap
#
# Also printed: doorbells and vCPU exits per packet.  SECONDS=N changes
# the length of each run (default 3).
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
[ -c /dev/kvm ] || { echo "SKIP: no /dev/kvm on this host"; exit 0; }
need_netns
S=${SECONDS_PER_RUN:-3}
netns_new bench
tap_new xg0
tap_new xn0
MAC=52:54:00:12:34:56
num() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | head -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }

printf '%-12s %6s %12s %12s %7s %10s %10s\n' direction bytes "xeno pps" \
    "native pps" ratio "bell/pkt" "exit/pkt"
for size in 64 1500; do
	in_ns "$XENO_HV" run --image "$XENO_GUESTS/pktgen.elf" --mem 64M \
	    --vif tap=xg0,mac=$MAC,ip=10.0.0.2/24 --stats "$T/tx$size" \
	    --args "mode=tx dst_mac=02:00:00:00:00:01 size=$size seconds=$S" \
	    >"$T/tx$size.out" 2>&1 || { cat "$T/tx$size.out"; exit 1; }
	g=$(num pps <"$T/tx$size.out")
	n=$(in_ns "$NETTOOL" tap-write xn0 "$size" "$S" | num pps)
	pk=$(stat_field "$T/tx$size" '.devices[0].tx_packets')
	db=$(stat_field "$T/tx$size" '.devices[0].queues[1].doorbells')
	ex=$(stat_field "$T/tx$size" '.exits')
	printf '%-12s %6s %12.0f %12.0f %7s %10.4f %10.4f\n' guest-\>host \
	    "$size" "$g" "$n" "$(ratio "$g" "$n")" \
	    "$(ratio "$db" "$pk")" "$(ratio "$ex" "$pk")"
done
for size in 64 1500; do
	in_ns "$XENO_HV" run --image "$XENO_GUESTS/pktgen.elf" --mem 64M \
	    --vif tap=xg0,mac=$MAC,ip=10.0.0.2/24 --stats "$T/rx$size" \
	    --args "mode=rx seconds=$S" >"$T/rx$size.out" 2>&1 &
	p=$!
	T_PIDS+=($p)
	wait_for_line "$T/rx$size.out" "^pktgen: ready" || exit 1
	in_ns "$NETTOOL" inject xg0 "$size" $((S + 2)) $MAC >"$T/inj$size" &
	wait $p
	g=$(num pps <"$T/rx$size.out")
	in_ns "$NETTOOL" tap-read xn0 "$S" >"$T/nr$size" &
	p=$!
	sleep 0.3
	in_ns "$NETTOOL" inject xn0 "$size" $((S + 2)) $MAC >/dev/null
	wait $p
	n=$(num pps <"$T/nr$size")
	pk=$(stat_field "$T/rx$size" '.devices[0].rx_packets')
	db=$(stat_field "$T/rx$size" '.devices[0].queues[0].doorbells')
	ex=$(stat_field "$T/rx$size" '.exits')
	printf '%-12s %6s %12.0f %12.0f %7s %10.4f %10.4f\n' host-\>guest \
	    "$size" "$g" "$n" "$(ratio "$g" "$n")" \
	    "$(ratio "$db" "$pk")" "$(ratio "$ex" "$pk")"
	wait
done
