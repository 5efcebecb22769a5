/*
 * The HTTPS API (docs/API.md): one evhttp server behind OpenSSL, a route
 * table, bearer tokens with roles, Idempotency-Key replay, JSON replies,
 * and the endpoints that are not about VMs: the host's settings, tenants,
 * tokens, admission decisions, usage and images.
 *
 * Every error a client can cause is answered, never fatal: 400 for a
 * malformed request, 401 without a valid token, 403 for a role that may
 * not, 404 for what does not exist or belongs to another tenant (the two
 * are not told apart), 405, 409 for admission refusals and conflicts,
 * 413 for oversize bodies, 422 for a reused Idempotency-Key.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "controld.h"
#include "xeno/log.h"

#define API_JSON_MAX	VMREQ_BODY_MAX
#define API_UPLOAD_MAX	(64 << 20)	/* a PV image */
#define API_UPLOADS_MAX	16		/* images a tenant may keep */
#define API_HEADERS_MAX	(16 << 10)
#define API_TIMEOUT_S	30
#define API_IDEM_MAX	255		/* Idempotency-Key bytes */

/* The token cache: every live token, by its hash (controld is the only
 * writer of the tokens table, so the cache cannot go stale). */
#define TOK_BUCKETS	256
struct tok {
	struct tok	*tk_next;
	uint8_t		 tk_hash[TOKEN_HASH_LEN];
	struct principal tk_who;
};
static struct tok *api_toks[TOK_BUCKETS];

typedef int (*api_handler)(struct api_req *);

struct route {
	enum evhttp_cmd_type	 rt_method;
	const char		*rt_path;	/* '#' an id, '*' a name */
	int			 rt_roles;
	api_handler		 rt_fn;
};

static int host_patch(struct api_req *);
static int tenant_list(struct api_req *);
static int tenant_create(struct api_req *);
static int tenant_get(struct api_req *);
static int tenant_patch(struct api_req *);
static int token_create(struct api_req *);
static int token_revoke(struct api_req *);
static int decision_list(struct api_req *);
static int usage_list(struct api_req *);
static int image_list(struct api_req *);
static int image_upload(struct api_req *);

#define T	ROLE_TENANT
#define O	ROLE_OPERATOR
#define A	ROLE_AUDITOR
static const struct route api_routes[] = {
	{ EVHTTP_REQ_GET,	"/v1/vms",		T | O | A, vm_list },
	{ EVHTTP_REQ_POST,	"/v1/vms",		T,	vm_create },
	{ EVHTTP_REQ_GET,	"/v1/vms/#",		T | O | A, vm_get },
	{ EVHTTP_REQ_DELETE,	"/v1/vms/#",		T | O,	vm_destroy },
	{ EVHTTP_REQ_POST,	"/v1/vms/#/stop",	T | O,	vm_stop },
	{ EVHTTP_REQ_POST,	"/v1/vms/#/extend",	T,	vm_extend },
	{ EVHTTP_REQ_GET,	"/v1/vms/#/console",	T | O,	vm_console },
	{ EVHTTP_REQ_GET,	"/v1/host",		O | A,	vm_host },
	{ EVHTTP_REQ_PATCH,	"/v1/host",		O,	host_patch },
	{ EVHTTP_REQ_GET,	"/v1/tenants",		O | A,	tenant_list },
	{ EVHTTP_REQ_POST,	"/v1/tenants",		O,	tenant_create },
	{ EVHTTP_REQ_GET,	"/v1/tenants/#",	T | O | A, tenant_get },
	{ EVHTTP_REQ_PATCH,	"/v1/tenants/#",	O,	tenant_patch },
	{ EVHTTP_REQ_POST,	"/v1/tokens",		O,	token_create },
	{ EVHTTP_REQ_DELETE,	"/v1/tokens/#",		O,	token_revoke },
	{ EVHTTP_REQ_GET,	"/v1/decisions",	O | A,	decision_list },
	{ EVHTTP_REQ_GET,	"/v1/usage",		T | O | A, usage_list },
	{ EVHTTP_REQ_GET,	"/v1/images",		T | O | A, image_list },
	{ EVHTTP_REQ_PUT,	"/v1/images/*",		T,	image_upload },
};
#undef T
#undef O
#undef A

static const char *
role_name(enum role r)
{
	return r == ROLE_TENANT ? "tenant" : r == ROLE_OPERATOR ? "operator" :
	    "auditor";
}

static void
tok_add(const uint8_t *hash, const struct principal *who)
{
	struct tok *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		fatal("token cache");
	memcpy(t->tk_hash, hash, TOKEN_HASH_LEN);
	t->tk_who = *who;
	t->tk_next = api_toks[hash[0]];
	api_toks[hash[0]] = t;
}

static const struct principal *
tok_find(const uint8_t *hash)
{
	struct tok *t;

	for (t = api_toks[hash[0]]; t != NULL; t = t->tk_next)
		if (memcmp(t->tk_hash, hash, TOKEN_HASH_LEN) == 0)
			return &t->tk_who;
	return NULL;
}

static void
tok_drop(int64_t id)
{
	struct tok **tp, *t;
	int b;

	for (b = 0; b < TOK_BUCKETS; b++)
		for (tp = &api_toks[b]; (t = *tp) != NULL; )
			if (t->tk_who.pr_token == id) {
				*tp = t->tk_next;
				free(t);
			} else
				tp = &t->tk_next;
}

static int
tok_load(void)
{
	PGresult *r;
	uint8_t h[TOKEN_HASH_LEN];
	struct principal who;
	int i;

	r = sql_q("SELECT id, encode(hash, 'hex'), role, "
	    "coalesce(tenant_id, 0) FROM tokens WHERE revoked_at IS NULL",
	    NULL);
	if (r == NULL)
		return -1;
	for (i = 0; i < sql_ntuples(r); i++) {
		if (sql_unhex(sql_str(r, i, 1), h, sizeof(h)) != sizeof(h))
			continue;	/* the table's CHECK makes this impossible */
		who.pr_token = sql_i64(r, i, 0);
		who.pr_role = strcmp(sql_str(r, i, 2), "tenant") == 0 ?
		    ROLE_TENANT : strcmp(sql_str(r, i, 2), "operator") == 0 ?
		    ROLE_OPERATOR : ROLE_AUDITOR;
		who.pr_tenant = sql_i64(r, i, 3);
		tok_add(h, &who);
	}
	sql_free(r);
	return 0;
}

/* Make a token for role/tenant (0: none): its id, the secret in tok. */
static int64_t
tok_create(enum role role, int64_t tenant, char *tok, size_t toksz)
{
	uint8_t h[TOKEN_HASH_LEN];
	char hex[2 * TOKEN_HASH_LEN + 1];
	struct principal who;
	struct sqlp p;
	PGresult *r;

	if (token_new(tok, toksz, h) == -1)
		return -1;
	sql_hex(h, sizeof(h), hex);
	sqlp_init(&p);
	sqlp_str(&p, hex);
	sqlp_str(&p, role_name(role));
	if (tenant != 0)
		sqlp_i64(&p, tenant);
	else
		sqlp_null(&p);
	if ((r = sql_q("INSERT INTO tokens (hash, role, tenant_id) VALUES "
	    "(decode($1, 'hex'), $2, $3) RETURNING id", &p)) == NULL)
		return -1;
	who.pr_token = sql_i64(r, 0, 0);
	who.pr_role = role;
	who.pr_tenant = tenant;
	sql_free(r);
	tok_add(h, &who);
	return who.pr_token;
}

/*
 * First start: no operator token exists, so make one and leave it in
 * STATE/operator.token (0600) for the person who started controld, as
 * Jupyter and kubeadm hand out their first credential.
 */
int
api_bootstrap(void)
{
	char tok[TOKEN_LEN + 1], path[512], tmp[520];
	PGresult *r;
	int fd, n;

	if ((r = sql_q("SELECT count(*) FROM tokens WHERE role = 'operator' "
	    "AND revoked_at IS NULL", NULL)) == NULL)
		return -1;
	n = (int)sql_i64(r, 0, 0);
	sql_free(r);
	if (n > 0)
		return 0;
	snprintf(path, sizeof(path), "%s/operator.token",
	    ctld->c_conf.cc_state);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (tok_create(ROLE_OPERATOR, 0, tok, sizeof(tok)) == -1)
		return -1;
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		log_warn("%s", tmp);
		return -1;
	}
	if (dprintf(fd, "%s\n", tok) < 0 || fsync(fd) == -1 ||
	    close(fd) == -1 || rename(tmp, path) == -1) {
		log_warn("%s", path);
		return -1;
	}
	log_info("first start: an operator token is in %s", path);
	return 0;
}

/* Replies. */

static void
api_send(struct evhttp_request *req, int status, const char *body,
    size_t len)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL)
		fatal("evbuffer");
	evbuffer_add(b, body, len);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, status, NULL, b);
	evbuffer_free(b);
}

int
api_reply(struct api_req *ar, int status, json_object *o)
{
	if (ar->ar_reply != NULL)
		json_object_put(ar->ar_reply);
	ar->ar_status = status;
	ar->ar_reply = o;
	return 0;
}

/* {"error": code, "message": ...}: always 0, the reply is set. */
int
api_error(struct api_req *ar, int status, const char *code,
    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	json_object *o = json_object_new_object();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "error", json_object_new_string(code));
	json_object_object_add(o, "message", json_object_new_string(msg));
	return api_reply(ar, status, o);
}

/* Decode the body with a field table: 0, or -1 with a 400 set. */
int
api_json(struct api_req *ar, const struct req_field *t, void *out,
    size_t outsz)
{
	char err[256];

	if (req_decode(ar->ar_body, ar->ar_len, t, out, outsz, err,
	    sizeof(err)) == -1) {
		api_error(ar, 400, "bad_request", "%s", err);
		return -1;
	}
	return 0;
}

/* ?key=N in [lo, hi], def if absent: 0, or -1 with a 400 set. */
int
api_qint(struct api_req *ar, const char *key, int64_t lo, int64_t hi,
    int64_t def, int64_t *out)
{
	struct evkeyvalq q;
	const char *v;
	char *end;
	long long n;
	int rc = 0;

	*out = def;
	if (ar->ar_query == NULL)
		return 0;
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(ar->ar_query, &q) == -1) {
		api_error(ar, 400, "bad_request", "malformed query string");
		return -1;
	}
	if ((v = evhttp_find_header(&q, key)) != NULL) {
		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno != 0 || *v == '\0' || *end != '\0' || n < lo ||
		    n > hi) {
			api_error(ar, 400, "bad_request", "%s: must be an "
			    "integer from %" PRId64 " to %" PRId64, key, lo,
			    hi);
			rc = -1;
		} else
			*out = n;
	}
	evhttp_clear_headers(&q);
	return rc;
}

/*
 * ?limit= and ?tenant= of a list; a tenant's (or a one-tenant auditor's)
 * own tenant always.  0, or -1 with a 400 set.
 */
int
api_scope(struct api_req *ar, int64_t *limit, int64_t *tenant)
{
	if (api_qint(ar, "limit", 1, 1000, 100, limit) == -1 ||
	    api_qint(ar, "tenant", 0, INT64_MAX, 0, tenant) == -1)
		return -1;
	if (ar->ar_who.pr_tenant != 0)
		*tenant = ar->ar_who.pr_tenant;
	return 0;
}

/* key: an RFC 3339 UTC time, from ms since the epoch (null if 0). */
void
api_time(json_object *o, const char *key, int64_t ms)
{
	char buf[32];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms == 0) {
		json_object_object_add(o, key, NULL);
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_object_add(o, key, json_object_new_string(buf));
}

/* Routing. */

/* Does path match pattern?  Ids go to ar_id, a name to name. */
static int
route_match(const char *pat, const char *path, struct api_req *ar,
    char *name, size_t namesz)
{
	const char *s;
	int nid = 0;
	size_t n;
	int64_t v;

	while (*pat != '\0') {
		if (*pat == '#' || *pat == '*') {
			for (s = path; *s != '\0' && *s != '/'; s++)
				;
			n = (size_t)(s - path);
			if (n == 0 || n > VMREQ_NAME_MAX)
				return 0;
			if (*pat == '#') {
				/* 1..INT64_MAX, decimal, no leading zero */
				if (path[0] == '0' || n > 18)
					return 0;
				for (v = 0; path < s; path++) {
					if (*path < '0' || *path > '9')
						return 0;
					v = v * 10 + (*path - '0');
				}
				ar->ar_id[nid++] = v;
			} else {
				memcpy(name, path, n < namesz ? n : namesz - 1);
				name[n < namesz ? n : namesz - 1] = '\0';
				path = s;
			}
			pat++;
			continue;
		}
		if (*pat++ != *path++)
			return 0;
	}
	return *path == '\0';
}

static const char *
method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:	return "GET";
	case EVHTTP_REQ_POST:	return "POST";
	case EVHTTP_REQ_PUT:	return "PUT";
	case EVHTTP_REQ_PATCH:	return "PATCH";
	case EVHTTP_REQ_DELETE:	return "DELETE";
	default:		return "?";
	}
}

static int
api_auth(struct api_req *ar)
{
	const char *h;
	uint8_t hash[TOKEN_HASH_LEN];
	const struct principal *who;

	h = evhttp_find_header(evhttp_request_get_input_headers(ar->ar_req),
	    "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 ||
	    token_hash(h + 7, strlen(h + 7), hash) == -1 ||
	    (who = tok_find(hash)) == NULL)
		return -1;
	ar->ar_who = *who;
	return 0;
}

/* The hash that ties an Idempotency-Key to one request. */
static void
idem_hash(struct api_req *ar, char *hex)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t md[32];
	const char *m = method_name(evhttp_request_get_command(ar->ar_req));
	const char *uri = evhttp_request_get_uri(ar->ar_req);

	if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(c, m, strlen(m) + 1) != 1 ||
	    EVP_DigestUpdate(c, uri, strlen(uri) + 1) != 1 ||
	    EVP_DigestUpdate(c, ar->ar_body, ar->ar_len) != 1 ||
	    EVP_DigestFinal_ex(c, md, NULL) != 1)
		fatalx("sha256");
	EVP_MD_CTX_free(c);
	sql_hex(md, sizeof(md), hex);
}

/* 1: replayed (or refused), the reply is set; 0: go on; -1 error. */
static int
idem_lookup(struct api_req *ar, const char *key, const char *hex)
{
	struct sqlp p;
	PGresult *r;
	int st;

	sqlp_init(&p);
	sqlp_i64(&p, ar->ar_who.pr_token);
	sqlp_str(&p, key);
	if ((r = sql_q("SELECT encode(request_hash, 'hex'), status, body "
	    "FROM idempotency WHERE token_id = $1 AND key = $2", &p)) == NULL)
		return -1;
	if (sql_ntuples(r) == 0) {
		sql_free(r);
		return 0;
	}
	if (strcmp(sql_str(r, 0, 0), hex) != 0) {
		sql_free(r);
		api_error(ar, 422, "idempotency_key_reused", "this "
		    "Idempotency-Key was used for a different request");
		return 1;
	}
	st = (int)sql_i64(r, 0, 1);
	evhttp_add_header(evhttp_request_get_output_headers(ar->ar_req),
	    "Idempotent-Replayed", "true");
	api_send(ar->ar_req, st, sql_str(r, 0, 2), strlen(sql_str(r, 0, 2)));
	sql_free(r);
	ar->ar_status = -1;	/* already sent */
	return 1;
}

static void
idem_store(struct api_req *ar, const char *key, const char *hex,
    const char *body)
{
	struct sqlp p;

	sqlp_init(&p);
	sqlp_i64(&p, ar->ar_who.pr_token);
	sqlp_str(&p, key);
	sqlp_str(&p, hex);
	sqlp_i64(&p, ar->ar_status);
	sqlp_str(&p, body);
	if (sql_exec("INSERT INTO idempotency (token_id, key, request_hash, "
	    "status, body) VALUES ($1, $2, decode($3, 'hex'), $4, $5) "
	    "ON CONFLICT DO NOTHING", &p) == -1)
		log_warnx("idempotency key not stored: a retry would act "
		    "again");
}

static int
idem_key_ok(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > API_IDEM_MAX)
		return 0;
	for (; *k != '\0'; k++)
		if (*k < 0x21 || *k > 0x7e)
			return 0;
	return 1;
}

static void
api_dispatch(struct evhttp_request *req, void *arg)
{
	struct api_req ar;
	const struct route *rt, *found = NULL;
	const struct evhttp_uri *uri;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	struct evbuffer *in;
	const char *path, *key = NULL, *body;
	char name[VMREQ_NAME_MAX + 1] = "", hex[65];
	int path_known = 0;
	size_t i, max;

	(void)arg;
	memset(&ar, 0, sizeof(ar));
	ar.ar_req = req;
	ar.ar_status = 500;
	uri = evhttp_request_get_evhttp_uri(req);
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	ar.ar_query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	if (path == NULL)
		path = "";
	for (i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++) {
		rt = &api_routes[i];
		if (!route_match(rt->rt_path, path, &ar, name, sizeof(name)))
			continue;
		path_known = 1;
		if (rt->rt_method == m) {
			found = rt;
			break;
		}
	}
	if (api_auth(&ar) == -1) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer realm=\"xeno\"");
		api_error(&ar, 401, "unauthorized", "a valid bearer token is "
		    "required (Authorization: Bearer xeno_...)");
		goto reply;
	}
	if (found == NULL) {
		if (path_known)
			api_error(&ar, 405, "method_not_allowed", "%s is not "
			    "allowed on %s", method_name(m), path);
		else
			api_error(&ar, 404, "not_found", "no such endpoint: "
			    "%.200s", path);
		goto reply;
	}
	if ((found->rt_roles & ar.ar_who.pr_role) == 0) {
		api_error(&ar, 403, "forbidden", "the %s role may not %s %s",
		    role_name(ar.ar_who.pr_role), method_name(m),
		    found->rt_path);
		goto reply;
	}
	in = evhttp_request_get_input_buffer(req);
	ar.ar_len = evbuffer_get_length(in);
	max = found->rt_fn == image_upload ? API_UPLOAD_MAX : API_JSON_MAX;
	if (ar.ar_len > max) {
		api_error(&ar, 413, "too_large", "the body is %zu bytes; at "
		    "most %zu here", ar.ar_len, max);
		goto reply;
	}
	body = ar.ar_len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	ar.ar_body = body;
	snprintf(ar.ar_name, sizeof(ar.ar_name), "%s", name);
	if (m != EVHTTP_REQ_GET) {
		key = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "Idempotency-Key");
		if (key != NULL && !idem_key_ok(key)) {
			key = NULL;	/* nothing to store it under */
			api_error(&ar, 400, "bad_request", "Idempotency-Key: "
			    "must be 1 to %d visible ASCII characters",
			    API_IDEM_MAX);
			goto reply;
		}
		if (key != NULL) {
			idem_hash(&ar, hex);
			switch (idem_lookup(&ar, key, hex)) {
			case -1:
				api_error(&ar, 500, "internal", "database "
				    "unavailable");
				goto reply;
			case 1:
				goto reply;
			}
		}
	}
	found->rt_fn(&ar);
	if (ar.ar_reply == NULL && ar.ar_text == NULL && ar.ar_status != 204)
		api_error(&ar, 500, "internal", "internal error (logged)");
reply:
	if (ar.ar_status == -1)
		return;
	{
		const char *s = ar.ar_reply != NULL ?
		    json_object_to_json_string_ext(ar.ar_reply,
		    JSON_C_TO_STRING_PLAIN) : "";

		if (key != NULL && ar.ar_status < 500 && ar.ar_status != 401)
			idem_store(&ar, key, hex, s);
		if (ar.ar_location[0] == '/')
			evhttp_add_header(evhttp_request_get_output_headers(
			    req), "Location", ar.ar_location);
		if (ar.ar_status == 204)
			evhttp_send_reply(req, 204, NULL, NULL);
		else if (ar.ar_text != NULL) {
			struct evbuffer *b = evbuffer_new();

			if (b == NULL)
				fatal("evbuffer");
			evbuffer_add(b, ar.ar_text, ar.ar_textlen);
			evhttp_add_header(evhttp_request_get_output_headers(
			    req), "Content-Type", "text/plain; charset=utf-8");
			evhttp_send_reply(req, ar.ar_status, NULL, b);
			evbuffer_free(b);
		} else
			api_send(req, ar.ar_status, s, strlen(s));
	}
	if (ar.ar_reply != NULL)
		json_object_put(ar.ar_reply);
	free(ar.ar_text);
}

/* TLS on every connection. */
static struct bufferevent *
api_bevcb(struct event_base *base, void *arg)
{
	SSL *ssl = SSL_new((SSL_CTX *)arg);
	struct bufferevent *bev;

	if (ssl == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

int
api_init(void)
{
	const char *l = ctld->c_conf.cc_listen;
	char host[128], path[600];
	const char *colon;
	struct evhttp_bound_socket *bs;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char addr[INET6_ADDRSTRLEN];
	unsigned long port;
	FILE *f;
	size_t n;
	int one = 1;

	if ((colon = strrchr(l, ':')) == NULL || colon == l ||
	    (n = (size_t)(colon - l)) >= sizeof(host)) {
		log_warnx("--listen %s: expected ADDR:PORT", l);
		return -1;
	}
	memcpy(host, l, n);
	host[n] = '\0';
	if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	port = strtoul(colon + 1, NULL, 10);
	if (port > 65535) {
		log_warnx("--listen %s: bad port", l);
		return -1;
	}
	if (tok_load() == -1 || api_bootstrap() == -1)
		return -1;
	if ((ctld->c_http = evhttp_new(ctld->c_base)) == NULL)
		fatal("evhttp_new");
	evhttp_set_bevcb(ctld->c_http, api_bevcb, ctld->c_tls);
	evhttp_set_allowed_methods(ctld->c_http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH |
	    EVHTTP_REQ_DELETE);
	evhttp_set_max_body_size(ctld->c_http, API_UPLOAD_MAX);
	evhttp_set_max_headers_size(ctld->c_http, API_HEADERS_MAX);
	evhttp_set_timeout(ctld->c_http, API_TIMEOUT_S);
	evhttp_set_gencb(ctld->c_http, api_dispatch, NULL);
	if ((bs = evhttp_bind_socket_with_handle(ctld->c_http, host,
	    (uint16_t)port)) == NULL) {
		log_warn("--listen %s", l);
		return -1;
	}
	/*
	 * No Nagle: evhttp writes a reply's headers and body as two TLS
	 * records, and the second would wait for the client's delayed ACK
	 * (~40 ms).  Accepted sockets inherit the option on Linux.
	 */
	if (setsockopt(evhttp_bound_socket_get_fd(bs), IPPROTO_TCP,
	    TCP_NODELAY, &one, sizeof(one)) == -1)
		log_warn("TCP_NODELAY");
	/* STATE/controld.url says where we listen and that we are ready */
	if (getsockname(evhttp_bound_socket_get_fd(bs),
	    (struct sockaddr *)&ss, &sl) == -1)
		fatal("getsockname");
	if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    addr, sizeof(addr));
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
		    addr, sizeof(addr));
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	snprintf(path, sizeof(path), "%s/controld.url", ctld->c_conf.cc_state);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, ss.ss_family == AF_INET6 ? "https://[%s]:%lu\n" :
	    "https://%s:%lu\n", addr, port);
	fclose(f);
	log_info("listening on https://%s%s%s:%lu", ss.ss_family == AF_INET6 ?
	    "[" : "", addr, ss.ss_family == AF_INET6 ? "]" : "", port);
	return 0;
}

void
api_free(void)
{
	struct tok *t;
	int b;

	if (ctld->c_http != NULL)
		evhttp_free(ctld->c_http);
	ctld->c_http = NULL;
	for (b = 0; b < TOK_BUCKETS; b++)
		while ((t = api_toks[b]) != NULL) {
			api_toks[b] = t->tk_next;
			free(t);
		}
}

/* The host's settings. */

static int
host_patch(struct api_req *ar)
{
	struct host_request h;
	struct sqlp p;

	if (api_json(ar, hostreq_fields, &h, sizeof(h)) == -1)
		return 0;
	sqlp_init(&p);
	if (h.hr_vcpu_ratio_has) sqlp_i64(&p, h.hr_vcpu_ratio); else sqlp_null(&p);
	if (h.hr_mem_ratio_has) sqlp_i64(&p, h.hr_mem_ratio); else sqlp_null(&p);
	if (h.hr_draining_has) sqlp_str(&p, h.hr_draining ? "t" : "f"); else sqlp_null(&p);
	if (h.hr_price_vcpu_has) sqlp_i64(&p, h.hr_price_vcpu); else sqlp_null(&p);
	if (h.hr_price_gib_has) sqlp_i64(&p, h.hr_price_gib); else sqlp_null(&p);
	if (sql_exec("UPDATE host SET vcpu_ratio = coalesce($1::integer, "
	    "vcpu_ratio), mem_ratio = coalesce($2::integer, mem_ratio), "
	    "draining = coalesce($3::boolean, draining), price_vcpu_hour = "
	    "coalesce($4::bigint, price_vcpu_hour), price_gib_hour = "
	    "coalesce($5::bigint, price_gib_hour) WHERE id = 1", &p) == -1)
		return api_error(ar, 500, "internal", "database error");
	return vm_host(ar);
}

/* Tenants. */

static json_object *
tenant_json(PGresult *r, int i)
{
	static const char *qn[TQ_N] = { "vms", "vcpus", "memory_mib",
	    "disk_mib", "network_mbps" };
	static const int64_t qdiv[TQ_N] = { 1, 1, 1 << 20, 1 << 20, 1000000 };
	json_object *o = json_object_new_object(), *q, *u;
	int k;

	json_object_object_add(o, "id", json_object_new_int64(sql_i64(r, i,
	    0)));
	json_object_object_add(o, "name", json_object_new_string(sql_str(r,
	    i, 1)));
	json_object_object_add(o, "balance", json_object_new_int64(sql_i64(r,
	    i, 2)));
	json_object_object_add(o, "committed",
	    json_object_new_int64(sql_i64(r, i, 3)));
	json_object_object_add(o, "available",
	    json_object_new_int64(sql_i64(r, i, 2) - sql_i64(r, i, 3)));
	q = json_object_new_object();
	for (k = 0; k < TQ_N; k++)
		json_object_object_add(q, qn[k], sql_isnull(r, i, 4 + k) ?
		    NULL : json_object_new_int64(sql_i64(r, i, 4 + k) /
		    qdiv[k]));
	json_object_object_add(o, "quotas", q);
	u = json_object_new_object();
	json_object_object_add(u, "vms", json_object_new_int64(sql_i64(r, i,
	    9)));
	json_object_object_add(u, "vcpus", json_object_new_int64(sql_i64(r,
	    i, 10)));
	json_object_object_add(u, "memory_mib",
	    json_object_new_int64(sql_i64(r, i, 11) >> 20));
	json_object_object_add(u, "disk_mib",
	    json_object_new_int64(sql_i64(r, i, 12) >> 20));
	json_object_object_add(u, "network_mbps",
	    json_object_new_int64(sql_i64(r, i, 13) / 1000000));
	json_object_object_add(o, "in_use", u);
	return o;
}

#define TENANT_SELECT							\
	"SELECT t.id, t.name, t.balance, t.committed, t.quota_vms, "	\
	"t.quota_vcpus, t.quota_mem, t.quota_disk, t.quota_net, "	\
	"count(d.id), coalesce(sum(d.vcpus), 0), "			\
	"coalesce(sum(d.mem_bytes), 0), coalesce(sum(d.disk_bytes), 0), "\
	"coalesce(sum(d.net_bps), 0) "					\
	"FROM tenants t LEFT JOIN domains d ON d.tenant_id = t.id AND "	\
	"d.state IN ('starting', 'running', 'stopping') "

static int
tenant_list(struct api_req *ar)
{
	json_object *a = json_object_new_array();
	struct sqlp p;
	PGresult *r;
	int i;

	sqlp_init(&p);
	sqlp_i64(&p, ar->ar_who.pr_tenant);
	if ((r = sql_q(TENANT_SELECT "WHERE $1 = 0 OR t.id = $1 "
	    "GROUP BY t.id ORDER BY t.id", &p)) == NULL) {
		json_object_put(a);
		return api_error(ar, 500, "internal", "database error");
	}
	for (i = 0; i < sql_ntuples(r); i++)
		json_object_array_add(a, tenant_json(r, i));
	sql_free(r);
	return api_reply(ar, 200, a);
}

static int
tenant_show(struct api_req *ar, int64_t id, int status)
{
	struct sqlp p;
	PGresult *r;

	sqlp_init(&p);
	sqlp_i64(&p, id);
	if ((r = sql_q(TENANT_SELECT "WHERE t.id = $1 GROUP BY t.id",
	    &p)) == NULL)
		return api_error(ar, 500, "internal", "database error");
	if (sql_ntuples(r) == 0)
		api_error(ar, 404, "not_found", "no tenant %" PRId64, id);
	else
		api_reply(ar, status, tenant_json(r, 0));
	sql_free(r);
	return 0;
}

static int
tenant_get(struct api_req *ar)
{
	if (ar->ar_who.pr_tenant != 0 && ar->ar_who.pr_tenant != ar->ar_id[0])
		return api_error(ar, 404, "not_found", "no tenant %" PRId64,
		    ar->ar_id[0]);
	return tenant_show(ar, ar->ar_id[0], 200);
}

/* 1 if tenant id exists, 0 if not, -1 if the database failed. */
static int
tenant_exists(int64_t id)
{
	struct sqlp p;
	PGresult *r;
	int n;

	sqlp_init(&p);
	sqlp_i64(&p, id);
	if ((r = sql_q("SELECT 1 FROM tenants WHERE id = $1", &p)) == NULL)
		return -1;
	n = sql_ntuples(r);
	sql_free(r);
	return n;
}

/* Quotas from the API's units (MiB, Mbit/s) to the table's (bytes, bit/s). */
static void
quota_params(struct sqlp *p, const struct tenant_request *t)
{
	static const int64_t mul[TQ_N] = { 1, 1, 1 << 20, 1 << 20, 1000000 };
	int k;

	for (k = 0; k < TQ_N; k++) {
		if (!t->tr_quota_has[k] || t->tr_quota[k] < 0)
			sqlp_null(p);
		else
			sqlp_i64(p, t->tr_quota[k] * mul[k]);
	}
}

static int
tenant_create(struct api_req *ar)
{
	struct tenant_request t;
	struct sqlp p;
	PGresult *r;
	int64_t id;

	if (api_json(ar, tenantreq_create_fields, &t, sizeof(t)) == -1)
		return 0;
	sqlp_init(&p);
	sqlp_str(&p, t.tr_name);
	sqlp_i64(&p, t.tr_balance);
	quota_params(&p, &t);
	if (sql_begin() == -1)
		return api_error(ar, 500, "internal", "database error");
	r = sql_q("INSERT INTO tenants (name, balance, quota_vms, "
	    "quota_vcpus, quota_mem, quota_disk, quota_net) VALUES ($1, $2, "
	    "$3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING RETURNING id",
	    &p);
	if (r == NULL) {
		sql_rollback();
		return api_error(ar, 500, "internal", "database error");
	}
	if (sql_ntuples(r) == 0) {
		sql_free(r);
		sql_rollback();
		return api_error(ar, 409, "conflict", "a tenant named \"%s\" "
		    "exists", t.tr_name);
	}
	id = sql_i64(r, 0, 0);
	sql_free(r);
	sqlp_init(&p);
	sqlp_i64(&p, id);
	sqlp_i64(&p, t.tr_balance);
	if ((t.tr_balance != 0 && sql_exec("INSERT INTO ledger (tenant_id, "
	    "kind, amount) VALUES ($1, 'topup', $2)", &p) == -1) ||
	    sql_commit() == -1) {
		sql_rollback();
		return api_error(ar, 500, "internal", "database error");
	}
	snprintf(ar->ar_location, sizeof(ar->ar_location),
	    "/v1/tenants/%" PRId64, id);
	return tenant_show(ar, id, 201);
}

static int
tenant_patch(struct api_req *ar)
{
	struct tenant_request t;
	struct sqlp p;
	PGresult *r;
	int k, n;

	if (api_json(ar, tenantreq_patch_fields, &t, sizeof(t)) == -1)
		return 0;
	if (sql_begin() == -1)
		return api_error(ar, 500, "internal", "database error");
	sqlp_init(&p);
	sqlp_i64(&p, ar->ar_id[0]);
	sqlp_i64(&p, t.tr_topup_has ? t.tr_topup : 0);
	quota_params(&p, &t);
	for (k = 0; k < TQ_N; k++)
		sqlp_str(&p, t.tr_quota_has[k] ? "t" : "f");
	r = sql_q("UPDATE tenants SET balance = balance + $2, "
	    "quota_vms = CASE WHEN $8::boolean THEN $3 ELSE quota_vms END, "
	    "quota_vcpus = CASE WHEN $9::boolean THEN $4 ELSE quota_vcpus END, "
	    "quota_mem = CASE WHEN $10::boolean THEN $5 ELSE quota_mem END, "
	    "quota_disk = CASE WHEN $11::boolean THEN $6 ELSE quota_disk END, "
	    "quota_net = CASE WHEN $12::boolean THEN $7 ELSE quota_net END "
	    "WHERE id = $1 AND balance + $2 BETWEEN -1000000000000000 AND "
	    "1000000000000000 RETURNING id", &p);
	if (r == NULL) {
		sql_rollback();
		return api_error(ar, 500, "internal", "database error");
	}
	n = sql_ntuples(r);
	sql_free(r);
	if (n == 0) {
		sql_rollback();
		if ((n = tenant_exists(ar->ar_id[0])) == -1)
			return api_error(ar, 500, "internal", "database error");
		if (n == 0)
			return api_error(ar, 404, "not_found", "no tenant %"
			    PRId64, ar->ar_id[0]);
		return api_error(ar, 400, "bad_request", "topup: the balance "
		    "would leave -10^15..10^15 micro-credits");
	}
	sqlp_init(&p);
	sqlp_i64(&p, ar->ar_id[0]);
	sqlp_i64(&p, t.tr_topup);
	if ((t.tr_topup_has && t.tr_topup != 0 && sql_exec("INSERT INTO "
	    "ledger (tenant_id, kind, amount) VALUES ($1, 'topup', $2)",
	    &p) == -1) || sql_commit() == -1) {
		sql_rollback();
		return api_error(ar, 500, "internal", "database error");
	}
	return tenant_show(ar, ar->ar_id[0], 200);
}

/* Tokens. */

static int
token_create(struct api_req *ar)
{
	struct token_request t;
	char tok[TOKEN_LEN + 1];
	enum role role;
	json_object *o;
	int64_t id;
	int n;

	if (api_json(ar, tokreq_fields, &t, sizeof(t)) == -1)
		return 0;
	if (strcmp(t.tk_role, "tenant") == 0)
		role = ROLE_TENANT;
	else if (strcmp(t.tk_role, "operator") == 0)
		role = ROLE_OPERATOR;
	else if (strcmp(t.tk_role, "auditor") == 0)
		role = ROLE_AUDITOR;
	else
		return api_error(ar, 400, "bad_request", "role: must be "
		    "\"tenant\", \"operator\" or \"auditor\"");
	if (role == ROLE_TENANT && !t.tk_tenant_has)
		return api_error(ar, 400, "bad_request", "tenant: required "
		    "for a tenant token");
	if (role == ROLE_OPERATOR && t.tk_tenant_has)
		return api_error(ar, 400, "bad_request", "tenant: an "
		    "operator token belongs to no tenant");
	if (t.tk_tenant_has) {
		if ((n = tenant_exists(t.tk_tenant)) == -1)
			return api_error(ar, 500, "internal", "database error");
		if (n == 0)
			return api_error(ar, 400, "bad_request", "tenant: no "
			    "tenant %" PRId64, t.tk_tenant);
	}
	if ((id = tok_create(role, t.tk_tenant_has ? t.tk_tenant : 0, tok,
	    sizeof(tok))) == -1)
		return api_error(ar, 500, "internal", "database error");
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(id));
	json_object_object_add(o, "role", json_object_new_string(t.tk_role));
	json_object_object_add(o, "tenant", t.tk_tenant_has ?
	    json_object_new_int64(t.tk_tenant) : NULL);
	json_object_object_add(o, "token", json_object_new_string(tok));
	snprintf(ar->ar_location, sizeof(ar->ar_location),
	    "/v1/tokens/%" PRId64, id);
	return api_reply(ar, 201, o);
}

static int
token_revoke(struct api_req *ar)
{
	struct sqlp p;
	PGresult *r;
	int n;

	sqlp_init(&p);
	sqlp_i64(&p, ar->ar_id[0]);
	if ((r = sql_q("UPDATE tokens SET revoked_at = now() WHERE id = $1 "
	    "AND revoked_at IS NULL RETURNING id", &p)) == NULL)
		return api_error(ar, 500, "internal", "database error");
	n = sql_ntuples(r);
	sql_free(r);
	if (n == 0)
		return api_error(ar, 404, "not_found", "no live token %"
		    PRId64, ar->ar_id[0]);
	tok_drop(ar->ar_id[0]);
	ar->ar_status = 204;
	return 0;
}

/* The audit trail. */

/* A list query: $1 the tenant in scope (0: all), $2 the limit.  The rows,
 * or NULL with the reply set. */
static PGresult *
api_list(struct api_req *ar, const char *q)
{
	int64_t limit, tenant;
	struct sqlp p;
	PGresult *r;

	if (api_scope(ar, &limit, &tenant) == -1)
		return NULL;
	sqlp_init(&p);
	sqlp_i64(&p, tenant);
	sqlp_i64(&p, limit);
	if ((r = sql_q(q, &p)) == NULL)
		api_error(ar, 500, "internal", "database error");
	return r;
}

static int
decision_list(struct api_req *ar)
{
	json_object *a, *o;
	PGresult *r;
	int i;

	if ((r = api_list(ar, "SELECT id, (extract(epoch FROM at) * 1000)"
	    "::bigint, tenant_id, domain_id, kind, reason, requested, "
	    "available, cost, inputs::text FROM decisions WHERE $1 = 0 OR "
	    "tenant_id = $1 ORDER BY id DESC LIMIT $2")) == NULL)
		return 0;
	a = json_object_new_array();
	for (i = 0; i < sql_ntuples(r); i++) {
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int64(
		    sql_i64(r, i, 0)));
		api_time(o, "at", sql_i64(r, i, 1));
		json_object_object_add(o, "tenant", json_object_new_int64(
		    sql_i64(r, i, 2)));
		json_object_object_add(o, "vm", sql_isnull(r, i, 3) ? NULL :
		    json_object_new_int64(sql_i64(r, i, 3)));
		json_object_object_add(o, "kind", json_object_new_string(
		    sql_str(r, i, 4)));
		json_object_object_add(o, "reason", json_object_new_string(
		    sql_str(r, i, 5)));
		json_object_object_add(o, "requested", sql_isnull(r, i, 6) ?
		    NULL : json_object_new_int64(sql_i64(r, i, 6)));
		json_object_object_add(o, "available", sql_isnull(r, i, 7) ?
		    NULL : json_object_new_int64(sql_i64(r, i, 7)));
		json_object_object_add(o, "cost", json_object_new_int64(
		    sql_i64(r, i, 8)));
		json_object_object_add(o, "inputs", json_tokener_parse(
		    sql_str(r, i, 9)));
		json_object_array_add(a, o);
	}
	sql_free(r);
	return api_reply(ar, 200, a);
}

static int
usage_list(struct api_req *ar)
{
	static const char *cols[] = { "vm", "tenant", NULL, NULL, "seconds",
	    "vcpus", "mem_bytes", "cpu_ns", "net_rx_bytes", "net_tx_bytes",
	    "disk_rd_bytes", "disk_wr_bytes", "cost" };
	json_object *a, *o;
	PGresult *r;
	size_t c;
	int i;

	if ((r = api_list(ar, "SELECT domain_id, tenant_id, "
	    "(extract(epoch FROM started_at) * 1000)::bigint, "
	    "(extract(epoch FROM ended_at) * 1000)::bigint, seconds, vcpus, "
	    "mem_bytes, cpu_ns, net_rx_bytes, net_tx_bytes, disk_rd_bytes, "
	    "disk_wr_bytes, cost FROM usage WHERE $1 = 0 OR tenant_id = $1 "
	    "ORDER BY ended_at DESC LIMIT $2")) == NULL)
		return 0;
	a = json_object_new_array();
	for (i = 0; i < sql_ntuples(r); i++) {
		o = json_object_new_object();
		for (c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
			if (cols[c] != NULL)
				json_object_object_add(o, cols[c],
				    json_object_new_int64(sql_i64(r, i,
				    (int)c)));
		api_time(o, "started_at", sql_i64(r, i, 2));
		api_time(o, "ended_at", sql_i64(r, i, 3));
		json_object_array_add(a, o);
	}
	sql_free(r);
	return api_reply(ar, 200, a);
}

/* Images: the catalog, and a tenant's own uploads. */

static void
image_dir(json_object *a, const char *dir, const char *source)
{
	struct dirent **ents;
	json_object *o;
	char *dot;
	int i, n;

	if ((n = scandir(dir, &ents, NULL, alphasort)) == -1)
		return;
	for (i = 0; i < n; i++) {
		if ((dot = strrchr(ents[i]->d_name, '.')) != NULL &&
		    ents[i]->d_name[0] != '.' && (strcmp(dot, ".elf") == 0 ||
		    strcmp(dot, ".linux") == 0 || strcmp(dot, ".img") == 0)) {
			o = json_object_new_object();
			json_object_object_add(o, "name",
			    json_object_new_string_len(ents[i]->d_name,
			    (int)(dot - ents[i]->d_name)));
			json_object_object_add(o, "kind", json_object_new_string(
			    strcmp(dot, ".elf") == 0 ? "pv" : strcmp(dot,
			    ".linux") == 0 ? "hvm" : "disk"));
			json_object_object_add(o, "source",
			    json_object_new_string(source));
			json_object_array_add(a, o);
		}
		free(ents[i]);
	}
	free(ents);
}

static int
image_list(struct api_req *ar)
{
	json_object *a = json_object_new_array();
	char dir[600];

	if (ar->ar_who.pr_tenant != 0 && ar->ar_who.pr_role == ROLE_TENANT) {
		snprintf(dir, sizeof(dir), "%s/%" PRId64, ctld->c_uploads,
		    ar->ar_who.pr_tenant);
		image_dir(a, dir, "upload");
	}
	image_dir(a, ctld->c_conf.cc_images, "catalog");
	return api_reply(ar, 200, a);
}

static int
image_count(const char *dir)
{
	struct dirent **ents;
	int i, n, k = 0;

	if ((n = scandir(dir, &ents, NULL, NULL)) == -1)
		return 0;
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.')
			k++;
		free(ents[i]);
	}
	free(ents);
	return k;
}

/*
 * PUT /v1/images/NAME: a PV guest (ELF64) for this tenant only, at most
 * 64 MiB.  xeno-hv checks the rest when a VM starts from it.
 */
static int
image_upload(struct api_req *ar)
{
	char dir[600], path[700], tmp[720], err[160];
	const char *name = ar->ar_name;
	json_object *o, *js;
	int fd;

	js = json_object_new_string(name);
	if (req_name(js, "name", dir, VMREQ_NAME_MAX, err, sizeof(err)) ==
	    -1) {
		json_object_put(js);
		return api_error(ar, 400, "bad_request", "image %s", err);
	}
	json_object_put(js);
	if (ar->ar_len < 64 || memcmp(ar->ar_body, "\177ELF\002", 5) != 0)
		return api_error(ar, 400, "bad_request", "the body must be an "
		    "ELF64 PV guest (docs/PV-ABI.md)");
	snprintf(dir, sizeof(dir), "%s/%" PRId64, ctld->c_uploads,
	    ar->ar_who.pr_tenant);
	(void)mkdir(dir, 0750);
	snprintf(path, sizeof(path), "%s/%s.elf", dir, name);
	/* a bound on what a tenant can put on the host's disk */
	if (access(path, F_OK) == -1 && image_count(dir) >= API_UPLOADS_MAX)
		return api_error(ar, 409, "conflict", "you have %d images, the "
		    "most a tenant may keep; replace one (PUT the same name)",
		    API_UPLOADS_MAX);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) ==
	    -1 || write(fd, ar->ar_body, ar->ar_len) != (ssize_t)ar->ar_len ||
	    fsync(fd) == -1 || close(fd) == -1 || rename(tmp, path) == -1) {
		log_warn("upload %s", path);
		(void)unlink(tmp);
		return api_error(ar, 500, "internal", "the image could not be "
		    "stored");
	}
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "kind", json_object_new_string("pv"));
	json_object_object_add(o, "source", json_object_new_string("upload"));
	json_object_object_add(o, "bytes", json_object_new_int64(
	    (int64_t)ar->ar_len));
	snprintf(ar->ar_location, sizeof(ar->ar_location), "/v1/images/%s",
	    name);
	return api_reply(ar, 201, o);
}
