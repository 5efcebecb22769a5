/*
 * libFuzzer driver: the smaller API bodies (controld/request.c's table
 * walker: extend, tenants, host, tokens) and the bearer token check
 * (controld/token.c).  The first byte picks which; the rest is the input.
 *
 * Invariants: a refusal says why; an accepted body has every present
 * field in its table's range and every "_has" flag 0 or 1; a token is
 * accepted only in the one exact form token_new() makes.
 */
#include <string.h>

#include "fuzz.h"
#include "controld.h"

static const struct {
	const struct req_field	*t;
	size_t			 size;
} tables[] = {
	{ extreq_fields, sizeof(struct ext_request) },
	{ tenantreq_create_fields, sizeof(struct tenant_request) },
	{ tenantreq_patch_fields, sizeof(struct tenant_request) },
	{ hostreq_fields, sizeof(struct host_request) },
	{ tokreq_fields, sizeof(struct token_request) },
};
#define NTABLES	(sizeof(tables) / sizeof(tables[0]))

/* Every field of t present in out is in range. */
static void
check(const struct req_field *t, const void *out)
{
	const char *p = out;
	const struct req_field *f;
	int64_t v;
	int has;

	for (f = t; f->rf_key != NULL; f++) {
		if (f->rf_kind == RF_OBJECT) {
			check(f->rf_sub, out);
			continue;
		}
		memcpy(&has, p + f->rf_has, sizeof(has));
		CHECK(has == 0 || has == 1);
		if (!has)
			continue;
		switch (f->rf_kind) {
		case RF_INT_NULL:
		case RF_INT:
			memcpy(&v, p + f->rf_off, sizeof(v));
			CHECK((v >= f->rf_lo && v <= f->rf_hi) ||
			    (f->rf_kind == RF_INT_NULL && v == -1));
			break;
		case RF_BOOL:
			memcpy(&has, p + f->rf_off, sizeof(has));
			CHECK(has == 0 || has == 1);
			break;
		case RF_NAME:
			CHECK(strnlen(p + f->rf_off, VMREQ_NAME_MAX + 1) >= 1 &&
			    strnlen(p + f->rf_off, VMREQ_NAME_MAX + 1) <=
			    VMREQ_NAME_MAX && p[f->rf_off] != '.');
			break;
		case RF_OBJECT:
			break;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union {
		struct ext_request	x;
		struct tenant_request	t;
		struct host_request	h;
		struct token_request	k;
	} out;
	uint8_t hash[TOKEN_HASH_LEN];
	char err[256];
	size_t i, which;

	if (size == 0)
		return 0;
	which = data[0] % (NTABLES + 1);
	data++, size--;
	if (which == NTABLES) {
		if (token_hash((const char *)data, size, hash) == 0) {
			CHECK(size == TOKEN_LEN);
			CHECK(memcmp(data, TOKEN_PREFIX, 5) == 0);
			for (i = 5; i < size; i++)
				CHECK((data[i] >= 'A' && data[i] <= 'Z') ||
				    (data[i] >= 'a' && data[i] <= 'z') ||
				    (data[i] >= '0' && data[i] <= '9') ||
				    data[i] == '-' || data[i] == '_');
		}
		return 0;
	}
	err[0] = '\0';
	if (req_decode((const char *)data, size, tables[which].t, &out,
	    tables[which].size, err, sizeof(err)) == -1) {
		CHECK(err[0] != '\0');
		return 0;
	}
	check(tables[which].t, &out);
	return 0;
}
