#!/bin/bash
# The VFR with real guests behind a tap in a private network namespace:
# an operator rule set (compiled by xeno-vfrc) lets ping, UDP echo and
# "established" return traffic in, drops a port by policy, rejects
# another with an ICMP answer; per-rule counters count exactly; a rule set
# replaced through the control socket while traffic runs loses no
# accepted packet; the flow log adds up to the VIF counters; guests that
# spoof their IP or MAC get nothing through and the spoof counters say so.
. "$(dirname "$0")/../lib.sh"
need_kvm
need_netns
VFRC="$XENO_ROOT/$BUILD/xeno-vfrc"
[ -x "$VFRC" ] || fail "xeno-vfrc not built"
netns_new vfr
tap_new xv1 10.0.0.1/24
tapmac=$(in_ns cat /sys/class/net/xv1/address)

cat >"$T/r1.vfr" <<'R'
policy in drop
policy out accept
count in proto udp to port 7
accept arp
accept in inet proto icmp icmp-type echo-request
accept in state established
accept in proto udp to port 7 state new
reject in proto udp to port 9
R
# rule ids are the lines of the normal form after the two policy lines
"$VFRC" -n "$T/r1.vfr" >"$T/r1.nf" || fail "xeno-vfrc -n"
"$VFRC" -o "$T/r1.vfro" "$T/r1.vfr" || fail "xeno-vfrc -o"
# the same with the two accepting rules swapped: still accepts port 7
sed 's/^accept in state established$/X/; s/^accept in proto udp to port 7 state new$/accept in state established/; s/^X$/accept in proto udp to port 7 state new/' \
    "$T/r1.vfr" >"$T/r2.vfr"
"$VFRC" -o "$T/r2.vfro" "$T/r2.vfr" || fail "xeno-vfrc -o r2"
printf 'policy in drop\naccept arp\ndrop in proto udp to port 7\n' >"$T/r3.vfr"
"$VFRC" -o "$T/r3.vfro" "$T/r3.vfr" || fail "xeno-vfrc -o r3"

in_ns "${HV[@]}" run --image "$XENO_GUESTS/udp-echo.elf" --mem 32M \
    --vif tap=xv1,mac=52:54:00:12:34:56,ip=10.0.0.2/24 \
    --rules "$T/r1.vfro" --flowlog "$T/fl" --control "$T/ctl" \
    --stats "$T/st" >"$T/out" 2>"$T/err" &
pid=$!
T_PIDS+=($pid)
wait_for_line "$T/out" "^udp-echo: ready" || { cat "$T/out" "$T/err";
    fail "guest never became ready"; }
rule() { stat_field "$T/st" ".rules.counters[$1].packets"; }
fwc() { stat_field "$T/st" ".devices[0].firewall.$1"; }

in_ns ping -c 3 -i 0.2 -W 2 10.0.0.2 >"$T/ping" || { cat "$T/ping";
    fail "ping through the firewall"; }
in_ns "$NETTOOL" udp-echo 10.0.0.2 7 20 100 || fail "UDP echo to port 7"
ok "ping and UDP echo pass the rules"
[ "$(rule 0)" = 20 ] || fail "count rule: $(rule 0), want 20"
"$XENO_HV" stat "$T/st" | grep -A12 '^  rules'
[ "$(rule 2)" = 3 ] || fail "echo-request rule: $(rule 2), want 3"
[ "$(rule 4)" = 1 ] || fail "port-7 'state new' rule: $(rule 4), want 1"
est=$(rule 3)
[ "$est" = 19 ] || fail "established rule: $est, want 19 (the echoes after the first)"
ok "per-rule counters: count 20, new 1, established $est"

in_ns "$NETTOOL" udp-call 10.0.0.2 8 blocked 2>/dev/null &&
    fail "port 8 answered through the policy drop"
[ "$(fwc rx_drop_policy)" -ge 1 ] || fail "rx_drop_policy did not count"
tap_rx0=$(if_stat xv1 rx_packets)
in_ns "$NETTOOL" udp-send 10.0.0.2 9 rejected
sleep 0.3
[ "$(fwc rx_reject)" = 1 ] || fail "rx_reject $(fwc rx_reject), want 1"
[ "$(rule 5)" = 1 ] || fail "reject rule: $(rule 5), want 1"
[ "$(if_stat xv1 rx_packets)" -gt "$tap_rx0" ] ||
    fail "no ICMP answer reached the host's tap"
ok "port 8 dropped by policy, port 9 rejected with an answer"

# A pcap capture of the VIF, filtered in xeno-hv, opens with tcpdump.
"$VFRC" capture "$T/ctl" 0 -w "$T/cap.pcap" -c 10 -G 20 udp port 7 \
    2>"$T/caperr" &
cap_pid=$!
T_PIDS+=($cap_pid)
wait_for_line "$T/caperr" "capturing" || { cat "$T/caperr"; fail "capture did not start"; }
in_ns ping -c 1 -W 2 10.0.0.2 >/dev/null || fail "ping during capture"
in_ns "$NETTOOL" udp-echo 10.0.0.2 7 5 300 >/dev/null || fail "echo during capture"
wait $cap_pid || { cat "$T/caperr"; fail "capture failed"; }
tcpdump -nn -r "$T/cap.pcap" >"$T/cap.txt" 2>"$T/tcpdump.err" ||
    { cat "$T/tcpdump.err"; fail "tcpdump cannot read the capture"; }
cat "$T/cap.txt"
[ "$(grep -c 'UDP, length 300' "$T/cap.txt")" = 10 ] ||
    fail "capture holds $(grep -c 'UDP, length 300' "$T/cap.txt") echo packets, want 10"
[ "$(grep -c '10.0.0.2.7 >' "$T/cap.txt")" = 5 ] || fail "capture lacks the guest's 5 answers"
grep -q ICMP "$T/cap.txt" && fail "the filter let ICMP into the capture"
[ "$(fwc capture_packets)" = 10 ] || fail "capture_packets $(fwc capture_packets), want 10"
ok "pcap capture: 10 packets both directions, filtered, read by tcpdump"

# Replace the rule set 10 times while 2000 echoes run: none is lost.
in_ns "$NETTOOL" udp-echo 10.0.0.2 7 2000 200 >"$T/echo" 2>&1 &
echo_pid=$!
T_PIDS+=($echo_pid)
for i in 1 2 3 4 5 6 7 8 9 10; do
	f=$T/r$((1 + i % 2)).vfro
	"${HV[@]}" ctl "$T/ctl" rules "$f" >/dev/null || fail "ctl rules $f"
	sleep 0.05
done
wait $echo_pid || { cat "$T/echo"; fail "echoes lost while rule sets were replaced"; }
gen=$(stat_field "$T/st" '.rules.generation')
[ "$gen" = 11 ] || fail "generation $gen after 10 replacements, want 11"
ok "10 atomic replacements under load, 2000 echoes, none lost (generation $gen)"

"${HV[@]}" ctl "$T/ctl" rules "$T/r3.vfro" >/dev/null || fail "ctl rules r3"
in_ns "$NETTOOL" udp-call 10.0.0.2 7 after 2>/dev/null &&
    fail "port 7 still answers after a rule set that drops it"
ok "a new rule set takes effect at once"
echo garbage >"$T/bad.vfro"
"${HV[@]}" ctl "$T/ctl" rules "$T/bad.vfro" 2>"$T/ctlerr" &&
    fail "a corrupt rule set was accepted"
grep -q 'ctl:' "$T/ctlerr" || fail "no error message for a corrupt set"
[ "$(stat_field "$T/st" '.rules.generation')" = 12 ] ||
    fail "a refused set changed the generation"
ok "a corrupt rule set is refused with: $(cat "$T/ctlerr")"

"${HV[@]}" ctl "$T/ctl" shutdown >/dev/null || fail "ctl shutdown"
wait $pid
rc=$?
[ $rc = 82 ] || { cat "$T/err"; fail "xeno-hv exited $rc after shutdown, want 82"; }

# The flow log: every frame the firewall saw is in exactly one record.
"${HV[@]}" flows "$T/fl" --json >"$T/flows" || fail "xeno-hv flows"
[ -s "$T/flows" ] || fail "no flow records"
sum() { jq -s "[.[] | select(.type == \"flow\" and $1) | .packets] | add // 0" "$T/flows"; }
a_in=$(sum '.direction == "in" and .action == "ACCEPT"')
a_out=$(sum '.direction == "out" and .action == "ACCEPT"')
d_in=$(sum '.direction == "in" and .action == "REJECT"')
v_rx=$(stat_field "$T/st" '.devices[0].rx_packets')
v_tx=$(stat_field "$T/st" '.devices[0].tx_packets')
v_nb=$(stat_field "$T/st" '.devices[0].rx_drop_no_buffer')
v_df=$(stat_field "$T/st" '.devices[0].rx_drop_filter')
echo "flows: in accept $a_in drop $d_in, out accept $a_out;" \
    "VIF rx $v_rx (+$v_nb no buffer) drop $v_df, tx $v_tx"
[ "$a_in" = $((v_rx + v_nb)) ] || fail "accepted-in flow packets $a_in != VIF rx $v_rx + $v_nb"
[ "$a_out" = "$v_tx" ] || fail "accepted-out flow packets $a_out != VIF tx $v_tx"
[ "$d_in" = "$v_df" ] || fail "dropped-in flow packets $d_in != VIF rx_drop_filter $v_df"
grep -q '"dstport":9,"protocol":17' "$T/flows" || fail "no record of the rejected flow"
ok "flow records add up to the VIF counters"

# Spoofing: pktgen told to use another IP, then another MAC.
spoof() {	# ARGS... -> prints tx_packets and tx_drop_spoof
	in_ns "${HV[@]}" run --image "$XENO_GUESTS/pktgen.elf" --mem 32M \
	    --vif tap=xv1,mac=52:54:00:12:34:56,ip=10.0.0.2/24 \
	    --args "mode=tx dst=10.0.0.1 dst_mac=$tapmac count=50 $*" \
	    --stats "$T/sp" >"$T/spout" 2>&1 || { cat "$T/spout";
	    fail "pktgen $*"; }
}
t0=$(if_stat xv1 rx_packets)
spoof ip=10.0.0.99/24
[ "$(stat_field "$T/sp" '.devices[0].firewall.spoof_ip')" = 50 ] ||
    fail "spoof_ip $(stat_field "$T/sp" '.devices[0].firewall.spoof_ip'), want 50"
[ "$(stat_field "$T/sp" '.devices[0].tx_packets')" = 0 ] || fail "spoofed IP frames went out"
spoof mac=52:54:00:66:66:66
[ "$(stat_field "$T/sp" '.devices[0].firewall.spoof_mac')" = 50 ] ||
    fail "spoof_mac $(stat_field "$T/sp" '.devices[0].firewall.spoof_mac'), want 50"
[ "$(stat_field "$T/sp" '.devices[0].tx_packets')" = 0 ] || fail "spoofed MAC frames went out"
[ "$(if_stat xv1 rx_packets)" = "$t0" ] || fail "the host's tap received spoofed frames"
spoof
[ "$(stat_field "$T/sp" '.devices[0].tx_packets')" -ge 50 ] || { cat "$T/spout"; "$XENO_HV" stat "$T/sp"; fail "honest frames did not go out"; }
[ "$(stat_field "$T/sp" '.devices[0].firewall.tx_drop_spoof')" = 0 ] || fail "honest frames counted as spoofed"
ok "spoofed IP and MAC: 50 and 50 dropped, nothing reached the host; honest: 50 out"
