/*
 * Range lists of the VFR rule language: small values (ports, protocols,
 * ICMP types, ethertypes) and 128-bit addresses.  Normalised lists are
 * what the IR wants: sorted, disjoint, not adjacent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lang.h"

static int
grow(void **v, uint32_t *cap, uint32_t n, size_t size)
{
	uint32_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	if (*cap > UINT32_MAX / 2) {
		errno = ENOMEM;
		return -1;
	}
	ncap = *cap == 0 ? 8 : *cap * 2;
	if ((p = reallocarray(*v, ncap, size)) == NULL)
		return -1;
	*v = p;
	*cap = ncap;
	return 0;
}

int
rl_add(struct rlist *rl, uint32_t lo, uint32_t hi)
{
	if (grow((void **)&rl->rl_v, &rl->rl_cap, rl->rl_n,
	    sizeof(*rl->rl_v)) == -1)
		return -1;
	rl->rl_v[rl->rl_n].rg_lo = lo;
	rl->rl_v[rl->rl_n].rg_hi = hi;
	rl->rl_n++;
	return 0;
}

int
rl_append(struct rlist *rl, const struct rlist *src)
{
	uint32_t i;

	for (i = 0; i < src->rl_n; i++)
		if (rl_add(rl, src->rl_v[i].rg_lo, src->rl_v[i].rg_hi) == -1)
			return -1;
	return 0;
}

static int
rg_cmp(const void *a, const void *b)
{
	const struct vfr_range *x = a, *y = b;

	if (x->rg_lo != y->rg_lo)
		return x->rg_lo < y->rg_lo ? -1 : 1;
	if (x->rg_hi != y->rg_hi)
		return x->rg_hi < y->rg_hi ? -1 : 1;
	return 0;
}

void
rl_norm(struct rlist *rl)
{
	uint32_t i, o;

	if (rl->rl_n == 0)
		return;
	qsort(rl->rl_v, rl->rl_n, sizeof(*rl->rl_v), rg_cmp);
	for (i = 1, o = 0; i < rl->rl_n; i++) {
		/* values are below 2^17, so hi + 1 cannot wrap */
		if (rl->rl_v[i].rg_lo <= rl->rl_v[o].rg_hi + 1) {
			if (rl->rl_v[i].rg_hi > rl->rl_v[o].rg_hi)
				rl->rl_v[o].rg_hi = rl->rl_v[i].rg_hi;
		} else
			rl->rl_v[++o] = rl->rl_v[i];
	}
	rl->rl_n = o + 1;
}

/* A normalised list becomes its complement in [0, max]. */
int
rl_complement(struct rlist *rl, uint32_t max)
{
	struct rlist out = { NULL, 0, 0 };
	uint32_t i, next = 0;

	for (i = 0; i < rl->rl_n; i++) {
		if (rl->rl_v[i].rg_lo > next &&
		    rl_add(&out, next, rl->rl_v[i].rg_lo - 1) == -1)
			goto fail;
		next = rl->rl_v[i].rg_hi + 1;
	}
	if (next <= max && rl_add(&out, next, max) == -1)
		goto fail;
	rl_free(rl);
	*rl = out;
	return 0;
fail:
	rl_free(&out);
	return -1;
}

void
rl_free(struct rlist *rl)
{
	free(rl->rl_v);
	memset(rl, 0, sizeof(*rl));
}

/* Is every value of normalised list a in normalised list b? */
int
rl_subset(const struct vfr_range *a, uint32_t na, const struct vfr_range *b,
    uint32_t nb)
{
	uint32_t i, j = 0;

	for (i = 0; i < na; i++) {
		while (j < nb && b[j].rg_hi < a[i].rg_lo)
			j++;
		if (j == nb || b[j].rg_lo > a[i].rg_lo ||
		    b[j].rg_hi < a[i].rg_hi)
			return 0;
	}
	return 1;
}

int
al_add(struct alist *al, u128 lo, u128 hi)
{
	if (grow((void **)&al->al_v, &al->al_cap, al->al_n,
	    sizeof(*al->al_v)) == -1)
		return -1;
	al->al_v[al->al_n].ar_lo = u128_addr(lo);
	al->al_v[al->al_n].ar_hi = u128_addr(hi);
	al->al_n++;
	return 0;
}

int
al_append(struct alist *al, const struct alist *src)
{
	uint32_t i;

	for (i = 0; i < src->al_n; i++)
		if (al_add(al, addr_u128(&src->al_v[i].ar_lo),
		    addr_u128(&src->al_v[i].ar_hi)) == -1)
			return -1;
	return 0;
}

static int
ar_cmp(const void *a, const void *b)
{
	const struct vfr_arange *x = a, *y = b;
	u128 xl = addr_u128(&x->ar_lo), yl = addr_u128(&y->ar_lo);
	u128 xh = addr_u128(&x->ar_hi), yh = addr_u128(&y->ar_hi);

	if (xl != yl)
		return xl < yl ? -1 : 1;
	if (xh != yh)
		return xh < yh ? -1 : 1;
	return 0;
}

void
al_norm(struct alist *al)
{
	uint32_t i, o;
	u128 ohi;

	if (al->al_n == 0)
		return;
	qsort(al->al_v, al->al_n, sizeof(*al->al_v), ar_cmp);
	for (i = 1, o = 0; i < al->al_n; i++) {
		ohi = addr_u128(&al->al_v[o].ar_hi);
		if (ohi == U128_MAX ||
		    addr_u128(&al->al_v[i].ar_lo) <= ohi + 1) {
			if (addr_u128(&al->al_v[i].ar_hi) > ohi)
				al->al_v[o].ar_hi = al->al_v[i].ar_hi;
		} else
			al->al_v[++o] = al->al_v[i];
	}
	al->al_n = o + 1;
}

/* A normalised list becomes its complement in [lo, hi]. */
int
al_complement(struct alist *al, u128 lo, u128 hi)
{
	struct alist out = { NULL, 0, 0 };
	u128 next = lo, rlo, rhi;
	uint32_t i;
	int done = 0;

	for (i = 0; i < al->al_n && !done; i++) {
		rlo = addr_u128(&al->al_v[i].ar_lo);
		rhi = addr_u128(&al->al_v[i].ar_hi);
		if (rhi < next)
			continue;
		if (rlo > hi)
			break;
		if (rlo > next && al_add(&out, next, rlo - 1) == -1)
			goto fail;
		if (rhi >= hi)
			done = 1;
		else
			next = rhi + 1;
	}
	if (!done && al_add(&out, next, hi) == -1)
		goto fail;
	al_free(al);
	*al = out;
	return 0;
fail:
	al_free(&out);
	return -1;
}

/* Keep only what lies in [lo, hi]. */
void
al_clip(struct alist *al, u128 lo, u128 hi)
{
	uint32_t i, o = 0;
	u128 rlo, rhi;

	for (i = 0; i < al->al_n; i++) {
		rlo = addr_u128(&al->al_v[i].ar_lo);
		rhi = addr_u128(&al->al_v[i].ar_hi);
		if (rhi < lo || rlo > hi)
			continue;
		al->al_v[o].ar_lo = u128_addr(rlo < lo ? lo : rlo);
		al->al_v[o].ar_hi = u128_addr(rhi > hi ? hi : rhi);
		o++;
	}
	al->al_n = o;
}

void
al_free(struct alist *al)
{
	free(al->al_v);
	memset(al, 0, sizeof(*al));
}

int
al_subset(const struct vfr_arange *a, uint32_t na, const struct vfr_arange *b,
    uint32_t nb)
{
	uint32_t i, j = 0;

	for (i = 0; i < na; i++) {
		while (j < nb && addr_u128(&b[j].ar_hi) <
		    addr_u128(&a[i].ar_lo))
			j++;
		if (j == nb ||
		    addr_u128(&b[j].ar_lo) > addr_u128(&a[i].ar_lo) ||
		    addr_u128(&b[j].ar_hi) < addr_u128(&a[i].ar_hi))
			return 0;
	}
	return 1;
}

int
al_prefixlen(u128 lo, u128 hi)
{
	u128 size_m1 = hi - lo;
	int len;

	if (hi < lo)
		return -1;
	/* size_m1 + 1 must be a power of two and lo aligned to it */
	if ((size_m1 & (size_m1 + 1)) != 0 || (lo & size_m1) != 0)
		return -1;
	for (len = 128; size_m1 != 0; len--)
		size_m1 >>= 1;
	return len;
}
