/*
 * The VFR rule language, private to lex.c, parse.c, range.c and print.c.
 * vfr.h is the public face; docs/VFR.md is the user's description.
 */
#ifndef VFR_RULES_LANG_H
#define VFR_RULES_LANG_H

#include <stddef.h>
#include <stdint.h>

#include "vfr.h"

/* Limits, each reported as an error with its value (docs/VFR.md). */
#define VFR_LANG_MAX_FILE	(16U << 20)	/* bytes per source file */
#define VFR_LANG_MAX_LINE	(1U << 20)	/* bytes per line */
#define VFR_LANG_MAX_STRING	65536		/* bytes in a "string" */
#define VFR_LANG_MAX_DEPTH	8		/* include nesting */
#define VFR_LANG_MAX_FILES	1024		/* included files in all */
#define VFR_LANG_MAX_SETS	1024		/* per source */
#define VFR_LANG_MAX_SETNAME	32		/* bytes, with the NUL */
#define VFR_LANG_MAX_SETRANGES	(1U << 18)	/* in all sets together */
#define VFR_LANG_MAX_TOTRANGES	(1U << 20)	/* in all rules together */
#define VFR_LANG_MAX_TOTBPF	(1U << 18)	/* BPF insns in all rules */
#define VFR_LANG_VIF_MAX	15		/* IFNAMSIZ - 1 */

typedef unsigned __int128 u128;

#define U128_MAX	(~(u128)0)
/* ::ffff:0.0.0.0/96, where IPv4 addresses live */
#define V4_LO		(((u128)0xffff) << 32)
#define V4_HI		(V4_LO | 0xffffffffU)

static inline u128
addr_u128(const struct vfr_addr *a)
{
	return ((u128)a->a_hi << 64) | a->a_lo;
}

static inline struct vfr_addr
u128_addr(u128 v)
{
	struct vfr_addr a;

	a.a_hi = (uint64_t)(v >> 64);
	a.a_lo = (uint64_t)v;
	return a;
}

/* ---- lex.c ---- */

enum tok_kind {
	TK_EOF,
	TK_NL,		/* end of a line (statements end there) */
	TK_WORD,	/* keywords, numbers, names, addresses, ranges */
	TK_STRING,	/* "..." */
	TK_VAR,		/* $name */
	TK_LBRACE,
	TK_RBRACE,
	TK_COMMA,
	TK_BANG,
	TK_EQ,
};

struct token {
	enum tok_kind	 tk_kind;
	const char	*tk_text;	/* WORD, VAR (without the $): in the
					   source, tk_len bytes, no NUL */
	size_t		 tk_len;
	const char	*tk_str;	/* STRING: unescaped, NUL-terminated,
					   valid until the next lex_next() */
	size_t		 tk_slen;
	uint32_t	 tk_line;
	uint32_t	 tk_col;	/* 1-based byte column */
};

struct lexer {
	const char	*lx_file;
	const char	*lx_buf;
	size_t		 lx_len;
	size_t		 lx_pos;
	size_t		 lx_bol;	/* offset of the current line */
	uint32_t	 lx_line;
	char		*lx_sbuf;	/* unescaped strings */
	struct token	 lx_tok;	/* the current token */
	char		*lx_err;
	size_t		 lx_errlen;
};

int	lex_init(struct lexer *, const char *file, const char *buf, size_t len,
	    char *err, size_t errlen);
int	lex_next(struct lexer *);
void	lex_free(struct lexer *);
int	tok_is(const struct token *, const char *);
const char *tok_kind_name(enum tok_kind);
/* the token, quoted, for messages: 'proto', "a string", end of line */
void	tok_describe(const struct token *, char *, size_t);

/* ---- range.c ---- */

struct rlist {
	struct vfr_range *rl_v;
	uint32_t	 rl_n;
	uint32_t	 rl_cap;
};

struct alist {
	struct vfr_arange *al_v;
	uint32_t	 al_n;
	uint32_t	 al_cap;
};

int	rl_add(struct rlist *, uint32_t, uint32_t);
int	rl_append(struct rlist *, const struct rlist *);
void	rl_norm(struct rlist *);
int	rl_complement(struct rlist *, uint32_t max);
void	rl_free(struct rlist *);
int	rl_subset(const struct vfr_range *, uint32_t, const struct vfr_range *,
	    uint32_t);

int	al_add(struct alist *, u128, u128);
int	al_append(struct alist *, const struct alist *);
void	al_norm(struct alist *);
int	al_complement(struct alist *, u128 lo, u128 hi);
void	al_clip(struct alist *, u128 lo, u128 hi);
void	al_free(struct alist *);
int	al_subset(const struct vfr_arange *, uint32_t,
	    const struct vfr_arange *, uint32_t);
/* the prefix length if [lo, hi] is exactly one CIDR block, else -1 */
int	al_prefixlen(u128, u128);

/* ---- print.c ---- */

/*
 * The normal form of one rule the parser made (match is the pcap-filter
 * expression, or NULL): a malloc'ed line without the newline, or NULL.
 */
char	*vfr_rule_format(const struct vfr_rule *, const char *match);
/* RFC 5952 text of an address; v4 prints ::ffff:a.b.c.d as a.b.c.d */
void	addr_format(u128, int v4, char *, size_t);
const char *proto_name(uint32_t);
const char *icmp_type_name(uint32_t proto, uint32_t type);

/* ---- names.c ---- */

struct vfr_name {
	const char	*n_name;
	uint32_t	 n_value;
};

extern const struct vfr_name vfr_protos[];
extern const struct vfr_name vfr_services[];
extern const struct vfr_name vfr_icmp4_types[];
extern const struct vfr_name vfr_icmp6_types[];
extern const struct vfr_name vfr_ethertypes[];

/* parse.c: pcap-filter text without names to look up; capture.c */
int	vfr_pcap_names_ok(const char *, char *, size_t);
int	vfr_capture_main(int, char **);

#endif /* VFR_RULES_LANG_H */
