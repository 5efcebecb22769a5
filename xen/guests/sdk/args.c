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
 * `name` as a decimal or 0x-prefixed hexadecimal number, `def` if absent.
 * A malformed number is the operator's mistake, and guessing what they
 * meant would measure or test the wrong thing: abort with what was wrong.
 */
uint64_t
xeno_arg_u64(const char *name, uint64_t def)
{
	const char *s, *p;
	uint64_t v = 0;
	unsigned int base = 10, d;

	if ((s = xeno_arg_str(name)) == NULL)
		return def;
	p = s;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (*p == '\0')
		goto bad;
	for (; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			goto bad;
		if (__builtin_mul_overflow(v, base, &v) ||
		    __builtin_add_overflow(v, d, &v))
			goto bad;
	}
	return v;
bad:
	xeno_abort("argument %s=%s is not an unsigned 64-bit number "
	    "(decimal, or hexadecimal with 0x)", name, s);
}
