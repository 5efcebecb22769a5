#!/bin/bash
# Issue 5: an unmodified Debian Linux on xeno-hv.  This machine's /dev/kvm
# cannot run guest CPL 0 at speed (DESIGN.md), so the test runs inside the
# HVM test host: QEMU TCG with emulated AMD-V, where kvm_amd gives a
# hardware-style /dev/kvm (tests/hvm/).  tests/hvm/linux_boot.sh does the
# checks in there: boots on 1 and 2 vCPUs with nproc matching, the command
# from the kernel command line runs and its exit status comes out of
# xeno-hv and the counters, the boot timer is recorded, a truncated
# bzImage is refused.  Needs `make linux-guest` (make test builds it).
. "$(dirname "$0")/../lib.sh"
need_hvm_host
hvm_host_check linux_boot.sh \
    "^linux_boot: |^xeno-linux: |booted .* after start" \
    "the Linux guest checks in the test host failed"
ok "Linux booted on xeno-hv in the test host with 1 and 2 vCPUs"
