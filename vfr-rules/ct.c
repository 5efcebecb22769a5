/*
 * Connection tracking for one VIF: a bounded flow table.
 *
 * It gives each packet its state (new, established, related, invalid,
 * untracked) for the rules, and aggregates packets into flows for the
 * flow log.  The table has a hard size: when it is full, flows that never
 * saw a reply (a SYN flood, a scan, denied traffic) are pushed out first;
 * if none can go, a new accepted connection is refused (the caller drops
 * the packet and counts it) rather than the host's memory growing.  The
 * hash is keyed with a per-VIF random seed, so a guest cannot aim its
 * flows at one chain.
 *
 * Timeouts follow Linux's conntrack, except established TCP: 2 h 4 min
 * (RFC 5382's minimum for NATs) instead of 5 days.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfr.h"

#define S	1000000000ULL
#define T_TCP_SYN	(120 * S)	/* unreplied */
#define T_TCP_EST	(7440 * S)
#define T_TCP_CLOSE	(120 * S)	/* FIN seen */
#define T_TCP_RST	(10 * S)
#define T_UDP		(30 * S)	/* unreplied */
#define T_UDP_STREAM	(180 * S)
#define T_ICMP		(30 * S)
#define T_OTHER		(600 * S)
#define T_LOGONLY	(30 * S)	/* denied or untracked flows */

#define TH_FIN	0x01
#define TH_SYN	0x02
#define TH_RST	0x04
#define TH_ACK	0x10

#define EVICT_PROBES	32

static uint64_t
mix(uint64_t x, uint64_t k)
{
	x ^= k;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 29;
	return x;
}

/* The same for both orientations of a flow. */
static uint32_t
flow_hash(const struct vfr_ct *ct, const struct vfr_flow_key *fk)
{
	uint64_t e[2];
	int i;

	for (i = 0; i < 2; i++)
		e[i] = mix(mix(fk->fk_addr[i].a_hi, ct->ct_seed[0]) ^
		    fk->fk_addr[i].a_lo ^ (uint64_t)fk->fk_port[i] << 48,
		    ct->ct_seed[1]);
	return (uint32_t)mix(e[0] ^ e[1] ^ ((uint64_t)fk->fk_proto << 8 |
	    fk->fk_l3), ct->ct_seed[0]);
}

static int
addr_eq(const struct vfr_addr *a, const struct vfr_addr *b)
{
	return a->a_hi == b->a_hi && a->a_lo == b->a_lo;
}

/* 0 or 1: the orientation of k in fk, -1 if not the same flow. */
static int
flow_match(const struct vfr_flow_key *fk, const struct vfr_flow_key *k)
{
	if (fk->fk_proto != k->fk_proto || fk->fk_l3 != k->fk_l3)
		return -1;
	if (addr_eq(&fk->fk_addr[0], &k->fk_addr[0]) &&
	    addr_eq(&fk->fk_addr[1], &k->fk_addr[1]) &&
	    fk->fk_port[0] == k->fk_port[0] && fk->fk_port[1] == k->fk_port[1])
		return 0;
	if (addr_eq(&fk->fk_addr[0], &k->fk_addr[1]) &&
	    addr_eq(&fk->fk_addr[1], &k->fk_addr[0]) &&
	    fk->fk_port[0] == k->fk_port[1] && fk->fk_port[1] == k->fk_port[0])
		return 1;
	return -1;
}

static void
mac_addr(struct vfr_addr *a, const uint8_t *mac)
{
	int i;

	a->a_hi = 0;
	a->a_lo = 0;
	for (i = 0; i < 6; i++)
		a->a_lo = a->a_lo << 8 | mac[i];
}

static int
is_echo(const struct vfr_key *k)
{
	unsigned t = k->k_f[VFR_F_ICMPTYPE];

	if (k->k_l3 == VFR_L3_IP4)
		return t == 0 || t == 8;
	return t == 128 || t == 129;
}

static int
is_echo_reply(const struct vfr_key *k)
{
	unsigned t = k->k_f[VFR_F_ICMPTYPE];

	return k->k_l3 == VFR_L3_IP4 ? t == 0 : t == 129;
}

/* The flow key of a packet, in the packet's orientation. */
static void
key_of(const struct vfr_key *k, struct vfr_flow_key *fk)
{
	memset(fk, 0, sizeof(*fk));
	fk->fk_l3 = k->k_l3;
	if (k->k_l3 != VFR_L3_IP4 && k->k_l3 != VFR_L3_IP6) {
		mac_addr(&fk->fk_addr[0], k->k_smac);
		mac_addr(&fk->fk_addr[1], k->k_dmac);
		fk->fk_port[0] = fk->fk_port[1] =
		    (uint16_t)k->k_f[VFR_F_ETHERTYPE];
		return;
	}
	fk->fk_addr[0] = k->k_addr[VFR_A_SRC];
	fk->fk_addr[1] = k->k_addr[VFR_A_DST];
	if (k->k_f[VFR_F_PROTO] == VFR_NONE)
		return;
	fk->fk_proto = (uint8_t)k->k_f[VFR_F_PROTO];
	if (k->k_frag)
		return;
	if (k->k_f[VFR_F_SPORT] != VFR_NONE) {
		fk->fk_port[0] = (uint16_t)k->k_f[VFR_F_SPORT];
		fk->fk_port[1] = (uint16_t)k->k_f[VFR_F_DPORT];
	} else if (k->k_f[VFR_F_ICMPTYPE] != VFR_NONE && is_echo(k))
		fk->fk_port[0] = fk->fk_port[1] = k->k_icmp_id;
}

static uint64_t
timeout(const struct vfr_flow *f)
{
	if (!(f->fl_flags & VFR_FLOW_ACCEPTED) ||
	    (f->fl_flags & VFR_FLOW_UNTRACKED))
		return T_LOGONLY;
	switch (f->fl_key.fk_proto) {
	case 6:
		if ((f->fl_tcp[0] | f->fl_tcp[1]) & TH_RST)
			return T_TCP_RST;
		if (f->fl_flags & VFR_FLOW_CLOSING)
			return T_TCP_CLOSE;
		return (f->fl_flags & VFR_FLOW_REPLIED) ? T_TCP_EST : T_TCP_SYN;
	case 17:
	case 136:
		return (f->fl_flags & VFR_FLOW_REPLIED) ? T_UDP_STREAM : T_UDP;
	case 1:
	case 58:
		return T_ICMP;
	default:
		return T_OTHER;
	}
}

static int
expired(const struct vfr_flow *f, uint64_t now)
{
	return now > f->fl_last_ns && now - f->fl_last_ns > timeout(f);
}

static int
has_packets(const struct vfr_flow *f)
{
	return (f->fl_pkts[0][0] | f->fl_pkts[0][1] | f->fl_pkts[1][0] |
	    f->fl_pkts[1][1]) != 0;
}

static void
emit(struct vfr_ct *ct, struct vfr_flow *f, enum vfr_ct_why why)
{
	if (has_packets(f) && ct->ct_emit != NULL)
		ct->ct_emit(ct->ct_arg, f, why);
	memset(f->fl_pkts, 0, sizeof(f->fl_pkts));
	memset(f->fl_bytes, 0, sizeof(f->fl_bytes));
	f->fl_start_ns = 0;
}

static void
flow_remove(struct vfr_ct *ct, struct vfr_flow *f, enum vfr_ct_why why)
{
	uint32_t *pp, idx = (uint32_t)(f - ct->ct_flow) + 1;

	emit(ct, f, why);
	for (pp = &ct->ct_bucket[f->fl_bucket]; *pp != 0;
	    pp = &ct->ct_flow[*pp - 1].fl_next)
		if (*pp == idx) {
			*pp = f->fl_next;
			break;
		}
	memset(f, 0, sizeof(*f));
	f->fl_next = ct->ct_free;
	ct->ct_free = idx;
	ct->ct_count--;
}

int
vfr_ct_init(struct vfr_ct *ct, uint32_t max, uint64_t seed0, uint64_t seed1,
    vfr_ct_emit_fn fn, void *arg)
{
	uint32_t nb = 16;

	memset(ct, 0, sizeof(*ct));
	if (max < 16 || max > (1U << 24)) {
		errno = EINVAL;
		return -1;
	}
	while (nb < max)
		nb <<= 1;
	ct->ct_flow = calloc(max, sizeof(*ct->ct_flow));
	ct->ct_bucket = calloc(nb, sizeof(*ct->ct_bucket));
	if (ct->ct_flow == NULL || ct->ct_bucket == NULL) {
		vfr_ct_free(ct);
		errno = ENOMEM;
		return -1;
	}
	ct->ct_nbucket = nb;
	ct->ct_max = max;
	ct->ct_seed[0] = seed0;
	ct->ct_seed[1] = seed1 | 1;
	ct->ct_emit = fn;
	ct->ct_arg = arg;
	return 0;
}

void
vfr_ct_free(struct vfr_ct *ct)
{
	if (ct == NULL)
		return;
	free(ct->ct_flow);
	free(ct->ct_bucket);
	memset(ct, 0, sizeof(*ct));
}

static struct vfr_flow *
find(struct vfr_ct *ct, const struct vfr_flow_key *fk, int *orient)
{
	uint32_t i;
	int o;

	for (i = ct->ct_bucket[flow_hash(ct, fk) & (ct->ct_nbucket - 1)];
	    i != 0; i = ct->ct_flow[i - 1].fl_next)
		if ((o = flow_match(&ct->ct_flow[i - 1].fl_key, fk)) >= 0) {
			*orient = o;
			return &ct->ct_flow[i - 1];
		}
	return NULL;
}

struct vfr_flow *
vfr_ct_lookup(struct vfr_ct *ct, struct vfr_key *k, uint64_t now,
    int *orient)
{
	struct vfr_flow_key fk;
	struct vfr_flow *f, *in;
	unsigned proto = k->k_f[VFR_F_PROTO], type;
	int o, tcp, syn;

	*orient = 0;
	key_of(k, &fk);
	f = find(ct, &fk, orient);
	if (f != NULL && expired(f, now)) {
		flow_remove(ct, f, VFR_CT_END);
		f = NULL;
		*orient = 0;
	}
	if ((k->k_l3 != VFR_L3_IP4 && k->k_l3 != VFR_L3_IP6) || k->k_frag ||
	    proto == VFR_NONE) {
		k->k_ct = VFR_CT_UNTRACKED;
		return f;
	}
	type = k->k_f[VFR_F_ICMPTYPE];
	if (type != VFR_NONE && !is_echo(k) && k->k_inner_ok) {
		/* an ICMP error: about which flow? */
		memset(&fk, 0, sizeof(fk));
		fk.fk_l3 = k->k_l3;
		fk.fk_addr[0] = k->k_inner_src;
		fk.fk_addr[1] = k->k_inner_dst;
		fk.fk_proto = k->k_inner_proto;
		fk.fk_port[0] = k->k_inner_sport;
		fk.fk_port[1] = k->k_inner_dport;
		in = find(ct, &fk, &o);
		k->k_ct = in != NULL && (in->fl_flags & VFR_FLOW_ACCEPTED) &&
		    !(in->fl_flags & VFR_FLOW_UNTRACKED) && !expired(in, now) ?
		    VFR_CT_RELATED : VFR_CT_INVALID;
		return f;
	}
	tcp = proto == 6 && k->k_f[VFR_F_SPORT] != VFR_NONE;
	syn = tcp && (k->k_tcpflags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN;
	if (f != NULL && (f->fl_flags & VFR_FLOW_ACCEPTED) &&
	    !(f->fl_flags & VFR_FLOW_UNTRACKED)) {
		if (syn && (f->fl_flags & VFR_FLOW_CLOSING))
			k->k_ct = VFR_CT_NEW;	/* the port pair is reused */
		else if (*orient == 1 || (f->fl_flags & VFR_FLOW_REPLIED))
			k->k_ct = VFR_CT_ESTABLISHED;
		else
			k->k_ct = VFR_CT_NEW;
		return f;
	}
	if (tcp)
		k->k_ct = syn ? VFR_CT_NEW : VFR_CT_INVALID;
	else if (type != VFR_NONE && is_echo(k))
		k->k_ct = is_echo_reply(k) ? VFR_CT_INVALID : VFR_CT_NEW;
	else if (proto == 58 && type != VFR_NONE &&
	    ((type >= 130 && type <= 137) || type == 143))
		k->k_ct = VFR_CT_UNTRACKED;	/* ND, MLD: link-local chatter */
	else if (type != VFR_NONE && !is_echo(k))
		k->k_ct = VFR_CT_INVALID;	/* an error we cannot place */
	else
		k->k_ct = VFR_CT_NEW;
	return f;
}

/* Room for one more flow: a free entry, or push out an unreplied one. */
static struct vfr_flow *
flow_alloc(struct vfr_ct *ct, uint64_t now)
{
	struct vfr_flow *f;
	uint32_t i, victim = 0;

	if (ct->ct_free == 0 && ct->ct_unused < ct->ct_max)
		return &ct->ct_flow[ct->ct_unused++];
	if (ct->ct_free == 0) {
		/* full: look at a few entries after a moving hand */
		for (i = 0; i < EVICT_PROBES; i++) {
			uint32_t j = (uint32_t)((now >> 10) + i * 2654435761U) %
			    ct->ct_max;

			f = &ct->ct_flow[j];
			if (f->fl_flags == 0)
				continue;
			if (expired(f, now)) {
				flow_remove(ct, f, VFR_CT_END);
				victim = 0;
				break;
			}
			if (!(f->fl_flags & VFR_FLOW_REPLIED) && victim == 0)
				victim = j + 1;
		}
		if (ct->ct_free == 0 && victim != 0) {
			flow_remove(ct, &ct->ct_flow[victim - 1], VFR_CT_EVICT);
			ct->ct_evicted++;
		}
		if (ct->ct_free == 0)
			return NULL;
	}
	f = &ct->ct_flow[ct->ct_free - 1];
	ct->ct_free = f->fl_next;
	f->fl_next = 0;
	return f;
}

int
vfr_ct_update(struct vfr_ct *ct, struct vfr_flow *f, int orient,
    const struct vfr_key *k, int action, uint32_t rule, uint32_t len,
    uint64_t now)
{
	int acc = action == VFR_ACCEPT, v = acc ? 0 : 1;
	int stateful = k->k_ct == VFR_CT_NEW;
	struct vfr_flow_key fk;
	uint32_t b;

	if (f != NULL && acc && stateful && k->k_f[VFR_F_PROTO] == 6 &&
	    (f->fl_flags & VFR_FLOW_CLOSING)) {
		/* a new connection on an old port pair: start over */
		flow_remove(ct, f, VFR_CT_END);
		f = NULL;
	}
	if (f == NULL) {
		if ((f = flow_alloc(ct, now)) == NULL) {
			ct->ct_untracked_pkts++;
			ct->ct_untracked_bytes += len;
			if (acc && stateful) {
				ct->ct_full++;
				return -1;
			}
			return 0;
		}
		key_of(k, &fk);
		memset(f, 0, sizeof(*f));
		f->fl_key = fk;
		f->fl_dir = k->k_dir;
		f->fl_first_ns = now;
		b = flow_hash(ct, &fk) & (ct->ct_nbucket - 1);
		f->fl_bucket = b;
		f->fl_next = ct->ct_bucket[b];
		ct->ct_bucket[b] = (uint32_t)(f - ct->ct_flow) + 1;
		ct->ct_count++;
		orient = 0;
		if (!stateful)
			f->fl_flags |= VFR_FLOW_UNTRACKED;
	}
	if (acc) {
		if (stateful && (f->fl_flags & VFR_FLOW_UNTRACKED) &&
		    !(f->fl_flags & VFR_FLOW_ACCEPTED))
			f->fl_flags &= (uint8_t)~VFR_FLOW_UNTRACKED;
		if (!(f->fl_flags & VFR_FLOW_ACCEPTED) && stateful) {
			/* denied until now: the flow starts here */
			f->fl_flags |= VFR_FLOW_ACCEPTED;
			f->fl_dir = k->k_dir;
			if (orient == 1) {
				/* report what was denied the old way round,
				   then turn the flow to face this packet */
				struct vfr_flow_key t = f->fl_key;

				emit(ct, f, VFR_CT_EXPORT);
				f->fl_key.fk_addr[0] = t.fk_addr[1];
				f->fl_key.fk_addr[1] = t.fk_addr[0];
				f->fl_key.fk_port[0] = t.fk_port[1];
				f->fl_key.fk_port[1] = t.fk_port[0];
				f->fl_tcp[0] = f->fl_tcp[1] = 0;
				orient = 0;
			}
		} else if (!(f->fl_flags & VFR_FLOW_ACCEPTED))
			f->fl_flags |= VFR_FLOW_ACCEPTED;
		if (orient == 1)
			f->fl_flags |= VFR_FLOW_REPLIED;
	} else
		f->fl_flags |= VFR_FLOW_DENIED;
	if (k->k_f[VFR_F_PROTO] == 6 && (k->k_tcpflags & (TH_FIN | TH_RST)))
		f->fl_flags |= VFR_FLOW_CLOSING;
	f->fl_tcp[orient] |= k->k_tcpflags;
	f->fl_pkts[orient][v]++;
	f->fl_bytes[orient][v] += len;
	f->fl_rule[orient][v] = rule;
	f->fl_last_ns = now;
	if (f->fl_start_ns == 0)
		f->fl_start_ns = now;
	return 0;
}

void
vfr_ct_sweep(struct vfr_ct *ct, uint64_t now, uint64_t export_ns)
{
	struct vfr_flow *f;
	uint32_t i;

	for (i = 0; i < ct->ct_unused; i++) {
		f = &ct->ct_flow[i];
		if (f->fl_flags == 0)
			continue;
		if (expired(f, now))
			flow_remove(ct, f, VFR_CT_END);
		else if (f->fl_start_ns != 0 && now - f->fl_start_ns >= export_ns)
			emit(ct, f, VFR_CT_EXPORT);
	}
}

void
vfr_ct_flush(struct vfr_ct *ct)
{
	uint32_t i;

	for (i = 0; i < ct->ct_unused; i++)
		if (ct->ct_flow[i].fl_flags != 0)
			flow_remove(ct, &ct->ct_flow[i], VFR_CT_END);
}
