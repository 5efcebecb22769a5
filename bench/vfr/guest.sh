#!/bin/bash
# bench/vfr guest throughput: pktgen through a VIF with no rule set and
# with 1,000 rules installed (issue target: at least 90 %), both
# directions, 64-byte frames (the classifier's worst case per byte).
#
# The 1,000 rules: 996 tenant-style rules for other hosts and ports
# (prefixes /24 to /32, TCP port ranges, both directions), then a count
# rule and the accepts the traffic needs, behind "policy drop" both ways:
# every frame is classified against the whole set.  Median of ROUNDS
# (default 3) runs of SECONDS_PER_RUN (default 2) s, alternating.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
[ -c /dev/kvm ] || { echo "SKIP: no /dev/kvm on this host"; exit 0; }
need_netns
S=${SECONDS_PER_RUN:-2}
R=${ROUNDS:-3}
VFRC=$XENO_ROOT/$BUILD/xeno-vfrc
netns_new vfrbench
tap_new xg0
MAC=52:54:00:12:34:56
num() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | head -1; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

{
	echo "policy in drop"
	echo "policy out drop"
	echo "accept arp"
	for i in $(seq 0 995); do
		a=$((i / 250)); b=$((i % 250))
		case $((i % 4)) in
		0) echo "accept in inet proto tcp from 172.16.$a.$b to port $((1000 + i))" ;;
		1) echo "accept in inet proto tcp from 172.17.$a.0/24 to port $((2000 + i))-$((2010 + i))" ;;
		2) echo "accept out inet proto tcp to 192.168.$a.$b port { 443, $((3000 + i)) }" ;;
		3) echo "drop in inet proto udp from 198.51.$a.$b to port $((4000 + i))" ;;
		esac
	done
	echo "count in proto udp to port 9"
	echo "accept in inet proto udp from 10.0.0.0/24 to port 9"
	echo "accept out inet proto udp to port 9"
} >"$T/r.vfr"
"$VFRC" -o "$T/r.vfro" "$T/r.vfr" 2>/dev/null || { echo "xeno-vfrc failed"; exit 1; }
nrules=$(grep -c . "$T/r.vfr"); nrules=$((nrules - 2))

run() {		# tx|rx rules(0|1) -> pps
	local rules=() p q
	[ "$2" = 1 ] && rules=(--rules "$T/r.vfro")
	if [ "$1" = tx ]; then
		in_ns "$XENO_HV" run --image "$XENO_GUESTS/pktgen.elf" \
		    --mem 64M --vif tap=xg0,mac=$MAC,ip=10.0.0.2/24 \
		    "${rules[@]}" --stats "$T/st" --args \
		    "mode=tx dst_mac=02:00:00:00:00:01 size=64 seconds=$S" \
		    >"$T/out" 2>&1 || { cat "$T/out" >&2; exit 1; }
	else
		in_ns "$XENO_HV" run --image "$XENO_GUESTS/pktgen.elf" \
		    --mem 64M --vif tap=xg0,mac=$MAC,ip=10.0.0.2/24 \
		    "${rules[@]}" --stats "$T/st" --args "mode=rx seconds=$S" \
		    >"$T/out" 2>&1 &
		p=$!
		wait_for_line "$T/out" "^pktgen: ready" || exit 1
		in_ns "$NETTOOL" inject xg0 64 $((S + 1)) $MAC >/dev/null &
		q=$!
		wait $p
		wait $q
	fi
	num pps <"$T/out"
}

echo "bench/vfr guest: $nrules rules vs none, 64-byte frames, median of $R x ${S}s"
printf '%-12s %12s %12s %7s\n' direction "no rules" "$nrules rules" ratio
for dir in tx rx; do
	: >"$T/a"; : >"$T/b"
	for r in $(seq "$R"); do
		run $dir 0 >>"$T/a"
		run $dir 1 >>"$T/b"
	done
	a=$(median <"$T/a"); b=$(median <"$T/b")
	[ $dir = tx ] && name="guest->host" || name="host->guest"
	printf '%-12s %12.0f %12.0f %7s\n' "$name" "$a" "$b" \
	    "$(awk -v a="$b" -v b="$a" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
done
g=$(stat_field "$T/st" '.devices[0].firewall.gen')
echo "(last run: rule set generation $g, $(stat_field "$T/st" '.devices[0].firewall.rules') rules on the VIF, classifier $(stat_field "$T/st" '.devices[0].firewall.prog_bytes') bytes)"
