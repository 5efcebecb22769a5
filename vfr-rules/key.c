/*
 * From an Ethernet frame to the key the classifier, anti-spoofing and
 * connection tracking look at.  The frame is hostile (either direction):
 * every read is bounded by what the headers claim AND by the frame's
 * length, and a header that does not parse leaves VFR_NONE behind instead
 * of failing.
 */
#include <string.h>

#include "vfr.h"

#define ETH_HLEN	14
#define ETH_P_IP	0x0800
#define ETH_P_ARP	0x0806
#define ETH_P_IPV6	0x86dd
#define ETH_P_8021Q	0x8100
#define ETH_P_8021AD	0x88a8

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint64_t
be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void
vfr_addr_ip4(struct vfr_addr *a, const uint8_t *p)
{
	a->a_hi = 0;
	a->a_lo = 0xffff00000000ULL | (uint64_t)p[0] << 24 |
	    (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
}

void
vfr_addr_ip6(struct vfr_addr *a, const uint8_t *p)
{
	a->a_hi = be64(p);
	a->a_lo = be64(p + 8);
}

void
vfr_addr_bytes(const struct vfr_addr *a, uint8_t *p)
{
	int i;

	for (i = 0; i < 8; i++) {
		p[i] = (uint8_t)(a->a_hi >> (56 - 8 * i));
		p[8 + i] = (uint8_t)(a->a_lo >> (56 - 8 * i));
	}
}

static int
has_ports(unsigned proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 136;
}

/* ICMP error types that quote the offending packet's header */
static int
icmp_error(int v6, unsigned type)
{
	if (v6)
		return type >= 1 && type <= 4;
	return type == 3 || type == 4 || type == 5 || type == 11 ||
	    type == 12;
}

static int
icmp_echo(int v6, unsigned type)
{
	if (v6)
		return type == 128 || type == 129;
	return type == 0 || type == 8;
}

/*
 * Skip IPv6 extension headers from *nh at p[*off], within len.  Sets *frag
 * for a non-first fragment.  0, or -1 if a header is cut short.
 */
static int
ip6_skip(const uint8_t *p, size_t len, size_t *off, unsigned *nh, int *frag)
{
	int n;

	*frag = 0;
	for (n = 0; n < 8; n++) {
		switch (*nh) {
		case 0:		/* hop-by-hop */
		case 43:	/* routing */
		case 60:	/* destination options */
			if (len - *off < 8)
				return -1;
			*nh = p[*off];
			*off += (size_t)(p[*off + 1] + 1) * 8;
			break;
		case 51:	/* AH */
			if (len - *off < 8)
				return -1;
			*nh = p[*off];
			*off += (size_t)(p[*off + 1] + 2) * 4;
			break;
		case 44:	/* fragment */
			if (len - *off < 8)
				return -1;
			*nh = p[*off];
			if ((be16(p + *off + 2) >> 3) != 0)
				*frag = 1;
			*off += 8;
			break;
		default:
			return 0;
		}
		if (*off > len)
			return -1;
	}
	return 0;	/* give up after 8: what follows is opaque */
}

/*
 * The header an ICMP error quotes, at p[off..len): enough to find the
 * flow it is about.  Best effort: quoted packets are often cut short.
 */
static void
inner(struct vfr_key *k, const uint8_t *p, size_t len, size_t off, int v6)
{
	unsigned proto;
	size_t hl;
	int frag;

	if (!v6) {
		if (len - off < 20 || (p[off] >> 4) != 4 ||
		    (hl = (size_t)(p[off] & 0xf) * 4) < 20 || len - off < hl)
			return;
		vfr_addr_ip4(&k->k_inner_src, p + off + 12);
		vfr_addr_ip4(&k->k_inner_dst, p + off + 16);
		proto = p[off + 9];
		frag = (be16(p + off + 6) & 0x1fff) != 0;
		off += hl;
	} else {
		if (len - off < 40 || (p[off] >> 4) != 6)
			return;
		vfr_addr_ip6(&k->k_inner_src, p + off + 8);
		vfr_addr_ip6(&k->k_inner_dst, p + off + 24);
		proto = p[off + 6];
		off += 40;
		if (ip6_skip(p, len, &off, &proto, &frag) != 0)
			return;
	}
	if (frag)
		return;
	if (has_ports(proto)) {
		if (len - off < 4)
			return;
		k->k_inner_sport = be16(p + off);
		k->k_inner_dport = be16(p + off + 2);
	} else if ((proto == 1 && !v6) || (proto == 58 && v6)) {
		if (len - off < 8 || !icmp_echo(v6, p[off]))
			return;
		k->k_inner_sport = k->k_inner_dport = be16(p + off + 4);
	} else {
		k->k_inner_sport = k->k_inner_dport = 0;
	}
	k->k_inner_proto = (uint8_t)proto;
	k->k_inner_ok = 1;
}

/* IPv6 neighbour discovery: target and link-layer address option. */
static void
nd(struct vfr_key *k, const uint8_t *p, size_t len, size_t off)
{
	size_t o, olen;

	if (len - off < 24)
		return;
	vfr_addr_ip6(&k->k_nd_target, p + off + 8);
	for (o = off + 24; len - o >= 8; o += olen) {
		olen = (size_t)p[o + 1] * 8;
		if (olen == 0 || olen > len - o)
			return;
		if ((p[o] == 1 || p[o] == 2) && olen == 8) {
			memcpy(k->k_nd_tll, p + o + 2, 6);
			k->k_nd_tll_ok = 1;
		}
	}
}

/* Ports, ICMP fields, TCP flags from the L4 header at p[off..len). */
static void
l4(struct vfr_key *k, const uint8_t *p, size_t len, size_t off, int v6)
{
	unsigned proto = k->k_f[VFR_F_PROTO];

	if (k->k_frag || off > len)
		return;
	k->k_l4off = (uint16_t)off;
	if (has_ports(proto)) {
		if (len - off < 4)
			return;
		k->k_f[VFR_F_SPORT] = be16(p + off);
		k->k_f[VFR_F_DPORT] = be16(p + off + 2);
		if (proto == 6 && len - off >= 14)
			k->k_tcpflags = p[off + 13];
		return;
	}
	if ((proto == 1 && !v6) || (proto == 58 && v6)) {
		if (len - off < 2)
			return;
		k->k_f[VFR_F_ICMPTYPE] = p[off];
		k->k_f[VFR_F_ICMPCODE] = p[off + 1];
		if (len - off >= 8 && icmp_echo(v6, p[off]))
			k->k_icmp_id = be16(p + off + 4);
		if (len - off >= 8 && icmp_error(v6, p[off]))
			inner(k, p, len, off + 8, v6);
		if (v6 && (p[off] == 135 || p[off] == 136))
			nd(k, p, len, off);
	}
}

void
vfr_key_parse(struct vfr_key *k, const uint8_t *p, size_t len, int dir)
{
	size_t off = ETH_HLEN, hl, end;
	unsigned et, proto;
	int f, tags, frag;

	memset(k, 0, sizeof(*k));
	k->k_dir = (uint8_t)dir;
	k->k_l3 = VFR_L3_OTHER;
	k->k_ct = VFR_CT_UNTRACKED;
	for (f = 0; f < VFR_NFIELDS; f++)
		k->k_f[f] = VFR_NONE;
	if (len < ETH_HLEN)
		return;
	memcpy(k->k_dmac, p, 6);
	memcpy(k->k_smac, p + 6, 6);
	et = be16(p + 12);
	for (tags = 0; tags < 2 && (et == ETH_P_8021Q || et == ETH_P_8021AD);
	    tags++) {
		if (len - off < 4)
			return;
		et = be16(p + off + 2);
		off += 4;
	}
	k->k_f[VFR_F_ETHERTYPE] = et;

	switch (et) {
	case ETH_P_IP:
		if (len - off < 20 || (p[off] >> 4) != 4 ||
		    (hl = (size_t)(p[off] & 0xf) * 4) < 20 || len - off < hl ||
		    be16(p + off + 2) < hl || be16(p + off + 2) > len - off) {
			k->k_malformed = 1;
			return;
		}
		end = off + be16(p + off + 2);	/* ignore Ethernet padding */
		k->k_l3 = VFR_L3_IP4;
		vfr_addr_ip4(&k->k_addr[VFR_A_SRC], p + off + 12);
		vfr_addr_ip4(&k->k_addr[VFR_A_DST], p + off + 16);
		k->k_f[VFR_F_PROTO] = p[off + 9];
		k->k_frag = (be16(p + off + 6) & 0x1fff) != 0;
		l4(k, p, end, off + hl, 0);
		return;
	case ETH_P_IPV6:
		if (len - off < 40 || (p[off] >> 4) != 6 ||
		    be16(p + off + 4) > len - off - 40) {
			k->k_malformed = 1;
			return;
		}
		end = off + 40 + be16(p + off + 4);
		k->k_l3 = VFR_L3_IP6;
		vfr_addr_ip6(&k->k_addr[VFR_A_SRC], p + off + 8);
		vfr_addr_ip6(&k->k_addr[VFR_A_DST], p + off + 24);
		proto = p[off + 6];
		off += 40;
		if (ip6_skip(p, end, &off, &proto, &frag) != 0) {
			/* extension headers cut short: no protocol known */
			k->k_f[VFR_F_PROTO] = VFR_NONE;
			return;
		}
		k->k_f[VFR_F_PROTO] = proto;
		k->k_frag = (uint8_t)frag;
		l4(k, p, end, off, 1);
		return;
	case ETH_P_ARP:
		/* Ethernet/IPv4 ARP only */
		if (len - off < 28 || be16(p + off) != 1 ||
		    be16(p + off + 2) != ETH_P_IP || p[off + 4] != 6 ||
		    p[off + 5] != 4) {
			k->k_malformed = 1;
			return;
		}
		k->k_l3 = VFR_L3_ARP;
		k->k_arp_op = be16(p + off + 6) > 0xff ? 0xff :
		    (uint8_t)be16(p + off + 6);
		memcpy(k->k_arp_sha, p + off + 8, 6);
		vfr_addr_ip4(&k->k_arp_spa, p + off + 14);
		return;
	}
}
