/*
 * ELF64 guest images.  The image is untrusted: elf_parse() checks every
 * header field it relies on against the file size and the guest memory it
 * will be copied into, and says precisely what is wrong.  It is pure (the
 * caller reads the file), so unit tests and fuzzers drive it directly.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xen.h"
#include "xeno/log.h"

/* Every error of this file: message in (err, errsz), errno ENOEXEC. */
#define ELF_ERR(...)	err_set(err, errsz, ENOEXEC, __VA_ARGS__)

/*
 * Check the image in buf[0..len) and describe its loadable segments in
 * `img`.  Every segment must lie in [lo, hi) of guest memory, segments must
 * not overlap, and the entry point must be in an executable segment.
 * PV images are identity mapped (virtual address = physical); a Linux
 * vmlinux (elf_parse_kernel) is loaded by physical address and runs
 * wherever its page tables say.
 */
static int
elf_parse_at(const uint8_t *buf, size_t len, uint64_t lo, uint64_t hi,
    int identity, struct elf_image *img, char *err, size_t errsz)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	uint64_t end, phend;
	int i, j, entry_ok = 0;

	memset(img, 0, sizeof(*img));
	if (len < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG) != 0)
		return ELF_ERR("not an ELF file (no \\177ELF "
		    "magic at offset 0)");
	if (buf[EI_CLASS] != ELFCLASS64)
		return ELF_ERR("not an ELF64 image (class %u; "
		    "PV guests are 64-bit)", buf[EI_CLASS]);
	if (len < sizeof(eh))
		return ELF_ERR("truncated ELF header (%zu of %zu "
		    "bytes)", len, sizeof(eh));
	memcpy(&eh, buf, sizeof(eh));
	if (buf[EI_DATA] != ELFDATA2LSB)
		return ELF_ERR("not a little-endian image");
	if (buf[EI_VERSION] != EV_CURRENT || eh.e_version != EV_CURRENT)
		return ELF_ERR("unknown ELF version %u",
		    eh.e_version);
	if (eh.e_machine != EM_X86_64)
		return ELF_ERR("not an x86-64 image (machine %u)",
		    eh.e_machine);
	if (eh.e_type != ET_EXEC)
		return ELF_ERR("not a static executable (ELF type "
		    "%u; PV guests are linked with -static -no-pie)",
		    eh.e_type);
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return ELF_ERR("bad program header size %u "
		    "(expected %zu)", eh.e_phentsize, sizeof(Elf64_Phdr));
	if (eh.e_phnum == 0 || eh.e_phnum == PN_XNUM)
		return ELF_ERR("no program headers");
	if (__builtin_mul_overflow((uint64_t)eh.e_phnum, sizeof(Elf64_Phdr),
	    &phend) || __builtin_add_overflow(phend, eh.e_phoff, &phend) ||
	    phend > len)
		return ELF_ERR("program headers (%u at offset "
		    "%llu) lie outside the %zu-byte file (truncated image?)",
		    eh.e_phnum, (unsigned long long)eh.e_phoff, len);

	img->ei_entry = eh.e_entry;
	img->ei_lo = UINT64_MAX;
	for (i = 0; i < eh.e_phnum; i++) {
		struct elf_seg *s;

		memcpy(&ph, buf + eh.e_phoff + (uint64_t)i * sizeof(ph),
		    sizeof(ph));
		if (ph.p_type == PT_INTERP || ph.p_type == PT_DYNAMIC)
			return ELF_ERR("dynamically linked image "
			    "(program header %d); link with -static", i);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (img->ei_nseg == ELF_MAX_SEGS)
			return ELF_ERR("more than %d loadable "
			    "segments", ELF_MAX_SEGS);
		if (ph.p_filesz > ph.p_memsz)
			return ELF_ERR("segment %d has more file "
			    "bytes (%llu) than memory bytes (%llu)", i,
			    (unsigned long long)ph.p_filesz,
			    (unsigned long long)ph.p_memsz);
		if (__builtin_add_overflow(ph.p_offset, ph.p_filesz, &end) ||
		    end > len)
			return ELF_ERR("segment %d file data "
			    "[%llu, +%llu) lies outside the %zu-byte file "
			    "(truncated image?)", i,
			    (unsigned long long)ph.p_offset,
			    (unsigned long long)ph.p_filesz, len);
		if (__builtin_add_overflow(ph.p_paddr, ph.p_memsz, &end))
			return ELF_ERR("segment %d wraps around "
			    "the address space", i);
		if (ph.p_paddr < lo)
			return ELF_ERR("segment %d at 0x%llx is "
			    "below the lowest load address 0x%llx", i,
			    (unsigned long long)ph.p_paddr,
			    (unsigned long long)lo);
		if (end > hi)
			return ELF_ERR("segment %d "
			    "[0x%llx-0x%llx) does not fit in guest memory "
			    "(ends at 0x%llx; give more --mem)", i,
			    (unsigned long long)ph.p_paddr,
			    (unsigned long long)end, (unsigned long long)hi);
		if (identity && ph.p_vaddr != ph.p_paddr)
			return ELF_ERR("segment %d virtual "
			    "address 0x%llx differs from its physical address "
			    "0x%llx (PV guests are identity mapped)", i,
			    (unsigned long long)ph.p_vaddr,
			    (unsigned long long)ph.p_paddr);
		for (j = 0; j < img->ei_nseg; j++) {
			const struct elf_seg *o = &img->ei_seg[j];

			if (ph.p_paddr < o->es_vaddr + o->es_memsz &&
			    o->es_vaddr < end)
				return ELF_ERR("segment %d "
				    "[0x%llx-0x%llx) overlaps an earlier "
				    "segment [0x%llx-0x%llx)", i,
				    (unsigned long long)ph.p_paddr,
				    (unsigned long long)end,
				    (unsigned long long)o->es_vaddr,
				    (unsigned long long)(o->es_vaddr +
				    o->es_memsz));
		}
		s = &img->ei_seg[img->ei_nseg++];
		s->es_vaddr = ph.p_paddr;
		s->es_memsz = ph.p_memsz;
		s->es_filesz = ph.p_filesz;
		s->es_offset = ph.p_offset;
		s->es_flags = ph.p_flags & (PF_R | PF_W | PF_X);
		if (ph.p_paddr < img->ei_lo)
			img->ei_lo = ph.p_paddr;
		if (end > img->ei_hi)
			img->ei_hi = end;
		if ((ph.p_flags & PF_X) && eh.e_entry >= ph.p_paddr &&
		    eh.e_entry < end)
			entry_ok = 1;
	}
	if (img->ei_nseg == 0)
		return ELF_ERR("no loadable segments");
	if (!entry_ok)
		return ELF_ERR("entry point 0x%llx is not inside "
		    "an executable segment", (unsigned long long)eh.e_entry);
	return 0;
}

int
elf_parse(const uint8_t *buf, size_t len, uint64_t lo, uint64_t hi,
    struct elf_image *img, char *err, size_t errsz)
{
	return elf_parse_at(buf, len, lo, hi, 1, img, err, errsz);
}

int
elf_parse_kernel(const uint8_t *buf, size_t len, uint64_t lo, uint64_t hi,
    struct elf_image *img, char *err, size_t errsz)
{
	return elf_parse_at(buf, len, lo, hi, 0, img, err, errsz);
}

/* Is p[0..n) all zero bytes? */
static int
elf_zero(const uint8_t *p, size_t n)
{
	uint64_t w = 0, v;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&v, p + i, 8);
		w |= v;
	}
	for (; i < n; i++)
		w |= p[i];
	return w == 0;
}

/*
 * Copy the file bytes of every segment into guest memory `mem` (gpa 0).
 * The rest of each segment (bss) is left as it is: guest memory starts
 * zeroed.  So are pages of file bytes that are all zeros (a vmlinux
 * carries its bss and brk as ~26 MB of them): they are not written, and
 * the guest memory behind them is never touched.  elf_parse() has
 * checked every range.
 */
void
elf_copy(const struct elf_image *img, const uint8_t *buf, uint8_t *mem)
{
	const size_t page = 4096;
	uint64_t off, n;
	int i;

	for (i = 0; i < img->ei_nseg; i++) {
		const struct elf_seg *s = &img->ei_seg[i];

		for (off = 0; off < s->es_filesz; off += n) {
			n = s->es_filesz - off < page ? s->es_filesz - off :
			    page;
			if (!elf_zero(buf + s->es_offset + off, (size_t)n))
				memcpy(mem + s->es_vaddr + off,
				    buf + s->es_offset + off, (size_t)n);
		}
	}
}
