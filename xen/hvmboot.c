/*
 * Linux boot protocol for HVM guests (docs/HVM.md): check a bzImage's
 * setup header, then lay out guest memory as a boot loader would — the
 * protected-mode kernel at 1 MiB, the initrd high, the zero page with the
 * header copied exactly, the command line, an e820 map with the legacy
 * holes reserved, identity page tables and a flat GDT for the 64-bit entry,
 * and an MP table naming every vCPU and the I/O APIC.  The kernel file is
 * untrusted: every field used is range-checked first.  Pure: builds into a
 * memory buffer, so the unit tests and the fuzzer drive it without KVM.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xen.h"
#include "xeno/log.h"

/* Every error of this file: message in (err, errsz), errno EINVAL. */
#define BZ_ERR(...)	err_set(err, errsz, EINVAL, __VA_ARGS__)

/* Offsets in the bzImage and in struct boot_params (the zero page). */
#define BP_EXT_RAMDISK_IMAGE	0x0c0
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_E820_ENTRIES		0x1e8
#define BP_HDR			0x1f1	/* the setup header starts here */
#define BP_SETUP_SECTS		0x1f1
#define BP_SYSSIZE		0x1f4
#define BP_BOOT_FLAG		0x1fe
#define BP_JUMP			0x200
#define BP_HEADER		0x202
#define BP_VERSION		0x206
#define BP_TYPE_OF_LOADER	0x210
#define BP_LOADFLAGS		0x211
#define BP_RAMDISK_IMAGE	0x218
#define BP_RAMDISK_SIZE		0x21c
#define BP_HEAP_END_PTR		0x224
#define BP_CMD_LINE_PTR		0x228
#define BP_INITRD_ADDR_MAX	0x22c
#define BP_XLOADFLAGS		0x236
#define BP_CMDLINE_SIZE		0x238
#define BP_INIT_SIZE		0x260
#define BP_E820_TABLE		0x2d0
#define BP_E820_MAX		128
#define BP_SIZE			4096

#define BZ_BOOT_FLAG		0xaa55
#define BZ_HDRS			0x53726448	/* "HdrS" */
#define BZ_VERSION_MIN		0x020c	/* 2.12: xloadflags, 64-bit entry */
#define BZ_LOADED_HIGH		0x01
#define BZ_CAN_USE_HEAP		0x80
#define BZ_XLF_KERNEL_64	0x0001
#define BZ_LOADER_UNDEFINED	0xff
#define BZ_ENTRY64_OFF		0x200

#define E820_RAM		1
#define E820_RESERVED		2

#define MB			(1ULL << 20)

int
bzimage_parse(const uint8_t *buf, size_t len, struct bz_image *bz, char *err,
    size_t errsz)
{
	unsigned int sects;
	uint64_t off, size;

	memset(bz, 0, sizeof(*bz));
	if (len < BP_HDR + 0x80)
		return BZ_ERR("%zu bytes: too short for a bzImage (no setup "
		    "header)", len);
	if (le16_get(buf + BP_BOOT_FLAG) != BZ_BOOT_FLAG ||
	    le32_get(buf + BP_HEADER) != BZ_HDRS)
		return BZ_ERR("not a Linux bzImage (no boot flag 0xAA55 and "
		    "\"HdrS\" magic)");
	bz->bz_version = le16_get(buf + BP_VERSION);
	if (bz->bz_version < BZ_VERSION_MIN)
		return BZ_ERR("boot protocol %u.%02u is too old: need 2.12 "
		    "or later (a 64-bit entry point)", bz->bz_version >> 8,
		    bz->bz_version & 0xff);
	if (!(buf[BP_LOADFLAGS] & BZ_LOADED_HIGH))
		return BZ_ERR("a zImage (loaded low), not a bzImage");
	if (!(le16_get(buf + BP_XLOADFLAGS) & BZ_XLF_KERNEL_64))
		return BZ_ERR("the kernel has no 64-bit entry point "
		    "(xloadflags)");
	/* The header ends at 0x202 + the jump's displacement byte. */
	bz->bz_hdr_len = (size_t)(BP_JUMP + 2 + buf[BP_JUMP + 1]) - BP_HDR;
	if (BP_HDR + bz->bz_hdr_len > len || BP_HDR + bz->bz_hdr_len >
	    BP_E820_TABLE)
		return BZ_ERR("setup header of %zu bytes runs past the file",
		    bz->bz_hdr_len);
	sects = buf[BP_SETUP_SECTS] == 0 ? 4 : buf[BP_SETUP_SECTS];
	off = (uint64_t)(sects + 1) * 512;
	size = (uint64_t)le32_get(buf + BP_SYSSIZE) * 16;
	if (off >= len)
		return BZ_ERR("setup of %u sectors runs past the %zu-byte file",
		    sects, len);
	if (size == 0 || size > len - off)
		return BZ_ERR("truncated: the kernel needs %llu bytes after "
		    "its setup, the file has %llu",
		    (unsigned long long)size, (unsigned long long)(len - off));
	bz->bz_kernel_off = (size_t)off;
	bz->bz_kernel_len = (size_t)size;
	bz->bz_init_size = le32_get(buf + BP_INIT_SIZE);
	if (bz->bz_init_size < size)
		bz->bz_init_size = size;
	bz->bz_initrd_max = le32_get(buf + BP_INITRD_ADDR_MAX);
	bz->bz_cmdline_max = le32_get(buf + BP_CMDLINE_SIZE);
	if (bz->bz_cmdline_max == 0)
		bz->bz_cmdline_max = 255;
	return 0;
}

/*
 * An uncompressed kernel: the vmlinux ELF a bzImage carries compressed
 * (make linux-guest extracts it), booted at its 64-bit entry startup_64
 * the way Firecracker boots one.  Its segments load at their physical
 * addresses (16 MiB up for x86-64); there is no setup header, so the zero
 * page gets the few fields a boot loader would have copied.  Skipping the
 * decompressor skips its work and its KASLR: the kernel runs where it was
 * linked.
 */
int
vmlinux_parse(const uint8_t *buf, size_t len, struct bz_image *bz, char *err,
    size_t errsz)
{
	char e[200];

	memset(bz, 0, sizeof(*bz));
	if (elf_parse_kernel(buf, len, HVM_KERNEL, HVM_MEM_MAX, &bz->bz_img,
	    e, sizeof(e)) == -1)
		return BZ_ERR("a vmlinux that cannot be loaded: %s", e);
	bz->bz_elf = 1;
	bz->bz_version = VMLINUX_VERSION;
	bz->bz_init_size = bz->bz_img.ei_hi - HVM_KERNEL;
	bz->bz_initrd_max = 0;
	bz->bz_cmdline_max = VMLINUX_CMDLINE_MAX;
	return 0;
}

/* One e820 entry; returns the next index. */
static unsigned int
e820_add(uint8_t *zp, unsigned int i, uint64_t addr, uint64_t size,
    uint32_t type)
{
	uint8_t *e = zp + BP_E820_TABLE + (size_t)i * 20;

	le64_put(e, addr);
	le64_put(e + 8, size);
	le32_put(e + 16, type);
	return i + 1;
}

static uint8_t
mp_sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n-- > 0)
		s = (uint8_t)(s + *p++);
	return s;
}

/*
 * The MP table (Intel MP spec 1.4): a processor entry per vCPU (local APIC
 * id = vCPU index), one ISA bus, the I/O APIC, ISA IRQs 0-15 wired to the
 * I/O APIC pins of the same number (KVM's default routing), ExtINT on LINT0
 * and NMI on LINT1.  Returns its size.
 */
static size_t
mp_build(uint8_t *mem, uint64_t at, unsigned int nvcpus)
{
	uint8_t *fp = mem + at, *ct = fp + 16, *e;
	unsigned int i, n = 0;

	memset(fp, 0, 16);
	memcpy(fp, "_MP_", 4);
	le32_put(fp + 4, (uint32_t)(at + 16));
	fp[8] = 1;		/* length, in 16-byte units */
	fp[9] = 4;		/* spec 1.4 */
	e = ct + 44;
	for (i = 0; i < nvcpus; i++, n++, e += 20) {
		memset(e, 0, 20);
		e[0] = 0;			/* processor */
		e[1] = (uint8_t)i;		/* local APIC id */
		e[2] = 0x14;			/* local APIC version */
		e[3] = (uint8_t)(1 | (i == 0 ? 2 : 0));	/* enabled, BSP */
		le32_put(e + 4, 0x600);		/* family 6 */
		le32_put(e + 8, 0x201);		/* FPU, APIC */
	}
	memset(e, 0, 8);
	e[0] = 1;				/* bus */
	memcpy(e + 2, "ISA   ", 6);
	e += 8, n++;
	e[0] = 2;				/* I/O APIC */
	e[1] = (uint8_t)nvcpus;			/* its APIC id */
	e[2] = 0x11;
	e[3] = 1;				/* enabled */
	le32_put(e + 4, HVM_IOAPIC_ADDR);
	e += 8, n++;
	for (i = 0; i < 16; i++, e += 8, n++) {
		e[0] = 3;			/* I/O interrupt */
		e[1] = 0;			/* INT */
		le16_put(e + 2, 0);			/* conforms to the bus */
		e[4] = 0;			/* ISA */
		e[5] = (uint8_t)i;
		e[6] = (uint8_t)nvcpus;
		e[7] = (uint8_t)i;
	}
	for (i = 0; i < 2; i++, e += 8, n++) {
		e[0] = 4;			/* local interrupt */
		e[1] = i == 0 ? 3 : 1;		/* ExtINT, NMI */
		le16_put(e + 2, 0);
		e[4] = 0;
		e[5] = 0;
		e[6] = i == 0 ? 0 : 0xff;	/* BSP; all */
		e[7] = (uint8_t)i;		/* LINT0, LINT1 */
	}
	memset(ct, 0, 44);
	memcpy(ct, "PCMP", 4);
	le16_put(ct + 4, (uint16_t)(e - ct));
	ct[6] = 4;
	memcpy(ct + 8, "XENO    ", 8);
	memcpy(ct + 16, "XENO-HV     ", 12);
	le16_put(ct + 34, (uint16_t)n);
	le32_put(ct + 36, HVM_LAPIC_ADDR);
	ct[7] = (uint8_t)-mp_sum(ct, (size_t)(e - ct));
	fp[10] = (uint8_t)-mp_sum(fp, 16);
	return (size_t)(e - fp);
}

int
hvmboot_build(uint8_t *mem, uint64_t mem_size, unsigned int nvcpus,
    const uint8_t *kernel, const struct bz_image *bz, const uint8_t *initrd,
    size_t initrd_len, const char *cmdline, struct hvm_layout *out,
    char *err, size_t errsz)
{
	uint8_t *zp = mem + HVM_ZERO_PAGE, *gdt = mem + HVM_GDT;
	uint64_t *pml4, *pdpt, *pd, top, rd = 0, i;
	size_t clen = strlen(cmdline);
	unsigned int n;

	memset(out, 0, sizeof(*out));
	if (mem_size < HVM_MEM_MIN || mem_size > HVM_MEM_MAX)
		return BZ_ERR("HVM guests need %llu MiB to %llu MiB of memory",
		    (unsigned long long)(HVM_MEM_MIN >> 20),
		    (unsigned long long)(HVM_MEM_MAX >> 20));
	if (HVM_KERNEL + bz->bz_init_size > mem_size)
		return BZ_ERR("the kernel needs %llu MiB to unpack; give more "
		    "--mem", (unsigned long long)((HVM_KERNEL +
		    bz->bz_init_size + MB - 1) / MB));
	if (clen + 1 > bz->bz_cmdline_max || clen + 1 > HVM_CMDLINE_MAX)
		return BZ_ERR("--cmdline is %zu bytes; this kernel takes at "
		    "most %u", clen, (bz->bz_cmdline_max < HVM_CMDLINE_MAX ?
		    bz->bz_cmdline_max : HVM_CMDLINE_MAX) - 1);
	if (nvcpus == 0 || nvcpus > HVM_MAX_VCPUS)
		return BZ_ERR("HVM guests have 1 to %d vCPUs", HVM_MAX_VCPUS);

	if (bz->bz_elf)
		elf_copy(&bz->bz_img, kernel, mem);
	else
		memcpy(mem + HVM_KERNEL, kernel + bz->bz_kernel_off,
		    bz->bz_kernel_len);
	if (initrd_len > 0) {
		/* High, page aligned, under what the kernel can address. */
		top = mem_size;
		if (bz->bz_initrd_max != 0 && top > (uint64_t)bz->bz_initrd_max
		    + 1)
			top = (uint64_t)bz->bz_initrd_max + 1;
		if (initrd_len > top)
			return BZ_ERR("the initrd (%zu bytes) does not fit in "
			    "guest memory", initrd_len);
		rd = (top - initrd_len) & ~(uint64_t)(HVM_PAGE - 1);
		if (rd < HVM_KERNEL + bz->bz_init_size)
			return BZ_ERR("the kernel and the initrd (%zu bytes) "
			    "do not both fit; give more --mem", initrd_len);
		memcpy(mem + rd, initrd, initrd_len);
	}

	/*
	 * Zero page: the file's setup header exactly (a vmlinux has none:
	 * the magic and version a loader would find), then our fields.
	 */
	memset(zp, 0, BP_SIZE);
	if (bz->bz_elf) {
		le16_put(zp + BP_BOOT_FLAG, BZ_BOOT_FLAG);
		le32_put(zp + BP_HEADER, BZ_HDRS);
		le16_put(zp + BP_VERSION, (uint16_t)bz->bz_version);
		zp[BP_LOADFLAGS] = BZ_LOADED_HIGH;
		le32_put(zp + BP_CMDLINE_SIZE, bz->bz_cmdline_max - 1);
	} else
		memcpy(zp + BP_HDR, kernel + BP_HDR, bz->bz_hdr_len);
	zp[BP_TYPE_OF_LOADER] = BZ_LOADER_UNDEFINED;
	zp[BP_LOADFLAGS] |= BZ_CAN_USE_HEAP;
	le16_put(zp + BP_HEAP_END_PTR, 0xfe00);
	memcpy(mem + HVM_CMDLINE, cmdline, clen + 1);
	le32_put(zp + BP_CMD_LINE_PTR, HVM_CMDLINE);
	le32_put(zp + BP_EXT_CMD_LINE_PTR, 0);
	le32_put(zp + BP_RAMDISK_IMAGE, (uint32_t)rd);
	le32_put(zp + BP_RAMDISK_SIZE, (uint32_t)initrd_len);
	le32_put(zp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(rd >> 32));
	le32_put(zp + BP_EXT_RAMDISK_SIZE, 0);
	n = e820_add(zp, 0, 0, HVM_EBDA, E820_RAM);
	n = e820_add(zp, n, HVM_EBDA, 0xa0000 - HVM_EBDA, E820_RESERVED);
	n = e820_add(zp, n, HVM_BIOS, 0x100000 - HVM_BIOS, E820_RESERVED);
	n = e820_add(zp, n, 0x100000, mem_size - 0x100000, E820_RAM);
	zp[BP_E820_ENTRIES] = (uint8_t)n;

	/* Flat GDT: null, null, __BOOT_CS (0x10), __BOOT_DS (0x18). */
	memset(gdt, 0, HVM_GDT_SIZE);
	le64_put(gdt + 0x10, 0x00af9b000000ffffULL);
	le64_put(gdt + 0x18, 0x00cf93000000ffffULL);

	/* Identity map of the first 4 GiB in 2 MiB pages. */
	pml4 = (uint64_t *)(void *)(mem + HVM_PML4);
	pdpt = (uint64_t *)(void *)(mem + HVM_PDPT);
	pd = (uint64_t *)(void *)(mem + HVM_PD);
	memset(pml4, 0, HVM_PAGE);
	memset(pdpt, 0, HVM_PAGE);
	pml4[0] = HVM_PDPT | 0x3;
	for (i = 0; i < 4; i++)
		pdpt[i] = (HVM_PD + i * HVM_PAGE) | 0x3;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83;	/* present, writable, 2 MiB */

	out->hl_mp_size = mp_build(mem, HVM_BIOS, nvcpus);
	out->hl_entry = bz->bz_elf ? bz->bz_img.ei_entry : HVM_KERNEL +
	    BZ_ENTRY64_OFF;
	out->hl_initrd = rd;
	return 0;
}
