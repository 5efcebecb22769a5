/*
 * libFuzzer driver: a counters file given to `xeno-hv stat` (stats_check,
 * then stats_print in both output formats).
 *
 * The input is the whole file image, copied into an exactly sized heap
 * buffer (malloc aligns it to 16, as mmap would to a page) so ASan reports
 * any read past the end of the file.  stats_print's `now` comes from the
 * header's padding word, which nothing else reads, so the fuzzer can vary
 * it without disturbing the file it describes.
 *
 * Invariants checked beyond "no sanitizer report":
 *  - stats_check returns 0, or -1 with a message;
 *  - an accepted file's sections all lie inside it (restated here from the
 *    header, independently of stats_check);
 *  - stats_print on an accepted file (seqlock words even) returns 0.
 *
 * The driver makes every seqlock word even before stats_print.  An odd one
 * (a writer that died mid-update) makes stats_print spin through its retry
 * budget, a million reads, some ms per input: the fuzzer found those
 * inputs' rare coverage and then spent 80% of its time in the loop, even
 * when they were gated behind a header bit.  What that leaves unfuzzed is
 * stats_read_section's EAGAIN (tests/unit/test_stats.c checks it) and the
 * two `return -1`s of stats_print after it (the second frees v).
 *
 * A writer changing the header under a reader cannot hurt it: stats_print
 * uses only the header copy stats_check validated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "xen.h"

int	LLVMFuzzerInitialize(int *, char ***);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* stats_print writes to stdout; libFuzzer reports on stderr. */
	if (freopen("/dev/null", "w", stdout) == NULL)
		abort();
	return 0;
}

static void
fuzz_seq_even(uint8_t *buf, uint64_t off)
{
	uint32_t seq;

	memcpy(&seq, buf + off, sizeof(seq));
	seq &= ~1U;
	memcpy(buf + off, &seq, sizeof(seq));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xeno_stats_hdr h;
	char err[256];
	uint8_t *buf;
	uint64_t now;
	unsigned int i;
	int json;

	buf = malloc(size ? size : 1);
	if (buf == NULL)
		abort();
	memcpy(buf, data, size);

	err[0] = '\0';
	if (stats_check(buf, size, &h, err, sizeof(err)) == -1) {
		CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
		goto out;
	}

	CHECK(h.sh_nr_vcpus >= 1 && h.sh_nr_vcpus <= XENO_STATS_MAX_VCPUS);
	CHECK(h.sh_vcpu_size >= sizeof(struct xeno_stats_vcpu));
	CHECK((uintptr_t)(buf + h.sh_domain_off) % 8 == 0 &&
	    (uintptr_t)(buf + h.sh_vcpu_off) % 8 == 0 &&
	    h.sh_vcpu_size % 8 == 0);
	CHECK((uint64_t)h.sh_domain_off + sizeof(struct xeno_stats_domain) <=
	    size);
	/*
	 * Seqlock words sit at offset 0 of 8-aligned sections, so two are
	 * the same word or disjoint: clearing bit 0 of each makes all even.
	 */
	fuzz_seq_even(buf, h.sh_domain_off);
	for (i = 0; i < h.sh_nr_vcpus; i++) {
		uint64_t off = (uint64_t)h.sh_vcpu_off +
		    (uint64_t)i * h.sh_vcpu_size;

		CHECK(off + sizeof(struct xeno_stats_vcpu) <= size);
		fuzz_seq_even(buf, off);
	}
	CHECK((uint64_t)h.sh_dev_off + h.sh_dev_size <= size);
	/* A vCPU section at offset 8 has sh_version as its seqlock word. */
	if (stats_check(buf, size, &h, err, sizeof(err)) == -1)
		goto out;

	now = h.sh_start_ns + ((uint64_t)h.sh_pad << 24);
	for (json = 0; json <= 1; json++)
		CHECK(stats_print(buf, &h, json, now) == 0);
out:
	free(buf);
	return 0;
}
