#!/bin/bash
# The libFuzzer drivers of xeno-hv's parsers (tests/fuzz/), each for a
# bounded time: fails if any of them finds a crash, a sanitizer report, a
# leak, a timeout or a broken invariant, and shows the input that did it.
#
#   FUZZ_SECONDS=N   seconds per fuzzer (default 15); up to nproc at once
#   FUZZ_TIMEOUT=N   seconds one input may take (default 25)
#
# Builds nothing: `make fuzz-build` (part of `make all`) puts the drivers in
# $BUILD/fuzz.  The seed corpora are copied, so the tree is not modified;
# an input that fails is kept in $BUILD/fuzz/artifacts/NAME/ (the temporary
# directory goes away) and can be replayed with `$BUILD/fuzz/fuzz_NAME FILE`.
. "$(dirname "$0")/../lib.sh"

# every driver in tests/fuzz, so a new one cannot be left out
NAMES=$(cd "$XENO_ROOT/tests/fuzz" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
SECS=${FUZZ_SECONDS:-15}
case $BUILD in
/*) FUZZ_DIR=$BUILD/fuzz ;;
*) FUZZ_DIR=$XENO_ROOT/$BUILD/fuzz ;;
esac

missing=()
for n in $NAMES; do
	[ -x "$FUZZ_DIR/fuzz_$n" ] || missing+=("fuzz_$n")
done
if [ ${#missing[@]} = "$(echo $NAMES | wc -w)" ]; then
	echo "SKIP: fuzzers not built (clang with libFuzzer missing)"
	exit 77
fi
[ ${#missing[@]} = 0 ] ||
    fail "only some fuzzers are built; missing in $FUZZ_DIR: ${missing[*]}"

# As many at once as there are CPUs: the test takes FUZZ_SECONDS on a
# 4-CPU host, and each fuzzer still gets a whole CPU on a smaller one.
declare -A pid status
jobs=$(nproc 2>/dev/null || echo 1)
running=()
reap() {
	local r
	for r in "${running[@]}"; do
		wait "${pid[$r]}"
		status[$r]=$?
	done
	running=()
}
for n in $NAMES; do
	[ ${#running[@]} -lt "$jobs" ] || reap
	mkdir -p "$T/corpus/$n" "$T/art/$n"
	if [ -d "$XENO_ROOT/tests/fuzz/corpus/$n" ]; then
		cp -R "$XENO_ROOT/tests/fuzz/corpus/$n/." "$T/corpus/$n/"
	fi
	# -timeout turns a hanging input into a report; tests/run.sh bounds
	# the whole test.  $! is the fuzzer itself, for t_cleanup.
	"$FUZZ_DIR/fuzz_$n" -max_total_time="$SECS" -rss_limit_mb=2048 \
	    -timeout="${FUZZ_TIMEOUT:-25}" -print_final_stats=1 \
	    -artifact_prefix="$T/art/$n/" "$T/corpus/$n" \
	    >"$T/$n.log" 2>&1 &
	pid[$n]=$!
	T_PIDS+=("$!")
	running+=("$n")
done
reap

bad=()
for n in $NAMES; do
	rc=${status[$n]}
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/$n.log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$T/$n.log")
	cov=$(grep -o 'cov: [0-9]*' "$T/$n.log" | tail -n 1)
	if [ "$rc" = 0 ]; then
		ok "fuzz_$n: ${execs:-?} inputs in ${SECS}s (${rate:-?}/s), ${cov:-cov: ?}," \
		    "corpus $(find "$T/corpus/$n" -type f | wc -l) inputs"
		continue
	fi
	bad+=("fuzz_$n")
	echo "FAIL: fuzz_$n exited $rc"
	keep="$FUZZ_DIR/artifacts/$n"
	mkdir -p "$keep"
	for a in "$T/art/$n"/*; do
		[ -f "$a" ] || continue
		cp "$a" "$keep/"
		echo "  input: $keep/$(basename "$a") ($(stat -c %s "$a") bytes)"
		echo "  replay: $FUZZ_DIR/fuzz_$n $keep/$(basename "$a")"
		[ "$(stat -c %s "$a")" -le 256 ] && od -An -tx1 -v "$a" | sed 's/^/    /'
	done
	# The report: from its first line, 40 lines, less ASan's shadow map.
	awk '/ERROR: |runtime error|invariant violated|deadly signal|==[0-9]+==/ { p = 1 }
	    /^Shadow bytes around/ { exit }
	    p && n++ < 40' "$T/$n.log" | sed 's/^/  | /'
	grep -q 'ERROR: \|runtime error\|invariant violated\|deadly signal' \
	    "$T/$n.log" || tail -n 20 "$T/$n.log" | sed 's/^/  | /'
done
[ ${#bad[@]} = 0 ] || fail "fuzzers found problems: ${bad[*]}"
ok "all fuzzers ran ${SECS}s each without a finding"
