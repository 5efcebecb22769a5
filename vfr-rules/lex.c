/*
 * The VFR rule language: tokens.
 *
 * A word is a run of letters, digits and _ . : / - (keywords, numbers,
 * names, addresses, prefixes, ranges such as 8000-8080, flags such as
 * S/SA, rates such as 20/second).  Punctuation is { } , ! = and $name.
 * Strings are "..." on one line with \" and \\ as the only escapes.
 * # starts a comment to the end of the line.  Newlines end statements
 * (the parser skips them inside { }).  Columns count bytes from 1.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang.h"

static int lex_error(struct lexer *, uint32_t, uint32_t, const char *, ...)
    __attribute__((format(printf, 4, 5)));

static int
lex_error(struct lexer *lx, uint32_t line, uint32_t col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(lx->lx_err, lx->lx_errlen, "%s:%u:%u: %s", lx->lx_file, line,
	    col, msg);
	return -1;
}

static int
is_word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
	    c == '/' || c == '-';
}

static int
is_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

/*
 * Whole-text checks first, so that the parser never sees a NUL byte or a
 * line it would have to treat specially.
 */
int
lex_init(struct lexer *lx, const char *file, const char *buf, size_t len,
    char *err, size_t errlen)
{
	size_t i, bol = 0;
	uint32_t line = 1;

	memset(lx, 0, sizeof(*lx));
	lx->lx_file = file;
	lx->lx_buf = buf;
	lx->lx_len = len;
	lx->lx_line = 1;
	lx->lx_err = err;
	lx->lx_errlen = errlen;
	if (len > VFR_LANG_MAX_FILE)
		return lex_error(lx, 1, 1, "the file is larger than %u MiB; "
		    "split it or use fewer rules", VFR_LANG_MAX_FILE >> 20);
	for (i = 0; i < len; i++) {
		if (buf[i] == '\0')
			return lex_error(lx, line, (uint32_t)(i - bol + 1),
			    "NUL byte in the text; rule files are text");
		if (i - bol >= VFR_LANG_MAX_LINE)
			return lex_error(lx, line, (uint32_t)(i - bol + 1),
			    "line longer than %u bytes", VFR_LANG_MAX_LINE);
		if (buf[i] == '\n') {
			line++;
			bol = i + 1;
		}
	}
	/* a string is shorter than the text and than the string limit */
	if ((lx->lx_sbuf = malloc((len < VFR_LANG_MAX_STRING ? len :
	    VFR_LANG_MAX_STRING) + 1)) == NULL)
		return lex_error(lx, 1, 1, "out of memory");
	return 0;
}

void
lex_free(struct lexer *lx)
{
	free(lx->lx_sbuf);
	lx->lx_sbuf = NULL;
}

static int
lex_string(struct lexer *lx, struct token *t)
{
	size_t n = 0;
	unsigned char c;

	lx->lx_pos++;	/* the opening quote */
	for (;;) {
		if (lx->lx_pos >= lx->lx_len || lx->lx_buf[lx->lx_pos] == '\n')
			return lex_error(lx, t->tk_line, t->tk_col,
			    "string not closed: add \" before the end of the "
			    "line");
		c = (unsigned char)lx->lx_buf[lx->lx_pos];
		if (c == '"') {
			lx->lx_pos++;
			break;
		}
		if (c == '\\') {
			if (lx->lx_pos + 1 < lx->lx_len &&
			    (lx->lx_buf[lx->lx_pos + 1] == '"' ||
			    lx->lx_buf[lx->lx_pos + 1] == '\\')) {
				c = (unsigned char)lx->lx_buf[lx->lx_pos + 1];
				lx->lx_pos++;
			} else
				return lex_error(lx, t->tk_line,
				    (uint32_t)(lx->lx_pos - lx->lx_bol + 1),
				    "unknown escape in a string: only \\\" and "
				    "\\\\ are escapes");
		} else if (c < 0x20 || c == 0x7f)
			return lex_error(lx, t->tk_line,
			    (uint32_t)(lx->lx_pos - lx->lx_bol + 1),
			    "control character 0x%02x in a string", c);
		if (n >= VFR_LANG_MAX_STRING)
			return lex_error(lx, t->tk_line, t->tk_col,
			    "string longer than %d bytes", VFR_LANG_MAX_STRING);
		lx->lx_sbuf[n++] = (char)c;
		lx->lx_pos++;
	}
	lx->lx_sbuf[n] = '\0';
	t->tk_kind = TK_STRING;
	t->tk_str = lx->lx_sbuf;
	t->tk_slen = n;
	return 0;
}

int
lex_next(struct lexer *lx)
{
	struct token *t = &lx->lx_tok;
	const char *b = lx->lx_buf;
	unsigned char c;
	size_t start;

	memset(t, 0, sizeof(*t));
	for (;;) {
		if (lx->lx_pos >= lx->lx_len) {
			t->tk_kind = TK_EOF;
			t->tk_line = lx->lx_line;
			t->tk_col = (uint32_t)(lx->lx_pos - lx->lx_bol + 1);
			return 0;
		}
		c = (unsigned char)b[lx->lx_pos];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\f' ||
		    c == '\v') {
			lx->lx_pos++;
			continue;
		}
		if (c == '#') {
			while (lx->lx_pos < lx->lx_len && b[lx->lx_pos] != '\n')
				lx->lx_pos++;
			continue;
		}
		break;
	}
	t->tk_line = lx->lx_line;
	t->tk_col = (uint32_t)(lx->lx_pos - lx->lx_bol + 1);
	start = lx->lx_pos;
	switch (c) {
	case '\n':
		t->tk_kind = TK_NL;
		lx->lx_pos++;
		lx->lx_line++;
		lx->lx_bol = lx->lx_pos;
		return 0;
	case '{':
		t->tk_kind = TK_LBRACE;
		break;
	case '}':
		t->tk_kind = TK_RBRACE;
		break;
	case ',':
		t->tk_kind = TK_COMMA;
		break;
	case '!':
		t->tk_kind = TK_BANG;
		break;
	case '=':
		t->tk_kind = TK_EQ;
		break;
	case '"':
		return lex_string(lx, t);
	case '$':
		lx->lx_pos++;
		while (lx->lx_pos < lx->lx_len &&
		    is_name_char((unsigned char)b[lx->lx_pos]))
			lx->lx_pos++;
		if (lx->lx_pos == start + 1)
			return lex_error(lx, t->tk_line, t->tk_col,
			    "$ must be followed by a set name");
		t->tk_kind = TK_VAR;
		t->tk_text = b + start + 1;
		t->tk_len = lx->lx_pos - start - 1;
		return 0;
	default:
		if (!is_word_char(c)) {
			if (c >= 0x21 && c < 0x7f)
				return lex_error(lx, t->tk_line, t->tk_col,
				    "unexpected character '%c'", c);
			return lex_error(lx, t->tk_line, t->tk_col,
			    "unexpected byte 0x%02x (outside strings and "
			    "comments, rule text is ASCII)", c);
		}
		while (lx->lx_pos < lx->lx_len &&
		    is_word_char((unsigned char)b[lx->lx_pos]))
			lx->lx_pos++;
		t->tk_kind = TK_WORD;
		t->tk_text = b + start;
		t->tk_len = lx->lx_pos - start;
		return 0;
	}
	lx->lx_pos++;
	return 0;
}

int
tok_is(const struct token *t, const char *word)
{
	return t->tk_kind == TK_WORD && strlen(word) == t->tk_len &&
	    memcmp(t->tk_text, word, t->tk_len) == 0;
}

const char *
tok_kind_name(enum tok_kind k)
{
	switch (k) {
	case TK_EOF:
		return "end of file";
	case TK_NL:
		return "end of line";
	case TK_WORD:
		return "word";
	case TK_STRING:
		return "string";
	case TK_VAR:
		return "$set";
	case TK_LBRACE:
		return "'{'";
	case TK_RBRACE:
		return "'}'";
	case TK_COMMA:
		return "','";
	case TK_BANG:
		return "'!'";
	case TK_EQ:
		return "'='";
	}
	return "token";
}

void
tok_describe(const struct token *t, char *buf, size_t len)
{
	int n;

	switch (t->tk_kind) {
	case TK_WORD:
		n = t->tk_len > 40 ? 40 : (int)t->tk_len;
		snprintf(buf, len, "'%.*s%s'", n, t->tk_text,
		    t->tk_len > 40 ? "..." : "");
		break;
	case TK_VAR:
		n = t->tk_len > 40 ? 40 : (int)t->tk_len;
		snprintf(buf, len, "'$%.*s'", n, t->tk_text);
		break;
	case TK_STRING:
		n = t->tk_slen > 40 ? 40 : (int)t->tk_slen;
		snprintf(buf, len, "\"%.*s%s\"", n, t->tk_str,
		    t->tk_slen > 40 ? "..." : "");
		break;
	default:
		snprintf(buf, len, "%s", tok_kind_name(t->tk_kind));
		break;
	}
}
