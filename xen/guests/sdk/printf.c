/*
 * printf and friends, for the conversions guests need (see xeno.h).
 * One formatter writes into a bounded buffer; xeno_printf() drains that
 * buffer to the console whenever it fills, snprintf truncates instead.
 */
#include "sdk.h"

#define FMT_LEFT	0x1	/* '-': pad on the right */
#define FMT_ZERO	0x2	/* '0': pad numbers with zeros */
#define FMT_WIDTH_MAX	4096	/* wider than any console line */
#define FMT_PRINTF_BUF	512

enum fmt_size {
	FMT_INT,
	FMT_LONG,
	FMT_LLONG,
	FMT_SIZE,
};

struct fmt_out {
	char	*fo_buf;
	size_t	 fo_cap;	/* bytes fo_buf can hold */
	size_t	 fo_len;	/* bytes in fo_buf */
	size_t	 fo_total;	/* bytes produced, stored or not */
	int	 fo_console;	/* drain to the console when full */
};

static void
fmt_flush(struct fmt_out *fo)
{
	if (fo->fo_len > 0)
		xeno_console_write(fo->fo_buf, fo->fo_len);
	fo->fo_len = 0;
}

static void
fmt_putc(struct fmt_out *fo, char c)
{
	if (fo->fo_len == fo->fo_cap && fo->fo_console)
		fmt_flush(fo);
	if (fo->fo_len < fo->fo_cap)
		fo->fo_buf[fo->fo_len++] = c;
	fo->fo_total++;
}

static void
fmt_repeat(struct fmt_out *fo, char c, int n)
{
	while (n-- > 0)
		fmt_putc(fo, c);
}

static void
fmt_write(struct fmt_out *fo, const char *s, size_t len)
{
	while (len-- > 0)
		fmt_putc(fo, *s++);
}

/* One conversion: prefix ("-", "0x" or ""), then body, padded to width. */
static void
fmt_field(struct fmt_out *fo, const char *prefix, const char *body,
    size_t len, int width, int flags)
{
	size_t plen = strlen(prefix);
	int pad = plen + len < (size_t)width ? width - (int)(plen + len) : 0;

	if (!(flags & (FMT_LEFT | FMT_ZERO)))
		fmt_repeat(fo, ' ', pad);
	fmt_write(fo, prefix, plen);
	if ((flags & (FMT_LEFT | FMT_ZERO)) == FMT_ZERO)
		fmt_repeat(fo, '0', pad);
	fmt_write(fo, body, len);
	if (flags & FMT_LEFT)
		fmt_repeat(fo, ' ', pad);
}

static void
fmt_number(struct fmt_out *fo, const char *prefix, uint64_t v,
    unsigned int base, int upper, int width, int flags)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];	/* 2^64-1 is 20 decimal digits */
	char *p = buf + sizeof(buf);

	do {
		*--p = digits[v % base];
		v /= base;
	} while (v != 0);
	fmt_field(fo, prefix, p, buf + sizeof(buf) - p, width, flags);
}

static void
fmt_vformat(struct fmt_out *fo, const char *fmt, va_list ap)
{
	const char *p, *s;
	enum fmt_size size;
	int64_t sv;
	uint64_t uv;
	int flags, width;
	char c;

	for (p = fmt; *p != '\0'; p++) {
		if (*p != '%') {
			fmt_putc(fo, *p);
			continue;
		}
		p++;
		for (flags = 0;; p++) {
			if (*p == '-')
				flags |= FMT_LEFT;
			else if (*p == '0')
				flags |= FMT_ZERO;
			else
				break;
		}
		for (width = 0; *p >= '0' && *p <= '9'; p++)
			if (width < FMT_WIDTH_MAX)
				width = width * 10 + (*p - '0');
		size = FMT_INT;
		if (*p == 'l') {
			size = FMT_LONG;
			if (*++p == 'l') {
				size = FMT_LLONG;
				p++;
			}
		} else if (*p == 'z') {
			size = FMT_SIZE;
			p++;
		}

		switch (*p) {
		case 'd':
		case 'i':
			if (size == FMT_INT)
				sv = va_arg(ap, int);
			else if (size == FMT_LLONG)
				sv = va_arg(ap, long long);
			else	/* long, and ssize_t for %zd */
				sv = va_arg(ap, long);
			/* Negate in unsigned arithmetic: INT64_MIN has no positive. */
			uv = sv < 0 ? -(uint64_t)sv : (uint64_t)sv;
			fmt_number(fo, sv < 0 ? "-" : "", uv, 10, 0, width,
			    flags);
			break;
		case 'u':
		case 'x':
		case 'X':
			if (size == FMT_INT)
				uv = va_arg(ap, unsigned int);
			else if (size == FMT_LLONG)
				uv = va_arg(ap, unsigned long long);
			else if (size == FMT_SIZE)
				uv = va_arg(ap, size_t);
			else
				uv = va_arg(ap, unsigned long);
			fmt_number(fo, "", uv, *p == 'u' ? 10 : 16, *p == 'X',
			    width, flags);
			break;
		case 'p':
			uv = (uintptr_t)va_arg(ap, void *);
			fmt_number(fo, "0x", uv, 16, 0, width, flags);
			break;
		case 's':
			if ((s = va_arg(ap, const char *)) == NULL)
				s = "(null)";
			fmt_field(fo, "", s, strlen(s), width,
			    flags & FMT_LEFT);
			break;
		case 'c':
			c = (char)va_arg(ap, int);
			fmt_field(fo, "", &c, 1, width, flags & FMT_LEFT);
			break;
		case '%':
			fmt_putc(fo, '%');
			break;
		case '\0':
			/* A lone '%' ends the format: print it, stop. */
			fmt_putc(fo, '%');
			return;
		default:
			/* Unknown (gcc's format check flags these): show it. */
			fmt_putc(fo, '%');
			fmt_putc(fo, *p);
			break;
		}
	}
}

int
xeno_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct fmt_out fo = {
		.fo_buf = buf,
		.fo_cap = size > 0 ? size - 1 : 0,	/* room for the NUL */
	};

	fmt_vformat(&fo, fmt, ap);
	if (size > 0)
		buf[fo.fo_len] = '\0';
	return fo.fo_total;
}

int
xeno_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = xeno_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int
xeno_vprintf(const char *fmt, va_list ap)
{
	char buf[FMT_PRINTF_BUF];
	struct fmt_out fo = {
		.fo_buf = buf,
		.fo_cap = sizeof(buf),
		.fo_console = 1,
	};

	fmt_vformat(&fo, fmt, ap);
	fmt_flush(&fo);
	return fo.fo_total;
}

int
xeno_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = xeno_vprintf(fmt, ap);
	va_end(ap);
	return n;
}
