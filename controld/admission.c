/*
 * Admission control (docs/ADMISSION.md): one pure decision per request,
 * so that every refusal names the one limit it hit, with what was asked
 * and what was left.  The checks run in a fixed order, the request's own
 * validity first and money last:
 *
 *	invalid -> draining -> max_price -> tenant quotas (VMs, vCPUs,
 *	memory, disk, network) -> host capacity (vCPUs, memory, disk,
 *	network) -> budget
 *
 * so a tenant over its own quota hears that before it hears about the
 * host, and nobody is told about money for a VM that could not run.  An
 * extension (more time for a running VM) holds its resources already: it
 * meets only draining, max_price and the budget.
 *
 * All arithmetic is on integers, checked for overflow: an overflowing
 * product saturates (capacity) or refuses (cost), never wraps.
 */
#include <errno.h>
#include <stddef.h>

#include "controld.h"

static const char *const adm_names[ADM_NREASONS] = {
	[ADM_OK] = "ok",
	[ADM_INVALID] = "invalid",
	[ADM_DRAINING] = "host_draining",
	[ADM_MAX_PRICE] = "max_price",
	[ADM_QUOTA_VMS] = "quota_vms",
	[ADM_QUOTA_VCPUS] = "quota_vcpus",
	[ADM_QUOTA_MEMORY] = "quota_memory",
	[ADM_QUOTA_DISK] = "quota_disk",
	[ADM_QUOTA_NETWORK] = "quota_network",
	[ADM_VCPUS] = "vcpus",
	[ADM_MEMORY] = "memory",
	[ADM_DISK] = "disk",
	[ADM_NETWORK] = "network",
	[ADM_BUDGET] = "budget",
};

const char *
adm_reason_name(enum adm_reason r)
{
	return (unsigned int)r < ADM_NREASONS ? adm_names[r] : "unknown";
}

/*
 * The cost of `seconds` at `price` micro-credits per hour, rounded up to
 * the next micro-credit: 0, or -1 with errno ERANGE if it overflows.
 */
int
adm_cost(uint64_t price, uint64_t seconds, uint64_t *cost)
{
	unsigned __int128 p = (unsigned __int128)price * seconds;

	p = (p + 3599) / 3600;
	if (p > INT64_MAX) {
		errno = ERANGE;
		return -1;
	}
	*cost = (uint64_t)p;
	return 0;
}

/* a - b, or 0 if b is larger */
static uint64_t
left(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* cap scaled by an overcommit ratio in 1/1000, saturating */
static uint64_t
scaled(uint64_t cap, uint32_t ratio)
{
	unsigned __int128 v;

	if (ratio == 0)
		ratio = ADM_RATIO_ONE;
	v = (unsigned __int128)cap * ratio / ADM_RATIO_ONE;
	return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

static enum adm_reason
refuse(struct adm_decision *d, enum adm_reason r, uint64_t requested,
    uint64_t available)
{
	d->ad_reason = r;
	d->ad_requested = requested;
	d->ad_available = available;
	return r;
}

static enum adm_reason
invalid(struct adm_decision *d, const char *what)
{
	d->ad_detail = what;
	return refuse(d, ADM_INVALID, 0, 0);
}

/* want more of a limit than is left of it: refuse with `r` */
#define ADM_LIMIT(r, want, limit, used)					\
	do {								\
		if ((want) > left((limit), (used)))			\
			return refuse(d, (r), (want),			\
			    left((limit), (used)));			\
	} while (0)

enum adm_reason
adm_decide(const struct adm_host *h, const struct adm_tenant *t,
    const struct adm_request *r, struct adm_decision *d)
{
	const struct adm_res *w = &r->ar_want;
	int64_t free_money;

	d->ad_reason = ADM_OK;
	d->ad_requested = d->ad_available = d->ad_cost = 0;
	d->ad_detail = NULL;

	if (r->ar_seconds == 0 || r->ar_seconds > ADM_MAX_SECONDS)
		return invalid(d, "duration must be 1 second to 366 days");
	if (!r->ar_extend) {
		if (w->ar_vcpus == 0 || w->ar_vcpus > ADM_MAX_VCPUS)
			return invalid(d, "vcpus must be 1 to 64");
		if (w->ar_mem == 0)
			return invalid(d, "memory must be more than 0");
	}
	if (h->ah_draining)
		return refuse(d, ADM_DRAINING, 0, 0);
	if (r->ar_max_price != 0 && r->ar_price > r->ar_max_price)
		return refuse(d, ADM_MAX_PRICE, r->ar_price, r->ar_max_price);

	if (!r->ar_extend) {
		ADM_LIMIT(ADM_QUOTA_VMS, 1, t->at_quota.ar_vms,
		    t->at_used.ar_vms);
		ADM_LIMIT(ADM_QUOTA_VCPUS, w->ar_vcpus, t->at_quota.ar_vcpus,
		    t->at_used.ar_vcpus);
		ADM_LIMIT(ADM_QUOTA_MEMORY, w->ar_mem, t->at_quota.ar_mem,
		    t->at_used.ar_mem);
		ADM_LIMIT(ADM_QUOTA_DISK, w->ar_disk, t->at_quota.ar_disk,
		    t->at_used.ar_disk);
		ADM_LIMIT(ADM_QUOTA_NETWORK, w->ar_net, t->at_quota.ar_net,
		    t->at_used.ar_net);

		ADM_LIMIT(ADM_VCPUS, w->ar_vcpus, scaled(h->ah_cap.ar_vcpus,
		    h->ah_vcpu_ratio), h->ah_used.ar_vcpus);
		ADM_LIMIT(ADM_MEMORY, w->ar_mem, scaled(h->ah_cap.ar_mem,
		    h->ah_mem_ratio), h->ah_used.ar_mem);
		ADM_LIMIT(ADM_DISK, w->ar_disk, h->ah_cap.ar_disk,
		    h->ah_used.ar_disk);
		ADM_LIMIT(ADM_NETWORK, w->ar_net, h->ah_cap.ar_net,
		    h->ah_used.ar_net);
	}

	if (adm_cost(r->ar_price, r->ar_seconds, &d->ad_cost) == -1)
		return refuse(d, ADM_BUDGET, UINT64_MAX, 0);
	if (__builtin_sub_overflow(t->at_balance, t->at_committed > 0 ?
	    t->at_committed : 0, &free_money) || free_money < 0)
		free_money = 0;
	if (d->ad_cost > (uint64_t)free_money)
		return refuse(d, ADM_BUDGET, d->ad_cost, (uint64_t)free_money);
	return ADM_OK;
}
