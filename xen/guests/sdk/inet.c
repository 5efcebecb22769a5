/*
 * The network stack (xeno_inet.h).  Headers are read and written at byte
 * offsets, big-endian, through get/put helpers: frames sit at arbitrary
 * alignment in receive buffers and no packed structs are needed.
 *
 * Every received frame is hostile: every length is checked against what
 * actually arrived before anything it covers is read.
 */
#include "sdk.h"
#include "xeno_inet.h"

/* Ethernet */
#define ETH_DST		0
#define ETH_SRC		6
#define ETH_TYPE	12

/* ARP for IPv4 over Ethernet, after the Ethernet header */
#define ARP_LEN		28
#define ARP_OPER	6
#define ARP_SHA		8
#define ARP_SPA		14
#define ARP_THA		18
#define ARP_TPA		24
#define ARP_REQUEST	1
#define ARP_REPLY	2

/* IPv4 */
#define IP4_VHL		0
#define IP4_TOTLEN	2
#define IP4_ID		4
#define IP4_FRAG	6
#define IP4_TTL		8
#define IP4_PROTO	9
#define IP4_CSUM	10
#define IP4_SRC		12
#define IP4_DST		16
#define IP4_MF_OFFSET	0x3fff	/* more-fragments flag and offset */
#define IP4_TTL_OUT	64
#define IPPROTO_ICMP_	1
#define IPPROTO_UDP_	17
#define IPPROTO_ICMPV6_	58

/* ICMP and UDP */
#define ICMP_TYPE	0
#define ICMP_CSUM	2
#define ICMP_ECHO_REPLY	0
#define ICMP_ECHO	8
#define UDP_SPORT	0
#define UDP_DPORT	2
#define UDP_LEN		4
#define UDP_CSUM	6

/* IPv6 and ICMPv6 */
#define IP6_PLEN	4
#define IP6_NH		6
#define IP6_HLIM	7
#define IP6_SRC		8
#define IP6_DST		24
#define ICMP6_ECHO	128
#define ICMP6_ECHO_REPLY 129
#define ICMP6_NS	135
#define ICMP6_NA	136
#define ICMP6_ND_TARGET	8
#define ICMP6_NA_LEN	32	/* header, flags, target, MAC option */
#define ICMP6_NA_SOLICITED 0x40
#define ICMP6_NA_OVERRIDE 0x20
#define ND_OPT_TARGET_LLADDR 2
#define ND_HOP_LIMIT	255

static const uint8_t inet_bcast[XENO_ETH_ALEN] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};
static const uint8_t inet_ip6_all_nodes[16] = {
	0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
};

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t
xeno_inet_sum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	uint64_t s = sum;

	for (; len >= 2; p += 2, len -= 2)
		s += (uint32_t)(p[0] << 8 | p[1]);
	if (len == 1)
		s += (uint32_t)p[0] << 8;
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)s;
}

uint16_t
xeno_inet_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The IPv4 pseudo-header's share of a UDP checksum. */
static uint32_t
inet_pseudo4(uint32_t src, uint32_t dst, uint8_t proto, uint32_t len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
	    proto + len;
}

static uint32_t
inet_pseudo6(const uint8_t *src, const uint8_t *dst, uint8_t nh,
    uint32_t len)
{
	uint32_t sum = xeno_inet_sum(src, 16, 0);

	sum = xeno_inet_sum(dst, 16, sum);
	return sum + (len >> 16) + (len & 0xffff) + nh;
}

static uint32_t
inet_mask(uint32_t prefix)
{
	return prefix == 0 ? 0 : prefix >= 32 ? 0xffffffff :
	    ~(0xffffffffU >> prefix);
}

/* fe80::/64 with the modified EUI-64 of our MAC (RFC 4291). */
static void
inet_link_local(struct xeno_netif *ni)
{
	memset(ni->ni_ll6, 0, sizeof(ni->ni_ll6));
	ni->ni_ll6[0] = 0xfe;
	ni->ni_ll6[1] = 0x80;
	ni->ni_ll6[8] = ni->ni_mac[0] ^ 0x02;
	ni->ni_ll6[9] = ni->ni_mac[1];
	ni->ni_ll6[10] = ni->ni_mac[2];
	ni->ni_ll6[11] = 0xff;
	ni->ni_ll6[12] = 0xfe;
	ni->ni_ll6[13] = ni->ni_mac[3];
	ni->ni_ll6[14] = ni->ni_mac[4];
	ni->ni_ll6[15] = ni->ni_mac[5];
}

void
xeno_netif_init(struct xeno_netif *ni, struct xeno_net *nd)
{
	const struct xeno_hc_device_info *info = &nd->nd_info;

	memset(ni, 0, sizeof(*ni));
	ni->ni_net = nd;
	memcpy(ni->ni_mac, info->mac, XENO_ETH_ALEN);
	ni->ni_ip = get32(info->ip4);
	ni->ni_prefix = info->ip4_prefix <= 32 ? info->ip4_prefix : 32;
	if (info->ip6_prefix != 0) {
		ni->ni_has_ip6 = 1;
		memcpy(ni->ni_ip6, info->ip6, 16);
	}
	inet_link_local(ni);
	/* Different guests should not start at the same IP id. */
	ni->ni_ip_id = (uint16_t)xeno_rdtsc();
}

void
xeno_netif_args(struct xeno_netif *ni, const char *prog)
{
	const char *s;

	if ((s = xeno_arg_str("ip")) != NULL &&
	    xeno_ip4_parse(s, &ni->ni_ip, &ni->ni_prefix) < 0)
		xeno_abort("%s: ip=%s is not an IPv4 address (A.B.C.D or "
		    "A.B.C.D/PREFIX)", prog, s);
	if ((s = xeno_arg_str("gw")) != NULL &&
	    xeno_ip4_parse(s, &ni->ni_gw, NULL) < 0)
		xeno_abort("%s: gw=%s is not an IPv4 address", prog, s);
	if ((s = xeno_arg_str("mac")) != NULL &&
	    xeno_mac_parse(s, ni->ni_mac) < 0)
		xeno_abort("%s: mac=%s is not a MAC address "
		    "(like 52:54:00:12:34:56)", prog, s);
	inet_link_local(ni);
	if (ni->ni_ip == 0)
		xeno_abort("%s: the VIF has no IPv4 address: give xeno-hv "
		    "--vif ...,ip=A.B.C.D/P or the guest ip=A.B.C.D/P", prog);
}

uint32_t
xeno_ip4_nexthop(const struct xeno_netif *ni, uint32_t ip)
{
	uint32_t mask = inet_mask(ni->ni_prefix);

	if ((ip & mask) == (ni->ni_ip & mask))
		return ip;
	return ni->ni_gw;
}

static struct xeno_arp_entry *
arp_find(const struct xeno_netif *ni, uint32_t ip)
{
	int i;

	for (i = 0; i < XENO_ARP_CACHE; i++)
		if (ni->ni_arp[i].ae_ip == ip && ip != 0)
			return (struct xeno_arp_entry *)&ni->ni_arp[i];
	return NULL;
}

int
xeno_arp_lookup(const struct xeno_netif *ni, uint32_t ip,
    uint8_t mac[XENO_ETH_ALEN])
{
	const struct xeno_arp_entry *ae;

	if ((ae = arp_find(ni, ip)) == NULL)
		return -XENO_ENODEV;
	memcpy(mac, ae->ae_mac, XENO_ETH_ALEN);
	return 0;
}

/* Remembers ip's MAC, replacing the stalest entry when the cache is full. */
static void
arp_learn(struct xeno_netif *ni, uint32_t ip, const uint8_t *mac)
{
	struct xeno_arp_entry *ae;
	int i;

	if (ip == 0 || (mac[0] & 1))	/* no address, or a multicast MAC */
		return;
	if ((ae = arp_find(ni, ip)) == NULL) {
		ae = &ni->ni_arp[0];
		for (i = 1; i < XENO_ARP_CACHE; i++)
			if (ni->ni_arp[i].ae_ns < ae->ae_ns)
				ae = &ni->ni_arp[i];
	}
	ae->ae_ip = ip;
	memcpy(ae->ae_mac, mac, XENO_ETH_ALEN);
	ae->ae_ns = xeno_mono_ns();
}

/* A transmit buffer with our Ethernet header in it, or NULL (counted). */
static uint8_t *
inet_frame(struct xeno_netif *ni, const uint8_t *dst, uint16_t type)
{
	uint8_t *f;

	if ((f = xeno_net_tx_alloc(ni->ni_net)) == NULL) {
		ni->ni_tx_nobuf++;
		return NULL;
	}
	memcpy(f + ETH_DST, dst, XENO_ETH_ALEN);
	memcpy(f + ETH_SRC, ni->ni_mac, XENO_ETH_ALEN);
	put16(f + ETH_TYPE, type);
	return f;
}

static int
inet_queue(struct xeno_netif *ni, uint8_t *f, uint32_t len)
{
	int rc;

	if ((rc = xeno_net_tx_queue(ni->ni_net, f, len)) < 0)
		ni->ni_tx_nobuf++;
	return rc;
}

static int
arp_send(struct xeno_netif *ni, uint16_t oper, const uint8_t *eth_dst,
    const uint8_t *tha, uint32_t tpa)
{
	uint8_t *f, *a;

	if ((f = inet_frame(ni, eth_dst, XENO_ETH_P_ARP)) == NULL)
		return -XENO_ENOSPC;
	a = f + XENO_ETH_HLEN;
	put16(a + 0, 1);		/* Ethernet */
	put16(a + 2, XENO_ETH_P_IP);
	a[4] = XENO_ETH_ALEN;
	a[5] = 4;
	put16(a + ARP_OPER, oper);
	memcpy(a + ARP_SHA, ni->ni_mac, XENO_ETH_ALEN);
	put32(a + ARP_SPA, ni->ni_ip);
	memcpy(a + ARP_THA, tha, XENO_ETH_ALEN);
	put32(a + ARP_TPA, tpa);
	return inet_queue(ni, f, XENO_ETH_HLEN + ARP_LEN);
}

static void
arp_input(struct xeno_netif *ni, const uint8_t *f, uint32_t len)
{
	const uint8_t *a = f + XENO_ETH_HLEN;
	uint32_t spa, tpa;

	if (len < XENO_ETH_HLEN + ARP_LEN || get16(a) != 1 ||
	    get16(a + 2) != XENO_ETH_P_IP || a[4] != XENO_ETH_ALEN ||
	    a[5] != 4) {
		ni->ni_drop_other++;
		return;
	}
	spa = get32(a + ARP_SPA);
	tpa = get32(a + ARP_TPA);
	if (ni->ni_ip == 0 || tpa != ni->ni_ip) {
		/* Keep what we know fresh, but learn no one new (RFC 826). */
		if (arp_find(ni, spa) != NULL)
			arp_learn(ni, spa, a + ARP_SHA);
		return;
	}
	arp_learn(ni, spa, a + ARP_SHA);
	if (get16(a + ARP_OPER) == ARP_REQUEST &&
	    arp_send(ni, ARP_REPLY, a + ARP_SHA, a + ARP_SHA, spa) == 0)
		ni->ni_arp_replied++;
}

/* Our IPv4 header at ip: 20 bytes, no options, checksummed. */
static void
ip4_header(struct xeno_netif *ni, uint8_t *ip, uint8_t proto, uint32_t dst,
    uint32_t payload_len)
{
	ip[IP4_VHL] = 0x45;
	ip[1] = 0;
	put16(ip + IP4_TOTLEN, (uint16_t)(XENO_IP4_HLEN + payload_len));
	put16(ip + IP4_ID, ni->ni_ip_id++);
	put16(ip + IP4_FRAG, 0x4000);	/* don't fragment */
	ip[IP4_TTL] = IP4_TTL_OUT;
	ip[IP4_PROTO] = proto;
	put16(ip + IP4_CSUM, 0);
	put32(ip + IP4_SRC, ni->ni_ip);
	put32(ip + IP4_DST, dst);
	put16(ip + IP4_CSUM, xeno_inet_fold(xeno_inet_sum(ip, XENO_IP4_HLEN,
	    0)));
}

static void
icmp4_input(struct xeno_netif *ni, const uint8_t *f, const uint8_t *ip,
    const uint8_t *icmp, uint32_t len)
{
	uint8_t *r, *ricmp;

	if (len < 8 || xeno_inet_fold(xeno_inet_sum(icmp, len, 0)) != 0) {
		ni->ni_drop_csum++;
		return;
	}
	if (icmp[ICMP_TYPE] != ICMP_ECHO || icmp[1] != 0) {
		ni->ni_drop_other++;
		return;
	}
	/* Our header has no options, so the reply is never longer. */
	if ((r = inet_frame(ni, f + ETH_SRC, XENO_ETH_P_IP)) == NULL)
		return;
	ricmp = r + XENO_ETH_HLEN + XENO_IP4_HLEN;
	memcpy(ricmp, icmp, len);
	ricmp[ICMP_TYPE] = ICMP_ECHO_REPLY;
	put16(ricmp + ICMP_CSUM, 0);
	put16(ricmp + ICMP_CSUM, xeno_inet_fold(xeno_inet_sum(ricmp, len, 0)));
	ip4_header(ni, r + XENO_ETH_HLEN, IPPROTO_ICMP_, get32(ip + IP4_SRC),
	    len);
	if (inet_queue(ni, r, XENO_ETH_HLEN + XENO_IP4_HLEN + len) == 0)
		ni->ni_icmp_echoed++;
}

static int
udp4_input(struct xeno_netif *ni, const uint8_t *f, const uint8_t *ip,
    const uint8_t *udp, uint32_t len, struct xeno_udp_rx *u)
{
	uint32_t ulen;

	if (len < XENO_UDP_HLEN || (ulen = get16(udp + UDP_LEN)) <
	    XENO_UDP_HLEN || ulen > len) {
		ni->ni_drop_other++;
		return 0;
	}
	/* Checksum 0: the sender did not compute one (IPv4 allows that). */
	if (get16(udp + UDP_CSUM) != 0 &&
	    xeno_inet_fold(xeno_inet_sum(udp, ulen, inet_pseudo4(get32(ip +
	    IP4_SRC), get32(ip + IP4_DST), IPPROTO_UDP_, ulen))) != 0) {
		ni->ni_drop_csum++;
		return 0;
	}
	memcpy(u->ur_src_mac, f + ETH_SRC, XENO_ETH_ALEN);
	u->ur_src_ip = get32(ip + IP4_SRC);
	u->ur_dst_ip = get32(ip + IP4_DST);
	u->ur_sport = get16(udp + UDP_SPORT);
	u->ur_dport = get16(udp + UDP_DPORT);
	u->ur_data = udp + XENO_UDP_HLEN;
	u->ur_len = ulen - XENO_UDP_HLEN;
	ni->ni_udp_in++;
	return 1;
}

static int
ip4_input(struct xeno_netif *ni, const uint8_t *f, uint32_t len,
    struct xeno_udp_rx *u)
{
	const uint8_t *ip = f + XENO_ETH_HLEN;
	uint32_t hlen, tot, dst, mask = inet_mask(ni->ni_prefix);

	if (len < XENO_ETH_HLEN + XENO_IP4_HLEN || ip[IP4_VHL] >> 4 != 4 ||
	    (hlen = (ip[IP4_VHL] & 0xf) * 4) < XENO_IP4_HLEN ||
	    (tot = get16(ip + IP4_TOTLEN)) < hlen ||
	    tot > len - XENO_ETH_HLEN) {
		ni->ni_drop_other++;
		return 0;
	}
	if (xeno_inet_fold(xeno_inet_sum(ip, hlen, 0)) != 0) {
		ni->ni_drop_csum++;
		return 0;
	}
	if (get16(ip + IP4_FRAG) & IP4_MF_OFFSET) {
		ni->ni_drop_frag++;
		return 0;
	}
	dst = get32(ip + IP4_DST);
	if (ni->ni_ip == 0 || (dst != ni->ni_ip && dst != 0xffffffff &&
	    (mask == 0xffffffff || dst != (ni->ni_ip | ~mask)))) {
		ni->ni_drop_other++;
		return 0;
	}
	switch (ip[IP4_PROTO]) {
	case IPPROTO_ICMP_:
		/* Broadcast pings go unanswered, as Linux does by default. */
		if (dst == ni->ni_ip)
			icmp4_input(ni, f, ip, ip + hlen, tot - hlen);
		return 0;
	case IPPROTO_UDP_:
		return udp4_input(ni, f, ip, ip + hlen, tot - hlen, u);
	default:
		ni->ni_drop_other++;
		return 0;
	}
}

/* ff02::1:ffXX:XXXX, the solicited-node group of addr. */
static int
ip6_is_solicited(const uint8_t *dst, const uint8_t *addr)
{
	static const uint8_t prefix[13] = {
		0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff,
	};

	return memcmp(dst, prefix, sizeof(prefix)) == 0 &&
	    memcmp(dst + 13, addr + 13, 3) == 0;
}

static int
ip6_is_ours(const struct xeno_netif *ni, const uint8_t *a)
{
	return memcmp(a, ni->ni_ll6, 16) == 0 ||
	    (ni->ni_has_ip6 && memcmp(a, ni->ni_ip6, 16) == 0);
}

/* Our IPv6 header and the ICMPv6 checksum of the len-byte message. */
static void
ip6_finish(uint8_t *ip6, const uint8_t *src, const uint8_t *dst,
    uint8_t hlim, uint32_t len)
{
	uint8_t *icmp = ip6 + XENO_IP6_HLEN;

	put32(ip6, 0x60000000);
	put16(ip6 + IP6_PLEN, (uint16_t)len);
	ip6[IP6_NH] = IPPROTO_ICMPV6_;
	ip6[IP6_HLIM] = hlim;
	memcpy(ip6 + IP6_SRC, src, 16);
	memcpy(ip6 + IP6_DST, dst, 16);
	put16(icmp + ICMP_CSUM, 0);
	put16(icmp + ICMP_CSUM, xeno_inet_fold(xeno_inet_sum(icmp, len,
	    inet_pseudo6(src, dst, IPPROTO_ICMPV6_, len))));
}

static void
nd_advertise(struct xeno_netif *ni, const uint8_t *f, const uint8_t *ip6,
    const uint8_t *target)
{
	static const uint8_t unspecified[16];
	uint8_t all_nodes_mac[XENO_ETH_ALEN] = { 0x33, 0x33, 0, 0, 0, 1 };
	int solicited = memcmp(ip6 + IP6_SRC, unspecified, 16) != 0;
	uint8_t *r, *na;

	r = inet_frame(ni, solicited ? f + ETH_SRC : all_nodes_mac,
	    XENO_ETH_P_IPV6);
	if (r == NULL)
		return;
	na = r + XENO_ETH_HLEN + XENO_IP6_HLEN;
	memset(na, 0, ICMP6_NA_LEN);
	na[ICMP_TYPE] = ICMP6_NA;
	na[4] = (solicited ? ICMP6_NA_SOLICITED : 0) | ICMP6_NA_OVERRIDE;
	memcpy(na + ICMP6_ND_TARGET, target, 16);
	na[24] = ND_OPT_TARGET_LLADDR;
	na[25] = 1;	/* in units of 8 bytes */
	memcpy(na + 26, ni->ni_mac, XENO_ETH_ALEN);
	ip6_finish(r + XENO_ETH_HLEN, target, solicited ? ip6 + IP6_SRC :
	    inet_ip6_all_nodes, ND_HOP_LIMIT, ICMP6_NA_LEN);
	if (inet_queue(ni, r, XENO_ETH_HLEN + XENO_IP6_HLEN +
	    ICMP6_NA_LEN) == 0)
		ni->ni_nd_advertised++;
}

static void
icmp6_echo(struct xeno_netif *ni, const uint8_t *f, const uint8_t *ip6,
    const uint8_t *icmp, uint32_t len)
{
	const uint8_t *src = ip6_is_ours(ni, ip6 + IP6_DST) ? ip6 + IP6_DST :
	    ni->ni_has_ip6 ? ni->ni_ip6 : ni->ni_ll6;
	uint8_t *r, *ricmp;

	if ((r = inet_frame(ni, f + ETH_SRC, XENO_ETH_P_IPV6)) == NULL)
		return;
	ricmp = r + XENO_ETH_HLEN + XENO_IP6_HLEN;
	memcpy(ricmp, icmp, len);
	ricmp[ICMP_TYPE] = ICMP6_ECHO_REPLY;
	ip6_finish(r + XENO_ETH_HLEN, src, ip6 + IP6_SRC, IP4_TTL_OUT, len);
	if (inet_queue(ni, r, XENO_ETH_HLEN + XENO_IP6_HLEN + len) == 0)
		ni->ni_icmp_echoed++;
}

static void
ip6_input(struct xeno_netif *ni, const uint8_t *f, uint32_t len)
{
	const uint8_t *ip6 = f + XENO_ETH_HLEN, *icmp, *dst;
	uint32_t plen;

	if (len < XENO_ETH_HLEN + XENO_IP6_HLEN || ip6[0] >> 4 != 6 ||
	    (plen = get16(ip6 + IP6_PLEN)) > len - XENO_ETH_HLEN -
	    XENO_IP6_HLEN || ip6[IP6_NH] != IPPROTO_ICMPV6_ || plen < 8) {
		ni->ni_drop_other++;	/* extension headers included */
		return;
	}
	dst = ip6 + IP6_DST;
	if (!ip6_is_ours(ni, dst) && memcmp(dst, inet_ip6_all_nodes, 16) != 0 &&
	    !ip6_is_solicited(dst, ni->ni_ll6) &&
	    !(ni->ni_has_ip6 && ip6_is_solicited(dst, ni->ni_ip6))) {
		ni->ni_drop_other++;
		return;
	}
	icmp = ip6 + XENO_IP6_HLEN;
	if (xeno_inet_fold(xeno_inet_sum(icmp, plen, inet_pseudo6(ip6 +
	    IP6_SRC, dst, IPPROTO_ICMPV6_, plen))) != 0) {
		ni->ni_drop_csum++;
		return;
	}
	switch (icmp[ICMP_TYPE]) {
	case ICMP6_NS:
		/* RFC 4861 7.1.1: only from a neighbour, never forwarded. */
		if (ip6[IP6_HLIM] == ND_HOP_LIMIT && icmp[1] == 0 &&
		    plen >= ICMP6_ND_TARGET + 16 &&
		    ip6_is_ours(ni, icmp + ICMP6_ND_TARGET))
			nd_advertise(ni, f, ip6, icmp + ICMP6_ND_TARGET);
		else
			ni->ni_drop_other++;
		break;
	case ICMP6_ECHO:
		if (ip6_is_ours(ni, dst))
			icmp6_echo(ni, f, ip6, icmp, plen);
		break;
	default:
		ni->ni_drop_other++;
		break;
	}
}

int
xeno_netif_input(struct xeno_netif *ni, uint8_t *f, uint32_t len,
    struct xeno_udp_rx *u)
{
	if (len < XENO_ETH_HLEN) {
		ni->ni_drop_other++;
		return 0;
	}
	/* Ours, broadcast, or IPv6 multicast (filtered by address below). */
	if (memcmp(f + ETH_DST, ni->ni_mac, XENO_ETH_ALEN) != 0 &&
	    memcmp(f + ETH_DST, inet_bcast, XENO_ETH_ALEN) != 0 &&
	    !(f[ETH_DST] == 0x33 && f[ETH_DST + 1] == 0x33)) {
		ni->ni_drop_other++;
		return 0;
	}
	switch (get16(f + ETH_TYPE)) {
	case XENO_ETH_P_ARP:
		arp_input(ni, f, len);
		return 0;
	case XENO_ETH_P_IP:
		return ip4_input(ni, f, len, u);
	case XENO_ETH_P_IPV6:
		ip6_input(ni, f, len);
		return 0;
	default:
		ni->ni_drop_other++;
		return 0;
	}
}

void
xeno_netif_flush(struct xeno_netif *ni)
{
	xeno_net_tx_kick(ni->ni_net);
	xeno_net_rx_kick(ni->ni_net);
}

int
xeno_netif_poll(struct xeno_netif *ni, struct xeno_udp_rx *u)
{
	uint8_t *f;
	uint32_t len;

	if (ni->ni_held != NULL) {
		xeno_net_rx_done(ni->ni_net, ni->ni_held);
		ni->ni_held = NULL;
	}
	while ((f = xeno_net_rx_next(ni->ni_net, &len)) != NULL) {
		if (xeno_netif_input(ni, f, len, u)) {
			ni->ni_held = f;
			return 1;
		}
		xeno_net_rx_done(ni->ni_net, f);
	}
	xeno_netif_flush(ni);
	return 0;
}

int
xeno_netif_wait(struct xeno_netif *ni, uint64_t deadline)
{
	struct xeno_vq *vq = &ni->ni_net->nd_rxq;

	return xeno_vq_wait(&vq, 1, deadline);
}

uint32_t
xeno_udp_build(struct xeno_netif *ni, uint8_t *f,
    const uint8_t dst_mac[XENO_ETH_ALEN], uint32_t dst_ip, uint16_t sport,
    uint16_t dport, uint32_t payload_len)
{
	uint8_t *udp = f + XENO_ETH_HLEN + XENO_IP4_HLEN;
	uint32_t ulen = XENO_UDP_HLEN + payload_len;
	uint16_t csum;

	memcpy(f + ETH_DST, dst_mac, XENO_ETH_ALEN);
	memcpy(f + ETH_SRC, ni->ni_mac, XENO_ETH_ALEN);
	put16(f + ETH_TYPE, XENO_ETH_P_IP);
	ip4_header(ni, f + XENO_ETH_HLEN, IPPROTO_UDP_, dst_ip, ulen);
	put16(udp + UDP_SPORT, sport);
	put16(udp + UDP_DPORT, dport);
	put16(udp + UDP_LEN, (uint16_t)ulen);
	put16(udp + UDP_CSUM, 0);
	csum = xeno_inet_fold(xeno_inet_sum(udp, ulen, inet_pseudo4(ni->ni_ip,
	    dst_ip, IPPROTO_UDP_, ulen)));
	/* 0 would mean "no checksum": send its other form. */
	put16(udp + UDP_CSUM, csum == 0 ? 0xffff : csum);
	return XENO_UDP_PAYLOAD_OFF + payload_len;
}

int
xeno_udp_send(struct xeno_netif *ni, const uint8_t dst_mac[XENO_ETH_ALEN],
    uint32_t dst_ip, uint16_t sport, uint16_t dport, const void *data,
    uint32_t len)
{
	uint8_t *f;

	if (len > XENO_UDP_PAYLOAD_MAX)
		return -XENO_E2BIG;
	if ((f = xeno_net_tx_alloc(ni->ni_net)) == NULL) {
		ni->ni_tx_nobuf++;
		return -XENO_ENOSPC;
	}
	memcpy(f + XENO_UDP_PAYLOAD_OFF, data, len);
	return inet_queue(ni, f, xeno_udp_build(ni, f, dst_mac, dst_ip, sport,
	    dport, len));
}

int
xeno_udp_reply(struct xeno_netif *ni, const struct xeno_udp_rx *u,
    const void *data, uint32_t len)
{
	return xeno_udp_send(ni, u->ur_src_mac, u->ur_src_ip, u->ur_dport,
	    u->ur_sport, data, len);
}

int
xeno_arp_resolve(struct xeno_netif *ni, uint32_t ip,
    uint8_t mac[XENO_ETH_ALEN], uint64_t timeout_ns)
{
	static const uint8_t zero_mac[XENO_ETH_ALEN];
	uint64_t now = xeno_mono_ns(), deadline = now + timeout_ns, retry;
	struct xeno_udp_rx u;
	uint32_t hop;
	int rc;

	if (ni->ni_ip == 0 || (hop = xeno_ip4_nexthop(ni, ip)) == 0)
		return -XENO_EINVAL;
	while (xeno_arp_lookup(ni, hop, mac) != 0) {
		if ((now = xeno_mono_ns()) >= deadline)
			return -XENO_EAGAIN;
		arp_send(ni, ARP_REQUEST, inet_bcast, zero_mac, hop);
		xeno_netif_flush(ni);
		retry = deadline - now < XENO_ARP_RETRY_NS ? deadline :
		    now + XENO_ARP_RETRY_NS;
		while (xeno_arp_lookup(ni, hop, mac) != 0 &&
		    xeno_mono_ns() < retry) {
			while (xeno_netif_poll(ni, &u))
				;	/* not the time for datagrams */
			if (xeno_arp_lookup(ni, hop, mac) == 0)
				break;
			if ((rc = xeno_netif_wait(ni, retry)) < 0)
				return rc;
		}
	}
	return 0;
}

int
xeno_ip4_parse(const char *s, uint32_t *ip, uint32_t *prefix)
{
	uint32_t v = 0, part, n;
	int i;

	for (i = 0; i < 4; i++) {
		if (*s < '0' || *s > '9')
			return -XENO_EINVAL;
		for (part = 0, n = 0; *s >= '0' && *s <= '9'; s++, n++)
			if ((part = part * 10 + (*s - '0')) > 255 || n >= 3)
				return -XENO_EINVAL;
		v = v << 8 | part;
		if (i < 3 && *s++ != '.')
			return -XENO_EINVAL;
	}
	if (*s == '/' && prefix != NULL) {
		for (s++, part = 0, n = 0; *s >= '0' && *s <= '9'; s++, n++)
			if ((part = part * 10 + (*s - '0')) > 32 || n >= 2)
				return -XENO_EINVAL;
		if (n == 0)
			return -XENO_EINVAL;
		*prefix = part;
	}
	if (*s != '\0')
		return -XENO_EINVAL;
	*ip = v;
	return 0;
}

static int
inet_hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
xeno_mac_parse(const char *s, uint8_t mac[XENO_ETH_ALEN])
{
	int i, hi, lo;

	for (i = 0; i < XENO_ETH_ALEN; i++) {
		if ((hi = inet_hexdigit(s[0])) < 0 ||
		    (lo = inet_hexdigit(s[1])) < 0)
			return -XENO_EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (*s == (i < XENO_ETH_ALEN - 1 ? ':' : '\0'))
			s++;
		else
			return -XENO_EINVAL;
	}
	return 0;
}

char *
xeno_ip4_fmt(uint32_t ip, char buf[XENO_IP4_STR])
{
	xeno_snprintf(buf, XENO_IP4_STR, "%u.%u.%u.%u", ip >> 24,
	    (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
	return buf;
}

char *
xeno_mac_fmt(const uint8_t mac[XENO_ETH_ALEN], char buf[XENO_MAC_STR])
{
	xeno_snprintf(buf, XENO_MAC_STR, "%02x:%02x:%02x:%02x:%02x:%02x",
	    mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return buf;
}
