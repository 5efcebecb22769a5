/*
 * The rule IR: freeing it and checking that it is well-formed, whoever
 * built it (the parser, the object loader, a fuzzer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfr.h"

void
vfr_ruleset_free(struct vfr_ruleset *rs)
{
	struct vfr_rule *r;
	uint32_t i;
	int f;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->rs_nrules && rs->rs_rules != NULL; i++) {
		r = &rs->rs_rules[i];
		for (f = 0; f < VFR_NFIELDS; f++)
			free(r->r_range[f]);
		for (f = 0; f < VFR_NAFIELDS; f++)
			free(r->r_arange[f]);
		free(r->r_bpf);
		free(r->r_text);
	}
	free(rs->rs_rules);
	memset(rs, 0, sizeof(*rs));
}

static int
addr_lt(const struct vfr_addr *a, const struct vfr_addr *b)
{
	return a->a_hi < b->a_hi || (a->a_hi == b->a_hi && a->a_lo < b->a_lo);
}

/* b == a + 1, i.e. the two ranges ending at a and starting at b touch */
static int
addr_next(const struct vfr_addr *a, const struct vfr_addr *b)
{
	if (a->a_lo == UINT64_MAX)
		return a->a_hi != UINT64_MAX && b->a_hi == a->a_hi + 1 &&
		    b->a_lo == 0;
	return b->a_hi == a->a_hi && b->a_lo == a->a_lo + 1;
}

static const char *
rule_error(const struct vfr_rule *r)
{
	static const char *const fname[VFR_NFIELDS] = {
		"ethertype", "proto", "sport", "dport", "icmp-type",
		"icmp-code",
	};
	uint32_t j;
	int f;

	if (r->r_action < VFR_ACCEPT || r->r_action > VFR_RATELIMIT)
		return "unknown action";
	if (r->r_log > 1 || r->r_rl_bytes > 1)
		return "flag out of range";
	if (r->r_dir == 0 || (r->r_dir & ~(VFR_DIR_IN | VFR_DIR_OUT)) != 0)
		return "bad direction mask";
	if ((r->r_l3 & ~0xfU) != 0)
		return "bad layer-3 mask";
	if ((r->r_ct & ~0x1fU) != 0)
		return "bad state mask";
	if ((r->r_tcp_val & ~r->r_tcp_mask) != 0)
		return "TCP flag value outside its mask";
	if (r->r_action == VFR_RATELIMIT && (r->r_rl_rate == 0 ||
	    r->r_rl_burst == 0 || r->r_rl_rate > (1ULL << 40) ||
	    r->r_rl_burst > (1ULL << 40)))
		return "rate limit out of range";
	if (memchr(r->r_vif, '\0', sizeof(r->r_vif)) == NULL ||
	    memchr(r->r_domain, '\0', sizeof(r->r_domain)) == NULL)
		return "name not terminated";
	for (f = 0; f < VFR_NFIELDS; f++) {
		if (r->r_nrange[f] > VFR_MAX_RANGES ||
		    (r->r_nrange[f] != 0 && r->r_range[f] == NULL))
			return fname[f];
		for (j = 0; j < r->r_nrange[f]; j++) {
			if (r->r_range[f][j].rg_lo > r->r_range[f][j].rg_hi ||
			    r->r_range[f][j].rg_hi >= VFR_NONE)
				return fname[f];
			if (j > 0 && r->r_range[f][j].rg_lo <=
			    r->r_range[f][j - 1].rg_hi + 1)
				return fname[f];
		}
	}
	for (f = 0; f < VFR_NAFIELDS; f++) {
		const struct vfr_arange *ar = r->r_arange[f];

		if (r->r_narange[f] > VFR_MAX_RANGES ||
		    (r->r_narange[f] != 0 && ar == NULL))
			return f == VFR_A_SRC ? "from" : "to";
		for (j = 0; j < r->r_narange[f]; j++) {
			if (addr_lt(&ar[j].ar_hi, &ar[j].ar_lo))
				return f == VFR_A_SRC ? "from" : "to";
			if (j > 0 && (!addr_lt(&ar[j - 1].ar_hi,
			    &ar[j].ar_lo) || addr_next(&ar[j - 1].ar_hi,
			    &ar[j].ar_lo)))
				return f == VFR_A_SRC ? "from" : "to";
		}
	}
	if (r->r_nbpf > VFR_MAX_BPF || (r->r_nbpf != 0 &&
	    (r->r_bpf == NULL || vfr_bpf_valid(r->r_bpf, r->r_nbpf) != 0)))
		return "pcap-filter program";
	return NULL;
}

int
vfr_ruleset_check(const struct vfr_ruleset *rs, char *err, size_t errlen)
{
	const char *why;
	uint32_t i;
	int d;

	if (rs->rs_nrules > VFR_MAX_RULES) {
		snprintf(err, errlen, "%u rules, at most %u", rs->rs_nrules,
		    VFR_MAX_RULES);
		return -1;
	}
	if (rs->rs_nrules != 0 && rs->rs_rules == NULL) {
		snprintf(err, errlen, "rules missing");
		return -1;
	}
	for (d = 0; d < 2; d++)
		if (rs->rs_policy[d] != VFR_ACCEPT &&
		    rs->rs_policy[d] != VFR_DROP) {
			snprintf(err, errlen, "%s policy is neither accept "
			    "nor drop", d == 0 ? "in" : "out");
			return -1;
		}
	for (i = 0; i < rs->rs_nrules; i++) {
		if (rs->rs_rules[i].r_id != i) {
			snprintf(err, errlen, "rule %u has id %u", i,
			    rs->rs_rules[i].r_id);
			return -1;
		}
		if ((why = rule_error(&rs->rs_rules[i])) != NULL) {
			snprintf(err, errlen, "rule %u (line %u): bad %s", i,
			    rs->rs_rules[i].r_line, why);
			return -1;
		}
	}
	return 0;
}
