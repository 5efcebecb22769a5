/*
 * Decoding a tenant's VM request (the body of POST /v1/vms, docs/API.md):
 * JSON through json-c into struct vm_request, every field checked for its
 * type and range, unknown fields refused, so that the API answers 400 with
 * one precise message ("vcpus: must be an integer from 1 to 64") and
 * nothing downstream sees a value it did not expect.  Pure: a string in,
 * a struct or a message out; the unit test and the fuzzer call it.
 */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "controld.h"
#include "xeno/log.h"

/* Every error of this file: message in (err, errsz), errno EINVAL. */
#define REQ_ERR(err, errsz, ...)	err_set(err, errsz, EINVAL, __VA_ARGS__)

/* An integer field in [lo, hi]; doubles, strings and booleans are not. */
static int
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
static int
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

static int
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
 * Decode body[0..len) into r: 0, or -1 with errno EINVAL and a message
 * for the client in err.
 */
int
vmreq_decode(const char *body, size_t len, struct vm_request *r, char *err,
    size_t errsz)
{
	struct json_tokener *tok;
	enum json_tokener_error je;
	json_object *root;
	int64_t n;
	size_t end;
	int rc = -1, have_vcpus = 0, have_mem = 0, have_dur = 0;

	memset(r, 0, sizeof(*r));
	if (len > VMREQ_BODY_MAX)
		return REQ_ERR(err, errsz, "the body is %zu bytes; at most %d",
		    len, VMREQ_BODY_MAX);
	if (len == 0)
		return REQ_ERR(err, errsz, "the body is empty; a JSON object "
		    "is expected");
	tok = json_tokener_new_ex(VMREQ_DEPTH_MAX);
	if (tok == NULL)
		return REQ_ERR(err, errsz, "out of memory");
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
		goto out;
	}
	/* whitespace may follow the object (curl -d @file adds a newline) */
	end = json_tokener_get_parse_end(tok);
	while (end < len && (body[end] == ' ' || body[end] == '\t' ||
	    body[end] == '\n' || body[end] == '\r'))
		end++;
	if (end != len) {
		REQ_ERR(err, errsz, "malformed JSON: text after the object at "
		    "byte %zu", json_tokener_get_parse_end(tok));
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		REQ_ERR(err, errsz, "the body must be a JSON object");
		goto out;
	}
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
	rc = 0;
out:
	if (root != NULL)
		json_object_put(root);
	json_tokener_free(tok);
	if (rc == -1)
		errno = EINVAL;
	return rc;
}
