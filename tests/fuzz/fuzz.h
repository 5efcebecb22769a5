/* What every libFuzzer driver here shares. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* FUZZ_ASAN: built with ASan, whose poisoning drivers may use. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#ifdef FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#endif


/* An invariant of the code under test: a trap is what libFuzzer reports. */
#define CHECK(c)							\
	do {								\
		if (!(c)) {						\
			fprintf(stderr, "%s:%d: invariant violated: %s\n", \
			    __FILE__, __LINE__, #c);			\
			__builtin_trap();				\
		}							\
	} while (0)

#endif /* FUZZ_H */
