#!/bin/bash
# bench/api: xeno-controld's HTTPS API under load, on loopback with its
# private PostgreSQL, in one run (about 70 s):
#
#  1. GET /v1/vms/{id} of a running VM with a tenant token, TLS keep-alive,
#     wrk -t2 -c16: requests/s, p50/p99.  Target: >= 5,000 req/s.  Peer:
#     the same wrk against a trivial HTTPS server answering the same bytes
#     with the same certificate (bench/api/peer.js; only if node is
#     installed, else the figure alone).
#  2. Admission decisions: POST /v1/vms with "dry_run": true, each one
#     database transaction that records its decision, at -c16 (saturated:
#     its p99 is mostly time queued behind the other 15), -c4 and -c1 (one
#     request at a time: the latency of one decision).  Target: p99 < 5 ms.
#  3. POST /v1/vms accepted -> the guest's first instruction, for BOOTS
#     hello VMs created one at a time, each destroyed before the next
#     (controld's boot.accepted_to_first_insn_us).  Target: p50 < 50 ms.
#     Peer: xeno-hv with the command line controld gives it (less the
#     guest's arguments), exec'd from here, exec -> first instruction (start_realtime_ns in its counters
#     ties its monotonic clock to the shell's $EPOCHREALTIME).  Both are
#     split at xeno-hv's main(), so the part that is controld's shows.
#     Controld and the peer alternate, so that host noise hits both alike.
#     Measured first, while the host is idle; printed last.
#
# Each wrk line also shows the CPU that the server (srv%), PostgreSQL
# (pg%) and wrk itself used during the run (100 = one core of the two),
# and the server's and PostgreSQL's CPU time per request (us/req), to see
# where the time goes: a server that answers slowly while using little
# CPU is waiting, not working.
#
#   bench/api/run.sh
#   SECONDS_PER_RUN=5 BOOTS=10 SHOW_WRK=1 bench/api/run.sh
#
# Exit status: non-zero if controld did not start, a request failed or a
# wrk run had socket errors or answers other than 2xx; a missed target is
# reported, not judged.
#
#   SECONDS_PER_RUN  seconds of each wrk run (default 10)
#   BOOTS            VMs started for 3., and as many peer starts (default 30)
#   SHOW_WRK         1: print each wrk report in full
#   BUILD            build directory (default: build)
set -u
cd "$(dirname "$0")/../.."
S=${SECONDS_PER_RUN:-10}
BOOTS=${BOOTS:-30}
SHOW_WRK=${SHOW_WRK:-0}
for v in S BOOTS; do
	case ${!v} in ''|*[!0-9]*|0) echo "bench/api: SECONDS_PER_RUN and" \
	    "BOOTS must be numbers >= 1" >&2; exit 2 ;; esac
done
[ -c /dev/kvm ] || { echo "SKIP: no /dev/kvm on this host"; exit 0; }
for c in wrk curl jq; do
	command -v $c >/dev/null || { echo "SKIP: $c is not installed" \
	    "(scripts/deps.sh installs it)"; exit 0; }
done
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "SKIP:" \
    "PostgreSQL server not installed (scripts/deps.sh installs it)"; exit 0; }
. tests/lib.sh

VM='{"vcpus":1,"memory_mib":16,"image":"hello","duration_s":600,"args":"sleep_ms=600000"}'
DRY='{"vcpus":1,"memory_mib":16,"image":"hello","duration_s":600,"dry_run":true}'
PEER_PID=""
BAD=0

# At exit, before lib.sh's ctld_reap (which kills whatever xeno-hv and
# PostgreSQL are left under the state directory): destroy the live VMs,
# then stop controld with SIGTERM, which stops its PostgreSQL.
bench_cleanup() {
	local id n=200

	[ -n "$PEER_PID" ] && kill "$PEER_PID" 2>/dev/null
	[ -n "$CTLD_PID" ] && alive "$CTLD_PID" || return 0
	if [ "$(api "$OP" GET "/v1/vms?live=1&limit=1000" --max-time 5 \
	    2>/dev/null)" = 200 ]; then
		for id in $(body '.[].id'); do
			api "$OP" DELETE "/v1/vms/$id" --max-time 5 \
			    >/dev/null 2>&1
		done
	fi
	kill -TERM "$CTLD_PID" 2>/dev/null
	while alive "$CTLD_PID" && [ $n -gt 0 ]; do
		sleep 0.05; n=$((n - 1))
	done
}
T_HOOKS+=(bench_cleanup)
trap 'exit 130' INT
trap 'exit 143' TERM

HZ=$(getconf CLK_TCK)
# user+system clock ticks of each PID given, as "PID TICKS" lines
ticks() {
	local p
	for p in "$@"; do
		awk -v p="$p" '{ sub(/.*\) /, ""); print p, $12 + $13 }' \
		    "/proc/$p/stat" 2>/dev/null
	done
}
# controld's PostgreSQL: the postmaster and its children
pg_pids() {
	local pm
	pm=$(head -1 "$CTLD_STATE/pg/data/postmaster.pid" 2>/dev/null) ||
	    return 0
	echo "$pm" $(pgrep -P "$pm")
}
# CPU seconds used by the processes in tick files $1 (before) and $2
# (after); a process that ended in between is missed.
cpu_s() {
	awk -v hz="$HZ" 'NR == FNR { a[$1] = $2; next }
	    { t += $2 - a[$1] } END { printf "%.3f", t / hz }' "$1" "$2"
}
# user+system seconds of this shell's waited-for children so far, into
# file $1 (`times` in a $(subshell) would see only the subshell's)
child_cpu() {
	times >"$T/times"
	tail -1 "$T/times" | awk '{ t = 0; for (i = 1; i <= NF; i++) {
	    split($i, m, "m"); t += m[1] * 60 + m[2] } printf "%.3f\n", t }' \
	    >"$1"
}

# wrk_run LABEL WHO CONNS THREADS URL METHOD TOKEN [BODY]: one wrk run,
# printed as one row.  WHO: ctld or peer, whose CPU is shown.  Sets
# R_RPS and R_P99 (ms).
wrk_run() {
	local label=$1 who=$2 c=$3 th=$4 url=$5 rc scpu pcpu=0 wcpu
	local srv=$CTLD_PID pg=-
	shift 5
	[ "$who" = peer ] && srv=$PEER_PID
	ticks $srv >"$T/s0"; ticks $(pg_pids) >"$T/p0"; child_cpu "$T/w0"
	wrk -t"$th" -c"$c" -d"${S}s" --latency -s bench/api/req.lua \
	    "$url" -- "$@" >"$T/wrk.out" 2>&1
	rc=$?
	child_cpu "$T/w1"; ticks $srv >"$T/s1"; ticks $(pg_pids) >"$T/p1"
	[ "$SHOW_WRK" = 1 ] && sed 's/^/      | /' "$T/wrk.out"
	if [ $rc != 0 ] || ! grep -q '^wrk-result:' "$T/wrk.out"; then
		echo "   $label: wrk failed (exit $rc):"
		sed 's/^/      | /' "$T/wrk.out"
		BAD=1; R_RPS=0; R_P99=0
		return
	fi
	scpu=$(cpu_s "$T/s0" "$T/s1")
	[ "$who" = ctld ] && pcpu=$(cpu_s "$T/p0" "$T/p1") &&
	    pg=$(calc "100 * $pcpu / $S" %.0f)
	wcpu=$(awk -v a="$(cat "$T/w0")" -v b="$(cat "$T/w1")" \
	    'BEGIN { printf "%.3f", b - a }')
	# wrk's line, "wrk-result: requests=N duration_us=N ..." (req.lua)
	eval "$(sed -n 's/^wrk-result: //p' "$T/wrk.out" |
	    tr ' ' '\n' | sed 's/^/local r_/')"
	R_RPS=$(awk -v n="$r_requests" -v d="$r_duration_us" \
	    'BEGIN { printf "%.0f", n / (d / 1e6) }')
	R_P99=$(ms "$r_p99_us" 1000)
	printf '   %-30s %7s %7.3f %7.3f %7.3f %7.3f %6s %4.0f %4s %4.0f %6.0f\n' \
	    "$label" "$R_RPS" "$(ms "$r_p50_us" 1000)" \
	    "$(ms "$r_p90_us" 1000)" "$R_P99" "$(ms "$r_max_us" 1000)" \
	    "$((r_non2xx + r_sockerr))" "$(calc "100 * $scpu / $S")" "$pg" \
	    "$(calc "100 * $wcpu / $S")" \
	    "$(calc "($scpu + $pcpu) * 1000000 / ($r_requests ? $r_requests : 1)")"
	if [ "$r_non2xx" != 0 ] || [ "$r_sockerr" != 0 ]; then
		echo "   $label: $r_non2xx answers not 2xx, $r_sockerr socket" \
		    "errors: the figures above are not of the request meant"
		BAD=1
	fi
}
wrk_head() {
	printf '   %-30s %7s %7s %7s %7s %7s %6s %4s %4s %4s %6s\n' "" req/s \
	    "p50 ms" "p90 ms" "p99 ms" "max ms" errors srv% pg% wrk% "us/req"
}
# nearest-rank percentiles of the numbers in file $1: "p50 p90 max"
pcts() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
	    i = int((NR * 50 + 99) / 100); j = int((NR * 90 + 99) / 100);
	    printf "%.3f %.3f %.3f", v[i], v[j], v[NR] }'
}
# ms V [D]: V / D to three decimals; D 1000000 unless given (ns -> ms)
ms() { awk -v v="$1" -v d="${2:-1000000}" 'BEGIN { printf "%.3f\n", v / d }'; }
# calc EXPR [FORMAT]: arithmetic on numbers this script made
calc() { awk "BEGIN { printf \"${2:-%.3f}\", $1 }"; }
verdict() { if [ "$1" = 1 ]; then echo met; else echo MISSED; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }

echo "bench/api: xeno-controld, $(date -u +%Y-%m-%d)"
echo "machine: $(nproc) CPUs, $(grep -m1 '^model name' /proc/cpuinfo |
    sed 's/.*: //'), Linux $(uname -r), load average $(cut -d' ' -f1-3 \
    /proc/loadavg) at the start"
echo "tools: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), $S s per run," \
    "peer server: $(command -v node >/dev/null && echo "node $(node \
    --version)" || echo "none (node is not installed)")"

ctld_start --memory 4G --vcpus 64
tenant_new bench 1000000000000

#
# 3. first, while the host is idle: accepted -> first instruction
#
PEER_DIR=$T/peer-hv
mkdir -p "$PEER_DIR"
: >"$T/b-total"; : >"$T/b-ctld"; : >"$T/b-hv"
: >"$T/p-total"; : >"$T/p-exec"; : >"$T/p-hv"
for i in $(seq "$BOOTS"); do
	api_expect 201 "$TT" POST /v1/vms -d "$VM"
	id=$(body .id)
	vm_wait_state "$TT" "$id" running 5
	us=$(body .boot.accepted_to_first_insn_us)
	case $us in ''|*[!0-9]*) fail "VM $id: boot.accepted_to_first_insn_us" \
	    "is '$us': $(head -c 400 "$T/body")" ;; esac
	# xeno-hv's own part, from its counters (main() -> first instruction)
	hv=$("$XENO_HV" stat "$CTLD_STATE/run/dom-$id/stats" --json |
	    jq -r '.first_insn_ns - .start_ns') ||
	    fail "VM $id: no counters in $CTLD_STATE/run/dom-$id"
	ms $((us * 1000)) >>"$T/b-total"
	ms "$hv" >>"$T/b-hv"
	ms $((us * 1000 - hv)) >>"$T/b-ctld"
	api_expect 202 "$TT" DELETE "/v1/vms/$id"
	vm_wait_state "$TT" "$id" destroyed 5

	# the peer: the same command line (without the guest's arguments:
	# hello then exits at once), exec'd from a subshell that writes the
	# time just before exec
	rm -f "$PEER_DIR"/*
	( printf '%s\n' "$EPOCHREALTIME" >"$PEER_DIR/t0"
	  exec "$XENO_HV" run --image "$CTLD_STATE/images/hello.elf" \
	    --mem 16M --vcpus 1 --name vm-peer --stats "$PEER_DIR/stats" \
	    --control "$PEER_DIR/ctl.sock" \
	    --console "unix:$PEER_DIR/console.sock" \
	    </dev/null >"$PEER_DIR/hv.log" 2>&1 ) ||
	    { cat "$PEER_DIR/hv.log"; fail "xeno-hv run (peer) failed"; }
	t0=$(cat "$PEER_DIR/t0")
	t0=${t0//[.,]/}
	set -- $("$XENO_HV" stat "$PEER_DIR/stats" --json |
	    jq -r '"\(.start_realtime_ns) \(.start_ns) \(.first_insn_ns)"')
	[ $# = 3 ] && [ "$3" -gt "$2" ] || fail "peer: no counters"
	# the first instruction on the realtime clock, less exec's time
	ms $(($1 + $3 - $2 - t0 * 1000)) >>"$T/p-total"
	ms $(($1 - t0 * 1000)) >>"$T/p-exec"
	ms $(($3 - $2)) >>"$T/p-hv"
done

#
# 1. GET of a running VM
#
api_expect 201 "$TT" POST /v1/vms -d "$VM"
id=$(body .id)
vm_wait_state "$TT" "$id" running 5
api_expect 200 "$TT" GET "/v1/vms/$id"
cp "$T/body" "$T/vm.json"
echo
echo "1. GET /v1/vms/{id} of a running VM ($(wc -c <"$T/vm.json") bytes of" \
    "JSON), TLS keep-alive, tenant token, wrk -t2 -c16"
wrk_head
wrk_run "xeno-controld" ctld 16 2 "$CTLD_URL/v1/vms/$id" GET "$TT"
get_rps=$R_RPS get_p99=$R_P99
if command -v node >/dev/null; then
	node bench/api/peer.js "$CTLD_STATE/tls/cert.pem" \
	    "$CTLD_STATE/tls/key.pem" "$T/vm.json" >"$T/peer.log" 2>&1 &
	PEER_PID=$!
	T_PIDS+=("$PEER_PID")
	wait_for_line "$T/peer.log" '^listening [0-9]' 10 ||
	    { cat "$T/peer.log"; fail "bench/api/peer.js did not start"; }
	port=$(sed -n 's/^listening //p' "$T/peer.log")
	wrk_run "peer: node https, same body" peer 16 2 \
	    "https://127.0.0.1:$port/vm.json" GET ""
	peer_rps=$R_RPS
	kill "$PEER_PID"; wait "$PEER_PID" 2>/dev/null; PEER_PID=""
	echo "   ratio xeno-controld/peer req/s: $(ratio "$get_rps" "$peer_rps")"
else
	echo "   peer: none (node is not installed; openssl s_server -WWW" \
	    "cannot serve keep-alive clients)"
fi
echo "   target >= 5000 req/s: $(verdict "$(awk -v r="$get_rps" \
    'BEGIN { print (r >= 5000) }')") ($get_rps)"

#
# 2. admission decisions
#
echo
echo "2. POST /v1/vms dry_run (an admission decision, recorded), TLS" \
    "keep-alive, tenant token"
wrk_head
wrk_run "-c16 -t2 (saturated: queueing)" ctld 16 2 "$CTLD_URL/v1/vms" \
    POST "$TT" "$DRY"
adm16=$R_P99 adm_rps=$R_RPS
wrk_run "-c4 -t2" ctld 4 2 "$CTLD_URL/v1/vms" POST "$TT" "$DRY"
adm4=$R_P99
wrk_run "-c1 -t1 (one at a time)" ctld 1 1 "$CTLD_URL/v1/vms" POST "$TT" \
    "$DRY"
adm1=$R_P99
lt5() { verdict "$(awk -v v="$1" 'BEGIN { print (v < 5) }')"; }
echo "   target p99 < 5 ms: -c1 $(lt5 "$adm1") ($adm1 ms), -c4 $(lt5 \
    "$adm4") ($adm4 ms), -c16 $(lt5 "$adm16") ($adm16 ms)"
n=$(psql_ctld "SELECT count(*) FROM decisions WHERE kind = 'dry_run'")
echo "   decisions recorded: $n dry runs"

#
# 3. printed last
#
echo
echo "3. POST /v1/vms accepted -> guest's first instruction, $BOOTS hello" \
    "VMs (16 MiB, 1 vCPU) one at a time"
printf '   %-44s %8s %8s %8s\n' "" "p50 ms" "p90 ms" "max ms"
row() { printf '   %-44s %8.3f %8.3f %8.3f\n' "$1" $(pcts "$2"); }
row "xeno-controld: accepted -> first insn" "$T/b-total"
row "  accepted -> xeno-hv main()" "$T/b-ctld"
row "  xeno-hv main() -> first insn" "$T/b-hv"
row "peer: xeno-hv exec'd, exec -> first insn" "$T/p-total"
row "  exec -> xeno-hv main()" "$T/p-exec"
row "  xeno-hv main() -> first insn" "$T/p-hv"
set -- $(pcts "$T/b-total"); boot50=$1
set -- $(pcts "$T/p-total"); peer50=$1
echo "   ratio xeno-controld/peer p50: $(ratio "$boot50" "$peer50")"
echo "   target p50 < 50 ms: $(verdict "$(awk -v v="$boot50" \
    'BEGIN { print (v < 50) }')") ($boot50 ms)"

# Anything controld logged besides starting, stopping and one line per
# VM created and ended is worth a look.
echo
grep -vE '^xeno-controld: (vm [0-9]+: (tenant [0-9]+, |destroyed \(destroyed on request\))|listening on |ready: |database schema: |first start: |signal 15: )' \
    "$T/controld.log" >"$T/log-other"
echo "controld log: $(wc -l <"$T/controld.log") lines, $(wc -l \
    <"$T/log-other") of them not routine$([ -s "$T/log-other" ] && echo :)"
head -20 "$T/log-other" | sed 's/^/   | /'
echo "bench: api_get_rps=$get_rps api_get_p99_ms=$get_p99" \
    "api_admit_rps=$adm_rps api_admit_p99_ms_c1=$adm1" \
    "api_admit_p99_ms_c4=$adm4 api_admit_p99_ms_c16=$adm16" \
    "api_boot_p50_ms=$boot50 hv_boot_p50_ms=$peer50"
exit $BAD
