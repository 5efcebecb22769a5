#!/bin/sh
# Linux on xeno-hv with a VIF and a VBD (issue 5), a SCRIPT for
# run-host.sh.  Inside the test host: a tap xv0 at 10.0.2.1, a disk file,
# and a 2-vCPU Linux guest whose virtio-pci drivers find eth0 and
# /dev/vda.  The guest pings the test host, writes 1 MiB of random data to
# the VBD with O_DIRECT and reads it back; then the checks: SHA-256 equal
# in the guest, in the disk file and in what the guest printed; the
# guest's own interface counters equal the VIF's, the tap's agree with
# them, and the VBD wrote exactly the guest's 1 MiB.
set -u
fails=0
fail() { echo "linux_devices: FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "linux_devices: ok: $*"; }
# field NAME FILE: "NAME":number in FILE (one VIF and one VBD: their
# counter names do not clash)
field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$2" | head -n 1; }

modprobe tun || fail "cannot load tun"
tunctl -t xv0 >/dev/null || fail "tunctl xv0"
# IPv6 would add router solicitations and MLD reports to the counts
echo 1 >/proc/sys/net/ipv6/conf/xv0/disable_ipv6 2>/dev/null
ip addr add 10.0.2.1/24 dev xv0
ip link set xv0 up
dd if=/dev/zero of=/tmp/disk bs=1M count=8 2>/dev/null

# The workload rides in a second initramfs archive after the guest's own.
mkdir -p /tmp/extra
cat >/tmp/extra/w.sh <<'EOF'
echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6
[ -e /sys/class/net/eth0 ] || { echo "w: no eth0"; exit 10; }
[ -b /dev/vda ] || { echo "w: no /dev/vda"; exit 11; }
echo "w: eth0 mac=$(cat /sys/class/net/eth0/address)"
echo "w: vda sectors=$(cat /sys/block/vda/size)"
ip link set eth0 up && ip addr add 10.0.2.2/24 dev eth0 || exit 12
ping -c 5 -W 5 10.0.2.1 >/tmp/ping
cat /tmp/ping
grep -q "5 packets received" /tmp/ping || exit 13
dd if=/dev/urandom of=/tmp/f bs=4096 count=256 2>/dev/null
dd if=/tmp/f of=/dev/vda bs=4096 seek=256 oflag=direct 2>/dev/null || exit 14
dd if=/dev/vda of=/tmp/g bs=4096 skip=256 count=256 iflag=direct \
    2>/dev/null || exit 15
a=$(sha256sum </tmp/f | cut -d' ' -f1)
b=$(sha256sum </tmp/g | cut -d' ' -f1)
echo "w: sha256 written=$a read=$b"
[ "$a" = "$b" ] || exit 16
s=/sys/class/net/eth0/statistics
echo "w: eth0 rx=$(cat $s/rx_packets) tx=$(cat $s/tx_packets)" \
    "rx_bytes=$(cat $s/rx_bytes) tx_bytes=$(cat $s/tx_bytes)"
exit 0
EOF
(cd /tmp/extra && echo w.sh | cpio -o -H newc >/tmp/extra.cpio 2>/dev/null)
cat /guest/initrd.img /tmp/extra.cpio >/tmp/initrd.img

out=/tmp/con
xeno-hv run --kernel /guest/vmlinuz --initrd /tmp/initrd.img \
    --mem 256M --vcpus 2 --stats /tmp/st --console file:$out \
    --vif tap=xv0,mac=52:54:00:00:02:02,ip=10.0.2.2/24 \
    --vbd id=data,extents=/tmp/disk:0:8M \
    --cmdline "console=ttyS0 reboot=k panic=-1 quiet xrun=\"sh /w.sh\""
rc=$?
cat $out
xeno-hv stat /tmp/st
xeno-hv stat /tmp/st --json >/tmp/st.json
[ $rc = 0 ] || fail "the guest's workload failed: exit status $rc"
grep -q "xeno-linux: init up nproc=2" $out || fail "no init marker"
grep -q "w: eth0 mac=52:54:00:00:02:02" $out ||
    fail "eth0 does not have the VIF's MAC address"
grep -q "w: vda sectors=16384" $out || fail "/dev/vda is not 8 MiB"
[ $fails = 0 ] && ok "the guest has eth0 (its MAC from the VIF) and" \
    "/dev/vda (8 MiB)"
grep -q "5 packets received" $out && ok "the guest pinged the test host"

g=$(sed -n 's/^w: sha256 written=\([0-9a-f]*\) read=.*/\1/p' $out)
h=$(dd if=/tmp/disk bs=4096 skip=256 count=256 2>/dev/null | sha256sum |
    cut -d' ' -f1)
echo "guest sha256 $g, disk file $h"
if [ -n "$g" ] && [ "$g" = "$h" ]; then
	ok "1 MiB written and read back on the VBD: SHA-256 equal in the" \
	    "guest and in the disk file"
else
	fail "SHA-256 of the VBD data differs (guest '$g', file '$h')"
fi

line=$(grep '^w: eth0 rx=' $out)
g_rx=$(echo "$line" | sed 's/.* rx=\([0-9]*\).*/\1/')
g_tx=$(echo "$line" | sed 's/.* tx=\([0-9]*\).*/\1/')
g_txb=$(echo "$line" | sed 's/.*tx_bytes=\([0-9]*\).*/\1/')
v_rx=$(field rx_packets /tmp/st.json)
v_tx=$(field tx_packets /tmp/st.json)
v_txb=$(field tx_bytes /tmp/st.json)
v_fdrop=$(field tx_drop_filter /tmp/st.json)
h_rx=$(cat /sys/class/net/xv0/statistics/rx_packets)
h_tx=$(cat /sys/class/net/xv0/statistics/tx_packets)
echo "guest rx=$g_rx tx=$g_tx tx_bytes=$g_txb; VIF rx=$v_rx tx=$v_tx" \
    "tx_bytes=$v_txb (filtered $v_fdrop); tap rx=$h_rx tx=$h_tx"
if [ -n "$g_rx" ] && [ "$g_rx" -ge 6 ] && [ "$g_rx" = "$v_rx" ] &&
    [ "$g_tx" = "$v_tx" ] && [ "$g_txb" = "$v_txb" ] &&
    [ "$h_tx" = "$v_rx" ] && [ "$h_rx" = $((v_tx - v_fdrop)) ]; then
	ok "guest, VIF and tap counters agree: rx $v_rx, tx $v_tx"
else
	fail "the packet counters disagree"
fi
wr=$(field wr_bytes /tmp/st.json)
rd=$(field rd_bytes /tmp/st.json)
echo "VBD wr_bytes=$wr rd_bytes=$rd"
if [ "$wr" = 1048576 ] && [ -n "$rd" ] && [ "$rd" -ge 1048576 ]; then
	ok "the VBD wrote exactly the guest's 1 MiB and read it back"
else
	fail "VBD counters: wr_bytes '$wr' (want 1048576), rd_bytes '$rd'"
fi
bad=$(field bad_mmio /tmp/st.json)
echo "bad MMIO accesses: ${bad:-?}"
[ "$bad" = 0 ] && ok "every MMIO access of the guest hit a virtio-pci BAR" ||
    fail "$bad MMIO accesses hit nothing"
exit $fails
