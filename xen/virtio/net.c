/*
 * The VIF backend (net.h): option parsing, the tap device, and the copies
 * between guest buffers and host frames.  The loops that drive them from
 * the queues live in xen/vif.c.
 *
 * Frames are copied, never handed to the tap from guest memory: the guest
 * may rewrite its buffers at any time, and the firewall must judge the
 * bytes that are actually sent.
 */
#include <sys/ioctl.h>

#include <linux/if.h>
#include <linux/if_tun.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xen.h"		/* opts_parse_scaled */
#include "xeno/log.h"
#include "xeno/pv.h"
#include "virtio/net.h"

#define NET_ERR(...)	err_set(err, errsz, EINVAL, __VA_ARGS__)

/* The n bytes at s as a count (opts_parse_scaled: K, M, G...; bare is units). */
static int
net_parse_count(const char *s, size_t n, uint64_t *out)
{
	char buf[32];

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return opts_parse_scaled(buf, 0, out);
}

/* SIZE:REFILL_MS[:BURST] */
static int
net_parse_rate(const char *s, size_t n, struct net_rate *r)
{
	const char *c1, *c2, *end = s + n;

	c1 = memchr(s, ':', n);
	if (c1 == NULL)
		return -1;
	c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
	if (net_parse_count(s, (size_t)(c1 - s), &r->nr_size) == -1 ||
	    net_parse_count(c1 + 1, (size_t)((c2 ? c2 : end) - c1 - 1),
	    &r->nr_refill_ms) == -1)
		return -1;
	r->nr_burst = 0;
	if (c2 != NULL && net_parse_count(c2 + 1, (size_t)(end - c2 - 1),
	    &r->nr_burst) == -1)
		return -1;
	if (r->nr_size == 0 || r->nr_refill_ms == 0 ||
	    r->nr_refill_ms > 3600 * 1000)
		return -1;
	return 0;
}

static int
net_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
net_parse_mac(const char *s, size_t n, uint8_t mac[6])
{
	unsigned int i;
	int hi, lo;

	if (n != 17)
		return -1;
	for (i = 0; i < 6; i++) {
		if (i > 0 && s[3 * i - 1] != ':')
			return -1;
		hi = net_hex(s[3 * i]);
		lo = net_hex(s[3 * i + 1]);
		if (hi == -1 || lo == -1)
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	/* a guest's unicast address: no multicast bit, not all zero */
	if (mac[0] & 1)
		return -1;
	if ((mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0)
		return -1;
	return 0;
}

/* ADDR/PREFIX for family af (AF_INET, AF_INET6). */
static int
net_parse_prefix(int af, const char *s, size_t n, uint8_t *addr,
    uint8_t *prefix)
{
	char buf[64];
	const char *slash;
	unsigned int max = af == AF_INET ? 32 : 128;
	uint64_t p;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	slash = strchr(buf, '/');
	if (slash == NULL)
		p = max;
	else if (net_parse_count(slash + 1, strlen(slash + 1), &p) == -1 ||
	    p == 0 || p > max)
		return -1;
	if (slash != NULL)
		buf[slash - buf] = '\0';
	if (inet_pton(af, buf, addr) != 1)
		return -1;
	*prefix = (uint8_t)p;
	return 0;
}

/* FNV-1a, for a stable default MAC derived from the tap name. */
static uint32_t
net_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

int
net_parse(const char *spec, struct net_config *nc, char *err, size_t errsz)
{
	static const char *const rates[] = {
		"rx-bytes", "tx-bytes", "rx-pkts", "tx-pkts",
	};
	const char *p = spec, *comma, *eq;
	size_t len, klen, vlen, i;
	int have_mac = 0, have_if = 0;
	uint64_t fd;
	uint32_t h;

	memset(nc, 0, sizeof(*nc));
	nc->nc_fd = -1;
	nc->nc_flows = NET_FLOWS_DEFAULT;
	while (*p != '\0') {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		eq = memchr(p, '=', len);
		if (eq == NULL)
			return NET_ERR("--vif: '%.*s' is not key=value "
			    "(keys: tap, fd, mac, ip, ip6, rx-bytes, tx-bytes, "
			    "rx-pkts, tx-pkts, flows)", (int)len, p);
		klen = (size_t)(eq - p);
		vlen = len - klen - 1;
#define KEY(k)	(klen == strlen(k) && strncmp(p, (k), klen) == 0)
		if (KEY("tap")) {
			if (have_if)
				return NET_ERR("--vif: give one tap= or fd=");
			if (vlen == 0 || vlen >= NET_IFNAMSIZ)
				return NET_ERR("--vif: tap name must be 1 to "
				    "%d characters", NET_IFNAMSIZ - 1);
			for (i = 0; i < vlen; i++)
				if (eq[1 + i] == '/' || eq[1 + i] == ':' ||
				    eq[1 + i] <= ' ' || eq[1 + i] >= 0x7f)
					return NET_ERR("--vif: tap name "
					    "'%.*s' has a character interfaces "
					    "cannot have", (int)vlen, eq + 1);
			memcpy(nc->nc_tap, eq + 1, vlen);
			have_if = 1;
		} else if (KEY("fd")) {
			if (have_if)
				return NET_ERR("--vif: give one tap= or fd=");
			if (net_parse_count(eq + 1, vlen, &fd) == -1 ||
			    fd < 3 || fd > 65535 || eq[vlen] < '0' ||
			    eq[vlen] > '9')
				return NET_ERR("--vif: fd '%.*s' is not an "
				    "open descriptor number (3 or more)",
				    (int)vlen, eq + 1);
			nc->nc_fd = (int)fd;
			have_if = 1;
		} else if (KEY("mac")) {
			if (net_parse_mac(eq + 1, vlen, nc->nc_mac) == -1)
				return NET_ERR("--vif: mac '%.*s' is not a "
				    "unicast address like 52:54:00:12:34:56",
				    (int)vlen, eq + 1);
			have_mac = 1;
		} else if (KEY("ip")) {
			if (net_parse_prefix(AF_INET, eq + 1, vlen,
			    nc->nc_ip4, &nc->nc_ip4_prefix) == -1)
				return NET_ERR("--vif: ip '%.*s' is not "
				    "ADDRESS/PREFIX like 10.0.0.2/24",
				    (int)vlen, eq + 1);
		} else if (KEY("ip6")) {
			if (net_parse_prefix(AF_INET6, eq + 1, vlen,
			    nc->nc_ip6, &nc->nc_ip6_prefix) == -1)
				return NET_ERR("--vif: ip6 '%.*s' is not "
				    "ADDRESS/PREFIX like fd00::2/64",
				    (int)vlen, eq + 1);
		} else if (KEY("flows")) {
			if (net_parse_count(eq + 1, vlen, &fd) == -1 ||
			    fd < NET_FLOWS_MIN || fd > NET_FLOWS_MAX)
				return NET_ERR("--vif: flows '%.*s' is not a "
				    "number from %d to %d", (int)vlen, eq + 1,
				    NET_FLOWS_MIN, NET_FLOWS_MAX);
			nc->nc_flows = (uint32_t)fd;
		} else {
			for (i = 0; i < 4; i++)
				if (KEY(rates[i]))
					break;
			if (i == 4)
				return NET_ERR("--vif: unknown key '%.*s' "
				    "(keys: tap, fd, mac, ip, ip6, rx-bytes, "
				    "tx-bytes, rx-pkts, tx-pkts, flows)", (int)klen,
				    p);
			if (net_parse_rate(eq + 1, vlen, i < 2 ?
			    &nc->nc_bytes[i] : &nc->nc_pkts[i - 2]) == -1)
				return NET_ERR("--vif: %s '%.*s' is not "
				    "SIZE:REFILL_MS[:BURST] (e.g. 1M:100 for "
				    "10 MiB/s)", rates[i], (int)vlen, eq + 1);
		}
#undef KEY
		p += len;
		if (*p == ',')
			p++;
	}
	if (!have_if)
		return NET_ERR("--vif needs tap=NAME (or fd=N, a tap "
		    "descriptor handed over)");
	if (!have_mac) {
		/* stable per tap name; locally administered, unicast */
		h = net_hash(nc->nc_tap[0] ? nc->nc_tap : "fd");
		nc->nc_mac[0] = 0x52;
		nc->nc_mac[1] = 0x54;
		nc->nc_mac[2] = 0x00;
		nc->nc_mac[3] = (uint8_t)(h >> 16);
		nc->nc_mac[4] = (uint8_t)(h >> 8);
		nc->nc_mac[5] = (uint8_t)h;
	}
	return 0;
}

static void
net_rate_init(struct rl_bucket *b, const struct net_rate *r, uint64_t now)
{
	rl_bucket_init(b, r->nr_size, r->nr_refill_ms * 1000000ULL,
	    r->nr_burst, now);
}

static uint64_t
net_rate_per_s(const struct net_rate *r)
{
	return r->nr_size == 0 ? 0 : r->nr_size * 1000 / r->nr_refill_ms;
}

int
net_open(struct net_dev *nd, const struct net_config *nc, uint64_t now,
    char *err, size_t errsz)
{
	struct xeno_stats_net *s = &nd->nd_stats;
	struct ifreq ifr;
	int fd, fl, d;

	memset(nd, 0, offsetof(struct net_dev, nd_rxbuf));
	nd->nd_cfg = *nc;
	nd->nd_tap = -1;
	memset(&ifr, 0, sizeof(ifr));
	if (nc->nc_fd != -1) {
		fd = nc->nc_fd;
		if (ioctl(fd, TUNGETIFF, &ifr) == -1)
			return err_set(err, errsz, errno, "--vif fd=%d is not "
			    "a tap device", fd);
		if ((ifr.ifr_flags & (IFF_TAP | IFF_TUN)) != IFF_TAP ||
		    !(ifr.ifr_flags & IFF_NO_PI) ||
		    (ifr.ifr_flags & IFF_VNET_HDR))
			return err_set(err, errsz, EINVAL, "--vif fd=%d: "
			    "need a tap opened with IFF_TAP|IFF_NO_PI and no "
			    "IFF_VNET_HDR", fd);
		fl = fcntl(fd, F_GETFL);
		if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
			return err_set(err, errsz, errno, "--vif fd=%d", fd);
		memcpy(nd->nd_cfg.nc_tap, ifr.ifr_name, NET_IFNAMSIZ - 1);
	} else {
		fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd == -1)
			return err_set(err, errsz, errno, "--vif tap=%s: "
			    "/dev/net/tun", nc->nc_tap);
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
		memcpy(ifr.ifr_name, nc->nc_tap, NET_IFNAMSIZ - 1);
		if (ioctl(fd, TUNSETIFF, &ifr) == -1) {
			err_set(err, errsz, errno, "--vif tap=%s: cannot "
			    "create or attach the tap device (needs "
			    "CAP_NET_ADMIN, or a persistent tap this user "
			    "owns)", nc->nc_tap);
			close(fd);
			return -1;
		}
	}
	nd->nd_tap = fd;
	for (d = NET_RX; d <= NET_TX; d++) {
		net_rate_init(&nd->nd_rl[d].rl_bytes, &nc->nc_bytes[d], now);
		net_rate_init(&nd->nd_rl[d].rl_pkts, &nc->nc_pkts[d], now);
	}
	memcpy(s->sn_mac, nc->nc_mac, 6);
	s->sn_mtu = NET_MTU;
	memcpy(s->sn_ip4, nc->nc_ip4, 4);
	s->sn_ip4_prefix = nc->nc_ip4_prefix;
	memcpy(s->sn_ip6, nc->nc_ip6, 16);
	s->sn_ip6_prefix = nc->nc_ip6_prefix;
	memcpy(s->sn_tap, nd->nd_cfg.nc_tap, sizeof(s->sn_tap) - 1);
	s->sn_rl_rx_bytes_per_s = net_rate_per_s(&nc->nc_bytes[NET_RX]);
	s->sn_rl_rx_pkts_per_s = net_rate_per_s(&nc->nc_pkts[NET_RX]);
	s->sn_rl_tx_bytes_per_s = net_rate_per_s(&nc->nc_bytes[NET_TX]);
	s->sn_rl_tx_pkts_per_s = net_rate_per_s(&nc->nc_pkts[NET_TX]);
	return 0;
}

void
net_close(struct net_dev *nd)
{
	if (nd->nd_tap != -1)
		close(nd->nd_tap);
	nd->nd_tap = -1;
}

size_t
net_tx_copy(struct net_dev *nd, const struct vq_req *req)
{
	uint64_t skip = NET_VHDR, n;
	size_t len;
	unsigned int i;

	/* header + a frame of 14..1514 bytes, nothing device-writable */
	if (req->vr_in_len != 0 || req->vr_out_len < NET_VHDR +
	    NET_FRAME_MIN || req->vr_out_len > NET_VHDR + NET_FRAME_MAX) {
		nd->nd_stats.sn_tx_errors++;
		return 0;
	}
	len = (size_t)(req->vr_out_len - NET_VHDR);
	n = 0;
	for (i = 0; i < req->vr_nseg; i++) {
		const struct vq_seg *sg = &req->vr_seg[i];
		uint64_t off = 0, c;

		if (skip >= sg->vs_len) {
			skip -= sg->vs_len;
			continue;
		}
		off = skip;
		skip = 0;
		c = sg->vs_len - off;
		memcpy(nd->nd_txbuf + n, (uint8_t *)sg->vs_base + off, c);
		n += c;
	}
	return len;
}

uint32_t
net_rx_copy(struct net_dev *nd, const struct vq_req *req)
{
	static const struct xeno_virtio_net_hdr hdr = { .num_buffers = 1 };
	size_t want = NET_VHDR + nd->nd_rx_len, done = 0, c;
	unsigned int i;

	if (req->vr_out_len != 0) {
		nd->nd_stats.sn_rx_errors++;
		return 0;
	}
	if (req->vr_in_len < want) {
		nd->nd_stats.sn_rx_drop_no_buffer++;
		return 0;
	}
	for (i = 0; i < req->vr_nseg && done < want; i++) {
		const struct vq_seg *sg = &req->vr_seg[i];
		uint8_t *dst = sg->vs_base;
		size_t room = sg->vs_len;

		if (done < NET_VHDR) {
			c = NET_VHDR - done < room ? NET_VHDR - done : room;
			memcpy(dst, (const uint8_t *)&hdr + done, c);
			done += c;
			dst += c;
			room -= c;
		}
		if (done >= NET_VHDR && room > 0) {
			c = want - done < room ? want - done : room;
			memcpy(dst, nd->nd_rxbuf + (done - NET_VHDR), c);
			done += c;
		}
	}
	return (uint32_t)want;
}
