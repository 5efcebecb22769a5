/*
 * The normal form of the VFR rule language, made from the IR: a rule's
 * text depends only on its IR (and its pcap-filter expression, which the
 * IR holds only compiled), so parsing the normal form again gives the
 * same IR and the same text.
 *
 * Choices that make it canonical (docs/VFR.md, "The normal form"):
 *  - clauses in the one order the parser requires;
 *  - value lists sorted and merged; a list is printed negated when its
 *    complement has fewer ranges (ties print it as is);
 *  - one element without braces, several as { a, b-c };
 *  - ports and ICMP codes as numbers, ethertypes as 0x%04x, protocols and
 *    ICMP types by name where there is one (runs of up to 4 values one
 *    by one, longer runs as N-M);
 *  - an address range as a prefix when it is one CIDR block, else as
 *    LOW-HIGH; IPv4 (::ffff:0:0/96) in dotted quads except in inet6
 *    rules, IPv6 as RFC 5952 says;
 *  - the family whenever the rule has one (given or implied);
 *  - rates per second in the largest whole unit, burst always.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang.h"

enum vkind { VK_PORT, VK_PROTO, VK_ICMPTYPE, VK_CODE, VK_ETHER };

const char *
proto_name(uint32_t v)
{
	const struct vfr_name *n;

	for (n = vfr_protos; n->n_name != NULL; n++)
		if (n->n_value == v)
			return n->n_name;
	return NULL;
}

const char *
icmp_type_name(uint32_t proto, uint32_t type)
{
	const struct vfr_name *n;

	n = proto == 1 ? vfr_icmp4_types : proto == 58 ? vfr_icmp6_types :
	    NULL;
	for (; n != NULL && n->n_name != NULL; n++)
		if (n->n_value == type)
			return n->n_name;
	return NULL;
}

void
addr_format(u128 a, int v4, char *buf, size_t len)
{
	uint16_t g[8];
	int i, best = -1, bestlen = 0, run, n;
	size_t o = 0;

	if (a >= V4_LO && a <= V4_HI) {
		snprintf(buf, len, "%s%u.%u.%u.%u", v4 ? "" : "::ffff:",
		    (unsigned)(a >> 24) & 0xff, (unsigned)(a >> 16) & 0xff,
		    (unsigned)(a >> 8) & 0xff, (unsigned)a & 0xff);
		return;
	}
	for (i = 0; i < 8; i++)
		g[i] = (uint16_t)(a >> (112 - 16 * i));
	/* RFC 5952 4.2: the longest run of two or more zero groups, the
	   first one if several are as long */
	for (i = 0; i < 8; i += run ? run : 1) {
		for (run = 0; i + run < 8 && g[i + run] == 0; run++)
			;
		if (run >= 2 && run > bestlen) {
			best = i;
			bestlen = run;
		}
	}
	buf[0] = '\0';
	for (i = 0; i < 8 && o < len; i++) {
		if (i == best) {
			n = snprintf(buf + o, len - o, "::");
			i += bestlen - 1;
		} else
			n = snprintf(buf + o, len - o, "%s%x",
			    i == 0 || i == best + bestlen ? "" : ":", g[i]);
		if (n < 0)
			return;
		o += (size_t)n;
	}
}

/* a value; named: by name if it has one (never inside N-M) */
static void
value_print(FILE *f, enum vkind k, uint32_t proto, uint32_t v, int named)
{
	const char *name = NULL;

	if (named && k == VK_PROTO)
		name = proto_name(v);
	else if (named && k == VK_ICMPTYPE)
		name = icmp_type_name(proto, v);
	if (name != NULL)
		fputs(name, f);
	else if (k == VK_ETHER)
		fprintf(f, "0x%04x", v);
	else
		fprintf(f, "%u", v);
}

/* elements printed for the range list: named kinds expand short runs */
static uint32_t
values_count(const struct vfr_range *v, uint32_t n, enum vkind k)
{
	uint32_t i, c = 0;

	for (i = 0; i < n; i++)
		if ((k == VK_PROTO || k == VK_ICMPTYPE) &&
		    v[i].rg_hi - v[i].rg_lo < 4)
			c += v[i].rg_hi - v[i].rg_lo + 1;
		else
			c++;
	return c;
}

static void
values_list(FILE *f, const struct vfr_range *v, uint32_t n, enum vkind k,
    uint32_t proto)
{
	uint32_t i, x, c = values_count(v, n, k);
	const char *sep = "";

	if (c > 1)
		fputs("{ ", f);
	for (i = 0; i < n; i++) {
		if ((k == VK_PROTO || k == VK_ICMPTYPE) &&
		    v[i].rg_hi - v[i].rg_lo < 4) {
			for (x = v[i].rg_lo; x <= v[i].rg_hi; x++) {
				fputs(sep, f);
				value_print(f, k, proto, x, 1);
				sep = ", ";
			}
			continue;
		}
		fputs(sep, f);
		value_print(f, k, proto, v[i].rg_lo, v[i].rg_hi == v[i].rg_lo);
		if (v[i].rg_hi != v[i].rg_lo) {
			fputc('-', f);
			value_print(f, k, proto, v[i].rg_hi, 0);
		}
		sep = ", ";
	}
	if (c > 1)
		fputs(" }", f);
}

static void
values_print(FILE *f, const struct vfr_range *v, uint32_t n, uint32_t max,
    enum vkind k, uint32_t proto)
{
	struct rlist rl = { NULL, 0, 0 };
	uint32_t i, gaps;

	gaps = (v[0].rg_lo > 0) + (n - 1) + (v[n - 1].rg_hi < max);
	if (gaps > 0 && gaps < n) {
		for (i = 0; i < n; i++)
			if (rl_add(&rl, v[i].rg_lo, v[i].rg_hi) == -1)
				break;
		if (i == n && rl_complement(&rl, max) == 0) {
			fputs("! ", f);
			values_list(f, rl.rl_v, rl.rl_n, k, proto);
			rl_free(&rl);
			return;
		}
		rl_free(&rl);	/* out of memory: the plain list is right too */
	}
	values_list(f, v, n, k, proto);
}

static void
arange_print(FILE *f, u128 lo, u128 hi, int v4)
{
	char a[64], b[64];
	int plen;

	v4 = v4 && lo >= V4_LO && hi <= V4_HI;
	addr_format(lo, v4, a, sizeof(a));
	if ((plen = al_prefixlen(lo, hi)) == 128)
		fputs(a, f);
	else if (plen >= 0)
		fprintf(f, "%s/%d", a, v4 ? plen - 96 : plen);
	else {
		addr_format(hi, v4, b, sizeof(b));
		fprintf(f, "%s-%s", a, b);
	}
}

static void
addrs_print(FILE *f, const struct vfr_arange *v, uint32_t n, int l3)
{
	struct alist al = { NULL, 0, 0 };
	u128 ulo = 0, uhi = U128_MAX;
	const struct vfr_arange *p = v;
	uint32_t i, gaps, pn = n;
	int v4 = l3 != VFR_L3_IP6;

	if (l3 == VFR_L3_IP4) {
		ulo = V4_LO;
		uhi = V4_HI;
	}
	gaps = (addr_u128(&v[0].ar_lo) > ulo) + (n - 1) +
	    (addr_u128(&v[n - 1].ar_hi) < uhi);
	if (gaps > 0 && gaps < n) {
		for (i = 0; i < n; i++)
			if (al_add(&al, addr_u128(&v[i].ar_lo),
			    addr_u128(&v[i].ar_hi)) == -1)
				break;
		if (i == n && al_complement(&al, ulo, uhi) == 0) {
			fputs("! ", f);
			p = al.al_v;
			pn = al.al_n;
		}
	}
	if (pn > 1)
		fputs("{ ", f);
	for (i = 0; i < pn; i++) {
		if (i > 0)
			fputs(", ", f);
		arange_print(f, addr_u128(&p[i].ar_lo), addr_u128(&p[i].ar_hi),
		    v4);
	}
	if (pn > 1)
		fputs(" }", f);
	al_free(&al);
}

/* a quantity of bytes in the largest whole decimal unit */
static void
bytes_print(FILE *f, uint64_t v)
{
	if (v % 1000000000 == 0)
		fprintf(f, "%llugbytes", (unsigned long long)(v / 1000000000));
	else if (v % 1000000 == 0)
		fprintf(f, "%llumbytes", (unsigned long long)(v / 1000000));
	else if (v % 1000 == 0)
		fprintf(f, "%llukbytes", (unsigned long long)(v / 1000));
	else
		fprintf(f, "%llubytes", (unsigned long long)v);
}

static void
side_print(FILE *f, const char *kw, const struct vfr_rule *r, int af, int pf)
{
	if (r->r_narange[af] == 0 && r->r_nrange[pf] == 0)
		return;
	fprintf(f, " %s ", kw);
	if (r->r_narange[af] == 0)
		fputs("any", f);
	else
		addrs_print(f, r->r_arange[af], r->r_narange[af], r->r_l3);
	if (r->r_nrange[pf] != 0) {
		fputs(" port ", f);
		values_print(f, r->r_range[pf], r->r_nrange[pf], 65535,
		    VK_PORT, 0);
	}
}

char *
vfr_rule_format(const struct vfr_rule *r, const char *match)
{
	static const char *const action[] = { "?", "accept", "drop",
	    "reject", "count", "log", "rate-limit" };
	static const char *const ctname[] = { "new", "established",
	    "related", "invalid", "untracked" };
	static const char flagch[] = "FSRPAUEW";
	char *buf = NULL;
	size_t len = 0;
	uint32_t proto = 0;
	const char *p, *sep;
	FILE *f;
	int i;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return NULL;
	fputs(r->r_action <= VFR_RATELIMIT ? action[r->r_action] : "?", f);
	if (r->r_log)
		fputs(" log", f);
	if (r->r_dir == VFR_DIR_IN)
		fputs(" in", f);
	else if (r->r_dir == VFR_DIR_OUT)
		fputs(" out", f);
	if (r->r_vif[0] != '\0')
		fprintf(f, " on vif %s", r->r_vif);
	if (r->r_domain[0] != '\0')
		fprintf(f, " domain %s", r->r_domain);
	switch (r->r_l3) {
	case 0:
		break;
	case VFR_L3_IP4:
		fputs(" inet", f);
		break;
	case VFR_L3_IP6:
		fputs(" inet6", f);
		break;
	case VFR_L3_ARP:
		fputs(" arp", f);
		break;
	default:	/* not made by the parser */
		fprintf(f, " family 0x%x", r->r_l3);
		break;
	}
	if (r->r_nrange[VFR_F_ETHERTYPE] != 0) {
		fputs(" ether type ", f);
		values_print(f, r->r_range[VFR_F_ETHERTYPE],
		    r->r_nrange[VFR_F_ETHERTYPE], 0xffff, VK_ETHER, 0);
	}
	if (r->r_nrange[VFR_F_PROTO] != 0) {
		fputs(" proto ", f);
		values_print(f, r->r_range[VFR_F_PROTO],
		    r->r_nrange[VFR_F_PROTO], 255, VK_PROTO, 0);
		if (r->r_nrange[VFR_F_PROTO] == 1 &&
		    r->r_range[VFR_F_PROTO][0].rg_lo ==
		    r->r_range[VFR_F_PROTO][0].rg_hi)
			proto = r->r_range[VFR_F_PROTO][0].rg_lo;
	}
	side_print(f, "from", r, VFR_A_SRC, VFR_F_SPORT);
	side_print(f, "to", r, VFR_A_DST, VFR_F_DPORT);
	if (r->r_nrange[VFR_F_ICMPTYPE] != 0) {
		fputs(" icmp-type ", f);
		values_print(f, r->r_range[VFR_F_ICMPTYPE],
		    r->r_nrange[VFR_F_ICMPTYPE], 255, VK_ICMPTYPE, proto);
	}
	if (r->r_nrange[VFR_F_ICMPCODE] != 0) {
		fputs(" code ", f);
		values_print(f, r->r_range[VFR_F_ICMPCODE],
		    r->r_nrange[VFR_F_ICMPCODE], 255, VK_CODE, 0);
	}
	if (r->r_tcp_mask != 0) {
		fputs(" flags ", f);
		for (i = 0; i < 8; i++)
			if (r->r_tcp_val & (1 << i))
				fputc(flagch[i], f);
		fputc('/', f);
		for (i = 0; i < 8; i++)
			if (r->r_tcp_mask & (1 << i))
				fputc(flagch[i], f);
	}
	if (r->r_ct != 0) {
		fputs(" state ", f);
		for (i = 0, sep = ""; i < 5; i++)
			if (r->r_ct & (1 << i)) {
				fprintf(f, "%s%s", sep, ctname[i]);
				sep = ",";
			}
	}
	if (match != NULL) {
		fputs(" match \"", f);
		for (p = match; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				fputc('\\', f);
			fputc(*p, f);
		}
		fputc('"', f);
	}
	if (r->r_action == VFR_RATELIMIT) {
		fputs(" rate ", f);
		if (r->r_rl_bytes)
			bytes_print(f, r->r_rl_rate);
		else
			fprintf(f, "%llu", (unsigned long long)r->r_rl_rate);
		fputs("/second burst ", f);
		if (r->r_rl_bytes)
			bytes_print(f, r->r_rl_burst);
		else
			fprintf(f, "%llu", (unsigned long long)r->r_rl_burst);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int
vfr_print(const struct vfr_ruleset *rs, FILE *f)
{
	uint32_t i;

	fprintf(f, "policy in %s\npolicy out %s\n",
	    rs->rs_policy[0] == VFR_DROP ? "drop" : "accept",
	    rs->rs_policy[1] == VFR_DROP ? "drop" : "accept");
	for (i = 0; i < rs->rs_nrules; i++)
		fprintf(f, "%s\n", rs->rs_rules[i].r_text != NULL ?
		    rs->rs_rules[i].r_text : "# (rule without text)");
	if (fflush(f) != 0 || ferror(f))
		return -1;
	return 0;
}
