/*
 * The VFR at the VIF hooks (fw.h).  Order for each frame:
 *
 *  1. parse the headers into a key (vfr_key_parse; the frame is a private
 *     copy the guest cannot change any more);
 *  2. hand a copy to a running capture (before any verdict);
 *  3. identity: a frame from the guest must carry the VIF's MAC and
 *     assigned addresses (anti-spoofing, whatever the rules say); a frame
 *     to the guest must be for its MAC, a broadcast or a multicast;
 *  4. connection tracking gives the state;
 *  5. the rule set's classifier decides (count, log, rate-limit on the
 *     way), the policy if no rule does;
 *  6. the flow table records the packet with its verdict; a reject is
 *     answered.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xen.h"
#include "xeno/control.h"
#include "xeno/log.h"
#include "virtio/fw.h"
#include "virtio/net.h"
#include "virtio/ratelimit.h"

struct fw_set {
	struct vfr_ruleset fs_rs;
	struct vfr_prog	*fs_prog[FW_MAX_VIFS];
	uint32_t	*fs_rl_slot;	/* rule id -> rate-limit slot + 1 */
	uint32_t	 fs_nrl;
	struct rl	*fs_rl[FW_MAX_VIFS];	/* per VIF: its buckets */
	uint32_t	 fs_nrules[FW_MAX_VIFS];	/* rules for that VIF */
	uint64_t	 fs_gen;
	uint32_t	 fs_bank;
};

struct fw_cap {
	int		 fc_sock;
	uint32_t	 fc_snaplen;
	uint32_t	 fc_nbpf;
	struct vfr_insn	*fc_bpf;
	int		 fc_dead;	/* the reader went away */
};

enum fw_spoof {
	FW_OK = 0,
	FW_SPOOF_MAC,
	FW_SPOOF_IP,
	FW_SPOOF_ARP,
	FW_SPOOF_ND,
	FW_SPOOF_MALFORMED,
	FW_FOREIGN,
};

static void
fw_set_free(struct fw_set *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < FW_MAX_VIFS; i++) {
		vfr_prog_free(s->fs_prog[i]);
		free(s->fs_rl[i]);
	}
	free(s->fs_rl_slot);
	vfr_ruleset_free(&s->fs_rs);
	free(s);
}

static void
fw_cap_free(struct fw_cap *c)
{
	if (c == NULL)
		return;
	if (c->fc_sock != -1)
		close(c->fc_sock);
	free(c->fc_bpf);
	free(c);
}

static int
addr_eq(const struct vfr_addr *a, const struct vfr_addr *b)
{
	return a->a_hi == b->a_hi && a->a_lo == b->a_lo;
}

int
fw_domain_init(struct fw_domain *d, const char *name,
    struct xeno_stats_rules *rules, struct flowlog *fl)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->fd_name, sizeof(d->fd_name), "%s", name);
	d->fd_rules = rules;
	d->fd_flowlog = fl;
	d->fd_export_ns = fl != NULL ? flowlog_interval(fl) : FW_EXPORT_NS;
	d->fd_mono_to_real = vmm_realtime_ns() - vmm_now_ns();
	return pthread_mutex_init(&d->fd_lock, NULL) == 0 ? 0 : -1;
}

void
fw_domain_destroy(struct fw_domain *d)
{
	fw_set_free(d->fd_set);
	d->fd_set = NULL;
	pthread_mutex_destroy(&d->fd_lock);
}

/* ---- the flow log ---- */

static void
fw_rec_base(struct fw_vif *fv, struct xeno_flow_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->fr_vif = (uint8_t)fv->fv_index;
	memcpy(r->fr_vif_name, fv->fv_name, sizeof(r->fr_vif_name));
}

static void
fw_put(struct fw_vif *fv, const struct xeno_flow_rec *r)
{
	if (flowlog_put(fv->fv_dom->fd_flowlog, r) == 0)
		fv->fv_st->sn_fl_records++;
	else
		fv->fv_st->sn_fl_lost++;
}

/* A flow's packets since its last report: one record per direction and
   verdict that has any. */
static void
fw_emit(void *arg, const struct vfr_flow *f, enum vfr_ct_why why)
{
	struct fw_vif *fv = arg;
	struct fw_domain *d = fv->fv_dom;
	const struct vfr_flow_key *fk = &f->fl_key;
	struct xeno_flow_rec r;
	int o, v;

	if (d->fd_flowlog == NULL)
		return;
	for (o = 0; o < 2; o++)
		for (v = 0; v < 2; v++) {
			if (f->fl_pkts[o][v] == 0)
				continue;
			fw_rec_base(fv, &r);
			r.fr_type = XENO_FLOW_REC_FLOW;
			r.fr_why = why == VFR_CT_END ? XENO_FLOW_WHY_END :
			    why == VFR_CT_EVICT ? XENO_FLOW_WHY_EVICT :
			    XENO_FLOW_WHY_INTERVAL;
			r.fr_dir = o == 0 ? f->fl_dir :
			    (uint8_t)(f->fl_dir ^ (VFR_DIR_IN | VFR_DIR_OUT));
			r.fr_action = v == 0 ? 1 : 2;
			r.fr_l3 = fk->fk_l3;
			r.fr_proto = fk->fk_proto;
			r.fr_tcpflags = f->fl_tcp[o];
			r.fr_rule = f->fl_rule[o][v];
			r.fr_gen = (uint32_t)fv->fv_gen;
			r.fr_sport = fk->fk_port[o];
			r.fr_dport = fk->fk_port[1 - o];
			r.fr_start_realtime_ns = f->fl_start_ns +
			    d->fd_mono_to_real;
			r.fr_end_realtime_ns = f->fl_last_ns +
			    d->fd_mono_to_real;
			r.fr_packets = f->fl_pkts[o][v];
			r.fr_bytes = f->fl_bytes[o][v];
			vfr_addr_bytes(&fk->fk_addr[o], r.fr_src);
			vfr_addr_bytes(&fk->fk_addr[1 - o], r.fr_dst);
			if (flowlog_put(d->fd_flowlog, &r) == 0)
				fv->fv_st->sn_fl_records++;
			else {
				fv->fv_st->sn_fl_lost++;
				flowlog_lost(d->fd_flowlog, r.fr_packets,
				    r.fr_bytes);
			}
		}
}

/* A `log` rule matched: the packet's first bytes go to the flow log. */
static void
fw_log_packet(struct fw_vif *fv, const struct vfr_key *k,
    const struct vfr_rule *r, const uint8_t *frame, size_t len)
{
	struct fw_domain *d = fv->fv_dom;
	struct xeno_flow_rec rec;

	if (d->fd_flowlog == NULL)
		return;
	fw_rec_base(fv, &rec);
	rec.fr_type = XENO_FLOW_REC_PACKET;
	rec.fr_why = XENO_FLOW_WHY_LOG;
	rec.fr_dir = k->k_dir;
	rec.fr_action = r->r_action == VFR_ACCEPT ? 1 :
	    VFR_ACTION_TERMINAL(r->r_action) ? 2 : 0;
	rec.fr_l3 = k->k_l3;
	rec.fr_proto = k->k_f[VFR_F_PROTO] == VFR_NONE ? 0 :
	    (uint8_t)k->k_f[VFR_F_PROTO];
	rec.fr_tcpflags = k->k_tcpflags;
	rec.fr_rule = r->r_id;
	rec.fr_gen = (uint32_t)fv->fv_gen;
	if (k->k_f[VFR_F_SPORT] != VFR_NONE) {
		rec.fr_sport = (uint16_t)k->k_f[VFR_F_SPORT];
		rec.fr_dport = (uint16_t)k->k_f[VFR_F_DPORT];
	}
	rec.fr_start_realtime_ns = rec.fr_end_realtime_ns =
	    fv->fv_now + d->fd_mono_to_real;
	rec.fr_packets = 1;
	rec.fr_bytes = len;
	vfr_addr_bytes(&k->k_addr[VFR_A_SRC], rec.fr_src);
	vfr_addr_bytes(&k->k_addr[VFR_A_DST], rec.fr_dst);
	rec.fr_caplen = len < sizeof(rec.fr_data) ? (uint32_t)len :
	    sizeof(rec.fr_data);
	memcpy(rec.fr_data, frame, rec.fr_caplen);
	fw_put(fv, &rec);
}

/* ---- VIFs ---- */

int
fw_vif_init(struct fw_vif *fv, struct fw_domain *d, unsigned int index,
    const char *name, const struct fw_ident *id, uint32_t max_flows,
    struct xeno_stats_net *st, int tap)
{
	uint64_t seed[2];
	uint8_t ll[16];
	struct timespec ts;

	memset(fv, 0, sizeof(*fv));
	if (index >= FW_MAX_VIFS) {
		errno = EINVAL;
		return -1;
	}
	fv->fv_dom = d;
	fv->fv_index = index;
	snprintf(fv->fv_name, sizeof(fv->fv_name), "%s", name);
	fv->fv_id = *id;
	fv->fv_st = st;
	fv->fv_tap = tap;
	if (id->fi_has_ip4)
		vfr_addr_ip4(&fv->fv_ip4, id->fi_ip4);
	if (id->fi_has_ip6)
		vfr_addr_ip6(&fv->fv_ip6, id->fi_ip6);
	/* fe80::/64 with the modified EUI-64 of the MAC (RFC 4291) */
	memset(ll, 0, sizeof(ll));
	ll[0] = 0xfe;
	ll[1] = 0x80;
	ll[8] = id->fi_mac[0] ^ 2;
	ll[9] = id->fi_mac[1];
	ll[10] = id->fi_mac[2];
	ll[11] = 0xff;
	ll[12] = 0xfe;
	ll[13] = id->fi_mac[3];
	ll[14] = id->fi_mac[4];
	ll[15] = id->fi_mac[5];
	vfr_addr_ip6(&fv->fv_ll6, ll);
	/* the hash seed only has to be unknown to the guest */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	seed[0] = vmm_realtime_ns() ^ (uint64_t)ts.tv_nsec << 32 ^
	    (uint64_t)(uintptr_t)fv;
	seed[1] = seed[0] * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
	if (vfr_ct_init(&fv->fv_ct, max_flows, seed[0], seed[1], fw_emit,
	    fv) == -1)
		return -1;
	st->sn_ct_max = max_flows;
	pthread_mutex_lock(&d->fd_lock);
	d->fd_vif[index] = fv;
	pthread_mutex_unlock(&d->fd_lock);
	return 0;
}

void
fw_vif_destroy(struct fw_vif *fv)
{
	struct fw_domain *d = fv->fv_dom;

	if (d == NULL)
		return;
	vfr_ct_flush(&fv->fv_ct);
	vfr_ct_free(&fv->fv_ct);
	pthread_mutex_lock(&d->fd_lock);
	d->fd_vif[fv->fv_index] = NULL;
	pthread_mutex_unlock(&d->fd_lock);
	fw_cap_free(fv->fv_cap_src);
	fv->fv_cap_src = NULL;
	fv->fv_dom = NULL;
}

/* ---- batches and installs ---- */

void
fw_enter(struct fw_vif *fv, uint64_t now)
{
	struct fw_set *s;

	__atomic_store_n(&fv->fv_inside, 1, __ATOMIC_SEQ_CST);
	s = __atomic_load_n(&fv->fv_dom->fd_set, __ATOMIC_SEQ_CST);
	fv->fv_set = s;
	fv->fv_cap = __atomic_load_n(&fv->fv_cap_src, __ATOMIC_SEQ_CST);
	fv->fv_now = now;
	if (s != NULL && s->fs_gen != fv->fv_gen) {
		fv->fv_gen = s->fs_gen;
		fv->fv_nrules = s->fs_nrules[fv->fv_index];
		fv->fv_prog_bytes = vfr_prog_size(s->fs_prog[fv->fv_index]);
	}
}

void
fw_leave(struct fw_vif *fv)
{
	fv->fv_set = NULL;
	fv->fv_cap = NULL;
	__atomic_store_n(&fv->fv_inside, 0, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&fv->fv_epoch, 1, __ATOMIC_RELEASE);
}

/*
 * Wait until VIF fv holds nothing it picked up before the caller's last
 * pointer swap: it is outside a batch, or has finished the batch it was
 * in.  (Its fw_enter stores fv_inside before loading the pointers, and
 * the swap came before this load: either it saw the new pointers or we
 * see it inside.)
 */
static void
fw_quiesce(struct fw_vif *fv)
{
	struct timespec ts = { 0, 20000 };
	uint64_t e = __atomic_load_n(&fv->fv_epoch, __ATOMIC_SEQ_CST);

	if (!__atomic_load_n(&fv->fv_inside, __ATOMIC_SEQ_CST))
		return;
	while (__atomic_load_n(&fv->fv_epoch, __ATOMIC_SEQ_CST) == e &&
	    __atomic_load_n(&fv->fv_inside, __ATOMIC_SEQ_CST))
		nanosleep(&ts, NULL);
}

int
fw_install(struct fw_domain *d, struct vfr_ruleset *rs, char *err,
    size_t errsz)
{
	struct xeno_stats_rules *sr = d->fd_rules;
	struct fw_set *s, *old;
	uint32_t i, slot;
	uint64_t now = vmm_now_ns(), refill;
	const struct vfr_rule *r;
	int v;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return err_set(err, errsz, errno, "rule set");
	s->fs_rs = *rs;
	memset(rs, 0, sizeof(*rs));
	if (s->fs_rs.rs_nrules > XENO_STATS_MAX_RULES) {
		err_set(err, errsz, 0, "%u rules, at most %u",
		    s->fs_rs.rs_nrules, XENO_STATS_MAX_RULES);
		goto fail;
	}
	if ((s->fs_rl_slot = calloc(s->fs_rs.rs_nrules + 1,
	    sizeof(*s->fs_rl_slot))) == NULL)
		goto oom;
	for (i = 0; i < s->fs_rs.rs_nrules; i++)
		if (s->fs_rs.rs_rules[i].r_action == VFR_RATELIMIT)
			s->fs_rl_slot[i] = ++s->fs_nrl;
	pthread_mutex_lock(&d->fd_lock);
	for (v = 0; v < FW_MAX_VIFS; v++) {
		if (d->fd_vif[v] == NULL)
			continue;
		s->fs_prog[v] = vfr_prog_build(&s->fs_rs, d->fd_vif[v]->fv_name,
		    d->fd_name);
		s->fs_rl[v] = calloc(s->fs_nrl + 1, sizeof(struct rl));
		if (s->fs_prog[v] == NULL || s->fs_rl[v] == NULL) {
			pthread_mutex_unlock(&d->fd_lock);
			goto oom;
		}
		for (i = 0; i < s->fs_rs.rs_nrules; i++) {
			r = &s->fs_rs.rs_rules[i];
			if ((r->r_vif[0] == '\0' || strcmp(r->r_vif,
			    d->fd_vif[v]->fv_name) == 0) &&
			    (r->r_domain[0] == '\0' ||
			    strcmp(r->r_domain, d->fd_name) == 0))
				s->fs_nrules[v]++;
			if ((slot = s->fs_rl_slot[i]) == 0)
				continue;
			/* burst tokens, refilled from empty in burst/rate s */
			refill = r->r_rl_burst * 1000000000ULL / r->r_rl_rate;
			if (refill == 0)
				refill = 1;
			rl_bucket_init(r->r_rl_bytes ?
			    &s->fs_rl[v][slot - 1].rl_bytes :
			    &s->fs_rl[v][slot - 1].rl_pkts, r->r_rl_burst,
			    refill, 0, now);
		}
	}
	s->fs_gen = ++d->fd_gen;
	s->fs_bank = (uint32_t)(s->fs_gen & 1);
	/* this bank was last used two sets ago: nobody holds that one */
	memset(sr->srs_rule[s->fs_bank], 0, sizeof(sr->srs_rule[0]));
	stats_write_begin(&sr->srs_seq);
	sr->srs_bank = s->fs_bank;
	sr->srs_gen = s->fs_gen;
	sr->srs_nrules = s->fs_rs.rs_nrules;
	sr->srs_installed_realtime_ns = vmm_realtime_ns();
	sr->srs_installs++;
	stats_write_end(&sr->srs_seq);
	old = __atomic_exchange_n(&d->fd_set, s, __ATOMIC_SEQ_CST);
	for (v = 0; v < FW_MAX_VIFS; v++)
		if (d->fd_vif[v] != NULL)
			fw_quiesce(d->fd_vif[v]);
	pthread_mutex_unlock(&d->fd_lock);
	fw_set_free(old);
	return 0;
oom:
	err_set(err, errsz, ENOMEM, "building the classifier");
fail:
	fw_set_free(s);
	return -1;
}

/* ---- anti-spoofing ---- */

static enum fw_spoof
fw_identity(const struct fw_vif *fv, const struct vfr_key *k)
{
	const struct fw_ident *id = &fv->fv_id;
	const struct vfr_addr *src = &k->k_addr[VFR_A_SRC];
	unsigned type = k->k_f[VFR_F_ICMPTYPE];

	if (k->k_dir == VFR_DIR_IN) {
		/* unicast for another MAC (a bridge flooding) */
		if ((k->k_dmac[0] & 1) == 0 &&
		    memcmp(k->k_dmac, id->fi_mac, 6) != 0)
			return FW_FOREIGN;
		return FW_OK;
	}
	if (memcmp(k->k_smac, id->fi_mac, 6) != 0)
		return FW_SPOOF_MAC;
	if (k->k_malformed)
		return FW_SPOOF_MALFORMED;
	switch (k->k_l3) {
	case VFR_L3_IP4:
		if (!id->fi_has_ip4 || !addr_eq(src, &fv->fv_ip4))
			return FW_SPOOF_IP;
		return FW_OK;
	case VFR_L3_ARP:
		if (memcmp(k->k_arp_sha, id->fi_mac, 6) != 0)
			return FW_SPOOF_ARP;
		/* 0.0.0.0 (::ffff:0.0.0.0): an address probe */
		if (k->k_arp_spa.a_lo != 0xffff00000000ULL &&
		    (!id->fi_has_ip4 || !addr_eq(&k->k_arp_spa, &fv->fv_ip4)))
			return FW_SPOOF_ARP;
		return FW_OK;
	case VFR_L3_IP6:
		if (k->k_f[VFR_F_PROTO] == 58 && type != VFR_NONE) {
			if (type == 134 || type == 137)
				return FW_SPOOF_ND;	/* RA, redirect */
			if (type == 136 && !addr_eq(&k->k_nd_target,
			    &fv->fv_ll6) && (!id->fi_has_ip6 ||
			    !addr_eq(&k->k_nd_target, &fv->fv_ip6)))
				return FW_SPOOF_ND;
			if ((type == 135 || type == 136) && k->k_nd_tll_ok &&
			    memcmp(k->k_nd_tll, id->fi_mac, 6) != 0)
				return FW_SPOOF_ND;
			/* duplicate address detection: from :: */
			if (type == 135 && src->a_hi == 0 && src->a_lo == 0)
				return FW_OK;
		}
		if (addr_eq(src, &fv->fv_ll6) ||
		    (id->fi_has_ip6 && addr_eq(src, &fv->fv_ip6)))
			return FW_OK;
		return FW_SPOOF_IP;
	}
	return FW_OK;	/* other Ethernet types: the rules decide */
}

/* ---- reject answers ---- */

static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/*
 * Build the answer to a rejected IP frame in out[]: a TCP RST for TCP
 * (RFC 9293 §3.10.7.1), else ICMP "administratively prohibited" quoting
 * the frame's start.  Never for ICMP errors, RSTs, fragments, or
 * frames to a broadcast or multicast address.  Returns the length, 0
 * for no answer.
 */
static size_t
fw_answer(const struct vfr_key *k, const uint8_t *f, size_t len,
    uint8_t *out)
{
	int v6 = k->k_l3 == VFR_L3_IP6;
	size_t ipoff, l3len, l4, n, q;
	unsigned proto = k->k_f[VFR_F_PROTO];
	uint8_t *ip, *t, pseudo[40];
	uint32_t sum, seq, ack, dlen;
	int tcp;

	if ((k->k_l3 != VFR_L3_IP4 && !v6) || k->k_frag ||
	    (k->k_dmac[0] & 1) || k->k_l4off == 0 || proto == VFR_NONE)
		return 0;
	if (k->k_f[VFR_F_ICMPTYPE] != VFR_NONE && !(v6 ?
	    k->k_f[VFR_F_ICMPTYPE] >= 128 : (k->k_f[VFR_F_ICMPTYPE] == 8 ||
	    k->k_f[VFR_F_ICMPTYPE] == 13)))
		return 0;	/* an error or chatter: never answer */
	tcp = proto == 6 && k->k_f[VFR_F_SPORT] != VFR_NONE;
	if (tcp && (k->k_tcpflags & 0x04))
		return 0;	/* never answer a RST */
	/* the IP header sits right after Ethernet and up to two VLAN tags,
	   as vfr_key_parse() found it */
	for (ipoff = 14; ipoff < 22 && ipoff + 4 <= len &&
	    ((f[ipoff - 2] == 0x81 && f[ipoff - 1] == 0x00) ||
	    (f[ipoff - 2] == 0x88 && f[ipoff - 1] == 0xa8)); ipoff += 4)
		;
	l3len = v6 ? 40 : 20;
	memcpy(out, f + 6, 6);		/* back to the sender */
	memcpy(out + 6, f, 6);
	put16(out + 12, v6 ? 0x86dd : 0x0800);
	ip = out + 14;
	memset(ip, 0, l3len);
	if (v6) {
		ip[0] = 0x60;
		ip[7] = 64;
		memcpy(ip + 8, f + ipoff + 24, 16);
		memcpy(ip + 24, f + ipoff + 8, 16);
	} else {
		ip[0] = 0x45;
		ip[8] = 64;
		memcpy(ip + 12, f + ipoff + 16, 4);
		memcpy(ip + 16, f + ipoff + 12, 4);
	}
	t = ip + l3len;
	l4 = k->k_l4off;
	if (tcp) {
		if (len - l4 < 20)
			return 0;
		seq = get32(f + l4 + 4);
		ack = get32(f + l4 + 8);
		dlen = (uint32_t)(len - l4 - (size_t)((f[l4 + 12] >> 4) * 4));
		if (len - l4 < (size_t)((f[l4 + 12] >> 4) * 4))
			dlen = 0;
		memset(t, 0, 20);
		memcpy(t, f + l4 + 2, 2);
		memcpy(t + 2, f + l4, 2);
		if (k->k_tcpflags & 0x10) {
			put32(t + 4, ack);
			t[13] = 0x04;
		} else {
			put32(t + 8, seq + dlen + ((k->k_tcpflags & 0x02) ?
			    1 : 0) + ((k->k_tcpflags & 0x01) ? 1 : 0));
			t[13] = 0x14;
		}
		t[12] = 5 << 4;
		n = 20;
		ip[v6 ? 6 : 9] = 6;
	} else {
		/* ICMP: type, code, 4 unused bytes, then the quote */
		q = len - ipoff;
		if (q > FW_INJECT_LEN - 14 - l3len - 8)
			q = FW_INJECT_LEN - 14 - l3len - 8;
		memset(t, 0, 8);
		t[0] = v6 ? 1 : 3;
		t[1] = v6 ? 1 : 13;
		memcpy(t + 8, f + ipoff, q);
		n = 8 + q;
		ip[v6 ? 6 : 9] = v6 ? 58 : 1;
	}
	if (v6)
		put16(ip + 4, (uint16_t)n);
	else {
		put16(ip + 2, (uint16_t)(20 + n));
		put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	}
	/* TCP and ICMPv6 checksums cover a pseudo-header; ICMP does not */
	memset(pseudo, 0, sizeof(pseudo));
	if (v6) {
		memcpy(pseudo, ip + 8, 32);
		put32(pseudo + 32, (uint32_t)n);
		pseudo[39] = ip[6];
		sum = csum_add(0, pseudo, 40);
	} else if (tcp) {
		memcpy(pseudo, ip + 12, 8);
		pseudo[9] = 6;
		put16(pseudo + 10, (uint16_t)n);
		sum = csum_add(0, pseudo, 12);
	} else
		sum = 0;
	sum = csum_add(sum, t, n);
	put16(t + (tcp ? 16 : 2), csum_fold(sum));
	return 14 + l3len + n;
}

static void
fw_reject(struct fw_vif *fv, const struct vfr_key *k, const uint8_t *f,
    size_t len)
{
	uint8_t buf[FW_INJECT_LEN];
	unsigned int slot;
	size_t n;

	if ((n = fw_answer(k, f, len, buf)) == 0)
		return;
	if (k->k_dir == VFR_DIR_IN) {
		/* rejected on the way in: answer the host */
		if (write(fv->fv_tap, buf, n) == (ssize_t)n)
			fv->fv_st->sn_rx_reject++;
		else
			fv->fv_st->sn_reject_lost++;
		return;
	}
	if (fv->fv_inj_count == FW_INJECT) {
		fv->fv_st->sn_reject_lost++;
		return;
	}
	slot = (fv->fv_inj_head + fv->fv_inj_count) % FW_INJECT;
	memcpy(fv->fv_inj[slot], buf, n);
	fv->fv_inj_len[slot] = (uint16_t)n;
	fv->fv_inj_count++;
	fv->fv_st->sn_tx_reject++;
}

int
fw_inject_pending(const struct fw_vif *fv)
{
	return fv->fv_inj_count != 0;
}

size_t
fw_inject_take(struct fw_vif *fv, uint8_t *buf, size_t size)
{
	size_t n;

	if (fv->fv_inj_count == 0)
		return 0;
	n = fv->fv_inj_len[fv->fv_inj_head];
	if (n > size)
		n = size;
	memcpy(buf, fv->fv_inj[fv->fv_inj_head], n);
	fv->fv_inj_head = (fv->fv_inj_head + 1) % FW_INJECT;
	fv->fv_inj_count--;
	return n;
}

/* ---- capture ---- */

static void
fw_capture(struct fw_vif *fv, struct fw_cap *c, int dir, const uint8_t *f,
    size_t len)
{
	struct xeno_cap_msg m;
	struct iovec iov[2];
	struct msghdr mh;

	if (c->fc_dead || (c->fc_nbpf != 0 &&
	    vfr_bpf_run(c->fc_bpf, c->fc_nbpf, f, len) == 0))
		return;
	memset(&m, 0, sizeof(m));
	m.cm_realtime_ns = fv->fv_now + fv->fv_dom->fd_mono_to_real;
	m.cm_len = (uint32_t)len;
	m.cm_caplen = (uint32_t)(c->fc_snaplen != 0 && c->fc_snaplen < len ?
	    c->fc_snaplen : len);
	m.cm_dir = (uint8_t)dir;
	iov[0].iov_base = &m;
	iov[0].iov_len = sizeof(m);
	iov[1].iov_base = (void *)(uintptr_t)f;
	iov[1].iov_len = m.cm_caplen;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	if (sendmsg(c->fc_sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
		fv->fv_st->sn_cap_packets++;
	else if (errno == EAGAIN || errno == ENOBUFS)
		fv->fv_st->sn_cap_drops++;
	else
		c->fc_dead = 1;
}

int
fw_capture_start(struct fw_domain *d, unsigned int vif, int sock,
    uint32_t snaplen, const struct vfr_insn *bpf, uint32_t nbpf, char *err,
    size_t errsz)
{
	struct fw_cap *c, *old;
	struct fw_vif *fv;

	if (nbpf != 0 && vfr_bpf_valid(bpf, nbpf) != 0) {
		close(sock);
		return err_set(err, errsz, EINVAL, "capture filter: not a "
		    "valid BPF program");
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (nbpf != 0 && (c->fc_bpf = calloc(nbpf, sizeof(*bpf))) == NULL)) {
		free(c);
		close(sock);
		return err_set(err, errsz, ENOMEM, "capture");
	}
	c->fc_sock = sock;
	c->fc_snaplen = snaplen;
	c->fc_nbpf = nbpf;
	if (nbpf != 0)
		memcpy(c->fc_bpf, bpf, nbpf * sizeof(*bpf));
	pthread_mutex_lock(&d->fd_lock);
	if (vif >= FW_MAX_VIFS || (fv = d->fd_vif[vif]) == NULL) {
		pthread_mutex_unlock(&d->fd_lock);
		fw_cap_free(c);
		return err_set(err, errsz, ENODEV, "capture: no VIF %u", vif);
	}
	old = __atomic_exchange_n(&fv->fv_cap_src, c, __ATOMIC_SEQ_CST);
	fw_quiesce(fv);
	pthread_mutex_unlock(&d->fd_lock);
	fw_cap_free(old);
	return 0;
}

int
fw_capture_stop(struct fw_domain *d, unsigned int vif, char *err,
    size_t errsz)
{
	struct fw_cap *old;
	struct fw_vif *fv;

	pthread_mutex_lock(&d->fd_lock);
	if (vif >= FW_MAX_VIFS || (fv = d->fd_vif[vif]) == NULL) {
		pthread_mutex_unlock(&d->fd_lock);
		return err_set(err, errsz, ENODEV, "capture: no VIF %u", vif);
	}
	old = __atomic_exchange_n(&fv->fv_cap_src, NULL, __ATOMIC_SEQ_CST);
	fw_quiesce(fv);
	pthread_mutex_unlock(&d->fd_lock);
	if (old == NULL)
		return err_set(err, errsz, ESRCH, "no capture on VIF %u", vif);
	fw_cap_free(old);
	return 0;
}

/* ---- the hook ---- */

struct fw_hit {
	struct fw_vif		*h_fv;
	const struct vfr_key	*h_k;
	const uint8_t		*h_frame;
	size_t			 h_len;
};

static void
fw_count(struct fw_vif *fv, uint32_t id, size_t len)
{
	struct xeno_stats_rule *c =
	    &fv->fv_dom->fd_rules->srs_rule[fv->fv_set->fs_bank][id];

	__atomic_fetch_add(&c->sr_packets, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->sr_bytes, len, __ATOMIC_RELAXED);
}

static int
fw_hit(void *arg, const struct vfr_rule *r)
{
	struct fw_hit *h = arg;
	struct fw_vif *fv = h->h_fv;
	struct fw_set *s = fv->fv_set;
	uint32_t slot;

	fw_count(fv, r->r_id, h->h_len);
	if (r->r_action == VFR_LOG || r->r_log)
		fw_log_packet(fv, h->h_k, r, h->h_frame, h->h_len);
	if (r->r_action == VFR_RATELIMIT &&
	    (slot = s->fs_rl_slot[r->r_id]) != 0 &&
	    !rl_take(&s->fs_rl[fv->fv_index][slot - 1], h->h_len, fv->fv_now))
		return 1;
	return 0;
}

int
fw_hook(struct fw_vif *fv, int dir, const uint8_t *frame, size_t len)
{
	struct xeno_stats_net *st = fv->fv_st;
	struct fw_set *s = fv->fv_set;
	struct vfr_verdict v;
	struct vfr_flow *f;
	struct vfr_key k;
	struct fw_hit h;
	uint32_t rule;
	int orient, in = dir == VFR_DIR_IN;

	vfr_key_parse(&k, frame, len, dir);
	if (fv->fv_cap != NULL)
		fw_capture(fv, fv->fv_cap, dir, frame, len);
	switch (fw_identity(fv, &k)) {
	case FW_OK:
		break;
	case FW_FOREIGN:
		st->sn_rx_drop_foreign++;
		return 0;
	case FW_SPOOF_MAC:
		st->sn_spoof_mac++;
		goto spoof;
	case FW_SPOOF_IP:
		st->sn_spoof_ip++;
		goto spoof;
	case FW_SPOOF_ARP:
		st->sn_spoof_arp++;
		goto spoof;
	case FW_SPOOF_ND:
		st->sn_spoof_nd++;
		goto spoof;
	case FW_SPOOF_MALFORMED:
		st->sn_spoof_malformed++;
		goto spoof;
	}
	f = vfr_ct_lookup(&fv->fv_ct, &k, fv->fv_now, &orient);
	if (s == NULL) {
		v.v_action = VFR_ACCEPT;
		v.v_rule = NULL;
		v.v_policy = 1;
		v.v_stopped = 0;
	} else {
		h.h_fv = fv;
		h.h_k = &k;
		h.h_frame = frame;
		h.h_len = len;
		vfr_classify(s->fs_prog[fv->fv_index], &k, frame, len, fw_hit,
		    &h, &v);
		if (v.v_rule != NULL && !v.v_stopped) {
			fw_count(fv, v.v_rule->r_id, len);
			if (v.v_rule->r_log)
				fw_log_packet(fv, &k, v.v_rule, frame, len);
		}
	}
	rule = v.v_rule != NULL ? v.v_rule->r_id : VFR_RULE_POLICY;
	if (vfr_ct_update(&fv->fv_ct, f, orient, &k, v.v_action, rule,
	    (uint32_t)len, fv->fv_now) == -1) {
		if (in)
			st->sn_rx_drop_ctfull++;
		else
			st->sn_tx_drop_ctfull++;
		return 0;
	}
	if (v.v_action == VFR_ACCEPT)
		return 1;
	if (v.v_stopped) {
		if (in)
			st->sn_rx_drop_rlrule++;
		else
			st->sn_tx_drop_rlrule++;
	} else if (v.v_policy) {
		if (in)
			st->sn_rx_drop_policy++;
		else
			st->sn_tx_drop_policy++;
	}
	if (v.v_action == VFR_REJECT)
		fw_reject(fv, &k, frame, len);
	return 0;
spoof:
	st->sn_tx_drop_spoof++;
	f = vfr_ct_lookup(&fv->fv_ct, &k, fv->fv_now, &orient);
	vfr_ct_update(&fv->fv_ct, f, orient, &k, VFR_DROP, VFR_RULE_SPOOF,
	    (uint32_t)len, fv->fv_now);
	return 0;
}

void
fw_tick(struct fw_vif *fv, uint64_t now)
{
	vfr_ct_sweep(&fv->fv_ct, now, fv->fv_dom->fd_export_ns);
}

void
fw_stats(struct fw_vif *fv, struct xeno_stats_net *st)
{
	st->sn_ct_flows = fv->fv_ct.ct_count;
	st->sn_ct_full = fv->fv_ct.ct_full;
	st->sn_ct_evicted = fv->fv_ct.ct_evicted;
	st->sn_ct_untracked_pkts = fv->fv_ct.ct_untracked_pkts;
	st->sn_ct_untracked_bytes = fv->fv_ct.ct_untracked_bytes;
	st->sn_fw_gen = fv->fv_gen;
	st->sn_fw_rules = fv->fv_nrules;
	st->sn_fw_prog_bytes = fv->fv_prog_bytes;
}
