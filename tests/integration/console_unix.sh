#!/bin/bash
# --console unix:PATH: a client connected from the start and one that
# connects after the guest printed both get the whole output (the second
# from the backlog), both see EOF when the domain ends, the socket is
# gone afterwards, and a file in the way is refused, not overwritten.
. "$(dirname "$0")/../lib.sh"
need_kvm
NETTOOL=$XENO_ROOT/$BUILD/tools/nettool
sock=$T/con.sock

hv run --image "$XENO_GUESTS/hello.elf" --mem 16M \
    --args "sleep_ms=1500" --console "unix:$sock" --stats "$T/s" \
    >"$T/out" 2>"$T/err" &
pid=$!
T_PIDS+=($pid)
"$NETTOOL" unix-read "$sock" 10 >"$T/a" &
a=$!
T_PIDS+=($a)
# the second client comes after the guest printed
for _ in $(seq 100); do
	grep -q "^hello: " "$T/a" 2>/dev/null && break
	sleep 0.05
done
"$NETTOOL" unix-read "$sock" 10 >"$T/b" || fail "late client: no connection"
wait $a || fail "early client failed"
wait $pid
rc=$?
cat "$T/err"
[ $rc = 0 ] || fail "hello exited $rc"
[ -s "$T/out" ] && fail "console output went to stdout too"
for c in a b; do
	grep -qx "Hello from Xeno PV guest" "$T/$c" ||
	    fail "client $c did not get the marker: $(cat "$T/$c")"
	grep -q "^hello: .*args=\[sleep_ms=1500\]" "$T/$c" ||
	    fail "client $c did not get the second line"
done
cmp -s "$T/a" "$T/b" || fail "the two clients got different output"
[ "$(stat_field "$T/s" .console_bytes)" = "$(wc -c <"$T/a")" ] ||
    fail "console_bytes differs from what the clients got"
ok "both clients got all $(wc -c <"$T/a") bytes (the late one from the backlog)"
[ -e "$sock" ] && fail "the socket is still there after the domain ended"
ok "the socket is removed at exit"

echo precious >"$T/file"
hv run --image "$XENO_GUESTS/hello.elf" --mem 16M \
    --console "unix:$T/file" >/dev/null 2>"$T/err2"
rc=$?
cat "$T/err2"
[ $rc = 73 ] || fail "a file in the way: exit $rc, want 73"
grep -q "not a socket" "$T/err2" || fail "no clear message"
[ "$(cat "$T/file")" = precious ] || fail "the file was overwritten"
ok "a file in the way is refused (exit 73) and left alone"
