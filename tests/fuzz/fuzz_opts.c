/*
 * libFuzzer driver: the options of `xeno-hv run` (opts_parse_run) and the
 * size syntax (opts_parse_size).
 *
 * The input is an argv: words separated by NUL bytes (a final NUL is a
 * terminator, not an empty word), at most FUZZ_MAX_ARGS of them.  Each word
 * is a separately allocated string so ASan sees a read past its NUL.
 *
 * Invariants checked beyond "no sanitizer report":
 *  - opts_parse_run returns 0, 1 (--help) or -1 with a message;
 *  - on 0 the configuration is one xeno-hv can run: an image path with
 *    --mem within XENO_PV_MEM_MIN..MAX, or a kernel path with --mem
 *    within HVM_MEM_MIN..MAX and a command line; page aligned, 1..64 vCPUs,
 *    --args that fit the boot page, a --name that fits the counters page,
 *    and every string points into the argv it was given;
 *  - opts_parse_size agrees with an independent reading of the documented
 *    syntax (decimal, optional K/M/G/T with iB or B, or B alone; a bare
 *    number is MiB) on every word.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "xen.h"

#define FUZZ_MAX_ARGS	32

/* The size syntax as docs and opts.c's comment describe it. */
static int
fuzz_ref_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned int shift = 20;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
			return -1;
	switch (*p) {
	case '\0':
		break;
	case 'B':
	case 'b':
		return p[1] == '\0' ? (*out = v, 0) : -1;
	case 'K':
	case 'k':
		shift = 10;
		break;
	case 'M':
	case 'm':
		shift = 20;
		break;
	case 'G':
	case 'g':
		shift = 30;
		break;
	case 'T':
	case 't':
		shift = 40;
		break;
	default:
		return -1;
	}
	if (*p != '\0') {
		p++;
		if (*p != '\0' && strcmp(p, "iB") != 0 && strcmp(p, "B") != 0)
			return -1;
	}
	if (v > (UINT64_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

static int
fuzz_is_arg(const char *s, char *const *argv, int argc)
{
	int i;

	for (i = 0; i < argc; i++)
		if (s >= argv[i] && s <= argv[i] + strlen(argv[i]))
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[FUZZ_MAX_ARGS], err[256];
	struct hv_config cfg;
	uint64_t got, want;
	size_t i, start = 0;
	int argc = 0, rc, rrc, k;

	for (i = 0; i <= size && argc < FUZZ_MAX_ARGS; i++) {
		if (i < size && data[i] != '\0')
			continue;
		if (i == size && start == size && size > 0)
			break;	/* input ended with a NUL */
		if (i == size && size == 0)
			break;	/* no words at all */
		argv[argc] = malloc(i - start + 1);
		if (argv[argc] == NULL)
			abort();
		memcpy(argv[argc], data + start, i - start);
		argv[argc][i - start] = '\0';
		argc++;
		start = i + 1;
	}

	for (k = 0; k < argc; k++) {
		got = want = 0xdeadbeef;
		rc = opts_parse_size(argv[k], &got);
		rrc = fuzz_ref_size(argv[k], &want);
		CHECK(rc == rrc);
		if (rc == 0)
			CHECK(got == want);
		else
			CHECK(got == 0xdeadbeef);	/* untouched on error */
	}

	err[0] = '\0';
	rc = opts_parse_run(argc, (const char *const *)argv, &cfg, err,
	    sizeof(err));
	CHECK(rc == 0 || rc == 1 || rc == -1);
	if (rc == -1)
		CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
	if (rc == 0) {
		/* exactly one guest: a PV image or an HVM kernel */
		CHECK((cfg.hc_image == NULL) != (cfg.hc_kernel == NULL));
		if (cfg.hc_image != NULL) {
			CHECK(cfg.hc_image[0] != '\0');
			CHECK(fuzz_is_arg(cfg.hc_image, argv, argc));
			CHECK(cfg.hc_mem >= XENO_PV_MEM_MIN &&
			    cfg.hc_mem <= XENO_PV_MEM_MAX);
			CHECK(cfg.hc_initrd == NULL && cfg.hc_cmdline == NULL);
		} else {
			CHECK(cfg.hc_kernel[0] != '\0');
			CHECK(fuzz_is_arg(cfg.hc_kernel, argv, argc));
			CHECK(cfg.hc_mem >= HVM_MEM_MIN &&
			    cfg.hc_mem <= HVM_MEM_MAX);
			CHECK(cfg.hc_cmdline != NULL &&
			    strlen(cfg.hc_cmdline) < HVM_CMDLINE_MAX);
			CHECK(cfg.hc_args[0] == '\0');
			if (cfg.hc_initrd != NULL)
				CHECK(cfg.hc_initrd[0] != '\0' &&
				    fuzz_is_arg(cfg.hc_initrd, argv, argc));
		}
		CHECK(cfg.hc_mem % XENO_PV_PAGE_SIZE == 0);
		CHECK(cfg.hc_vcpus >= 1 && cfg.hc_vcpus <= XENO_PV_MAX_VCPUS);
		CHECK(cfg.hc_args != NULL &&
		    strlen(cfg.hc_args) < XENO_PV_CMDLINE_MAX);
		CHECK(cfg.hc_console == HV_CONSOLE_STDIO ||
		    cfg.hc_console == HV_CONSOLE_FILE ||
		    cfg.hc_console == HV_CONSOLE_UNIX ||
		    cfg.hc_console == HV_CONSOLE_NONE);
		if (cfg.hc_console == HV_CONSOLE_FILE ||
		    cfg.hc_console == HV_CONSOLE_UNIX)
			CHECK(cfg.hc_console_path != NULL &&
			    cfg.hc_console_path[0] != '\0' &&
			    fuzz_is_arg(cfg.hc_console_path, argv, argc));
		if (cfg.hc_stats != NULL)
			CHECK(cfg.hc_stats[0] != '\0' &&
			    fuzz_is_arg(cfg.hc_stats, argv, argc));
		if (cfg.hc_name != NULL)
			CHECK(cfg.hc_name[0] != '\0' &&
			    strlen(cfg.hc_name) < XENO_STATS_NAME_MAX &&
			    fuzz_is_arg(cfg.hc_name, argv, argc));
	}

	for (k = 0; k < argc; k++)
		free(argv[k]);
	return 0;
}
