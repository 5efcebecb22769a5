/*
 * libFuzzer driver: a guest image, as xeno-hv loads it (vmm_load_pv):
 * elf_parse, then elf_copy into guest memory, then pvboot_build.
 *
 * The input is the image file.  Its last byte also picks the number of
 * vCPUs (1..4); that byte is usually padding or a section header, so
 * reusing it costs the parser nothing.
 *
 * Invariants checked beyond "no sanitizer report":
 *  - an accepted image has 1..ELF_MAX_SEGS segments, each inside the load
 *    bounds and each with its file bytes inside the input; no two overlap;
 *    ei_lo/ei_hi bound them; the entry point is in an executable segment;
 *  - pvboot_build either fails with a message or builds tables in which the
 *    entry point is mapped present, user and executable, every page of
 *    every segment is mapped user with at least the segment's permissions,
 *    and the system area and page-table pool are never user-accessible.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "xen.h"

#define FUZZ_MEM	(16ULL << 20)
#define FUZZ_PAGE	XENO_PV_PAGE_SIZE

/* Guest memory, allocated once: 16 MiB per input would dominate. */
static uint8_t *fuzz_mem;

static void
fuzz_check_image(const struct elf_image *img, size_t len)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	int i, j, entry_ok = 0;

	CHECK(img->ei_nseg >= 1 && img->ei_nseg <= ELF_MAX_SEGS);
	for (i = 0; i < img->ei_nseg; i++) {
		const struct elf_seg *s = &img->ei_seg[i];
		uint64_t end, fend;

		CHECK(s->es_memsz != 0);
		CHECK(s->es_filesz <= s->es_memsz);
		CHECK(!__builtin_add_overflow(s->es_vaddr, s->es_memsz, &end));
		CHECK(s->es_vaddr >= XENO_PV_IMAGE_MIN && end <= FUZZ_MEM);
		CHECK(!__builtin_add_overflow(s->es_offset, s->es_filesz,
		    &fend));
		CHECK(fend <= len);
		CHECK((s->es_flags & ~(uint32_t)(ELF_SEG_R | ELF_SEG_W |
		    ELF_SEG_X)) == 0);
		for (j = 0; j < i; j++) {
			const struct elf_seg *o = &img->ei_seg[j];

			CHECK(end <= o->es_vaddr ||
			    o->es_vaddr + o->es_memsz <= s->es_vaddr);
		}
		if (s->es_vaddr < lo)
			lo = s->es_vaddr;
		if (end > hi)
			hi = end;
		if ((s->es_flags & ELF_SEG_X) && img->ei_entry >= s->es_vaddr &&
		    img->ei_entry < end)
			entry_ok = 1;
	}
	CHECK(img->ei_lo == lo && img->ei_hi == hi);
	CHECK(entry_ok);
}

/* The leaf entry for va in the tables rooted at cr3, or 0 if unmapped. */
static uint64_t
fuzz_leaf(const struct pv_layout *pl, uint64_t va)
{
	struct pt_builder pb;
	uint64_t e;

	memset(&pb, 0, sizeof(pb));
	pb.pb_mem = fuzz_mem;
	pb.pb_mem_size = pl->pl_mem;
	pb.pb_root = pl->pl_cr3;
	if (pt_lookup(&pb, va, &e) == -1)
		return 0;
	CHECK(e & PT_P);
	return e;
}

static void
fuzz_check_tables(const struct elf_image *img, const struct pv_layout *pl)
{
	uint64_t e, m, pg;
	int i;

	CHECK(pl->pl_cr3 >= XENO_PV_PGTABLE_GPA &&
	    pl->pl_cr3 < XENO_PV_IMAGE_MIN && pl->pl_cr3 % FUZZ_PAGE == 0);
	CHECK(pl->pl_heap_start >= img->ei_hi &&
	    pl->pl_heap_start % FUZZ_PAGE == 0 &&
	    pl->pl_heap_start < pl->pl_heap_end);

	e = fuzz_leaf(pl, img->ei_entry);
	CHECK((e & PT_P) && (e & PT_U) && !(e & PT_NX));

	for (i = 0; i < img->ei_nseg; i++) {
		const struct elf_seg *s = &img->ei_seg[i];

		for (pg = s->es_vaddr & ~(FUZZ_PAGE - 1);
		    pg < s->es_vaddr + s->es_memsz; pg += FUZZ_PAGE) {
			e = fuzz_leaf(pl, pg);
			CHECK((e & PT_P) && (e & PT_U));
			/*
			 * Identity mapped; a 2 MiB leaf has bits 13-20
			 * reserved (bit 12 is PAT).
			 */
			m = (e & PT_PS) ? ~((2ULL << 20) - 1) :
			    ~(FUZZ_PAGE - 1);
			CHECK((e & PT_ADDR & m) == (pg & m));
			CHECK(!(e & PT_PS) || (e & 0x1fe000ULL) == 0);
			if (s->es_flags & ELF_SEG_W)
				CHECK(e & PT_W);
			if (s->es_flags & ELF_SEG_X)
				CHECK(!(e & PT_NX));
		}
	}
	/*
	 * Page 0 is never mapped; the system area is supervisor-only except
	 * boot info and time, which the guest may read but not write.
	 */
	CHECK(fuzz_leaf(pl, 0) == 0);
	for (pg = FUZZ_PAGE; pg < XENO_PV_IMAGE_MIN; pg += FUZZ_PAGE) {
		e = fuzz_leaf(pl, pg);
		if (pg == XENO_PV_BOOTINFO_GPA || pg == XENO_PV_TIME_GPA)
			CHECK((e & PT_U) && !(e & PT_W) && (e & PT_NX));
		else
			CHECK(!(e & PT_U));
	}
	/* Guard pages below each stack stay unmapped. */
	for (i = 0; i < (int)pl->pl_vcpus; i++)
		CHECK(fuzz_leaf(pl, pl->pl_stack_top[i] - XENO_PV_STACK_SIZE -
		    FUZZ_PAGE) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_image img;
	struct pv_layout pl;
	char err[256];
	unsigned int vcpus;
	uint8_t *buf;

	if (fuzz_mem == NULL) {
		fuzz_mem = calloc(1, FUZZ_MEM);
		if (fuzz_mem == NULL)
			abort();
	}
	vcpus = size > 0 ? 1 + data[size - 1] % 4 : 1;

	/* An exact-size copy, so ASan sees any read past the file. */
	buf = malloc(size ? size : 1);
	if (buf == NULL)
		abort();
	memcpy(buf, data, size);

	err[0] = '\0';
	if (elf_parse(buf, size, XENO_PV_IMAGE_MIN, FUZZ_MEM, &img, err,
	    sizeof(err)) == -1) {
		CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)));
		goto out;
	}
	fuzz_check_image(&img, size);
	elf_copy(&img, buf, fuzz_mem);

	err[0] = '\0';
	if (pvboot_layout(FUZZ_MEM, vcpus, &img, &pl, err, sizeof(err)) ==
	    -1) {
		CHECK(err[0] != '\0');
		goto out;
	}
	err[0] = '\0';
	if (pvboot_build(fuzz_mem, &img, &pl, "fuzz", err, sizeof(err)) ==
	    -1) {
		CHECK(err[0] != '\0');
		goto out;
	}
	CHECK(pl.pl_mem == FUZZ_MEM && pl.pl_vcpus == vcpus);
	fuzz_check_tables(&img, &pl);
out:
	free(buf);
	return 0;
}
