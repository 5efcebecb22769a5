#!/bin/sh
# Smoke test of the HVM test host (a SCRIPT for run-host.sh; runs inside
# the host under busybox sh): KVM loaded and xeno-hv runs there.
#
#	tests/hvm/run-host.sh tests/hvm/smoke.sh
set -u

ls -l /dev/kvm
# what kvm_amd made of the emulated CPU (nested paging, nested SVM)
dmesg | grep -E 'kvm|SVM'
xeno-hv --version || xeno-hv --help 2>&1 | head -n 1
ls -l /guest
if [ ! -c /dev/kvm ]; then
	echo "smoke: FAIL: no /dev/kvm in the test host"
	exit 1
fi
echo "smoke: ok"
