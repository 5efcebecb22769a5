/*
 * libFuzzer driver: a tenant's POST /v1/vms body (controld/request.c).
 *
 * Invariants: a refusal always says why; an accepted request has every
 * field in its documented range, names of the allowed characters only,
 * and NUL-terminated strings that fit their buffers.
 */
#include <string.h>

#include "fuzz.h"
#include "controld.h"

static int
name_ok(const char *s, int may_be_empty)
{
	size_t n = strnlen(s, VMREQ_NAME_MAX + 1), i;

	if (n > VMREQ_NAME_MAX || (n == 0 && !may_be_empty) || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_request r;
	char err[256];

	err[0] = '\0';
	if (vmreq_decode((const char *)data, size, &r, err,
	    sizeof(err)) == -1) {
		CHECK(err[0] != '\0');
		return 0;
	}
	CHECK(r.vr_vcpus >= 1 && r.vr_vcpus <= VMREQ_VCPUS_MAX);
	CHECK(r.vr_mem_mib >= VMREQ_MEM_MIB_MIN &&
	    r.vr_mem_mib <= VMREQ_MEM_MIB_MAX);
	CHECK(r.vr_seconds >= 1 && r.vr_seconds <= ADM_MAX_SECONDS);
	CHECK(r.vr_max_price <= INT64_MAX);
	CHECK(r.vr_has_max_price || r.vr_max_price == 0);
	CHECK(r.vr_network == 0 || r.vr_network == 1);
	CHECK(r.vr_dry_run == 0 || r.vr_dry_run == 1);
	CHECK(name_ok(r.vr_image, 0));
	CHECK(name_ok(r.vr_name, 1));
	CHECK(strnlen(r.vr_args, sizeof(r.vr_args)) < sizeof(r.vr_args));
	if (r.vr_has_disk) {
		CHECK(name_ok(r.vr_disk_base, 1));
		CHECK(r.vr_disk_base[0] != '\0' || r.vr_disk_mib > 0);
		CHECK(r.vr_disk_mib <= (uint64_t)VMREQ_DISK_MIB_MAX);
	} else
		CHECK(r.vr_disk_base[0] == '\0' && r.vr_disk_mib == 0);
	return 0;
}
