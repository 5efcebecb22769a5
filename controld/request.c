/*
 * Decoding a tenant's VM request (the body of POST /v1/vms, docs/API.md):
 * JSON through json-c into struct vm_request, every field checked for its
 * type and range, unknown fields refused, so that the API answers 400 with
 * one precise message ("vcpus: must be an integer from 1 to 64") and
 * nothing downstream sees a value it did not expect.  Pure: a string in,
 * a struct or a message out; the unit test and the fuzzer call it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "controld.h"
#include "xeno/log.h"

/* Every error of this file: message in (err, errsz), errno EINVAL. */
#define REQ_ERR(err, errsz, ...)	err_set(err, errsz, EINVAL, __VA_ARGS__)

/* An integer field in [lo, hi]; doubles, strings and booleans are not. */
int
req_int(json_object *v, const char *key, int64_t lo, int64_t hi,
    int64_t *out, char *err, size_t errsz)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int))
		return REQ_ERR(err, errsz, "%s: must be an integer from %lld "
		    "to %lld", key, (long long)lo, (long long)hi);
	errno = 0;
	n = json_object_get_int64(v);
	if (errno != 0 || n < lo || n > hi)
		return REQ_ERR(err, errsz, "%s: must be an integer from %lld "
		    "to %lld", key, (long long)lo, (long long)hi);
	*out = n;
	return 0;
}

/* A name: 1..max bytes of [A-Za-z0-9._-], not starting with a dot. */
int
req_name(json_object *v, const char *key, char *out, size_t max, char *err,
    size_t errsz)
{
	const char *s;
	size_t n, i;

	if (!json_object_is_type(v, json_type_string))
		return REQ_ERR(err, errsz, "%s: must be a string", key);
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n == 0 || n > max || strlen(s) != n || s[0] == '.')
		return REQ_ERR(err, errsz, "%s: must be 1 to %zu characters "
		    "of A-Z a-z 0-9 . _ - (not starting with a dot)", key, max);
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    s[i] == '_' || s[i] == '-'))
			return REQ_ERR(err, errsz, "%s: must be 1 to %zu "
			    "characters of A-Z a-z 0-9 . _ - (not starting "
			    "with a dot)", key, max);
	memcpy(out, s, n + 1);
	return 0;
}

int
req_bool(json_object *v, const char *key, int *out, char *err, size_t errsz)
{
	if (!json_object_is_type(v, json_type_boolean))
		return REQ_ERR(err, errsz, "%s: must be true or false", key);
	*out = json_object_get_boolean(v);
	return 0;
}

static int
req_disk(json_object *o, struct vm_request *r, char *err, size_t errsz)
{
	int64_t n;

	if (!json_object_is_type(o, json_type_object))
		return REQ_ERR(err, errsz, "disk: must be an object with "
		    "\"base\" and/or \"size_mib\"");
	json_object_object_foreach(o, key, v) {
		if (strcmp(key, "base") == 0) {
			if (req_name(v, "disk.base", r->vr_disk_base,
			    VMREQ_NAME_MAX, err, errsz) == -1)
				return -1;
		} else if (strcmp(key, "size_mib") == 0) {
			if (req_int(v, "disk.size_mib", 1, VMREQ_DISK_MIB_MAX,
			    &n, err, errsz) == -1)
				return -1;
			r->vr_disk_mib = (uint64_t)n;
		} else
			return REQ_ERR(err, errsz, "disk: unknown field "
			    "\"%.64s\"", key);
	}
	if (r->vr_disk_base[0] == '\0' && r->vr_disk_mib == 0)
		return REQ_ERR(err, errsz, "disk: needs \"base\", "
		    "\"size_mib\" or both");
	r->vr_has_disk = 1;
	return 0;
}

/*
 * Parse body[0..len) as one JSON object, strictly, at most maxlen bytes
 * and VMREQ_DEPTH_MAX deep: the object (the caller puts it), or NULL with
 * errno EINVAL and a message.  Whitespace may follow the object (curl -d
 * @file adds a newline).
 */
json_object *
req_parse(const char *body, size_t len, size_t maxlen, char *err,
    size_t errsz)
{
	struct json_tokener *tok;
	enum json_tokener_error je;
	json_object *root;
	size_t end;

	if (len > maxlen) {
		REQ_ERR(err, errsz, "the body is %zu bytes; at most %zu", len,
		    maxlen);
		return NULL;
	}
	if (len == 0) {
		REQ_ERR(err, errsz, "the body is empty; a JSON object is "
		    "expected");
		return NULL;
	}
	if ((tok = json_tokener_new_ex(VMREQ_DEPTH_MAX)) == NULL) {
		REQ_ERR(err, errsz, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, body, (int)len);
	je = json_tokener_get_error(tok);
	if (root == NULL || je != json_tokener_success) {
		if (je == json_tokener_continue)
			REQ_ERR(err, errsz, "malformed JSON: the body ends "
			    "inside a value");
		else
			REQ_ERR(err, errsz, "malformed JSON at byte %zu: %s",
			    json_tokener_get_parse_end(tok),
			    json_tokener_error_desc(je));
		goto bad;
	}
	end = json_tokener_get_parse_end(tok);
	while (end < len && (body[end] == ' ' || body[end] == '\t' ||
	    body[end] == '\n' || body[end] == '\r'))
		end++;
	if (end != len) {
		REQ_ERR(err, errsz, "malformed JSON: text after the object at "
		    "byte %zu", json_tokener_get_parse_end(tok));
		goto bad;
	}
	if (!json_object_is_type(root, json_type_object)) {
		REQ_ERR(err, errsz, "the body must be a JSON object");
		goto bad;
	}
	json_tokener_free(tok);
	return root;
bad:
	if (root != NULL)
		json_object_put(root);
	json_tokener_free(tok);
	errno = EINVAL;
	return NULL;
}

/*
 * Decode body[0..len) into r: 0, or -1 with errno EINVAL and a message
 * for the client in err.
 */
int
vmreq_decode(const char *body, size_t len, struct vm_request *r, char *err,
    size_t errsz)
{
	json_object *root;
	int64_t n;
	int rc = -1, have_vcpus = 0, have_mem = 0, have_dur = 0;

	memset(r, 0, sizeof(*r));
	if ((root = req_parse(body, len, VMREQ_BODY_MAX, err, errsz)) == NULL)
		return -1;
	json_object_object_foreach(root, key, v) {
		if (strcmp(key, "vcpus") == 0) {
			if (req_int(v, key, 1, VMREQ_VCPUS_MAX, &n, err,
			    errsz) == -1)
				goto out;
			r->vr_vcpus = (unsigned int)n;
			have_vcpus = 1;
		} else if (strcmp(key, "memory_mib") == 0) {
			if (req_int(v, key, VMREQ_MEM_MIB_MIN,
			    VMREQ_MEM_MIB_MAX, &n, err, errsz) == -1)
				goto out;
			r->vr_mem_mib = (uint64_t)n;
			have_mem = 1;
		} else if (strcmp(key, "image") == 0) {
			if (req_name(v, key, r->vr_image, VMREQ_NAME_MAX, err,
			    errsz) == -1)
				goto out;
		} else if (strcmp(key, "name") == 0) {
			if (req_name(v, key, r->vr_name, VMREQ_NAME_MAX, err,
			    errsz) == -1)
				goto out;
		} else if (strcmp(key, "duration_s") == 0) {
			if (req_int(v, key, 1, (int64_t)ADM_MAX_SECONDS, &n,
			    err, errsz) == -1)
				goto out;
			r->vr_seconds = (uint64_t)n;
			have_dur = 1;
		} else if (strcmp(key, "max_price") == 0) {
			if (req_int(v, key, 0, INT64_MAX, &n, err,
			    errsz) == -1)
				goto out;
			r->vr_max_price = (uint64_t)n;
			r->vr_has_max_price = 1;
		} else if (strcmp(key, "network") == 0) {
			if (req_bool(v, key, &r->vr_network, err, errsz) == -1)
				goto out;
		} else if (strcmp(key, "network_mbps") == 0) {
			if (req_int(v, key, 1, VMREQ_NET_MBPS_MAX, &n, err,
			    errsz) == -1)
				goto out;
			r->vr_net_mbps = (uint64_t)n;
		} else if (strcmp(key, "dry_run") == 0) {
			if (req_bool(v, key, &r->vr_dry_run, err, errsz) == -1)
				goto out;
		} else if (strcmp(key, "args") == 0) {
			if (!json_object_is_type(v, json_type_string) ||
			    (size_t)json_object_get_string_len(v) >=
			    sizeof(r->vr_args) ||
			    strlen(json_object_get_string(v)) !=
			    (size_t)json_object_get_string_len(v)) {
				REQ_ERR(err, errsz, "args: must be a string of "
				    "at most %zu bytes without NUL",
				    sizeof(r->vr_args) - 1);
				goto out;
			}
			memcpy(r->vr_args, json_object_get_string(v),
			    (size_t)json_object_get_string_len(v) + 1);
		} else if (strcmp(key, "disk") == 0) {
			if (req_disk(v, r, err, errsz) == -1)
				goto out;
		} else {
			REQ_ERR(err, errsz, "unknown field \"%.64s\"", key);
			goto out;
		}
	}
	if (!have_vcpus || !have_mem || r->vr_image[0] == '\0' || !have_dur) {
		REQ_ERR(err, errsz, "%s: required", !have_vcpus ? "vcpus" :
		    !have_mem ? "memory_mib" : r->vr_image[0] == '\0' ?
		    "image" : "duration_s");
		goto out;
	}
	if (r->vr_net_mbps != 0 && !r->vr_network) {
		REQ_ERR(err, errsz, "network_mbps: needs \"network\": true");
		goto out;
	}
	rc = 0;
out:
	json_object_put(root);
	if (rc == -1)
		errno = EINVAL;
	return rc;
}

/*
 * The smaller bodies (extend, tenants, host, tokens) are decoded by one
 * table walker: each field has a kind, a range and where it goes.
 */
static int
req_field(json_object *v, const struct req_field *f, const char *key,
    void *out, char *err, size_t errsz)
{
	char *p = (char *)out + f->rf_off;
	int64_t n;

	switch (f->rf_kind) {
	case RF_INT_NULL:
		if (json_object_is_type(v, json_type_null)) {
			*(int64_t *)(void *)p = -1;
			break;
		}
		/* FALLTHROUGH */
	case RF_INT:
		if (req_int(v, key, f->rf_lo, f->rf_hi, &n, err, errsz) == -1)
			return -1;
		*(int64_t *)(void *)p = n;
		break;
	case RF_BOOL:
		return req_bool(v, key, (int *)(void *)p, err, errsz);
	case RF_NAME:
		return req_name(v, key, p, VMREQ_NAME_MAX, err, errsz);
	case RF_OBJECT:
		if (!json_object_is_type(v, json_type_object))
			return REQ_ERR(err, errsz, "%s: must be an object",
			    key);
		return req_fields(v, key, f->rf_sub, out, err, errsz);
	}
	return 0;
}

int
req_fields(json_object *obj, const char *prefix, const struct req_field *t,
    void *out, char *err, size_t errsz)
{
	const struct req_field *f;
	char name[96];

	json_object_object_foreach(obj, key, v) {
		for (f = t; f->rf_key != NULL; f++)
			if (strcmp(f->rf_key, key) == 0)
				break;
		if (f->rf_key == NULL)
			return REQ_ERR(err, errsz, "%s%sunknown field "
			    "\"%.64s\"", prefix != NULL ? prefix : "",
			    prefix != NULL ? ": " : "", key);
		snprintf(name, sizeof(name), "%s%s%s", prefix != NULL ?
		    prefix : "", prefix != NULL ? "." : "", key);
		if (req_field(v, f, name, out, err, errsz) == -1)
			return -1;
		*(int *)(void *)((char *)out + f->rf_has) = 1;
	}
	for (f = t; f->rf_key != NULL; f++)
		if (f->rf_required &&
		    !*(int *)(void *)((char *)out + f->rf_has))
			return REQ_ERR(err, errsz, "%s%s%s: required",
			    prefix != NULL ? prefix : "",
			    prefix != NULL ? "." : "", f->rf_key);
	return 0;
}

/* Parse body and walk table t over it into out (zeroed first). */
int
req_decode(const char *body, size_t len, const struct req_field *t,
    void *out, size_t outsz, char *err, size_t errsz)
{
	json_object *root;
	int rc;

	memset(out, 0, outsz);
	if ((root = req_parse(body, len, VMREQ_BODY_MAX, err, errsz)) == NULL)
		return -1;
	rc = req_fields(root, NULL, t, out, err, errsz);
	json_object_put(root);
	if (rc == -1)
		errno = EINVAL;
	return rc;
}

#define RQ(type, key, kind, lo, hi, field, req)				\
	{ key, kind, lo, hi, offsetof(type, field),			\
	    offsetof(type, field##_has), NULL, req }
#define RQ_OBJ(type, key, sub)						\
	{ key, RF_OBJECT, 0, 0, 0, offsetof(type, dummy_has), sub, 0 }

/* POST /v1/vms/{id}/extend */
const struct req_field extreq_fields[] = {
	RQ(struct ext_request, "duration_s", RF_INT, 1, ADM_MAX_SECONDS,
	    xr_seconds, 1),
	RQ(struct ext_request, "max_price", RF_INT, 0, INT64_MAX,
	    xr_max_price, 0),
	{ NULL, 0, 0, 0, 0, 0, NULL, 0 }
};

/* quotas: a number, or null for no limit */
#define QUOTA(key, i, hi)						\
	{ key, RF_INT_NULL, 0, hi,					\
	    offsetof(struct tenant_request, tr_quota) + (i) * sizeof(int64_t), \
	    offsetof(struct tenant_request, tr_quota_has) +		\
	    (i) * sizeof(int), NULL, 0 }
static const struct req_field quota_fields[] = {
	QUOTA("vms", TQ_VMS, 1000000),
	QUOTA("vcpus", TQ_VCPUS, 1000000),
	QUOTA("memory_mib", TQ_MEM_MIB, 1LL << 40),
	QUOTA("disk_mib", TQ_DISK_MIB, 1LL << 40),
	QUOTA("network_mbps", TQ_NET_MBPS, 1LL << 30),
	{ NULL, 0, 0, 0, 0, 0, NULL, 0 }
};

/* POST /v1/tenants: the name is required, the balance starts at >= 0 */
const struct req_field tenantreq_create_fields[] = {
	RQ(struct tenant_request, "name", RF_NAME, 0, 0, tr_name, 1),
	RQ(struct tenant_request, "balance", RF_INT, 0, MONEY_MAX,
	    tr_balance, 0),
	RQ_OBJ(struct tenant_request, "quotas", quota_fields),
	{ NULL, 0, 0, 0, 0, 0, NULL, 0 }
};

/* PATCH /v1/tenants/{id}: a top-up (negative: a refund) and quotas */
const struct req_field tenantreq_patch_fields[] = {
	RQ(struct tenant_request, "topup", RF_INT, -MONEY_MAX, MONEY_MAX,
	    tr_topup, 0),
	RQ_OBJ(struct tenant_request, "quotas", quota_fields),
	{ NULL, 0, 0, 0, 0, 0, NULL, 0 }
};

/* PATCH /v1/host */
const struct req_field hostreq_fields[] = {
	RQ(struct host_request, "vcpu_ratio", RF_INT, ADM_RATIO_ONE,
	    64 * ADM_RATIO_ONE, hr_vcpu_ratio, 0),
	RQ(struct host_request, "mem_ratio", RF_INT, ADM_RATIO_ONE,
	    4 * ADM_RATIO_ONE, hr_mem_ratio, 0),
	RQ(struct host_request, "draining", RF_BOOL, 0, 0, hr_draining, 0),
	RQ(struct host_request, "price_vcpu_hour", RF_INT, 0, MONEY_MAX,
	    hr_price_vcpu, 0),
	RQ(struct host_request, "price_gib_hour", RF_INT, 0, MONEY_MAX,
	    hr_price_gib, 0),
	{ NULL, 0, 0, 0, 0, 0, NULL, 0 }
};

/* POST /v1/tokens */
const struct req_field tokreq_fields[] = {
	RQ(struct token_request, "role", RF_NAME, 0, 0, tk_role, 1),
	RQ(struct token_request, "tenant", RF_INT, 1, INT64_MAX, tk_tenant,
	    0),
	{ NULL, 0, 0, 0, 0, 0, NULL, 0 }
};
