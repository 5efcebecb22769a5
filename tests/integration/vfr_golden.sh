#!/bin/bash
# Golden tests of the VFR rule language (tests/vfr/), run through the real
# xeno-vfrc from inside tests/vfr so that file names in messages are short:
#
#   pass-NAME.vfr  `xeno-vfrc -n` exits 0 and prints pass-NAME.ok; its
#                  stderr is pass-NAME.err (warnings) or empty; the normal
#                  form parsed again prints itself (the round trip), and
#                  `xeno-vfrc -o` compiles it
#   fail-NAME.vfr  `xeno-vfrc -n` exits 1, prints nothing on stdout and
#                  exactly the one line fail-NAME.ok on stderr
#   NAME.tenant.vfr  given with --tenant to NAME.vfr
#
# Then the command line itself: usage errors, --help, --version, stdin.
# Every mismatch is listed with a diff; the test fails if there is one.
. "$(dirname "$0")/../lib.sh"
VFRC="$XENO_ROOT/$BUILD/xeno-vfrc"
[ -x "$VFRC" ] || fail "$VFRC is not built (make vfr)"
cd "$XENO_ROOT/tests/vfr" || fail "no tests/vfr"

bad=()
npass=0
nfail=0

# mismatch WHAT EXPECTED-FILE GOT-FILE
mismatch() {
	echo "MISMATCH: $1"
	diff -u "$2" "$3" | sed 's/^/    /'
	bad+=("$1")
}

tenant_args() {
	local t="${1%.vfr}.tenant.vfr"
	[ -f "$t" ] && echo "--tenant $t"
}

for f in pass-*.vfr; do
	case $f in *.tenant.vfr) continue ;; esac
	name=${f%.vfr}
	npass=$((npass + 1))
	# shellcheck disable=SC2046
	"$VFRC" -n $(tenant_args "$f") "$f" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc != 0 ]; then
		echo "MISMATCH: $f: exit $rc, wanted 0"; sed 's/^/    /' "$T/err"
		bad+=("$f")
		continue
	fi
	[ -f "$name.ok" ] || { echo "MISSING: $name.ok"; bad+=("$f"); continue; }
	cmp -s "$name.ok" "$T/out" || mismatch "$f: normal form" "$name.ok" "$T/out"
	if [ -f "$name.err" ]; then
		cmp -s "$name.err" "$T/err" || mismatch "$f: warnings" "$name.err" "$T/err"
	elif [ -s "$T/err" ]; then
		mismatch "$f: unexpected stderr" /dev/null "$T/err"
	fi
	# the round trip: the normal form is its own normal form
	cp "$T/out" "$T/nf.vfr"
	"$VFRC" -n "$T/nf.vfr" >"$T/out2" 2>"$T/err2" ||
	    { echo "MISMATCH: $f: normal form does not parse"; sed 's/^/    /' "$T/err2"; bad+=("$f"); continue; }
	cmp -s "$T/out" "$T/out2" || mismatch "$f: round trip" "$T/out" "$T/out2"
	# shellcheck disable=SC2046
	"$VFRC" -o "$T/obj" $(tenant_args "$f") "$f" 2>"$T/err3" && [ -s "$T/obj" ] ||
	    { echo "MISMATCH: $f: -o failed"; sed 's/^/    /' "$T/err3"; bad+=("$f"); }
	rm -f "$T/obj"
done

for f in fail-*.vfr; do
	case $f in *.tenant.vfr) continue ;; esac
	name=${f%.vfr}
	nfail=$((nfail + 1))
	# shellcheck disable=SC2046
	"$VFRC" -n $(tenant_args "$f") "$f" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc != 1 ]; then
		echo "MISMATCH: $f: exit $rc, wanted 1"; sed 's/^/    /' "$T/err"
		bad+=("$f")
		continue
	fi
	[ -s "$T/out" ] && mismatch "$f: stdout on error" /dev/null "$T/out"
	[ -f "$name.ok" ] || { echo "MISSING: $name.ok"; bad+=("$f"); continue; }
	cmp -s "$name.ok" "$T/err" || mismatch "$f: message" "$name.ok" "$T/err"
done
echo "golden: $npass pass files, $nfail fail files"

# the command line
cli() {
	local want=$1 pat=$2; shift 2
	"$VFRC" "$@" >"$T/out" 2>"$T/err" </dev/null
	local rc=$?
	if [ "$rc" != "$want" ] || ! grep -q -- "$pat" "$T/out" "$T/err"; then
		echo "MISMATCH: xeno-vfrc $*: exit $rc (wanted $want), no '$pat':"
		sed 's/^/    /' "$T/out" "$T/err"
		bad+=("cli: $*")
	fi
}
cli 64 "no rule file" -n
cli 64 "give -n or -o OUT" pass-empty.vfr
cli 64 "give -n or -o OUT" -n -o "$T/x" pass-empty.vfr
cli 64 "unknown option '--bogus'" --bogus
cli 64 "missing argument to '-o'" -o
cli 64 "one rule file only" -n pass-empty.vfr pass-empty.vfr
cli 64 "stdin can be read once only" -n --tenant - -
cli 0 "usage: xeno-vfrc" --help
cli 0 "^xeno-vfrc [0-9]" --version
cli 1 "nonexistent.vfr: No such file or directory" -n nonexistent.vfr
cli 1 "inc: not a regular file" -n inc
cli 1 "missing.vfr: No such file" -n --tenant missing.vfr pass-empty.vfr
cli 73 "cannot write $T/no/dir/x" -o "$T/no/dir/x" pass-sketch.vfr
printf 'accept in\n' | "$VFRC" -n - >"$T/out" 2>&1 &&
    grep -qx "accept in" "$T/out" || { echo "MISMATCH: stdin"; bad+=("stdin"); }
printf 'accept in frm\n' | "$VFRC" -n - >"$T/out" 2>&1
grep -q "^xeno-vfrc: <stdin>:1:11: " "$T/out" || { echo "MISMATCH: stdin error"; cat "$T/out"; bad+=("stdin error"); }
"$VFRC" -o "$T/x.vfro" pass-sketch.vfr && [ -s "$T/x.vfro" ] &&
    [ "$(stat -c %a "$T/x.vfro")" = 644 ] ||
    { echo "MISMATCH: -o file"; bad+=("-o"); }

if [ ${#bad[@]} -gt 0 ]; then
	echo
	printf 'failed: %s\n' "${bad[@]}"
	fail "${#bad[@]} golden mismatches"
fi
ok "$npass pass and $nfail fail golden files, round trips, command line"
