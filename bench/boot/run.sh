#!/bin/sh
# bench/boot: start-up, hypercall, CPU and memory figures of xeno-hv beside
# their native peers, in one run.  Extra arguments go to the driver, e.g.
#   bench/boot/run.sh --starts 20 --density 200
set -e
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
[ -c /dev/kvm ] || { echo "SKIP: no /dev/kvm on this host"; exit 0; }
exec "$B/bench/boot" "$B/xeno-hv" "$B/guests" "$B/bench/burn-native" \
    "$B/bench/native-hello" "$@"
