/*
 * libFuzzer driver: the VFR rule language (vfr_parse_ext, vfr_print).
 *
 * The input is operator text, optionally followed by a NUL byte and
 * tenant text.  Each is copied into an exactly sized allocation so ASan
 * sees any read past its end.  include is refused (VFR_PARSE_NOINCLUDE):
 * a fuzzer must not read the host's files.
 *
 * Invariants beyond "no sanitizer report, no leak":
 *  - vfr_parse_ext returns 0, or -1 with one "name:line:col: message";
 *  - on 0 the rule set passes vfr_ruleset_check, every rule has a
 *    one-line text, and the normal form parsed again (as operator text)
 *    gives the same normal form;
 *  - warnings are one line each and name the source.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "vfr.h"

static void
fuzz_warn(void *arg, const char *msg)
{
	(void)arg;
	CHECK(msg[0] != '\0' && strchr(msg, '\n') == NULL);
	CHECK(strstr(msg, ": warning: ") != NULL);
}

static char *
fuzz_print(const struct vfr_ruleset *rs, size_t *len)
{
	char *buf = NULL;
	FILE *f;

	f = open_memstream(&buf, len);
	CHECK(f != NULL);
	CHECK(vfr_print(rs, f) == 0);
	CHECK(fclose(f) == 0);
	return buf;
}

static void
fuzz_check_err(const char *err)
{
	const char *p;
	unsigned line, col;

	CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
	/* "op:L:C: msg" or "tenant:L:C: msg" */
	p = strchr(err, ':');
	CHECK(p != NULL);
	CHECK(sscanf(p, ":%u:%u: ", &line, &col) == 2);
	CHECK(line >= 1 && col >= 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfr_source op, ten;
	struct vfr_parse_opts po;
	struct vfr_ruleset rs, rs2;
	const uint8_t *nul;
	char *optext, *tentext = NULL, *nf, *nf2, err[1024];
	size_t oplen, nflen, nf2len;
	uint32_t i;
	int rc;

	nul = memchr(data, '\0', size);
	oplen = nul != NULL ? (size_t)(nul - data) : size;
	optext = malloc(oplen ? oplen : 1);
	CHECK(optext != NULL);
	memcpy(optext, data, oplen);
	memset(&op, 0, sizeof(op));
	op.src_name = "op";
	op.src_text = optext;
	op.src_len = oplen;
	memset(&ten, 0, sizeof(ten));
	if (nul != NULL) {
		ten.src_len = size - oplen - 1;
		tentext = malloc(ten.src_len ? ten.src_len : 1);
		CHECK(tentext != NULL);
		memcpy(tentext, nul + 1, ten.src_len);
		ten.src_name = "tenant";
		ten.src_text = tentext;
		ten.src_tenant = 1;
	}
	memset(&po, 0, sizeof(po));
	po.po_flags = VFR_PARSE_NOINCLUDE;
	po.po_warn = fuzz_warn;

	err[0] = '\0';
	rc = vfr_parse_ext(&op, nul != NULL ? &ten : NULL, &po, &rs, err,
	    sizeof(err));
	CHECK(rc == 0 || rc == -1);
	if (rc == -1) {
		fuzz_check_err(err);
		CHECK(rs.rs_nrules == 0 && rs.rs_rules == NULL);
		goto done;
	}
	CHECK(vfr_ruleset_check(&rs, err, sizeof(err)) == 0);
	for (i = 0; i < rs.rs_nrules; i++)
		CHECK(rs.rs_rules[i].r_text != NULL &&
		    strchr(rs.rs_rules[i].r_text, '\n') == NULL);

	nf = fuzz_print(&rs, &nflen);
	memset(&op, 0, sizeof(op));
	op.src_name = "nf";
	op.src_text = nf;
	op.src_len = nflen;
	po.po_warn = NULL;
	rc = vfr_parse_ext(&op, NULL, &po, &rs2, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "normal form does not parse: %s\n%s", err, nf);
	CHECK(rc == 0);
	CHECK(rs2.rs_nrules == rs.rs_nrules);
	nf2 = fuzz_print(&rs2, &nf2len);
	if (nflen != nf2len || memcmp(nf, nf2, nflen) != 0)
		fprintf(stderr, "normal form changed:\n%s---\n%s", nf, nf2);
	CHECK(nflen == nf2len && memcmp(nf, nf2, nflen) == 0);
	free(nf);
	free(nf2);
	vfr_ruleset_free(&rs2);
	vfr_ruleset_free(&rs);
done:
	free(optext);
	free(tentext);
	return 0;
}
