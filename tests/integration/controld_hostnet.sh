#!/bin/bash
# controld/hostnet.c through tests/tools/hn_tool in a private namespace:
# the bridge is made once, up, addressed, and a second call changes
# nothing; a tap is enslaved and up while its descriptor is held, and gone
# when the holder exits; bad names and names already taken are refused
# and leave nothing behind.
. "$(dirname "$0")/../lib.sh"
need_netns
HN=${HN_TOOL:-$XENO_ROOT/$BUILD/tests/hn_tool}
[ -x "$HN" ] || fail "no $HN: build it first (make)"
netns_new hn
hn() { in_ns "$HN" "$@"; }
link() { ip -n "$NS" -d link show "$1" 2>/dev/null; }
addrs() { ip -n "$NS" -4 -o addr show dev "$1" | awk '{ print $4 }' | xargs; }
mac() { link "$1" | awk '/link\/ether/ { print $2 }'; }
gone() { ! ip -n "$NS" link show "$1" >/dev/null 2>&1; }

hn bridge xbr0 10.77.0.1/24 || fail "hn_bridge"
link xbr0 | grep -q "^ *bridge " || fail "xbr0 is not a bridge: $(link xbr0)"
link xbr0 | grep -q "<.*,UP[,>]" || fail "xbr0 is not up: $(link xbr0)"
[ "$(addrs xbr0)" = 10.77.0.1/24 ] || fail "xbr0 has '$(addrs xbr0)'"
ok "bridge xbr0 made, up, 10.77.0.1/24"

before=$(link xbr0 | head -1; mac xbr0)
hn bridge xbr0 10.77.0.1/24 || fail "second hn_bridge"
[ "$(link xbr0 | head -1; mac xbr0)" = "$before" ] ||
    fail "second hn_bridge changed xbr0: $(link xbr0)"
[ "$(addrs xbr0)" = 10.77.0.1/24 ] || fail "xbr0 now has '$(addrs xbr0)'"
hn bridge xbr0 10.77.1.1/16 || fail "hn_bridge with a new address"
[ "$(addrs xbr0)" = 10.77.1.1/16 ] || fail "readdressed: '$(addrs xbr0)'"
hn bridge xbr0 10.77.0.1/24 || fail "hn_bridge back"
[ "$(addrs xbr0)" = 10.77.0.1/24 ] || fail "back: '$(addrs xbr0)'"
ok "hn_bridge again changes nothing; a new address replaces the old"

ip netns exec "$NS" "$HN" tap xbr0 xtap0 3 >"$T/tap.out" 2>&1 &
pid=$!
T_PIDS+=($pid)
wait_for_line "$T/tap.out" "^tap xtap0 fd [0-9]" || { cat "$T/tap.out";
    fail "hn_tap"; }
link xtap0 | grep -q "master xbr0" || fail "xtap0 not on xbr0: $(link xtap0)"
link xtap0 | grep -q "<.*,UP[,>]" || fail "xtap0 is not up: $(link xtap0)"
link xtap0 | grep -q "tun type tap pi off vnet_hdr off persist off" ||
    fail "xtap0 is not a plain, non-persistent tap: $(link xtap0)"
# a port with a lower MAC must not change the gateway's MAC (pinned)
brmac=$(mac xbr0)
ip -n "$NS" link set xtap0 address 02:00:00:00:00:01 || fail "tap MAC"
[ "$(mac xbr0)" = "$brmac" ] || fail "xbr0 took its port's MAC $(mac xbr0)"
ok "tap xtap0 up on xbr0 while held; xbr0 keeps its MAC $brmac"

hn tap xbr0 xtap0 0 2>"$T/err" && fail "a second tap xtap0"
grep -q "exists" "$T/err" || fail "second xtap0: $(cat "$T/err")"
wait $pid || fail "hn_tool tap exited $?: $(cat "$T/tap.out")"
gone xtap0 || fail "xtap0 outlived its descriptor: $(link xtap0)"
ok "a name in use is refused; xtap0 is gone once hn_tool exits"

for args in "bridge bad/name 10.0.0.1/24" "bridge xbr0 10.0.0.1" \
    "bridge xbr0 10.0.0.1/33" "bridge xbr0 10.0.0/24" \
    "tap xbr0 sixteen_chars_xx 0" "tap xbr0 a:b 0" "tap xbr0 ../x 0"; do
	hn $args 2>"$T/err" && fail "accepted: hn_tool $args"
	grep -q "hostnet: " "$T/err" || fail "hn_tool $args: $(cat "$T/err")"
done
hn tap xbr0 "" 0 2>"$T/err" && fail "accepted an empty tap name"
grep -q "not 1 to 15 characters" "$T/err" || fail "empty: $(cat "$T/err")"
hn bridge lo 10.0.0.1/8 2>"$T/err" && fail "hn_bridge made lo a bridge"
grep -q "not a bridge" "$T/err" || fail "lo: $(cat "$T/err")"
[ "$(addrs lo)" = 127.0.0.1/8 ] || fail "lo readdressed: '$(addrs lo)'"
ok "bad names and addresses refused; lo is no bridge and kept its address"

hn tap nobr0 xtap1 0 2>"$T/err" && fail "a tap on a missing bridge"
gone xtap1 || fail "xtap1 left behind: $(link xtap1)"
ip -n "$NS" tuntap add dev ptap0 mode tap || fail "tuntap add"
hn tap xbr0 ptap0 0 2>"$T/err" && fail "took over persistent ptap0"
link ptap0 | grep -q "persist on" || fail "ptap0 changed: $(link ptap0)"
link ptap0 | grep -q "master" && fail "ptap0 enslaved: $(link ptap0)"
ok "failed taps leave nothing; a persistent tap of that name is untouched"
