/*
 * pgtable.c and pvboot.c: mappings have exactly the permissions asked
 * for, large pages are used where they can be, bad requests are refused;
 * the PV system area has the documented layout and protections.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "xen.h"

#define MEM	(16ULL << 20)

static uint64_t
flags_of(const struct pt_builder *pb, uint64_t va)
{
	uint64_t e;

	if (pt_lookup(pb, va, &e) == -1)
		return 0;
	return e & (PT_P | PT_W | PT_U | PT_NX | PT_PS);
}

static void
test_builder(void)
{
	uint8_t *mem = calloc(1, MEM);
	struct pt_builder pb;
	uint64_t e;

	CHECK(pt_init(&pb, mem, MEM, 0x1000, 0x1800) == -1);	/* unaligned */
	CHECK(pt_init(&pb, mem, MEM, 0x50000, 0x100000) == 0);
	/* 4 MiB at 2 MiB: two large pages */
	CHECK(pt_map(&pb, 0x200000, 0x400000, PT_U | PT_W | PT_NX) == 0);
	CHECK_EQ(flags_of(&pb, 0x200000), PT_P | PT_W | PT_U | PT_NX | PT_PS);
	CHECK_EQ(flags_of(&pb, 0x5fffff), PT_P | PT_W | PT_U | PT_NX | PT_PS);
	CHECK_EQ(flags_of(&pb, 0x600000), 0);
	/* unaligned to 2 MiB: small pages */
	CHECK(pt_map(&pb, 0x601000, 0x3000, PT_U) == 0);
	CHECK_EQ(flags_of(&pb, 0x600000), 0);
	CHECK_EQ(flags_of(&pb, 0x601000), PT_P | PT_U);
	CHECK_EQ(flags_of(&pb, 0x603fff), PT_P | PT_U);
	CHECK_EQ(flags_of(&pb, 0x604000), 0);
	/* supervisor page next to user ones */
	CHECK(pt_map(&pb, 0x604000, 0x1000, PT_W) == 0);
	CHECK_EQ(flags_of(&pb, 0x604000), PT_P | PT_W);
	/* accessed and dirty preset in leaves */
	CHECK(pt_lookup(&pb, 0x604000, &e) == 0);
	CHECK((e & (PT_A | PT_D)) == (PT_A | PT_D));
	CHECK_EQ(e & PT_ADDR, 0x604000);
	/* overlap is refused, in a large page and in a small one */
	errno = 0;
	CHECK(pt_map(&pb, 0x300000, 0x1000, PT_U) == -1 && errno == EEXIST);
	errno = 0;
	CHECK(pt_map(&pb, 0x602000, 0x1000, PT_U) == -1 && errno == EEXIST);
	/* outside memory, unaligned, wrapping */
	errno = 0;
	CHECK(pt_map(&pb, MEM - 0x1000, 0x2000, PT_U) == -1 &&
	    errno == EINVAL);
	CHECK(pt_map(&pb, 0x700100, 0x1000, PT_U) == -1);
	CHECK(pt_map(&pb, UINT64_MAX & ~0xfffULL, 0x2000, PT_U) == -1);
	/* pool exhaustion is ENOSPC, not corruption */
	CHECK(pt_init(&pb, mem, MEM, 0x50000, 0x52000) == 0);	/* 2 pages */
	errno = 0;
	CHECK(pt_map(&pb, 0x200000, 0x1000, PT_U) == -1 && errno == ENOSPC);
	free(mem);
}

/* A fake image: text, rodata, data+bss sharing a page with rodata. */
static void
image(struct elf_image *img)
{
	memset(img, 0, sizeof(*img));
	img->ei_entry = 0x100000;
	img->ei_nseg = 3;
	img->ei_seg[0] = (struct elf_seg){ 0x100000, 0x2000, 0x2000, 0,
	    PF_R | PF_X };
	img->ei_seg[1] = (struct elf_seg){ 0x102000, 0x800, 0x800, 0, PF_R };
	img->ei_seg[2] = (struct elf_seg){ 0x102800, 0x3000, 0x100, 0,
	    PF_R | PF_W };
	img->ei_lo = 0x100000;
	img->ei_hi = 0x105800;
}

static int
io_allowed(const uint8_t *mem, unsigned int vcpu, unsigned int port)
{
	const uint8_t *tss = mem + pvboot_tss(vcpu);
	uint16_t off;

	memcpy(&off, tss + 102, 2);
	if (off + port / 8 > pvboot_tss_limit())
		return 0;
	return !(tss[off + port / 8] & (1U << (port % 8)));
}

static void
test_pvboot(void)
{
	uint8_t *mem = calloc(1, MEM);
	struct pt_builder pb;
	struct pv_layout pl;
	struct elf_image img;
	struct xeno_pv_bootinfo bi;
	const uint64_t *gdt;
	uint64_t top1, e;
	char err[256];
	int v;

	image(&img);
	CHECK(pvboot_layout(MEM, 2, &img, &pl, err, sizeof(err)) == 0);
	CHECK(pvboot_build(mem, &img, &pl, "a=1 b=2", err, sizeof(err)) == 0);
	memset(&pb, 0, sizeof(pb));
	pb.pb_mem = mem;
	pb.pb_mem_size = MEM;
	pb.pb_root = pl.pl_cr3;

	CHECK_EQ(pl.pl_stack_top[0], MEM);
	top1 = MEM - XENO_PV_STACK_SIZE - XENO_PV_STACK_GUARD;
	CHECK_EQ(pl.pl_stack_top[1], top1);
	CHECK_EQ(pl.pl_heap_start, 0x106000);
	CHECK_EQ(pl.pl_heap_end, top1 - XENO_PV_STACK_SIZE -
	    XENO_PV_STACK_GUARD);

	/* NULL page and unused system pages: unmapped */
	CHECK_EQ(flags_of(&pb, 0), 0);
	CHECK_EQ(flags_of(&pb, 0xf000), 0);
	CHECK_EQ(flags_of(&pb, XENO_PV_PGTABLE_GPA), 0);
	/* system structures: supervisor only */
	CHECK_EQ(flags_of(&pb, XENO_PV_GDT_GPA), PT_P | PT_W | PT_NX);
	CHECK_EQ(flags_of(&pb, XENO_PV_IDT_GPA), PT_P | PT_W | PT_NX);
	CHECK_EQ(flags_of(&pb, XENO_PV_STUBS_GPA), PT_P);
	CHECK_EQ(flags_of(&pb, XENO_PV_TSS_GPA), PT_P | PT_W | PT_NX);
	CHECK_EQ(flags_of(&pb, XENO_PV_XSTACK_GPA + 0x1000), PT_P | PT_W |
	    PT_NX);
	CHECK_EQ(flags_of(&pb, XENO_PV_XSTACK_GPA + 0x2000), 0);
	/* boot info and time: user read-only */
	CHECK_EQ(flags_of(&pb, XENO_PV_BOOTINFO_GPA), PT_P | PT_U | PT_NX);
	CHECK_EQ(flags_of(&pb, XENO_PV_TIME_GPA), PT_P | PT_U | PT_NX);
	/* image: text RX, rodata page shared with data becomes RW NX */
	CHECK_EQ(flags_of(&pb, 0x100000), PT_P | PT_U);
	CHECK_EQ(flags_of(&pb, 0x101fff), PT_P | PT_U);
	CHECK_EQ(flags_of(&pb, 0x102000), PT_P | PT_U | PT_W | PT_NX);
	CHECK_EQ(flags_of(&pb, 0x105000), PT_P | PT_U | PT_W | PT_NX);
	/* heap RW NX (large pages where aligned), stacks, guards */
	CHECK_EQ(flags_of(&pb, 0x106000), PT_P | PT_U | PT_W | PT_NX);
	CHECK_EQ(flags_of(&pb, 0x200000), PT_P | PT_U | PT_W | PT_NX | PT_PS);
	CHECK_EQ(flags_of(&pb, MEM - 8), PT_P | PT_U | PT_W | PT_NX);
	CHECK_EQ(flags_of(&pb, MEM - XENO_PV_STACK_SIZE - 1), 0);
	CHECK_EQ(flags_of(&pb, top1 - 8), PT_P | PT_U | PT_W | PT_NX);
	CHECK_EQ(flags_of(&pb, top1 - XENO_PV_STACK_SIZE - 1), 0);
	CHECK_EQ(flags_of(&pb, pl.pl_heap_end - 1), PT_P | PT_U | PT_W |
	    PT_NX);
	/* nothing above memory */
	CHECK(pt_lookup(&pb, MEM, &e) == -1);

	/* boot info */
	memcpy(&bi, mem + XENO_PV_BOOTINFO_GPA, sizeof(bi));
	CHECK_EQ(bi.bi_magic, XENO_PV_BOOTINFO_MAGIC);
	CHECK_EQ(bi.bi_nr_vcpus, 2);
	CHECK_EQ(bi.bi_mem_size, MEM);
	CHECK_EQ(bi.bi_heap_start, pl.pl_heap_start);
	CHECK_EQ(bi.bi_stack_top[1], top1);
	CHECK(strcmp(bi.bi_cmdline, "a=1 b=2") == 0);

	/* GDT: user code is 64-bit DPL 3, TSS descriptors point at slots */
	gdt = (const uint64_t *)(const void *)(mem + XENO_PV_GDT_GPA);
	CHECK_EQ((gdt[XENO_PV_SEL_UCODE >> 3] >> 40) & 0xff, 0xfb);
	CHECK_EQ((gdt[XENO_PV_SEL_UCODE >> 3] >> 53) & 1, 1);	/* L */
	CHECK_EQ((gdt[XENO_PV_SEL_KCODE >> 3] >> 45) & 3, 0);	/* DPL 0 */
	for (v = 0; v < 2; v++) {
		const uint64_t *d = &gdt[XENO_PV_SEL_TSS(v) >> 3];
		uint64_t base = ((d[0] >> 16) & 0xffffff) |
		    (((d[0] >> 56) & 0xff) << 24) | (d[1] << 32);
		uint64_t rsp0;

		CHECK_EQ(base, pvboot_tss(v));
		memcpy(&rsp0, mem + base + 4, 8);
		CHECK_EQ(rsp0, pvboot_xstack_top(v));
	}
	/* I/O bitmap: hypercall and doorbell ports only */
	CHECK(io_allowed(mem, 0, XENO_PV_HC_PORT));
	CHECK(io_allowed(mem, 1, XENO_PV_HC_PORT + XENO_PV_HC_MAX - 1));
	CHECK(!io_allowed(mem, 0, XENO_PV_HC_PORT + XENO_PV_HC_MAX));
	CHECK(io_allowed(mem, 0, XENO_PV_DOORBELL_PORT + 255));
	CHECK(!io_allowed(mem, 0, 0x80));
	CHECK(!io_allowed(mem, 0, XENO_PV_EXC_PORT));
	CHECK(!io_allowed(mem, 0, 0x3f8));
	CHECK(!io_allowed(mem, 0, 0xcf8));
	/* IDT: int3 reachable from CPL 3, #PF not */
	{
		const uint64_t *idt = (const uint64_t *)(const void *)(mem +
		    XENO_PV_IDT_GPA);

		CHECK_EQ((idt[2 * 3] >> 45) & 3, 3);
		CHECK_EQ((idt[2 * 14] >> 45) & 3, 0);
		CHECK_EQ(idt[2 * 14] & 0xffff, (XENO_PV_STUBS_GPA + 14 * 16) &
		    0xffff);
	}
	free(mem);
}

static void
test_layout_errors(void)
{
	struct pv_layout pl;
	struct elf_image img;
	char err[256];

	image(&img);
	CHECK(pvboot_layout(2ULL << 20, 64, NULL, &pl, err, sizeof(err)) ==
	    -1);
	CHECK(strstr(err, "too small") != NULL);
	CHECK(pvboot_layout(MEM, 0, NULL, &pl, err, sizeof(err)) == -1);
	img.ei_hi = MEM - XENO_PV_STACK_SIZE;
	CHECK(pvboot_layout(MEM, 1, &img, &pl, err, sizeof(err)) == -1);
	CHECK(strstr(err, "heap") != NULL);
	/* the largest domain fits its tables in the pool */
	{
		uint64_t big = XENO_PV_MEM_MAX;
		uint8_t *mem = calloc(1, XENO_PV_IMAGE_MIN);
		struct pt_builder pb;

		/* only the pool is touched: map the size, check page count */
		CHECK(pt_init(&pb, mem, XENO_PV_IMAGE_MIN, XENO_PV_PGTABLE_GPA,
		    XENO_PV_IMAGE_MIN) == 0);
		pb.pb_mem_size = big;
		CHECK(pt_map(&pb, 0x200000, big - 0x200000, PT_U | PT_W) == 0);
		CHECK(pb.pb_pages < 16);
		free(mem);
	}
}

int
main(void)
{
	test_builder();
	test_pvboot();
	test_layout_errors();
	return t_done("test_pgtable");
}
