/*
 * virtio/ratelimit.c and virtio/net.c without a tap: token buckets under a
 * fake clock (long-run rate exact, burst once, giants pass, no drift over
 * many small steps), --vif parsing (every field and its errors), and the
 * frame copies between guest chains and host buffers (header skipped on
 * transmit, written on receive, short chains refused and counted).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "xeno/pv.h"
#include "virtio/net.h"

#define MS	1000000ULL
#define S	1000000000ULL

static void
test_bucket(void)
{
	struct rl rl;
	uint64_t t = 1000 * S, sent = 0, end;
	int i;

	/* 1 MiB refilled every 100 ms: 10 MiB/s; starts full */
	memset(&rl, 0, sizeof(rl));
	rl_bucket_init(&rl.rl_bytes, 1 << 20, 100 * MS, 0, t);
	CHECK(rl_enabled(&rl));
	CHECK(rl_take(&rl, 1 << 20, t));
	CHECK(!rl_take(&rl, 1, t));
	CHECK_EQ(rl_wait_ns(&rl, 1000, t), 1000ULL * 100 * MS / (1 << 20) + 1);
	/* half the refill time gives half the bucket */
	CHECK(rl_take(&rl, 1 << 19, t + 50 * MS));
	CHECK(!rl_take(&rl, 1, t + 50 * MS));
	/* idle for long: never more than a full bucket */
	CHECK(rl_take(&rl, 1 << 20, t + 10 * S));
	CHECK(!rl_take(&rl, 1, t + 10 * S));

	/* 1500-byte frames for 5 s at 10 MiB/s: within one bucket */
	t += 20 * S;
	rl_bucket_init(&rl.rl_bytes, 1 << 20, 100 * MS, 0, t);
	end = t + 5 * S;
	while (t < end) {
		if (rl_take(&rl, 1500, t))
			sent += 1500;
		else
			t += rl_wait_ns(&rl, 1500, t);
	}
	CHECK(sent >= 50ULL * (1 << 20) && sent <= 51ULL * (1 << 20) + 1500);

	/* many tiny steps add up exactly: 3 tokens per 1 s, 1 ns steps */
	memset(&rl, 0, sizeof(rl));
	rl_bucket_init(&rl.rl_pkts, 3, 1 * S, 0, 0);
	CHECK(rl_take(&rl, 0, 0) && rl_take(&rl, 0, 0) && rl_take(&rl, 0, 0));
	CHECK(!rl_take(&rl, 0, 0));
	for (i = 1; i < 1000; i++)
		CHECK(!rl_take(&rl, 0, (uint64_t)i));
	CHECK(!rl_take(&rl, 0, S / 3 - 1));
	CHECK(rl_take(&rl, 0, S / 3 + 1));

	/* one-time burst is spent first and never comes back */
	memset(&rl, 0, sizeof(rl));
	rl_bucket_init(&rl.rl_bytes, 1000, 1 * S, 5000, 0);
	CHECK(rl_take(&rl, 5000, 0));
	CHECK(rl_take(&rl, 1000, 0));
	CHECK(!rl_take(&rl, 1, 0));
	CHECK(rl_take(&rl, 1000, 10 * S));
	CHECK(!rl_take(&rl, 1, 10 * S));

	/* a frame bigger than the bucket passes when the bucket is full */
	memset(&rl, 0, sizeof(rl));
	rl_bucket_init(&rl.rl_bytes, 1000, 1 * S, 0, 0);
	CHECK(rl_take(&rl, 1500, 0));
	CHECK(!rl_take(&rl, 1500, S / 2));
	CHECK(rl_take(&rl, 1500, S));

	/* both buckets must agree; nothing is taken from either if not */
	memset(&rl, 0, sizeof(rl));
	rl_bucket_init(&rl.rl_bytes, 10000, 1 * S, 0, 0);
	rl_bucket_init(&rl.rl_pkts, 2, 1 * S, 0, 0);
	CHECK(rl_take(&rl, 100, 0) && rl_take(&rl, 100, 0));
	CHECK(!rl_take(&rl, 100, 0));
	/* the refused take left the byte bucket untouched */
	CHECK(rl.rl_bytes.rb_scaled == (unsigned __int128)9800 * S);
	CHECK(!rl_enabled(&(struct rl){ 0 }));
}

static void
test_parse(void)
{
	static const char *const bad[] = {
		"", "mac=52:54:00:12:34:56", "tap=", "tap=a,fd=4",
		"tap=0123456789abcdef", "tap=a/b", "tap=a b", "fd=2", "fd=x",
		"tap=t,mac=01:00:00:00:00:01", "tap=t,mac=00:00:00:00:00:00",
		"tap=t,mac=52:54:00:12:34", "tap=t,mac=52-54-00-12-34-56",
		"tap=t,mac=52:54:00:12:34:5g", "tap=t,ip=10.0.0.300/24",
		"tap=t,ip=10.0.0.2/33", "tap=t,ip=10.0.0.2/0", "tap=t,ip6=fd00::2/129",
		"tap=t,ip6=zz::1", "tap=t,tx-bytes=1M", "tap=t,tx-bytes=0:100",
		"tap=t,tx-bytes=1M:0", "tap=t,rx-pkts=10:100:x", "tap=t,speed=1",
		"tap=t,noval", "tap=t,tx-bytes=1X:100",
		"tap=t,tx-bytes=99999999999999999999:1",
	};
	struct net_config nc;
	char err[256];
	size_t i;

	CHECK(net_parse("tap=xv1.0,mac=52:54:00:12:34:56,ip=10.0.0.2/24,"
	    "ip6=fd00::2/64,tx-bytes=1M:100,rx-pkts=1000:1000:500", &nc, err,
	    sizeof(err)) == 0);
	CHECK(strcmp(nc.nc_tap, "xv1.0") == 0);
	CHECK(nc.nc_fd == -1);
	CHECK(memcmp(nc.nc_mac, "\x52\x54\x00\x12\x34\x56", 6) == 0);
	CHECK(memcmp(nc.nc_ip4, "\x0a\x00\x00\x02", 4) == 0);
	CHECK_EQ(nc.nc_ip4_prefix, 24);
	CHECK_EQ(nc.nc_ip6_prefix, 64);
	CHECK_EQ(nc.nc_ip6[0], 0xfd);
	CHECK_EQ(nc.nc_ip6[15], 2);
	CHECK_EQ(nc.nc_bytes[NET_TX].nr_size, 1 << 20);
	CHECK_EQ(nc.nc_bytes[NET_TX].nr_refill_ms, 100);
	CHECK_EQ(nc.nc_bytes[NET_RX].nr_size, 0);
	CHECK_EQ(nc.nc_pkts[NET_RX].nr_size, 1000);
	CHECK_EQ(nc.nc_pkts[NET_RX].nr_burst, 500);

	/* default MAC: stable, unicast, locally administered prefix */
	CHECK(net_parse("tap=t0", &nc, err, sizeof(err)) == 0);
	CHECK(nc.nc_mac[0] == 0x52 && nc.nc_mac[1] == 0x54);
	CHECK_EQ(nc.nc_ip4_prefix, 0);
	CHECK(net_parse("fd=7,ip=192.168.1.9", &nc, err, sizeof(err)) == 0);
	CHECK_EQ(nc.nc_fd, 7);
	CHECK_EQ(nc.nc_ip4_prefix, 32);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (net_parse(bad[i], &nc, err, sizeof(err)) != -1)
			fprintf(stderr, "accepted: '%s'\n", bad[i]);
		CHECK(net_parse(bad[i], &nc, err, sizeof(err)) == -1);
		CHECK(strncmp(err, "--vif", 5) == 0);
	}
}

static void
test_copy(void)
{
	static struct net_dev nd;
	uint8_t a[5], b[40], c[2000], frame[64];
	struct xeno_virtio_net_hdr h;
	struct vq_req req;
	unsigned int i;

	for (i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7 + 1);
	/* transmit: header split over two buffers, frame over two */
	memset(&req, 0, sizeof(req));
	memset(a, 0xee, sizeof(a));
	memcpy(b, "\xee\xee\xee\xee\xee\xee\xee", 7);
	memcpy(b + 7, frame, 33);
	memcpy(c, frame + 33, 31);
	req.vr_nseg = 3;
	req.vr_seg[0] = (struct vq_seg){ a, 5, 0 };
	req.vr_seg[1] = (struct vq_seg){ b, 40, 0 };
	req.vr_seg[2] = (struct vq_seg){ c, 31, 0 };
	req.vr_out_len = 76;
	CHECK_EQ(net_tx_copy(&nd, &req), 64);
	CHECK(memcmp(nd.nd_txbuf, frame, 64) == 0);
	/* runt, giant and writable buffers are errors */
	req.vr_out_len = NET_VHDR + 13;
	CHECK_EQ(net_tx_copy(&nd, &req), 0);
	req.vr_out_len = NET_VHDR + NET_FRAME_MAX + 1;
	CHECK_EQ(net_tx_copy(&nd, &req), 0);
	req.vr_out_len = 76;
	req.vr_in_len = 1;
	CHECK_EQ(net_tx_copy(&nd, &req), 0);
	CHECK_EQ(nd.nd_stats.sn_tx_errors, 3);

	/* receive: header written as zeros (num_buffers 1), frame after */
	memcpy(nd.nd_rxbuf, frame, 64);
	nd.nd_rx_len = 64;
	memset(&req, 0, sizeof(req));
	memset(a, 0xaa, sizeof(a));
	memset(c, 0xaa, sizeof(c));
	req.vr_nseg = 2;
	req.vr_seg[0] = (struct vq_seg){ a, 5, 1 };
	req.vr_seg[1] = (struct vq_seg){ c, 2000, 1 };
	req.vr_in_len = 2005;
	CHECK_EQ(net_rx_copy(&nd, &req), NET_VHDR + 64);
	memcpy(&h, a, 5);
	memcpy((uint8_t *)&h + 5, c, NET_VHDR - 5);
	CHECK_EQ(h.num_buffers, 1);
	CHECK(h.flags == 0 && h.gso_type == 0 && h.hdr_len == 0);
	CHECK(memcmp(c + NET_VHDR - 5, frame, 64) == 0);
	CHECK_EQ(c[NET_VHDR - 5 + 64], 0xaa);
	/* too small a chain: dropped and counted; readable part: error */
	req.vr_in_len = NET_VHDR + 63;
	CHECK_EQ(net_rx_copy(&nd, &req), 0);
	CHECK_EQ(nd.nd_stats.sn_rx_drop_no_buffer, 1);
	req.vr_in_len = 2005;
	req.vr_out_len = 1;
	CHECK_EQ(net_rx_copy(&nd, &req), 0);
	CHECK_EQ(nd.nd_stats.sn_rx_errors, 1);
}

int
main(void)
{
	test_bucket();
	test_parse();
	test_copy();
	return t_done("test_net");
}
