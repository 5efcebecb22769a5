/*
 * Connection tracking (vfr-rules/ct.c) on crafted frames: the state each
 * packet gets (TCP handshake, UDP replies, ICMP echo and errors, what is
 * invalid or untracked), the hard bound of the table under a flood (which
 * pushes out unreplied flows and never an established one), timeouts,
 * and flow records that add up to every packet seen.
 */
#include <string.h>

#include "t.h"
#include "vfr.h"

#define S	1000000000ULL

static uint8_t guest_mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
static uint8_t host_mac[6] = { 0x02, 0, 0, 0, 0, 1 };
static uint8_t gip[4] = { 10, 0, 0, 2 }, hip[4] = { 10, 0, 0, 1 };

/* emitted records, summed */
static uint64_t em_pkts, em_bytes, em_records, em_end, em_evict;

static void
emit(void *arg, const struct vfr_flow *f, enum vfr_ct_why why)
{
	int o, v;

	(void)arg;
	for (o = 0; o < 2; o++)
		for (v = 0; v < 2; v++) {
			em_pkts += f->fl_pkts[o][v];
			em_bytes += f->fl_bytes[o][v];
		}
	em_records++;
	if (why == VFR_CT_END)
		em_end++;
	if (why == VFR_CT_EVICT)
		em_evict++;
}

/* An IPv4 frame from the guest (out) or the host (in). */
static size_t
frame(uint8_t *f, int out, unsigned proto, unsigned sport, unsigned dport,
    unsigned tcpflags, unsigned icmptype)
{
	uint8_t *ip = f + 14, *l4 = ip + 20;
	size_t l4len = proto == 6 ? 20 : 8;

	memset(f, 0, 128);
	memcpy(f, out ? host_mac : guest_mac, 6);
	memcpy(f + 6, out ? guest_mac : host_mac, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = (uint8_t)(20 + l4len);
	ip[8] = 64;
	ip[9] = (uint8_t)proto;
	memcpy(ip + 12, out ? gip : hip, 4);
	memcpy(ip + 16, out ? hip : gip, 4);
	if (proto == 1) {
		l4[0] = (uint8_t)icmptype;
		l4[4] = 0x12;
		l4[5] = 0x34;
	} else {
		l4[0] = (uint8_t)(sport >> 8);
		l4[1] = (uint8_t)sport;
		l4[2] = (uint8_t)(dport >> 8);
		l4[3] = (uint8_t)dport;
		if (proto == 6) {
			l4[12] = 5 << 4;
			l4[13] = (uint8_t)tcpflags;
		}
	}
	return 14 + 20 + l4len;
}

static struct vfr_ct ct;
static uint64_t seen_pkts;

/* One packet through lookup and update with a verdict: its state. */
static int
pass(int out, unsigned proto, unsigned sport, unsigned dport,
    unsigned flags, unsigned icmptype, int action, uint64_t now)
{
	uint8_t f[128];
	struct vfr_key k;
	struct vfr_flow *fl;
	size_t len = frame(f, out, proto, sport, dport, flags, icmptype);
	int o;

	vfr_key_parse(&k, f, len, out ? VFR_DIR_OUT : VFR_DIR_IN);
	fl = vfr_ct_lookup(&ct, &k, now, &o);
	if (vfr_ct_update(&ct, fl, o, &k, action, 0, (uint32_t)len, now) == 0)
		seen_pkts++;
	return k.k_ct;
}

static void
test_states(void)
{
	uint64_t t = 1 * S;

	CHECK(vfr_ct_init(&ct, 1024, 1, 2, emit, NULL) == 0);
	/* TCP: SYN from the guest, SYN/ACK back, ACKs */
	CHECK_EQ(pass(1, 6, 40000, 80, 0x02, 0, VFR_ACCEPT, t), VFR_CT_NEW);
	CHECK_EQ(pass(0, 6, 80, 40000, 0x12, 0, VFR_ACCEPT, t),
	    VFR_CT_ESTABLISHED);
	CHECK_EQ(pass(1, 6, 40000, 80, 0x10, 0, VFR_ACCEPT, t),
	    VFR_CT_ESTABLISHED);
	/* an ACK nobody opened, a SYN/ACK out of the blue */
	CHECK_EQ(pass(0, 6, 81, 40001, 0x10, 0, VFR_DROP, t), VFR_CT_INVALID);
	CHECK_EQ(pass(0, 6, 82, 40002, 0x12, 0, VFR_DROP, t), VFR_CT_INVALID);
	/* UDP: new until answered */
	CHECK_EQ(pass(0, 17, 5000, 7, 0, 0, VFR_ACCEPT, t), VFR_CT_NEW);
	CHECK_EQ(pass(0, 17, 5000, 7, 0, 0, VFR_ACCEPT, t), VFR_CT_NEW);
	CHECK_EQ(pass(1, 17, 7, 5000, 0, 0, VFR_ACCEPT, t),
	    VFR_CT_ESTABLISHED);
	CHECK_EQ(pass(0, 17, 5000, 7, 0, 0, VFR_ACCEPT, t),
	    VFR_CT_ESTABLISHED);
	/* a dropped first packet makes no state: its reply is new */
	CHECK_EQ(pass(0, 17, 5001, 8, 0, 0, VFR_DROP, t), VFR_CT_NEW);
	CHECK_EQ(pass(1, 17, 8, 5001, 0, 0, VFR_ACCEPT, t), VFR_CT_NEW);
	/* ICMP echo: request new, reply established; a lone reply invalid */
	CHECK_EQ(pass(0, 1, 0, 0, 0, 8, VFR_ACCEPT, t), VFR_CT_NEW);
	CHECK_EQ(pass(1, 1, 0, 0, 0, 0, VFR_ACCEPT, t), VFR_CT_ESTABLISHED);
	/* timeouts: UDP replied lives 180 s idle, not 181 */
	CHECK_EQ(pass(0, 17, 5000, 7, 0, 0, VFR_ACCEPT, t + 179 * S),
	    VFR_CT_ESTABLISHED);
	CHECK_EQ(pass(0, 17, 5000, 7, 0, 0, VFR_ACCEPT, t + 361 * S),
	    VFR_CT_NEW);
	vfr_ct_flush(&ct);
	CHECK_EQ(ct.ct_count, 0);
	CHECK_EQ(em_pkts, seen_pkts);
	vfr_ct_free(&ct);
}

/* A flood of new flows against a small table: bounded, and the one
   established flow survives it. */
static void
test_flood(void)
{
	uint64_t t = 1 * S;
	unsigned i;

	em_pkts = em_evict = 0;
	seen_pkts = 0;
	CHECK(vfr_ct_init(&ct, 64, 3, 4, emit, NULL) == 0);
	CHECK_EQ(pass(1, 6, 40000, 443, 0x02, 0, VFR_ACCEPT, t), VFR_CT_NEW);
	CHECK_EQ(pass(0, 6, 443, 40000, 0x12, 0, VFR_ACCEPT, t),
	    VFR_CT_ESTABLISHED);
	for (i = 0; i < 10000; i++)
		pass(0, 6, 1024 + i, 22, 0x02, 0, VFR_ACCEPT, t + i);
	CHECK(ct.ct_count <= 64);
	CHECK(ct.ct_evicted > 9000);
	CHECK_EQ(pass(1, 6, 40000, 443, 0x10, 0, VFR_ACCEPT, t + 20000),
	    VFR_CT_ESTABLISHED);
	/* all established: no room, new connections refused and counted */
	vfr_ct_flush(&ct);
	CHECK_EQ(em_pkts, seen_pkts);
	vfr_ct_free(&ct);
	CHECK(vfr_ct_init(&ct, 16, 5, 6, emit, NULL) == 0);
	for (i = 0; i < 16; i++) {
		pass(1, 17, 2000 + i, 53, 0, 0, VFR_ACCEPT, t);
		pass(0, 17, 53, 2000 + i, 0, 0, VFR_ACCEPT, t);
	}
	CHECK_EQ(ct.ct_count, 16);
	pass(1, 17, 3000, 53, 0, 0, VFR_ACCEPT, t);
	CHECK_EQ(ct.ct_full, 1);
	CHECK_EQ(ct.ct_count, 16);
	vfr_ct_flush(&ct);
	CHECK_EQ(em_pkts + ct.ct_untracked_pkts, seen_pkts + 1);
	vfr_ct_free(&ct);
}

/* Periodic export: a live flow reports its packets each interval, once. */
static void
test_export(void)
{
	uint64_t t = 1 * S;

	em_pkts = em_records = em_end = 0;
	CHECK(vfr_ct_init(&ct, 64, 7, 8, emit, NULL) == 0);
	pass(1, 6, 40000, 80, 0x02, 0, VFR_ACCEPT, t);
	pass(0, 6, 80, 40000, 0x12, 0, VFR_ACCEPT, t);
	vfr_ct_sweep(&ct, t + 30 * S, 60 * S);
	CHECK_EQ(em_records, 0);
	vfr_ct_sweep(&ct, t + 61 * S, 60 * S);
	CHECK_EQ(em_records, 1);
	CHECK_EQ(em_pkts, 2);
	vfr_ct_sweep(&ct, t + 122 * S, 60 * S);
	CHECK_EQ(em_records, 1);	/* nothing new to say */
	pass(1, 6, 40000, 80, 0x11, 0, VFR_ACCEPT, t + 123 * S);	/* FIN */
	vfr_ct_sweep(&ct, t + 300 * S, 60 * S);	/* closing: 120 s */
	CHECK_EQ(em_end, 1);
	CHECK_EQ(em_pkts, 3);
	CHECK_EQ(ct.ct_count, 0);
	vfr_ct_free(&ct);
}

int
main(void)
{
	test_states();
	test_flood();
	test_export();
	return t_done("test_vfr_ct");
}
