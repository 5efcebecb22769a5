/*
 * libFuzzer driver: vfr_obj_load() on arbitrary bytes.
 *
 * Invariants beyond "no sanitizer report":
 *  - it returns 0, or -1 with a message (and an empty rule set);
 *  - what it accepts passes vfr_ruleset_check();
 *  - the format has one spelling per rule set (no slack, no padding, no
 *    optional fields), so writing an accepted object back gives the same
 *    bytes, and loading those gives the same rule set again;
 *  - a program builds from it, and classifies keys made from the input
 *    as the reference interpreter does.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "vfr.h"

static void
compare_keys(const struct vfr_ruleset *rs, const uint8_t *data, size_t size)
{
	static const char *const vifs[2] = { "", "vif0" };
	struct vfr_verdict vr, vp;
	struct vfr_prog *p;
	struct vfr_key k;
	size_t i;
	int v, f;

	for (v = 0; v < 2; v++) {
		p = vfr_prog_build(rs, vifs[v], "dom0");
		CHECK(p != NULL);
		for (i = 0; i + 8 <= size && i < 32 * 8; i += 8) {
			memset(&k, 0, sizeof(k));
			k.k_dir = 1 + (data[i] & 1);
			k.k_l3 = 1U << (data[i] >> 1 & 3);
			k.k_ct = 1U << (data[i] >> 3 & 3);
			k.k_tcpflags = data[i + 1];
			for (f = 0; f < VFR_NFIELDS; f++)
				k.k_f[f] = data[i + 2 + f] == 0xff ? VFR_NONE :
				    data[i + 2 + f];
			k.k_addr[VFR_A_SRC].a_lo = 0xffff00000000ULL |
			    (uint64_t)data[i + 2] << 24 | data[i + 7];
			k.k_addr[VFR_A_DST].a_lo = 0xffff00000000ULL |
			    (uint64_t)data[i + 3] << 24 | data[i + 6];
			vfr_ref_classify(rs, vifs[v], "dom0", &k, data, size,
			    NULL, NULL, &vr);
			vfr_classify(p, &k, data, size, NULL, NULL, &vp);
			CHECK(vr.v_action == vp.v_action &&
			    vr.v_rule == vp.v_rule &&
			    vr.v_policy == vp.v_policy);
		}
		vfr_prog_free(p);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfr_ruleset rs, rs2;
	uint8_t *copy, *out = NULL, *out2 = NULL;
	size_t len = 0, len2 = 0;
	char err[256];
	int rc;

	/* an exactly sized copy: ASan sees any read past the end */
	if ((copy = malloc(size == 0 ? 1 : size)) == NULL)
		abort();
	if (size != 0)
		memcpy(copy, data, size);
	err[0] = '\0';
	rc = vfr_obj_load(copy, size, &rs, err, sizeof(err));
	CHECK(rc == 0 || rc == -1);
	if (rc == -1) {
		CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
		CHECK(rs.rs_rules == NULL && rs.rs_nrules == 0);
		free(copy);
		return 0;
	}
	CHECK(vfr_ruleset_check(&rs, err, sizeof(err)) == 0);
	CHECK(vfr_obj_write(&rs, &out, &len) == 0);
	CHECK(len == size && memcmp(out, data, size) == 0);
	CHECK(vfr_obj_load(out, len, &rs2, err, sizeof(err)) == 0);
	CHECK(vfr_obj_write(&rs2, &out2, &len2) == 0);
	CHECK(len2 == len && memcmp(out, out2, len) == 0);
	compare_keys(&rs, data, size);
	free(out);
	free(out2);
	vfr_ruleset_free(&rs2);
	vfr_ruleset_free(&rs);
	free(copy);
	return 0;
}
