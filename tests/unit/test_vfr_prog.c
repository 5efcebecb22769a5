/*
 * prog.c, obj.c, bpf.c: the fast classifier agrees with the reference
 * interpreter (verdicts and hit sequences, callback stops included) on
 * seeded random rule sets of 10 to 10,000 rules and packets aimed at rule
 * boundaries; compiled objects round-trip exactly and bad ones are
 * refused with a message; the BPF interpreter agrees with libpcap's on
 * pcap_compile()'s programs.
 *
 * Rule sets are built as IR directly (no parser).  VFR_TEST_SEED=n
 * replays another seed.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "vfr.h"
#include "../vfr_gen.h"

/* A few values rules and packets share, so that they meet often. */
static const uint32_t port_pool[] = { 0, 1, 22, 53, 80, 443, 1023, 1024,
    3306, 8080, 32768, 65534, 65535 };
static const uint32_t proto_pool[] = { 1, 6, 17, 58, 132, 0, 255 };
static const uint32_t etype_pool[] = { 0x0800, 0x86dd, 0x0806, 0x8100,
    0x88cc };
static const uint32_t v4_pool[] = { 0x0a000000, 0x0a010000, 0x0a010200,
    0xc0a80000, 0xc0a80101, 0xac100000, 0x08080808, 0x00000000,
    0xffffffff, 0x7f000001 };

/* Tight: every field and address drawn from a dozen neighbouring values,
   so that rule boundaries touch and cross everywhere. */
static int gen_tight;

static uint32_t
pick_value(int f)
{
	if (gen_tight)
		return 100 + rnd(12);
	switch (f) {
	case VFR_F_ETHERTYPE:
		return chance(80) ? etype_pool[rnd(5)] : rnd(0x10000);
	case VFR_F_PROTO:
		return chance(85) ? proto_pool[rnd(7)] : rnd(256);
	case VFR_F_SPORT:
	case VFR_F_DPORT:
		return chance(70) ? port_pool[rnd(13)] : rnd(0x10000);
	default:
		return chance(50) ? rnd(20) : rnd(256);
	}
}

static u128
pick_addr(int v6)
{
	u128 v;

	if (gen_tight)
		return ((u128)0xffff << 32 | 0x0a000000) + rnd(16);
	if (!v6)
		return (u128)0xffff << 32 | (chance(80) ? v4_pool[rnd(10)] +
		    rnd(4) * (chance(50) ? 1 : 256) : (uint32_t)rng());
	v = (u128)0x20010db8 << 96 | (u128)rnd(4) << 80;
	if (chance(50))
		v |= (u128)rng() << 64 | rng();
	return chance(5) ? ~(u128)0 - rnd(3) : chance(5) ? rnd(3) : v;
}

/* A prefix of length len around v (v6: of 128 bits; else of the 32 bits
   of an IPv4-mapped address). */
static void
prefix(u128 v, int v6, unsigned len, u128 *lo, u128 *hi)
{
	unsigned host = (v6 ? 128 : 32) - len;
	u128 mask = host == 128 ? ~(u128)0 : (((u128)1 << host) - 1);

	*lo = v & ~mask;
	*hi = *lo | mask;
}

static void
gen_fields(struct vfr_rule *r, int f)
{
	uint32_t n, j, a, b;

	n = chance(70) ? 1 : 1 + rnd(6);
	r->r_range[f] = xcalloc(n, sizeof(*r->r_range[f]));
	for (j = 0; j < n; j++) {
		a = pick_value(f);
		b = chance(60) ? a : chance(50) ? pick_value(f) :
		    a + rnd(gen_tight ? 4 : 100);
		if (f == VFR_F_PROTO || f >= VFR_F_ICMPTYPE) {
			a &= 0xff;
			b &= 0xff;
		}
		if (b > 0xffff)
			b = 0xffff;
		if (a > b) {
			uint32_t t = a;
			a = b;
			b = t;
		}
		r->r_range[f][j].rg_lo = a;
		r->r_range[f][j].rg_hi = b;
	}
	r->r_nrange[f] = range_norm(r->r_range[f], n);
}

static void
gen_addrs(struct vfr_rule *r, int a, int v6)
{
	uint32_t n, j;
	u128 lo, hi;

	n = chance(80) ? 1 : 1 + rnd(4);
	r->r_arange[a] = xcalloc(n, sizeof(*r->r_arange[a]));
	for (j = 0; j < n; j++) {
		if (chance(90))
			prefix(pick_addr(v6), v6, gen_tight ? 28 + rnd(5) :
			    v6 ? rnd(129) : rnd(33), &lo, &hi);
		else {
			lo = pick_addr(v6);
			hi = pick_addr(v6);
			if (lo > hi) {
				u128 t = lo;
				lo = hi;
				hi = t;
			}
		}
		r->r_arange[a][j].ar_lo = u2a(lo);
		r->r_arange[a][j].ar_hi = u2a(hi);
	}
	r->r_narange[a] = arange_norm(r->r_arange[a], n);
}

/* Tiny valid BPF programs: "frame longer than k", "byte at off is v". */
static void
gen_bpf(struct vfr_rule *r)
{
	struct vfr_insn *p = xcalloc(4, sizeof(*p));

	if (chance(50)) {
		p[0] = (struct vfr_insn){ 0x80, 0, 0, 0 };	/* ld len */
		p[1] = (struct vfr_insn){ 0x25, 0, 1, rnd(80) }; /* jgt k */
		p[2] = (struct vfr_insn){ 0x06, 0, 0, 1 };	/* ret 1 */
		p[3] = (struct vfr_insn){ 0x06, 0, 0, 0 };	/* ret 0 */
	} else {
		p[0] = (struct vfr_insn){ 0x30, 0, 0, rnd(64) }; /* ldb [k] */
		p[1] = (struct vfr_insn){ 0x45, 0, 1, 1U << rnd(8) };
		p[2] = (struct vfr_insn){ 0x06, 0, 0, 0xffff };
		p[3] = (struct vfr_insn){ 0x06, 0, 0, 0 };
	}
	r->r_bpf = p;
	r->r_nbpf = 4;
}

static void
gen_rule(struct vfr_rule *r, uint32_t id, unsigned density)
{
	static const char *const vifs[] = { "vif1", "vif2" };
	static const char *const doms[] = { "dom1", "dom2" };
	int f, v6;

	memset(r, 0, sizeof(*r));
	r->r_id = id;
	r->r_line = id + 1;
	r->r_action = chance(75) ? VFR_ACCEPT + rnd(3) : VFR_COUNT + rnd(3);
	if (r->r_action == VFR_RATELIMIT) {
		r->r_rl_rate = 1 + rnd(1000);
		r->r_rl_burst = 1 + rnd(1000);
		r->r_rl_bytes = rnd(2);
	}
	r->r_log = chance(10);
	r->r_dir = 1 + rnd(3);
	v6 = chance(25);
	if (chance(20))
		r->r_l3 = 1 + rnd(15);
	if (chance(10))
		r->r_ct = 1 + rnd(31);
	if (chance(8)) {
		r->r_tcp_mask = 1 + rnd(255);
		r->r_tcp_val = r->r_tcp_mask & rnd(256);
	}
	for (f = 0; f < VFR_NFIELDS; f++) {
		static const unsigned pct[VFR_NFIELDS] = { 8, 50, 25, 60,
		    10, 5 };

		if (chance(pct[f] * density / 100))
			gen_fields(r, f);
	}
	if (chance(60 * density / 100))
		gen_addrs(r, VFR_A_SRC, v6);
	if (chance(60 * density / 100))
		gen_addrs(r, VFR_A_DST, v6);
	/* few broad terminal rules, or no key would get past the first
	   ones: most get a narrow source or destination */
	if (VFR_ACTION_TERMINAL(r->r_action) && chance(85)) {
		int a = rnd(2);
		u128 lo, hi;

		free(r->r_arange[a]);
		r->r_arange[a] = xcalloc(1, sizeof(*r->r_arange[a]));
		prefix(pick_addr(v6), v6, gen_tight ? 30 + rnd(3) :
		    v6 ? 64 + rnd(65) : 16 + rnd(17), &lo, &hi);
		r->r_arange[a][0].ar_lo = u2a(lo);
		r->r_arange[a][0].ar_hi = u2a(hi);
		r->r_narange[a] = 1;
	}
	if (chance(2))
		gen_bpf(r);
	if (chance(5))
		strcpy(r->r_vif, vifs[rnd(2)]);
	if (chance(5))
		strcpy(r->r_domain, doms[rnd(2)]);
	if (chance(90)) {
		char buf[64];

		snprintf(buf, sizeof(buf), "rule %u", id);
		r->r_text = strdup(buf);
	}
}

static void
gen_ruleset(struct vfr_ruleset *rs, uint32_t n, unsigned density)
{
	uint32_t i;

	memset(rs, 0, sizeof(*rs));
	rs->rs_rules = xcalloc(n, sizeof(*rs->rs_rules));
	rs->rs_nrules = n;
	for (i = 0; i < n; i++)
		gen_rule(&rs->rs_rules[i], i, density);
	rs->rs_policy[0] = chance(50) ? VFR_ACCEPT : VFR_DROP;
	rs->rs_policy[1] = chance(50) ? VFR_ACCEPT : VFR_DROP;
}

/* A value near one of rule r's boundaries in field f, or elsewhere;
   inside its ranges if inside. */
static uint32_t
near_value(const struct vfr_rule *r, int f, int inside)
{
	const struct vfr_range *rg;
	uint32_t v;

	if (r->r_nrange[f] == 0 || (!inside && chance(20)))
		return chance(10) ? VFR_NONE : pick_value(f);
	rg = &r->r_range[f][rnd(r->r_nrange[f])];
	switch (inside ? 1 + rnd(2) * 3 : rnd(5)) {
	case 0:
		v = rg->rg_lo - 1;	/* may wrap: a hostile value */
		break;
	case 1:
		v = rg->rg_lo;
		break;
	case 4:
		v = rg->rg_hi;
		break;
	case 3:
		v = rg->rg_hi + 1;
		break;
	default:
		v = rg->rg_lo + rnd(rg->rg_hi - rg->rg_lo + 1);
	}
	return v;
}

static struct vfr_addr
near_addr(const struct vfr_rule *r, int a, int v6, int inside)
{
	const struct vfr_arange *ar;
	u128 lo, hi;

	if (r->r_narange[a] == 0 || (!inside && chance(20)))
		return u2a(pick_addr(v6));
	ar = &r->r_arange[a][rnd(r->r_narange[a])];
	lo = a2u(&ar->ar_lo);
	hi = a2u(&ar->ar_hi);
	switch (inside ? 1 + rnd(2) * 3 : rnd(5)) {
	case 0:
		return u2a(lo - 1);
	case 1:
		return u2a(lo);
	case 4:
		return u2a(hi);
	case 3:
		return u2a(hi + 1);
	}
	return u2a(lo + (hi - lo) / 2);
}

static void
gen_key(struct vfr_key *k, const struct vfr_ruleset *rs)
{
	static const uint8_t l3s[] = { VFR_L3_IP4, VFR_L3_IP4, VFR_L3_IP6,
	    VFR_L3_IP6, VFR_L3_ARP, VFR_L3_OTHER };
	const struct vfr_rule *r;
	int f, v6, in;

	memset(k, 0, sizeof(*k));
	r = rs->rs_nrules != 0 ? &rs->rs_rules[rnd(rs->rs_nrules)] : NULL;
	in = r != NULL && chance(50);	/* aim inside r, mostly */
	k->k_dir = chance(2) ? rnd(4) : 1 + rnd(2);	/* 0 and 3: hostile */
	if (in && (r->r_dir & k->k_dir) == 0)
		k->k_dir = r->r_dir == VFR_DIR_OUT ? VFR_DIR_OUT : VFR_DIR_IN;
	k->k_l3 = chance(2) ? rnd(16) : l3s[rnd(6)];
	if (in && r->r_l3 != 0 && (r->r_l3 & k->k_l3) == 0)
		k->k_l3 = 1U << __builtin_ctz(r->r_l3);
	if (in && (r->r_narange[0] != 0 || r->r_narange[1] != 0) &&
	    (k->k_l3 & (VFR_L3_IP4 | VFR_L3_IP6)) == 0)
		k->k_l3 = VFR_L3_IP4;
	k->k_ct = chance(3) ? rnd(32) : 1U << rnd(5);
	if (in && r->r_ct != 0 && chance(80))
		k->k_ct = 1U << __builtin_ctz(r->r_ct);
	k->k_tcpflags = rnd(256);
	if (in && r->r_tcp_mask != 0 && chance(80)) {
		k->k_tcpflags = (k->k_tcpflags & ~r->r_tcp_mask) |
		    r->r_tcp_val;
	}
	v6 = k->k_l3 == VFR_L3_IP6;
	for (f = 0; f < VFR_NFIELDS; f++)
		k->k_f[f] = r != NULL ? near_value(r, f, in && chance(95)) :
		    pick_value(f);
	if (in && r->r_tcp_mask != 0 && chance(80))
		k->k_f[VFR_F_PROTO] = 6;
	if ((k->k_l3 & (VFR_L3_IP4 | VFR_L3_IP6)) != 0 || chance(10))
		for (f = 0; f < VFR_NAFIELDS; f++)
			k->k_addr[f] = r != NULL ? near_addr(r, f, v6,
			    in && chance(95)) : u2a(pick_addr(v6));
}

/* ---- comparing ---- */

#define HITS_MAX	VFR_MAX_RULES

struct hits {
	const struct vfr_rule	*h_rule[HITS_MAX];
	uint32_t		 h_n;
	uint32_t		 h_stop_mod;	/* stop on ids == stop_at mod */
	uint32_t		 h_stop_at;
};

static int
hit_record(void *arg, const struct vfr_rule *r)
{
	struct hits *h = arg;

	if (h->h_n < HITS_MAX)
		h->h_rule[h->h_n] = r;
	h->h_n++;
	return h->h_stop_mod != 0 && r->r_id % h->h_stop_mod == h->h_stop_at;
}

static struct hits hits_ref, hits_prog;

/* 1 if prog and ref agree on key k (and frame); reports the first few
   disagreements. */
static struct vfr_verdict agree_nostop;	/* ref's, without callback */

static int
agree(const struct vfr_ruleset *rs, const struct vfr_prog *p,
    const char *vif, const char *dom, const struct vfr_key *k,
    const uint8_t *frame, size_t len, uint32_t stop_mod, uint32_t stop_at)
{
	static int reported;
	struct vfr_verdict vr, vp;
	int ok;

	memset(&hits_ref, 0, sizeof(hits_ref));
	memset(&hits_prog, 0, sizeof(hits_prog));
	hits_ref.h_stop_mod = hits_prog.h_stop_mod = stop_mod;
	hits_ref.h_stop_at = hits_prog.h_stop_at = stop_at;
	vfr_ref_classify(rs, vif, dom, k, frame, len, hit_record, &hits_ref,
	    &vr);
	vfr_classify(p, k, frame, len, hit_record, &hits_prog, &vp);
	ok = vr.v_action == vp.v_action && vr.v_policy == vp.v_policy &&
	    vr.v_stopped == vp.v_stopped && vr.v_rule == vp.v_rule &&
	    hits_ref.h_n == hits_prog.h_n &&
	    memcmp(hits_ref.h_rule, hits_prog.h_rule,
	    (hits_ref.h_n < HITS_MAX ? hits_ref.h_n : HITS_MAX) *
	    sizeof(hits_ref.h_rule[0])) == 0;
	if (!ok && reported++ < 5)
		fprintf(stderr, "disagree: dir %u l3 %u ct %u f %u/%u/%u/%u "
		    "ref act %u rule %d hits %u, prog act %u rule %d hits %u\n",
		    k->k_dir, k->k_l3, k->k_ct, k->k_f[0], k->k_f[1],
		    k->k_f[2], k->k_f[3], vr.v_action,
		    vr.v_rule ? (int)vr.v_rule->r_id : -1, hits_ref.h_n,
		    vp.v_action, vp.v_rule ? (int)vp.v_rule->r_id : -1,
		    hits_prog.h_n);
	/* without a callback too */
	vfr_ref_classify(rs, vif, dom, k, frame, len, NULL, NULL, &vr);
	vfr_classify(p, k, frame, len, NULL, NULL, &vp);
	ok = ok && vr.v_action == vp.v_action && vr.v_rule == vp.v_rule &&
	    vr.v_policy == vp.v_policy && vr.v_stopped == vp.v_stopped;
	agree_nostop = vr;
	return ok;
}

static void
test_differential(uint32_t nrules, unsigned density, int tight,
    uint32_t nkeys)
{
	static const char *const vifs[] = { "vif1", "vif2", "" };
	static const char *const doms[] = { "dom1", "dom3" };
	struct vfr_ruleset rs;
	struct vfr_prog *p;
	struct vfr_key k;
	uint8_t frame[96];
	uint32_t i, bad = 0, nonpolicy = 0, hitsum = 0;
	uint64_t depth = 0;
	size_t len;
	int v;

	gen_tight = tight;
	gen_ruleset(&rs, nrules, density);
	{
		char err[160];

		CHECK(vfr_ruleset_check(&rs, err, sizeof(err)) == 0);
	}
	for (v = 0; v < 3; v++) {
		const char *vif = vifs[v], *dom = doms[v % 2];

		p = vfr_prog_build(&rs, vif, dom);
		CHECK(p != NULL);
		if (p == NULL)
			continue;
		CHECK(vfr_prog_size(p) > 0);
		for (i = 0; i < nkeys; i++) {
			const struct vfr_verdict *vr = &agree_nostop;

			gen_key(&k, &rs);
			len = rnd(sizeof(frame) + 1);
			for (size_t j = 0; j < len; j++)
				frame[j] = rng();
			if (!agree(&rs, p, vif, dom, &k, frame, len,
			    chance(30) ? 1 + rnd(5) : 0, rnd(5)))
				bad++;
			nonpolicy += !vr->v_policy;
			if (!vr->v_policy)
				depth += vr->v_rule->r_id;
			hitsum += hits_ref.h_n;
		}
		vfr_prog_free(p);
	}
	printf("  %5u rules (density %u%%%s): %u keys x 3 vifs, %u decided "
	    "by a rule (mean index %llu), %u hits, %u disagreements\n",
	    nrules, density, tight ? ", tight" : "", nkeys, nonpolicy,
	    (unsigned long long)(nonpolicy ? depth / nonpolicy : 0), hitsum,
	    bad);
	gen_tight = 0;
	CHECK_EQ(bad, 0);
	/* the keys must exercise rules, not only the policy */
	CHECK(nrules < 100 || nonpolicy > nkeys / 2);
	vfr_ruleset_free(&rs);
}

/* Hand-made cases the random ones might miss. */
static void
test_edges(void)
{
	struct vfr_ruleset rs;
	struct vfr_rule *r;
	struct vfr_prog *p;
	struct vfr_key k;
	struct vfr_verdict v;
	uint32_t i;

	/* 0 rules: the policy */
	memset(&rs, 0, sizeof(rs));
	rs.rs_policy[0] = VFR_DROP;
	rs.rs_policy[1] = VFR_ACCEPT;
	p = vfr_prog_build(&rs, "vif1", "dom1");
	CHECK(p != NULL);
	memset(&k, 0, sizeof(k));
	k.k_dir = VFR_DIR_IN;
	k.k_l3 = VFR_L3_IP4;
	vfr_classify(p, &k, NULL, 0, NULL, NULL, &v);
	CHECK(v.v_action == VFR_DROP && v.v_policy == 1 && v.v_rule == NULL);
	k.k_dir = VFR_DIR_OUT;
	vfr_classify(p, &k, NULL, 0, NULL, NULL, &v);
	CHECK(v.v_action == VFR_ACCEPT && v.v_policy == 1);
	vfr_prog_free(p);
	vfr_prog_free(NULL);

	/* "drop dport 80" then 2000 count rules then "accept": packets
	   without ports (VFR_NONE) and at 79/80/81 */
	rs.rs_nrules = 2002;
	rs.rs_rules = xcalloc(rs.rs_nrules, sizeof(*rs.rs_rules));
	for (i = 0; i < rs.rs_nrules; i++) {
		r = &rs.rs_rules[i];
		r->r_id = i;
		r->r_dir = VFR_DIR_IN | VFR_DIR_OUT;
		r->r_action = i == 0 ? VFR_DROP : i == rs.rs_nrules - 1 ?
		    VFR_ACCEPT : VFR_COUNT;
		if (i == 0 || (i != rs.rs_nrules - 1)) {
			r->r_nrange[VFR_F_DPORT] = 1;
			r->r_range[VFR_F_DPORT] = xcalloc(1,
			    sizeof(struct vfr_range));
			r->r_range[VFR_F_DPORT][0].rg_lo = i == 0 ? 80 : i;
			r->r_range[VFR_F_DPORT][0].rg_hi = i == 0 ? 80 : i + 10;
		}
	}
	p = vfr_prog_build(&rs, "", "");
	CHECK(p != NULL);
	for (i = 0; i < 2100; i++) {
		k.k_f[VFR_F_DPORT] = i == 2099 ? VFR_NONE : i;
		k.k_dir = VFR_DIR_IN;
		CHECK(agree(&rs, p, "", "", &k, NULL, 0, 0, 0));
		CHECK(agree(&rs, p, "", "", &k, NULL, 0, 7, i % 7));
	}
	k.k_f[VFR_F_DPORT] = 80;
	vfr_classify(p, &k, NULL, 0, NULL, NULL, &v);
	CHECK(v.v_action == VFR_DROP && v.v_rule == &rs.rs_rules[0]);
	k.k_f[VFR_F_DPORT] = 500;
	memset(&hits_prog, 0, sizeof(hits_prog));
	vfr_classify(p, &k, NULL, 0, hit_record, &hits_prog, &v);
	CHECK(v.v_action == VFR_ACCEPT && v.v_rule == &rs.rs_rules[2001]);
	CHECK_EQ(hits_prog.h_n, 11);	/* count rules 490..500 */
	/* a stop on the first hit */
	memset(&hits_prog, 0, sizeof(hits_prog));
	hits_prog.h_stop_mod = 1;
	vfr_classify(p, &k, NULL, 0, hit_record, &hits_prog, &v);
	CHECK(v.v_stopped == 1 && v.v_action == VFR_DROP &&
	    v.v_rule == &rs.rs_rules[490] && hits_prog.h_n == 1);
	vfr_prog_free(p);
	vfr_ruleset_free(&rs);

	/* an address rule never matches a key without IP, whatever its
	   addresses */
	rs.rs_nrules = 1;
	rs.rs_rules = xcalloc(1, sizeof(*rs.rs_rules));
	rs.rs_policy[0] = rs.rs_policy[1] = VFR_ACCEPT;
	r = &rs.rs_rules[0];
	r->r_dir = VFR_DIR_IN;
	r->r_action = VFR_DROP;
	r->r_narange[VFR_A_SRC] = 1;
	r->r_arange[VFR_A_SRC] = xcalloc(1, sizeof(struct vfr_arange));
	r->r_arange[VFR_A_SRC][0].ar_hi = u2a(~(u128)0);	/* any */
	p = vfr_prog_build(&rs, "x", "y");
	memset(&k, 0, sizeof(k));
	k.k_dir = VFR_DIR_IN;
	for (i = 0; i < 16; i++) {
		k.k_l3 = i;
		CHECK(agree(&rs, p, "x", "y", &k, NULL, 0, 0, 0));
	}
	k.k_l3 = VFR_L3_ARP;
	vfr_classify(p, &k, NULL, 0, NULL, NULL, &v);
	CHECK(v.v_policy == 1);
	k.k_l3 = VFR_L3_IP6;
	vfr_classify(p, &k, NULL, 0, NULL, NULL, &v);
	CHECK(v.v_action == VFR_DROP && v.v_policy == 0);
	vfr_prog_free(p);
	vfr_ruleset_free(&rs);
}

/* Build time and memory stay bounded on a cross-product-heavy set. */
static void
test_bounded(void)
{
	struct vfr_ruleset rs;
	struct vfr_prog *p;
	struct vfr_key k;
	uint32_t i;
	int bad = 0;

	memset(&rs, 0, sizeof(rs));
	rs.rs_nrules = 4000;
	rs.rs_rules = xcalloc(rs.rs_nrules, sizeof(*rs.rs_rules));
	rs.rs_policy[0] = rs.rs_policy[1] = VFR_DROP;
	/* every rule a wide sport range crossed with a narrow dport one,
	   and the other way round: classic replication */
	for (i = 0; i < rs.rs_nrules; i++) {
		struct vfr_rule *r = &rs.rs_rules[i];
		int wide = i % 2 ? VFR_F_SPORT : VFR_F_DPORT;
		int narrow = i % 2 ? VFR_F_DPORT : VFR_F_SPORT;

		r->r_id = i;
		r->r_dir = VFR_DIR_IN | VFR_DIR_OUT;
		r->r_action = VFR_ACCEPT;
		r->r_nrange[wide] = r->r_nrange[narrow] = 1;
		r->r_range[wide] = xcalloc(1, sizeof(struct vfr_range));
		r->r_range[narrow] = xcalloc(1, sizeof(struct vfr_range));
		r->r_range[wide][0].rg_lo = i * 8;
		r->r_range[wide][0].rg_hi = 0xffff - i * 8;
		r->r_range[narrow][0].rg_lo = i * 16;
		r->r_range[narrow][0].rg_hi = i * 16;
	}
	p = vfr_prog_build(&rs, "", "");
	CHECK(p != NULL);
	printf("  cross-product set, 4000 rules: %zu bytes\n",
	    vfr_prog_size(p));
	CHECK(vfr_prog_size(p) <= 64U << 20);
	memset(&k, 0, sizeof(k));
	for (i = 0; i < 4000; i++) {
		k.k_dir = 1 + rnd(2);
		k.k_l3 = 1U << rnd(4);
		k.k_f[VFR_F_SPORT] = rnd(0x10000);
		k.k_f[VFR_F_DPORT] = chance(50) ? rnd(4000) * 16 : rnd(0x10000);
		if (chance(50))
			k.k_f[VFR_F_SPORT] = k.k_f[VFR_F_DPORT];
		bad += !agree(&rs, p, "", "", &k, NULL, 0, 0, 0);
	}
	CHECK_EQ(bad, 0);
	vfr_prog_free(p);
	vfr_ruleset_free(&rs);
}

/* ---- objects ---- */

static int
rule_eq(const struct vfr_rule *a, const struct vfr_rule *b)
{
	int f;

	if (a->r_id != b->r_id || a->r_line != b->r_line ||
	    a->r_action != b->r_action || a->r_log != b->r_log ||
	    a->r_dir != b->r_dir || a->r_l3 != b->r_l3 ||
	    a->r_ct != b->r_ct || a->r_tcp_mask != b->r_tcp_mask ||
	    a->r_tcp_val != b->r_tcp_val || a->r_nbpf != b->r_nbpf ||
	    a->r_rl_rate != b->r_rl_rate || a->r_rl_burst != b->r_rl_burst ||
	    a->r_rl_bytes != b->r_rl_bytes ||
	    strcmp(a->r_vif, b->r_vif) != 0 ||
	    strcmp(a->r_domain, b->r_domain) != 0)
		return 0;
	if ((a->r_text == NULL) != (b->r_text == NULL) ||
	    (a->r_text != NULL && strcmp(a->r_text, b->r_text) != 0))
		return 0;
	for (f = 0; f < VFR_NFIELDS; f++)
		if (a->r_nrange[f] != b->r_nrange[f] || (a->r_nrange[f] &&
		    memcmp(a->r_range[f], b->r_range[f], a->r_nrange[f] *
		    sizeof(struct vfr_range)) != 0))
			return 0;
	for (f = 0; f < VFR_NAFIELDS; f++)
		if (a->r_narange[f] != b->r_narange[f] || (a->r_narange[f] &&
		    memcmp(a->r_arange[f], b->r_arange[f], a->r_narange[f] *
		    sizeof(struct vfr_arange)) != 0))
			return 0;
	if (a->r_nbpf != 0 && memcmp(a->r_bpf, b->r_bpf, a->r_nbpf *
	    sizeof(struct vfr_insn)) != 0)
		return 0;
	return 1;
}

static int
load_fails(const uint8_t *buf, size_t len, const char *want)
{
	struct vfr_ruleset rs;
	char err[256] = "";

	if (vfr_obj_load(buf, len, &rs, err, sizeof(err)) == 0) {
		fprintf(stderr, "load of %zu bytes succeeded, want '%s'\n",
		    len, want);
		vfr_ruleset_free(&rs);
		return 0;
	}
	if (err[0] == '\0' || (want != NULL && strstr(err, want) == NULL)) {
		fprintf(stderr, "want error '%s', got '%s'\n",
		    want ? want : "(any)", err);
		return 0;
	}
	return rs.rs_rules == NULL && rs.rs_nrules == 0;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static void
test_obj(void)
{
	struct vfr_ruleset rs, back;
	uint8_t *buf, *buf2, *bad;
	size_t len, len2, cut;
	char err[256];
	uint32_t i, okflip = 0;
	int n;

	for (n = 0; n < 3; n++) {
		static const uint32_t sizes[] = { 0, 37, 3000 };

		gen_ruleset(&rs, sizes[n], 100);
		CHECK(vfr_obj_write(&rs, &buf, &len) == 0);
		CHECK(vfr_obj_load(buf, len, &back, err, sizeof(err)) == 0);
		CHECK_EQ(back.rs_nrules, rs.rs_nrules);
		CHECK(back.rs_policy[0] == rs.rs_policy[0] &&
		    back.rs_policy[1] == rs.rs_policy[1]);
		for (i = 0; i < rs.rs_nrules && i < back.rs_nrules; i++)
			if (!rule_eq(&rs.rs_rules[i], &back.rs_rules[i])) {
				fprintf(stderr, "rule %u differs\n", i);
				CHECK(0);
				break;
			}
		CHECK(vfr_obj_write(&back, &buf2, &len2) == 0);
		CHECK(len2 == len && memcmp(buf, buf2, len) == 0);
		free(buf2);
		vfr_ruleset_free(&back);
		vfr_ruleset_free(&rs);
		free(buf);
	}

	/* a small object, cut and corrupted everywhere */
	gen_ruleset(&rs, 6, 100);
	CHECK(vfr_obj_write(&rs, &buf, &len) == 0);
	for (cut = 0; cut < len; cut++)
		CHECK(load_fails(buf, cut, NULL));
	CHECK(load_fails(buf, 7, "bad magic"));
	CHECK(load_fails(buf, 20, "truncated"));
	CHECK(load_fails(buf, len - 1, "truncated"));
	bad = xcalloc(len + 16, 1);
	memcpy(bad, buf, len);
	CHECK(load_fails(bad, len + 4, "trailing"));
	/* a file cut short whose header was fixed up: the rule says so */
	memcpy(bad, buf, len);
	put32(bad + 12, len - 3);
	CHECK(load_fails(bad, len - 3, "truncated at rule 5"));
	memcpy(bad, buf, len);
	bad[0] ^= 1;
	CHECK(load_fails(bad, len, "bad magic: not a .vfro file"));
	memcpy(bad, buf, len);
	bad[8] = 9;
	CHECK(load_fails(bad, len, "version 9"));
	memcpy(bad, buf, len);
	bad[20] = 7;
	CHECK(load_fails(bad, len, "in policy"));
	memcpy(bad, buf, len);
	put32(bad + 16, 100000);
	CHECK(load_fails(bad, len, "at most"));
	memcpy(bad, buf, len);
	put32(bad + 24 + 32 + 4 * VFR_F_DPORT, 5000);	/* rule 0's dport */
	CHECK(load_fails(bad, len, "rule 0: 5000 dport ranges"));
	memcpy(bad, buf, len);
	put32(bad + 24 + 32, 1 + bad[24 + 32]);	/* a range more */
	CHECK(load_fails(bad, len, "rule 0: record size"));
	memcpy(bad, buf, len);
	bad[24 + 8] = 0;				/* action 0 */
	CHECK(load_fails(bad, len, "rule 0 (line 1): bad unknown action"));
	/* every single-byte corruption: refused with a message, or a valid
	   rule set */
	for (cut = 0; cut < len; cut++) {
		struct vfr_ruleset x;

		memcpy(bad, buf, len);
		bad[cut] ^= 1U << rnd(8);
		err[0] = '\0';
		if (vfr_obj_load(bad, len, &x, err, sizeof(err)) == 0) {
			CHECK(vfr_ruleset_check(&x, err, sizeof(err)) == 0);
			vfr_ruleset_free(&x);
			okflip++;
		} else
			CHECK(err[0] != '\0');
	}
	printf("  object: %zu bytes for 6 rules; %u of %zu bit flips still "
	    "load\n", len, okflip, len);
	free(bad);
	free(buf);

	/* an invalid rule set is not written */
	rs.rs_rules[2].r_dir = 0;
	errno = 0;
	CHECK(vfr_obj_write(&rs, &buf, &len) == -1 && errno == EINVAL);
	vfr_ruleset_free(&rs);
}

/* ---- BPF against libpcap ---- */

static size_t
frame_eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	static const uint8_t src[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = type >> 8;
	f[13] = type;
	return 14;
}

/* IPv4 + L4 (proto 6, 17 or 1), ports or ICMP type/code. */
static size_t
frame_ip4(uint8_t *f, uint8_t proto, uint32_t src, uint32_t dst,
    uint16_t sport, uint16_t dport, uint16_t frag)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t n = frame_eth(f, bcast, 0x0800);
	uint8_t *ip = f + n;

	memset(ip, 0, 20 + 20);
	ip[0] = 0x45;
	ip[3] = 40;
	ip[6] = frag >> 8;
	ip[7] = frag;
	ip[8] = 64;
	ip[9] = proto;
	put32(ip + 12, __builtin_bswap32(src));
	put32(ip + 16, __builtin_bswap32(dst));
	ip[20] = sport >> 8;
	ip[21] = sport;
	ip[22] = dport >> 8;
	ip[23] = dport;
	if (proto == 6)
		ip[33] = 0x02;	/* SYN */
	return n + 40;
}

static size_t
frame_ip6(uint8_t *f, uint8_t nxt, uint16_t sport, uint16_t dport)
{
	static const uint8_t mc[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	size_t n = frame_eth(f, mc, 0x86dd);
	uint8_t *ip = f + n;

	memset(ip, 0, 40 + 20);
	ip[0] = 0x60;
	ip[5] = 20;
	ip[6] = nxt;
	ip[7] = 64;
	ip[8] = 0x20;
	ip[9] = 0x01;
	ip[10] = 0x0d;
	ip[11] = 0xb8;
	ip[23] = 1;
	ip[24] = 0xfe;
	ip[25] = 0x80;
	ip[39] = 2;
	ip[40] = sport >> 8;
	ip[41] = sport;
	ip[42] = dport >> 8;
	ip[43] = dport;
	return n + 60;
}

static size_t
frame_arp(uint8_t *f)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t n = frame_eth(f, bcast, 0x0806);

	memset(f + n, 0, 28);
	f[n + 1] = 1;
	f[n + 2] = 8;
	f[n + 4] = 6;
	f[n + 5] = 4;
	f[n + 7] = 1;
	put32(f + n + 14, __builtin_bswap32(0x0a000002));
	put32(f + n + 24, __builtin_bswap32(0x0a000001));
	return n + 28;
}

static void
test_bpf(void)
{
	static const char *const exprs[] = {
		"tcp", "udp port 53", "icmp", "ip6", "arp",
		"tcp dst port 22 and src net 10.0.0.0/8",
		"portrange 1000-2000", "tcp[tcpflags] & tcp-syn != 0",
		"ip[6:2] & 0x1fff != 0", "host 192.168.1.1 or ip6 host fe80::2",
		"len > 60", "ether broadcast and not arp",
		"icmp[icmptype] == icmp-echo", "ip6 and tcp port 80",
		"vlan 100", "greater 100 and udp",
	};
	uint8_t frames[12][128];
	size_t flen[12], nf = 0, e, i, cut;
	pcap_t *pc;
	struct bpf_program bp;
	int agreed = 0, total = 0;

	flen[nf] = frame_ip4(frames[nf], 6, 0x0a000001, 0xc0a80101, 40000, 22,
	    0);
	nf++;
	flen[nf] = frame_ip4(frames[nf], 17, 0x08080808, 0x0a000002, 53, 1500,
	    0);
	nf++;
	flen[nf] = frame_ip4(frames[nf], 1, 0xc0a80101, 0x0a000002, 0x0800,
	    0, 0);
	nf++;
	flen[nf] = frame_ip4(frames[nf], 6, 0x0a000001, 0x0a000002, 1000, 80,
	    0x0010);	/* a non-first fragment */
	nf++;
	flen[nf] = frame_ip6(frames[nf], 6, 1234, 80);
	nf++;
	flen[nf] = frame_ip6(frames[nf], 17, 53, 1999);
	nf++;
	flen[nf] = frame_ip6(frames[nf], 58, 0x8000, 0);
	nf++;
	flen[nf] = frame_arp(frames[nf]);
	nf++;
	/* a VLAN-tagged IPv4 frame, and runts */
	flen[nf] = frame_ip4(frames[nf] + 4, 17, 1, 2, 1, 2, 0) + 4;
	memmove(frames[nf], frames[nf] + 4, 12);
	frames[nf][12] = 0x81;
	frames[nf][13] = 0x00;
	frames[nf][14] = 0;
	frames[nf][15] = 100;
	frames[nf][16] = 0x08;
	frames[nf][17] = 0x00;
	nf++;
	flen[nf] = 10;
	memset(frames[nf], 0xff, 10);
	nf++;

	pc = pcap_open_dead(DLT_EN10MB, 65535);
	CHECK(pc != NULL);
	if (pc == NULL)
		return;
	for (e = 0; e < sizeof(exprs) / sizeof(exprs[0]); e++) {
		const struct vfr_insn *vp;

		if (pcap_compile(pc, &bp, exprs[e], 1,
		    PCAP_NETMASK_UNKNOWN) != 0) {
			fprintf(stderr, "pcap_compile '%s': %s\n", exprs[e],
			    pcap_geterr(pc));
			CHECK(0);
			continue;
		}
		/* struct bpf_insn and struct vfr_insn share a layout */
		vp = (const struct vfr_insn *)bp.bf_insns;
		CHECK(sizeof(struct bpf_insn) == sizeof(struct vfr_insn));
		CHECK_EQ(vfr_bpf_valid(vp, bp.bf_len) == 0,
		    bpf_validate(bp.bf_insns, bp.bf_len) != 0);
		for (i = 0; i < nf; i++)
			for (cut = 0; cut <= 1; cut++) {
				size_t l = cut ? flen[i] / 2 : flen[i];
				u_int want = bpf_filter(bp.bf_insns,
				    frames[i], l, l);
				uint32_t got = vfr_bpf_run(vp, bp.bf_len,
				    frames[i], l);

				total++;
				if (want == got)
					agreed++;
				else
					fprintf(stderr, "'%s' frame %zu len "
					    "%zu: pcap %u, vfr %u\n",
					    exprs[e], i, l, want, got);
			}
		pcap_freecode(&bp);
	}
	pcap_close(pc);
	printf("  bpf: %d of %d runs agree with libpcap\n", agreed, total);
	CHECK_EQ(agreed, total);
}

int
main(void)
{
	const char *s = getenv("VFR_TEST_SEED");
	uint64_t seed = s != NULL ? strtoull(s, NULL, 0) : 20040101;

	rng_state = seed;
	printf("seed %llu\n", (unsigned long long)seed);
	test_edges();
	test_differential(10, 100, 0, 20000);
	test_differential(100, 100, 0, 20000);
	test_differential(100, 30, 0, 20000);
	test_differential(100, 100, 1, 20000);
	test_differential(1000, 100, 0, 10000);
	test_differential(1000, 40, 0, 10000);
	test_differential(1000, 60, 1, 10000);
	test_differential(10000, 100, 0, 1500);
	test_bounded();
	test_obj();
	test_bpf();
	return t_done("test_vfr_prog");
}
