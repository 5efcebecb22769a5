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
T_HOOKS=()

t_cleanup() {
	local p all=()
	for p in "${T_HOOKS[@]}"; do eval "$p"; done
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

# hvm_host_check SCRIPT REGEX WHAT: run tests/hvm/SCRIPT in the test host
# (up to 300 s), show the console lines matching REGEX, fail with WHAT if
# the script failed.
hvm_host_check() {
	local rc
	HVM_LOG=$T/console.log "$XENO_ROOT/tests/hvm/run-host.sh" \
	    "$XENO_ROOT/tests/hvm/$1" 300
	rc=$?
	grep -E "$2" "$T/console.log"
	[ $rc = 0 ] || fail "$3 (exit $rc; console above)"
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

# xeno-controld on loopback with its private PostgreSQL in $CTLD_STATE.
# ctld_start [OPTIONS...]: starts it, waits until it serves, and sets
# CTLD_PID, CTLD_URL and OP (the operator token from the first start).
# Whatever happens, the test's end stops every xeno-hv it spawned and its
# PostgreSQL (a controld killed with SIGKILL leaves both running).
XENO_CTLD=${XENO_CTLD:-$XENO_ROOT/$BUILD/xeno-controld}
CTLD_STATE=$T/ctld
CTLD_PID=""
ctld_hooks_set=0
ctld_start() {
	mkdir -p "$CTLD_STATE/images"
	chmod 711 "$T"	# PostgreSQL runs as its own user below it
	[ -e "$CTLD_STATE/images/hello.elf" ] ||
	    cp "$XENO_GUESTS/hello.elf" "$CTLD_STATE/images/hello.elf"
	rm -f "$CTLD_STATE/controld.url"
	if [ $ctld_hooks_set = 0 ]; then
		T_HOOKS+=("ctld_reap")
		ctld_hooks_set=1
	fi
	local vg=()
	[ "${XENO_VALGRIND:-0}" = 1 ] && vg=(valgrind -q --leak-check=full
	    --errors-for-leak-kinds=definite --error-exitcode=99)
	${CTLD_NS:+ip netns exec "$CTLD_NS"} "${vg[@]}" "$XENO_CTLD" --state \
	    "$CTLD_STATE" --listen 127.0.0.1:0 "$@" >>"$T/controld.log" 2>&1 &
	CTLD_PID=$!
	T_PIDS+=("$CTLD_PID")
	local n=400
	while [ ! -s "$CTLD_STATE/controld.url" ]; do
		kill -0 "$CTLD_PID" 2>/dev/null ||
		    { cat "$T/controld.log"; fail "xeno-controld exited"; }
		n=$((n - 1)); [ $n -gt 0 ] ||
		    { cat "$T/controld.log"; fail "xeno-controld not ready"; }
		sleep 0.05
	done
	CTLD_URL=$(cat "$CTLD_STATE/controld.url")
	OP=$(cat "$CTLD_STATE/operator.token")
}
# SIGTERM and wait: controld exits 0, its domains keep running; a
# sanitizer's or valgrind's report in its log fails the test.
ctld_stop() {
	local rc
	kill -TERM "$CTLD_PID" 2>/dev/null
	wait "$CTLD_PID" 2>/dev/null
	rc=$?
	if [ $rc != 0 ] || grep -qE "Sanitizer|runtime error|definitely lost" \
	    "$T/controld.log"; then
		tail -40 "$T/controld.log"
		fail "xeno-controld exited $rc or reported errors"
	fi
}
ctld_reap() {
	local pid n=100
	pkill -KILL -f -- "--stats $CTLD_STATE/" 2>/dev/null
	pid=$(head -1 "$CTLD_STATE/pg/data/postmaster.pid" 2>/dev/null) ||
	    return 0
	kill -QUIT "$pid" 2>/dev/null || return 0	# immediate shutdown
	while kill -0 "$pid" 2>/dev/null && [ $n -gt 0 ]; do
		sleep 0.05; n=$((n - 1))
	done
	kill -KILL "$pid" 2>/dev/null
	return 0
}
# api TOKEN METHOD PATH [curl args...]: prints the HTTP status; the body
# is in $T/body.
api() {
	local tok=$1 m=$2 p=$3; shift 3
	${CTLD_NS:+ip netns exec "$CTLD_NS"} curl -sS --cacert \
	    "$CTLD_STATE/tls/cert.pem" -o "${BODY:-$T/body}" -w '%{http_code}' \
	    -X "$m" -H "Authorization: Bearer $tok" "$@" "$CTLD_URL$p"
}
body() { jq -r "$1" "$T/body"; }
# Expect status $1 from api $2...; then the body is in $T/body.
api_expect() {
	local want=$1 got; shift
	got=$(api "$@")
	[ "$got" = "$want" ] ||
	    fail "$2 $3: HTTP $got, wanted $want: $(head -c 400 "$T/body")"
}
# Is PID running (a zombie is not)?
alive() {
	kill -0 "$1" 2>/dev/null &&
	    [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]
}
# SQL on controld's database.
psql_ctld() {
	psql "host=$CTLD_STATE/pg/run dbname=xeno user=xeno" -XAtqc "$1"
}
# A tenant with BALANCE (micro-credits) and a tenant token: sets TENANT,
# TT.  tenant_new NAME BALANCE [QUOTAS-JSON]
tenant_new() {
	api_expect 201 "$OP" POST /v1/tenants \
	    -d "{\"name\":\"$1\",\"balance\":$2${3:+,\"quotas\":$3}}"
	TENANT=$(body .id)
	api_expect 201 "$OP" POST /v1/tokens \
	    -d "{\"role\":\"tenant\",\"tenant\":$TENANT}"
	TT=$(body .token)
}
# Wait until VM $2's state (as token $1 sees it) is $3 (up to $4 s).
vm_wait_state() {
	local n=$(( ${4:-10} * 20 )) s=""
	while [ $n -gt 0 ]; do
		api "$1" GET "/v1/vms/$2" >/dev/null
		s=$(body .state)
		[ "$s" = "$3" ] && return 0
		sleep 0.05
		n=$((n - 1))
	done
	fail "VM $2 is '$s', not '$3' after ${4:-10} s"
}
# Wait until VM $2's console (as token $1 reads it) has a line matching $3.
vm_wait_console() {
	local n=100
	until api "$1" GET "/v1/vms/$2/console" >/dev/null &&
	    grep -q "$3" "$T/body"; do
		n=$((n - 1)); [ $n -gt 0 ] || fail "VM $2: no '$3' on the console"
		sleep 0.05
	done
}
need_ctld() {
	need_kvm
	if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
		echo "SKIP: PostgreSQL server not installed (scripts/deps.sh" \
		    "installs it); controld tests not run"
		exit 77
	fi
}
