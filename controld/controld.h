/*
 * xeno-controld: the Domain0 control daemon (issue 6, in progress).
 *
 * Files and what they own (prototypes below are grouped the same way):
 *	admission.c	the admission decision (pure)
 *	request.c	decoding a VM request body, POST /v1/vms (pure)
 *	token.c		API tokens: making them, hashing them
 *	tls.c		the TLS context, a self-signed certificate on first start
 *	hostnet.c	the host bridge and each domain's tap
 *	db.c		PostgreSQL: the embedded cluster, connecting, migrations
 *	main.c		xeno-controld: options, start, the event loop, exit
 *	api.c		the HTTPS server: routing, tokens and roles, JSON,
 *			idempotency, the host, tenant, token and audit endpoints
 *	vm.c		VMs: admission in one transaction, spawning and
 *			supervising xeno-hv, leases, re-attaching, final usage
 *	sql.c		small helpers over libpq
 */
#ifndef CONTROLD_H
#define CONTROLD_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdint.h>

/*
 * admission.c: does a request fit this host, its tenant's quotas and its
 * tenant's budget?  Pure: the caller reads the inputs inside one database
 * transaction and records the decision with them (docs/ADMISSION.md).
 *
 * Money is in micro-credits (1 credit = 1,000,000), prices per hour of a
 * whole VM; both are integers, so nothing is ever rounded away but by the
 * one documented rule: a lease costs ceil(price * seconds / 3600).
 */
#define ADM_UNLIMITED	UINT64_MAX	/* a quota that does not apply */
#define ADM_RATIO_ONE	1000		/* overcommit ratios are in 1/1000 */
#define ADM_MAX_VCPUS	64
#define ADM_MAX_SECONDS	(366ULL * 24 * 3600)	/* one lease, at most */

/* What a host or a tenant has, holds, or a VM asks for. */
struct adm_res {
	uint64_t	ar_vcpus;
	uint64_t	ar_mem;		/* bytes */
	uint64_t	ar_disk;	/* bytes of VBD leases */
	uint64_t	ar_net;		/* bits/s reserved; 0 = none */
	uint64_t	ar_vms;
};

struct adm_host {
	struct adm_res	ah_cap;		/* physical capacity (ar_vms unused) */
	struct adm_res	ah_used;	/* held by admitted domains */
	uint32_t	ah_vcpu_ratio;	/* overcommit, ADM_RATIO_ONE = none */
	uint32_t	ah_mem_ratio;
	int		ah_draining;	/* takes no new leases */
};

struct adm_tenant {
	struct adm_res	at_quota;	/* ADM_UNLIMITED fields do not apply */
	struct adm_res	at_used;
	int64_t		at_balance;	/* micro-credits, prepaid */
	int64_t		at_committed;	/* held for leases already admitted */
};

struct adm_request {
	struct adm_res	ar_want;	/* ar_vms ignored: one VM */
	uint64_t	ar_seconds;	/* lease (or extension) length */
	uint64_t	ar_price;	/* quoted, micro-credits per hour */
	uint64_t	ar_max_price;	/* the tenant's limit; 0 = none */
	int		ar_extend;	/* more time for a VM already running */
};

enum adm_reason {
	ADM_OK = 0,
	ADM_INVALID,		/* the request itself is out of range */
	ADM_DRAINING,		/* the host takes no new leases */
	ADM_MAX_PRICE,		/* quoted price above the tenant's max_price */
	ADM_QUOTA_VMS,
	ADM_QUOTA_VCPUS,
	ADM_QUOTA_MEMORY,
	ADM_QUOTA_DISK,
	ADM_QUOTA_NETWORK,
	ADM_VCPUS,		/* host capacity */
	ADM_MEMORY,
	ADM_DISK,
	ADM_NETWORK,
	ADM_BUDGET,		/* balance does not cover the lease */
	ADM_NREASONS
};

struct adm_decision {
	enum adm_reason	ad_reason;
	uint64_t	ad_requested;	/* in the unit of the limit hit */
	uint64_t	ad_available;
	uint64_t	ad_cost;	/* micro-credits for the lease */
	const char	*ad_detail;	/* for ADM_INVALID: what is wrong */
};

enum adm_reason adm_decide(const struct adm_host *,
	    const struct adm_tenant *, const struct adm_request *,
	    struct adm_decision *);
int	adm_cost(uint64_t, uint64_t, uint64_t *);
const char *adm_reason_name(enum adm_reason);

/* request.c: the body of POST /v1/vms (docs/API.md) */
#define VMREQ_BODY_MAX		(64 << 10)
#define VMREQ_DEPTH_MAX		8
#define VMREQ_NAME_MAX		63
#define VMREQ_ARGS_MAX		1024	/* with the NUL */
#define VMREQ_VCPUS_MAX		ADM_MAX_VCPUS
#define VMREQ_MEM_MIB_MIN	16
#define VMREQ_MEM_MIB_MAX	(256 << 10)
#define VMREQ_DISK_MIB_MAX	(16LL << 20)	/* 16 TiB */
#define VMREQ_NET_MBPS_MAX	100000		/* 100 Gbit/s */

struct vm_request {
	unsigned int	vr_vcpus;
	uint64_t	vr_mem_mib;
	char		vr_image[VMREQ_NAME_MAX + 1];	/* catalog or upload */
	char		vr_name[VMREQ_NAME_MAX + 1];	/* "" if none */
	uint64_t	vr_seconds;
	int		vr_has_max_price;
	uint64_t	vr_max_price;	/* micro-credits per hour */
	int		vr_network;
	uint64_t	vr_net_mbps;	/* reserved and enforced; 0: none */
	int		vr_dry_run;
	char		vr_args[VMREQ_ARGS_MAX];
	int		vr_has_disk;
	char		vr_disk_base[VMREQ_NAME_MAX + 1];	/* "" if none */
	uint64_t	vr_disk_mib;	/* 0: the base's size */
};

int	vmreq_decode(const char *, size_t, struct vm_request *, char *,
	    size_t);

/*
 * The other bodies, decoded by req_decode() with a table of fields: each
 * value is an int64_t (or int for booleans, a name buffer) with an int
 * "_has" flag beside it, set when the field was present.
 */
#define MONEY_MAX	1000000000000000LL	/* 10^9 credits */

enum req_kind { RF_INT, RF_INT_NULL, RF_BOOL, RF_NAME, RF_OBJECT };
struct req_field {
	const char		*rf_key;
	enum req_kind		 rf_kind;
	int64_t			 rf_lo, rf_hi;
	size_t			 rf_off;
	size_t			 rf_has;
	const struct req_field	*rf_sub;	/* RF_OBJECT */
	int			 rf_required;
};

struct ext_request {
	int64_t	xr_seconds;
	int	xr_seconds_has;
	int64_t	xr_max_price;
	int	xr_max_price_has;
};

enum { TQ_VMS, TQ_VCPUS, TQ_MEM_MIB, TQ_DISK_MIB, TQ_NET_MBPS, TQ_N };
struct tenant_request {
	char	tr_name[VMREQ_NAME_MAX + 1];
	int	tr_name_has;
	int64_t	tr_balance;
	int	tr_balance_has;
	int64_t	tr_topup;
	int	tr_topup_has;
	int64_t	tr_quota[TQ_N];		/* -1: no limit (JSON null) */
	int	tr_quota_has[TQ_N];
	int	dummy_has;
};

struct host_request {
	int64_t	hr_vcpu_ratio;
	int	hr_vcpu_ratio_has;
	int64_t	hr_mem_ratio;
	int	hr_mem_ratio_has;
	int	hr_draining;
	int	hr_draining_has;
	int64_t	hr_price_vcpu;
	int	hr_price_vcpu_has;
	int64_t	hr_price_gib;
	int	hr_price_gib_has;
};

struct token_request {
	char	tk_role[VMREQ_NAME_MAX + 1];
	int	tk_role_has;
	int64_t	tk_tenant;
	int	tk_tenant_has;
};

extern const struct req_field extreq_fields[], tenantreq_create_fields[],
	    tenantreq_patch_fields[], hostreq_fields[], tokreq_fields[];

struct json_object;
struct json_object *req_parse(const char *, size_t, size_t, char *, size_t);
int	req_fields(struct json_object *, const char *,
	    const struct req_field *, void *, char *, size_t);
int	req_decode(const char *, size_t, const struct req_field *, void *,
	    size_t, char *, size_t);
int	req_int(struct json_object *, const char *, int64_t, int64_t,
	    int64_t *, char *, size_t);
int	req_name(struct json_object *, const char *, char *, size_t, char *,
	    size_t);
int	req_bool(struct json_object *, const char *, int *, char *, size_t);

/*
 * token.c: an API token is "xeno_" and 43 base64url characters (32 random
 * bytes); only its SHA-256 is stored.
 */
#define TOKEN_PREFIX	"xeno_"
#define TOKEN_LEN	(5 + 43)
#define TOKEN_HASH_LEN	32

int	token_new(char *, size_t, uint8_t [TOKEN_HASH_LEN]);
int	token_hash(const char *, size_t, uint8_t [TOKEN_HASH_LEN]);

/* tls.c */
struct ssl_ctx_st;
int	tls_selfsigned(const char *, const char *, const char *, char *,
	    size_t);
struct ssl_ctx_st *tls_ctx(const char *, const char *, char *, size_t);

/* hostnet.c */
int	hn_bridge(const char *, const char *, char *, size_t);
int	hn_tap(const char *, const char *, char *, size_t);

/* db.c */
struct pg_conn;
struct db_migration {
	int		 dm_version;
	const char	*dm_name;
	const char	*dm_sql;
};
extern const struct db_migration db_migrations[];	/* generated from sql/ */
extern const size_t db_nmigrations;

int	pgc_start(const char *, const char *, char *, size_t, char *, size_t);
int	pgc_stop(const char *, const char *, char *, size_t);
struct pg_conn *db_open(const char *, char *, size_t);
int	db_migrate(struct pg_conn *, int *, int *, char *, size_t);

/*
 * The daemon.  One thread runs one libevent loop; every request is handled
 * to the end before the next, so the database connection is used by one
 * request at a time.  Admission still runs in one transaction that locks
 * the host row: the database, not this process, is the arbiter.
 */
struct event_base;
struct evhttp;
struct evhttp_request;
struct event;
struct dom;
TAILQ_HEAD(domlist, dom);

struct ctld_conf {
	const char	*cc_state;	/* state directory */
	const char	*cc_listen;	/* ADDR:PORT */
	const char	*cc_db;		/* conninfo; NULL: embedded cluster */
	const char	*cc_pgbin;
	const char	*cc_cert, *cc_key;
	const char	*cc_images;	/* the catalog */
	const char	*cc_hv;		/* xeno-hv */
	const char	*cc_bridge;	/* NULL: VMs get no network */
	const char	*cc_subnet;	/* A.B.C.D/P, the bridge's address */
	struct adm_res	 cc_cap;	/* host capacity */
	unsigned int	 cc_grace;	/* s from SIGTERM to SIGKILL */
	int		 cc_hvm;	/* this host can run HVM guests */
};

struct ctld {
	struct ctld_conf	 c_conf;
	struct event_base	*c_base;
	struct evhttp		*c_http;
	struct ssl_ctx_st	*c_tls;
	struct pg_conn		*c_db;
	char			 c_conninfo[512];
	int			 c_embedded;
	struct domlist		 c_doms;	/* live domains */
	struct event		*c_poll;	/* while some domain starts */
	uint32_t		 c_net, c_mask;	/* subnet, host order */
	char			 c_run[256];	/* run directory */
	char			 c_uploads[256];
};

extern struct ctld *ctld;

/* main.c */
int64_t	now_real_ms(void);

/* sql.c: parameters are text; a NULL value is SQL NULL */
#define SQL_MAXP	20
struct sqlp {
	const char	*sp_v[SQL_MAXP];
	char		 sp_buf[SQL_MAXP][24];
	int		 sp_n;
};
struct pg_result;
void	sqlp_init(struct sqlp *);
void	sqlp_i64(struct sqlp *, int64_t);
void	sqlp_str(struct sqlp *, const char *);
void	sqlp_null(struct sqlp *);
struct pg_result *sql_q(const char *, const struct sqlp *);
int	sql_exec(const char *, const struct sqlp *);
int	sql_begin(void);
int	sql_commit(void);
void	sql_rollback(void);
int64_t	sql_i64(struct pg_result *, int, int);
const char *sql_str(struct pg_result *, int, int);
int	sql_isnull(struct pg_result *, int, int);
void	sql_free(struct pg_result *);
int	sql_ntuples(struct pg_result *);
const char *sql_error(void);
void	sql_hex(const void *, size_t, char *);
size_t	sql_unhex(const char *, void *, size_t);

/* api.c */
enum role { ROLE_TENANT = 1, ROLE_OPERATOR = 2, ROLE_AUDITOR = 4 };
struct principal {
	int64_t		pr_token;
	enum role	pr_role;
	int64_t		pr_tenant;	/* 0: all tenants (operator, auditor) */
};

struct api_req {
	struct evhttp_request	*ar_req;
	struct principal	 ar_who;
	int64_t			 ar_id[2];	/* ids in the path */
	char			 ar_name[VMREQ_NAME_MAX + 1];	/* a name in it */
	const char		*ar_body;
	size_t			 ar_len;
	const char		*ar_query;
	int			 ar_status;	/* the reply */
	struct json_object	*ar_reply;
	char			 ar_location[96];
	char			*ar_text;	/* a text/plain reply instead */
	size_t			 ar_textlen;
};

int	api_init(void);
void	api_free(void);
int	api_error(struct api_req *, int, const char *, const char *, ...)
	    __attribute__((format(printf, 4, 5)));
int	api_reply(struct api_req *, int, struct json_object *);
int	api_json(struct api_req *, const struct req_field *, void *, size_t);
int	api_scope(struct api_req *, int64_t *, int64_t *);
int	api_qint(struct api_req *, const char *, int64_t, int64_t, int64_t,
	    int64_t *);
void	api_time(struct json_object *, const char *, int64_t);
int	api_bootstrap(void);

/* vm.c */
int	vm_init(void);
void	vm_free(void);
int	vm_create(struct api_req *);
int	vm_list(struct api_req *);
int	vm_get(struct api_req *);
int	vm_destroy(struct api_req *);
int	vm_stop(struct api_req *);
int	vm_extend(struct api_req *);
int	vm_console(struct api_req *);
int	vm_host(struct api_req *);
int	vm_reattach(void);

#endif /* CONTROLD_H */
