#!/bin/sh
# Linux on xeno-hv (issue 5), a SCRIPT for run-host.sh: inside the test
# host, boot Debian's kernel with our initramfs on 1 and on 2 vCPUs, run a
# command given on the kernel command line, and check what the guest
# printed, its exit status and its counters; boot the vmlinux inside the
# same bzImage directly; a truncated kernel is refused.
set -u
fails=0
fail() { echo "linux_boot: FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "linux_boot: ok: $*"; }

for n in 1 2; do
	out=/tmp/con$n
	xeno-hv run --kernel /guest/vmlinuz --initrd /guest/initrd.img \
	    --mem 256M --vcpus $n --stats /tmp/st$n --console file:$out \
	    --cmdline "console=ttyS0 reboot=k panic=-1 quiet xrun=\"exit 7\""
	rc=$?
	cat $out
	xeno-hv stat /tmp/st$n
	[ $rc = 7 ] || fail "$n vCPU(s): xeno-hv exit status $rc, want 7"
	grep -q "xeno-linux: init up nproc=$n" $out ||
	    fail "$n vCPU(s): no init marker with nproc=$n"
	grep -q "xeno-linux: exit status=7" $out ||
	    fail "$n vCPU(s): no exit line"
	xeno-hv stat /tmp/st$n | grep -q "ended: exit status 7" ||
	    fail "$n vCPU(s): counters do not say exit status 7"
	boot=$(xeno-hv stat /tmp/st$n --json | sed -n \
	    's/.*"boot_done_ns": *\([0-9]*\).*/\1/p' | head -n 1)
	[ -n "$boot" ] && [ "$boot" != 0 ] ||
	    fail "$n vCPU(s): the boot timer was not recorded"
	[ $fails = 0 ] && ok "$n vCPU(s): booted to the initramfs, nproc=$n," \
	    "exit status 7"
done

# The uncompressed vmlinux from inside the same bzImage, booted directly.
out=/tmp/conv
xeno-hv run --kernel /guest/vmlinux --initrd /guest/initrd.img \
    --mem 256M --vcpus 2 --stats /tmp/stv --console file:$out \
    --cmdline "console=ttyS0 reboot=k panic=-1 quiet xrun=\"exit 7\""
rc=$?
cat $out
xeno-hv stat /tmp/stv | grep -E "booted|ended"
if [ $rc = 7 ] && grep -q "xeno-linux: init up nproc=2" $out; then
	ok "the vmlinux inside the bzImage boots directly: nproc=2, exit 7"
else
	fail "vmlinux: exit status $rc"
fi
head -c 20000000 /guest/vmlinux >/tmp/truncv
xeno-hv run --kernel /tmp/truncv 2>/tmp/errv
rc=$?
cat /tmp/errv
[ $rc = 65 ] && grep -q "truncated image" /tmp/errv ||
    fail "truncated vmlinux: exit $rc"
[ $fails = 0 ] && ok "a truncated vmlinux is refused with a clear error"

head -c 4000000 /guest/vmlinuz >/tmp/trunc
xeno-hv run --kernel /tmp/trunc --initrd /guest/initrd.img 2>/tmp/err
rc=$?
cat /tmp/err
[ $rc = 65 ] && grep -q "truncated" /tmp/err ||
    fail "truncated kernel: exit $rc"
[ $fails = 0 ] && ok "a truncated bzImage is refused with a clear error"
exit $fails
