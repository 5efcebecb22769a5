/*
 * hvmboot.c and uart.c: a bzImage's header is checked field by field and
 * every malformed one refused with a message; the boot layout holds what
 * the Linux boot protocol asks for (header copied exactly, command line,
 * initrd high and page aligned, e820 with the legacy holes, identity
 * tables, flat GDT, an MP table with valid checksums naming each vCPU);
 * the UART passes Linux's 8250 probes and interrupts after each byte.
 */
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "xen.h"

#define MEM	(64ULL << 20)
#define SETUP	4		/* setup sectors */
#define PAYLOAD	(64 << 10)

static uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t
rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* A bzImage with a 2.15 header, a 64-bit entry and a patterned payload. */
static size_t
mkbz(uint8_t *buf)
{
	size_t i, len = (SETUP + 1) * 512 + PAYLOAD;

	memset(buf, 0, len);
	buf[0x1f1] = SETUP;
	*(uint32_t *)(void *)(buf + 0x1f4) = PAYLOAD / 16;
	buf[0x1fe] = 0x55;
	buf[0x1ff] = 0xaa;
	buf[0x200] = 0xeb;
	buf[0x201] = 0x6a;	/* header ends at 0x26c */
	memcpy(buf + 0x202, "HdrS", 4);
	*(uint16_t *)(void *)(buf + 0x206) = 0x020f;
	buf[0x211] = 0x01;	/* LOADED_HIGH */
	*(uint32_t *)(void *)(buf + 0x22c) = 0x7fffffff;
	*(uint16_t *)(void *)(buf + 0x236) = 0x1;	/* XLF_KERNEL_64 */
	*(uint32_t *)(void *)(buf + 0x238) = 2048;
	*(uint32_t *)(void *)(buf + 0x260) = 8 << 20;	/* init_size */
	buf[0x250] = 0x5a;	/* a header byte we must copy as is */
	for (i = 0; i < PAYLOAD; i++)
		buf[(SETUP + 1) * 512 + i] = (uint8_t)(i * 7);
	return len;
}

static int
parse_fails(uint8_t *buf, size_t len, const char *want)
{
	struct bz_image bz;
	char err[256] = "";

	if (bzimage_parse(buf, len, &bz, err, sizeof(err)) != -1)
		return 0;
	if (strstr(err, want) == NULL) {
		fprintf(stderr, "error '%s' lacks '%s'\n", err, want);
		return 0;
	}
	return 1;
}

static void
test_parse(void)
{
	static uint8_t buf[(SETUP + 1) * 512 + PAYLOAD];
	struct bz_image bz;
	char err[256];
	size_t len = mkbz(buf);

	CHECK(bzimage_parse(buf, len, &bz, err, sizeof(err)) == 0);
	CHECK_EQ(bz.bz_version, 0x020f);
	CHECK_EQ(bz.bz_hdr_len, 0x26c - 0x1f1);
	CHECK_EQ(bz.bz_kernel_off, (SETUP + 1) * 512);
	CHECK_EQ(bz.bz_kernel_len, PAYLOAD);
	CHECK_EQ(bz.bz_init_size, 8 << 20);
	CHECK_EQ(bz.bz_cmdline_max, 2048);

	CHECK(parse_fails(buf, 100, "too short"));
	CHECK(parse_fails(buf, len - 1, "truncated"));
	CHECK(parse_fails(buf, (SETUP + 1) * 512, "runs past"));
	buf[0x1fe] = 0;
	CHECK(parse_fails(buf, len, "not a Linux bzImage"));
	mkbz(buf);
	memcpy(buf + 0x202, "HdrX", 4);
	CHECK(parse_fails(buf, len, "not a Linux bzImage"));
	mkbz(buf);
	*(uint16_t *)(void *)(buf + 0x206) = 0x020b;
	CHECK(parse_fails(buf, len, "too old"));
	mkbz(buf);
	buf[0x211] = 0;
	CHECK(parse_fails(buf, len, "zImage"));
	mkbz(buf);
	*(uint16_t *)(void *)(buf + 0x236) = 0;
	CHECK(parse_fails(buf, len, "64-bit entry"));
	mkbz(buf);
	*(uint32_t *)(void *)(buf + 0x1f4) = 0;
	CHECK(parse_fails(buf, len, "truncated"));
	mkbz(buf);
	buf[0x201] = 0xff;	/* header past the e820 table */
	CHECK(parse_fails(buf, len, "setup header"));

	/* Every truncation is refused or parsed within the file. */
	mkbz(buf);
	for (size_t n = 0; n < len; n += 97)
		if (bzimage_parse(buf, n, &bz, err, sizeof(err)) == 0)
			CHECK(bz.bz_kernel_off + bz.bz_kernel_len <= n);
}

static uint8_t
sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n-- > 0)
		s = (uint8_t)(s + *p++);
	return s;
}

static void
test_build(void)
{
	static uint8_t buf[(SETUP + 1) * 512 + PAYLOAD];
	uint8_t *mem = calloc(1, MEM), *zp, *e, *fp, *ct, initrd[10000];
	struct bz_image bz;
	struct hvm_layout hl;
	char err[256], longline[HVM_CMDLINE_MAX + 10];
	size_t len = mkbz(buf), i;
	uint64_t rd, *pd;
	unsigned int nproc = 0, n;

	CHECK(mem != NULL);
	if (mem == NULL)
		return;
	for (i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i ^ 0x33);
	CHECK(bzimage_parse(buf, len, &bz, err, sizeof(err)) == 0);
	CHECK(hvmboot_build(mem, MEM, 3, buf, &bz, initrd, sizeof(initrd),
	    "console=ttyS0 xrun=true", &hl, err, sizeof(err)) == 0);
	CHECK_EQ(hl.hl_entry, HVM_KERNEL + 0x200);
	CHECK(memcmp(mem + HVM_KERNEL, buf + (SETUP + 1) * 512, PAYLOAD) == 0);

	zp = mem + HVM_ZERO_PAGE;
	/* the header exactly, but for the fields a loader fills in */
	CHECK(memcmp(zp + 0x1f1, buf + 0x1f1, 0x210 - 0x1f1) == 0);
	CHECK(zp[0x250] == 0x5a && zp[0x236] == 1);
	CHECK_EQ(zp[0x210], 0xff);
	CHECK_EQ(zp[0x211], 0x81);
	CHECK_EQ(rd32(zp + 0x228), HVM_CMDLINE);
	CHECK(strcmp((char *)mem + HVM_CMDLINE, "console=ttyS0 xrun=true") ==
	    0);
	rd = rd32(zp + 0x218);
	CHECK_EQ(rd32(zp + 0x21c), sizeof(initrd));
	CHECK_EQ(rd, hl.hl_initrd);
	CHECK(rd % 4096 == 0 && rd + sizeof(initrd) <= MEM &&
	    rd + sizeof(initrd) + 4096 > MEM);
	CHECK(memcmp(mem + rd, initrd, sizeof(initrd)) == 0);

	/* e820: RAM below the EBDA, two reserved holes, RAM from 1 MiB */
	CHECK_EQ(zp[0x1e8], 4);
	e = zp + 0x2d0;
	CHECK(rd64(e) == 0 && rd64(e + 8) == 0x9fc00 && rd32(e + 16) == 1);
	CHECK(rd64(e + 20) == 0x9fc00 && rd32(e + 36) == 2);
	CHECK(rd64(e + 40) == 0xf0000 && rd64(e + 48) == 0x10000 &&
	    rd32(e + 56) == 2);
	CHECK(rd64(e + 60) == 0x100000 && rd64(e + 68) == MEM - 0x100000 &&
	    rd32(e + 76) == 1);

	/* GDT and identity tables */
	CHECK_EQ(rd64(mem + HVM_GDT + 0x10), 0x00af9b000000ffffULL);
	CHECK_EQ(rd64(mem + HVM_GDT + 0x18), 0x00cf93000000ffffULL);
	CHECK_EQ(rd64(mem + HVM_PML4), HVM_PDPT | 3);
	CHECK_EQ(rd64(mem + HVM_PDPT + 24), (HVM_PD + 3 * 4096) | 3);
	pd = (uint64_t *)(void *)(mem + HVM_PD);
	CHECK_EQ(pd[0], 0x83);
	CHECK_EQ(pd[2047], (2047ULL << 21) | 0x83);

	/* MP table: checksums, one processor entry per vCPU, BSP first */
	fp = mem + HVM_BIOS;
	CHECK(memcmp(fp, "_MP_", 4) == 0 && sum(fp, 16) == 0);
	ct = mem + rd32(fp + 4);
	CHECK(memcmp(ct, "PCMP", 4) == 0);
	CHECK(sum(ct, *(uint16_t *)(void *)(ct + 4)) == 0);
	n = *(uint16_t *)(void *)(ct + 34);
	e = ct + 44;
	for (i = 0; i < n; i++) {
		if (e[0] == 0) {
			CHECK_EQ(e[1], nproc);
			CHECK_EQ(e[3], nproc == 0 ? 3 : 1);
			nproc++;
			e += 20;
		} else
			e += 8;
	}
	CHECK_EQ(nproc, 3);
	CHECK(e <= mem + 0x100000);

	/* refusals, each with a message */
	CHECK(hvmboot_build(mem, 32ULL << 20, 1, buf, &bz, NULL, 0, "", &hl,
	    err, sizeof(err)) == -1 && strstr(err, "memory") != NULL);
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	CHECK(hvmboot_build(mem, MEM, 1, buf, &bz, NULL, 0, longline, &hl,
	    err, sizeof(err)) == -1 && strstr(err, "--cmdline") != NULL);
	CHECK(hvmboot_build(mem, MEM, 1, buf, &bz, mem, MEM - (4 << 20), "",
	    &hl, err, sizeof(err)) == -1 && strstr(err, "initrd") != NULL);
	CHECK(hvmboot_build(mem, MEM, 65, buf, &bz, NULL, 0, "", &hl, err,
	    sizeof(err)) == -1 && strstr(err, "vCPUs") != NULL);
	bz.bz_init_size = MEM;
	CHECK(hvmboot_build(mem, MEM, 1, buf, &bz, NULL, 0, "", &hl, err,
	    sizeof(err)) == -1 && strstr(err, "unpack") != NULL);
	free(mem);
}

static void
test_uart(void)
{
	struct uart u;
	uint8_t out = 0;

	uart_init(&u);
	/* autoconfig: IER reads back, loopback mirrors MCR into MSR */
	uart_write(&u, 1, 0, &out);
	CHECK_EQ(uart_read(&u, 1), 0);
	uart_write(&u, 1, 0x0f, &out);
	CHECK_EQ(uart_read(&u, 1), 0x0f);
	uart_write(&u, 1, 0, &out);
	uart_write(&u, 4, 0x1a, &out);
	CHECK_EQ(uart_read(&u, 6) & 0xf0, 0x90);
	CHECK(uart_write(&u, 0, 'x', &out) == 0);	/* looped back */
	uart_write(&u, 4, 0x0b, &out);
	/* FIFO shows in IIR; scratch register holds */
	uart_write(&u, 2, 0x01, &out);
	CHECK_EQ(uart_read(&u, 2) & 0xc0, 0xc0);
	uart_write(&u, 7, 0xa5, &out);
	CHECK_EQ(uart_read(&u, 7), 0xa5);
	/* divisor latch */
	uart_write(&u, 3, 0x80, &out);
	uart_write(&u, 0, 0x01, &out);
	uart_write(&u, 1, 0x00, &out);
	CHECK_EQ(uart_read(&u, 0), 1);
	uart_write(&u, 3, 0x03, &out);
	/* transmit: the byte comes out, THRE interrupts, IIR acknowledges */
	CHECK_EQ(uart_read(&u, 5) & 0x60, 0x60);
	CHECK(!uart_irq(&u));
	uart_write(&u, 1, 0x02, &out);
	CHECK(uart_irq(&u));
	CHECK_EQ(uart_read(&u, 2) & 0x0f, 0x02);
	CHECK(!uart_irq(&u));
	CHECK_EQ(uart_read(&u, 2) & 0x0f, 0x01);
	CHECK(uart_write(&u, 0, 'A', &out) == 1 && out == 'A');
	CHECK(uart_irq(&u));
	uart_write(&u, 1, 0x00, &out);
	CHECK(!uart_irq(&u));
}

/*
 * A vmlinux in miniature: text at 16 MiB linked at the kernel map, data
 * with bss after it; entry at the physical address of the text.
 */
#define VML_TEXT	0x1000000ULL
#define VML_DATA	0x1200000ULL
#define VML_FILE	0x3000

static size_t
mkvmlinux(uint8_t *buf, uint64_t text_paddr)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)(void *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(void *)(buf + sizeof(*eh));

	memset(buf, 0, VML_FILE);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = text_paddr;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	ph[0].p_type = PT_LOAD;
	ph[0].p_flags = PF_R | PF_X;
	ph[0].p_offset = 0x1000;
	ph[0].p_vaddr = 0xffffffff81000000ULL;
	ph[0].p_paddr = text_paddr;
	ph[0].p_filesz = ph[0].p_memsz = 0x1000;
	ph[1].p_type = PT_LOAD;
	ph[1].p_flags = PF_R | PF_W;
	ph[1].p_offset = 0x2000;
	ph[1].p_vaddr = 0xffffffff81200000ULL;
	ph[1].p_paddr = VML_DATA;
	ph[1].p_filesz = 0x1000;
	ph[1].p_memsz = 0x100000;		/* bss */
	memset(buf + 0x1000, 0xcc, 0x1000);
	memset(buf + 0x2000, 0xdd, 0x1000);
	return VML_FILE;
}

static void
test_vmlinux(void)
{
	static uint8_t k[VML_FILE];
	uint8_t *mem = calloc(1, MEM), *zp, initrd[5000];
	struct bz_image bz;
	struct hvm_layout hl;
	char err[256], big[2100];
	size_t n = mkvmlinux(k, VML_TEXT);

	CHECK(mem != NULL);
	if (mem == NULL)
		return;
	CHECK(vmlinux_parse(k, n, &bz, err, sizeof(err)) == 0);
	CHECK(bz.bz_elf && bz.bz_img.ei_nseg == 2);
	CHECK_EQ(bz.bz_img.ei_hi, VML_DATA + 0x100000);
	memset(initrd, 0x5a, sizeof(initrd));
	CHECK(hvmboot_build(mem, MEM, 2, k, &bz, initrd, sizeof(initrd),
	    "console=ttyS0", &hl, err, sizeof(err)) == 0);
	/* the ELF entry, segments at their physical addresses */
	CHECK_EQ(hl.hl_entry, VML_TEXT);
	CHECK(mem[VML_TEXT] == 0xcc && mem[VML_TEXT + 0xfff] == 0xcc);
	CHECK(mem[VML_DATA] == 0xdd && mem[VML_DATA + 0x1000] == 0);
	CHECK(mem[HVM_KERNEL] == 0);	/* nothing at 1 MiB */
	/* the header a loader would have found */
	zp = mem + HVM_ZERO_PAGE;
	CHECK_EQ(rd32(zp + 0x1fe) & 0xffff, 0xaa55);
	CHECK_EQ(rd32(zp + 0x202), 0x53726448);
	CHECK_EQ(rd32(zp + 0x206) & 0xffff, VMLINUX_VERSION);
	CHECK_EQ(zp[0x210], 0xff);
	CHECK_EQ(zp[0x211] & 0x81, 0x81);
	CHECK_EQ(rd32(zp + 0x228), HVM_CMDLINE);
	/* the initrd above the bss */
	CHECK(hl.hl_initrd >= VML_DATA + 0x100000);
	CHECK(mem[hl.hl_initrd] == 0x5a);
	CHECK_EQ(rd32(zp + 0x218), hl.hl_initrd);
	CHECK(zp[0x1e8] == 4);
	/* x86's command line limit */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(hvmboot_build(mem, MEM, 1, k, &bz, NULL, 0, big, &hl, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "at most 2047") != NULL);
	/* not below 1 MiB: our zero page and tables live there */
	mkvmlinux(k, 0x80000);
	CHECK(vmlinux_parse(k, n, &bz, err, sizeof(err)) == -1);
	CHECK(strstr(err, "below the lowest load address") != NULL);
	/* truncated */
	mkvmlinux(k, VML_TEXT);
	CHECK(vmlinux_parse(k, 0x2800, &bz, err, sizeof(err)) == -1);
	CHECK(strstr(err, "a vmlinux that cannot be loaded") != NULL &&
	    strstr(err, "truncated") != NULL);
	/* a kernel that does not fit the memory given */
	CHECK(vmlinux_parse(k, n, &bz, err, sizeof(err)) == 0);
	bz.bz_img.ei_hi = MEM + 1;
	bz.bz_init_size = bz.bz_img.ei_hi - HVM_KERNEL;
	CHECK(hvmboot_build(mem, MEM, 1, k, &bz, NULL, 0, "x", &hl, err,
	    sizeof(err)) == -1);
	free(mem);
}

int
main(void)
{
	test_parse();
	test_build();
	test_vmlinux();
	test_uart();
	return t_done("test_hvmboot");
}
