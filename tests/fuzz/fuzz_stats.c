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
 *  - stats_print on an accepted file returns -1 exactly when a section's
 *    seqlock word is odd (a writer died mid-update), 0 otherwise.
 *
 * A section whose seqlock word is odd makes stats_print spin for its full
 * retry budget (a million reads); that path is kept, since it is the one
 * a crashed writer leaves behind, but it costs a few ms per such input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xen.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

#define CHECK(c)							\
	do {								\
		if (!(c)) {						\
			fprintf(stderr, "fuzz_stats: %s:%d: invariant "	\
			    "violated: %s\n", __FILE__, __LINE__, #c);	\
			__builtin_trap();				\
		}							\
	} while (0)

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

static int
fuzz_seq_odd(const uint8_t *buf, uint64_t off)
{
	uint32_t seq;

	memcpy(&seq, buf + off, sizeof(seq));
	return seq & 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xeno_stats_hdr h;
	char err[256];
	uint8_t *buf;
	uint64_t now, end;
	unsigned int i;
	int json, rc, odd;

	buf = malloc(size ? size : 1);
	if (buf == NULL)
		abort();
	memcpy(buf, data, size);

	err[0] = '\0';
	if (stats_check(buf, size, err, sizeof(err)) == -1) {
		CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
		goto out;
	}

	memcpy(&h, buf, sizeof(h));
	CHECK(h.sh_nr_vcpus >= 1 && h.sh_nr_vcpus <= XENO_STATS_MAX_VCPUS);
	CHECK(h.sh_vcpu_size >= sizeof(struct xeno_stats_vcpu));
	CHECK((uintptr_t)(buf + h.sh_domain_off) % 8 == 0 &&
	    (uintptr_t)(buf + h.sh_vcpu_off) % 8 == 0 &&
	    h.sh_vcpu_size % 8 == 0);
	CHECK((uint64_t)h.sh_domain_off + sizeof(struct xeno_stats_domain) <=
	    size);
	odd = fuzz_seq_odd(buf, h.sh_domain_off);
	for (i = 0; i < h.sh_nr_vcpus; i++) {
		uint64_t off = (uint64_t)h.sh_vcpu_off +
		    (uint64_t)i * h.sh_vcpu_size;

		end = off + sizeof(struct xeno_stats_vcpu);
		CHECK(end <= size);
		odd |= fuzz_seq_odd(buf, off);
	}
	CHECK((uint64_t)h.sh_dev_off + h.sh_dev_size <= size);

	now = h.sh_start_ns + ((uint64_t)h.sh_pad << 24);
	/* Only one format when the retry loop will run: it is the slow part. */
	for (json = odd ? h.sh_pad & 1 : 0; json <= 1; json += odd ? 2 : 1) {
		rc = stats_print(buf, json, now);
		CHECK(rc == (odd ? -1 : 0));
	}
out:
	free(buf);
	return 0;
}
