/*
 * xeno-controld: the Domain0 control daemon (issue 6, in progress).
 *
 * Files and what they own (prototypes below are grouped the same way):
 *	admission.c	the admission decision (pure)
 *	request.c	decoding a VM request body, POST /v1/vms (pure)
 */
#ifndef CONTROLD_H
#define CONTROLD_H

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

struct vm_request {
	unsigned int	vr_vcpus;
	uint64_t	vr_mem_mib;
	char		vr_image[VMREQ_NAME_MAX + 1];	/* catalog or upload */
	char		vr_name[VMREQ_NAME_MAX + 1];	/* "" if none */
	uint64_t	vr_seconds;
	int		vr_has_max_price;
	uint64_t	vr_max_price;	/* micro-credits per hour */
	int		vr_network;
	int		vr_dry_run;
	char		vr_args[VMREQ_ARGS_MAX];
	int		vr_has_disk;
	char		vr_disk_base[VMREQ_NAME_MAX + 1];	/* "" if none */
	uint64_t	vr_disk_mib;	/* 0: the base's size */
};

int	vmreq_decode(const char *, size_t, struct vm_request *, char *,
	    size_t);

#endif /* CONTROLD_H */
