#!/bin/bash
# Issue 5: an unmodified Debian Linux on xeno-hv with a VIF and a VBD over
# virtio-pci, in the HVM test host (see hvm_linux.sh for why).
# tests/hvm/linux_devices.sh does the checks in there: eth0 and /dev/vda
# appear, the guest pings the test host through the tap, 1 MiB written to
# the VBD reads back with the same SHA-256 in the guest and in the disk
# file, and the guest's, the VIF's, the tap's and the VBD's counters agree.
. "$(dirname "$0")/../lib.sh"
need_hvm_host
hvm_host_check linux_devices.sh \
    "^linux_devices: |^w: |^xeno-linux: |^guest |^VBD " \
    "the Linux device checks in the test host failed"
ok "Linux on xeno-hv used eth0 and /dev/vda over virtio-pci"
