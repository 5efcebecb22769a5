/*
 * Command-line options of `xeno-hv run`.  Pure: no I/O, so the unit tests
 * and a fuzzer can call it.  Errors go into a caller buffer as one line
 * that says what was wrong and what is accepted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xen.h"
#include "xeno/log.h"

/* Every error of this file: message in (err, errsz), errno EINVAL. */
#define OPTS_ERR(...)	err_set(err, errsz, EINVAL, __VA_ARGS__)

/*
 * A count: a decimal number with an optional binary suffix K, M, G or T
 * (also KiB, MiB, ..., and a B alone for units).  A bare number is
 * multiplied by 1 << bare_shift.  Shared by every option that takes a
 * size, so they all read "64M" alike.
 */
int
opts_parse_scaled(const char *s, unsigned int bare_shift, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = bare_shift;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		goto bad;
	switch (*end) {
	case '\0':
		break;
	case 'B':
	case 'b':
		shift = 0;
		end++;
		break;
	case 'K':
	case 'k':
		shift = 10;
		end++;
		break;
	case 'M':
	case 'm':
		shift = 20;
		end++;
		break;
	case 'G':
	case 'g':
		shift = 30;
		end++;
		break;
	case 'T':
	case 't':
		shift = 40;
		end++;
		break;
	default:
		goto bad;
	}
	if (shift != 0 && *end != '\0' && strcmp(end, "iB") != 0 &&
	    strcmp(end, "B") != 0)
		goto bad;
	if (shift == 0 && *end != '\0')
		goto bad;
	if (v > (UINT64_MAX >> shift))
		goto bad;
	*out = (uint64_t)v << shift;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* A memory size: a bare number means MiB, as with QEMU's -m. */
int
opts_parse_size(const char *s, uint64_t *out)
{
	return opts_parse_scaled(s, 20, out);
}

static int
opts_parse_uint(const char *s, unsigned int lo, unsigned int hi,
    unsigned int *out)
{
	unsigned long v;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

enum opt_id {
	OPT_IMAGE,
	OPT_MEM,
	OPT_VCPUS,
	OPT_ARGS,
	OPT_CONSOLE,
	OPT_STATS,
	OPT_NAME,
	OPT_VIF,
	OPT_VBD,
	OPT_RULES,
	OPT_FLOWLOG,
	OPT_CONTROL,
	OPT_KERNEL,
	OPT_INITRD,
	OPT_CMDLINE,
};

static const struct {
	const char	*name;
	enum opt_id	 id;
} opts_table[] = {
	{ "image", OPT_IMAGE },
	{ "mem", OPT_MEM },
	{ "vcpus", OPT_VCPUS },
	{ "args", OPT_ARGS },
	{ "console", OPT_CONSOLE },
	{ "stats", OPT_STATS },
	{ "name", OPT_NAME },
	{ "vif", OPT_VIF },
	{ "vbd", OPT_VBD },
	{ "rules", OPT_RULES },
	{ "flowlog", OPT_FLOWLOG },
	{ "control", OPT_CONTROL },
	{ "kernel", OPT_KERNEL },
	{ "initrd", OPT_INITRD },
	{ "cmdline", OPT_CMDLINE },
};

static int
opts_set(struct hv_config *cfg, enum opt_id id, const char *name,
    const char *val, char *err, size_t errsz)
{
	switch (id) {
	case OPT_IMAGE:
		if (*val == '\0')
			return OPTS_ERR("--image needs a path");
		cfg->hc_image = val;
		break;
	case OPT_MEM:
		if (opts_parse_size(val, &cfg->hc_mem) == -1)
			return OPTS_ERR("--mem '%s' is not a size "
			    "(use e.g. 16M, 512MiB, 1G; a bare number is MiB)",
			    val);
		break;
	case OPT_VCPUS:
		if (opts_parse_uint(val, 1, XENO_PV_MAX_VCPUS,
		    &cfg->hc_vcpus) == -1)
			return OPTS_ERR("--vcpus '%s' is not a "
			    "number from 1 to %d", val, XENO_PV_MAX_VCPUS);
		break;
	case OPT_ARGS:
		if (strlen(val) >= XENO_PV_CMDLINE_MAX)
			return OPTS_ERR("--args is %zu bytes, "
			    "longer than the %d the boot page holds",
			    strlen(val), XENO_PV_CMDLINE_MAX - 1);
		cfg->hc_args = val;
		break;
	case OPT_CONSOLE:
		if (strcmp(val, "stdio") == 0)
			cfg->hc_console = HV_CONSOLE_STDIO;
		else if (strcmp(val, "none") == 0)
			cfg->hc_console = HV_CONSOLE_NONE;
		else if (strncmp(val, "file:", 5) == 0 && val[5] != '\0') {
			cfg->hc_console = HV_CONSOLE_FILE;
			cfg->hc_console_path = val + 5;
		} else if (strncmp(val, "unix:", 5) == 0 && val[5] != '\0') {
			cfg->hc_console = HV_CONSOLE_UNIX;
			cfg->hc_console_path = val + 5;
		} else
			return OPTS_ERR("--console '%s' is not "
			    "one of stdio, none, file:PATH, unix:PATH", val);
		break;
	case OPT_STATS:
		if (*val == '\0')
			return OPTS_ERR("--stats needs a path");
		cfg->hc_stats = val;
		break;
	case OPT_NAME:
		if (*val == '\0' || strlen(val) >= XENO_STATS_NAME_MAX)
			return OPTS_ERR("--name must be 1 to %d "
			    "characters", XENO_STATS_NAME_MAX - 1);
		cfg->hc_name = val;
		break;
	case OPT_VIF:
	case OPT_VBD:
		/* checked by dev.c, which knows the device's syntax */
		if (*val == '\0')
			return OPTS_ERR("--%s needs a device description "
			    "(see xeno-hv run --help)", name);
		if (cfg->hc_nvif + cfg->hc_nvbd == XENO_STATS_MAX_DEVS)
			return OPTS_ERR("too many devices: at most %d "
			    "--vif and --vbd in all", XENO_STATS_MAX_DEVS);
		if (id == OPT_VIF)
			cfg->hc_vif[cfg->hc_nvif++] = val;
		else
			cfg->hc_vbd[cfg->hc_nvbd++] = val;
		break;
	case OPT_RULES:
	case OPT_FLOWLOG:
	case OPT_CONTROL:
		if (*val == '\0')
			return OPTS_ERR("--%s needs a path", name);
		if (id == OPT_RULES)
			cfg->hc_rules = val;
		else if (id == OPT_CONTROL)
			cfg->hc_control = val;
		else
			cfg->hc_flowlog = val;
		break;
	case OPT_KERNEL:
	case OPT_INITRD:
		if (*val == '\0')
			return OPTS_ERR("--%s needs a path", name);
		if (id == OPT_KERNEL)
			cfg->hc_kernel = val;
		else
			cfg->hc_initrd = val;
		break;
	case OPT_CMDLINE:
		if (strlen(val) >= HVM_CMDLINE_MAX)
			return OPTS_ERR("--cmdline is %zu bytes, longer than "
			    "%d", strlen(val), HVM_CMDLINE_MAX - 1);
		cfg->hc_cmdline = val;
		break;
	default:
		return OPTS_ERR("internal: option %s", name);
	}
	return 0;
}

/* An HVM guest: its own memory range, a default command line. */
static int
opts_check_hvm(struct hv_config *cfg, int mem_given, char *err, size_t errsz)
{
	if (!mem_given)
		cfg->hc_mem = HVM_MEM_DEFAULT;
	if (cfg->hc_mem < HVM_MEM_MIN || cfg->hc_mem > HVM_MEM_MAX)
		return OPTS_ERR("--mem %llu MiB: HVM guests have %llu MiB to "
		    "%llu MiB", (unsigned long long)(cfg->hc_mem >> 20),
		    (unsigned long long)(HVM_MEM_MIN >> 20),
		    (unsigned long long)(HVM_MEM_MAX >> 20));
	if (cfg->hc_vcpus > HVM_MAX_VCPUS)
		return OPTS_ERR("--vcpus %u: HVM guests have at most %d",
		    cfg->hc_vcpus, HVM_MAX_VCPUS);
	if (cfg->hc_cmdline == NULL)
		cfg->hc_cmdline = HVM_CMDLINE_DEFAULT;
	if (strcmp(cfg->hc_args, "") != 0)
		return OPTS_ERR("--args is for PV guests: give an HVM guest "
		    "its --cmdline");
	if (cfg->hc_mem % XENO_PV_PAGE_SIZE != 0)
		return OPTS_ERR("--mem must be a whole number of 4 KiB pages");
	return 0;
}

/*
 * Parse the options after `run`: `--opt value` or `--opt=value`.  Returns 0,
 * 1 if --help was asked for, or -1 with a message in err.
 */
int
opts_parse_run(int argc, const char *const *argv, struct hv_config *cfg,
    char *err, size_t errsz)
{
	int i, mem_given = 0;
	size_t k, n;

	memset(cfg, 0, sizeof(*cfg));
	cfg->hc_mem = 16ULL << 20;
	cfg->hc_vcpus = 1;
	cfg->hc_args = "";
	cfg->hc_console = HV_CONSOLE_STDIO;

	for (i = 0; i < argc; i++) {
		const char *arg = argv[i], *val, *eq;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
			return 1;
		if (strncmp(arg, "--", 2) != 0)
			return OPTS_ERR("unexpected argument '%s' "
			    "(options start with --; see xeno-hv run --help)",
			    arg);
		arg += 2;
		eq = strchr(arg, '=');
		n = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
		for (k = 0; k < sizeof(opts_table) / sizeof(opts_table[0]);
		    k++)
			if (strlen(opts_table[k].name) == n &&
			    strncmp(opts_table[k].name, arg, n) == 0)
				break;
		if (k == sizeof(opts_table) / sizeof(opts_table[0]))
			return OPTS_ERR("unknown option '--%.*s' "
			    "(see xeno-hv run --help)", (int)n, arg);
		if (eq != NULL)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return OPTS_ERR("option '--%s' needs a "
			    "value", opts_table[k].name);
		if (opts_set(cfg, opts_table[k].id, opts_table[k].name, val,
		    err, errsz) == -1)
			return -1;
		if (opts_table[k].id == OPT_MEM)
			mem_given = 1;
	}
	if (cfg->hc_image != NULL && cfg->hc_kernel != NULL)
		return OPTS_ERR("--image (a PV guest) and --kernel (an HVM "
		    "Linux guest) exclude each other");
	if (cfg->hc_kernel != NULL)
		return opts_check_hvm(cfg, mem_given, err, errsz);
	if (cfg->hc_initrd != NULL || cfg->hc_cmdline != NULL)
		return OPTS_ERR("--initrd and --cmdline are for --kernel "
		    "(PV guests take --args)");
	if (cfg->hc_image == NULL)
		return OPTS_ERR("no guest image: give --image "
		    "PATH (an ELF64 PV guest) or --kernel PATH (a Linux "
		    "bzImage)");
	if (cfg->hc_mem < XENO_PV_MEM_MIN)
		return OPTS_ERR("--mem %llu KiB is too small: a "
		    "PV domain needs at least %llu MiB",
		    (unsigned long long)(cfg->hc_mem >> 10),
		    (unsigned long long)(XENO_PV_MEM_MIN >> 20));
	if (cfg->hc_mem > XENO_PV_MEM_MAX)
		return OPTS_ERR("--mem %llu MiB is too large: PV "
		    "domains have at most %llu MiB",
		    (unsigned long long)(cfg->hc_mem >> 20),
		    (unsigned long long)(XENO_PV_MEM_MAX >> 20));
	if (cfg->hc_mem % XENO_PV_PAGE_SIZE != 0)
		return OPTS_ERR("--mem must be a whole number of "
		    "4 KiB pages");
	return 0;
}
