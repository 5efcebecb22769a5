/*
 * libFuzzer driver: the identity page-table builder (pt_map, pt_lookup).
 *
 * Input: one byte for the size of the page-table pool (1..16 pages, so
 * running out is common), then up to FUZZ_MAX_REQS requests of 6 bytes
 * each against 16 MiB of guest memory:
 *
 *	u16 gpa	bit 15 set: 2 MiB units, 0..16 MiB; clear: pages, modulo
 *			FUZZ_PAGES + 512 (so some lie past the end)
 *	u16 len	bit 15 set: 2 MiB units, 0..16 MiB; bit 14 set: pages,
 *			0..16 MiB; else 0..63 pages (small maps are cheap, so
 *			they are the common case)
 *	u8 flags	bit 0 PT_W, 1 PT_U, 2 PT_NX; bits 3-7 add bits pt_map
 *			must ignore (P, PS, A, D, an address bit)
 *	u8 mode	bit 0: gpa not page aligned; bit 1: len not page aligned;
 *			bits 6-7 both set: gpa near 2^64 (wraps)
 *
 * A shadow array holds, for every 4 KiB page, the leaf flags of the
 * request that mapped it (0: unmapped).  pt_map works upwards one page or
 * one 2 MiB page at a time and stops at the first failure, so a failed
 * request may have mapped a prefix of its range; the driver accepts
 * exactly that: a prefix of previously unmapped pages, then a page that
 * explains the error (EEXIST: already mapped; ENOSPC: still unmapped).
 * EINVAL is expected exactly for unaligned, wrapping or out-of-memory
 * ranges, and then nothing changes.  At the end every page, and a few
 * past the end of memory, must look up as the shadow says, identity
 * mapped, with 2 MiB leaves only where 512 pages share one request.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "xen.h"

#define FUZZ_MEM	(16ULL << 20)
#define FUZZ_PAGE	4096ULL
#define FUZZ_PAGES	(FUZZ_MEM / FUZZ_PAGE)
#define FUZZ_2M		(2ULL << 20)
#define FUZZ_POOL_GPA	0x50000ULL
#define FUZZ_MAX_REQS	64
#define FUZZ_REQ_SIZE	6
#define FUZZ_LEAF	(PT_P | PT_W | PT_U | PT_A | PT_D | PT_NX)

static uint8_t *fuzz_mem;
/* Leaf flags (FUZZ_LEAF bits) per page, 0 if unmapped; request number. */
static uint64_t fuzz_shadow[FUZZ_PAGES];
static unsigned int fuzz_owner[FUZZ_PAGES];
/* 2 MiB regions some valid request overlapped. */
static uint8_t fuzz_touched[FUZZ_MEM / FUZZ_2M];

/* The leaf for va (0 if unmapped), checked to be an identity mapping. */
static uint64_t
fuzz_leaf(const struct pt_builder *pb, uint64_t va)
{
	uint64_t e, mask;

	if (pt_lookup(pb, va, &e) == -1) {
		CHECK(errno == ENOENT);
		return 0;
	}
	CHECK(e & PT_P);
	mask = (e & PT_PS) ? ~(FUZZ_2M - 1) : ~(FUZZ_PAGE - 1);
	CHECK((e & PT_ADDR & mask) == (va & PT_ADDR & mask));
	/* A 2 MiB leaf: bit 12 is PAT and bits 13-20 are reserved. */
	CHECK(!(e & PT_PS) || (e & 0x1ff000ULL) == 0);
	return e;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_builder pb;
	uint64_t pool_pages, raw, gpa, len, flags, leaf, end, pg, e, step;
	unsigned int nreq, r;
	int rc, err, einval;
	uint8_t mode, fl;

	if (fuzz_mem == NULL) {
		fuzz_mem = calloc(1, FUZZ_MEM);
		if (fuzz_mem == NULL)
			abort();
	}
	if (size < 1)
		return 0;
	memset(fuzz_shadow, 0, sizeof(fuzz_shadow));
	memset(fuzz_owner, 0, sizeof(fuzz_owner));
	memset(fuzz_touched, 0, sizeof(fuzz_touched));
	pool_pages = 1 + data[0] % 16;
	CHECK(pt_init(&pb, fuzz_mem, FUZZ_MEM, FUZZ_POOL_GPA,
	    FUZZ_POOL_GPA + pool_pages * FUZZ_PAGE) == 0);
	CHECK(pb.pb_pages == 1 && pb.pb_root == FUZZ_POOL_GPA);
	data++;
	size--;

	nreq = (unsigned int)(size / FUZZ_REQ_SIZE);
	if (nreq > FUZZ_MAX_REQS)
		nreq = FUZZ_MAX_REQS;
	for (r = 0; r < nreq; r++) {
		const uint8_t *q = data + r * FUZZ_REQ_SIZE;

		raw = (uint64_t)q[0] | (uint64_t)q[1] << 8;
		if (raw & 0x8000)
			gpa = (raw & 0x7fff) % 9 * FUZZ_2M;
		else
			gpa = raw % (FUZZ_PAGES + 512) * FUZZ_PAGE;
		raw = (uint64_t)q[2] | (uint64_t)q[3] << 8;
		if (raw & 0x8000)
			len = (raw & 0x7fff) % 9 * FUZZ_2M;
		else if (raw & 0x4000)
			len = (raw & 0x3fff) % (FUZZ_PAGES + 1) * FUZZ_PAGE;
		else
			len = raw % 64 * FUZZ_PAGE;
		fl = q[4];
		mode = q[5];
		flags = ((fl & 1) ? PT_W : 0) | ((fl & 2) ? PT_U : 0) |
		    ((fl & 4) ? PT_NX : 0) | ((fl & 8) ? PT_P : 0) |
		    ((fl & 16) ? PT_PS : 0) | ((fl & 32) ? PT_A | PT_D : 0) |
		    ((fl & 64) ? 1ULL << 40 : 0) | ((fl & 128) ? 1ULL << 9 : 0);
		if (mode & 1)
			gpa += 1 + (mode >> 2) % 0xfff;
		if (mode & 2)
			len += 1 + (mode >> 2) % 0xfff;
		if ((mode & 0xc0) == 0xc0)
			gpa = UINT64_MAX - ((mode & 0x3c) >> 2) * FUZZ_PAGE -
			    FUZZ_PAGE + 1;	/* page aligned, near 2^64 */
		leaf = (flags & (PT_W | PT_U | PT_NX)) | PT_P | PT_A | PT_D;
		einval = gpa % FUZZ_PAGE != 0 || len % FUZZ_PAGE != 0 ||
		    __builtin_add_overflow(gpa, len, &end) || end > FUZZ_MEM;

		if (!einval)
			for (pg = gpa & ~(FUZZ_2M - 1); pg < end; pg += FUZZ_2M)
				fuzz_touched[pg / FUZZ_2M] = 1;
		errno = 0;
		rc = pt_map(&pb, gpa, len, flags);
		err = errno;	/* before pt_lookup sets it */
		CHECK(rc == 0 || rc == -1);
		if (einval) {
			CHECK(rc == -1 && err == EINVAL);
			continue;
		}
		/* Pages newly mapped by this request: a prefix of its range. */
		for (pg = gpa; pg < end; pg += step) {
			unsigned int i = (unsigned int)(pg / FUZZ_PAGE), j;

			step = FUZZ_PAGE;
			if (fuzz_shadow[i] != 0)
				break;
			e = fuzz_leaf(&pb, pg);
			if (e == 0)
				break;
			CHECK((e & FUZZ_LEAF) == leaf);
			if (e & PT_PS) {
				/* only for a whole, aligned, unmapped 2 MiB */
				CHECK(pg % FUZZ_2M == 0 && end - pg >= FUZZ_2M);
				step = FUZZ_2M;
			}
			for (j = i; j < i + step / FUZZ_PAGE; j++) {
				CHECK(fuzz_shadow[j] == 0);
				fuzz_shadow[j] = leaf;
				fuzz_owner[j] = r + 1;
			}
		}
		if (rc == 0) {
			CHECK(pg == end);
			continue;
		}
		CHECK(pg < end);
		if (err == EEXIST)
			CHECK(fuzz_shadow[pg / FUZZ_PAGE] != 0);
		else
			CHECK(err == ENOSPC && fuzz_leaf(&pb, pg) == 0);
	}

	/*
	 * Every page as the shadow says; a 2 MiB leaf covers pages of one
	 * request (the walk looks it up once and checks the 511 others
	 * against the shadow: pt_lookup cannot give them a different leaf).
	 * A 2 MiB region no request touched gets three probes, not 512:
	 * pt_lookup under trace-cmp instrumentation is most of the cost.
	 */
	for (pg = 0; pg < FUZZ_MEM; pg += step) {
		unsigned int i = (unsigned int)(pg / FUZZ_PAGE), j;

		step = FUZZ_PAGE;
		if (pg % FUZZ_2M == 0 && !fuzz_touched[pg / FUZZ_2M]) {
			CHECK(fuzz_leaf(&pb, pg) == 0);
			CHECK(fuzz_leaf(&pb, pg + FUZZ_2M / 2 +
			    (pool_pages << 12)) == 0);
			CHECK(fuzz_leaf(&pb, pg + FUZZ_2M - FUZZ_PAGE) == 0);
			step = FUZZ_2M;
			continue;
		}
		e = fuzz_leaf(&pb, pg);
		CHECK((e & FUZZ_LEAF) == fuzz_shadow[i]);
		if (e & PT_PS) {
			CHECK(pg % FUZZ_2M == 0);
			step = FUZZ_2M;
			for (j = i; j < i + step / FUZZ_PAGE; j++)
				CHECK(fuzz_shadow[j] == fuzz_shadow[i] &&
				    fuzz_owner[j] == fuzz_owner[i]);
		}
	}
	for (pg = FUZZ_MEM; pg < FUZZ_MEM + FUZZ_2M; pg += 64 * FUZZ_PAGE)
		CHECK(fuzz_leaf(&pb, pg) == 0);
	CHECK(pb.pb_pages <= pool_pages);
	return 0;
}
