/*
 * elf.c: valid images load; every malformed one is refused with a message,
 * including every truncation and thousands of random corruptions of a
 * valid image (never a crash, never a segment outside the bounds given).
 */
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "xen.h"

#define LO	0x100000ULL
#define HI	(16ULL << 20)

struct seg {
	uint64_t	vaddr, memsz, filesz;
	uint32_t	flags, type;
};

/* An ET_EXEC x86-64 image with the given segments; data bytes = index. */
static size_t
mkelf(uint8_t *buf, size_t cap, uint64_t entry, const struct seg *s, int n)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	size_t off = sizeof(eh) + (size_t)n * sizeof(ph);
	int i;

	memset(buf, 0, cap);
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = entry;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = (uint16_t)n;
	memcpy(buf, &eh, sizeof(eh));
	for (i = 0; i < n; i++) {
		memset(&ph, 0, sizeof(ph));
		ph.p_type = s[i].type ? s[i].type : PT_LOAD;
		ph.p_flags = s[i].flags;
		ph.p_offset = off;
		ph.p_vaddr = ph.p_paddr = s[i].vaddr;
		ph.p_filesz = s[i].filesz;
		ph.p_memsz = s[i].memsz;
		ph.p_align = 4096;
		memcpy(buf + sizeof(eh) + (size_t)i * sizeof(ph), &ph,
		    sizeof(ph));
		if (off + s[i].filesz <= cap)
			memset(buf + off, 0x10 + i, s[i].filesz);
		off += s[i].filesz;
	}
	return off;
}

static const struct seg good[] = {
	{ 0x100000, 0x2000, 0x1800, PF_R | PF_X, 0 },
	{ 0x102000, 0x1000, 0x100, PF_R, 0 },
	{ 0x103000, 0x5000, 0x200, PF_R | PF_W, 0 },
};

static int
refused(const uint8_t *buf, size_t len, const char *want)
{
	struct elf_image img;
	char err[256] = "";
	int rc = elf_parse(buf, len, LO, HI, &img, err, sizeof(err));

	if (rc != -1 || strstr(err, want) == NULL) {
		fprintf(stderr, "expected refusal with '%s', got rc %d '%s'\n",
		    want, rc, err);
		return 0;
	}
	return 1;
}

static void
test_good(void)
{
	static uint8_t buf[65536];
	struct elf_image img;
	char err[256];
	uint8_t *mem;
	size_t len = mkelf(buf, sizeof(buf), 0x100010, good, 3);

	CHECK(elf_parse(buf, len, LO, HI, &img, err, sizeof(err)) == 0);
	CHECK_EQ(img.ei_nseg, 3);
	CHECK_EQ(img.ei_entry, 0x100010);
	CHECK_EQ(img.ei_lo, 0x100000);
	CHECK_EQ(img.ei_hi, 0x108000);
	CHECK_EQ(img.ei_seg[2].es_flags, PF_R | PF_W);
	mem = calloc(1, HI);
	elf_copy(&img, buf, mem);
	CHECK_EQ(mem[0x100000], 0x10);
	CHECK_EQ(mem[0x1017ff], 0x10);
	CHECK_EQ(mem[0x101800], 0);	/* bss of segment 0 */
	CHECK_EQ(mem[0x1020ff], 0x11);
	CHECK_EQ(mem[0x102100], 0);
	CHECK_EQ(mem[0x1031ff], 0x12);
	CHECK_EQ(mem[0x103200], 0);
	free(mem);
}

static void
test_bad(void)
{
	static uint8_t buf[65536];
	struct seg s[20];
	size_t len;
	Elf64_Ehdr *eh = (Elf64_Ehdr *)(void *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(void *)(buf + sizeof(*eh));
	int i;

	CHECK(refused((const uint8_t *)"", 0, "not an ELF file"));
	CHECK(refused((const uint8_t *)"MZ\x90\x00", 4, "not an ELF file"));

	len = mkelf(buf, sizeof(buf), 0x100010, good, 3);
	buf[EI_CLASS] = ELFCLASS32;
	CHECK(refused(buf, len, "not an ELF64"));

	len = mkelf(buf, sizeof(buf), 0x100010, good, 3);
	CHECK(refused(buf, 40, "truncated ELF header"));

	eh->e_machine = EM_AARCH64;
	CHECK(refused(buf, len, "not an x86-64"));

	len = mkelf(buf, sizeof(buf), 0x100010, good, 3);
	eh->e_type = ET_DYN;
	CHECK(refused(buf, len, "not a static executable"));

	len = mkelf(buf, sizeof(buf), 0x100010, good, 3);
	eh->e_phentsize = 32;
	CHECK(refused(buf, len, "program header size"));

	len = mkelf(buf, sizeof(buf), 0x100010, good, 3);
	eh->e_phoff = len - 10;
	CHECK(refused(buf, len, "outside the"));

	len = mkelf(buf, sizeof(buf), 0x100010, good, 3);
	eh->e_phoff = UINT64_MAX - 8;
	CHECK(refused(buf, len, "outside the"));

	len = mkelf(buf, sizeof(buf), 0x100010, good, 3);
	eh->e_phnum = 0;
	CHECK(refused(buf, len, "no program headers"));

	len = mkelf(buf, sizeof(buf), 0x100010, good, 3);
	CHECK(refused(buf, len - 1, "truncated image"));

	len = mkelf(buf, sizeof(buf), 0x100010, good, 3);
	ph[1].p_filesz = ph[1].p_memsz + 1;
	CHECK(refused(buf, len, "more file bytes"));

	len = mkelf(buf, sizeof(buf), 0x100010, good, 3);
	ph[1].p_offset = UINT64_MAX - 4;
	CHECK(refused(buf, len, "outside the"));

	memcpy(s, good, sizeof(good));
	s[0].vaddr = 0x1000;
	len = mkelf(buf, sizeof(buf), 0x1010, s, 3);
	CHECK(refused(buf, len, "below the lowest load address"));

	memcpy(s, good, sizeof(good));
	s[2].memsz = HI;
	len = mkelf(buf, sizeof(buf), 0x100010, s, 3);
	CHECK(refused(buf, len, "does not fit in guest memory"));

	memcpy(s, good, sizeof(good));
	s[2].vaddr = UINT64_MAX - 0x100;
	len = mkelf(buf, sizeof(buf), 0x100010, s, 3);
	CHECK(refused(buf, len, "wraps around"));

	memcpy(s, good, sizeof(good));
	s[1].vaddr = 0x101000;
	len = mkelf(buf, sizeof(buf), 0x100010, s, 3);
	CHECK(refused(buf, len, "overlaps"));

	len = mkelf(buf, sizeof(buf), 0x102010, good, 3);
	CHECK(refused(buf, len, "entry point 0x102010 is not inside"));

	len = mkelf(buf, sizeof(buf), 0x100010, good, 3);
	ph[0].p_vaddr = 0xffffffff80100000ULL;
	CHECK(refused(buf, len, "identity mapped"));

	memcpy(s, good, sizeof(good));
	s[1].type = PT_INTERP;
	len = mkelf(buf, sizeof(buf), 0x100010, s, 3);
	CHECK(refused(buf, len, "dynamically linked"));

	for (i = 0; i < 17; i++) {
		s[i].vaddr = 0x100000 + (uint64_t)i * 0x1000;
		s[i].memsz = 0x1000;
		s[i].filesz = 16;
		s[i].flags = PF_R | PF_X;
		s[i].type = 0;
	}
	len = mkelf(buf, sizeof(buf), 0x100010, s, 17);
	CHECK(refused(buf, len, "more than 16 loadable"));

	memcpy(s, good, sizeof(good));
	s[0].type = PT_NOTE;
	s[1].type = PT_NOTE;
	s[2].type = PT_NOTE;
	len = mkelf(buf, sizeof(buf), 0x100010, s, 3);
	CHECK(refused(buf, len, "no loadable segments"));
}

/* Every prefix and many random corruptions: refused or fully in bounds. */
static void
test_hostile(void)
{
	static uint8_t orig[8192], buf[8192];
	struct elf_image img;
	char err[256];
	size_t len = mkelf(orig, sizeof(orig), 0x100010, good, 3), n;
	int i, j, ok = 1, bad_ok = 0;

	for (n = 0; n < len; n++)
		if (elf_parse(orig, n, LO, HI, &img, err, sizeof(err)) != -1)
			ok = 0;
	CHECK(ok);

	srandom(42);
	for (i = 0; i < 20000; i++) {
		memcpy(buf, orig, len);
		for (j = 0; j < 1 + random() % 8; j++) {
			size_t at = (size_t)random() % (sizeof(Elf64_Ehdr) +
			    3 * sizeof(Elf64_Phdr));

			buf[at] = (uint8_t)random();
		}
		if (elf_parse(buf, len, LO, HI, &img, err, sizeof(err)) == 0) {
			for (j = 0; j < img.ei_nseg; j++) {
				const struct elf_seg *s = &img.ei_seg[j];

				if (s->es_vaddr < LO ||
				    s->es_vaddr + s->es_memsz > HI ||
				    s->es_offset + s->es_filesz > len)
					bad_ok++;
			}
		} else if (err[0] == '\0')
			bad_ok++;
	}
	CHECK_EQ(bad_ok, 0);
}

int
main(void)
{
	test_good();
	test_bad();
	test_hostile();
	return t_done("test_elf");
}
