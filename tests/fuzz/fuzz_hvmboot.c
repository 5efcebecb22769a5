/*
 * libFuzzer driver: a Linux kernel file, as xeno-hv loads it for an HVM
 * guest (vmm_load_hvm): bzimage_parse (or vmlinux_parse for an ELF file),
 * then hvmboot_build into 64 MiB of guest memory with the input's tail as
 * the initrd.
 *
 * The input's last byte picks the vCPUs (1..4) and how much of the input
 * also serves as initrd (0..255 KiB steps of 1 KiB).
 *
 * Invariants beyond "no sanitizer report": an accepted kernel lies inside
 * the file and after its setup (a vmlinux: its segments at 1 MiB and up,
 * inside the file); a build either fails with a message or leaves the
 * entry at 1 MiB + 0x200 (a vmlinux: its ELF entry), the command line
 * where the zero page says, and the initrd page aligned, inside memory
 * and above the kernel.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "xen.h"

#define FUZZ_MEM	(64ULL << 20)

static uint8_t *fuzz_mem;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bz_image bz;
	struct hvm_layout hl;
	char err[256];
	unsigned int vcpus;
	size_t ilen;
	uint8_t *buf;
	uint32_t ptr;
	int k;

	if (fuzz_mem == NULL && (fuzz_mem = calloc(1, FUZZ_MEM)) == NULL)
		abort();
	vcpus = size > 0 ? 1 + data[size - 1] % 4 : 1;
	ilen = size > 0 ? ((size_t)data[size - 1] << 10) : 0;
	if (ilen > size)
		ilen = size;
	buf = malloc(size ? size : 1);
	if (buf == NULL)
		abort();
	memcpy(buf, data, size);

	err[0] = '\0';
	if (size >= 4 && memcmp(buf, "\177ELF", 4) == 0) {
		if (vmlinux_parse(buf, size, &bz, err, sizeof(err)) == -1) {
			CHECK(err[0] != '\0');
			goto out;
		}
		CHECK(bz.bz_elf && bz.bz_img.ei_nseg > 0);
		for (k = 0; k < bz.bz_img.ei_nseg; k++) {
			const struct elf_seg *s = &bz.bz_img.ei_seg[k];

			CHECK(s->es_vaddr >= HVM_KERNEL);
			CHECK(s->es_offset + s->es_filesz <= size);
			CHECK(s->es_vaddr + s->es_memsz <= bz.bz_img.ei_hi);
		}
	} else {
		if (bzimage_parse(buf, size, &bz, err, sizeof(err)) == -1) {
			CHECK(err[0] != '\0');
			goto out;
		}
		CHECK(bz.bz_kernel_off >= 512 && bz.bz_kernel_len > 0);
		CHECK(bz.bz_kernel_off + bz.bz_kernel_len <= size);
		CHECK(0x1f1 + bz.bz_hdr_len <= size &&
		    bz.bz_hdr_len <= 0x2d0 - 0x1f1);
		CHECK(bz.bz_init_size >= bz.bz_kernel_len);
	}
	err[0] = '\0';
	if (hvmboot_build(fuzz_mem, FUZZ_MEM, vcpus, buf, &bz,
	    buf + size - ilen, ilen, "console=ttyS0", &hl, err,
	    sizeof(err)) == -1) {
		CHECK(err[0] != '\0');
		goto out;
	}
	CHECK(hl.hl_entry == (bz.bz_elf ? bz.bz_img.ei_entry :
	    HVM_KERNEL + 0x200));
	memcpy(&ptr, fuzz_mem + HVM_ZERO_PAGE + 0x228, 4);
	CHECK(ptr == HVM_CMDLINE);
	CHECK(strcmp((char *)fuzz_mem + HVM_CMDLINE, "console=ttyS0") == 0);
	if (ilen > 0) {
		CHECK(hl.hl_initrd % 4096 == 0);
		CHECK(hl.hl_initrd >= HVM_KERNEL + bz.bz_init_size);
		CHECK(hl.hl_initrd + ilen <= FUZZ_MEM);
	}
out:
	free(buf);
	return 0;
}
