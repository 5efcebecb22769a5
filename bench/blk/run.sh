#!/bin/bash
# bench/blk: a guest's VBD against a host process doing the same I/O on
# the same file, in one run: 4 KiB random and 1 MiB sequential reads and
# writes (docs/PERFORMANCE.md).  The file lives in $BENCH_DIR (default
# /var/tmp) and is read once first, so both sides start from a warm page
# cache.  Each figure is the median of ROUNDS (default 9) runs of
# SECONDS_PER_RUN (default 1) seconds, guest and native alternating.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
[ -c /dev/kvm ] || { echo "SKIP: no /dev/kvm on this host"; exit 0; }
S=${SECONDS_PER_RUN:-1}
R=${ROUNDS:-9}
D=$(mktemp -d "${BENCH_DIR:-/var/tmp}/xeno-blk.XXXXXX")
trap 'rm -rf "$D"; t_cleanup' EXIT
F=$D/disk
head -c $((256 << 20)) /dev/urandom >"$F"
cat "$F" >/dev/null
num() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | head -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
per() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b ? a / b : 0 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '%-11s %8s %10s %10s %11s %11s %7s %9s\n' mode bs "xeno iops" \
    "native" "xeno MB/s" "native" ratio "bell/req"
for run in "rand-read 4096" "rand-write 4096" "seq-read 1048576" \
    "seq-write 1048576"; do
	set -- $run
	: >"$D/g"; : >"$D/gm"; : >"$D/n"; : >"$D/nm"; : >"$D/b"
	for r in $(seq "$R"); do
		"$XENO_HV" run --image "$XENO_GUESTS/blkbench.elf" --mem 64M \
		    --vbd "id=bench,extents=$F:0:256M" --stats "$D/st" \
		    --args "mode=$1 bs=$2 qd=32 seconds=$S" >"$D/out" 2>&1 ||
		    { cat "$D/out"; exit 1; }
		num iops <"$D/out" >>"$D/g"; num mbps <"$D/out" >>"$D/gm"
		rq=$(stat_field "$D/st" '.devices[0].queues[0].popped')
		db=$(stat_field "$D/st" '.devices[0].queues[0].doorbells')
		per "$db" "$rq" >>"$D/b"; echo >>"$D/b"
		out=$("$XENO_ROOT/$BUILD/bench/blkio" "$1" "$F" "$2" "$S")
		echo "$out" | num iops >>"$D/n"; echo "$out" | num mbps >>"$D/nm"
	done
	g=$(median <"$D/g"); n=$(median <"$D/n")
	printf '%-11s %8s %10.0f %10.0f %11.1f %11.1f %7s %9s\n' "$1" "$2" \
	    "$g" "$n" "$(median <"$D/gm")" "$(median <"$D/nm")" \
	    "$(ratio "$g" "$n")" "$(median <"$D/b")"
done
