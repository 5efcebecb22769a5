/*
 * The fast classifier: a HyperSplit-style decision tree per (direction,
 * layer-3 kind) of a key, built once per rule set and VIF
 * (docs/VFR-INTERNALS.md has the design and the figures).
 *
 * The tree cuts the key space, one field at a time, at boundaries of the
 * rules' ranges: a node cuts one field in two to four intervals (at the
 * weighted median, or quartiles) and fills one cache line.  Each leaf
 * holds, in rule order, every rule that overlaps its region, and is
 * scanned with the rule's remaining checks: so the answer never depends
 * on how well the tree was built, only on each leaf holding every rule
 * that can match there.  The tree only decides how short the leaves are.
 *
 * Dimensions: the six small fields of a key and the two 128-bit addresses,
 * all compared as unsigned 128-bit numbers.  Direction and layer 3 are
 * resolved by picking one of 2 x 4 roots; connection state, TCP flags and
 * pcap-filter programs are checked in the leaf.  A key whose direction or
 * layer-3 kind is not exactly one known bit (callers never make one, but
 * fuzzers do) takes a linear scan with the same checks as ref.c.
 *
 * Building never fails for lack of cleverness: past a depth, node, entry
 * or work budget a node simply stays a longer leaf.  It fails only when
 * malloc() does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfr.h"

typedef unsigned __int128 u128;

#define PROG_NDIM	(VFR_NFIELDS + VFR_NAFIELDS)
#define PROG_NL3	4

/*
 * A link: PROG_LEAF | offset of a leaf in p_ent, or a node: the dimension
 * the node cuts (so that the key's value can be fetched while the node is
 * still on its way from memory) and the node's index.
 */
#define PROG_LEAF	0x80000000U
#define PROG_EMPTY	(PROG_LEAF | 0)	/* p_ent[0] is the empty leaf */
#define PROG_DIM_SHIFT	28
#define PROG_IDX	0x0fffffffU

/* A leaf entry: rule index, then one bit per dimension the rule does not
   cover over the whole leaf (so must be checked), then one bit for the
   checks no dimension holds (state, TCP flags, pcap-filter). */
#define PROG_E_RULE	0xffffU
#define PROG_E_DIMS	16
#define PROG_E_RESID	(1U << (PROG_E_DIMS + PROG_NDIM))
#define PROG_RULES_MAX	0x10000U

/* Build limits (docs/VFR-INTERNALS.md, "Limits"). */
#define PROG_BINTH	4		/* a leaf this short is not split */
#define PROG_DEPTH_MAX	32		/* nodes, each up to 2 binary levels */
#define PROG_NODES_MAX	(1U << 19)	/* 32 MiB of nodes */
#define PROG_ENTS_MAX	(4U << 20)	/* 16 MiB of leaf entries */
#define PROG_ENTS_RULE	256		/* at most per rule, plus: */
#define PROG_ENTS_BASE	(64U << 10)
#define PROG_WORK_RULE	2048		/* work units (~10 ns) per rule */
#define PROG_WORK_BASE	(16ULL << 20)

/*
 * A node cuts one dimension into up to PROG_FANOUT intervals: child i
 * holds the keys with cut[i-1] < value <= cut[i].  Unused cuts are the
 * largest value, which no key exceeds.  One cache line.
 */
#define PROG_FANOUT	4
#define PROG_NCUT	(PROG_FANOUT - 1)
#define PROG_WIDE_BIAS	6	/* eighths: a wide node saves a lookup */

struct prog_node {
	u128		 pn_cut[PROG_NCUT];
	uint32_t	 pn_kid[PROG_FANOUT];
};
_Static_assert(sizeof(struct prog_node) == 64 && PROG_NCUT == 3,
    "vfr_classify() walks nodes of three cuts, one cache line each");

/* A rule as the leaf scan wants it: single ranges inline. */
struct prog_rule {
	u128			 pr_alo[VFR_NAFIELDS];
	u128			 pr_ahi[VFR_NAFIELDS];
	uint32_t		 pr_flo[VFR_NFIELDS];
	uint32_t		 pr_fhi[VFR_NFIELDS];
	const struct vfr_rule	*pr_rule;
	uint8_t			 pr_terminal;
	uint8_t			 pr_resid;	/* ct, TCP flags or BPF */
};

struct vfr_prog {
	const struct vfr_ruleset *p_rs;
	struct prog_rule	*p_rules;
	uint32_t		 p_nrules;
	struct prog_node	*p_nodes;
	uint32_t		 p_nnodes;
	uint32_t		*p_ent;
	uint32_t		 p_nent;
	uint32_t		 p_root[2][PROG_NL3];
};

/* A box of the key space: [lo, hi] in each dimension. */
struct prog_box {
	u128	bx_lo[PROG_NDIM];
	u128	bx_hi[PROG_NDIM];
};

/* Scratch arrays of the build, grown as needed and kept between nodes. */
struct prog_scratch {
	u128		*sc_a;
	size_t		 sc_cap;
};

struct prog_build {
	struct vfr_prog		*b_p;
	size_t			 b_nodecap;	/* allocated */
	size_t			 b_entcap;	/* allocated */
	uint64_t		 b_work;
	struct prog_scratch	 b_start;	/* range starts in a box */
	struct prog_scratch	 b_end;		/* range ends + 1 */
	struct prog_scratch	 b_tmp;		/* for sorting; positions */
	struct prog_scratch	 b_min;		/* per rule: its extent */
	struct prog_scratch	 b_max;
	uint64_t		*b_weight;	/* per position */
	size_t			 b_wcap;
	int			 b_nomem;
};

static const u128 prog_u128_max = ~(u128)0;

static u128
prog_dim_max(int d)
{
	return d < VFR_NFIELDS ? UINT32_MAX : prog_u128_max;
}

static u128
prog_addr(const struct vfr_addr *a)
{
	return (u128)a->a_hi << 64 | a->a_lo;
}

static int
prog_l3_index(uint8_t l3)
{
	switch (l3) {
	case VFR_L3_IP4:
		return 0;
	case VFR_L3_IP6:
		return 1;
	case VFR_L3_ARP:
		return 2;
	case VFR_L3_OTHER:
		return 3;
	}
	return -1;
}

/* ---- a rule's ranges, one dimension at a time ---- */

/* Ranges of rule r in dimension d; 0 means no constraint. */
static uint32_t
prog_nrange(const struct vfr_rule *r, int d)
{
	return d < VFR_NFIELDS ? r->r_nrange[d] :
	    r->r_narange[d - VFR_NFIELDS];
}

static void
prog_range(const struct vfr_rule *r, int d, uint32_t j, u128 *lo, u128 *hi)
{
	const struct vfr_arange *ar;

	if (d < VFR_NFIELDS) {
		*lo = r->r_range[d][j].rg_lo;
		*hi = r->r_range[d][j].rg_hi;
		return;
	}
	ar = &r->r_arange[d - VFR_NFIELDS][j];
	*lo = prog_addr(&ar->ar_lo);
	*hi = prog_addr(&ar->ar_hi);
}

/* Index of the first range of r in d that ends at or after v. */
static uint32_t
prog_range_find(const struct vfr_rule *r, int d, u128 v)
{
	uint32_t lo = 0, hi = prog_nrange(r, d), mid;
	u128 rlo, rhi;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		prog_range(r, d, mid, &rlo, &rhi);
		if (rhi < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Does rule r cover all of [lo, hi] in d?  Its ranges are disjoint and
   not adjacent, so only one range can. */
static int
prog_covers(const struct vfr_rule *r, int d, u128 lo, u128 hi)
{
	uint32_t n = prog_nrange(r, d), j;
	u128 rlo, rhi;

	if (n == 0)
		return 1;
	if ((j = prog_range_find(r, d, lo)) == n)
		return 0;
	prog_range(r, d, j, &rlo, &rhi);
	return rlo <= lo && hi <= rhi;
}

/* Does rule r have a value in [lo, hi] in d? */
static int
prog_overlaps(const struct vfr_rule *r, int d, u128 lo, u128 hi)
{
	uint32_t n = prog_nrange(r, d), j;
	u128 rlo, rhi;

	if (n == 0)
		return 1;
	if ((j = prog_range_find(r, d, lo)) == n)
		return 0;
	prog_range(r, d, j, &rlo, &rhi);
	return rlo <= hi;
}

/* ---- matching ---- */

static int
prog_field_in(const struct prog_rule *pr, int f, uint32_t v)
{
	const struct vfr_rule *r = pr->pr_rule;
	const struct vfr_range *rg;
	uint32_t lo, hi, mid;

	if (r->r_nrange[f] == 1)
		return pr->pr_flo[f] <= v && v <= pr->pr_fhi[f];
	rg = r->r_range[f];
	lo = 0;
	hi = r->r_nrange[f];
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (rg[mid].rg_hi < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->r_nrange[f] && rg[lo].rg_lo <= v;
}

static int
prog_addr_in(const struct prog_rule *pr, int a, u128 v)
{
	const struct vfr_rule *r = pr->pr_rule;
	const struct vfr_arange *ar;
	uint32_t lo, hi, mid;

	if (r->r_narange[a] == 1)
		return pr->pr_alo[a] <= v && v <= pr->pr_ahi[a];
	ar = r->r_arange[a];
	lo = 0;
	hi = r->r_narange[a];
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (prog_addr(&ar[mid].ar_hi) < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->r_narange[a] && prog_addr(&ar[lo].ar_lo) <= v;
}

/* The checks no dimension of the tree holds. */
static int
prog_resid_ok(const struct vfr_rule *r, const struct vfr_key *k,
    const uint8_t *frame, size_t len)
{
	if (r->r_ct != 0 && (r->r_ct & k->k_ct) == 0)
		return 0;
	if (r->r_tcp_mask != 0 && (k->k_f[VFR_F_PROTO] != 6 ||
	    (k->k_tcpflags & r->r_tcp_mask) != r->r_tcp_val))
		return 0;
	if (r->r_nbpf != 0 && vfr_bpf_run(r->r_bpf, r->r_nbpf, frame, len) == 0)
		return 0;
	return 1;
}

/* Everything ref.c checks but the VIF and domain (left out at build). */
static int
prog_match_full(const struct prog_rule *pr, const struct vfr_key *k,
    const uint8_t *frame, size_t len)
{
	const struct vfr_rule *r = pr->pr_rule;
	int f;

	if ((r->r_dir & k->k_dir) == 0)
		return 0;
	if (r->r_l3 != 0 && (r->r_l3 & k->k_l3) == 0)
		return 0;
	for (f = 0; f < VFR_NFIELDS; f++)
		if (r->r_nrange[f] != 0 && !prog_field_in(pr, f, k->k_f[f]))
			return 0;
	for (f = 0; f < VFR_NAFIELDS; f++) {
		if (r->r_narange[f] == 0)
			continue;
		if ((k->k_l3 & (VFR_L3_IP4 | VFR_L3_IP6)) == 0)
			return 0;
		if (!prog_addr_in(pr, f, prog_addr(&k->k_addr[f])))
			return 0;
	}
	return prog_resid_ok(r, k, frame, len);
}

/* A leaf entry's checks; direction and layer 3 are the root's. */
static inline int
prog_match_entry(const struct vfr_prog *p, uint32_t e,
    const struct vfr_key *k, const u128 *kv, const uint8_t *frame,
    size_t len)
{
	const struct prog_rule *pr = &p->p_rules[e & PROG_E_RULE];
	uint32_t m = e >> PROG_E_DIMS;
	int d;

	while (m != 0) {
		d = __builtin_ctz(m);
		m &= m - 1;
		if (d < VFR_NFIELDS) {
			if (!prog_field_in(pr, d, k->k_f[d]))
				return 0;
		} else if (d < PROG_NDIM) {
			if (!prog_addr_in(pr, d - VFR_NFIELDS, kv[d]))
				return 0;
		} else if (!prog_resid_ok(pr->pr_rule, k, frame, len))
			return 0;
	}
	return 1;
}

/* A matching rule: 1 if it decides the verdict. */
static inline int
prog_hit(const struct prog_rule *pr, vfr_hit_fn hit, void *arg,
    struct vfr_verdict *v)
{
	if (pr->pr_terminal) {
		v->v_action = pr->pr_rule->r_action;
		v->v_rule = pr->pr_rule;
		return 1;
	}
	if (hit != NULL && hit(arg, pr->pr_rule) != 0) {
		v->v_action = VFR_DROP;
		v->v_stopped = 1;
		v->v_rule = pr->pr_rule;
		return 1;
	}
	return 0;
}

void
vfr_classify(const struct vfr_prog *p, const struct vfr_key *k,
    const uint8_t *frame, size_t len, vfr_hit_fn hit, void *arg,
    struct vfr_verdict *v)
{
	const struct prog_node *n;
	const uint32_t *e;
	u128 kv[PROG_NDIM], x;
	uint32_t link, cnt, i;
	int l3, f;

	memset(v, 0, sizeof(*v));
	l3 = prog_l3_index(k->k_l3);
	if ((k->k_dir != VFR_DIR_IN && k->k_dir != VFR_DIR_OUT) || l3 < 0) {
		for (i = 0; i < p->p_nrules; i++)
			if (prog_match_full(&p->p_rules[i], k, frame, len) &&
			    prog_hit(&p->p_rules[i], hit, arg, v))
				return;
		goto policy;
	}
	for (f = 0; f < VFR_NFIELDS; f++)
		kv[f] = k->k_f[f];
	for (f = 0; f < VFR_NAFIELDS; f++)
		kv[VFR_NFIELDS + f] = prog_addr(&k->k_addr[f]);
	link = p->p_root[k->k_dir - 1][l3];
	while ((link & PROG_LEAF) == 0) {
		n = &p->p_nodes[link & PROG_IDX];
		x = kv[link >> PROG_DIM_SHIFT];
		link = n->pn_kid[(x > n->pn_cut[0]) + (x > n->pn_cut[1]) +
		    (x > n->pn_cut[2])];
	}
	e = &p->p_ent[link & ~PROG_LEAF];
	cnt = *e++;
	for (i = 0; i < cnt; i++)
		if (prog_match_entry(p, e[i], k, kv, frame, len) &&
		    prog_hit(&p->p_rules[e[i] & PROG_E_RULE], hit, arg, v))
			return;
 policy:
	v->v_action = p->p_rs->rs_policy[k->k_dir == VFR_DIR_IN ? 0 : 1];
	v->v_policy = 1;
}

/* ---- building ---- */

/* Array a with room for want elements (a itself, or a larger copy), or
   NULL with a untouched. */
static void *
prog_grow(void *a, size_t *cap, size_t want, size_t size)
{
	size_t ncap = *cap;
	void *na;

	if (want <= *cap)
		return a;
	while (ncap < want)
		ncap = ncap < 64 ? 64 : ncap * 2;
	if ((na = realloc(a, ncap * size)) == NULL)
		return NULL;
	*cap = ncap;
	return na;
}

/* Does rule pr cover box bx in every dimension? */
static int
prog_covers_box(const struct prog_rule *pr, const struct prog_box *bx)
{
	int d;

	for (d = 0; d < PROG_NDIM; d++)
		if (!prog_covers(pr->pr_rule, d, bx->bx_lo[d], bx->bx_hi[d]))
			return 0;
	return 1;
}

/*
 * Drop the rules no key of box bx can reach: those after a terminal rule
 * without residual checks that covers the whole box.  The new length,
 * and in *ncover how many of the rules left cover the box (no split can
 * shorten the list by them).
 */
static uint32_t
prog_prune(struct prog_build *b, uint32_t *sub, uint32_t n,
    const struct prog_box *bx, uint32_t *ncover)
{
	const struct prog_rule *pr;
	uint32_t i;

	*ncover = 0;
	for (i = 0; i < n; i++) {
		pr = &b->b_p->p_rules[sub[i]];
		b->b_work += PROG_NDIM;
		if (!prog_covers_box(pr, bx))
			continue;
		(*ncover)++;
		if (pr->pr_terminal && !pr->pr_resid)
			return i + 1;
	}
	return n;
}

/* Store a leaf; its link.  The caller's entry budget covers n + 1. */
static uint32_t
prog_leaf(struct prog_build *b, const uint32_t *sub, uint32_t n,
    const struct prog_box *bx)
{
	struct vfr_prog *p = b->b_p;
	const struct prog_rule *pr;
	uint32_t off, i, e, *ne;
	int d;

	if (n == 0)
		return PROG_EMPTY;
	if ((ne = prog_grow(p->p_ent, &b->b_entcap, (size_t)p->p_nent + n + 1,
	    sizeof(*p->p_ent))) == NULL) {
		b->b_nomem = 1;
		return PROG_EMPTY;
	}
	p->p_ent = ne;
	b->b_work += (uint64_t)n * PROG_NDIM;
	off = p->p_nent;
	p->p_ent[off] = n;
	for (i = 0; i < n; i++) {
		pr = &p->p_rules[sub[i]];
		e = sub[i];
		for (d = 0; d < PROG_NDIM; d++)
			if (!prog_covers(pr->pr_rule, d, bx->bx_lo[d],
			    bx->bx_hi[d]))
				e |= 1U << (PROG_E_DIMS + d);
		if (pr->pr_resid)
			e |= PROG_E_RESID;
		p->p_ent[off + 1 + i] = e;
	}
	p->p_nent += n + 1;
	return PROG_LEAF | off;
}

/* Room for n elements in a scratch array; -1 without memory. */
static int
prog_scratch(struct prog_scratch *sc, size_t n)
{
	u128 *na;

	if ((na = prog_grow(sc->sc_a, &sc->sc_cap, n, sizeof(*na))) == NULL)
		return -1;
	sc->sc_a = na;
	return 0;
}

/* Sort a[0..n) with tmp[0..n) for room: bottom-up merge sort, so that
   no rule set can make it quadratic. */
static void
prog_sort(u128 *a, u128 *tmp, size_t n)
{
	u128 *src = a, *dst = tmp, *t, v;
	size_t w, l, m, r, i, j, o;

	for (l = 0; l < n; l += 16) {
		r = l + 16 < n ? l + 16 : n;
		for (i = l + 1; i < r; i++) {
			v = a[i];
			for (j = i; j > l && a[j - 1] > v; j--)
				a[j] = a[j - 1];
			a[j] = v;
		}
	}
	for (w = 16; w < n; w *= 2) {
		for (l = 0; l < n; l += 2 * w) {
			m = l + w < n ? l + w : n;
			r = l + 2 * w < n ? l + 2 * w : n;
			for (i = l, j = m, o = l; o < r; o++)
				dst[o] = j >= r || (i < m && src[i] <= src[j]) ?
				    src[i++] : src[j++];
		}
		t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
}

/* A candidate cut of a node: the dimension, the cuts, and the estimated
   sizes of the children (from the rules' extents: never too small). */
struct prog_split {
	int		sp_dim;
	uint32_t	sp_ncut;
	u128		sp_cut[PROG_NCUT];
	uint32_t	sp_n[PROG_FANOUT];
	uint64_t	sp_cost;	/* lower is better */
	uint32_t	sp_max;		/* the largest child */
};

/* The child of a split holding value v. */
static uint32_t
prog_child(const u128 *cut, uint32_t ncut, u128 v)
{
	uint32_t c = 0;

	while (c < ncut && v > cut[c])
		c++;
	return c;
}

/*
 * Estimate the children of cutting the n rules (extents in b_min/b_max)
 * at cut[0..ncut), and keep it in *best if it makes progress (every child
 * shorter than n) and costs less.  The cost is the replication per binary
 * level: the sum of the children's sizes for two children, and
 * sqrt(sum * n) for more (as two binary levels of that replication
 * would give), compared squared; a wide node's cost is taken at 6/8, as
 * it saves a dependent load on every lookup (measured: bench/vfr).
 * Then the smaller largest child.
 */
static void
prog_consider(struct prog_build *b, uint32_t n, int d, const u128 *cut,
    uint32_t ncut, struct prog_split *best)
{
	uint32_t cnt[PROG_FANOUT + 1] = { 0 }, i, c, lo, hi, max = 0;
	uint64_t sum = 0, cost;

	b->b_work += n;
	for (i = 0; i < n; i++) {
		lo = prog_child(cut, ncut, b->b_min.sc_a[i]);
		hi = prog_child(cut, ncut, b->b_max.sc_a[i]);
		cnt[lo]++;
		cnt[hi + 1]--;
	}
	for (c = 1; c <= ncut; c++)
		cnt[c] += cnt[c - 1];
	for (c = 0; c <= ncut; c++) {
		if (cnt[c] >= n)
			return;
		sum += cnt[c];
		if (cnt[c] > max)
			max = cnt[c];
	}
	cost = ncut == 1 ? sum * sum : sum * n * PROG_WIDE_BIAS / 8;
	if (best->sp_dim >= 0 && (cost > best->sp_cost ||
	    (cost == best->sp_cost && max >= best->sp_max)))
		return;
	best->sp_dim = d;
	best->sp_ncut = ncut;
	memcpy(best->sp_cut, cut, ncut * sizeof(*cut));
	memcpy(best->sp_n, cnt, (ncut + 1) * sizeof(*cnt));
	best->sp_cost = cost;
	best->sp_max = max;
}

/*
 * The cuts of dimension d at the weighted quartiles of its elementary
 * segments (each weighted by the rules overlapping it), and alone at the
 * median and the boundary before it, as HyperSplit; the best of them
 * kept in *best.  -1 only without memory.
 */
static int
prog_try_dim(struct prog_build *b, const uint32_t *sub, uint32_t n,
    const struct prog_box *bx, int d, struct prog_split *best)
{
	const struct vfr_rule *r;
	u128 blo = bx->bx_lo[d], bhi = bx->bx_hi[d], lo, hi, pos;
	u128 q[PROG_NCUT], cut[PROG_NCUT], *start, *end, *at;
	u128 prev = 0, last = 0;
	uint64_t total, left, cur, *wt;
	uint32_t i, j, nr, ns = 0, ne = 0, np = 0, nq, ncut, k;
	int have_prev = 0, have_last = 0;

	if (blo == bhi)
		return 0;
	for (i = 0; i < n; i++) {
		r = b->b_p->p_rules[sub[i]].pr_rule;
		nr = prog_nrange(r, d);
		b->b_min.sc_a[i] = blo;
		b->b_max.sc_a[i] = bhi;
		if (nr == 0)
			continue;
		if ((j = prog_range_find(r, d, blo)) == nr)
			continue;	/* not reached: rules overlap bx */
		prog_range(r, d, j, &lo, &hi);
		b->b_work++;
		if (lo <= blo && bhi <= hi)
			continue;
		b->b_min.sc_a[i] = lo < blo ? blo : lo;
		for (; j < nr; j++) {
			prog_range(r, d, j, &lo, &hi);
			if (lo > bhi)
				break;
			if (lo < blo)
				lo = blo;
			if (hi > bhi)
				hi = bhi;
			b->b_max.sc_a[i] = hi;
			if (prog_scratch(&b->b_start, (size_t)ns + 1) == -1 ||
			    prog_scratch(&b->b_end, (size_t)ne + 1) == -1)
				return -1;
			b->b_start.sc_a[ns++] = lo;
			if (hi < bhi)
				b->b_end.sc_a[ne++] = hi + 1;
			b->b_work++;
		}
	}
	if (ns == 0)
		return 0;
	if (prog_scratch(&b->b_tmp, (size_t)ns + ne) == -1 ||
	    (wt = prog_grow(b->b_weight, &b->b_wcap, (size_t)ns + ne,
	    sizeof(*wt))) == NULL)
		return -1;
	b->b_weight = wt;
	start = b->b_start.sc_a;
	end = b->b_end.sc_a;
	at = b->b_tmp.sc_a;
	prog_sort(start, at, ns);
	prog_sort(end, at, ne);
	b->b_work += ns + ne;

	/* the distinct positions; the weight of the segment from one to
	   the next is the count of rules overlapping it */
	total = cur = 0;
	for (i = j = 0; i < ns || j < ne; np++) {
		pos = j >= ne || (i < ns && start[i] < end[j]) ? start[i] :
		    end[j];
		while (i < ns && start[i] == pos) {
			cur++;
			i++;
		}
		while (j < ne && end[j] == pos) {
			cur--;
			j++;
		}
		at[np] = pos;
		wt[np] = cur;
		total += cur;
	}

	/* the weighted quartiles: the first boundary (a position p > blo,
	   cutting at p - 1) with a quarter, half, three quarters of the
	   weight on its left; and the boundary before the median */
	left = 0;
	nq = 0;
	for (i = 0; i < np && nq < PROG_NCUT; i++) {
		if (at[i] > blo) {
			while (nq < PROG_NCUT &&
			    4 * left >= (nq + 1) * total) {
				if (nq == 1) {
					prev = last;
					have_prev = have_last;
				}
				q[nq++] = at[i] - 1;
			}
			last = at[i] - 1;
			have_last = 1;
		}
		left += wt[i];
	}
	if (nq == 0)
		return 0;	/* all the weight at blo: no cut */
	for (ncut = 0, k = 0; k < nq; k++)
		if (ncut == 0 || q[k] > cut[ncut - 1])
			cut[ncut++] = q[k];
	prog_consider(b, n, d, cut, ncut, best);
	if (nq >= 2) {
		prog_consider(b, n, d, &q[1], 1, best);
		if (have_prev && prev < q[1])
			prog_consider(b, n, d, &prev, 1, best);
	}
	return 0;
}

static uint32_t prog_node_build(struct prog_build *, uint32_t *, uint32_t,
    const struct prog_box *, int, size_t, uint64_t, size_t *);

/*
 * Build the subtree of box bx holding rules sub[0..n) (in order, each
 * overlapping bx), within budget leaf entries, and splitting only until
 * b_work reaches wlimit; its link, and in *used the entries it took.  sub
 * is the caller's and may be shortened.  Both budgets are shared among
 * the children by their sizes, what one child leaves going to the next:
 * a rule set too big for them gets longer leaves everywhere rather than
 * a good tree on one side and a list on the other.
 */
static uint32_t
prog_node_build(struct prog_build *b, uint32_t *sub, uint32_t n,
    const struct prog_box *bx, int depth, size_t budget, uint64_t wlimit,
    size_t *used)
{
	struct vfr_prog *p = b->b_p;
	struct prog_split sp;
	struct prog_node *nodes;
	struct prog_box cb;
	uint32_t *kid[PROG_FANOUT] = { NULL }, nk[PROG_FANOUT] = { 0 };
	uint32_t i, c, idx, link, nchild, ncover;
	size_t left, need, share, u, total = 0;
	uint64_t wleft;
	int d;

	*used = 0;
	n = prog_prune(b, sub, n, bx, &ncover);
	if (n == 0)
		return PROG_EMPTY;
	if (n - ncover <= PROG_BINTH || depth >= PROG_DEPTH_MAX ||
	    b->b_work >= wlimit || p->p_nnodes >= PROG_NODES_MAX ||
	    budget < (size_t)n + 3)
		goto leaf;

	if (prog_scratch(&b->b_min, n) == -1 ||
	    prog_scratch(&b->b_max, n) == -1)
		goto nomem;
	memset(&sp, 0, sizeof(sp));
	sp.sp_dim = -1;
	for (d = 0; d < PROG_NDIM; d++)
		if (prog_try_dim(b, sub, n, bx, d, &sp) == -1)
			goto nomem;
	if (sp.sp_dim < 0)
		goto leaf;
	d = sp.sp_dim;
	nchild = sp.sp_ncut + 1;
	for (c = 0, need = 0; c < nchild; c++)
		need += sp.sp_n[c] + 1;
	if (need > budget)
		goto leaf;

	if ((nodes = prog_grow(p->p_nodes, &b->b_nodecap,
	    (size_t)p->p_nnodes + 1, sizeof(*p->p_nodes))) == NULL)
		goto nomem;
	p->p_nodes = nodes;
	for (c = 0; c < nchild; c++)
		if (sp.sp_n[c] != 0 && (kid[c] = malloc(sp.sp_n[c] *
		    sizeof(*kid[c]))) == NULL)
			goto nomem;
	/* the exact children: the estimates may be larger */
	for (i = 0; i < n; i++) {
		const struct vfr_rule *r = p->p_rules[sub[i]].pr_rule;
		u128 lo = bx->bx_lo[d], hi;

		for (c = 0; c < nchild; c++) {
			hi = c < sp.sp_ncut ? sp.sp_cut[c] : bx->bx_hi[d];
			if (prog_overlaps(r, d, lo, hi))
				kid[c][nk[c]++] = sub[i];
			lo = hi + 1;
		}
	}
	b->b_work += (uint64_t)n * nchild;

	idx = p->p_nnodes++;
	for (c = 0; c < PROG_NCUT; c++)
		p->p_nodes[idx].pn_cut[c] = c < sp.sp_ncut ? sp.sp_cut[c] :
		    prog_u128_max;
	for (c = 0; c < PROG_FANOUT; c++)
		p->p_nodes[idx].pn_kid[c] = PROG_EMPTY;

	/* each child gets a share of what is left by its size; what one
	   does not use goes to the next */
	left = budget;
	for (c = 0; c < nchild; c++) {
		need = 0;
		for (i = c; i < nchild; i++)
			need += nk[i] + 1;
		share = left / need * (nk[c] + 1);
		if (share < nk[c] + 1)
			share = nk[c] + 1;
		if (share > left - (need - (nk[c] + 1)))
			share = left - (need - (nk[c] + 1));
		wleft = wlimit > b->b_work ? wlimit - b->b_work : 0;
		cb = *bx;
		cb.bx_lo[d] = c == 0 ? bx->bx_lo[d] : sp.sp_cut[c - 1] + 1;
		cb.bx_hi[d] = c < sp.sp_ncut ? sp.sp_cut[c] : bx->bx_hi[d];
		link = prog_node_build(b, kid[c], nk[c], &cb, depth + 1, share,
		    b->b_work + wleft / need * (nk[c] + 1), &u);
		p->p_nodes[idx].pn_kid[c] = link;
		left -= u;
		total += u;
		free(kid[c]);
		kid[c] = NULL;
	}
	*used = total;
	return (uint32_t)d << PROG_DIM_SHIFT | idx;

 leaf:
	*used = n + 1;
	return prog_leaf(b, sub, n, bx);
 nomem:
	for (c = 0; c < PROG_FANOUT; c++)
		free(kid[c]);
	b->b_nomem = 1;
	return PROG_EMPTY;
}

static int
prog_in_tree(const struct vfr_rule *r, int dir, int l3)
{
	if ((r->r_dir & dir) == 0)
		return 0;
	if (r->r_l3 != 0 && (r->r_l3 & l3) == 0)
		return 0;
	/* an address constraint needs an IP header */
	if ((r->r_narange[VFR_A_SRC] != 0 || r->r_narange[VFR_A_DST] != 0) &&
	    (l3 & (VFR_L3_IP4 | VFR_L3_IP6)) == 0)
		return 0;
	return 1;
}

static void
prog_rule_init(struct prog_rule *pr, const struct vfr_rule *r)
{
	int f;

	memset(pr, 0, sizeof(*pr));
	pr->pr_rule = r;
	pr->pr_terminal = VFR_ACTION_TERMINAL(r->r_action);
	pr->pr_resid = r->r_ct != 0 || r->r_tcp_mask != 0 || r->r_nbpf != 0;
	for (f = 0; f < VFR_NFIELDS; f++)
		if (r->r_nrange[f] == 1) {
			pr->pr_flo[f] = r->r_range[f][0].rg_lo;
			pr->pr_fhi[f] = r->r_range[f][0].rg_hi;
		}
	for (f = 0; f < VFR_NAFIELDS; f++)
		if (r->r_narange[f] == 1) {
			pr->pr_alo[f] = prog_addr(&r->r_arange[f][0].ar_lo);
			pr->pr_ahi[f] = prog_addr(&r->r_arange[f][0].ar_hi);
		}
}

/* Shrink an array to its length; keep it if realloc() declines. */
static void *
prog_shrink(void *a, size_t n, size_t size)
{
	void *na;

	if (n == 0 || (na = realloc(a, n * size)) == NULL)
		return a;
	return na;
}

static void
prog_build_free(struct prog_build *b)
{
	free(b->b_start.sc_a);
	free(b->b_end.sc_a);
	free(b->b_tmp.sc_a);
	free(b->b_min.sc_a);
	free(b->b_max.sc_a);
	free(b->b_weight);
	memset(b, 0, sizeof(*b));
}

/*
 * The rule set must have passed vfr_ruleset_check() (the program trusts
 * its ranges to be sorted and disjoint); one with more than VFR_MAX_RULES
 * rules is EINVAL.  A NULL vif or domain is "".
 */
struct vfr_prog *
vfr_prog_build(const struct vfr_ruleset *rs, const char *vif,
    const char *domain)
{
	static const uint8_t l3bit[PROG_NL3] = { VFR_L3_IP4, VFR_L3_IP6,
	    VFR_L3_ARP, VFR_L3_OTHER };
	struct prog_build b;
	struct prog_node *nodes;
	struct vfr_prog *p;
	struct prog_box box;
	uint32_t *sub = NULL, n, i, dir, l3, rest;
	size_t budget, left, used;
	uint64_t wtotal, wleft, wlimit;
	int d;

	if (rs->rs_nrules > VFR_MAX_RULES || rs->rs_nrules >= PROG_RULES_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (vif == NULL)
		vif = "";
	if (domain == NULL)
		domain = "";
	memset(&b, 0, sizeof(b));
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	b.b_p = p;
	p->p_rs = rs;
	if (rs->rs_nrules != 0 && (p->p_rules = calloc(rs->rs_nrules,
	    sizeof(*p->p_rules))) == NULL)
		goto fail;
	for (i = 0; i < rs->rs_nrules; i++) {
		const struct vfr_rule *r = &rs->rs_rules[i];

		if (r->r_vif[0] != '\0' && strcmp(r->r_vif, vif) != 0)
			continue;
		if (r->r_domain[0] != '\0' && strcmp(r->r_domain, domain) != 0)
			continue;
		prog_rule_init(&p->p_rules[p->p_nrules++], r);
	}
	p->p_rules = prog_shrink(p->p_rules, p->p_nrules,
	    sizeof(*p->p_rules));
	if ((p->p_ent = malloc(64 * sizeof(*p->p_ent))) == NULL)
		goto fail;
	b.b_entcap = 64;
	p->p_ent[0] = 0;	/* the empty leaf */
	p->p_nent = 1;
	if (p->p_nrules != 0 && (sub = malloc(p->p_nrules *
	    sizeof(*sub))) == NULL)
		goto fail;

	/* the entry budget, shared by the trees by their sizes */
	rest = 0;
	for (dir = 0; dir < 2; dir++)
		for (l3 = 0; l3 < PROG_NL3; l3++) {
			rest++;
			for (i = 0; i < p->p_nrules; i++)
				rest += prog_in_tree(p->p_rules[i].pr_rule,
				    1 << dir, l3bit[l3]);
		}
	left = PROG_ENTS_BASE + (size_t)p->p_nrules * PROG_ENTS_RULE;
	if (left > PROG_ENTS_MAX)
		left = PROG_ENTS_MAX;
	wtotal = PROG_WORK_BASE + (uint64_t)p->p_nrules * PROG_WORK_RULE;
	for (dir = 0; dir < 2; dir++)
		for (l3 = 0; l3 < PROG_NL3; l3++) {
			n = 0;
			for (i = 0; i < p->p_nrules; i++)
				if (prog_in_tree(p->p_rules[i].pr_rule,
				    1 << dir, l3bit[l3]))
					sub[n++] = i;
			for (d = 0; d < PROG_NDIM; d++) {
				box.bx_lo[d] = 0;
				box.bx_hi[d] = prog_dim_max(d);
			}
			budget = left / rest * (n + 1);
			if (budget < (size_t)n + 1)
				budget = n + 1;
			wleft = wtotal > b.b_work ? wtotal - b.b_work : 0;
			wlimit = b.b_work + wleft / rest * (n + 1);
			rest -= n + 1;
			p->p_root[dir][l3] = prog_node_build(&b, sub, n, &box,
			    0, budget, wlimit, &used);
			if (b.b_nomem)
				goto fail;
			left = left > used ? left - used : 0;
		}
	prog_build_free(&b);
	free(sub);
	p->p_ent = prog_shrink(p->p_ent, p->p_nent, sizeof(*p->p_ent));
	/* nodes on cache lines */
	if (p->p_nnodes != 0) {
		if ((nodes = aligned_alloc(64, p->p_nnodes *
		    sizeof(*nodes))) == NULL)
			goto fail;
		memcpy(nodes, p->p_nodes, p->p_nnodes * sizeof(*nodes));
		free(p->p_nodes);
		p->p_nodes = nodes;
	}
	return p;

 fail:
	prog_build_free(&b);
	free(sub);
	vfr_prog_free(p);
	errno = ENOMEM;
	return NULL;
}

void
vfr_prog_free(struct vfr_prog *p)
{
	if (p == NULL)
		return;
	free(p->p_rules);
	free(p->p_nodes);
	free(p->p_ent);
	free(p);
}

size_t
vfr_prog_size(const struct vfr_prog *p)
{
	if (p == NULL)
		return 0;
	return sizeof(*p) + p->p_nrules * sizeof(*p->p_rules) +
	    p->p_nnodes * sizeof(*p->p_nodes) +
	    p->p_nent * sizeof(*p->p_ent);
}
