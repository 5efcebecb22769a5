/*
 * The firewall at the VIF hook (xen/virtio/fw.c) on crafted frames:
 * every anti-spoofing case from the guest (MAC, IPv4 and IPv6 source,
 * ARP sender, neighbour discovery, router advertisements, malformed
 * headers), foreign unicast toward the guest, the policy and each action
 * in both directions (accept, drop, reject with its answer, count,
 * rate-limit), state established, and rule counters.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t.h"
#include "xen.h"

static const uint8_t gmac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t hmac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t gip[4] = { 10, 0, 0, 2 }, hip[4] = { 10, 0, 0, 1 };
static const uint8_t gip6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 2 };

static struct fw_domain dom;
static struct fw_vif vif;
static struct xeno_stats_net st;
static struct xeno_stats_rules *rules;

static size_t
eth(uint8_t *f, const uint8_t *src, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	return 14;
}

/* IPv4 + UDP or TCP (flags) from src to dst. */
static size_t
ip4(uint8_t *f, const uint8_t *smac, const uint8_t *dmac,
    const uint8_t *sip, const uint8_t *dip, int proto, unsigned sport,
    unsigned dport, unsigned flags)
{
	size_t o = eth(f, smac, dmac, 0x0800), l4 = proto == 6 ? 20 : 8;

	memset(f + o, 0, 20 + l4);
	f[o] = 0x45;
	f[o + 3] = (uint8_t)(20 + l4);
	f[o + 8] = 64;
	f[o + 9] = (uint8_t)proto;
	memcpy(f + o + 12, sip, 4);
	memcpy(f + o + 16, dip, 4);
	f[o + 20] = (uint8_t)(sport >> 8);
	f[o + 21] = (uint8_t)sport;
	f[o + 22] = (uint8_t)(dport >> 8);
	f[o + 23] = (uint8_t)dport;
	if (proto == 6) {
		f[o + 32] = 5 << 4;
		f[o + 33] = (uint8_t)flags;
	}
	return o + 20 + l4;
}

static size_t
arp(uint8_t *f, const uint8_t *sha, const uint8_t *spa)
{
	static const uint8_t bc[6] = { 255, 255, 255, 255, 255, 255 };
	size_t o = eth(f, gmac, bc, 0x0806);

	memset(f + o, 0, 28);
	f[o + 1] = 1;
	f[o + 2] = 0x08;
	f[o + 4] = 6;
	f[o + 5] = 4;
	f[o + 7] = 1;
	memcpy(f + o + 8, sha, 6);
	memcpy(f + o + 14, spa, 4);
	memcpy(f + o + 24, hip, 4);
	return o + 28;
}

/* ICMPv6 type from src; ND target and option MAC when given. */
static size_t
icmp6(uint8_t *f, const uint8_t *src, int type, const uint8_t *target,
    const uint8_t *optmac)
{
	static const uint8_t mc[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	size_t o = eth(f, gmac, mc, 0x86dd), n = 24 + (optmac ? 8 : 0);

	memset(f + o, 0, 40 + n);
	f[o] = 0x60;
	f[o + 5] = (uint8_t)n;
	f[o + 6] = 58;
	f[o + 7] = 255;
	memcpy(f + o + 8, src, 16);
	f[o + 24] = 0xff;
	f[o + 25] = 0x02;
	f[o + 39] = 1;
	f[o + 40] = (uint8_t)type;
	if (target != NULL)
		memcpy(f + o + 48, target, 16);
	if (optmac != NULL) {
		f[o + 64] = type == 135 ? 1 : 2;
		f[o + 65] = 1;
		memcpy(f + o + 66, optmac, 6);
	}
	return o + 40 + n;
}

static int
out(const uint8_t *f, size_t n)
{
	int r;

	fw_enter(&vif, vmm_now_ns());
	r = fw_hook(&vif, VFR_DIR_OUT, f, n);
	fw_leave(&vif);
	return r;
}

static int
in(const uint8_t *f, size_t n)
{
	int r;

	fw_enter(&vif, vmm_now_ns());
	r = fw_hook(&vif, VFR_DIR_IN, f, n);
	fw_leave(&vif);
	return r;
}

static void
test_spoof(void)
{
	static const uint8_t other_mac[6] = { 0x52, 0x54, 0, 0x66, 0x66, 0x66 };
	static const uint8_t other_ip[4] = { 10, 0, 0, 99 }, zero[4] = { 0 };
	uint8_t ll[16] = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x50, 0x54, 0x00,
	    0xff, 0xfe, 0x12, 0x34, 0x56 };
	uint8_t bad6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    9 }, unspec[16] = { 0 }, f[256];
	size_t n;

	CHECK(out(f, ip4(f, gmac, hmac, gip, hip, 17, 9, 9, 0)) == 1);
	CHECK(out(f, ip4(f, other_mac, hmac, gip, hip, 17, 9, 9, 0)) == 0);
	CHECK_EQ(st.sn_spoof_mac, 1);
	CHECK(out(f, ip4(f, gmac, hmac, other_ip, hip, 17, 9, 9, 0)) == 0);
	CHECK_EQ(st.sn_spoof_ip, 1);
	CHECK(out(f, arp(f, gmac, gip)) == 1);
	CHECK(out(f, arp(f, gmac, zero)) == 1);	/* a probe */
	CHECK(out(f, arp(f, other_mac, gip)) == 0);
	CHECK(out(f, arp(f, gmac, other_ip)) == 0);
	CHECK_EQ(st.sn_spoof_arp, 2);
	/* IPv6: assigned and link-local sources pass; others do not */
	CHECK(out(f, icmp6(f, gip6, 128, NULL, NULL)) == 1);
	CHECK(out(f, icmp6(f, ll, 128, NULL, NULL)) == 1);
	CHECK(out(f, icmp6(f, bad6, 128, NULL, NULL)) == 0);
	CHECK_EQ(st.sn_spoof_ip, 2);
	/* ND: our target and MAC pass; DAD from ::; others are spoofs */
	CHECK(out(f, icmp6(f, ll, 136, gip6, gmac)) == 1);
	CHECK(out(f, icmp6(f, unspec, 135, gip6, NULL)) == 1);
	CHECK(out(f, icmp6(f, ll, 136, bad6, gmac)) == 0);
	CHECK(out(f, icmp6(f, ll, 136, gip6, other_mac)) == 0);
	CHECK(out(f, icmp6(f, ll, 135, bad6, other_mac)) == 0);
	CHECK(out(f, icmp6(f, ll, 134, NULL, NULL)) == 0);	/* RA */
	CHECK_EQ(st.sn_spoof_nd, 4);
	/* a header that does not parse */
	n = ip4(f, gmac, hmac, gip, hip, 17, 9, 9, 0);
	f[14] = 0x4f;	/* IHL 60 bytes, longer than the frame */
	CHECK(out(f, n) == 0);
	CHECK_EQ(st.sn_spoof_malformed, 1);
	CHECK_EQ(st.sn_tx_drop_spoof, 1 + 2 + 2 + 4 + 1);
	/* toward the guest: unicast for another MAC is not ours */
	CHECK(in(f, ip4(f, hmac, other_mac, hip, gip, 17, 9, 9, 0)) == 0);
	CHECK_EQ(st.sn_rx_drop_foreign, 1);
	CHECK(in(f, ip4(f, hmac, gmac, hip, gip, 17, 9, 9, 0)) == 1);
}

/* Build a rule set by hand: the IR the compiler would produce. */
static struct vfr_rule *
rule(struct vfr_ruleset *rs, int action, int dir, unsigned proto,
    unsigned dport)
{
	struct vfr_rule *r = &rs->rs_rules[rs->rs_nrules];

	memset(r, 0, sizeof(*r));
	r->r_id = rs->rs_nrules++;
	r->r_action = (uint8_t)action;
	r->r_dir = (uint8_t)dir;
	if (proto != 0) {
		r->r_nrange[VFR_F_PROTO] = 1;
		r->r_range[VFR_F_PROTO] = calloc(1, sizeof(struct vfr_range));
		r->r_range[VFR_F_PROTO]->rg_lo = r->r_range[VFR_F_PROTO]->rg_hi =
		    proto;
	}
	if (dport != 0) {
		r->r_nrange[VFR_F_DPORT] = 1;
		r->r_range[VFR_F_DPORT] = calloc(1, sizeof(struct vfr_range));
		r->r_range[VFR_F_DPORT]->rg_lo = r->r_range[VFR_F_DPORT]->rg_hi =
		    dport;
	}
	return r;
}

static void
test_actions(void)
{
	struct vfr_ruleset rs;
	struct vfr_rule *r;
	uint8_t f[256], ans[256];
	size_t n;
	char err[256];
	int i, passed;

	memset(&rs, 0, sizeof(rs));
	rs.rs_rules = calloc(8, sizeof(struct vfr_rule));
	rs.rs_policy[0] = VFR_DROP;	/* in */
	rs.rs_policy[1] = VFR_ACCEPT;	/* out */
	rule(&rs, VFR_COUNT, VFR_DIR_IN | VFR_DIR_OUT, 17, 0);	/* 0 */
	r = rule(&rs, VFR_ACCEPT, VFR_DIR_IN, 0, 0);	/* 1 */
	r->r_ct = VFR_CT_ESTABLISHED;
	rule(&rs, VFR_ACCEPT, VFR_DIR_IN, 17, 7);	/* 2 */
	rule(&rs, VFR_REJECT, VFR_DIR_OUT, 6, 25);	/* 3 */
	rule(&rs, VFR_REJECT, VFR_DIR_IN, 6, 23);	/* 4 */
	r = rule(&rs, VFR_RATELIMIT, VFR_DIR_OUT, 17, 53);	/* 5 */
	r->r_rl_rate = 1;
	r->r_rl_burst = 3;
	rule(&rs, VFR_DROP, VFR_DIR_OUT, 17, 9);	/* 6 */
	CHECK(vfr_ruleset_check(&rs, err, sizeof(err)) == 0);
	CHECK(fw_install(&dom, &rs, err, sizeof(err)) == 0);
	CHECK_EQ(rules->srs_gen, 1);

	/* in: port 7 allowed, port 8 by policy dropped */
	CHECK(in(f, ip4(f, hmac, gmac, hip, gip, 17, 4000, 7, 0)) == 1);
	CHECK(in(f, ip4(f, hmac, gmac, hip, gip, 17, 4000, 8, 0)) == 0);
	CHECK_EQ(st.sn_rx_drop_policy, 1);
	/* out: port 9 dropped by rule; reply to the port-7 flow passes,
	   then the host's next datagram is established */
	CHECK(out(f, ip4(f, gmac, hmac, gip, hip, 17, 1, 9, 0)) == 0);
	CHECK(out(f, ip4(f, gmac, hmac, gip, hip, 17, 7, 4000, 0)) == 1);
	CHECK(in(f, ip4(f, hmac, gmac, hip, gip, 17, 4000, 7, 0)) == 1);
	CHECK_EQ(rules->srs_rule[1][1].sr_packets, 1);	/* established */
	CHECK_EQ(rules->srs_rule[1][2].sr_packets, 1);	/* port 7 new */
	CHECK_EQ(rules->srs_rule[1][0].sr_packets, 5);	/* count: all UDP */
	/* reject out: a RST queued for the guest */
	CHECK(out(f, ip4(f, gmac, hmac, gip, hip, 6, 40000, 25, 0x02)) == 0);
	CHECK(fw_inject_pending(&vif));
	n = fw_inject_take(&vif, ans, sizeof(ans));
	CHECK_EQ(n, 14 + 20 + 20);
	CHECK(memcmp(ans, gmac, 6) == 0 && memcmp(ans + 6, hmac, 6) == 0);
	CHECK(memcmp(ans + 26, hip, 4) == 0 && memcmp(ans + 30, gip, 4) == 0);
	CHECK_EQ(ans[47], 0x14);	/* RST|ACK */
	CHECK_EQ(ans[34] << 8 | ans[35], 25);	/* from the port asked */
	CHECK_EQ(st.sn_tx_reject, 1);
	CHECK(!fw_inject_pending(&vif));
	/* reject in: written to the tap (here none: counted as lost) */
	CHECK(in(f, ip4(f, hmac, gmac, hip, gip, 6, 40000, 23, 0x02)) == 0);
	CHECK_EQ(st.sn_reject_lost, 1);
	/* never answer a RST */
	CHECK(out(f, ip4(f, gmac, hmac, gip, hip, 6, 40000, 25, 0x04)) == 0);
	CHECK(!fw_inject_pending(&vif));
	/* rate-limit: a burst of 3, then drops */
	for (i = passed = 0; i < 10; i++)
		passed += out(f, ip4(f, gmac, hmac, gip, hip, 17, 5353, 53,
		    0));
	CHECK_EQ(passed, 3);
	CHECK_EQ(st.sn_tx_drop_rlrule, 7);
	CHECK_EQ(rules->srs_rule[1][5].sr_packets, 10);
}

int
main(void)
{
	struct fw_ident id;

	rules = calloc(1, sizeof(*rules));
	CHECK(fw_domain_init(&dom, "dom1", rules, NULL) == 0);
	memset(&id, 0, sizeof(id));
	memcpy(id.fi_mac, gmac, 6);
	id.fi_has_ip4 = 1;
	memcpy(id.fi_ip4, gip, 4);
	id.fi_has_ip6 = 1;
	memcpy(id.fi_ip6, gip6, 16);
	CHECK(fw_vif_init(&vif, &dom, 0, "xv1", &id, 1024, &st, -1) == 0);
	test_spoof();
	test_actions();
	fw_vif_destroy(&vif);
	fw_domain_destroy(&dom);
	free(rules);
	return t_done("test_fw");
}
