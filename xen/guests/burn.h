/*
 * The cpuburn work kernel.  The cpuburn guest and the host-side benchmark
 * both compile this header with the same flags, so comparing their unit
 * rates compares the machine, not the compiler.  It must therefore stay
 * pure integer arithmetic with no SDK or libc dependency.
 *
 * One unit is BURN_UNIT_ITERS rounds of a 64-bit LCG feeding a
 * rotate-xor mixer: about 20 µs on a 3 GHz core.  Every round depends on
 * the previous one (multiply-add latency bound), so the compiler can
 * neither vectorise it nor skip ahead, and the state goes back to the
 * caller so the work cannot be discarded.
 */
#ifndef XENO_BURN_H
#define XENO_BURN_H

#include <stdint.h>

#define BURN_UNIT_ITERS	16384
#define BURN_SEED	0x853c49e6748fea9bULL

static inline uint64_t
burn_unit(uint64_t state)
{
	uint64_t lcg = state, mix = state ^ 0x9e3779b97f4a7c15ULL;
	uint32_t i;

	for (i = 0; i < BURN_UNIT_ITERS; i++) {
		lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
		mix ^= lcg >> 29;
		mix = (mix << 7 | mix >> 57) + lcg;
	}
	return lcg ^ mix;
}

#endif /* XENO_BURN_H */
