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
T_NETNS=()

t_cleanup() {
	local p all=()
	# `in_ns CMD &` makes a subshell: stop its children by PID too
	for p in "${T_PIDS[@]}"; do
		all+=($(pgrep -P "$p" 2>/dev/null) "$p")
	done
	for p in "${all[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${all[@]}"; do
		while kill -0 "$p" 2>/dev/null &&
		    [ "$(ps -o stat= -p "$p" 2>/dev/null | cut -c1)" != Z ]; do
			sleep 0.05
		done
	done
	# deleting a namespace deletes its taps and bridges with it
	for p in "${T_NETNS[@]}"; do ip netns del "$p" 2>/dev/null; done
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

# Tests of Linux guests run inside the HVM test host (tests/hvm/): they
# need QEMU and the guest from `make linux-guest`, and say SKIP without.
need_hvm_host() {
	if ! command -v qemu-system-x86_64 >/dev/null; then
		echo "SKIP: qemu-system-x86_64 is not installed (scripts/deps.sh" \
		    "installs it); HVM tests not run"
		exit 77
	fi
	if [ ! -f "$XENO_ROOT/$BUILD/guests/linux/vmlinuz" ]; then
		echo "SKIP: no Linux guest in $BUILD/guests/linux (make" \
		    "linux-guest); HVM tests not run"
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

# A private network namespace, deleted (with its taps and bridges) when
# the test ends: netns_new NAME; then `in_ns CMD...` runs inside it.
NS=""
need_netns() {
	if ! ip netns list >/dev/null 2>&1 || [ ! -c /dev/net/tun ]; then
		echo "SKIP: no network namespaces or /dev/net/tun here; VIF tests not run"
		exit 77
	fi
}
netns_new() {
	NS="xeno-$1-$$"
	ip netns add "$NS" || fail "ip netns add $NS"
	T_NETNS+=("$NS")
	ip -n "$NS" link set lo up
}
in_ns() { ip netns exec "$NS" "$@"; }
NETTOOL=${NETTOOL:-$XENO_ROOT/$BUILD/tools/nettool}

# Wait until FILE has a line matching REGEX (up to SECONDS, default 10).
wait_for_line() {
	local f=$1 re=$2 n=$(( ${3:-10} * 20 ))
	while [ $n -gt 0 ]; do
		grep -q "$re" "$f" 2>/dev/null && return 0
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}

# A persistent tap in the test namespace, as controld would make one:
# quiet (no IPv6 chatter, so packet counts are exact), addressed if
# ADDR is given, up.  xeno-hv attaches to it by name.
tap_new() {
	local tap=$1 addr=${2:-}
	ip -n "$NS" tuntap add dev "$tap" mode tap || fail "tuntap add $tap"
	in_ns sysctl -q -w "net.ipv6.conf.$tap.disable_ipv6=1" >/dev/null
	[ -n "$addr" ] && ip -n "$NS" addr add "$addr" dev "$tap"
	ip -n "$NS" link set "$tap" up
}

# A counter of a network interface in the test namespace.
if_stat() { in_ns cat "/sys/class/net/$1/statistics/$2"; }
