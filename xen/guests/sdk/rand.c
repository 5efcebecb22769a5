/*
 * Deterministic data patterns from the splitmix64 stream (xeno.h): word k
 * of a pattern depends on the seed and k only, so a block benchmark can
 * regenerate any piece it reads back, in any order.
 */
#include "sdk.h"

void
xeno_rand_pattern(uint64_t seed, uint64_t first, void *buf, size_t len)
{
	uint8_t *p = buf;
	uint64_t state = seed + first * XENO_RAND_GAMMA, w;
	size_t n;

	for (; len > 0; p += n, len -= n) {
		state += XENO_RAND_GAMMA;
		w = xeno_rand_mix(state);
		n = len < sizeof(w) ? len : sizeof(w);
		/* x86 is little-endian: the word's bytes in stream order. */
		memcpy(p, &w, n);
	}
}
