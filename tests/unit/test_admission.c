/*
 * controld/admission.c: table-driven.  A host of 8 vCPUs (overcommit 2x),
 * 16 GiB (none), 100 GiB of disk and 1 Gbit/s, half of it in use; a
 * tenant with quotas and a balance.  Each row changes one thing and says
 * which limit is hit, with the requested and available amounts, at and
 * one past every boundary; then the cost rounding, overflow, extensions
 * and the order of the checks.
 */
#include <string.h>

#include "t.h"
#include "controld.h"

#define GIB	(1ULL << 30)
#define MIB	(1ULL << 20)
#define CREDIT	1000000LL

static struct adm_host host;
static struct adm_tenant tenant;
static struct adm_request req;

static void
base(void)
{
	memset(&host, 0, sizeof(host));
	host.ah_cap.ar_vcpus = 8;
	host.ah_cap.ar_mem = 16 * GIB;
	host.ah_cap.ar_disk = 100 * GIB;
	host.ah_cap.ar_net = 1000000000;
	host.ah_used.ar_vcpus = 10;		/* of 16 with 2x overcommit */
	host.ah_used.ar_mem = 8 * GIB;
	host.ah_used.ar_disk = 50 * GIB;
	host.ah_used.ar_net = 500000000;
	host.ah_vcpu_ratio = 2 * ADM_RATIO_ONE;
	host.ah_mem_ratio = ADM_RATIO_ONE;
	memset(&tenant, 0, sizeof(tenant));
	tenant.at_quota.ar_vms = 5;
	tenant.at_quota.ar_vcpus = 8;
	tenant.at_quota.ar_mem = 8 * GIB;
	tenant.at_quota.ar_disk = ADM_UNLIMITED;
	tenant.at_quota.ar_net = ADM_UNLIMITED;
	tenant.at_used.ar_vms = 2;
	tenant.at_used.ar_vcpus = 4;
	tenant.at_used.ar_mem = 4 * GIB;
	tenant.at_balance = 10 * CREDIT;
	tenant.at_committed = 4 * CREDIT;
	memset(&req, 0, sizeof(req));
	req.ar_want.ar_vcpus = 2;
	req.ar_want.ar_mem = 512 * MIB;
	req.ar_want.ar_disk = GIB;
	req.ar_seconds = 3600;
	req.ar_price = CREDIT;			/* 1 credit an hour */
}

enum { F_NONE, F_VCPUS, F_MEM, F_DISK, F_NET, F_SECONDS, F_PRICE, F_MAXP,
    F_USED_VMS, F_DRAIN, F_COMMITTED, F_EXTEND_VCPUS0 };

static const struct row {
	const char	*what;
	int		 field;
	uint64_t	 value;
	enum adm_reason	 want;
	uint64_t	 requested, available;
} rows[] = {
	{ "the base request fits", F_NONE, 0, ADM_OK, 0, 0 },
	{ "vCPU quota: exactly the 4 left", F_VCPUS, 4, ADM_OK, 0, 0 },
	{ "vCPU quota: one past", F_VCPUS, 5, ADM_QUOTA_VCPUS, 5, 4 },
	{ "memory quota: exactly 4 GiB left", F_MEM, 4 * GIB, ADM_OK, 0, 0 },
	{ "memory quota: a byte past", F_MEM, 4 * GIB + 1, ADM_QUOTA_MEMORY,
	    4 * GIB + 1, 4 * GIB },
	{ "VM quota: the fifth VM fits", F_USED_VMS, 4, ADM_OK, 0, 0 },
	{ "VM quota: no sixth", F_USED_VMS, 5, ADM_QUOTA_VMS, 1, 0 },
	{ "disk: exactly the 50 GiB left", F_DISK, 50 * GIB, ADM_OK, 0, 0 },
	{ "disk: a byte past", F_DISK, 50 * GIB + 1, ADM_DISK, 50 * GIB + 1,
	    50 * GIB },
	{ "network: exactly the 500 Mbit/s left", F_NET, 500000000, ADM_OK,
	    0, 0 },
	{ "network: one bit/s past", F_NET, 500000001, ADM_NETWORK,
	    500000001, 500000000 },
	{ "duration 0", F_SECONDS, 0, ADM_INVALID, 0, 0 },
	{ "duration past a year", F_SECONDS, ADM_MAX_SECONDS + 1, ADM_INVALID,
	    0, 0 },
	{ "vCPUs 0", F_VCPUS, 0, ADM_INVALID, 0, 0 },
	{ "vCPUs 65", F_VCPUS, 65, ADM_INVALID, 0, 0 },
	{ "memory 0", F_MEM, 0, ADM_INVALID, 0, 0 },
	{ "max_price at the quote", F_MAXP, CREDIT, ADM_OK, 0, 0 },
	{ "max_price below the quote", F_MAXP, CREDIT - 1, ADM_MAX_PRICE,
	    CREDIT, CREDIT - 1 },
	{ "budget: 6 credits free, 6 hours at 1/h", F_SECONDS, 6 * 3600,
	    ADM_OK, 0, 0 },
	{ "budget: a second more", F_SECONDS, 6 * 3600 + 1, ADM_BUDGET,
	    6 * CREDIT + 278, 6 * CREDIT },
	{ "budget: all committed", F_COMMITTED, 10 * CREDIT, ADM_BUDGET,
	    CREDIT, 0 },
	{ "budget: over-committed counts as nothing free", F_COMMITTED,
	    12 * CREDIT, ADM_BUDGET, CREDIT, 0 },
	{ "free VM at any budget", F_PRICE, 0, ADM_OK, 0, 0 },
	{ "draining", F_DRAIN, 1, ADM_DRAINING, 0, 0 },
};

static void
apply(int field, uint64_t v)
{
	switch (field) {
	case F_VCPUS: req.ar_want.ar_vcpus = v; break;
	case F_MEM: req.ar_want.ar_mem = v; break;
	case F_DISK: req.ar_want.ar_disk = v; break;
	case F_NET: req.ar_want.ar_net = v; break;
	case F_SECONDS: req.ar_seconds = v; break;
	case F_PRICE: req.ar_price = v; break;
	case F_MAXP: req.ar_max_price = v; break;
	case F_USED_VMS: tenant.at_used.ar_vms = v; break;
	case F_DRAIN: host.ah_draining = (int)v; break;
	case F_COMMITTED: tenant.at_committed = (int64_t)v; break;
	}
}

static void
test_table(void)
{
	struct adm_decision d;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		enum adm_reason got;

		base();
		apply(r->field, r->value);
		got = adm_decide(&host, &tenant, &req, &d);
		if (got != r->want)
			fprintf(stderr, "row '%s': got %s, want %s\n", r->what,
			    adm_reason_name(got), adm_reason_name(r->want));
		CHECK(got == r->want);
		CHECK(d.ad_reason == got);
		if (r->want != ADM_OK && r->want != ADM_INVALID &&
		    r->want != ADM_DRAINING) {
			CHECK_EQ(d.ad_requested, r->requested);
			CHECK_EQ(d.ad_available, r->available);
		}
		if (r->want == ADM_INVALID)
			CHECK(d.ad_detail != NULL);
	}
}

static void
test_capacity(void)
{
	struct adm_decision d;

	/* host vCPUs: 16 with 2x, 10 used; quota out of the way */
	base();
	tenant.at_quota.ar_vcpus = ADM_UNLIMITED;
	req.ar_want.ar_vcpus = 6;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_OK);
	req.ar_want.ar_vcpus = 7;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_VCPUS);
	CHECK_EQ(d.ad_requested, 7);
	CHECK_EQ(d.ad_available, 6);
	/* 1.5x: 12, 2 left */
	host.ah_vcpu_ratio = 1500;
	req.ar_want.ar_vcpus = 3;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_VCPUS);
	CHECK_EQ(d.ad_available, 2);
	/* ratio 0 is read as none: 8, all taken */
	host.ah_vcpu_ratio = 0;
	req.ar_want.ar_vcpus = 1;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_VCPUS);
	CHECK_EQ(d.ad_available, 0);

	/* host memory, no overcommit by default: 8 GiB left */
	base();
	tenant.at_quota.ar_mem = ADM_UNLIMITED;
	req.ar_want.ar_mem = 8 * GIB;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_OK);
	req.ar_want.ar_mem = 8 * GIB + 1;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_MEMORY);
	CHECK_EQ(d.ad_available, 8 * GIB);
	/* a huge overcommit ratio saturates, never wraps */
	host.ah_mem_ratio = UINT32_MAX;
	host.ah_cap.ar_mem = UINT64_MAX / 2;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_OK);

	/* used beyond capacity (capacity lowered): nothing left, no wrap */
	base();
	host.ah_cap.ar_disk = 10 * GIB;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_DISK);
	CHECK_EQ(d.ad_available, 0);

	/* a host without bandwidth to reserve refuses any reservation */
	base();
	host.ah_cap.ar_net = 0;
	host.ah_used.ar_net = 0;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_OK);
	req.ar_want.ar_net = 1;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_NETWORK);
}

static void
test_order(void)
{
	struct adm_decision d;

	/* over quota and over the host: the quota is named */
	base();
	req.ar_want.ar_vcpus = 20;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_QUOTA_VCPUS);
	/* over the host and over budget: the host is named */
	base();
	tenant.at_quota.ar_disk = ADM_UNLIMITED;
	req.ar_want.ar_disk = 60 * GIB;
	req.ar_seconds = 100 * 3600;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_DISK);
	/* draining beats everything but an invalid request */
	host.ah_draining = 1;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_DRAINING);
	req.ar_seconds = 0;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_INVALID);
	/* max_price before quotas */
	base();
	req.ar_want.ar_vcpus = 20;
	req.ar_max_price = 1;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_MAX_PRICE);
}

static void
test_extend(void)
{
	struct adm_decision d;

	/* an extension holds its resources: quotas and capacity are full */
	base();
	tenant.at_used.ar_vms = 5;
	tenant.at_used.ar_vcpus = 8;
	host.ah_used.ar_vcpus = 16;
	req.ar_extend = 1;
	req.ar_want.ar_vcpus = 0;
	req.ar_want.ar_mem = 0;
	req.ar_seconds = 2 * 3600;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_OK);
	CHECK_EQ(d.ad_cost, 2 * CREDIT);
	/* but pays for the time and meets max_price and draining */
	req.ar_seconds = 7 * 3600;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_BUDGET);
	CHECK_EQ(d.ad_requested, 7 * CREDIT);
	CHECK_EQ(d.ad_available, 6 * CREDIT);
	req.ar_seconds = 3600;
	req.ar_max_price = CREDIT / 2;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_MAX_PRICE);
	req.ar_max_price = 0;
	host.ah_draining = 1;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_DRAINING);
}

static void
test_cost(void)
{
	struct adm_decision d;
	uint64_t c;

	CHECK(adm_cost(3600, 1, &c) == 0 && c == 1);
	CHECK(adm_cost(3601, 1, &c) == 0 && c == 2);	/* rounded up */
	CHECK(adm_cost(1, 1, &c) == 0 && c == 1);
	CHECK(adm_cost(0, ADM_MAX_SECONDS, &c) == 0 && c == 0);
	CHECK(adm_cost(1000000, 3600, &c) == 0 && c == 1000000);
	CHECK(adm_cost(UINT64_MAX, 3600, &c) == -1);	/* past INT64_MAX */
	CHECK(adm_cost((uint64_t)INT64_MAX, 3600, &c) == 0 &&
	    c == (uint64_t)INT64_MAX);
	CHECK(adm_cost((uint64_t)INT64_MAX, 3601, &c) == -1);
	/* an overflowing cost is a refusal on budget, not a wrap */
	base();
	req.ar_price = UINT64_MAX;
	req.ar_seconds = ADM_MAX_SECONDS;
	tenant.at_balance = INT64_MAX;
	tenant.at_committed = 0;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_BUDGET);
	CHECK_EQ(d.ad_requested, UINT64_MAX);
	/* a balance in debt, or at INT64_MIN, leaves nothing free */
	base();
	tenant.at_balance = INT64_MIN;
	CHECK(adm_decide(&host, &tenant, &req, &d) == ADM_BUDGET);
	CHECK_EQ(d.ad_available, 0);
	/* names */
	CHECK(strcmp(adm_reason_name(ADM_MEMORY), "memory") == 0);
	CHECK(strcmp(adm_reason_name(ADM_NREASONS), "unknown") == 0);
}

int
main(void)
{
	test_table();
	test_capacity();
	test_order();
	test_extend();
	test_cost();
	return t_done("test_admission");
}
