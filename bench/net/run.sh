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
# Each figure is the median of ROUNDS (default 9) runs of SECONDS_PER_RUN
# (default 1) seconds, guest and native alternating, so that host noise
# hits both alike.  Also printed: doorbells and vCPU exits per packet.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
[ -c /dev/kvm ] || { echo "SKIP: no /dev/kvm on this host"; exit 0; }
need_netns
S=${SECONDS_PER_RUN:-1}
R=${ROUNDS:-9}
netns_new bench
tap_new xg0
tap_new xn0
MAC=52:54:00:12:34:56
num() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | head -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
per() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b ? a / b : 0 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

guest_tx() {	# size -> pps; counters in $T/st
	in_ns "$XENO_HV" run --image "$XENO_GUESTS/pktgen.elf" --mem 64M \
	    --vif tap=xg0,mac=$MAC,ip=10.0.0.2/24 --stats "$T/st" \
	    --args "mode=tx dst_mac=02:00:00:00:00:01 size=$1 seconds=$S" \
	    >"$T/out" 2>&1 || { cat "$T/out" >&2; exit 1; }
	num pps <"$T/out"
}
guest_rx() {
	in_ns "$XENO_HV" run --image "$XENO_GUESTS/pktgen.elf" --mem 64M \
	    --vif tap=xg0,mac=$MAC,ip=10.0.0.2/24 --stats "$T/st" \
	    --args "mode=rx seconds=$S" >"$T/out" 2>&1 &
	local p=$!
	wait_for_line "$T/out" "^pktgen: ready" || exit 1
	in_ns "$NETTOOL" inject xg0 "$1" $((S + 1)) $MAC >/dev/null &
	local q=$!
	wait $p
	wait $q
	num pps <"$T/out"
}
native_tx() { in_ns "$NETTOOL" tap-write xn0 "$1" "$S" | num pps; }
native_rx() {
	in_ns "$NETTOOL" tap-read xn0 "$S" >"$T/nr" &
	local p=$!
	sleep 0.2
	in_ns "$NETTOOL" inject xn0 "$1" $((S + 1)) $MAC >/dev/null
	wait $p
	num pps <"$T/nr"
}

printf '%-12s %6s %12s %12s %7s %10s %10s\n' direction bytes "xeno pps" \
    "native pps" ratio "bell/pkt" "exit/pkt"
for dir in tx rx; do
	for size in 64 1500; do
		: >"$T/g"; : >"$T/n"; : >"$T/b"; : >"$T/e"
		for r in $(seq "$R"); do
			guest_$dir "$size" >>"$T/g"
			if [ $dir = tx ]; then
				pk=$(stat_field "$T/st" '.devices[0].tx_packets')
				db=$(stat_field "$T/st" '.devices[0].queues[1].doorbells')
			else
				pk=$(stat_field "$T/st" '.devices[0].rx_packets')
				db=$(stat_field "$T/st" '.devices[0].queues[0].doorbells')
			fi
			per "$db" "$pk" >>"$T/b"; echo >>"$T/b"
			per "$(stat_field "$T/st" .exits)" "$pk" >>"$T/e"
			echo >>"$T/e"
			native_$dir "$size" >>"$T/n"
		done
		g=$(median <"$T/g"); n=$(median <"$T/n")
		printf '%-12s %6s %12.0f %12.0f %7s %10s %10s\n' \
		    "$([ $dir = tx ] && echo guest-\>host || echo host-\>guest)" \
		    "$size" "$g" "$n" "$(ratio "$g" "$n")" \
		    "$(median <"$T/b")" "$(median <"$T/e")"
	done
done
