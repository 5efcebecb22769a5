/*
 * cpuburn: CPU-bound integer work on every vCPU for a fixed time, counting
 * work units (burn.h).  The bench compares the unit rate with the same
 * kernel run as a host process: the ratio is the cost of running as a PV
 * guest.  Arguments: seconds=S (may be fractional, default 1) or ms=M.
 */
#include <xeno.h>

#include "burn.h"

#define NS_PER_SEC	1000000000ULL
#define NS_PER_MS	1000000ULL

/* One cache line per vCPU, so counting units does not share lines. */
struct burn_vcpu {
	uint64_t	bv_units;
	uint64_t	bv_state;
} __attribute__((aligned(64)));

static struct burn_vcpu	burn_vcpus[XENO_PV_MAX_VCPUS];
static uint64_t		burn_deadline_ns;
static uint32_t		burn_finished;	/* secondary vCPUs done */

static void
burn_run(struct burn_vcpu *bv, uint64_t state)
{
	uint64_t units = 0;

	while (xeno_mono_ns() < burn_deadline_ns) {
		state = burn_unit(state);
		units++;
	}
	bv->bv_units = units;
	bv->bv_state = state;
}

static void
burn_secondary(void *arg)
{
	struct burn_vcpu *bv = arg;

	burn_run(bv, BURN_SEED + (bv - burn_vcpus));
	__atomic_add_fetch(&burn_finished, 1, __ATOMIC_RELEASE);
}

int
main(int argc, char **argv)
{
	uint32_t nr = xeno_bootinfo()->bi_nr_vcpus, v;
	uint64_t duration_ns, t0, ns, total = 0;
	const char *seconds;
	int64_t rc;

	(void)argc;
	(void)argv;
	if (xeno_arg_str("ms") != NULL)
		duration_ns = xeno_arg_u64("ms", 0) * NS_PER_MS;
	else if ((seconds = xeno_arg_str("seconds")) != NULL)
		duration_ns = xeno_arg_ns("seconds", 0);
	else
		duration_ns = NS_PER_SEC;

	t0 = xeno_mono_ns();
	burn_deadline_ns = t0 + duration_ns;
	for (v = 1; v < nr; v++)
		if ((rc = xeno_vcpu_start(v, burn_secondary,
		    &burn_vcpus[v])) < 0)
			xeno_abort("cpuburn: cannot start vcpu %u: error %ld",
			    v, (long)rc);
	burn_run(&burn_vcpus[0], BURN_SEED);
	while (__atomic_load_n(&burn_finished, __ATOMIC_ACQUIRE) != nr - 1)
		xeno_pause();
	ns = xeno_mono_ns() - t0;

	for (v = 0; v < nr; v++) {
		xeno_printf("cpuburn: vcpu=%u units=%lu\n", v,
		    burn_vcpus[v].bv_units);
		total += burn_vcpus[v].bv_units;
	}
	xeno_printf("cpuburn: vcpus=%u units=%lu ns=%lu rate=%lu\n", nr, total,
	    ns, ns > 0 ? (uint64_t)((__uint128_t)total * NS_PER_SEC / ns) : 0);
	return 0;
}
