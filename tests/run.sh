#!/bin/bash
# Run every test: unit binaries in $BUILD/tests and the scripts in
# tests/integration.  A test passes with exit 0, is skipped with 77 (and
# must say why, loudly), fails otherwise.  Ends with the line
# "N passed, N failed, N skipped" that CI reads.
#
#   XENO_SAN=1       xeno-hv was built with ASan/UBSan (build/asan)
#   XENO_VALGRIND=1  run xeno-hv under valgrind in integration tests
#   TESTS="a b"      run only tests whose name contains one of the words
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
export XENO_HV="$PWD/$BUILD/xeno-hv"
export XENO_GUESTS="${XENO_GUESTS:-$PWD/$BUILD/guests}"
export XENO_ROOT="$PWD"
LOGDIR="$BUILD/test-logs"
rm -rf "$LOGDIR"; mkdir -p "$LOGDIR"

pass=0; fail=0; skip=0; failed=()
run_one() {
	local name=$1; shift
	if [ -n "${TESTS:-}" ]; then
		local w hit=0
		for w in $TESTS; do [[ $name == *$w* ]] && hit=1; done
		[ $hit = 1 ] || return 0
	fi
	local log="$LOGDIR/${name//\//_}.log" t0=$SECONDS rc
	timeout --kill-after=10 600 "$@" >"$log" 2>&1
	rc=$?
	local dt=$((SECONDS - t0))
	if [ $rc = 0 ]; then
		pass=$((pass + 1)); printf 'PASS  %-40s %3ss\n' "$name" "$dt"
	elif [ $rc = 77 ]; then
		skip=$((skip + 1))
		printf 'SKIP  %-40s %s\n' "$name" "$(grep -m1 SKIP "$log")"
	else
		fail=$((fail + 1)); failed+=("$name")
		printf 'FAIL  %-40s (exit %s)\n' "$name" "$rc"
		sed 's/^/    | /' "$log" | tail -n 40
	fi
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "unit/$(basename "$t")" "$t"
done
for t in tests/integration/*.sh; do
	run_one "integration/$(basename "$t" .sh)" bash "$t"
done

echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]} (logs in $LOGDIR)"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
