/*
 * libFuzzer driver: the classifier (vfr_classify, prog.c) against the
 * reference interpreter (vfr_ref_classify, ref.c).
 *
 * The input is read as a stream of bytes (zeros once it runs out):
 *   a header (rule count 0..63, policies, the VIF and domain the program
 *   is built for), then each rule (action, directions, layer 3, state,
 *   TCP flags, up to 3 ranges per small field, up to 2 address ranges
 *   per address, sometimes a 4-instruction BPF program, a VIF or domain
 *   name; or a copy of an earlier rule with one dimension made again),
 *   then keys until the input ends (at most 256).
 * Values come from small pools, from raw bytes, or from the boundaries of
 * the rules already made (lo - 1, lo, hi, hi + 1), so that keys land on
 * the edges the tree cuts at.  Ranges are sorted and merged, so every
 * rule set is valid (vfr_ruleset_check() is asserted).  Keys may have any
 * direction, layer-3 and state bits, not only the ones vfr_key_parse()
 * makes.
 *
 * Invariant: for every key, with and without a hit function (which may
 * stop on rules picked by the input), both give the same verdict (action,
 * policy, stopped, the same rule pointer) and the same hits in the same
 * order.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "vfr.h"
#include "../vfr_gen.h"

#define FD_MAX_RULES	63
#define FD_MAX_KEYS	256
#define FD_MAX_HITS	(FD_MAX_RULES + 1)


struct fd_in {
	const uint8_t	*in_p;
	size_t		 in_n;
};

static uint8_t
fd_byte(struct fd_in *in)
{
	if (in->in_n == 0)
		return 0;
	in->in_n--;
	return *in->in_p++;
}

static uint32_t
fd_u16(struct fd_in *in)
{
	return fd_byte(in) | (uint32_t)fd_byte(in) << 8;
}

static uint64_t
fd_u64(struct fd_in *in)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | fd_byte(in);
	return v;
}

/* Boundaries seen so far, per dimension, for keys to aim at. */
#define FD_NDIM		(VFR_NFIELDS + VFR_NAFIELDS)
#define FD_MAX_EDGES	256

static u128	fd_edge[FD_NDIM][FD_MAX_EDGES];
static uint32_t	fd_nedge[FD_NDIM];

static void
fd_add_edge(int d, u128 v)
{
	if (fd_nedge[d] < FD_MAX_EDGES)
		fd_edge[d][fd_nedge[d]++] = v;
}

static const uint32_t fd_pool[16] = { 0, 1, 6, 17, 22, 53, 80, 443, 1023,
    1024, 0x800, 0x86dd, 0xfffe, 0xffff, 58, 132 };

static uint32_t
fd_small(struct fd_in *in, int f)
{
	uint8_t c = fd_byte(in);

	switch (c >> 6) {
	case 0:
		return fd_pool[c & 15];
	case 1:
		return c & 63;
	case 2:
		if (fd_nedge[f] != 0)
			return (uint32_t)fd_edge[f][c % fd_nedge[f]] +
			    (c & 3) - 1;	/* lo - 1 .. hi + 2 */
		return c;
	}
	return fd_u16(in);
}

static const u128 fd_apool[8] = {
	0, ((u128)0xffff << 32) | 0x0a000000, ((u128)0xffff << 32) | 0x0a0000ff,
	((u128)0xffff << 32) | 0xc0a80101, ((u128)0xffff << 32) | 0xffffffff,
	(u128)0x20010db8 << 96, ((u128)0x20010db8 << 96) | 1, ~(u128)0,
};

static u128
fd_addr(struct fd_in *in, int d)
{
	uint8_t c = fd_byte(in);

	switch (c >> 6) {
	case 0:
		return fd_apool[c & 7] + (c >> 3 & 7);
	case 1:
		if (fd_nedge[d] != 0)
			return fd_edge[d][c % fd_nedge[d]] + (c >> 5 & 1) -
			    (c >> 4 & 1);
		return c;
	case 2:
		return ((u128)0xffff << 32) | (uint32_t)fd_u64(in);
	}
	return (u128)fd_u64(in) << 64 | fd_u64(in);
}

static void
fd_ranges(struct fd_in *in, struct vfr_rule *r, int f)
{
	struct vfr_range *rg;
	uint32_t n = fd_byte(in) % 4, i, m = 0, a, b, t;

	if (n == 0)
		return;
	rg = xcalloc(n, sizeof(*rg));
	for (i = 0; i < n; i++) {
		a = fd_small(in, f) & 0xffff;
		b = fd_byte(in) & 1 ? a : fd_small(in, f) & 0xffff;
		if (a > b) {
			t = a;
			a = b;
			b = t;
		}
		rg[i].rg_lo = a;
		rg[i].rg_hi = b;
	}
	m = range_norm(rg, n);
	for (i = 0; i < m; i++) {
		fd_add_edge(f, rg[i].rg_lo);
		fd_add_edge(f, rg[i].rg_hi);
	}
	r->r_range[f] = rg;
	r->r_nrange[f] = m;
}

static void
fd_aranges(struct fd_in *in, struct vfr_rule *r, int a)
{
	struct vfr_arange *ar;
	uint32_t n = fd_byte(in) % 3, i, m = 0;
	u128 lo, hi, mask;
	uint8_t c;

	if (n == 0)
		return;
	ar = xcalloc(n, sizeof(*ar));
	for (i = 0; i < n; i++) {
		lo = fd_addr(in, VFR_NFIELDS + a);
		c = fd_byte(in);
		if (c & 0x80) {		/* a prefix of 0..127 host bits */
			mask = (c & 0x7f) == 0 ? 0 :
			    ((u128)1 << (c & 0x7f)) - 1;
			lo &= ~mask;
			hi = lo | mask;
		} else {
			hi = fd_addr(in, VFR_NFIELDS + a);
			if (lo > hi) {
				mask = lo;
				lo = hi;
				hi = mask;
			}
		}
		ar[i].ar_lo = u2a(lo);
		ar[i].ar_hi = u2a(hi);
	}
	m = arange_norm(ar, n);
	for (i = 0; i < m; i++) {
		fd_add_edge(VFR_NFIELDS + a, a2u(&ar[i].ar_lo));
		fd_add_edge(VFR_NFIELDS + a, a2u(&ar[i].ar_hi));
	}
	r->r_arange[a] = ar;
	r->r_narange[a] = m;
}

static void *
fd_dup(const void *p, size_t n, size_t size)
{
	void *q;

	if (n == 0)
		return NULL;
	q = xcalloc(n, size);
	memcpy(q, p, n * size);
	return q;
}

/*
 * Rule id as a copy of an earlier one with one dimension made again and
 * another action: sets of rules that overlap but for one field, cheaply
 * (they are what makes the tree cut).
 */
static void
fd_clone(struct fd_in *in, struct vfr_rule *rules, uint32_t id, uint8_t c)
{
	struct vfr_rule *r = &rules[id];
	const struct vfr_rule *o = &rules[c % id];
	uint8_t m = fd_byte(in);
	int f;

	*r = *o;
	r->r_id = id;
	r->r_text = NULL;
	for (f = 0; f < VFR_NFIELDS; f++)
		r->r_range[f] = fd_dup(o->r_range[f], o->r_nrange[f],
		    sizeof(*o->r_range[f]));
	for (f = 0; f < VFR_NAFIELDS; f++)
		r->r_arange[f] = fd_dup(o->r_arange[f], o->r_narange[f],
		    sizeof(*o->r_arange[f]));
	r->r_bpf = fd_dup(o->r_bpf, o->r_nbpf, sizeof(*o->r_bpf));
	r->r_action = VFR_ACCEPT + (m >> 4) % 6;
	r->r_rl_rate = r->r_rl_burst = 1;
	f = m % (VFR_NFIELDS + VFR_NAFIELDS);
	if (f < VFR_NFIELDS) {
		free(r->r_range[f]);
		r->r_range[f] = NULL;
		r->r_nrange[f] = 0;
		fd_ranges(in, r, f);
	} else {
		f -= VFR_NFIELDS;
		free(r->r_arange[f]);
		r->r_arange[f] = NULL;
		r->r_narange[f] = 0;
		fd_aranges(in, r, f);
	}
}

static void
fd_rule(struct fd_in *in, struct vfr_rule *rules, uint32_t id)
{
	static const char *const names[4] = { "", "", "a", "b" };
	struct vfr_rule *r = &rules[id];
	uint8_t c;
	int f;

	r->r_id = id;
	c = fd_byte(in);
	if (c >= 0xc0 && id > 0) {
		fd_clone(in, rules, id, c);
		return;
	}
	r->r_action = VFR_ACCEPT + c % 6;
	if (r->r_action == VFR_RATELIMIT) {
		r->r_rl_rate = 1;
		r->r_rl_burst = 1;
	}
	r->r_dir = 1 + (c >> 3) % 3;
	c = fd_byte(in);
	r->r_l3 = c & 0x80 ? c & 0xf : 0;
	r->r_ct = c & 0x40 ? (c >> 1) & 0x1f : 0;
	strcpy(r->r_vif, names[c & 3]);
	c = fd_byte(in);
	strcpy(r->r_domain, names[c & 3]);
	if (c & 0x80) {
		r->r_tcp_mask = fd_byte(in);
		r->r_tcp_val = fd_byte(in) & r->r_tcp_mask;
	}
	c = fd_byte(in);	/* which fields have ranges */
	for (f = 0; f < VFR_NFIELDS; f++)
		if (c & (1U << f))
			fd_ranges(in, r, f);
	for (f = 0; f < VFR_NAFIELDS; f++)
		if (c & (0x40U << f))
			fd_aranges(in, r, f);
	c = fd_byte(in);
	if (c >= 0xf0) {	/* "len > k" or "byte [k] & bit" */
		struct vfr_insn *p = xcalloc(4, sizeof(*p));

		if (c & 1) {
			p[0] = (struct vfr_insn){ 0x80, 0, 0, 0 };
			p[1] = (struct vfr_insn){ 0x25, 0, 1, fd_byte(in) };
		} else {
			p[0] = (struct vfr_insn){ 0x30, 0, 0, fd_byte(in) & 31 };
			p[1] = (struct vfr_insn){ 0x45, 0, 1, fd_byte(in) };
		}
		p[2] = (struct vfr_insn){ 0x06, 0, 0, 1 };
		p[3] = (struct vfr_insn){ 0x06, 0, 0, 0 };
		r->r_bpf = p;
		r->r_nbpf = 4;
	}
}

/* A value at an edge of one of rule r's ranges in dimension d: lo - 1,
   lo, hi or hi + 1, as the input picks. */
static u128
fd_aim(struct fd_in *in, const struct vfr_rule *r, int d, u128 dflt)
{
	uint8_t c = fd_byte(in);
	uint32_t n, j;
	u128 lo, hi;

	if (d < VFR_NFIELDS) {
		if ((n = r->r_nrange[d]) == 0)
			return dflt;
		j = (c >> 2) % n;
		lo = r->r_range[d][j].rg_lo;
		hi = r->r_range[d][j].rg_hi;
	} else {
		if ((n = r->r_narange[d - VFR_NFIELDS]) == 0)
			return dflt;
		j = (c >> 2) % n;
		lo = a2u(&r->r_arange[d - VFR_NFIELDS][j].ar_lo);
		hi = a2u(&r->r_arange[d - VFR_NFIELDS][j].ar_hi);
	}
	switch (c & 3) {
	case 0:
		return lo - 1;
	case 1:
		return lo;
	case 2:
		return hi;
	}
	return hi + 1;
}

static void
fd_key(struct fd_in *in, const struct vfr_ruleset *rs, struct vfr_key *k)
{
	const struct vfr_rule *r;
	uint8_t c;
	int f;

	memset(k, 0, sizeof(*k));
	c = fd_byte(in);
	if (c < 0x40 && rs->rs_nrules != 0) {
		/* aimed at the edges of one rule, matching it otherwise */
		r = &rs->rs_rules[fd_byte(in) % rs->rs_nrules];
		k->k_dir = r->r_dir & VFR_DIR_IN ? VFR_DIR_IN : VFR_DIR_OUT;
		if (c & 1)
			k->k_dir ^= 3;
		k->k_l3 = 1U << (c >> 1 & 3);
		if (r->r_l3 != 0 && (r->r_l3 & k->k_l3) == 0)
			k->k_l3 = r->r_l3 & -r->r_l3;
		k->k_ct = r->r_ct != 0 ? r->r_ct & -r->r_ct : VFR_CT_NEW;
		k->k_tcpflags = r->r_tcp_val;
		for (f = 0; f < VFR_NFIELDS; f++)
			k->k_f[f] = (uint32_t)fd_aim(in, r, f, c & 8 ?
			    VFR_NONE : 6);
		for (f = 0; f < VFR_NAFIELDS; f++)
			k->k_addr[f] = u2a(fd_aim(in, r, VFR_NFIELDS + f,
			    fd_apool[c >> 4 & 3]));
		return;
	}
	k->k_dir = c & 0x80 ? c & 3 : 1 + (c & 1);
	k->k_l3 = c & 0x40 ? (c >> 2) & 0xf : 1U << ((c >> 2) & 3);
	c = fd_byte(in);
	k->k_ct = c & 0x80 ? c & 0x1f : 1U << (c % 5);
	k->k_tcpflags = fd_byte(in);
	c = fd_byte(in);	/* which fields are absent */
	for (f = 0; f < VFR_NFIELDS; f++)
		k->k_f[f] = c & (1U << f) ? VFR_NONE : fd_small(in, f);
	if (c & 0x40)
		k->k_f[fd_byte(in) % VFR_NFIELDS] = fd_u16(in) << 16 |
		    fd_u16(in);	/* a value no parser makes */
	for (f = 0; f < VFR_NAFIELDS; f++)
		if ((c & 0x80) == 0)
			k->k_addr[f] = u2a(fd_addr(in, VFR_NFIELDS + f));
}

struct fd_hits {
	const struct vfr_rule	*h_rule[FD_MAX_HITS];
	uint32_t		 h_n;
	uint64_t		 h_stop;	/* stop on rules with this bit */
};

static int
fd_hit(void *arg, const struct vfr_rule *r)
{
	struct fd_hits *h = arg;

	CHECK(h->h_n < FD_MAX_HITS);
	h->h_rule[h->h_n++] = r;
	return (h->h_stop >> (r->r_id & 63)) & 1;
}

static void
fd_compare(const struct vfr_ruleset *rs, const struct vfr_prog *p,
    const char *vif, const char *dom, const struct vfr_key *k,
    const uint8_t *frame, size_t len, uint64_t stop)
{
	struct fd_hits hr, hp;
	struct vfr_verdict vr, vp;

	memset(&hr, 0, sizeof(hr));
	memset(&hp, 0, sizeof(hp));
	hr.h_stop = hp.h_stop = stop;
	vfr_ref_classify(rs, vif, dom, k, frame, len, fd_hit, &hr, &vr);
	vfr_classify(p, k, frame, len, fd_hit, &hp, &vp);
	CHECK(vr.v_action == vp.v_action);
	CHECK(vr.v_policy == vp.v_policy);
	CHECK(vr.v_stopped == vp.v_stopped);
	CHECK(vr.v_rule == vp.v_rule);
	CHECK(hr.h_n == hp.h_n);
	CHECK(memcmp(hr.h_rule, hp.h_rule, hr.h_n * sizeof(hr.h_rule[0]))
	    == 0);
	vfr_ref_classify(rs, vif, dom, k, frame, len, NULL, NULL, &vr);
	vfr_classify(p, k, frame, len, NULL, NULL, &vp);
	CHECK(vr.v_action == vp.v_action && vr.v_policy == vp.v_policy &&
	    vr.v_stopped == vp.v_stopped && vr.v_rule == vp.v_rule);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const vifs[2] = { "a", "c" };
	struct fd_in in = { data, size };
	struct vfr_ruleset rs;
	struct vfr_prog *p;
	struct vfr_key k;
	uint8_t frame[32];
	uint64_t stop;
	uint32_t i, nkeys;
	char err[256];
	uint8_t c;
	const char *vif, *dom;

	memset(fd_nedge, 0, sizeof(fd_nedge));
	memset(&rs, 0, sizeof(rs));
	c = fd_byte(&in);
	rs.rs_nrules = c % (FD_MAX_RULES + 1);
	rs.rs_policy[0] = c & 0x40 ? VFR_DROP : VFR_ACCEPT;
	rs.rs_policy[1] = c & 0x80 ? VFR_DROP : VFR_ACCEPT;
	c = fd_byte(&in);
	vif = vifs[c & 1];
	dom = c & 2 ? "a" : "b";
	stop = c & 4 ? fd_u64(&in) : 0;
	rs.rs_rules = xcalloc(rs.rs_nrules, sizeof(*rs.rs_rules));
	for (i = 0; i < rs.rs_nrules; i++)
		fd_rule(&in, rs.rs_rules, i);
	CHECK(vfr_ruleset_check(&rs, err, sizeof(err)) == 0);
	for (i = 0; i < sizeof(frame); i++)
		frame[i] = fd_byte(&in);

	p = vfr_prog_build(&rs, vif, dom);
	CHECK(p != NULL);
	for (nkeys = 0; nkeys < FD_MAX_KEYS && (nkeys == 0 || in.in_n > 0);
	    nkeys++) {
		fd_key(&in, &rs, &k);
		c = fd_byte(&in);
		fd_compare(&rs, p, vif, dom, &k, frame, c % (sizeof(frame) +
		    1), stop);
	}
	vfr_prog_free(p);
	vfr_ruleset_free(&rs);
	return 0;
}
