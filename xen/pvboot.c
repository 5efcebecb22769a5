/*
 * The PV system area and memory map (docs/PV-ABI.md): GDT, IDT, per-vCPU
 * TSS and exception stacks, the exception stubs, the boot-info page and the
 * page tables.  The guest runs at CPL 3 and never touches any of this; the
 * stubs run at CPL 0 only to report an exception to xeno-hv (one `out`),
 * turning what would be a triple fault into a crash report with the vector
 * and RIP.  Pure: builds into a memory buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xen.h"
#include "xeno/log.h"

/* Every error of this file: message in (err, errsz), errno EINVAL. */
#define PV_ERR(...)	err_set(err, errsz, EINVAL, __VA_ARGS__)

#define PV_PAGE		XENO_PV_PAGE_SIZE
#define PV_NR_VECTORS	32
#define PV_STUB_SIZE	16
#define PV_TSS_SLOT	512
#define PV_IOMAP_OFF	104
#define PV_IOMAP_BYTES	((XENO_PV_DOORBELL_PORT + XENO_PV_DOORBELL_MAX) / 8)
#define PV_HEAP_MIN	(64ULL << 10)

static uint64_t
pv_page_up(uint64_t x)
{
	return (x + PV_PAGE - 1) & ~(PV_PAGE - 1);
}

uint64_t
pvboot_xstack_top(unsigned int vcpu)
{
	return XENO_PV_XSTACK_GPA + (uint64_t)(vcpu + 1) * PV_PAGE;
}

/* The TSS limit: the I/O bitmap and its terminating all-ones byte. */
unsigned int
pvboot_tss_limit(void)
{
	return PV_IOMAP_OFF + PV_IOMAP_BYTES;
}

uint64_t
pvboot_tss(unsigned int vcpu)
{
	return XENO_PV_TSS_GPA + (uint64_t)vcpu * PV_TSS_SLOT;
}

/*
 * Place the vCPU stacks at the top of memory, each with a guard page
 * below it.  The image must end below pl_heap_end on return (elf_parse()'s
 * upper bound); pvboot_build() sets the real heap start.
 */
int
pvboot_layout(uint64_t mem, unsigned int vcpus, const struct elf_image *img,
    struct pv_layout *pl, char *err, size_t errsz)
{
	uint64_t per = XENO_PV_STACK_SIZE + XENO_PV_STACK_GUARD, stacks;
	unsigned int v;

	memset(pl, 0, sizeof(*pl));
	if (vcpus == 0 || vcpus > XENO_PV_MAX_VCPUS)
		return PV_ERR("%u vCPUs: a PV domain has 1 to %d",
		    vcpus, XENO_PV_MAX_VCPUS);
	stacks = per * vcpus;
	if (mem < XENO_PV_IMAGE_MIN + stacks + PV_HEAP_MIN ||
	    mem % PV_PAGE != 0)
		return PV_ERR("%llu KiB of memory is too small "
		    "for %u vCPU stacks of %llu KiB and the image",
		    (unsigned long long)(mem >> 10), vcpus,
		    (unsigned long long)(XENO_PV_STACK_SIZE >> 10));
	pl->pl_mem = mem;
	pl->pl_vcpus = vcpus;
	for (v = 0; v < vcpus; v++)
		pl->pl_stack_top[v] = mem - per * v;
	pl->pl_heap_end = mem - stacks;
	pl->pl_heap_start = XENO_PV_IMAGE_MIN;
	if (img != NULL) {
		pl->pl_heap_start = pv_page_up(img->ei_hi);
		if (pl->pl_heap_start + PV_HEAP_MIN > pl->pl_heap_end)
			return PV_ERR("%llu KiB of memory is too "
			    "small: the image ends at 0x%llx and the stacks "
			    "start at 0x%llx, leaving less than %llu KiB of "
			    "heap", (unsigned long long)(mem >> 10),
			    (unsigned long long)img->ei_hi,
			    (unsigned long long)pl->pl_heap_end,
			    (unsigned long long)(PV_HEAP_MIN >> 10));
	}
	return 0;
}

static uint64_t
pv_seg_desc(uint64_t access, uint64_t flags)
{
	/* base 0, limit 0xfffff (ignored in long mode but set as usual) */
	return 0xffffULL | (access << 40) | (0xfULL << 48) | (flags << 52);
}

static void
pv_build_gdt(uint8_t *mem, unsigned int vcpus)
{
	uint64_t *gdt = (uint64_t *)(void *)(mem + XENO_PV_GDT_GPA);
	unsigned int v;

	/* Accessed bits preset: the CPU never writes the GDT. */
	gdt[XENO_PV_SEL_KCODE >> 3] = pv_seg_desc(0x9b, 0xa);	/* L, G */
	gdt[XENO_PV_SEL_KDATA >> 3] = pv_seg_desc(0x93, 0xc);	/* DB, G */
	gdt[XENO_PV_SEL_UDATA >> 3] = pv_seg_desc(0xf3, 0xc);
	gdt[XENO_PV_SEL_UCODE >> 3] = pv_seg_desc(0xfb, 0xa);
	for (v = 0; v < vcpus; v++) {
		uint64_t base = pvboot_tss(v), lim = pvboot_tss_limit();
		uint64_t *d = &gdt[XENO_PV_SEL_TSS(v) >> 3];

		d[0] = (lim & 0xffff) | ((base & 0xffffff) << 16) |
		    (0x8bULL << 40) | (((base >> 24) & 0xff) << 56);
		d[1] = base >> 32;
	}
}

/*
 * Each TSS: RSP0 for exceptions, and an I/O bitmap (a set bit denies the
 * port) that grants the hypercall and doorbell ports only.  Ports past the
 * bitmap are denied by the TSS limit.
 */
static void
pv_build_tss(uint8_t *mem, unsigned int vcpus)
{
	unsigned int v, port;

	for (v = 0; v < vcpus; v++) {
		uint8_t *t = mem + pvboot_tss(v), *map = t + PV_IOMAP_OFF;
		uint64_t rsp0 = pvboot_xstack_top(v);
		uint16_t iomap = PV_IOMAP_OFF;

		memset(t, 0, PV_TSS_SLOT);
		memcpy(t + 4, &rsp0, sizeof(rsp0));
		memcpy(t + 102, &iomap, sizeof(iomap));
		memset(map, 0xff, PV_IOMAP_BYTES + 1);
		for (port = XENO_PV_HC_PORT; port < XENO_PV_HC_PORT +
		    XENO_PV_HC_MAX; port++)
			map[port / 8] &= (uint8_t)~(1U << (port % 8));
		for (port = XENO_PV_DOORBELL_PORT; port <
		    XENO_PV_DOORBELL_PORT + XENO_PV_DOORBELL_MAX; port++)
			map[port / 8] &= (uint8_t)~(1U << (port % 8));
	}
}

/*
 * Each stub pushes a zero error code (where the CPU pushes none) and the
 * vector, then `out %al, $XENO_PV_EXC_PORT`; xeno-hv reads the frame at
 * %rsp.  The hlt loop is never reached: the domain ends at the out.
 */
static void
pv_build_idt(uint8_t *mem)
{
	uint64_t *idt = (uint64_t *)(void *)(mem + XENO_PV_IDT_GPA);
	unsigned int v;

	for (v = 0; v < PV_NR_VECTORS; v++) {
		uint8_t *s = mem + XENO_PV_STUBS_GPA + v * PV_STUB_SIZE;
		uint64_t h = XENO_PV_STUBS_GPA + v * PV_STUB_SIZE;
		/* int3 and into are instructions a guest may use: DPL 3 */
		uint64_t dpl = (v == 3 || v == 4) ? 3 : 0;
		int has_err = v == 8 || (v >= 10 && v <= 14) || v == 17 ||
		    v == 21 || v == 29 || v == 30;
		int i = 0;

		if (!has_err) {
			s[i++] = 0x6a;		/* push $0 */
			s[i++] = 0;
		}
		s[i++] = 0x6a;			/* push $vector */
		s[i++] = (uint8_t)v;
		s[i++] = 0x66;			/* mov $port, %dx */
		s[i++] = 0xba;
		s[i++] = XENO_PV_EXC_PORT & 0xff;
		s[i++] = XENO_PV_EXC_PORT >> 8;
		s[i++] = 0xee;			/* out %al, %dx */
		s[i++] = 0xf4;			/* hlt */
		s[i++] = 0xeb;			/* jmp .-1 */
		s[i++] = 0xfd;

		idt[2 * v] = (h & 0xffff) | ((uint64_t)XENO_PV_SEL_KCODE << 16) |
		    ((0x8eULL | (dpl << 5)) << 40) |
		    (((h >> 16) & 0xffff) << 48);
		idt[2 * v + 1] = h >> 32;
	}
}

static int
pv_map_image(struct pt_builder *pb, const struct elf_image *img)
{
	uint64_t lo = img->ei_lo & ~(PV_PAGE - 1), hi = pv_page_up(img->ei_hi);
	uint64_t run_start = lo, run_flags = 0, pg;
	int i;

	/* Page by page, the union of the permissions of the segments on it. */
	for (pg = lo; pg <= hi; pg += PV_PAGE) {
		uint64_t f = 0;
		int any = 0;

		for (i = 0; pg < hi && i < img->ei_nseg; i++) {
			const struct elf_seg *s = &img->ei_seg[i];

			if (s->es_vaddr >= pg + PV_PAGE ||
			    s->es_vaddr + s->es_memsz <= pg)
				continue;
			if (!any)
				f = PT_U | PT_NX;
			any = 1;
			if (s->es_flags & ELF_SEG_W)
				f |= PT_W;
			if (s->es_flags & ELF_SEG_X)
				f &= ~PT_NX;
		}
		if (pg == lo) {
			run_flags = f;
			continue;
		}
		if (pg < hi && f == run_flags)
			continue;
		if (run_flags != 0 &&
		    pt_map(pb, run_start, pg - run_start, run_flags) == -1)
			return -1;
		run_start = pg;
		run_flags = f;
	}
	return 0;
}

/*
 * Build the system area, boot info and page tables into guest memory `mem`
 * for the parsed image, completing `pl` (heap range, CR3).  The image
 * itself is copied by elf_copy(); the time page by the VMM.
 */
int
pvboot_build(uint8_t *mem, const struct elf_image *img, struct pv_layout *pl,
    const char *cmdline, char *err, size_t errsz)
{
	struct xeno_pv_bootinfo *bi;
	struct pt_builder pb;
	uint64_t per = XENO_PV_STACK_SIZE + XENO_PV_STACK_GUARD;
	unsigned int v;
	size_t n = strlen(cmdline);

	if (pvboot_layout(pl->pl_mem, pl->pl_vcpus, img, pl, err, errsz) ==
	    -1)
		return -1;
	if (n >= XENO_PV_CMDLINE_MAX)
		return PV_ERR("guest arguments are %zu bytes, "
		    "more than %d", n, XENO_PV_CMDLINE_MAX - 1);

	pv_build_gdt(mem, pl->pl_vcpus);
	pv_build_tss(mem, pl->pl_vcpus);
	pv_build_idt(mem);

	bi = (struct xeno_pv_bootinfo *)(void *)(mem + XENO_PV_BOOTINFO_GPA);
	memset(bi, 0, sizeof(*bi));
	bi->bi_magic = XENO_PV_BOOTINFO_MAGIC;
	bi->bi_abi_version = XENO_PV_ABI_VERSION;
	bi->bi_mem_size = pl->pl_mem;
	bi->bi_heap_start = pl->pl_heap_start;
	bi->bi_heap_end = pl->pl_heap_end;
	bi->bi_nr_vcpus = pl->pl_vcpus;
	for (v = 0; v < pl->pl_vcpus; v++)
		bi->bi_stack_top[v] = pl->pl_stack_top[v];
	memcpy(bi->bi_cmdline, cmdline, n + 1);

	if (pt_init(&pb, mem, pl->pl_mem, XENO_PV_PGTABLE_GPA,
	    XENO_PV_IMAGE_MIN) == -1)
		goto pterr;
	if (pt_map(&pb, XENO_PV_GDT_GPA, 2 * PV_PAGE, PT_W | PT_NX) == -1 ||
	    pt_map(&pb, XENO_PV_STUBS_GPA, PV_PAGE, 0) == -1 ||
	    pt_map(&pb, XENO_PV_BOOTINFO_GPA, 2 * PV_PAGE, PT_U | PT_NX) == -1 ||
	    pt_map(&pb, XENO_PV_TSS_GPA, pv_page_up(pl->pl_vcpus *
	    PV_TSS_SLOT), PT_W | PT_NX) == -1 ||
	    pt_map(&pb, XENO_PV_XSTACK_GPA, pl->pl_vcpus * PV_PAGE,
	    PT_W | PT_NX) == -1)
		goto pterr;
	if (pv_map_image(&pb, img) == -1)
		goto pterr;
	if (pt_map(&pb, pl->pl_heap_start, pl->pl_heap_end -
	    pl->pl_heap_start, PT_U | PT_W | PT_NX) == -1)
		goto pterr;
	for (v = 0; v < pl->pl_vcpus; v++)
		if (pt_map(&pb, pl->pl_stack_top[v] - XENO_PV_STACK_SIZE,
		    per - XENO_PV_STACK_GUARD, PT_U | PT_W | PT_NX) == -1)
			goto pterr;
	pl->pl_cr3 = pb.pb_root;
	pl->pl_pt_pages = pb.pb_pages;
	return 0;
pterr:
	return PV_ERR("cannot build page tables: %s",
	    errno == ENOSPC ? "out of page-table pages" :
	    errno == EEXIST ? "image overlaps another region" :
	    "range outside guest memory");
}
