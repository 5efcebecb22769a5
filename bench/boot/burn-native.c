/*
 * The cpuburn work loop as a plain host process: the "native" side of the
 * CPU-overhead comparison.  Same kernel (burn.h), same compiler flags, and
 * like the guest it checks the clock once per unit.
 *
 *	burn-native SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "burn.h"

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	double sec = argc > 1 ? atof(argv[1]) : 1.0;
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(sec * 1e9), t;
	uint64_t state = BURN_SEED, units = 0;

	while ((t = now_ns()) < end) {
		state = burn_unit(state);
		units++;
	}
	printf("burn-native: units=%llu ns=%llu rate=%llu state=%llx\n",
	    (unsigned long long)units, (unsigned long long)(t - t0),
	    (unsigned long long)(units * 1000000000ULL / (t - t0)),
	    (unsigned long long)state);
	return 0;
}
