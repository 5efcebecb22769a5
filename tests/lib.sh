# Shared helpers for integration tests (sourced).  Every test gets a
# private temporary directory, removed on exit with everything in it, and
# every process it starts is stopped by PID.
set -u
XENO_ROOT=${XENO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BUILD:-build}
XENO_HV=${XENO_HV:-$XENO_ROOT/$BUILD/xeno-hv}
XENO_GUESTS=${XENO_GUESTS:-$XENO_ROOT/$BUILD/guests}
T=$(mktemp -d /tmp/xeno-test.XXXXXX)
T_PIDS=()

t_cleanup() {
	local p
	for p in "${T_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap t_cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

# Tests that need KVM run wherever /dev/kvm exists and say SKIP loudly
# where it does not.
need_kvm() {
	if [ ! -c /dev/kvm ]; then
		echo "SKIP: /dev/kvm is not present on this host; KVM tests not run"
		exit 77
	fi
}

# xeno-hv, under valgrind when XENO_VALGRIND=1.  Start background domains
# with "${HV[@]}" ... & so that $! is xeno-hv itself (signals reach it).
if [ "${XENO_VALGRIND:-0}" = 1 ]; then
	HV=(valgrind -q --error-exitcode=99 --leak-check=full
	    --errors-for-leak-kinds=definite "$XENO_HV")
else
	HV=("$XENO_HV")
fi
hv() { "${HV[@]}" "$@"; }

# A field of `xeno-hv stat FILE --json`, through jq.
stat_field() { "$XENO_HV" stat "$1" --json | jq -r "$2"; }

# Expect exit code $1 from the rest of the command line.
expect_rc() {
	local want=$1; shift
	"$@"; local rc=$?
	[ "$rc" = "$want" ] || fail "exit $rc, wanted $want: $*"
}

# Numbers within a relative tolerance: within A B PERCENT
within() {
	awk -v a="$1" -v b="$2" -v p="$3" 'BEGIN {
		d = a - b; if (d < 0) d = -d;
		m = (a > b ? a : b); if (m == 0) exit 0;
		exit !(100 * d / m <= p) }'
}
