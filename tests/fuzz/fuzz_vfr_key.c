/*
 * libFuzzer driver: vfr_key_parse() on arbitrary frames, both directions.
 * The frame is copied into an exactly sized allocation so ASan sees any
 * read past its end.
 *
 * Invariants beyond "no sanitizer report":
 *  - k_l3 is exactly one VFR_L3_ bit, and IP addresses are set only for
 *    IP (IPv4 ones in ::ffff:0:0/96);
 *  - every small field is VFR_NONE or fits its width;
 *  - ports only with a port protocol, ICMP fields only with ICMP, none in
 *    a non-first fragment; an L4 offset lies inside the frame;
 *  - the same frame parses to the same key twice (no hidden state).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "vfr.h"

static void
check_key(const struct vfr_key *k, size_t len)
{
	unsigned proto = k->k_f[VFR_F_PROTO];
	int f;

	CHECK(k->k_l3 == VFR_L3_IP4 || k->k_l3 == VFR_L3_IP6 ||
	    k->k_l3 == VFR_L3_ARP || k->k_l3 == VFR_L3_OTHER);
	CHECK(k->k_ct == VFR_CT_UNTRACKED);
	for (f = 0; f < VFR_NFIELDS; f++)
		CHECK(k->k_f[f] <= VFR_NONE);
	CHECK(k->k_f[VFR_F_PROTO] <= 0xff || k->k_f[VFR_F_PROTO] == VFR_NONE);
	CHECK(k->k_f[VFR_F_ICMPTYPE] <= 0xff ||
	    k->k_f[VFR_F_ICMPTYPE] == VFR_NONE);
	if (k->k_l3 != VFR_L3_IP4 && k->k_l3 != VFR_L3_IP6) {
		CHECK(proto == VFR_NONE);
		CHECK(k->k_addr[VFR_A_SRC].a_hi == 0 &&
		    k->k_addr[VFR_A_SRC].a_lo == 0);
	}
	if (k->k_l3 == VFR_L3_IP4)
		CHECK(k->k_addr[VFR_A_SRC].a_hi == 0 &&
		    (k->k_addr[VFR_A_SRC].a_lo >> 32) == 0xffff);
	if (k->k_f[VFR_F_SPORT] != VFR_NONE)
		CHECK(!k->k_frag && (proto == 6 || proto == 17 ||
		    proto == 132 || proto == 136));
	if (k->k_f[VFR_F_ICMPTYPE] != VFR_NONE)
		CHECK(!k->k_frag && ((proto == 1 && k->k_l3 == VFR_L3_IP4) ||
		    (proto == 58 && k->k_l3 == VFR_L3_IP6)));
	if (k->k_tcpflags != 0)
		CHECK(proto == 6);
	CHECK(k->k_l4off <= len);
	if (k->k_malformed)
		CHECK(k->k_l3 == VFR_L3_OTHER);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfr_key k1, k2;
	uint8_t *frame;
	int dir;

	if (size > 65536)
		return 0;
	if ((frame = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(frame, data, size);
	for (dir = VFR_DIR_IN; dir <= VFR_DIR_OUT; dir++) {
		vfr_key_parse(&k1, frame, size, dir);
		check_key(&k1, size);
		CHECK(k1.k_dir == dir);
		vfr_key_parse(&k2, frame, size, dir);
		CHECK(memcmp(&k1, &k2, sizeof(k1)) == 0);
	}
	free(frame);
	return 0;
}
