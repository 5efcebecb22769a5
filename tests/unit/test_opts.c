/* opts.c: sizes, every option, and a clear message for every bad one. */
#include <stdarg.h>
#include <string.h>

#include "t.h"
#include "xen.h"

static int
parse(const char *want_err, int argc, ...)
{
	const char *argv[16];
	char err[256] = "";
	struct hv_config cfg;
	va_list ap;
	int i, rc;

	va_start(ap, argc);
	for (i = 0; i < argc; i++)
		argv[i] = va_arg(ap, const char *);
	va_end(ap);
	rc = opts_parse_run(argc, argv, &cfg, err, sizeof(err));
	if (want_err == NULL)
		return rc == 0;
	if (rc != -1 || strstr(err, want_err) == NULL) {
		fprintf(stderr, "want error '%s', got rc %d '%s'\n", want_err,
		    rc, err);
		return 0;
	}
	return 1;
}

int
main(void)
{
	struct hv_config cfg;
	char err[256];
	uint64_t v;
	const char *a1[] = { "--image", "g.elf", "--mem=64M", "--vcpus", "2",
	    "--args", "seconds=5", "--console", "file:/tmp/c", "--stats",
	    "s.stats", "--name", "dom1" };
	const char *a2[] = { "--image=x" };
	const char *a3[] = { "--image", "x", "--help" };

	CHECK(opts_parse_size("16M", &v) == 0 && v == 16ULL << 20);
	CHECK(opts_parse_size("16MiB", &v) == 0 && v == 16ULL << 20);
	CHECK(opts_parse_size("16", &v) == 0 && v == 16ULL << 20);
	CHECK(opts_parse_size("1G", &v) == 0 && v == 1ULL << 30);
	CHECK(opts_parse_size("4096B", &v) == 0 && v == 4096);
	CHECK(opts_parse_size("512k", &v) == 0 && v == 512ULL << 10);
	CHECK(opts_parse_size("", &v) == -1);
	CHECK(opts_parse_size("-1M", &v) == -1);
	CHECK(opts_parse_size("16X", &v) == -1);
	CHECK(opts_parse_size("16Mx", &v) == -1);
	CHECK(opts_parse_size("99999999999999999999", &v) == -1);
	CHECK(opts_parse_size("17179869184T", &v) == -1);	/* 2^64 */

	CHECK(opts_parse_run(13, a1, &cfg, err, sizeof(err)) == 0);
	CHECK(strcmp(cfg.hc_image, "g.elf") == 0);
	CHECK_EQ(cfg.hc_mem, 64ULL << 20);
	CHECK_EQ(cfg.hc_vcpus, 2);
	CHECK(strcmp(cfg.hc_args, "seconds=5") == 0);
	CHECK(cfg.hc_console == HV_CONSOLE_FILE);
	CHECK(strcmp(cfg.hc_console_path, "/tmp/c") == 0);
	CHECK(strcmp(cfg.hc_stats, "s.stats") == 0);
	CHECK(strcmp(cfg.hc_name, "dom1") == 0);

	CHECK(opts_parse_run(1, a2, &cfg, err, sizeof(err)) == 0);
	CHECK_EQ(cfg.hc_mem, 16ULL << 20);	/* defaults */
	CHECK(cfg.hc_console == HV_CONSOLE_STDIO);
	{
		const char *u1[] = { "--image", "g.elf", "--console",
		    "unix:/run/c.sock" };
		const char *u2[] = { "--image", "g.elf", "--console",
		    "unix:" };

		CHECK(opts_parse_run(4, u1, &cfg, err, sizeof(err)) == 0);
		CHECK(cfg.hc_console == HV_CONSOLE_UNIX);
		CHECK(strcmp(cfg.hc_console_path, "/run/c.sock") == 0);
		CHECK(opts_parse_run(4, u2, &cfg, err, sizeof(err)) == -1);
		CHECK(strstr(err, "unix:PATH") != NULL);
	}
	CHECK(opts_parse_run(1, a2, &cfg, err, sizeof(err)) == 0);
	CHECK_EQ(cfg.hc_vcpus, 1);
	CHECK(cfg.hc_console == HV_CONSOLE_STDIO);
	CHECK(cfg.hc_stats == NULL);
	CHECK(opts_parse_run(3, a3, &cfg, err, sizeof(err)) == 1);

	CHECK(parse("no guest image", 0));
	CHECK(parse("unknown option '--bogus'", 3, "--image", "x", "--bogus"));
	CHECK(parse("needs a value", 1, "--image"));
	CHECK(parse("unexpected argument 'x'", 1, "x"));
	CHECK(parse("is not a size", 4, "--image", "x", "--mem", "lots"));
	CHECK(parse("too small", 4, "--image", "x", "--mem", "1M"));
	CHECK(parse("too large", 4, "--image", "x", "--mem", "8G"));
	CHECK(parse("whole number of", 4, "--image", "x", "--mem", "4097K"));
	CHECK(parse("from 1 to 64", 4, "--image", "x", "--vcpus", "0"));
	CHECK(parse("from 1 to 64", 4, "--image", "x", "--vcpus", "65"));
	CHECK(parse("from 1 to 64", 4, "--image", "x", "--vcpus", "2x"));
	CHECK(parse("not one of", 4, "--image", "x", "--console", "tty"));
	CHECK(parse("not one of", 4, "--image", "x", "--console", "file:"));
	CHECK(parse("--name must be", 4, "--image", "x", "--name", ""));
	CHECK(parse("needs a path", 2, "--image", ""));
	CHECK(parse(NULL, 4, "--image", "x", "--mem", "4G"));
	{
		static char big[XENO_PV_CMDLINE_MAX + 1];

		memset(big, 'a', XENO_PV_CMDLINE_MAX);
		CHECK(parse("longer than", 4, "--image", "x", "--args", big));
	}
	/* HVM guests: --kernel, its defaults and what it excludes */
	{
		const char *k1[] = { "--kernel", "vmlinuz", "--initrd", "i.img",
		    "--vcpus", "2" };

		CHECK(opts_parse_run(6, k1, &cfg, err, sizeof(err)) == 0);
		CHECK(cfg.hc_image == NULL && strcmp(cfg.hc_kernel,
		    "vmlinuz") == 0 && strcmp(cfg.hc_initrd, "i.img") == 0);
		CHECK_EQ(cfg.hc_mem, HVM_MEM_DEFAULT);
		CHECK(strcmp(cfg.hc_cmdline, HVM_CMDLINE_DEFAULT) == 0);
	}
	CHECK(parse(NULL, 4, "--kernel", "k", "--cmdline", "console=ttyS0"));
	CHECK(parse(NULL, 4, "--kernel", "k", "--mem", "3G"));
	CHECK(parse("exclude each other", 4, "--kernel", "k", "--image",
	    "x"));
	CHECK(parse("are for --kernel", 4, "--image", "x", "--cmdline", "y"));
	CHECK(parse("are for --kernel", 4, "--image", "x", "--initrd", "y"));
	CHECK(parse("HVM guests have", 4, "--kernel", "k", "--mem", "32M"));
	CHECK(parse("HVM guests have", 4, "--kernel", "k", "--mem", "4G"));
	CHECK(parse("--args is for PV", 4, "--kernel", "k", "--args", "a"));
	CHECK(parse("needs a path", 2, "--kernel", ""));
	CHECK(parse("or --kernel", 2, "--mem", "64M"));
	return t_done("test_opts");
}
