/*
 * What the VFR classifier's tests, fuzzer and benchmark share to build
 * rule sets as IR: a seeded generator, 128-bit address conversion, and
 * range lists put in the form vfr_ruleset_check() accepts (sorted,
 * disjoint, not adjacent).  Header-only: each user includes it once.
 */
#ifndef TESTS_VFR_GEN_H
#define TESTS_VFR_GEN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "vfr.h"

typedef unsigned __int128 u128;

/* splitmix64; seed by setting rng_state */
static uint64_t rng_state;

static inline uint64_t
rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint32_t
rnd(uint32_t n)
{
	return n == 0 ? 0 : (uint32_t)(rng() % n);
}

static inline int
chance(unsigned pct)
{
	return rnd(100) < pct;
}

/* calloc that never returns NULL (tests and benchmarks only) */
static inline void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size);

	if (p == NULL) {
		perror("calloc");
		abort();
	}
	return p;
}

static inline u128
a2u(const struct vfr_addr *a)
{
	return (u128)a->a_hi << 64 | a->a_lo;
}

static inline struct vfr_addr
u2a(u128 v)
{
	struct vfr_addr a = { (uint64_t)(v >> 64), (uint64_t)v };

	return a;
}

static inline int
range_cmp(const void *a, const void *b)
{
	const struct vfr_range *x = a, *y = b;

	return x->rg_lo < y->rg_lo ? -1 : x->rg_lo > y->rg_lo;
}

/* Sort and merge n ranges (overlapping or adjacent ones become one);
   the new count. */
static inline uint32_t
range_norm(struct vfr_range *rg, uint32_t n)
{
	uint32_t i, m = 0;

	qsort(rg, n, sizeof(*rg), range_cmp);
	for (i = 0; i < n; i++) {
		if (m > 0 && rg[i].rg_lo <= rg[m - 1].rg_hi + 1) {
			if (rg[i].rg_hi > rg[m - 1].rg_hi)
				rg[m - 1].rg_hi = rg[i].rg_hi;
			continue;
		}
		rg[m++] = rg[i];
	}
	return m;
}

static inline int
arange_cmp(const void *a, const void *b)
{
	u128 x = a2u(&((const struct vfr_arange *)a)->ar_lo);
	u128 y = a2u(&((const struct vfr_arange *)b)->ar_lo);

	return x < y ? -1 : x > y;
}

static inline uint32_t
arange_norm(struct vfr_arange *ar, uint32_t n)
{
	uint32_t i, m = 0;

	qsort(ar, n, sizeof(*ar), arange_cmp);
	for (i = 0; i < n; i++) {
		if (m > 0 && (a2u(&ar[m - 1].ar_hi) == ~(u128)0 ||
		    a2u(&ar[i].ar_lo) <= a2u(&ar[m - 1].ar_hi) + 1)) {
			if (a2u(&ar[i].ar_hi) > a2u(&ar[m - 1].ar_hi))
				ar[m - 1].ar_hi = ar[i].ar_hi;
			continue;
		}
		ar[m++] = ar[i];
	}
	return m;
}

#endif /* TESTS_VFR_GEN_H */
