/*
 * The reference interpreter: every rule, in order, every constraint
 * spelled out.  It is the definition the fast classifier (prog.c) is
 * tested against, so it stays simple rather than fast.
 */
#include <string.h>

#include "vfr.h"

static int
addr_cmp(const struct vfr_addr *a, const struct vfr_addr *b)
{
	if (a->a_hi != b->a_hi)
		return a->a_hi < b->a_hi ? -1 : 1;
	if (a->a_lo != b->a_lo)
		return a->a_lo < b->a_lo ? -1 : 1;
	return 0;
}

static int
in_ranges(const struct vfr_range *rg, uint32_t n, uint32_t v)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (rg[i].rg_lo <= v && v <= rg[i].rg_hi)
			return 1;
	return 0;
}

static int
in_aranges(const struct vfr_arange *ar, uint32_t n, const struct vfr_addr *a)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (addr_cmp(&ar[i].ar_lo, a) <= 0 && addr_cmp(a, &ar[i].ar_hi) <= 0)
			return 1;
	return 0;
}

static int
rule_matches(const struct vfr_rule *r, const char *vif, const char *domain,
    const struct vfr_key *k, const uint8_t *frame, size_t len)
{
	int f;

	if (r->r_vif[0] != '\0' && strcmp(r->r_vif, vif) != 0)
		return 0;
	if (r->r_domain[0] != '\0' && strcmp(r->r_domain, domain) != 0)
		return 0;
	if ((r->r_dir & k->k_dir) == 0)
		return 0;
	if (r->r_l3 != 0 && (r->r_l3 & k->k_l3) == 0)
		return 0;
	if (r->r_ct != 0 && (r->r_ct & k->k_ct) == 0)
		return 0;
	if (r->r_tcp_mask != 0 && (k->k_f[VFR_F_PROTO] != 6 ||
	    (k->k_tcpflags & r->r_tcp_mask) != r->r_tcp_val))
		return 0;
	for (f = 0; f < VFR_NFIELDS; f++)
		if (r->r_nrange[f] != 0 &&
		    !in_ranges(r->r_range[f], r->r_nrange[f], k->k_f[f]))
			return 0;
	for (f = 0; f < VFR_NAFIELDS; f++) {
		if (r->r_narange[f] == 0)
			continue;
		if ((k->k_l3 & (VFR_L3_IP4 | VFR_L3_IP6)) == 0)
			return 0;
		if (!in_aranges(r->r_arange[f], r->r_narange[f], &k->k_addr[f]))
			return 0;
	}
	if (r->r_nbpf != 0 && vfr_bpf_run(r->r_bpf, r->r_nbpf, frame, len) == 0)
		return 0;
	return 1;
}

void
vfr_ref_classify(const struct vfr_ruleset *rs, const char *vif,
    const char *domain, const struct vfr_key *k, const uint8_t *frame,
    size_t len, vfr_hit_fn hit, void *arg, struct vfr_verdict *v)
{
	const struct vfr_rule *r;
	uint32_t i;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < rs->rs_nrules; i++) {
		r = &rs->rs_rules[i];
		if (!rule_matches(r, vif, domain, k, frame, len))
			continue;
		if (VFR_ACTION_TERMINAL(r->r_action)) {
			v->v_action = r->r_action;
			v->v_rule = r;
			return;
		}
		if (hit != NULL && hit(arg, r) != 0) {
			v->v_action = VFR_DROP;
			v->v_stopped = 1;
			v->v_rule = r;
			return;
		}
	}
	v->v_action = rs->rs_policy[k->k_dir == VFR_DIR_IN ? 0 : 1];
	v->v_policy = 1;
}
