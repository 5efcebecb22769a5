/*
 * bench/vfr: the classifier (vfr_classify) against the reference
 * interpreter (vfr_ref_classify) on the same generated rule sets and the
 * same stream of keys, in one run (docs/VFR-INTERNALS.md, "Figures").
 *
 *   vfr-classify [-s seconds] [-n keys] [-S seed] [sizes...]
 *
 * For each size (default 10 100 1000 10000 rules) it prints the build
 * time, the program's size, classifications per second of each side and
 * their ratio, and checks on the way that both sides agree on every key.
 *
 * The rule sets imitate an operator's policy around many tenants' rules:
 *
 *   header (operator, ~2%): accept ct established,related; drop in from
 *     bogon prefixes; drop out tcp dport 25 and udp dport 137-139; count
 *     in icmp; rate-limit in icmp; count in udp sport 53
 *   tenants (the rest, in blocks of 8-24 rules per tenant): each tenant
 *     owns an IPv4 /24 in 10.0.0.0/8 (and, one in five, an IPv6 /64 in
 *     2001:db8::/32); its rules accept in to one of its addresses (/32)
 *     or its /24-/28, from any (30%) or a /16-/32 prefix, tcp or udp, to
 *     one service port, a port range or a set of 2-4 ports; some accept
 *     out from its prefix to tcp 443/80 or udp 53; one in twenty is a
 *     count rule, one in ten carries "log"
 *   footer: drop in, log; accept out
 *
 * The key stream (-n, default 4096) mixes keys inside a random rule (60%:
 * every depth of the list is hit), keys next to one (one field moved
 * just outside: 25%) and random keys (15%, mostly misses); 90% are state
 * new, so that the first rule does not take them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vfr.h"
#include "../../tests/vfr_gen.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static u128
v4(uint32_t ip)
{
	return (u128)0xffff << 32 | ip;
}

/* ---- building rules ---- */

static struct vfr_rule *
rule_new(struct vfr_ruleset *rs, uint32_t cap, int action, int dir)
{
	struct vfr_rule *r;

	if (rs->rs_nrules == cap)
		return NULL;
	r = &rs->rs_rules[rs->rs_nrules];
	memset(r, 0, sizeof(*r));
	r->r_id = rs->rs_nrules++;
	r->r_line = r->r_id + 1;
	r->r_action = action;
	r->r_dir = dir;
	return r;
}

static void
rule_range(struct vfr_rule *r, int f, uint32_t lo, uint32_t hi)
{
	uint32_t n = r->r_nrange[f];
	struct vfr_range *rg = realloc(r->r_range[f], (n + 1) * sizeof(*rg));

	if (rg == NULL) {
		perror("vfr-classify");
		exit(1);
	}
	rg[n].rg_lo = lo;
	rg[n].rg_hi = hi;
	r->r_range[f] = rg;
	r->r_nrange[f] = n + 1;
}

/* A prefix: bits of a 128-bit address (IPv4: the 32 low bits). */
static void
rule_prefix(struct vfr_rule *r, int a, u128 base, unsigned len, int is6)
{
	unsigned host = (is6 ? 128 : 32) - len;
	u128 mask = host == 128 ? ~(u128)0 : ((u128)1 << host) - 1;

	r->r_arange[a] = xcalloc(1, sizeof(struct vfr_arange));
	r->r_arange[a][0].ar_lo = u2a(base & ~mask);
	r->r_arange[a][0].ar_hi = u2a((base & ~mask) | mask);
	r->r_narange[a] = 1;
}

static const uint16_t services[] = { 22, 25, 53, 80, 110, 143, 443, 465,
    587, 993, 995, 1194, 1433, 3000, 3306, 5432, 5672, 6379, 8080, 8443,
    9000, 9090, 9200, 11211, 27017 };
#define NSERVICES	(sizeof(services) / sizeof(services[0]))

static void
gen_header(struct vfr_ruleset *rs, uint32_t cap, uint32_t n)
{
	static const struct { uint32_t ip; unsigned len; } bogons[] = {
		{ 0x00000000, 8 }, { 0x7f000000, 8 }, { 0xa9fe0000, 16 },
		{ 0xe0000000, 4 }, { 0xf0000000, 4 }, { 0x64400000, 10 },
		{ 0xc0000200, 24 }, { 0xc6120000, 15 },
	};
	struct vfr_rule *r;
	uint32_t i;

	if ((r = rule_new(rs, cap, VFR_ACCEPT, 3)) != NULL)
		r->r_ct = VFR_CT_ESTABLISHED | VFR_CT_RELATED;
	for (i = 0; i < n && i < 8; i++)
		if ((r = rule_new(rs, cap, VFR_DROP, VFR_DIR_IN)) != NULL)
			rule_prefix(r, VFR_A_SRC, v4(bogons[i].ip),
			    bogons[i].len, 0);
	if ((r = rule_new(rs, cap, VFR_DROP, VFR_DIR_OUT)) != NULL) {
		rule_range(r, VFR_F_PROTO, 6, 6);
		rule_range(r, VFR_F_DPORT, 25, 25);
	}
	if ((r = rule_new(rs, cap, VFR_REJECT, VFR_DIR_OUT)) != NULL) {
		rule_range(r, VFR_F_PROTO, 17, 17);
		rule_range(r, VFR_F_DPORT, 137, 139);
	}
	if ((r = rule_new(rs, cap, VFR_COUNT, VFR_DIR_IN)) != NULL)
		rule_range(r, VFR_F_PROTO, 1, 1);
	if ((r = rule_new(rs, cap, VFR_RATELIMIT, VFR_DIR_IN)) != NULL) {
		rule_range(r, VFR_F_PROTO, 1, 1);
		r->r_rl_rate = 100;
		r->r_rl_burst = 200;
	}
	if ((r = rule_new(rs, cap, VFR_COUNT, VFR_DIR_IN)) != NULL) {
		rule_range(r, VFR_F_PROTO, 17, 17);
		rule_range(r, VFR_F_SPORT, 53, 53);
	}
}

static void
gen_ports(struct vfr_rule *r)
{
	uint32_t lo, n, i, p[4];

	switch (rnd(10)) {
	case 0:
	case 1:		/* a range */
		lo = 1024 + rnd(60) * 1000;
		rule_range(r, VFR_F_DPORT, lo, lo + 99 + rnd(900));
		break;
	case 2:		/* a set */
		n = 2 + rnd(3);
		for (i = 0; i < n; i++)
			p[i] = services[rnd(NSERVICES)];
		/* sort, drop duplicates and neighbours */
		for (i = 1; i < n; i++)
			for (lo = i; lo > 0 && p[lo - 1] > p[lo]; lo--) {
				uint32_t t = p[lo];
				p[lo] = p[lo - 1];
				p[lo - 1] = t;
			}
		for (i = 0; i < n; i++)
			if (i == 0 || p[i] > p[i - 1] + 1)
				rule_range(r, VFR_F_DPORT, p[i], p[i]);
		break;
	default:
		p[0] = services[rnd(NSERVICES)];
		rule_range(r, VFR_F_DPORT, p[0], p[0]);
	}
	if (chance(5))
		rule_range(r, VFR_F_SPORT, 1024, 65535);
}

static void
gen_tenant(struct vfr_ruleset *rs, uint32_t cap, uint32_t t)
{
	struct vfr_rule *r;
	uint32_t base = 0x0a000000 | (t & 0xffff) << 8, i, n = 8 + rnd(17);
	uint32_t proto;
	u128 base6 = (u128)0x20010db8 << 96 | (u128)(t & 0xffff) << 64;
	int has6 = t % 5 == 0, is6;

	for (i = 0; i < n; i++) {
		is6 = has6 && chance(40);
		if (i % 6 == 5) {	/* out */
			if ((r = rule_new(rs, cap, VFR_ACCEPT, VFR_DIR_OUT)) ==
			    NULL)
				return;
			if (is6)
				rule_prefix(r, VFR_A_SRC, base6, 64, 1);
			else
				rule_prefix(r, VFR_A_SRC, v4(base), 24, 0);
			if (chance(50)) {
				rule_range(r, VFR_F_PROTO, 6, 6);
				rule_range(r, VFR_F_DPORT, 80, 80);
				rule_range(r, VFR_F_DPORT, 443, 443);
			} else {
				rule_range(r, VFR_F_PROTO, 17, 17);
				rule_range(r, VFR_F_DPORT, 53, 53);
			}
			continue;
		}
		if ((r = rule_new(rs, cap, chance(5) ? VFR_COUNT : VFR_ACCEPT,
		    VFR_DIR_IN)) == NULL)
			return;
		r->r_log = chance(10);
		if (is6)
			rule_prefix(r, VFR_A_DST, base6 | rnd(256),
			    chance(60) ? 128 : 120, 1);
		else
			rule_prefix(r, VFR_A_DST, v4(base | rnd(256)),
			    chance(60) ? 32 : 24 + rnd(5), 0);
		if (chance(70)) {
			if (is6)
				rule_prefix(r, VFR_A_SRC, (u128)0x2001 << 112 |
				    (u128)rng() << 64 | rng(), 48 + rnd(81), 1);
			else
				rule_prefix(r, VFR_A_SRC, v4((uint32_t)rng()),
				    16 + rnd(17), 0);
		}
		proto = chance(80) ? 6 : 17;
		rule_range(r, VFR_F_PROTO, proto, proto);
		gen_ports(r);
	}
}

static void
gen_ruleset(struct vfr_ruleset *rs, uint32_t n)
{
	struct vfr_rule *r;
	uint32_t t = 0, body = n > 4 ? n - 2 : n;

	memset(rs, 0, sizeof(*rs));
	rs->rs_rules = xcalloc(n, sizeof(*rs->rs_rules));
	rs->rs_policy[0] = VFR_DROP;
	rs->rs_policy[1] = VFR_ACCEPT;
	gen_header(rs, body, n / 50);
	while (rs->rs_nrules < body)
		gen_tenant(rs, body, t++);
	if ((r = rule_new(rs, n, VFR_DROP, VFR_DIR_IN)) != NULL)
		r->r_log = 1;
	rule_new(rs, n, VFR_ACCEPT, VFR_DIR_OUT);
}

/* ---- keys ---- */

static uint32_t
value_in(const struct vfr_rule *r, int f, uint32_t dflt)
{
	const struct vfr_range *rg;

	if (r->r_nrange[f] == 0)
		return dflt;
	rg = &r->r_range[f][rnd(r->r_nrange[f])];
	return rg->rg_lo + rnd(rg->rg_hi - rg->rg_lo + 1);
}

static struct vfr_addr
addr_in(const struct vfr_rule *r, int a, u128 dflt)
{
	const struct vfr_arange *ar;
	u128 lo, span;

	if (r->r_narange[a] == 0)
		return u2a(dflt);
	ar = &r->r_arange[a][rnd(r->r_narange[a])];
	lo = a2u(&ar->ar_lo);
	span = a2u(&ar->ar_hi) - lo;
	return u2a(span == ~(u128)0 ? lo + rng() : lo + (rng() % (span + 1)));
}

static void
gen_key(struct vfr_key *k, const struct vfr_ruleset *rs)
{
	const struct vfr_rule *r = &rs->rs_rules[rnd(rs->rs_nrules)];
	uint32_t kind = rnd(100);
	int f, is6;

	memset(k, 0, sizeof(*k));
	k->k_ct = chance(90) ? VFR_CT_NEW : VFR_CT_ESTABLISHED;
	if (kind >= 85) {	/* random */
		k->k_dir = 1 + rnd(2);
		k->k_l3 = chance(85) ? VFR_L3_IP4 : VFR_L3_IP6;
		k->k_f[VFR_F_ETHERTYPE] = k->k_l3 == VFR_L3_IP4 ? 0x800 :
		    0x86dd;
		k->k_f[VFR_F_PROTO] = chance(80) ? 6 : 17;
		k->k_f[VFR_F_SPORT] = 1024 + rnd(64512);
		k->k_f[VFR_F_DPORT] = chance(50) ? services[rnd(NSERVICES)] :
		    rnd(65536);
		k->k_f[VFR_F_ICMPTYPE] = k->k_f[VFR_F_ICMPCODE] = VFR_NONE;
		for (f = 0; f < VFR_NAFIELDS; f++)
			k->k_addr[f] = u2a(k->k_l3 == VFR_L3_IP4 ?
			    v4(chance(50) ? 0x0a000000 | rnd(1 << 24) :
			    (uint32_t)rng()) : (u128)rng() << 64 | rng());
		return;
	}
	k->k_dir = r->r_dir == VFR_DIR_OUT ? VFR_DIR_OUT : VFR_DIR_IN;
	is6 = (r->r_narange[0] != 0 && r->r_arange[0][0].ar_lo.a_hi != 0) ||
	    (r->r_narange[1] != 0 && r->r_arange[1][0].ar_lo.a_hi != 0);
	k->k_l3 = is6 ? VFR_L3_IP6 : VFR_L3_IP4;
	k->k_f[VFR_F_ETHERTYPE] = is6 ? 0x86dd : 0x800;
	k->k_f[VFR_F_PROTO] = value_in(r, VFR_F_PROTO, 6);
	if (k->k_f[VFR_F_PROTO] == 1) {
		k->k_f[VFR_F_SPORT] = k->k_f[VFR_F_DPORT] = VFR_NONE;
		k->k_f[VFR_F_ICMPTYPE] = 8;
		k->k_f[VFR_F_ICMPCODE] = 0;
	} else {
		k->k_f[VFR_F_SPORT] = value_in(r, VFR_F_SPORT,
		    1024 + rnd(64512));
		k->k_f[VFR_F_DPORT] = value_in(r, VFR_F_DPORT,
		    services[rnd(NSERVICES)]);
		k->k_f[VFR_F_ICMPTYPE] = k->k_f[VFR_F_ICMPCODE] = VFR_NONE;
	}
	for (f = 0; f < VFR_NAFIELDS; f++)
		k->k_addr[f] = addr_in(r, f, is6 ? (u128)0x2001 << 112 | rng() :
		    v4((uint32_t)rng()));
	if (kind >= 60) {	/* just outside one constraint */
		f = rnd(3);
		if (f == 0 && r->r_nrange[VFR_F_DPORT] != 0)
			k->k_f[VFR_F_DPORT] = r->r_range[VFR_F_DPORT][0].rg_hi
			    + 1;
		else if (r->r_narange[f == 1 ? 0 : 1] != 0)
			k->k_addr[f == 1 ? 0 : 1] = u2a(a2u(&r->r_arange[f ==
			    1 ? 0 : 1][0].ar_hi) + 1);
		else
			k->k_dir ^= 3;
	}
	if (k->k_f[VFR_F_PROTO] == 6)
		k->k_tcpflags = 0x02;
}

/* ---- measuring ---- */

static uint64_t hits;

static int
hit_count(void *arg, const struct vfr_rule *r)
{
	(void)arg;
	(void)r;
	hits++;
	return 0;
}

/* Classifications per second over at least secs seconds. */
static double
rate(const struct vfr_ruleset *rs, const struct vfr_prog *p,
    const struct vfr_key *keys, uint32_t nkeys, double secs,
    uint64_t *sink)
{
	struct vfr_verdict v;
	double t0 = now(), t;
	uint64_t n = 0, acc = 0;
	uint32_t i, j = 0, batch = p == NULL && rs->rs_nrules >= 5000 ? 16 :
	    1024;

	do {
		for (i = 0; i < batch; i++) {
			const struct vfr_key *k = &keys[j];

			j = j + 1 == nkeys ? 0 : j + 1;

			if (p != NULL)
				vfr_classify(p, k, NULL, 0, hit_count, NULL,
				    &v);
			else
				vfr_ref_classify(rs, "vif0", "dom0", k, NULL,
				    0, hit_count, NULL, &v);
			acc += v.v_action;
		}
		n += batch;
		t = now() - t0;
	} while (t < secs);
	*sink += acc;
	return n / t;
}

static void
usage(void)
{
	fprintf(stderr, "usage: vfr-classify [-s seconds] [-n keys] "
	    "[-S seed] [rules...]\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	static const uint32_t dflt[] = { 10, 100, 1000, 10000 };
	struct vfr_ruleset rs;
	struct vfr_prog *p;
	struct vfr_key *keys;
	struct vfr_verdict vr, vp;
	double secs = 0.5, t0, tb, fast, ref;
	uint32_t nkeys = 4096, sizes[16], nsizes = 0, s, i, bad;
	uint64_t sink = 0, depth, decided;
	char err[160];
	int c;

	rng_state = 2004;	/* the same rule sets and keys every run */
	while ((c = getopt(argc, argv, "s:n:S:")) != -1)
		switch (c) {
		case 's':
			secs = strtod(optarg, NULL);
			break;
		case 'n':
			nkeys = strtoul(optarg, NULL, 0);
			break;
		case 'S':
			rng_state = strtoull(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	for (; optind < argc && nsizes < 16; optind++) {
		sizes[nsizes] = strtoul(argv[optind], NULL, 0);
		if (sizes[nsizes] < 1 || sizes[nsizes] > VFR_MAX_RULES)
			usage();
		nsizes++;
	}
	if (nsizes == 0)
		for (; nsizes < 4; nsizes++)
			sizes[nsizes] = dflt[nsizes];
	if (nkeys == 0 || secs <= 0)
		usage();
	keys = xcalloc(nkeys, sizeof(*keys));

	printf("%7s %9s %10s %12s %12s %8s %9s %8s\n", "rules", "build-ms",
	    "prog-KiB", "classify/s", "ref/s", "speedup", "by-rule%",
	    "mean-idx");
	for (s = 0; s < nsizes; s++) {
		gen_ruleset(&rs, sizes[s]);
		if (vfr_ruleset_check(&rs, err, sizeof(err)) == -1) {
			fprintf(stderr, "vfr-classify: generated rule set: "
			    "%s\n", err);
			return 1;
		}
		for (i = 0; i < nkeys; i++)
			gen_key(&keys[i], &rs);
		t0 = now();
		if ((p = vfr_prog_build(&rs, "vif0", "dom0")) == NULL) {
			perror("vfr_prog_build");
			return 1;
		}
		tb = now() - t0;
		bad = 0;
		depth = decided = 0;
		for (i = 0; i < nkeys; i++) {
			vfr_ref_classify(&rs, "vif0", "dom0", &keys[i], NULL, 0,
			    NULL, NULL, &vr);
			vfr_classify(p, &keys[i], NULL, 0, NULL, NULL, &vp);
			bad += vr.v_rule != vp.v_rule ||
			    vr.v_action != vp.v_action;
			if (vr.v_rule != NULL && vr.v_rule->r_id + 2 <
			    rs.rs_nrules) {
				decided++;
				depth += vr.v_rule->r_id;
			}
		}
		if (bad != 0) {
			fprintf(stderr, "vfr-classify: %u keys classified "
			    "differently: a bug\n", bad);
			return 1;
		}
		fast = rate(&rs, p, keys, nkeys, secs, &sink);
		ref = rate(&rs, NULL, keys, nkeys, secs, &sink);
		printf("%7u %9.1f %10.1f %12.0f %12.0f %7.1fx %8.1f%% %8llu\n",
		    rs.rs_nrules, tb * 1e3, vfr_prog_size(p) / 1024.0, fast,
		    ref, fast / ref, 100.0 * decided / nkeys,
		    (unsigned long long)(decided ? depth / decided : 0));
		fflush(stdout);
		vfr_prog_free(p);
		vfr_ruleset_free(&rs);
	}
	free(keys);
	return sink == 42 ? 2 : 0;	/* keep the loops */
}
