/*
 * The VFR rule language: lowering to the IR (ranges, prefixes, sets,
 * negation, implicit family, rates), errors with their positions, tenant
 * restrictions and the anchor, the normal form and its round trip, and
 * the meaning of rules through the reference interpreter on hand-built
 * keys (and a pcap-filter pattern on a real frame).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "vfr.h"

#define V4(a, b, c, d)	((struct vfr_addr){ 0, 0xffff00000000ULL | \
			    ((uint64_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d) })

static char err[1024];

static int
parse2(const char *op, const char *tenant, struct vfr_ruleset *rs)
{
	struct vfr_source o = { "op.vfr", op, strlen(op), 0 };
	struct vfr_source t = { "ten.vfr", tenant, tenant ? strlen(tenant) :
	    0, 1 };

	err[0] = '\0';
	return vfr_parse(&o, tenant != NULL ? &t : NULL, rs, err,
	    sizeof(err));
}

static int
parse(const char *op, struct vfr_ruleset *rs)
{
	return parse2(op, NULL, rs);
}

/* op (+ tenant) fails with exactly this message */
static int
fails(const char *op, const char *tenant, const char *want)
{
	struct vfr_ruleset rs;

	if (parse2(op, tenant, &rs) == 0) {
		fprintf(stderr, "parsed, wanted '%s': %s\n", want, op);
		vfr_ruleset_free(&rs);
		return 0;
	}
	if (strncmp(err, want, strlen(want)) != 0) {
		fprintf(stderr, "want '%s'\n got '%s'\n", want, err);
		return 0;
	}
	return rs.rs_nrules == 0 && rs.rs_rules == NULL;
}

/* the one rule of op has normal form want */
static int
text_is(const char *op, const char *want)
{
	struct vfr_ruleset rs;
	int ok;

	if (parse(op, &rs) != 0) {
		fprintf(stderr, "%s: %s\n", op, err);
		return 0;
	}
	ok = rs.rs_nrules == 1 && strcmp(rs.rs_rules[0].r_text, want) == 0;
	if (!ok)
		fprintf(stderr, "want '%s'\n got '%s'\n", want,
		    rs.rs_nrules ? rs.rs_rules[0].r_text : "(no rule)");
	vfr_ruleset_free(&rs);
	return ok;
}

static int
addr_eq(struct vfr_addr a, struct vfr_addr b)
{
	return a.a_hi == b.a_hi && a.a_lo == b.a_lo;
}

static int
ranges_are(const struct vfr_rule *r, int f, uint32_t n, ...)
{
	va_list ap;
	uint32_t i, lo, hi;
	int ok = r->r_nrange[f] == n;

	va_start(ap, n);
	for (i = 0; i < n && ok; i++) {
		lo = va_arg(ap, uint32_t);
		hi = va_arg(ap, uint32_t);
		ok = r->r_range[f][i].rg_lo == lo && r->r_range[f][i].rg_hi == hi;
	}
	va_end(ap);
	return ok;
}

static void
test_lowering(void)
{
	struct vfr_ruleset rs;
	const struct vfr_rule *r;

	CHECK(parse("accept in proto tcp to port ! 22\n", &rs) == 0);
	r = &rs.rs_rules[0];
	CHECK_EQ(rs.rs_nrules, 1);
	CHECK_EQ(r->r_action, VFR_ACCEPT);
	CHECK_EQ(r->r_dir, VFR_DIR_IN);
	CHECK_EQ(r->r_line, 1);
	CHECK(ranges_are(r, VFR_F_PROTO, 1, 6, 6));
	CHECK(ranges_are(r, VFR_F_DPORT, 2, 0, 21, 23, 65535));
	CHECK_EQ(r->r_nrange[VFR_F_SPORT], 0);
	CHECK_EQ(r->r_l3, 0);
	CHECK(strcmp(r->r_text, "accept in proto tcp to any port ! 22") == 0);
	vfr_ruleset_free(&rs);

	/* prefixes become ranges; IPv4 only implies inet */
	CHECK(parse("drop from 10.1.2.0/24 to 192.0.2.7\n", &rs) == 0);
	r = &rs.rs_rules[0];
	CHECK_EQ(r->r_dir, VFR_DIR_IN | VFR_DIR_OUT);
	CHECK_EQ(r->r_l3, VFR_L3_IP4);
	CHECK_EQ(r->r_narange[VFR_A_SRC], 1);
	CHECK(addr_eq(r->r_arange[VFR_A_SRC][0].ar_lo, V4(10, 1, 2, 0)));
	CHECK(addr_eq(r->r_arange[VFR_A_SRC][0].ar_hi, V4(10, 1, 2, 255)));
	CHECK(addr_eq(r->r_arange[VFR_A_DST][0].ar_lo, V4(192, 0, 2, 7)));
	CHECK(addr_eq(r->r_arange[VFR_A_DST][0].ar_hi, V4(192, 0, 2, 7)));
	vfr_ruleset_free(&rs);

	CHECK(parse("accept from fd00::/64\n", &rs) == 0);
	r = &rs.rs_rules[0];
	CHECK_EQ(r->r_l3, VFR_L3_IP6);
	CHECK_EQ(r->r_arange[VFR_A_SRC][0].ar_lo.a_hi, 0xfd00000000000000ULL);
	CHECK_EQ(r->r_arange[VFR_A_SRC][0].ar_lo.a_lo, 0);
	CHECK_EQ(r->r_arange[VFR_A_SRC][0].ar_hi.a_hi, 0xfd00000000000000ULL);
	CHECK_EQ(r->r_arange[VFR_A_SRC][0].ar_hi.a_lo, UINT64_MAX);
	vfr_ruleset_free(&rs);

	/* both families: no implied family */
	CHECK(parse("accept from { fd00::/8, 10.0.0.0/8 }\n", &rs) == 0);
	CHECK_EQ(rs.rs_rules[0].r_l3, 0);
	CHECK_EQ(rs.rs_rules[0].r_narange[VFR_A_SRC], 2);
	CHECK(strcmp(rs.rs_rules[0].r_text,
	    "accept from { 10.0.0.0/8, fd00::/8 }") == 0);
	vfr_ruleset_free(&rs);

	/* negation without a family covers IPv6 too; with inet, IPv4 only */
	CHECK(parse("accept from ! 10.0.0.0/8\n"
	    "accept inet from ! 10.0.0.0/8\n", &rs) == 0);
	r = &rs.rs_rules[0];
	CHECK_EQ(r->r_l3, 0);
	CHECK_EQ(r->r_narange[VFR_A_SRC], 2);
	CHECK(addr_eq(r->r_arange[VFR_A_SRC][0].ar_lo,
	    ((struct vfr_addr){ 0, 0 })));
	CHECK(addr_eq(r->r_arange[VFR_A_SRC][0].ar_hi, V4(9, 255, 255, 255)));
	CHECK(addr_eq(r->r_arange[VFR_A_SRC][1].ar_lo, V4(11, 0, 0, 0)));
	CHECK(addr_eq(r->r_arange[VFR_A_SRC][1].ar_hi,
	    ((struct vfr_addr){ UINT64_MAX, UINT64_MAX })));
	r = &rs.rs_rules[1];
	CHECK_EQ(r->r_l3, VFR_L3_IP4);
	CHECK_EQ(r->r_narange[VFR_A_SRC], 2);
	CHECK(addr_eq(r->r_arange[VFR_A_SRC][0].ar_lo, V4(0, 0, 0, 0)));
	CHECK(addr_eq(r->r_arange[VFR_A_SRC][1].ar_hi, V4(255, 255, 255, 255)));
	CHECK(strcmp(rs.rs_rules[0].r_text, "accept from ! 10.0.0.0/8") == 0);
	CHECK(strcmp(rs.rs_rules[1].r_text, "accept inet from ! 10.0.0.0/8") ==
	    0);
	vfr_ruleset_free(&rs);

	/* sets merge, with each other and with literals */
	CHECK(parse("set a = { 80, 81, 82-90 }\nset b = { $a, https }\n"
	    "accept proto { tcp, udp } to port { $b, 91, 8000-8080 }\n",
	    &rs) == 0);
	r = &rs.rs_rules[0];
	CHECK(ranges_are(r, VFR_F_DPORT, 3, 80, 91, 443, 443, 8000, 8080));
	CHECK(ranges_are(r, VFR_F_PROTO, 2, 6, 6, 17, 17));
	CHECK_EQ(r->r_line, 3);
	vfr_ruleset_free(&rs);

	/* adjacent prefixes merge into one range */
	CHECK(parse("set n = { 10.0.0.0/25, 10.0.0.128/25 }\n"
	    "accept to $n\n", &rs) == 0);
	CHECK_EQ(rs.rs_rules[0].r_narange[VFR_A_DST], 1);
	CHECK(strcmp(rs.rs_rules[0].r_text, "accept inet to 10.0.0.0/24") == 0);
	vfr_ruleset_free(&rs);

	/* a mixed set in an inet6 rule keeps its IPv6 part */
	CHECK(parse("set m = { 10.0.0.0/8, fd00::/8 }\n"
	    "accept inet6 from $m\naccept inet from $m\n", &rs) == 0);
	CHECK(strcmp(rs.rs_rules[0].r_text, "accept inet6 from fd00::/8") ==
	    0);
	CHECK(strcmp(rs.rs_rules[1].r_text, "accept inet from 10.0.0.0/8") ==
	    0);
	vfr_ruleset_free(&rs);

	CHECK(parse("accept in on vif xv1.0 domain dom7 ether type lldp\n"
	    "accept in proto icmp6 icmp-type { echo-request, 130-140 } "
	    "code 0\n"
	    "accept in proto tcp flags S/SA state new,established\n", &rs) ==
	    0);
	r = &rs.rs_rules[0];
	CHECK(strcmp(r->r_vif, "xv1.0") == 0);
	CHECK(strcmp(r->r_domain, "dom7") == 0);
	CHECK(ranges_are(r, VFR_F_ETHERTYPE, 1, 0x88cc, 0x88cc));
	r = &rs.rs_rules[1];
	CHECK(ranges_are(r, VFR_F_ICMPTYPE, 2, 128, 128, 130, 140));
	CHECK(ranges_are(r, VFR_F_ICMPCODE, 1, 0, 0));
	r = &rs.rs_rules[2];
	CHECK_EQ(r->r_tcp_mask, 0x12);
	CHECK_EQ(r->r_tcp_val, 0x02);
	CHECK_EQ(r->r_ct, VFR_CT_NEW | VFR_CT_ESTABLISHED);
	vfr_ruleset_free(&rs);

	CHECK(parse("rate-limit in rate 20/second burst 40\n"
	    "rate-limit in rate 10mbytes/second\n"
	    "rate-limit in rate 120/minute\n"
	    "rate-limit in rate 80mbits/second burst 1500\n", &rs) == 0);
	CHECK_EQ(rs.rs_rules[0].r_rl_rate, 20);
	CHECK_EQ(rs.rs_rules[0].r_rl_burst, 40);
	CHECK_EQ(rs.rs_rules[0].r_rl_bytes, 0);
	CHECK_EQ(rs.rs_rules[1].r_rl_rate, 10000000);
	CHECK_EQ(rs.rs_rules[1].r_rl_burst, 10000000);
	CHECK_EQ(rs.rs_rules[1].r_rl_bytes, 1);
	CHECK_EQ(rs.rs_rules[2].r_rl_rate, 2);
	CHECK_EQ(rs.rs_rules[3].r_rl_rate, 10000000);
	CHECK_EQ(rs.rs_rules[3].r_rl_burst, 1500);
	CHECK(strcmp(rs.rs_rules[3].r_text, "rate-limit in rate "
	    "10mbytes/second burst 1500bytes") == 0);
	vfr_ruleset_free(&rs);

	CHECK(parse("count in match \"tcp[13] & 2 != 0\"\n", &rs) == 0);
	CHECK(rs.rs_rules[0].r_nbpf > 0);
	CHECK(vfr_bpf_valid(rs.rs_rules[0].r_bpf, rs.rs_rules[0].r_nbpf) ==
	    0);
	vfr_ruleset_free(&rs);

	/* policies: accept unless set, per direction */
	CHECK(parse("", &rs) == 0);
	CHECK_EQ(rs.rs_nrules, 0);
	CHECK_EQ(rs.rs_policy[0], VFR_ACCEPT);
	CHECK_EQ(rs.rs_policy[1], VFR_ACCEPT);
	vfr_ruleset_free(&rs);
	CHECK(parse("policy in drop\n", &rs) == 0);
	CHECK_EQ(rs.rs_policy[0], VFR_DROP);
	CHECK_EQ(rs.rs_policy[1], VFR_ACCEPT);
	vfr_ruleset_free(&rs);
	CHECK(parse("policy drop\n", &rs) == 0);
	CHECK_EQ(rs.rs_policy[0], VFR_DROP);
	CHECK_EQ(rs.rs_policy[1], VFR_DROP);
	vfr_ruleset_free(&rs);
}

static void
test_normal_form(void)
{
	CHECK(text_is("accept in proto tcp to port 1024-65535",
	    "accept in proto tcp to any port 1024-65535"));
	CHECK(text_is("accept proto ! tcp", "accept proto ! tcp"));
	CHECK(text_is("accept proto { 6, 7, 5 }", "accept proto { 5, tcp, 7 }"));
	CHECK(text_is("accept proto 100-120", "accept proto 100-120"));
	CHECK(text_is("accept proto ipv6-icmp", "accept proto icmp6"));
	CHECK(text_is("accept proto udp from any port domain",
	    "accept proto udp from any port 53"));
	CHECK(text_is("accept to 2001:DB8:0:0:1:0:0:1",
	    "accept inet6 to 2001:db8::1:0:0:1"));
	CHECK(text_is("accept to 10.0.0.1-10.0.0.9",
	    "accept inet to 10.0.0.1-10.0.0.9"));
	CHECK(text_is("accept to 10.0.0.0-10.0.0.255",
	    "accept inet to 10.0.0.0/24"));
	CHECK(text_is("accept inet6 to ::ffff:10.0.0.1",
	    "accept inet6 to ::ffff:10.0.0.1"));
	CHECK(text_is("accept to ::ffff:10.0.0.1", "accept inet to 10.0.0.1"));
	CHECK(text_is("accept from ::/0", "accept from ::/0"));
	CHECK(text_is("drop log out ether type { 0x0806, 0x86dd }",
	    "drop log out ether type { 0x0806, 0x86dd }"));
	CHECK(text_is("accept proto icmp icmp-type ! echo-request",
	    "accept proto icmp icmp-type ! echo-request"));
	CHECK(text_is("accept proto tcp flags /R", "accept proto tcp flags /R"));
	CHECK(text_is("accept state related,new", "accept state new,related"));
	CHECK(text_is("count match \"udp  and port 53\"",
	    "count match \"udp  and port 53\""));
}

static void
test_errors(void)
{
	CHECK(fails("accept from 10.0.0.5/24\n", NULL, "op.vfr:1:13: "
	    "'10.0.0.5/24' has host bits set; did you mean 10.0.0.0/24?"));
	CHECK(fails("\n\naccept proto icmp to port 80\n", NULL,
	    "op.vfr:3:22: port needs proto tcp, udp"));
	CHECK(fails("accept in proto tcp port 80\n", NULL,
	    "op.vfr:1:21: port must follow from or to"));
	CHECK(fails("accept proto tcp in\n", NULL,
	    "op.vfr:1:18: in/out must come before proto"));
	CHECK(fails("accept in in\n", NULL, "op.vfr:1:11: in/out given twice"));
	CHECK(fails("accept icmp-type 8\n", NULL,
	    "op.vfr:1:8: icmp-type needs proto icmp or proto icmp6"));
	CHECK(fails("accept proto udp flags S/SA\n", NULL,
	    "op.vfr:1:18: flags needs proto tcp"));
	CHECK(fails("rate-limit in\n", NULL,
	    "op.vfr:1:14: rate-limit needs a rate"));
	CHECK(fails("rate-limit rate 1/hour\n", NULL,
	    "op.vfr:1:17: rate 1/hour is not a whole number"));
	CHECK(fails("accept rate 1/second\n", NULL,
	    "op.vfr:1:8: rate is only for rate-limit rules"));
	CHECK(fails("accept from $x\n", NULL, "op.vfr:1:13: unknown set $x"));
	CHECK(fails("set x = { 80, 10.0.0.1 }\n", NULL, "op.vfr:1:15: "
	    "'10.0.0.1' is not one of the numbers in set x"));
	CHECK(fails("set x = 1\nset x = 2\n", NULL,
	    "op.vfr:2:5: set x is already defined at op.vfr:1"));
	CHECK(fails("accept match \"host example.com\"\n", NULL,
	    "op.vfr:1:14: match: 'example.com' is not a pcap-filter keyword"));
	CHECK(fails("accept match \"tcp[\"\n", NULL, "op.vfr:1:14: match: "));
	CHECK(fails("accept from ! any\n", NULL, "op.vfr:1:15: 'any' stands "
	    "alone"));
	CHECK(fails("accept to port 22\n", NULL, "op.vfr:1:11: port needs "
	    "proto"));
	CHECK(fails("accept from 10.0.0.1 to ::1\n", NULL, "op.vfr:1:1: from "
	    "and to are of different families"));
	CHECK(fails("policy in drop\npolicy drop\n", NULL, "op.vfr:2:1: "
	    "policy in is already set at op.vfr:1"));
	{
		struct vfr_source o = { "op.vfr", "accept\0 in\n", 11, 0 };
		struct vfr_ruleset rs;

		CHECK(vfr_parse(&o, NULL, &rs, err, sizeof(err)) == -1);
		CHECK(strncmp(err, "op.vfr:1:7: NUL byte", 20) == 0);
	}
	CHECK(fails("accept in \"unterminated\n", NULL, "op.vfr:1:11: string "
	    "not closed"));
	CHECK(fails("acept in\n", NULL, "op.vfr:1:1: unexpected 'acept'"));
	CHECK(fails("accept in on vif this-name-is-too-long\n", NULL,
	    "op.vfr:1:18: a vif name has 1 to 15 characters"));

	/* tenants */
	CHECK(fails("", "include \"x.vfr\"\n", "ten.vfr:1:1: include is not "
	    "allowed in tenant rules"));
	CHECK(fails("", "policy in drop\n", "ten.vfr:1:1: policy is not "
	    "allowed in tenant rules"));
	CHECK(fails("", "anchor tenant\n", "ten.vfr:1:1: anchor is not "
	    "allowed in tenant rules"));
	CHECK(fails("", "accept in domain d1\n", "ten.vfr:1:11: domain is not "
	    "allowed in tenant rules"));
	CHECK(fails("set web = 80\n", "accept proto tcp to port $web\n",
	    "ten.vfr:1:26: unknown set $web"));
	CHECK(fails("anchor tenant\nanchor tenant\n", NULL, "op.vfr:2:1: "
	    "anchor tenant is already at op.vfr:1"));
}

static void
test_anchor(void)
{
	struct vfr_ruleset rs;

	CHECK(parse2("drop in proto tcp to port 25\nanchor tenant\n"
	    "drop in\n", "accept in proto tcp to port 22\ncount out\n",
	    &rs) == 0);
	CHECK_EQ(rs.rs_nrules, 4);
	CHECK_EQ(rs.rs_rules[0].r_line, 1);
	CHECK_EQ(rs.rs_rules[1].r_line, 1);	/* tenant line 1 */
	CHECK_EQ(rs.rs_rules[1].r_action, VFR_ACCEPT);
	CHECK_EQ(rs.rs_rules[2].r_action, VFR_COUNT);
	CHECK_EQ(rs.rs_rules[3].r_line, 3);
	CHECK_EQ(rs.rs_rules[3].r_id, 3);
	vfr_ruleset_free(&rs);

	/* no anchor: after the last operator rule */
	CHECK(parse2("drop in proto tcp to port 25\n", "count out\n", &rs) ==
	    0);
	CHECK_EQ(rs.rs_nrules, 2);
	CHECK_EQ(rs.rs_rules[1].r_action, VFR_COUNT);
	vfr_ruleset_free(&rs);
}

/* ---- semantics through the reference interpreter ---- */

static uint32_t hits[16];
static int nhits, stop_at = -1;

static int
hit(void *arg, const struct vfr_rule *r)
{
	(void)arg;
	if (nhits < 16)
		hits[nhits++] = r->r_id;
	return (int)r->r_id == stop_at;
}

static struct vfr_key
key4(int dir, unsigned proto, unsigned sport, unsigned dport,
    struct vfr_addr src, struct vfr_addr dst)
{
	struct vfr_key k;
	int f;

	memset(&k, 0, sizeof(k));
	k.k_dir = (uint8_t)dir;
	k.k_l3 = VFR_L3_IP4;
	k.k_ct = VFR_CT_NEW;
	for (f = 0; f < VFR_NFIELDS; f++)
		k.k_f[f] = VFR_NONE;
	k.k_f[VFR_F_ETHERTYPE] = 0x0800;
	k.k_f[VFR_F_PROTO] = proto;
	if (proto == 6 || proto == 17) {
		k.k_f[VFR_F_SPORT] = sport;
		k.k_f[VFR_F_DPORT] = dport;
	}
	k.k_addr[VFR_A_SRC] = src;
	k.k_addr[VFR_A_DST] = dst;
	return k;
}

/* verdict action, or 100 + rule id of the deciding rule */
static int
classify(const struct vfr_ruleset *rs, const struct vfr_key *k,
    const char *vif, const char *dom, struct vfr_verdict *v)
{
	nhits = 0;
	vfr_ref_classify(rs, vif, dom, k, NULL, 0, hit, NULL, v);
	return v->v_action;
}

static void
test_semantics(void)
{
	struct vfr_ruleset rs;
	struct vfr_verdict v;
	struct vfr_key k;
	struct vfr_addr a = V4(10, 0, 0, 1), b = V4(192, 0, 2, 9);
	struct vfr_addr six = { 0xfd00000000000000ULL, 1 };

	CHECK(parse("policy in drop\npolicy out accept\n"
	    "count in proto tcp\n"				/* 0 */
	    "log out\n"						/* 1 */
	    "rate-limit in proto tcp to port 80 rate 5/second\n"	/* 2 */
	    "reject in proto tcp to port 23\n"			/* 3 */
	    "drop out proto tcp to port 25\n"			/* 4 */
	    "accept in state established,related\n"		/* 5 */
	    "accept in proto tcp to port { 80, 443 }\n"		/* 6 */
	    "accept in proto tcp to port 22 flags S/SA\n"	/* 7 */
	    "accept in inet6\n"					/* 8 */
	    "accept in proto icmp icmp-type echo-request\n"	/* 9 */
	    "accept in on vif tap7 from 192.0.2.0/24\n"		/* 10 */
	    "accept in domain web1 proto udp\n"			/* 11 */
	    "drop out to ! 10.0.0.0/8\n", &rs) == 0);		/* 12 */

	/* policy in drop: an unmatched inbound UDP packet */
	k = key4(VFR_DIR_IN, 17, 1, 9, b, a);
	CHECK_EQ(classify(&rs, &k, "tap1", "d", &v), VFR_DROP);
	CHECK_EQ(v.v_policy, 1);
	CHECK(v.v_rule == NULL);

	/* count (0) and rate-limit (2) are reported, accept (6) decides */
	k = key4(VFR_DIR_IN, 6, 40000, 80, b, a);
	CHECK_EQ(classify(&rs, &k, "tap1", "d", &v), VFR_ACCEPT);
	CHECK_EQ(v.v_rule->r_id, 6);
	CHECK_EQ(nhits, 2);
	CHECK_EQ(hits[0], 0);
	CHECK_EQ(hits[1], 2);
	/* the rate limit's bucket is empty: dropped by rule 2 */
	stop_at = 2;
	CHECK_EQ(classify(&rs, &k, "tap1", "d", &v), VFR_DROP);
	CHECK_EQ(v.v_stopped, 1);
	CHECK_EQ(v.v_rule->r_id, 2);
	stop_at = -1;

	/* reject, and only inbound */
	k = key4(VFR_DIR_IN, 6, 40000, 23, b, a);
	CHECK_EQ(classify(&rs, &k, "tap1", "d", &v), VFR_REJECT);
	CHECK_EQ(v.v_rule->r_id, 3);
	/* outbound: log (1) reported; port 23 to 192.0.2.9 hits rule 12 */
	k = key4(VFR_DIR_OUT, 6, 40000, 23, a, b);
	CHECK_EQ(classify(&rs, &k, "tap1", "d", &v), VFR_DROP);
	CHECK_EQ(v.v_rule->r_id, 12);
	CHECK_EQ(nhits, 1);
	CHECK_EQ(hits[0], 1);
	/* outbound inside 10/8 reaches the out policy (accept) */
	k = key4(VFR_DIR_OUT, 17, 1, 53, a, V4(10, 9, 9, 9));
	CHECK_EQ(classify(&rs, &k, "tap1", "d", &v), VFR_ACCEPT);
	CHECK_EQ(v.v_policy, 1);
	k = key4(VFR_DIR_OUT, 6, 40000, 25, a, V4(10, 9, 9, 9));
	CHECK_EQ(classify(&rs, &k, "tap1", "d", &v), VFR_DROP);
	CHECK_EQ(v.v_rule->r_id, 4);

	/* state */
	k = key4(VFR_DIR_IN, 17, 53, 40000, b, a);
	k.k_ct = VFR_CT_ESTABLISHED;
	CHECK_EQ(classify(&rs, &k, "tap1", "d", &v), VFR_ACCEPT);
	CHECK_EQ(v.v_rule->r_id, 5);
	k.k_ct = VFR_CT_INVALID;
	CHECK_EQ(classify(&rs, &k, "tap1", "d", &v), VFR_DROP);

	/* flags S/SA: a SYN matches, a SYN+ACK does not */
	k = key4(VFR_DIR_IN, 6, 40000, 22, b, a);
	k.k_tcpflags = 0x02;
	CHECK_EQ(classify(&rs, &k, "tap1", "d", &v), VFR_ACCEPT);
	CHECK_EQ(v.v_rule->r_id, 7);
	k.k_tcpflags = 0x12;
	CHECK_EQ(classify(&rs, &k, "tap1", "d", &v), VFR_DROP);
	CHECK_EQ(v.v_policy, 1);

	/* family: an IPv6 packet */
	k = key4(VFR_DIR_IN, 17, 1, 9, six, six);
	k.k_l3 = VFR_L3_IP6;
	CHECK_EQ(classify(&rs, &k, "tap1", "d", &v), VFR_ACCEPT);
	CHECK_EQ(v.v_rule->r_id, 8);

	/* icmp: echo request yes, echo reply no */
	k = key4(VFR_DIR_IN, 1, 0, 0, b, a);
	k.k_f[VFR_F_ICMPTYPE] = 8;
	k.k_f[VFR_F_ICMPCODE] = 0;
	CHECK_EQ(classify(&rs, &k, "tap1", "d", &v), VFR_ACCEPT);
	CHECK_EQ(v.v_rule->r_id, 9);
	k.k_f[VFR_F_ICMPTYPE] = 0;
	CHECK_EQ(classify(&rs, &k, "tap1", "d", &v), VFR_DROP);

	/* vif and domain */
	k = key4(VFR_DIR_IN, 47, 0, 0, b, a);
	CHECK_EQ(classify(&rs, &k, "tap7", "d", &v), VFR_ACCEPT);
	CHECK_EQ(v.v_rule->r_id, 10);
	CHECK_EQ(classify(&rs, &k, "tap8", "d", &v), VFR_DROP);
	k = key4(VFR_DIR_IN, 17, 1, 9, a, a);
	CHECK_EQ(classify(&rs, &k, "tap1", "web1", &v), VFR_ACCEPT);
	CHECK_EQ(v.v_rule->r_id, 11);
	CHECK_EQ(classify(&rs, &k, "tap1", "web2", &v), VFR_DROP);
	vfr_ruleset_free(&rs);

	/* implicit inet: an IPv6 packet carrying ::ffff:10.0.0.1 */
	CHECK(parse("drop from 10.0.0.1\n", &rs) == 0);
	k = key4(VFR_DIR_IN, 17, 1, 9, a, b);
	CHECK_EQ(classify(&rs, &k, "t", "d", &v), VFR_DROP);
	k.k_l3 = VFR_L3_IP6;
	CHECK_EQ(classify(&rs, &k, "t", "d", &v), VFR_ACCEPT);
	vfr_ruleset_free(&rs);

	/* a negation without family matches IPv6 packets */
	CHECK(parse("drop from ! 10.0.0.0/8\n", &rs) == 0);
	k = key4(VFR_DIR_IN, 17, 1, 9, six, six);
	k.k_l3 = VFR_L3_IP6;
	CHECK_EQ(classify(&rs, &k, "t", "d", &v), VFR_DROP);
	k = key4(VFR_DIR_IN, 17, 1, 9, a, b);
	CHECK_EQ(classify(&rs, &k, "t", "d", &v), VFR_ACCEPT);
	vfr_ruleset_free(&rs);

	/* port ! 22 does not match a packet without ports */
	CHECK(parse("drop proto tcp to port ! 22\n", &rs) == 0);
	k = key4(VFR_DIR_IN, 6, 1, 80, a, b);
	CHECK_EQ(classify(&rs, &k, "t", "d", &v), VFR_DROP);
	k.k_f[VFR_F_DPORT] = 22;
	CHECK_EQ(classify(&rs, &k, "t", "d", &v), VFR_ACCEPT);
	k.k_f[VFR_F_DPORT] = VFR_NONE;	/* a later fragment */
	k.k_f[VFR_F_SPORT] = VFR_NONE;
	CHECK_EQ(classify(&rs, &k, "t", "d", &v), VFR_ACCEPT);
	vfr_ruleset_free(&rs);
}

/* Ethernet + IPv4 + TCP to port 80 with the given flags. */
static size_t
tcp_frame(uint8_t *p, uint8_t flags)
{
	static const uint8_t hdr[] = {
		0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00,
		0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0,
		192, 0, 2, 9, 10, 0, 0, 1,
		0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0, 0xff, 0xff,
		0, 0, 0, 0,
	};

	memcpy(p, hdr, sizeof(hdr));
	p[14 + 20 + 13] = flags;
	return sizeof(hdr);
}

static void
test_pcap(void)
{
	struct vfr_ruleset rs;
	struct vfr_verdict v;
	struct vfr_key k;
	uint8_t frame[64];
	size_t len;

	CHECK(parse("drop in match \"tcp[13] & 2 != 0\"\n", &rs) == 0);
	len = tcp_frame(frame, 0x02);
	vfr_key_parse(&k, frame, len, VFR_DIR_IN);
	CHECK_EQ(k.k_l3, VFR_L3_IP4);
	k.k_ct = VFR_CT_NEW;
	vfr_ref_classify(&rs, "t", "d", &k, frame, len, NULL, NULL, &v);
	CHECK_EQ(v.v_action, VFR_DROP);
	CHECK(v.v_rule == &rs.rs_rules[0]);
	len = tcp_frame(frame, 0x10);
	vfr_key_parse(&k, frame, len, VFR_DIR_IN);
	vfr_ref_classify(&rs, "t", "d", &k, frame, len, NULL, NULL, &v);
	CHECK_EQ(v.v_action, VFR_ACCEPT);
	CHECK_EQ(v.v_policy, 1);
	vfr_ruleset_free(&rs);
}

/* The normal form parses to the same normal form. */
static void
test_round_trip(void)
{
	static const char text[] =
	    "set web = { 80, 443, 8000-8080 }\n"
	    "set nets = { 10.0.0.0/8, 192.168.0.0/16, fd00::/8 }\n"
	    "policy in drop\n"
	    "rate-limit in proto tcp to port 80 flags S/SA rate 20/second "
	    "burst 40\n"
	    "accept in proto { tcp, udp } from ! $nets port ! { 0-1023 } to "
	    "any port $web\n"
	    "accept inet6 proto icmp6 icmp-type { 1-4, 128, 133-136 }\n"
	    "drop log out on vif xv1.0 domain d arp\n"
	    "count in state invalid,untracked match \"udp and len > 100\"\n"
	    "rate-limit out inet to 10.1.0.0-10.1.2.3 rate 1gbytes/second "
	    "burst 1500bytes\n";
	struct vfr_ruleset rs, rs2;
	struct vfr_source src = { "nf", NULL, 0, 0 };
	char *a = NULL, *b = NULL;
	size_t alen, blen;
	FILE *f;

	CHECK(parse(text, &rs) == 0);
	CHECK((f = open_memstream(&a, &alen)) != NULL);
	CHECK(vfr_print(&rs, f) == 0);
	fclose(f);
	src.src_text = a;
	src.src_len = alen;
	CHECK(vfr_parse(&src, NULL, &rs2, err, sizeof(err)) == 0);
	CHECK((f = open_memstream(&b, &blen)) != NULL);
	CHECK(vfr_print(&rs2, f) == 0);
	fclose(f);
	CHECK(alen == blen && memcmp(a, b, alen) == 0);
	CHECK(strncmp(a, "policy in drop\npolicy out accept\n", 33) == 0);
	vfr_ruleset_free(&rs);
	vfr_ruleset_free(&rs2);
	free(a);
	free(b);
}

static int nwarn;
static char lastwarn[512];

static void
warn(void *arg, const char *msg)
{
	(void)arg;
	nwarn++;
	snprintf(lastwarn, sizeof(lastwarn), "%s", msg);
}

static void
test_shadow(void)
{
	static const char text[] =
	    "accept in proto tcp\n"
	    "drop in proto tcp to port 22\n"	/* shadowed */
	    "drop out proto tcp to port 22\n"
	    "count in proto tcp\n"		/* shadowed too */
	    "drop in proto udp\n";
	struct vfr_source src = { "s.vfr", text, sizeof(text) - 1, 0 };
	struct vfr_parse_opts po = { 0, warn, NULL };
	struct vfr_ruleset rs;

	CHECK(vfr_parse_ext(&src, NULL, &po, &rs, err, sizeof(err)) == 0);
	CHECK_EQ(nwarn, 2);
	CHECK(strncmp(lastwarn, "s.vfr:4: warning: this rule never matches: "
	    "the rule at s.vfr:1 (accept in proto tcp)", 70) == 0);
	vfr_ruleset_free(&rs);

	po.po_flags = VFR_PARSE_NOINCLUDE;
	src.src_text = "include \"x\"\n";
	src.src_len = strlen(src.src_text);
	CHECK(vfr_parse_ext(&src, NULL, &po, &rs, err, sizeof(err)) == -1);
	CHECK(strcmp(err, "s.vfr:1:1: include is disabled here") == 0);
}

/* Every limit is an error with its position, not a crash. */
static void
test_limits(void)
{
	struct vfr_ruleset rs;
	struct vfr_source src = { "big.vfr", NULL, 0, 0 };
	size_t i, n, len = 20 << 20;
	char *buf;

	CHECK((buf = malloc(len)) != NULL);
	if (buf == NULL)
		return;
	/* VFR_MAX_RULES rules are fine, one more is not */
	for (i = 0, n = 0; i < VFR_MAX_RULES; i++)
		n += (size_t)sprintf(buf + n, "count\n");
	src.src_text = buf;
	src.src_len = n;
	CHECK(vfr_parse(&src, NULL, &rs, err, sizeof(err)) == 0);
	CHECK_EQ(rs.rs_nrules, VFR_MAX_RULES);
	vfr_ruleset_free(&rs);
	n += (size_t)sprintf(buf + n, "count\n");
	src.src_len = n;
	CHECK(vfr_parse(&src, NULL, &rs, err, sizeof(err)) == -1);
	CHECK(strcmp(err, "big.vfr:16385:1: more than 16384 rules") == 0);

	/* VFR_MAX_RANGES ranges in a list, not one more */
	n = (size_t)sprintf(buf, "accept proto tcp to port {");
	for (i = 0; i < VFR_MAX_RANGES; i++)
		n += (size_t)sprintf(buf + n, " %zu", 2 * i);
	n += (size_t)sprintf(buf + n, " }\n");
	src.src_len = n;
	CHECK(vfr_parse(&src, NULL, &rs, err, sizeof(err)) == 0);
	CHECK_EQ(rs.rs_rules[0].r_nrange[VFR_F_DPORT], VFR_MAX_RANGES);
	vfr_ruleset_free(&rs);
	n -= 3;
	n += (size_t)sprintf(buf + n, " 9999 }\n");
	src.src_len = n;
	CHECK(vfr_parse(&src, NULL, &rs, err, sizeof(err)) == -1);
	CHECK(strstr(err, "more than 4096 separate ranges") != NULL);

	/* a line of more than 1 MiB, a file of more than 16 MiB */
	memset(buf, ' ', len);
	memcpy(buf, "accept", 6);
	src.src_len = (1 << 20) + 10;
	CHECK(vfr_parse(&src, NULL, &rs, err, sizeof(err)) == -1);
	CHECK(strcmp(err, "big.vfr:1:1048577: line longer than 1048576 "
	    "bytes") == 0);
	for (i = 100; i < len; i += 100)
		buf[i] = '\n';
	src.src_len = (16 << 20) + 1;
	CHECK(vfr_parse(&src, NULL, &rs, err, sizeof(err)) == -1);
	CHECK(strncmp(err, "big.vfr:1:1: the file is larger than 16 MiB",
	    43) == 0);
	src.src_len = 16 << 20;
	CHECK(vfr_parse(&src, NULL, &rs, err, sizeof(err)) == 0);
	vfr_ruleset_free(&rs);
	free(buf);
}

int
main(void)
{
	test_lowering();
	test_normal_form();
	test_errors();
	test_anchor();
	test_semantics();
	test_pcap();
	test_round_trip();
	test_shadow();
	test_limits();
	return t_done("test_vfr_lang");
}
