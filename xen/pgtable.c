/*
 * Identity page tables for PV guests (4-level, 4 KiB and 2 MiB pages).
 *
 * Permissions live in the leaf entries only; upper levels are present,
 * writable and user so they never narrow what a leaf grants.  Accessed and
 * dirty bits are preset so the CPU never has to write the tables, which
 * live in supervisor-only pages the guest cannot touch.  Pure: works on a
 * memory buffer, so unit tests check every mapping with pt_lookup().
 */
#include <errno.h>
#include <string.h>

#include "xen.h"

#define PT_ENTRIES	512
#define PT_UPPER	(PT_P | PT_W | PT_U | PT_A)
#define PT_2M		(2ULL << 20)
#define PT_4K		4096ULL

static uint64_t *
pt_table(const struct pt_builder *pb, uint64_t gpa)
{
	return (uint64_t *)(void *)(pb->pb_mem + gpa);
}

static int
pt_alloc(struct pt_builder *pb, uint64_t *gpa)
{
	if (pb->pb_pool_next + PT_4K > pb->pb_pool_end) {
		errno = ENOSPC;
		return -1;
	}
	*gpa = pb->pb_pool_next;
	pb->pb_pool_next += PT_4K;
	pb->pb_pages++;
	memset(pb->pb_mem + *gpa, 0, PT_4K);
	return 0;
}

/*
 * Tables come from guest pages [pool_lo, pool_hi); the caller keeps that
 * range out of every mapping it makes.
 */
int
pt_init(struct pt_builder *pb, uint8_t *mem, uint64_t mem_size,
    uint64_t pool_lo, uint64_t pool_hi)
{
	memset(pb, 0, sizeof(*pb));
	if (pool_lo % PT_4K != 0 || pool_hi % PT_4K != 0 ||
	    pool_lo >= pool_hi || pool_hi > mem_size) {
		errno = EINVAL;
		return -1;
	}
	pb->pb_mem = mem;
	pb->pb_mem_size = mem_size;
	pb->pb_pool_next = pool_lo;
	pb->pb_pool_end = pool_hi;
	return pt_alloc(pb, &pb->pb_root);
}

/* The next-level table behind entry *e, made if absent. */
static int
pt_next(struct pt_builder *pb, uint64_t *e, uint64_t *gpa)
{
	if (*e & PT_P) {
		if (*e & PT_PS) {
			errno = EEXIST;
			return -1;
		}
		*gpa = *e & PT_ADDR;
		return 0;
	}
	if (pt_alloc(pb, gpa) == -1)
		return -1;
	*e = *gpa | PT_UPPER;
	return 0;
}

/*
 * Map [gpa, gpa+len) to itself with leaf flags `flags` (PT_W, PT_U, PT_NX;
 * present, accessed and dirty are added).  Both ends must be page aligned
 * and inside guest memory; a page that is already mapped is EEXIST.
 */
int
pt_map(struct pt_builder *pb, uint64_t gpa, uint64_t len, uint64_t flags)
{
	uint64_t end, leaf = (flags & (PT_W | PT_U | PT_NX)) | PT_P | PT_A |
	    PT_D;

	if (gpa % PT_4K != 0 || len % PT_4K != 0 ||
	    __builtin_add_overflow(gpa, len, &end) || end > pb->pb_mem_size) {
		errno = EINVAL;
		return -1;
	}
	while (gpa < end) {
		uint64_t *pml4, *pdpt, *pd, *pt, t;
		unsigned int i4 = (gpa >> 39) & 511, i3 = (gpa >> 30) & 511;
		unsigned int i2 = (gpa >> 21) & 511, i1 = (gpa >> 12) & 511;

		pml4 = pt_table(pb, pb->pb_root);
		if (pt_next(pb, &pml4[i4], &t) == -1)
			return -1;
		pdpt = pt_table(pb, t);
		if (pt_next(pb, &pdpt[i3], &t) == -1)
			return -1;
		pd = pt_table(pb, t);
		if (gpa % PT_2M == 0 && end - gpa >= PT_2M &&
		    !(pd[i2] & PT_P)) {
			pd[i2] = gpa | leaf | PT_PS;
			gpa += PT_2M;
			continue;
		}
		if (pt_next(pb, &pd[i2], &t) == -1)
			return -1;
		pt = pt_table(pb, t);
		if (pt[i1] & PT_P) {
			errno = EEXIST;
			return -1;
		}
		pt[i1] = gpa | leaf;
		gpa += PT_4K;
	}
	return 0;
}

/*
 * Walk the tables for virtual address va: 0 and the leaf entry in *entry,
 * or -1 (ENOENT) if it is not mapped.
 */
int
pt_lookup(const struct pt_builder *pb, uint64_t va, uint64_t *entry)
{
	uint64_t e, t = pb->pb_root;
	int shift;

	for (shift = 39; shift >= 12; shift -= 9) {
		e = pt_table(pb, t)[(va >> shift) & 511];
		if (!(e & PT_P))
			break;
		if (shift == 12 || (shift == 21 && (e & PT_PS))) {
			*entry = e;
			return 0;
		}
		t = e & PT_ADDR;
		if (t + PT_4K > pb->pb_mem_size)
			break;
	}
	errno = ENOENT;
	return -1;
}
