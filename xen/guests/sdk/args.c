/*
 * The command line: space-separated words, by convention key=value.  It is
 * split once at boot into a private copy (the boot-info page is read-only)
 * that serves both main()'s argv and the xeno_arg_*() lookups.
 */
#include "sdk.h"

static char	 arg_buf[XENO_PV_CMDLINE_MAX];
/* Words are separated, so there are at most half as many as characters. */
static char	*arg_words[XENO_PV_CMDLINE_MAX / 2 + 1];
static int	 arg_count;

static int
arg_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

int
sdk_args_init(const char *cmdline, char ***argvp)
{
	char *p;
	size_t i;

	/* Bounded: do not trust xeno-hv to have NUL-terminated it. */
	for (i = 0; i < sizeof(arg_buf) - 1 && cmdline[i] != '\0'; i++)
		arg_buf[i] = cmdline[i];
	arg_buf[i] = '\0';

	for (p = arg_buf; *p != '\0';) {
		if (arg_is_space(*p)) {
			*p++ = '\0';
			continue;
		}
		arg_words[arg_count++] = p;
		while (*p != '\0' && !arg_is_space(*p))
			p++;
	}
	arg_words[arg_count] = NULL;
	*argvp = arg_words;
	return arg_count;
}

/*
 * The value of the last word `name=value` (later words override earlier
 * ones, as on a kernel command line), "" for a bare word `name`, NULL if
 * there is neither.
 */
const char *
xeno_arg_str(const char *name)
{
	size_t len = strlen(name);
	int i;

	for (i = arg_count - 1; i >= 0; i--) {
		const char *w = arg_words[i];

		if (strncmp(w, name, len) != 0)
			continue;
		if (w[len] == '=')
			return w + len + 1;
		if (w[len] == '\0')
			return w + len;
	}
	return NULL;
}

/*
 * The number at the start of s (decimal, or hexadecimal with 0x) into *v;
 * the first character after it, or NULL if there is no number or it
 * overflows.
 */
static const char *
arg_number(const char *s, uint64_t *v)
{
	const char *p = s, *digits;
	unsigned int base = 10, d;

	*v = 0;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	for (digits = p;; p++) {
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		if (__builtin_mul_overflow(*v, base, v) ||
		    __builtin_add_overflow(*v, d, v))
			return NULL;
	}
	return p == digits ? NULL : p;
}

/*
 * `name` as a decimal or 0x-prefixed hexadecimal number, `def` if absent.
 * A malformed number is the operator's mistake, and guessing what they
 * meant would measure or test the wrong thing: abort with what was wrong.
 */
uint64_t
xeno_arg_u64(const char *name, uint64_t def)
{
	const char *s, *p;
	uint64_t v;

	if ((s = xeno_arg_str(name)) == NULL)
		return def;
	if ((p = arg_number(s, &v)) == NULL || *p != '\0')
		xeno_abort("argument %s=%s is not an unsigned 64-bit number "
		    "(decimal, or hexadecimal with 0x)", name, s);
	return v;
}

/* 4096, 0x1000, 64K, 1M, 2G: suffixes are powers of 1024. */
uint64_t
xeno_arg_size(const char *name, uint64_t def)
{
	const char *s, *p;
	unsigned int shift = 0;
	uint64_t v;

	if ((s = xeno_arg_str(name)) == NULL)
		return def;
	if ((p = arg_number(s, &v)) == NULL)
		goto bad;
	switch (*p) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case '\0':
		return v;
	default:
		goto bad;
	}
	if (p[1] != '\0' || v > UINT64_MAX >> shift)
		goto bad;
	return v << shift;
bad:
	xeno_abort("argument %s=%s is not a byte count (a number, "
	    "optionally followed by K, M or G)", name, s);
}

/* S or S.fraction seconds, in ns; digits past nanoseconds are ignored. */
uint64_t
xeno_arg_ns(const char *name, uint64_t def)
{
	const uint64_t ns_per_sec = 1000000000ULL;
	uint64_t sec = 0, frac = 0, scale = ns_per_sec, ns;
	const char *s, *p;

	if ((s = xeno_arg_str(name)) == NULL)
		return def;
	for (p = s; *p >= '0' && *p <= '9'; p++)
		if (__builtin_mul_overflow(sec, 10, &sec) ||
		    __builtin_add_overflow(sec, (uint64_t)(*p - '0'), &sec))
			goto bad;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			if ((scale /= 10) > 0)
				frac += (*p - '0') * scale;
	if (p == s || *p != '\0' ||
	    __builtin_mul_overflow(sec, ns_per_sec, &ns) ||
	    __builtin_add_overflow(ns, frac, &ns))
		goto bad;
	return ns;
bad:
	xeno_abort("argument %s=%s is not a number of seconds "
	    "(e.g. 2 or 0.5)", name, s);
}
