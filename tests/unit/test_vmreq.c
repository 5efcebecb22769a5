/*
 * controld/request.c: the body of POST /v1/vms.  A full request decodes
 * field by field; each malformed body (bad JSON, wrong types, out of
 * range, unknown or missing fields, oversize, NUL in strings, trailing
 * text) is refused with a message naming the field, and decoding never
 * half-fills a request it refuses.
 */
#include <string.h>

#include "t.h"
#include "controld.h"

static int
dec(const char *body, struct vm_request *r, char *err, size_t n)
{
	err[0] = '\0';
	return vmreq_decode(body, strlen(body), r, err, n);
}

static const struct bad {
	const char	*body;
	const char	*msg;	/* a piece of the message */
} bad[] = {
	{ "", "empty" },
	{ "{", "ends inside" },
	{ "{\"vcpus\":1,}", "malformed JSON" },
	{ "[1,2]", "must be a JSON object" },
	{ "{\"vcpus\":1,\"memory_mib\":16,\"image\":\"a\",\"duration_s\":1,"
	    "\"network_mbps\":10}", "network_mbps: needs \"network\": true" },
	{ "{\"vcpus\":1,\"memory_mib\":16,\"image\":\"a\",\"duration_s\":1,"
	    "\"network\":true,\"network_mbps\":0}", "network_mbps: must be an "
	    "integer from 1 to 100000" },
	{ "{\"vcpus\":1} x", "malformed JSON at byte 12" },
	/* json-c takes single quotes even when strict: still refused */
	{ "{'vcpus':1}", "memory_mib: required" },
	{ "{\"vcpus\":\"2\",\"memory_mib\":64,\"image\":\"a\","
	    "\"duration_s\":60}", "vcpus: must be an integer from 1 to 64" },
	{ "{\"vcpus\":2.0,\"memory_mib\":64,\"image\":\"a\","
	    "\"duration_s\":60}", "vcpus: must be an integer" },
	{ "{\"vcpus\":0,\"memory_mib\":64,\"image\":\"a\","
	    "\"duration_s\":60}", "vcpus: must be an integer from 1 to 64" },
	{ "{\"vcpus\":65,\"memory_mib\":64,\"image\":\"a\","
	    "\"duration_s\":60}", "vcpus" },
	{ "{\"vcpus\":99999999999999999999999,\"memory_mib\":64,"
	    "\"image\":\"a\",\"duration_s\":60}", "vcpus" },
	{ "{\"vcpus\":1,\"memory_mib\":15,\"image\":\"a\","
	    "\"duration_s\":60}", "memory_mib: must be an integer from 16" },
	{ "{\"vcpus\":1,\"memory_mib\":64,\"image\":\"../etc\","
	    "\"duration_s\":60}", "image: must be 1 to 63 characters" },
	{ "{\"vcpus\":1,\"memory_mib\":64,\"image\":\".hidden\","
	    "\"duration_s\":60}", "image" },
	{ "{\"vcpus\":1,\"memory_mib\":64,\"image\":\"a\\u0000b\","
	    "\"duration_s\":60}", "image" },
	{ "{\"vcpus\":1,\"memory_mib\":64,\"image\":\"\","
	    "\"duration_s\":60}", "image" },
	{ "{\"vcpus\":1,\"memory_mib\":64,\"image\":\"a\","
	    "\"duration_s\":0}", "duration_s" },
	{ "{\"vcpus\":1,\"memory_mib\":64,\"image\":\"a\","
	    "\"duration_s\":31622401}", "duration_s" },
	{ "{\"vcpus\":1,\"memory_mib\":64,\"image\":\"a\","
	    "\"duration_s\":60,\"max_price\":-1}", "max_price" },
	{ "{\"vcpus\":1,\"memory_mib\":64,\"image\":\"a\","
	    "\"duration_s\":60,\"network\":1}", "network: must be true or "
	    "false" },
	{ "{\"vcpus\":1,\"memory_mib\":64,\"image\":\"a\","
	    "\"duration_s\":60,\"colour\":\"red\"}", "unknown field \"colour\"" },
	{ "{\"vcpus\":1,\"memory_mib\":64,\"image\":\"a\","
	    "\"duration_s\":60,\"disk\":{}}", "disk: needs" },
	{ "{\"vcpus\":1,\"memory_mib\":64,\"image\":\"a\","
	    "\"duration_s\":60,\"disk\":{\"size\":1}}", "disk: unknown field" },
	{ "{\"vcpus\":1,\"memory_mib\":64,\"image\":\"a\","
	    "\"duration_s\":60,\"disk\":[1]}", "disk: must be an object" },
	{ "{\"vcpus\":1,\"memory_mib\":64,\"image\":\"a\","
	    "\"duration_s\":60,\"disk\":{\"size_mib\":0}}", "disk.size_mib" },
	{ "{\"vcpus\":1,\"memory_mib\":64,\"image\":\"a\","
	    "\"duration_s\":60,\"args\":7}", "args: must be a string" },
	{ "{\"memory_mib\":64,\"image\":\"a\",\"duration_s\":60}",
	    "vcpus: required" },
	{ "{\"vcpus\":1,\"image\":\"a\",\"duration_s\":60}",
	    "memory_mib: required" },
	{ "{\"vcpus\":1,\"memory_mib\":64,\"duration_s\":60}",
	    "image: required" },
	{ "{\"vcpus\":1,\"memory_mib\":64,\"image\":\"a\"}",
	    "duration_s: required" },
	{ "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{}}}}}}}}}",
	    "malformed JSON" },
};

int
main(void)
{
	static char big[VMREQ_BODY_MAX + 2];
	struct vm_request r;
	char err[256];
	size_t i;

	CHECK(dec("{\"vcpus\":2,\"memory_mib\":256,\"image\":\"hello.elf\","
	    "\"name\":\"web-1\",\"duration_s\":3600,\"max_price\":2000000,"
	    "\"network\":true,\"network_mbps\":250,\"dry_run\":false,"
	    "\"args\":\"seconds=5\","
	    "\"disk\":{\"base\":\"debian-12\",\"size_mib\":1024}}\n", &r, err,
	    sizeof(err)) == 0);
	CHECK_EQ(r.vr_vcpus, 2);
	CHECK_EQ(r.vr_mem_mib, 256);
	CHECK(strcmp(r.vr_image, "hello.elf") == 0);
	CHECK(strcmp(r.vr_name, "web-1") == 0);
	CHECK_EQ(r.vr_seconds, 3600);
	CHECK(r.vr_has_max_price && r.vr_max_price == 2000000);
	CHECK(r.vr_network == 1 && r.vr_dry_run == 0);
	CHECK_EQ(r.vr_net_mbps, 250);
	CHECK(strcmp(r.vr_args, "seconds=5") == 0);
	CHECK(r.vr_has_disk && strcmp(r.vr_disk_base, "debian-12") == 0 &&
	    r.vr_disk_mib == 1024);

	/* the minimum: defaults for the rest */
	CHECK(dec("{\"vcpus\":1,\"memory_mib\":16,\"image\":\"a\","
	    "\"duration_s\":1}", &r, err, sizeof(err)) == 0);
	CHECK(!r.vr_has_max_price && !r.vr_network && !r.vr_has_disk &&
	    r.vr_args[0] == '\0' && r.vr_name[0] == '\0');

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = dec(bad[i].body, &r, err, sizeof(err));

		if (rc != -1 || strstr(err, bad[i].msg) == NULL)
			fprintf(stderr, "body %zu %s: got %d '%s', want '%s'\n",
			    i, bad[i].body, rc, err, bad[i].msg);
		CHECK(rc == -1 && strstr(err, bad[i].msg) != NULL);
	}

	/* oversize: refused before parsing */
	memset(big, ' ', sizeof(big));
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	CHECK(vmreq_decode(big, sizeof(big) - 1, &r, err, sizeof(err)) == -1);
	CHECK(strstr(err, "at most 65536") != NULL);
	/* args at the limit and one past */
	{
		static char body[2 * VMREQ_ARGS_MAX];
		char a[VMREQ_ARGS_MAX + 1];

		memset(a, 'x', sizeof(a));
		a[VMREQ_ARGS_MAX - 1] = '\0';
		snprintf(body, sizeof(body), "{\"vcpus\":1,\"memory_mib\":16,"
		    "\"image\":\"a\",\"duration_s\":1,\"args\":\"%s\"}", a);
		CHECK(dec(body, &r, err, sizeof(err)) == 0);
		CHECK_EQ(strlen(r.vr_args), VMREQ_ARGS_MAX - 1);
		a[VMREQ_ARGS_MAX - 1] = 'x';
		a[VMREQ_ARGS_MAX] = '\0';
		snprintf(body, sizeof(body), "{\"vcpus\":1,\"memory_mib\":16,"
		    "\"image\":\"a\",\"duration_s\":1,\"args\":\"%s\"}", a);
		CHECK(dec(body, &r, err, sizeof(err)) == -1);
	}
	return t_done("test_vmreq");
}
