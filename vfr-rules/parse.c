/*
 * The VFR rule language: statements, rules, sets and includes, lowered
 * straight to the IR (struct vfr_rule) clause by clause.
 *
 * Clauses come in one fixed order (as in pf): each later check (port
 * needs proto, icmp-type needs icmp, addresses need the family) has
 * already seen what it depends on, so every error points at the token
 * that is wrong.  Parsing stops at the first error.  docs/VFR.md is the
 * user's description; every choice made here is listed there.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lang.h"

enum clause {
	C_LOG,
	C_DIR,
	C_VIF,
	C_DOMAIN,
	C_FAMILY,
	C_PROTO,
	C_FROM,
	C_TO,
	C_ICMPTYPE,
	C_FLAGS,
	C_STATE,
	C_MATCH,
	C_RATE,
	NCLAUSES
};

static const char *const clause_name[NCLAUSES] = {
	"log", "in/out", "on vif", "domain", "the family", "proto", "from",
	"to", "icmp-type", "flags", "state", "match", "rate",
};

#define CLAUSE_ORDER	"log, in|out, on vif, domain, " \
			"inet|inet6|arp|ether type, proto, from, to, " \
			"icmp-type, flags, state, match, rate"

enum vkind { VK_PORT, VK_PROTO, VK_ICMPTYPE, VK_CODE, VK_ETHER };

static const char *const vkind_what[] = {
	"ports", "protocols", "icmp types", "icmp codes", "ethertypes",
};

/* kinds of sets: numbers alone fit ports, protocols, ICMP, ethertypes */
enum skind { SK_NUM, SK_PORT, SK_PROTO, SK_ADDR };

static const char *const skind_what[] = {
	"numbers", "ports", "protocols", "addresses",
};

struct vset {
	char		 vs_name[VFR_LANG_MAX_SETNAME];
	enum skind	 vs_kind;
	struct rlist	 vs_rl;
	struct alist	 vs_al;
	const char	*vs_file;
	uint32_t	 vs_line;
};

struct prule {
	struct vfr_rule	 pr_r;
	char		*pr_match;
	const char	*pr_file;
};

struct loc {
	const char	*l_file;
	uint32_t	 l_line;
};

struct pstate {
	char		*ps_err;
	size_t		 ps_errlen;
	int		 ps_flags;
	struct prule	*ps_rules[2];	/* [0] operator, [1] tenant */
	uint32_t	 ps_nrules[2];
	uint32_t	 ps_rcap[2];
	int		 ps_anchor;
	uint32_t	 ps_anchor_at;	/* operator rules before it */
	struct loc	 ps_anchor_loc;
	int		 ps_policy_set[2];
	struct loc	 ps_policy_loc[2];
	uint8_t		 ps_policy[2];
	struct vset	*ps_sets[2];
	uint32_t	 ps_nsets[2];
	uint32_t	 ps_setranges;
	uint64_t	 ps_totranges;
	uint64_t	 ps_totbpf;
	char		**ps_names;	/* file names, owned */
	uint32_t	 ps_nnames;
	dev_t		 ps_dev[VFR_LANG_MAX_DEPTH + 1];
	ino_t		 ps_ino[VFR_LANG_MAX_DEPTH + 1];
	int		 ps_nid;
	uint32_t	 ps_nfiles;
	pcap_t		*ps_pcap;
};

struct pfile {
	struct pstate	*pf_ps;
	struct lexer	 pf_lx;
	const char	*pf_name;
	int		 pf_tenant;
	int		 pf_depth;
};

/* A rule under construction. */
struct rbuild {
	struct prule	 rb_pr;
	struct rlist	 rb_rl[VFR_NFIELDS];
	struct alist	 rb_al[VFR_NAFIELDS];
	int		 rb_afam[VFR_NAFIELDS];	/* implied by each side */
};

#define TOK(pf)		(&(pf)->pf_lx.lx_tok)

static int perr(struct pfile *, uint32_t, uint32_t, const char *, ...)
    __attribute__((format(printf, 4, 5)));

static int
perr(struct pfile *pf, uint32_t line, uint32_t col, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(pf->pf_ps->ps_err, pf->pf_ps->ps_errlen, "%s:%u:%u: %s",
	    pf->pf_name, line, col, msg);
	return -1;
}

#define PERR_TOK(pf, t, ...)	perr((pf), (t)->tk_line, (t)->tk_col, \
				    __VA_ARGS__)

static int
perr_nomem(struct pfile *pf)
{
	return PERR_TOK(pf, TOK(pf), "out of memory");
}

static int
next(struct pfile *pf)
{
	return lex_next(&pf->pf_lx);
}

static int
at_end(const struct token *t)
{
	return t->tk_kind == TK_NL || t->tk_kind == TK_EOF;
}

/* a copy of a word, for messages and libc calls */
static void
word_copy(const struct token *t, char *buf, size_t len)
{
	size_t n = t->tk_len < len - 1 ? t->tk_len : len - 1;

	memcpy(buf, t->tk_text, n);
	buf[n] = '\0';
}

/* ---- suggestions ---- */

static int
edit_distance(const char *a, size_t na, const char *b)
{
	int d[33], prev, tmp, i, j, nb = (int)strlen(b);

	if (na > 32 || nb > 32)
		return 99;
	for (j = 0; j <= nb; j++)
		d[j] = j;
	for (i = 1; i <= (int)na; i++) {
		prev = d[0];
		d[0] = i;
		for (j = 1; j <= nb; j++) {
			tmp = d[j];
			d[j] = prev + (a[i - 1] != b[j - 1]);
			if (d[j - 1] + 1 < d[j])
				d[j] = d[j - 1] + 1;
			if (tmp + 1 < d[j])
				d[j] = tmp + 1;
			prev = tmp;
		}
	}
	return d[nb];
}

/* "; did you mean 'x'?" for a word close to one of words, or "" */
static void
suggest(const struct token *t, const char *const *words, char *buf,
    size_t len)
{
	int best = 3, d;

	buf[0] = '\0';
	if (t->tk_kind != TK_WORD || t->tk_len < 2)
		return;
	for (; *words != NULL; words++)
		if ((d = edit_distance(t->tk_text, t->tk_len, *words)) < best) {
			best = d;
			snprintf(buf, len, "; did you mean '%s'?", *words);
		}
}

/* ---- files ---- */

static int
file_slurp(const char *path, char **text, size_t *len, dev_t *dev,
    ino_t *ino, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL, *p;
	size_t n = 0, cap = 0;
	ssize_t r;
	int fd, is_stdin = strcmp(path, "-") == 0;

	if (is_stdin)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!is_stdin && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (!is_stdin && st.st_size > (off_t)VFR_LANG_MAX_FILE)
		goto toobig;
	for (;;) {
		if (n == cap) {
			if (cap > VFR_LANG_MAX_FILE)
				goto toobig;
			cap = cap == 0 ? 65536 : cap * 2;
			if ((p = realloc(buf, cap + 1)) == NULL) {
				snprintf(err, errlen, "%s: out of memory",
				    path);
				goto fail;
			}
			buf = p;
		}
		r = read(fd, buf + n, cap - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > VFR_LANG_MAX_FILE)
		goto toobig;
	if (buf == NULL && (buf = malloc(1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	buf[n] = '\0';
	if (!is_stdin)
		close(fd);
	*text = buf;
	*len = n;
	if (dev != NULL) {
		*dev = st.st_dev;
		*ino = st.st_ino;
	}
	return 0;
toobig:
	snprintf(err, errlen, "%s: larger than %u MiB", path,
	    VFR_LANG_MAX_FILE >> 20);
fail:
	free(buf);
	if (!is_stdin)
		close(fd);
	return -1;
}

int
vfr_file_read(const char *path, char **text, size_t *len, char *err,
    size_t errlen)
{
	return file_slurp(path, text, len, NULL, NULL, err, errlen);
}

static const char *
name_keep(struct pstate *ps, char *name)
{
	char **p;

	if ((p = reallocarray(ps->ps_names, ps->ps_nnames + 1,
	    sizeof(*p))) == NULL) {
		free(name);
		return NULL;
	}
	ps->ps_names = p;
	ps->ps_names[ps->ps_nnames++] = name;
	return name;
}

/* ---- value lists: [!] ITEM | [!] { ITEM ... } ---- */

static const char *const statements[] = {
	"accept", "drop", "reject", "count", "log", "rate-limit", "set",
	"policy", "anchor", "include", NULL,
};


typedef int (*item_fn)(struct pfile *, const struct token *, void *);

/*
 * The operand at the current token.  neg NULL: negation is not allowed
 * here.  Leaves the current token after the operand.
 */
static int
list_walk(struct pfile *pf, const char *what, int *neg, item_fn fn,
    void *arg)
{
	struct token *t = TOK(pf);
	const char *const *w;
	char d[64];
	uint32_t line, col, n = 0;
	int newline = 0;

	if (neg != NULL)
		*neg = 0;
	if (t->tk_kind == TK_BANG) {
		if (neg == NULL)
			return PERR_TOK(pf, t, "%s cannot be negated", what);
		*neg = 1;
		if (next(pf) == -1)
			return -1;
		if (t->tk_kind == TK_BANG)
			return PERR_TOK(pf, t, "'! !' cancels out; remove "
			    "both");
	}
	if (t->tk_kind == TK_WORD || t->tk_kind == TK_VAR) {
		if (fn(pf, t, arg) == -1)
			return -1;
		return next(pf);
	}
	if (t->tk_kind != TK_LBRACE) {
		tok_describe(t, d, sizeof(d));
		return PERR_TOK(pf, t, "expected %s, found %s", what, d);
	}
	line = t->tk_line;
	col = t->tk_col;
	for (;;) {
		if (next(pf) == -1)
			return -1;
		if (newline && t->tk_kind == TK_WORD)
			for (w = statements; *w != NULL; w++)
				if (tok_is(t, *w))
					return perr(pf, line, col, "list not "
					    "closed: add } (line %u starts a "
					    "new statement)", t->tk_line);
		newline = t->tk_kind == TK_NL ? 1 : t->tk_kind == TK_COMMA ?
		    newline : 0;
		switch (t->tk_kind) {
		case TK_NL:
		case TK_COMMA:
			continue;
		case TK_RBRACE:
			if (n == 0)
				return PERR_TOK(pf, t, "empty list: a list "
				    "needs at least one item");
			return next(pf);
		case TK_EOF:
			return perr(pf, line, col, "list not closed: add }");
		case TK_BANG:
			return PERR_TOK(pf, t, "'!' inside a list is not "
			    "supported: negate the whole list (! { ... })");
		case TK_LBRACE:
			return PERR_TOK(pf, t, "lists do not nest: use a set "
			    "($name) to combine lists");
		case TK_WORD:
		case TK_VAR:
			if (fn(pf, t, arg) == -1)
				return -1;
			n++;
			break;
		default:
			tok_describe(t, d, sizeof(d));
			return PERR_TOK(pf, t, "expected %s or }, found %s",
			    what, d);
		}
	}
}

static const struct vset *
set_find(struct pfile *pf, const struct token *t)
{
	const struct pstate *ps = pf->pf_ps;
	uint32_t i;

	for (i = 0; i < ps->ps_nsets[pf->pf_tenant]; i++) {
		const struct vset *s = &ps->ps_sets[pf->pf_tenant][i];

		if (strlen(s->vs_name) == t->tk_len &&
		    memcmp(s->vs_name, t->tk_text, t->tk_len) == 0)
			return s;
	}
	return NULL;
}

static int
set_lookup(struct pfile *pf, const struct token *t, const struct vset **sp)
{
	if ((*sp = set_find(pf, t)) == NULL)
		return PERR_TOK(pf, t, "unknown set $%.*s: define it above "
		    "with set %.*s = { ... }%s", (int)(t->tk_len > 32 ? 32 :
		    t->tk_len), t->tk_text, (int)(t->tk_len > 32 ? 32 :
		    t->tk_len), t->tk_text, pf->pf_tenant ? " (tenant rules "
		    "see only their own sets)" : "");
	return 0;
}

/* a decimal or 0x number of a whole string */
static int
num_parse(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i = 0;
	int base = 10, d;

	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == n)
		return -1;
	for (; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else if (base == 16 && s[i] >= 'A' && s[i] <= 'F')
			d = s[i] - 'A' + 10;
		else
			return -1;
		if (x > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			x = UINT64_MAX;	/* saturate: reported as too big */
		else
			x = x * (uint64_t)base + (uint64_t)d;
	}
	*v = x;
	return 0;
}

static int
name_lookup(const struct vfr_name *tab, const char *s, size_t n,
    uint32_t *v)
{
	for (; tab != NULL && tab->n_name != NULL; tab++)
		if (strlen(tab->n_name) == n && memcmp(tab->n_name, s, n) == 0) {
			*v = tab->n_value;
			return 0;
		}
	return -1;
}

struct vctx {
	enum vkind	 vc_kind;
	uint32_t	 vc_max;
	uint32_t	 vc_proto;	/* for ICMP type names */
	struct rlist	 vc_rl;
};

static int
vctx_add(struct pfile *pf, const struct token *t, struct vctx *vc,
    uint32_t lo, uint32_t hi)
{
	if (rl_add(&vc->vc_rl, lo, hi) == -1)
		return perr_nomem(pf);
	if (vc->vc_rl.rl_n >= 2 * VFR_MAX_RANGES) {
		rl_norm(&vc->vc_rl);
		if (vc->vc_rl.rl_n > VFR_MAX_RANGES)
			return PERR_TOK(pf, t, "more than %d separate ranges "
			    "in one list", VFR_MAX_RANGES);
	}
	return 0;
}

static const struct vfr_name *
vkind_names(enum vkind k, uint32_t proto)
{
	switch (k) {
	case VK_PORT:
		return vfr_services;
	case VK_PROTO:
		return vfr_protos;
	case VK_ICMPTYPE:
		return proto == 1 ? vfr_icmp4_types : vfr_icmp6_types;
	case VK_ETHER:
		return vfr_ethertypes;
	case VK_CODE:
		break;
	}
	return NULL;
}

static int
value_item(struct pfile *pf, const struct token *t, void *arg)
{
	struct vctx *vc = arg;
	const struct vset *s;
	const char *w = t->tk_text, *dash;
	size_t n = t->tk_len;
	uint64_t lo, hi;
	uint32_t v;
	int wn = n > 40 ? 40 : (int)n;

	if (t->tk_kind == TK_VAR) {
		if (set_lookup(pf, t, &s) == -1)
			return -1;
		if (s->vs_kind == SK_ADDR || (s->vs_kind == SK_PORT &&
		    vc->vc_kind != VK_PORT) || (s->vs_kind == SK_PROTO &&
		    vc->vc_kind != VK_PROTO))
			return PERR_TOK(pf, t, "set $%s holds %s, not %s",
			    s->vs_name, skind_what[s->vs_kind],
			    vkind_what[vc->vc_kind]);
		if (s->vs_rl.rl_v[s->vs_rl.rl_n - 1].rg_hi > vc->vc_max)
			return PERR_TOK(pf, t, "set $%s has %u, but %s go up "
			    "to %u", s->vs_name,
			    s->vs_rl.rl_v[s->vs_rl.rl_n - 1].rg_hi,
			    vkind_what[vc->vc_kind], vc->vc_max);
		for (v = 0; v < s->vs_rl.rl_n; v++)
			if (vctx_add(pf, t, vc, s->vs_rl.rl_v[v].rg_lo,
			    s->vs_rl.rl_v[v].rg_hi) == -1)
				return -1;
		return 0;
	}
	if (num_parse(w, n, &lo) == 0)
		hi = lo;
	else if (name_lookup(vkind_names(vc->vc_kind, vc->vc_proto), w, n,
	    &v) == 0)
		lo = hi = v;
	else if ((dash = memchr(w, '-', n)) != NULL &&
	    num_parse(w, (size_t)(dash - w), &lo) == 0 &&
	    num_parse(dash + 1, n - (size_t)(dash - w) - 1, &hi) == 0) {
		if (lo > hi)
			return PERR_TOK(pf, t, "range %.*s is backwards: write "
			    "%llu-%llu", wn, w, (unsigned long long)hi,
			    (unsigned long long)lo);
	} else {
		switch (vc->vc_kind) {
		case VK_PORT:
			return PERR_TOK(pf, t, "unknown port '%.*s': use a "
			    "number, a range N-M or a service name such as "
			    "ssh, http, https (docs/VFR.md lists them)", wn, w);
		case VK_PROTO:
			return PERR_TOK(pf, t, "unknown protocol '%.*s': use "
			    "0-255 or a name such as tcp, udp, icmp, icmp6, "
			    "sctp, udplite, gre, esp, ah", wn, w);
		case VK_ICMPTYPE:
			return PERR_TOK(pf, t, "unknown %s type '%.*s': use "
			    "0-255 or a name from docs/VFR.md",
			    vc->vc_proto == 1 ? "icmp" : "icmp6", wn, w);
		case VK_CODE:
			return PERR_TOK(pf, t, "icmp code '%.*s' is not a "
			    "number 0-255", wn, w);
		case VK_ETHER:
			return PERR_TOK(pf, t, "unknown ethertype '%.*s': use "
			    "a number such as 0x88cc or a name such as lldp",
			    wn, w);
		}
	}
	if (hi > vc->vc_max)
		return PERR_TOK(pf, t, "%.*s is out of range: %s go from 0 "
		    "to %u", wn, w, vkind_what[vc->vc_kind], vc->vc_max);
	return vctx_add(pf, t, vc, (uint32_t)lo, (uint32_t)hi);
}

/*
 * A value list of kind k at the current token into *out (normalised,
 * negation folded in, never empty).
 */
static int
values_parse(struct pfile *pf, enum vkind k, uint32_t proto, const char *what,
    struct rlist *out)
{
	static const uint32_t max[] = { 65535, 255, 255, 255, 65535 };
	struct vctx vc;
	uint32_t line = TOK(pf)->tk_line, col = TOK(pf)->tk_col;
	int neg;

	memset(&vc, 0, sizeof(vc));
	vc.vc_kind = k;
	vc.vc_max = max[k];
	vc.vc_proto = proto;
	if (list_walk(pf, what, &neg, value_item, &vc) == -1)
		goto fail;
	rl_norm(&vc.vc_rl);
	if (neg && rl_complement(&vc.vc_rl, vc.vc_max) == -1) {
		perr_nomem(pf);
		goto fail;
	}
	if (vc.vc_rl.rl_n == 0) {
		perr(pf, line, col, "this negation leaves no %s: the rule "
		    "would never match", vkind_what[k]);
		goto fail;
	}
	if (vc.vc_rl.rl_n > VFR_MAX_RANGES) {
		perr(pf, line, col, "more than %d separate ranges",
		    VFR_MAX_RANGES);
		goto fail;
	}
	*out = vc.vc_rl;
	return 0;
fail:
	rl_free(&vc.vc_rl);
	return -1;
}

/* ---- addresses ---- */

/*
 * An address, prefix or range: its bounds, and 4 or 6 for the way it is
 * written.  NULL, or what is wrong with it.
 */
static const char *
addr_parse(const char *w, size_t n, u128 *lo, u128 *hi, int *fam,
    char *buf, size_t buflen)
{
	char s[128], net[64], *slash, *dash;
	unsigned char a[16];
	u128 v = 0, v2, mask;
	uint64_t plen;
	int i, f2;

	if (n >= sizeof(s))
		return "is not an address";
	memcpy(s, w, n);
	s[n] = '\0';
	if ((dash = strchr(s, '-')) != NULL) {
		*dash = '\0';
		if (strchr(s, '/') != NULL || strchr(dash + 1, '/') != NULL)
			return "mixes a range and a prefix: write one or the "
			    "other";
		if (addr_parse(s, strlen(s), &v, &v2, fam, buf, buflen) !=
		    NULL || addr_parse(dash + 1, strlen(dash + 1), hi, &v2,
		    &f2, buf, buflen) != NULL)
			return "is not an address range (A-B)";
		if (*fam != f2)
			return "mixes IPv4 and IPv6";
		if (v > *hi)
			return "is backwards: the first address must be the "
			    "lower one";
		*lo = v;
		return NULL;
	}
	if ((slash = strchr(s, '/')) != NULL)
		*slash = '\0';
	if (inet_pton(AF_INET, s, a) == 1) {
		*fam = 4;
		v = V4_LO | ((u128)a[0] << 24) | ((u128)a[1] << 16) |
		    ((u128)a[2] << 8) | a[3];
	} else if (inet_pton(AF_INET6, s, a) == 1) {
		*fam = 6;
		for (i = 0; i < 16; i++)
			v = (v << 8) | a[i];
	} else
		return "is not an address";
	plen = *fam == 4 ? 32 : 128;
	if (slash != NULL) {
		if (slash[1] == '\0' || strspn(slash + 1, "0123456789") !=
		    strlen(slash + 1) || strlen(slash + 1) > 3)
			return "has a prefix length that is not a number";
		plen = strtoull(slash + 1, NULL, 10);
	}
	if (plen > (*fam == 4 ? 32U : 128U)) {
		snprintf(buf, buflen, "has prefix length %llu, but %s "
		    "prefixes go up to %d", (unsigned long long)plen,
		    *fam == 4 ? "IPv4" : "IPv6", *fam == 4 ? 32 : 128);
		return buf;
	}
	if (*fam == 4)
		plen += 96;
	mask = plen == 128 ? 0 : U128_MAX >> plen;
	if ((v & mask) != 0) {
		addr_format(v & ~mask, *fam == 4, net, sizeof(net));
		snprintf(buf, buflen, "has host bits set; did you mean "
		    "%s/%llu?", net, (unsigned long long)(*fam == 4 ?
		    plen - 96 : plen));
		return buf;
	}
	*lo = v;
	*hi = v | mask;
	return NULL;
}

struct actx {
	int		 ac_l3;		/* the rule's family, 0: none */
	struct alist	 ac_al;
};

static int
addr_item(struct pfile *pf, const struct token *t, void *arg)
{
	struct actx *ac = arg;
	const struct vset *s;
	const char *why;
	char buf[128];
	u128 lo, hi;
	uint32_t i;
	int fam, wn = t->tk_len > 60 ? 60 : (int)t->tk_len;

	if (t->tk_kind == TK_VAR) {
		if (set_lookup(pf, t, &s) == -1)
			return -1;
		if (s->vs_kind != SK_ADDR)
			return PERR_TOK(pf, t, "set $%s holds %s, not "
			    "addresses", s->vs_name, skind_what[s->vs_kind]);
		/* a set may mix families: a rule of one family takes its
		   part (the other's IPv4 part, for inet6) */
		for (i = 0; i < s->vs_al.al_n; i++) {
			lo = addr_u128(&s->vs_al.al_v[i].ar_lo);
			hi = addr_u128(&s->vs_al.al_v[i].ar_hi);
			if (ac->ac_l3 == VFR_L3_IP6 && lo >= V4_LO &&
			    hi <= V4_HI)
				continue;
			if (al_add(&ac->ac_al, lo, hi) == -1)
				return perr_nomem(pf);
		}
	} else {
		if (tok_is(t, "any"))
			return PERR_TOK(pf, t, "'any' stands alone: it cannot "
			    "be negated or put in a list");
		if ((why = addr_parse(t->tk_text, t->tk_len, &lo, &hi, &fam,
		    buf, sizeof(buf))) != NULL)
			return PERR_TOK(pf, t, "'%.*s' %s%s", wn, t->tk_text,
			    why, strcmp(why, "is not an address") == 0 ?
			    ": use an IPv4 or IPv6 address, prefix or range, "
			    "any, or a $set (names are not looked up)" : "");
		if (ac->ac_l3 == VFR_L3_IP6 && fam == 4)
			return PERR_TOK(pf, t, "%.*s is an IPv4 address in an "
			    "inet6 rule: it would never match", wn,
			    t->tk_text);
		if (ac->ac_l3 == VFR_L3_IP4 && (lo < V4_LO || hi > V4_HI))
			return PERR_TOK(pf, t, "%.*s is an IPv6 address in an "
			    "inet rule: it would never match", wn, t->tk_text);
		if (al_add(&ac->ac_al, lo, hi) == -1)
			return perr_nomem(pf);
	}
	if (ac->ac_al.al_n >= 2 * VFR_MAX_RANGES) {
		al_norm(&ac->ac_al);
		if (ac->ac_al.al_n > VFR_MAX_RANGES)
			return PERR_TOK(pf, t, "more than %d separate address "
			    "ranges in one list", VFR_MAX_RANGES);
	}
	return 0;
}

/* ADDR of from/to at the current token ("any" gives an empty list) */
static int
addrs_parse(struct pfile *pf, int l3, const char *side, struct alist *out)
{
	struct actx ac;
	uint32_t line = TOK(pf)->tk_line, col = TOK(pf)->tk_col;
	int neg;

	memset(&ac, 0, sizeof(ac));
	ac.ac_l3 = l3;
	if (tok_is(TOK(pf), "any")) {
		memset(out, 0, sizeof(*out));
		return next(pf);
	}
	if (list_walk(pf, "an address", &neg, addr_item, &ac) == -1)
		goto fail;
	al_norm(&ac.ac_al);
	if (neg && al_complement(&ac.ac_al, 0, U128_MAX) == -1) {
		perr_nomem(pf);
		goto fail;
	}
	if (l3 == VFR_L3_IP4)
		al_clip(&ac.ac_al, V4_LO, V4_HI);
	if (ac.ac_al.al_n == 0) {
		perr(pf, line, col, "%s leaves no %saddress: the rule would "
		    "never match", side, l3 == VFR_L3_IP4 ? "IPv4 " :
		    l3 == VFR_L3_IP6 ? "IPv6 " : "");
		goto fail;
	}
	if (ac.ac_al.al_n > VFR_MAX_RANGES) {
		perr(pf, line, col, "more than %d separate address ranges",
		    VFR_MAX_RANGES);
		goto fail;
	}
	*out = ac.ac_al;
	return 0;
fail:
	al_free(&ac.ac_al);
	return -1;
}

/* ---- sets ---- */

struct sctx {
	struct vset	*sc_set;
	int		 sc_kindset;	/* sc_set->vs_kind is known */
	uint32_t	 sc_n;		/* ranges so far, before merging */
};

static int
set_kind(struct pfile *pf, const struct token *t, struct sctx *sc,
    enum skind k)
{
	struct vset *s = sc->sc_set;
	char d[64];

	if (!sc->sc_kindset) {
		s->vs_kind = k;
		sc->sc_kindset = 1;
		return 0;
	}
	if (s->vs_kind == k || (k == SK_NUM && s->vs_kind != SK_ADDR))
		return 0;
	if (s->vs_kind == SK_NUM && k != SK_ADDR) {
		s->vs_kind = k;
		return 0;
	}
	tok_describe(t, d, sizeof(d));
	return PERR_TOK(pf, t, "%s is not one of the %s in set %s: a set holds "
	    "one kind of item (addresses, ports, or protocols)", d,
	    skind_what[s->vs_kind], s->vs_name);
}

static int
set_item(struct pfile *pf, const struct token *t, void *arg)
{
	struct sctx *sc = arg;
	struct vset *s = sc->sc_set;
	const struct vset *ref;
	const char *why, *dash;
	char buf[128];
	uint64_t lo, hi;
	uint32_t v;
	u128 alo, ahi;
	int fam, wn = t->tk_len > 60 ? 60 : (int)t->tk_len;
	enum skind k;

	if (t->tk_kind == TK_VAR) {
		if (set_lookup(pf, t, &ref) == -1)
			return -1;
		if (set_kind(pf, t, sc, ref->vs_kind) == -1)
			return -1;
		if (ref->vs_kind == SK_ADDR) {
			if (al_append(&s->vs_al, &ref->vs_al) == -1)
				return perr_nomem(pf);
		} else if (rl_append(&s->vs_rl, &ref->vs_rl) == -1)
			return perr_nomem(pf);
	} else if (memchr(t->tk_text, '.', t->tk_len) != NULL ||
	    memchr(t->tk_text, ':', t->tk_len) != NULL) {
		if ((why = addr_parse(t->tk_text, t->tk_len, &alo, &ahi, &fam,
		    buf, sizeof(buf))) != NULL)
			return PERR_TOK(pf, t, "'%.*s' %s", wn, t->tk_text,
			    why);
		if (set_kind(pf, t, sc, SK_ADDR) == -1)
			return -1;
		if (al_add(&s->vs_al, alo, ahi) == -1)
			return perr_nomem(pf);
	} else {
		k = SK_NUM;
		if (num_parse(t->tk_text, t->tk_len, &lo) == 0)
			hi = lo;
		else if (name_lookup(vfr_protos, t->tk_text, t->tk_len,
		    &v) == 0) {
			lo = hi = v;
			k = SK_PROTO;
		} else if (name_lookup(vfr_services, t->tk_text, t->tk_len,
		    &v) == 0) {
			lo = hi = v;
			k = SK_PORT;
		} else if ((dash = memchr(t->tk_text, '-', t->tk_len)) !=
		    NULL && num_parse(t->tk_text, (size_t)(dash -
		    t->tk_text), &lo) == 0 && num_parse(dash + 1, t->tk_len -
		    (size_t)(dash - t->tk_text) - 1, &hi) == 0) {
			if (lo > hi)
				return PERR_TOK(pf, t, "range %.*s is "
				    "backwards: write %llu-%llu", wn,
				    t->tk_text, (unsigned long long)hi,
				    (unsigned long long)lo);
		} else
			return PERR_TOK(pf, t, "'%.*s' is not a set item: sets "
			    "hold addresses, ports (numbers, ranges, service "
			    "names) or protocols (names, numbers)", wn,
			    t->tk_text);
		if (hi > 65535)
			return PERR_TOK(pf, t, "%.*s is out of range: set "
			    "numbers go from 0 to 65535", wn, t->tk_text);
		if (set_kind(pf, t, sc, k) == -1)
			return -1;
		if (rl_add(&s->vs_rl, (uint32_t)lo, (uint32_t)hi) == -1)
			return perr_nomem(pf);
	}
	/* merge as we go, so that sets of sets stay small */
	if (s->vs_rl.rl_n >= 2 * VFR_MAX_RANGES)
		rl_norm(&s->vs_rl);
	if (s->vs_al.al_n >= 2 * VFR_MAX_RANGES)
		al_norm(&s->vs_al);
	if (s->vs_rl.rl_n > VFR_MAX_RANGES || s->vs_al.al_n > VFR_MAX_RANGES)
		return PERR_TOK(pf, t, "set %s has more than %d separate "
		    "ranges", s->vs_name, VFR_MAX_RANGES);
	return 0;
}

static int
stmt_set(struct pfile *pf)
{
	struct pstate *ps = pf->pf_ps;
	struct token *t = TOK(pf);
	const struct vset *old;
	struct vset *sets, s;
	struct sctx sc;
	uint32_t i, n, ncol;

	memset(&s, 0, sizeof(s));
	if (next(pf) == -1)
		return -1;
	if (t->tk_kind != TK_WORD)
		return PERR_TOK(pf, t, "set needs a name: set NAME = { ... }");
	for (i = 0; i < t->tk_len; i++)
		if (!((t->tk_text[i] >= 'a' && t->tk_text[i] <= 'z') ||
		    (t->tk_text[i] >= 'A' && t->tk_text[i] <= 'Z') ||
		    t->tk_text[i] == '_' || (i > 0 && t->tk_text[i] >= '0' &&
		    t->tk_text[i] <= '9')))
			return PERR_TOK(pf, t, "set names are letters, digits "
			    "and _, starting with a letter or _");
	if (t->tk_len >= VFR_LANG_MAX_SETNAME)
		return PERR_TOK(pf, t, "set name longer than %d characters",
		    VFR_LANG_MAX_SETNAME - 1);
	if ((old = set_find(pf, t)) != NULL)
		return PERR_TOK(pf, t, "set %s is already defined at %s:%u",
		    old->vs_name, old->vs_file, old->vs_line);
	if (ps->ps_nsets[pf->pf_tenant] >= VFR_LANG_MAX_SETS)
		return PERR_TOK(pf, t, "more than %d sets",
		    VFR_LANG_MAX_SETS);
	word_copy(t, s.vs_name, sizeof(s.vs_name));
	s.vs_file = pf->pf_name;
	s.vs_line = t->tk_line;
	ncol = t->tk_col;
	if (next(pf) == -1)
		return -1;
	if (t->tk_kind != TK_EQ)
		return PERR_TOK(pf, t, "expected = after the set name: set %s "
		    "= { ... }", s.vs_name);
	if (next(pf) == -1)
		return -1;
	memset(&sc, 0, sizeof(sc));
	sc.sc_set = &s;
	if (list_walk(pf, "a set item", NULL, set_item, &sc) == -1)
		goto fail;
	rl_norm(&s.vs_rl);
	al_norm(&s.vs_al);
	if (s.vs_kind == SK_PROTO && s.vs_rl.rl_v[s.vs_rl.rl_n - 1].rg_hi >
	    255) {
		perr(pf, s.vs_line, ncol, "set %s holds protocols and %u, which "
		    "is no protocol (0-255): a set holds one kind of item",
		    s.vs_name, s.vs_rl.rl_v[s.vs_rl.rl_n - 1].rg_hi);
		goto fail;
	}
	n = s.vs_rl.rl_n + s.vs_al.al_n;
	if (ps->ps_setranges + n > VFR_LANG_MAX_SETRANGES) {
		perr(pf, s.vs_line, ncol, "the sets hold more than %u ranges in "
		    "all", VFR_LANG_MAX_SETRANGES);
		goto fail;
	}
	ps->ps_setranges += n;
	if ((sets = reallocarray(ps->ps_sets[pf->pf_tenant],
	    ps->ps_nsets[pf->pf_tenant] + 1, sizeof(*sets))) == NULL) {
		perr_nomem(pf);
		goto fail;
	}
	ps->ps_sets[pf->pf_tenant] = sets;
	sets[ps->ps_nsets[pf->pf_tenant]++] = s;
	return 0;
fail:
	rl_free(&s.vs_rl);
	al_free(&s.vs_al);
	return -1;
}

/* ---- rules ---- */

static const char *const actions[] = {
	"accept", "drop", "reject", "count", "log", "rate-limit", NULL,
};

static const char *const clause_words[] = {
	"log", "in", "out", "on", "domain", "inet", "inet6", "arp", "ether",
	"proto", "from", "to", "icmp-type", "flags", "state", "match",
	"rate", "port", "code", "burst", NULL,
};

static int
clause_of(const struct token *t)
{
	static const struct {
		const char	*w;
		enum clause	 c;
	} tab[] = {
		{ "log", C_LOG }, { "in", C_DIR }, { "out", C_DIR },
		{ "on", C_VIF }, { "domain", C_DOMAIN }, { "inet", C_FAMILY },
		{ "inet6", C_FAMILY }, { "arp", C_FAMILY },
		{ "ether", C_FAMILY }, { "proto", C_PROTO },
		{ "from", C_FROM }, { "to", C_TO },
		{ "icmp-type", C_ICMPTYPE }, { "flags", C_FLAGS },
		{ "state", C_STATE }, { "match", C_MATCH },
		{ "rate", C_RATE },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tok_is(t, tab[i].w))
			return (int)tab[i].c;
	return -1;
}

static void
rbuild_free(struct rbuild *rb)
{
	int f;

	for (f = 0; f < VFR_NFIELDS; f++)
		rl_free(&rb->rb_rl[f]);
	for (f = 0; f < VFR_NAFIELDS; f++)
		al_free(&rb->rb_al[f]);
	free(rb->rb_pr.pr_r.r_bpf);
	free(rb->rb_pr.pr_match);
	memset(rb, 0, sizeof(*rb));
}

static void
prule_free(struct prule *pr)
{
	int f;

	for (f = 0; f < VFR_NFIELDS; f++)
		free(pr->pr_r.r_range[f]);
	for (f = 0; f < VFR_NAFIELDS; f++)
		free(pr->pr_r.r_arange[f]);
	free(pr->pr_r.r_bpf);
	free(pr->pr_r.r_text);
	free(pr->pr_match);
	memset(pr, 0, sizeof(*pr));
}

/* the one protocol of the rule, or -1 if it has none or several */
static int
rule_proto(const struct rbuild *rb)
{
	const struct rlist *rl = &rb->rb_rl[VFR_F_PROTO];

	if (rl->rl_n != 1 || rl->rl_v[0].rg_lo != rl->rl_v[0].rg_hi)
		return -1;
	return (int)rl->rl_v[0].rg_lo;
}

static int
name_parse(struct pfile *pf, const char *what, size_t max, char *out)
{
	struct token *t = TOK(pf);
	const char *s;
	size_t n, i;

	if (t->tk_kind == TK_WORD) {
		s = t->tk_text;
		n = t->tk_len;
	} else if (t->tk_kind == TK_STRING) {
		s = t->tk_str;
		n = t->tk_slen;
	} else
		return PERR_TOK(pf, t, "expected a %s name", what);
	if (n == 0 || n > max)
		return PERR_TOK(pf, t, "a %s name has 1 to %zu characters",
		    what, max);
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return PERR_TOK(pf, t, "a %s name has only letters, "
			    "digits, _ . and -", what);
	memcpy(out, s, n);
	out[n] = '\0';
	return next(pf);
}

static int
flags_parse(struct pfile *pf, struct vfr_rule *r)
{
	static const char letters[] = "FSRPAUEW";
	struct token *t = TOK(pf);
	const char *p;
	uint8_t *dst, bit;
	size_t i;
	int slash = 0;

	if (t->tk_kind != TK_WORD || memchr(t->tk_text, '/', t->tk_len) ==
	    NULL)
		return PERR_TOK(pf, t, "flags are F/M in the letters FSRPAUEW, "
		    "e.g. flags S/SA (SYN set, ACK clear)");
	dst = &r->r_tcp_val;
	for (i = 0; i < t->tk_len; i++) {
		if (t->tk_text[i] == '/') {
			if (slash++)
				return perr(pf, t->tk_line,
				    t->tk_col + (uint32_t)i, "flags have one "
				    "/ between the flags and the mask");
			dst = &r->r_tcp_mask;
			continue;
		}
		if ((p = strchr(letters, t->tk_text[i])) == NULL)
			return perr(pf, t->tk_line, t->tk_col + (uint32_t)i,
			    "unknown TCP flag '%c': the flags are F S R P A "
			    "U E W", t->tk_text[i]);
		bit = (uint8_t)(1U << (p - letters));
		if (*dst & bit)
			return perr(pf, t->tk_line, t->tk_col + (uint32_t)i,
			    "flag %c given twice", t->tk_text[i]);
		*dst |= bit;
	}
	if (r->r_tcp_mask == 0)
		return PERR_TOK(pf, t, "flags need a mask after /: e.g. flags "
		    "S/SA");
	if ((r->r_tcp_val & ~r->r_tcp_mask) != 0)
		return PERR_TOK(pf, t, "flags %.*s: every flag before / must "
		    "be in the mask after it, or the rule never matches",
		    (int)(t->tk_len > 20 ? 20 : t->tk_len), t->tk_text);
	return next(pf);
}

static int
state_parse(struct pfile *pf, struct vfr_rule *r)
{
	static const char *const names[] = { "new", "established",
	    "related", "invalid", "untracked", NULL };
	struct token *t = TOK(pf);
	char d[64];
	int i;

	for (;;) {
		for (i = 0; names[i] != NULL; i++)
			if (tok_is(t, names[i]))
				break;
		if (names[i] == NULL) {
			tok_describe(t, d, sizeof(d));
			return PERR_TOK(pf, t, "expected a state (new, "
			    "established, related, invalid, untracked), found "
			    "%s", d);
		}
		r->r_ct |= (uint8_t)(1U << i);
		if (next(pf) == -1)
			return -1;
		if (t->tk_kind != TK_COMMA)
			return 0;
		if (next(pf) == -1)
			return -1;
	}
}

/*
 * pcap_compile() looks up names (hosts through DNS, ports and protocols
 * through /etc): refuse any word that is not a pcap-filter keyword or a
 * literal, so that rule text means the same everywhere and tenant text
 * never makes the host resolve names.
 */
static const char *const pcap_keywords[] = {
	"dst", "src", "host", "gateway", "net", "mask", "port", "portrange",
	"less", "greater", "proto", "protochain", "byte", "broadcast",
	"multicast", "and", "or", "not", "len", "inbound", "outbound",
	"vlan", "mpls", "pppoed", "pppoes", "geneve", "llc", "link", "ether",
	"ip", "ip6", "arp", "rarp", "atalk", "aarp", "decnet", "lat", "sca",
	"moprc", "mopdl", "iso", "esis", "es-is", "isis", "is-is", "l1", "l2",
	"iih", "lsp", "snp", "csnp", "psnp", "clnp", "stp", "ipx", "netbeui",
	"tcp", "udp", "icmp", "icmp6", "igmp", "igrp", "pim", "vrrp", "carp",
	"sctp", "ah", "esp", "icmptype", "icmpcode", "icmp6type",
	"icmp6code", "tcpflags", "tcp-fin", "tcp-syn", "tcp-rst", "tcp-push",
	"tcp-ack", "tcp-urg", "tcp-ece", "tcp-cwr", "icmp-echoreply",
	"icmp-unreach", "icmp-sourcequench", "icmp-redirect", "icmp-echo",
	"icmp-routeradvert", "icmp-routersolicit", "icmp-timxceed",
	"icmp-paramprob", "icmp-tstamp", "icmp-tstampreply", "icmp-ireq",
	"icmp-ireqreply", "icmp-maskreq", "icmp-maskreply",
	"icmp6-destinationunreach", "icmp6-packettoobig",
	"icmp6-timeexceeded", "icmp6-parameterproblem", "icmp6-echo",
	"icmp6-echoreply", "icmp6-multicastlistenerquery",
	"icmp6-multicastlistenerreportv1", "icmp6-multicastlistenerdone",
	"icmp6-routersolicit", "icmp6-routeradvert", "icmp6-neighborsolicit",
	"icmp6-neighboradvert", "icmp6-redirect", NULL,
};

static int
pcap_word_ok(const char *w, size_t n)
{
	const char *const *k;
	size_t i, dec = 0, hex = 0, colon = 0;

	for (k = pcap_keywords; *k != NULL; k++)
		if (strlen(*k) == n && memcmp(*k, w, n) == 0)
			return 1;
	for (i = 0; i < n; i++) {
		if ((w[i] >= '0' && w[i] <= '9') || w[i] == '.')
			dec++;
		if ((w[i] >= '0' && w[i] <= '9') || (w[i] >= 'a' &&
		    w[i] <= 'f') || (w[i] >= 'A' && w[i] <= 'F') ||
		    w[i] == '.' || w[i] == ':')
			hex++;
		if (w[i] == ':')
			colon++;
	}
	/* 80, 10.1.2.3, 0x1f, fe80::1, 00:11:22:33:44:55; not "1e" or
	   "beef", which pcap_compile() would look up as host names */
	if (n > 0 && dec == n)
		return 1;
	if (n > 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'X') &&
	    strspn(w + 2, "0123456789abcdefABCDEF") >= n - 2)
		return 1;
	return n > 0 && hex == n && colon > 0;
}

static int
pcap_words_ok(const char *s, const char **bad, size_t *badlen)
{
	size_t i = 0, j, k, p;

	while (s[i] != '\0') {
		if (s[i] == '\\')
			i++;
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_')) {
			if (s[i] != '\0')
				i++;
			continue;
		}
		for (j = i; (s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' &&
		    s[j] <= 'Z') || (s[j] >= '0' && s[j] <= '9') ||
		    s[j] == '_' || s[j] == '.' || s[j] == ':' || s[j] == '-';
		    j++)
			;
		if (!pcap_word_ok(s + i, j - i)) {
			/* "len-4": each part on its own */
			for (p = i; p < j; p = k + 1) {
				for (k = p; k < j && s[k] != '-'; k++)
					;
				if (k == p || !pcap_word_ok(s + p, k - p)) {
					*bad = s + i;
					*badlen = j - i;
					return 0;
				}
			}
		}
		i = j;
	}
	return 1;
}

/* The same check for capture filters (capture.c): 0, or -1 and why. */
int
vfr_pcap_names_ok(const char *s, char *msg, size_t msgsz)
{
	const char *bad;
	size_t badlen;

	if (pcap_words_ok(s, &bad, &badlen))
		return 0;
	snprintf(msg, msgsz, "'%.*s' is not a pcap-filter keyword or a "
	    "literal; names are not looked up here: write addresses and "
	    "numbers", (int)(badlen > 40 ? 40 : badlen), bad);
	return -1;
}

static int
match_parse(struct pfile *pf, struct rbuild *rb)
{
	struct pstate *ps = pf->pf_ps;
	struct token *t = TOK(pf);
	struct vfr_rule *r = &rb->rb_pr.pr_r;
	struct bpf_program prog;
	const char *bad;
	size_t badlen;
	uint32_t i;

	if (t->tk_kind != TK_STRING)
		return PERR_TOK(pf, t, "match needs a pcap-filter expression "
		    "in quotes, e.g. match \"tcp[13] & 2 != 0\"");
	if (t->tk_slen == 0)
		return PERR_TOK(pf, t, "match needs a non-empty pcap-filter "
		    "expression");
	if (!pcap_words_ok(t->tk_str, &bad, &badlen))
		return PERR_TOK(pf, t, "match: '%.*s' is not a pcap-filter "
		    "keyword or a literal; names are not looked up here: "
		    "write addresses and numbers", (int)(badlen > 40 ? 40 :
		    badlen), bad);
	if (ps->ps_pcap == NULL &&
	    (ps->ps_pcap = pcap_open_dead(DLT_EN10MB, 65535)) == NULL)
		return perr_nomem(pf);
	if (pcap_compile(ps->ps_pcap, &prog, t->tk_str, 1,
	    PCAP_NETMASK_UNKNOWN) == -1)
		return PERR_TOK(pf, t, "match: %s", pcap_geterr(ps->ps_pcap));
	if (prog.bf_len == 0 || prog.bf_len > VFR_MAX_BPF) {
		pcap_freecode(&prog);
		return PERR_TOK(pf, t, "match: the filter compiles to more "
		    "than %d instructions; simplify it", VFR_MAX_BPF);
	}
	if (ps->ps_totbpf + prog.bf_len > VFR_LANG_MAX_TOTBPF) {
		pcap_freecode(&prog);
		return PERR_TOK(pf, t, "match: the rules hold more than %u "
		    "filter instructions in all", VFR_LANG_MAX_TOTBPF);
	}
	if ((r->r_bpf = calloc(prog.bf_len, sizeof(*r->r_bpf))) == NULL ||
	    (rb->rb_pr.pr_match = strdup(t->tk_str)) == NULL) {
		pcap_freecode(&prog);
		return perr_nomem(pf);
	}
	for (i = 0; i < prog.bf_len; i++) {
		r->r_bpf[i].bi_code = prog.bf_insns[i].code;
		r->r_bpf[i].bi_jt = prog.bf_insns[i].jt;
		r->r_bpf[i].bi_jf = prog.bf_insns[i].jf;
		r->r_bpf[i].bi_k = prog.bf_insns[i].k;
	}
	r->r_nbpf = prog.bf_len;
	pcap_freecode(&prog);
	if (vfr_bpf_valid(r->r_bpf, r->r_nbpf) != 0)
		return PERR_TOK(pf, t, "match: the filter compiles to "
		    "instructions the VFR cannot run");
	ps->ps_totbpf += r->r_nbpf;
	return next(pf);
}

static const struct {
	const char	*u_name;
	uint64_t	 u_mult;	/* bits per unit: bytes are 8 */
} rate_units[] = {
	{ "bits", 1 }, { "kbits", 1000 }, { "mbits", 1000000 },
	{ "gbits", 1000000000 }, { "bytes", 8 }, { "kbytes", 8000 },
	{ "mbytes", 8000000 }, { "gbytes", 8000000000ULL },
};

/*
 * N[unit]: a count of packets (no unit, or "packets") or of bytes.  *v is
 * in packets, or in bits (exact) for byte units.
 */
static const char *
quantity_parse(const char *s, size_t n, uint64_t *v, int *bytes)
{
	size_t i, d;
	uint64_t x;

	for (d = 0; d < n && s[d] >= '0' && s[d] <= '9'; d++)
		;
	if (d == 0 || num_parse(s, d, &x) == -1)
		return "is not a number";
	*bytes = 0;
	*v = x;
	if (d == n || (n - d == 7 && memcmp(s + d, "packets", 7) == 0))
		return x > (3600ULL << 40) ? "is too large" : NULL;
	for (i = 0; i < sizeof(rate_units) / sizeof(rate_units[0]); i++)
		if (strlen(rate_units[i].u_name) == n - d &&
		    memcmp(rate_units[i].u_name, s + d, n - d) == 0) {
			if (__builtin_mul_overflow(x, rate_units[i].u_mult,
			    v) || *v > (8ULL << 40) * 3600)
				return "is too large";
			*bytes = 1;
			return NULL;
		}
	return "has an unknown unit: use packets (no unit), bytes, kbytes, "
	    "mbytes, gbytes, bits, kbits, mbits or gbits";
}

static int
rate_parse(struct pfile *pf, struct vfr_rule *r)
{
	struct token *t = TOK(pf);
	const char *slash, *why, *unit;
	uint64_t v, div, per;
	size_t n;
	int bytes, wn;

	if (t->tk_kind != TK_WORD ||
	    (slash = memchr(t->tk_text, '/', t->tk_len)) == NULL)
		return PERR_TOK(pf, t, "rate is N/second, N/minute or N/hour, "
		    "in packets or with a unit such as mbytes: rate 20/second, "
		    "rate 10mbytes/second");
	wn = t->tk_len > 40 ? 40 : (int)t->tk_len;
	n = (size_t)(slash - t->tk_text);
	if ((why = quantity_parse(t->tk_text, n, &v, &bytes)) != NULL)
		return PERR_TOK(pf, t, "rate %.*s %s", wn, t->tk_text, why);
	unit = slash + 1;
	n = t->tk_len - n - 1;
	if ((n == 6 && memcmp(unit, "second", 6) == 0) ||
	    (n == 3 && memcmp(unit, "sec", 3) == 0))
		div = 1;
	else if ((n == 6 && memcmp(unit, "minute", 6) == 0) ||
	    (n == 3 && memcmp(unit, "min", 3) == 0))
		div = 60;
	else if (n == 4 && memcmp(unit, "hour", 4) == 0)
		div = 3600;
	else
		return PERR_TOK(pf, t, "rate %.*s: the time unit is second, "
		    "minute or hour", wn, t->tk_text);
	per = bytes ? 8 * div : div;
	if (v == 0)
		return PERR_TOK(pf, t, "rate %.*s is zero: to drop everything, "
		    "use drop", wn, t->tk_text);
	if (v % per != 0)
		return PERR_TOK(pf, t, "rate %.*s is not a whole number of %s "
		    "per second; the VFR counts whole %s per second: use a "
		    "multiple of %llu", wn, t->tk_text, bytes ? "bytes" :
		    "packets", bytes ? "bytes" : "packets",
		    (unsigned long long)(bytes ? per : div));
	r->r_rl_rate = v / per;
	r->r_rl_bytes = (uint8_t)bytes;
	if (r->r_rl_rate > (1ULL << 40))
		return PERR_TOK(pf, t, "rate %.*s is too large: at most 2^40 "
		    "%s per second", wn, t->tk_text, bytes ? "bytes" :
		    "packets");
	r->r_rl_burst = r->r_rl_rate;
	if (next(pf) == -1)
		return -1;
	if (!tok_is(t, "burst"))
		return 0;
	if (next(pf) == -1)
		return -1;
	if (t->tk_kind != TK_WORD)
		return PERR_TOK(pf, t, "burst needs a size: burst 40, or burst "
		    "64kbytes for a byte rate");
	wn = t->tk_len > 40 ? 40 : (int)t->tk_len;
	if ((why = quantity_parse(t->tk_text, t->tk_len, &v, &bytes)) != NULL)
		return PERR_TOK(pf, t, "burst %.*s %s", wn, t->tk_text, why);
	if (bytes && !r->r_rl_bytes)
		return PERR_TOK(pf, t, "burst %.*s is in bytes but the rate is "
		    "in packets", wn, t->tk_text);
	if (r->r_rl_bytes) {
		if (!bytes)
			v *= 8;		/* a plain number is bytes here */
		if (v % 8 != 0)
			return PERR_TOK(pf, t, "burst %.*s is not a whole "
			    "number of bytes", wn, t->tk_text);
		v /= 8;
	}
	if (v == 0 || v > (1ULL << 40))
		return PERR_TOK(pf, t, "burst %.*s is out of range: 1 to 2^40",
		    wn, t->tk_text);
	r->r_rl_burst = v;
	return next(pf);
}

/* from/to: [ADDR] [port PORTS] */
static int
side_parse(struct pfile *pf, struct rbuild *rb, int af, int portf,
    const char *side)
{
	struct vfr_rule *r = &rb->rb_pr.pr_r;
	struct token *t = TOK(pf);
	uint32_t i;
	int p;

	if (r->r_l3 == VFR_L3_ARP)
		return PERR_TOK(pf, t, "%s: an arp rule has no IP addresses or "
		    "ports", side);
	if (next(pf) == -1)
		return -1;
	if (at_end(t))
		return PERR_TOK(pf, t, "%s needs an address (or any) or port",
		    side);
	if (!tok_is(t, "port") &&
	    addrs_parse(pf, r->r_l3, side, &rb->rb_al[af]) == -1)
		return -1;
	if (rb->rb_al[af].al_n != 0) {
		rb->rb_afam[af] = VFR_L3_IP4 | VFR_L3_IP6;
		if (addr_u128(&rb->rb_al[af].al_v[0].ar_lo) >= V4_LO &&
		    addr_u128(&rb->rb_al[af].al_v[rb->rb_al[af].al_n -
		    1].ar_hi) <= V4_HI)
			rb->rb_afam[af] = VFR_L3_IP4;
		else {
			for (i = 0; i < rb->rb_al[af].al_n; i++)
				if (addr_u128(&rb->rb_al[af].al_v[i].ar_hi) >=
				    V4_LO && addr_u128(
				    &rb->rb_al[af].al_v[i].ar_lo) <= V4_HI)
					break;
			if (i == rb->rb_al[af].al_n)
				rb->rb_afam[af] = VFR_L3_IP6;
		}
	}
	if (!tok_is(t, "port"))
		return 0;
	if (rb->rb_rl[VFR_F_PROTO].rl_n == 0)
		return PERR_TOK(pf, t, "port needs proto tcp, udp, sctp or "
		    "udplite before from/to");
	for (i = 0; i < rb->rb_rl[VFR_F_PROTO].rl_n; i++)
		for (p = (int)rb->rb_rl[VFR_F_PROTO].rl_v[i].rg_lo;
		    p <= (int)rb->rb_rl[VFR_F_PROTO].rl_v[i].rg_hi; p++)
			if (p != 6 && p != 17 && p != 132 && p != 136)
				return PERR_TOK(pf, t, "port needs proto tcp, "
				    "udp, sctp or udplite, but the rule's "
				    "protocols include %s%s%d", proto_name(
				    (uint32_t)p) ? proto_name((uint32_t)p) :
				    "", proto_name((uint32_t)p) ? " = " : "",
				    p);
	if (next(pf) == -1)
		return -1;
	return values_parse(pf, VK_PORT, 0, "a port", &rb->rb_rl[portf]);
}

static int
rule_add(struct pfile *pf, struct rbuild *rb, uint32_t line, uint32_t col)
{
	struct pstate *ps = pf->pf_ps;
	struct vfr_rule *r = &rb->rb_pr.pr_r;
	struct prule *v;
	uint64_t n = 0;
	int f, w = pf->pf_tenant;

	for (f = 0; f < VFR_NFIELDS; f++)
		n += rb->rb_rl[f].rl_n;
	for (f = 0; f < VFR_NAFIELDS; f++)
		n += rb->rb_al[f].al_n;
	if (ps->ps_totranges + n > VFR_LANG_MAX_TOTRANGES)
		return perr(pf, line, col, "the rules hold more than %u ranges "
		    "in all: use fewer or wider ranges", VFR_LANG_MAX_TOTRANGES);
	if (ps->ps_nrules[0] + ps->ps_nrules[1] >= VFR_MAX_RULES)
		return perr(pf, line, col, "more than %d rules",
		    VFR_MAX_RULES);
	if (ps->ps_nrules[w] == ps->ps_rcap[w]) {
		uint32_t cap = ps->ps_rcap[w] ? ps->ps_rcap[w] * 2 : 64;

		if ((v = reallocarray(ps->ps_rules[w], cap, sizeof(*v))) ==
		    NULL)
			return perr_nomem(pf);
		ps->ps_rules[w] = v;
		ps->ps_rcap[w] = cap;
	}
	ps->ps_totranges += n;
	for (f = 0; f < VFR_NFIELDS; f++) {
		if (rb->rb_rl[f].rl_n == 0)
			rl_free(&rb->rb_rl[f]);
		r->r_range[f] = rb->rb_rl[f].rl_v;
		r->r_nrange[f] = rb->rb_rl[f].rl_n;
		memset(&rb->rb_rl[f], 0, sizeof(rb->rb_rl[f]));
	}
	for (f = 0; f < VFR_NAFIELDS; f++) {
		if (rb->rb_al[f].al_n == 0)
			al_free(&rb->rb_al[f]);
		r->r_arange[f] = rb->rb_al[f].al_v;
		r->r_narange[f] = rb->rb_al[f].al_n;
		memset(&rb->rb_al[f], 0, sizeof(rb->rb_al[f]));
	}
	r->r_line = line;
	rb->rb_pr.pr_file = pf->pf_name;
	ps->ps_rules[w][ps->ps_nrules[w]++] = rb->rb_pr;
	memset(&rb->rb_pr, 0, sizeof(rb->rb_pr));
	return 0;
}

static int
clause_parse(struct pfile *pf, struct rbuild *rb, enum clause c)
{
	struct vfr_rule *r = &rb->rb_pr.pr_r;
	struct token *t = TOK(pf);
	int proto;

	switch (c) {
	case C_LOG:
		if (r->r_action == VFR_LOG)
			return PERR_TOK(pf, t, "a log rule logs already: "
			    "remove this log");
		r->r_log = 1;
		return next(pf);
	case C_DIR:
		r->r_dir = tok_is(t, "in") ? VFR_DIR_IN : VFR_DIR_OUT;
		return next(pf);
	case C_VIF:
		if (next(pf) == -1)
			return -1;
		if (!tok_is(t, "vif"))
			return PERR_TOK(pf, t, "on is followed by vif NAME: "
			    "on vif xv1.0");
		if (next(pf) == -1)
			return -1;
		return name_parse(pf, "vif", VFR_LANG_VIF_MAX, r->r_vif);
	case C_DOMAIN:
		if (pf->pf_tenant)
			return PERR_TOK(pf, t, "domain is not allowed in "
			    "tenant rules: they apply to the tenant's own "
			    "domains already");
		if (next(pf) == -1)
			return -1;
		return name_parse(pf, "domain", VFR_NAME_MAX - 1,
		    r->r_domain);
	case C_FAMILY:
		if (tok_is(t, "ether")) {
			if (next(pf) == -1)
				return -1;
			if (!tok_is(t, "type"))
				return PERR_TOK(pf, t, "ether is followed by "
				    "type N: ether type 0x88cc");
			if (next(pf) == -1)
				return -1;
			return values_parse(pf, VK_ETHER, 0, "an ethertype",
			    &rb->rb_rl[VFR_F_ETHERTYPE]);
		}
		r->r_l3 = tok_is(t, "inet") ? VFR_L3_IP4 : tok_is(t, "inet6") ?
		    VFR_L3_IP6 : VFR_L3_ARP;
		return next(pf);
	case C_PROTO:
		if (r->r_l3 == VFR_L3_ARP)
			return PERR_TOK(pf, t, "proto: an arp rule has no IP "
			    "protocol");
		if (next(pf) == -1)
			return -1;
		return values_parse(pf, VK_PROTO, 0, "a protocol",
		    &rb->rb_rl[VFR_F_PROTO]);
	case C_FROM:
		return side_parse(pf, rb, VFR_A_SRC, VFR_F_SPORT, "from");
	case C_TO:
		return side_parse(pf, rb, VFR_A_DST, VFR_F_DPORT, "to");
	case C_ICMPTYPE:
		proto = rule_proto(rb);
		if (proto != 1 && proto != 58)
			return PERR_TOK(pf, t, "icmp-type needs proto icmp or "
			    "proto icmp6 (exactly one of them) before it");
		if ((proto == 1 && r->r_l3 == VFR_L3_IP6) ||
		    (proto == 58 && r->r_l3 == VFR_L3_IP4))
			return PERR_TOK(pf, t, "icmp-type: %s messages are "
			    "not %s: use proto %s", proto == 1 ? "icmp" :
			    "icmp6", proto == 1 ? "IPv6" : "IPv4", proto == 1 ?
			    "icmp6 with inet6" : "icmp with inet");
		if (next(pf) == -1)
			return -1;
		if (values_parse(pf, VK_ICMPTYPE, (uint32_t)proto,
		    "an icmp type", &rb->rb_rl[VFR_F_ICMPTYPE]) == -1)
			return -1;
		if (!tok_is(t, "code"))
			return 0;
		if (next(pf) == -1)
			return -1;
		return values_parse(pf, VK_CODE, 0, "an icmp code",
		    &rb->rb_rl[VFR_F_ICMPCODE]);
	case C_FLAGS:
		if (rule_proto(rb) != 6)
			return PERR_TOK(pf, t, "flags needs proto tcp before "
			    "it");
		if (next(pf) == -1)
			return -1;
		return flags_parse(pf, r);
	case C_STATE:
		if (next(pf) == -1)
			return -1;
		return state_parse(pf, r);
	case C_MATCH:
		if (next(pf) == -1)
			return -1;
		return match_parse(pf, rb);
	case C_RATE:
		if (r->r_action != VFR_RATELIMIT)
			return PERR_TOK(pf, t, "rate is only for rate-limit "
			    "rules");
		if (next(pf) == -1)
			return -1;
		return rate_parse(pf, r);
	case NCLAUSES:
		break;
	}
	return PERR_TOK(pf, t, "internal error: clause %d", (int)c);
}

/*
 * An ether type list next to addresses of family l3: the family says it
 * all, so the list goes (printing both would not parse back, "the family
 * given twice"); -1 if the list leaves the family's ether type out.
 */
static int
ethertype_narrow(struct rlist *rl, int l3)
{
	uint32_t et = l3 == VFR_L3_IP4 ? 0x0800 : 0x86dd, i;

	for (i = 0; i < rl->rl_n; i++)
		if (rl->rl_v[i].rg_lo <= et && et <= rl->rl_v[i].rg_hi) {
			rl_free(rl);
			return 0;
		}
	return -1;
}

/*
 * The family a rule's addresses imply when it names none: IPv4 if an
 * address side holds only IPv4 (::ffff:0:0/96), IPv6 if a side holds no
 * IPv4; contradicting sides are an error.  With the family known, IPv4
 * rules keep only IPv4 addresses on both sides (a negation on the other
 * side may have reached beyond).
 */
static int
family_finish(struct pfile *pf, struct rbuild *rb, uint32_t line,
    uint32_t col)
{
	struct vfr_rule *r = &rb->rb_pr.pr_r;
	int a = rb->rb_afam[VFR_A_SRC], b = rb->rb_afam[VFR_A_DST], f;

	if (r->r_l3 != 0)
		return 0;
	if ((a == VFR_L3_IP4 && b == VFR_L3_IP6) ||
	    (a == VFR_L3_IP6 && b == VFR_L3_IP4))
		return perr(pf, line, col, "from and to are of different "
		    "families (IPv4 and IPv6): the rule would never match");
	if (a == VFR_L3_IP4 || b == VFR_L3_IP4)
		r->r_l3 = VFR_L3_IP4;
	else if (a == VFR_L3_IP6 || b == VFR_L3_IP6)
		r->r_l3 = VFR_L3_IP6;
	if (r->r_l3 != 0 && rb->rb_rl[VFR_F_ETHERTYPE].rl_n != 0 &&
	    ethertype_narrow(&rb->rb_rl[VFR_F_ETHERTYPE], r->r_l3) == -1)
		return perr(pf, line, col, "the ether type leaves out %s, "
		    "which the addresses are: the rule would never match",
		    r->r_l3 == VFR_L3_IP4 ? "IPv4" : "IPv6");
	if (r->r_l3 != VFR_L3_IP4)
		return 0;
	for (f = 0; f < VFR_NAFIELDS; f++) {
		if (rb->rb_al[f].al_n == 0)
			continue;
		al_clip(&rb->rb_al[f], V4_LO, V4_HI);
		if (rb->rb_al[f].al_n == 0)
			return perr(pf, line, col, "%s leaves no IPv4 address "
			    "but the other side is IPv4: the rule would never "
			    "match", f == VFR_A_SRC ? "from" : "to");
	}
	return 0;
}

static int
stmt_rule(struct pfile *pf)
{
	struct token *t = TOK(pf);
	struct rbuild rb;
	char d[64], sug[64];
	uint32_t line = t->tk_line, col = t->tk_col;
	int i, c, last = -1;
	unsigned seen = 0;

	memset(&rb, 0, sizeof(rb));
	for (i = 0; actions[i] != NULL; i++)
		if (tok_is(t, actions[i]))
			break;
	rb.rb_pr.pr_r.r_action = (uint8_t)(VFR_ACCEPT + i);
	rb.rb_pr.pr_r.r_dir = VFR_DIR_IN | VFR_DIR_OUT;
	if (next(pf) == -1)
		goto fail;
	while (!at_end(t)) {
		if ((c = clause_of(t)) == -1) {
			tok_describe(t, d, sizeof(d));
			if (tok_is(t, "port"))
				PERR_TOK(pf, t, "port must follow from or to: "
				    "from ADDR port P, to port P");
			else if (tok_is(t, "code"))
				PERR_TOK(pf, t, "code must follow icmp-type");
			else if (tok_is(t, "burst"))
				PERR_TOK(pf, t, "burst must follow rate");
			else {
				suggest(t, clause_words, sug, sizeof(sug));
				PERR_TOK(pf, t, "unexpected %s: expected a "
				    "clause (%s) or the end of the line%s", d,
				    CLAUSE_ORDER, sug);
			}
			goto fail;
		}
		if (seen & (1U << c)) {
			PERR_TOK(pf, t, "%s given twice in one rule",
			    clause_name[c]);
			goto fail;
		}
		if (c < last) {
			PERR_TOK(pf, t, "%s must come before %s: clauses go in "
			    "the order %s", clause_name[c], clause_name[last],
			    CLAUSE_ORDER);
			goto fail;
		}
		seen |= 1U << c;
		last = c;
		if (clause_parse(pf, &rb, (enum clause)c) == -1)
			goto fail;
	}
	if (rb.rb_pr.pr_r.r_action == VFR_RATELIMIT && !(seen & (1U <<
	    C_RATE))) {
		PERR_TOK(pf, t, "rate-limit needs a rate at the end: rate "
		    "N/second [burst N]");
		goto fail;
	}
	if (family_finish(pf, &rb, line, col) == -1 ||
	    rule_add(pf, &rb, line, col) == -1)
		goto fail;
	return 0;
fail:
	rbuild_free(&rb);
	return -1;
}

/* ---- other statements ---- */

static int
stmt_policy(struct pfile *pf)
{
	struct pstate *ps = pf->pf_ps;
	struct token *t = TOK(pf);
	uint32_t line = t->tk_line, col = t->tk_col;
	int lo = 0, hi = 1, d;
	uint8_t v;

	if (pf->pf_tenant)
		return PERR_TOK(pf, t, "policy is not allowed in tenant rules: "
		    "the operator sets it");
	if (next(pf) == -1)
		return -1;
	if (tok_is(t, "in") || tok_is(t, "out")) {
		lo = hi = tok_is(t, "out");
		if (next(pf) == -1)
			return -1;
	}
	if (tok_is(t, "accept"))
		v = VFR_ACCEPT;
	else if (tok_is(t, "drop"))
		v = VFR_DROP;
	else
		return PERR_TOK(pf, t, "policy is [in|out] accept or [in|out] "
		    "drop");
	for (d = lo; d <= hi; d++)
		if (ps->ps_policy_set[d])
			return perr(pf, line, col, "policy %s is already set "
			    "at %s:%u", d == 0 ? "in" : "out",
			    ps->ps_policy_loc[d].l_file,
			    ps->ps_policy_loc[d].l_line);
	for (d = lo; d <= hi; d++) {
		ps->ps_policy_set[d] = 1;
		ps->ps_policy[d] = v;
		ps->ps_policy_loc[d].l_file = pf->pf_name;
		ps->ps_policy_loc[d].l_line = line;
	}
	return next(pf);
}

static int
stmt_anchor(struct pfile *pf)
{
	struct pstate *ps = pf->pf_ps;
	struct token *t = TOK(pf);
	uint32_t line = t->tk_line, col = t->tk_col;

	if (pf->pf_tenant)
		return PERR_TOK(pf, t, "anchor is not allowed in tenant rules");
	if (next(pf) == -1)
		return -1;
	if (!tok_is(t, "tenant"))
		return PERR_TOK(pf, t, "the only anchor is: anchor tenant");
	if (ps->ps_anchor)
		return perr(pf, line, col, "anchor tenant is already at %s:%u",
		    ps->ps_anchor_loc.l_file, ps->ps_anchor_loc.l_line);
	ps->ps_anchor = 1;
	ps->ps_anchor_at = ps->ps_nrules[0];
	ps->ps_anchor_loc.l_file = pf->pf_name;
	ps->ps_anchor_loc.l_line = line;
	return next(pf);
}

static int file_parse(struct pstate *, const char *, const char *, size_t,
    int, int);

static int
stmt_include(struct pfile *pf)
{
	struct pstate *ps = pf->pf_ps;
	struct token *t = TOK(pf);
	char *path = NULL, *text = NULL, err[512];
	const char *name, *slash;
	uint32_t line, col;
	size_t len, dlen;
	dev_t dev;
	ino_t ino;
	int i, rc = -1;

	if (pf->pf_tenant)
		return PERR_TOK(pf, t, "include is not allowed in tenant "
		    "rules");
	if (ps->ps_flags & VFR_PARSE_NOINCLUDE)
		return PERR_TOK(pf, t, "include is disabled here");
	if (next(pf) == -1)
		return -1;
	if (t->tk_kind != TK_STRING || t->tk_slen == 0)
		return PERR_TOK(pf, t, "include needs a file name in quotes: "
		    "include \"common.vfr\"");
	line = t->tk_line;
	col = t->tk_col;
	if (pf->pf_depth >= VFR_LANG_MAX_DEPTH)
		return PERR_TOK(pf, t, "includes nest deeper than %d",
		    VFR_LANG_MAX_DEPTH);
	if (ps->ps_nfiles >= VFR_LANG_MAX_FILES)
		return PERR_TOK(pf, t, "more than %d included files",
		    VFR_LANG_MAX_FILES);
	/* relative to the including file's directory */
	slash = strrchr(pf->pf_name, '/');
	dlen = t->tk_str[0] != '/' && slash != NULL ?
	    (size_t)(slash - pf->pf_name) + 1 : 0;
	if ((path = malloc(dlen + t->tk_slen + 1)) == NULL)
		return perr_nomem(pf);
	memcpy(path, pf->pf_name, dlen);
	memcpy(path + dlen, t->tk_str, t->tk_slen + 1);
	if ((name = name_keep(ps, path)) == NULL)
		return perr_nomem(pf);
	if (file_slurp(name, &text, &len, &dev, &ino, err, sizeof(err)) ==
	    -1)
		return perr(pf, line, col, "cannot include %s", err);
	for (i = 0; i < ps->ps_nid; i++)
		if (ps->ps_dev[i] == dev && ps->ps_ino[i] == ino) {
			perr(pf, line, col, "include cycle: %s is already "
			    "being read", name);
			goto done;
		}
	ps->ps_nfiles++;
	ps->ps_dev[ps->ps_nid] = dev;
	ps->ps_ino[ps->ps_nid++] = ino;
	rc = file_parse(ps, name, text, len, 0, pf->pf_depth + 1);
	ps->ps_nid--;
	if (rc == 0)
		rc = next(pf);
done:
	free(text);
	return rc;
}

static int
file_parse(struct pstate *ps, const char *name, const char *text, size_t len,
    int tenant, int depth)
{
	struct pfile pf;
	struct token *t;
	char d[64], sug[64];
	int i, rc = -1;

	memset(&pf, 0, sizeof(pf));
	pf.pf_ps = ps;
	pf.pf_name = name;
	pf.pf_tenant = tenant;
	pf.pf_depth = depth;
	t = TOK(&pf);
	if (lex_init(&pf.pf_lx, name, text, len, ps->ps_err, ps->ps_errlen) ==
	    -1)
		goto done;
	if (next(&pf) == -1)
		goto done;
	for (;;) {
		if (t->tk_kind == TK_EOF)
			break;
		if (t->tk_kind == TK_NL) {
			if (next(&pf) == -1)
				goto done;
			continue;
		}
		for (i = 0; actions[i] != NULL; i++)
			if (tok_is(t, actions[i]))
				break;
		if (actions[i] != NULL)
			rc = stmt_rule(&pf);
		else if (tok_is(t, "set"))
			rc = stmt_set(&pf);
		else if (tok_is(t, "policy"))
			rc = stmt_policy(&pf);
		else if (tok_is(t, "anchor"))
			rc = stmt_anchor(&pf);
		else if (tok_is(t, "include"))
			rc = stmt_include(&pf);
		else {
			tok_describe(t, d, sizeof(d));
			suggest(t, statements, sug, sizeof(sug));
			PERR_TOK(&pf, t, "unexpected %s: a line is a rule "
			    "(accept, drop, reject, count, log, rate-limit), "
			    "set, policy, anchor or include%s", d, sug);
			rc = -1;
		}
		if (rc == -1)
			goto done;
		rc = -1;
		if (!at_end(t)) {
			tok_describe(t, d, sizeof(d));
			PERR_TOK(&pf, t, "unexpected %s after the end of the "
			    "statement", d);
			goto done;
		}
	}
	rc = 0;
done:
	lex_free(&pf.pf_lx);
	return rc;
}

/* ---- shadowed rules ---- */

/* Does every packet that matches b match a too? */
static int
rule_covers(const struct vfr_rule *a, const struct vfr_rule *b)
{
	int f;

	if ((a->r_dir & b->r_dir) != b->r_dir)
		return 0;
	if (a->r_vif[0] != '\0' && strcmp(a->r_vif, b->r_vif) != 0)
		return 0;
	if (a->r_domain[0] != '\0' && strcmp(a->r_domain, b->r_domain) != 0)
		return 0;
	if (a->r_l3 != 0 && (b->r_l3 == 0 || (b->r_l3 & ~a->r_l3) != 0))
		return 0;
	if (a->r_ct != 0 && (b->r_ct == 0 || (b->r_ct & ~a->r_ct) != 0))
		return 0;
	if (a->r_tcp_mask != 0 && ((b->r_tcp_mask & a->r_tcp_mask) !=
	    a->r_tcp_mask || (b->r_tcp_val & a->r_tcp_mask) != a->r_tcp_val))
		return 0;
	for (f = 0; f < VFR_NFIELDS; f++)
		if (a->r_nrange[f] != 0 && (b->r_nrange[f] == 0 ||
		    !rl_subset(b->r_range[f], b->r_nrange[f], a->r_range[f],
		    a->r_nrange[f])))
			return 0;
	for (f = 0; f < VFR_NAFIELDS; f++)
		if (a->r_narange[f] != 0 && (b->r_narange[f] == 0 ||
		    !al_subset(b->r_arange[f], b->r_narange[f],
		    a->r_arange[f], a->r_narange[f])))
			return 0;
	if (a->r_nbpf != 0 && (a->r_nbpf != b->r_nbpf || memcmp(a->r_bpf,
	    b->r_bpf, a->r_nbpf * sizeof(*a->r_bpf)) != 0))
		return 0;
	return 1;
}

static void
shadow_warn(const struct vfr_ruleset *rs, const char *const *file,
    const struct vfr_parse_opts *o)
{
	char msg[1024];
	uint32_t i, j;

	for (i = 1; i < rs->rs_nrules; i++)
		for (j = 0; j < i; j++) {
			if (!VFR_ACTION_TERMINAL(rs->rs_rules[j].r_action) ||
			    !rule_covers(&rs->rs_rules[j], &rs->rs_rules[i]))
				continue;
			snprintf(msg, sizeof(msg), "%s:%u: warning: this rule "
			    "never matches: the rule at %s:%u (%.60s%s) "
			    "decides every packet it would match first",
			    file[i], rs->rs_rules[i].r_line, file[j],
			    rs->rs_rules[j].r_line, rs->rs_rules[j].r_text,
			    strlen(rs->rs_rules[j].r_text) > 60 ? "..." : "");
			o->po_warn(o->po_warn_arg, msg);
			break;
		}
}

/* ---- the entry points ---- */

static void
pstate_free(struct pstate *ps)
{
	uint32_t i;
	int w;

	for (w = 0; w < 2; w++) {
		for (i = 0; i < ps->ps_nrules[w]; i++)
			prule_free(&ps->ps_rules[w][i]);
		free(ps->ps_rules[w]);
		for (i = 0; i < ps->ps_nsets[w]; i++) {
			rl_free(&ps->ps_sets[w][i].vs_rl);
			al_free(&ps->ps_sets[w][i].vs_al);
		}
		free(ps->ps_sets[w]);
	}
	for (i = 0; i < ps->ps_nnames; i++)
		free(ps->ps_names[i]);
	free(ps->ps_names);
	if (ps->ps_pcap != NULL)
		pcap_close(ps->ps_pcap);
}

int
vfr_parse_ext(const struct vfr_source *op, const struct vfr_source *tenant,
    const struct vfr_parse_opts *opts, struct vfr_ruleset *rs, char *err,
    size_t errlen)
{
	static const struct vfr_parse_opts none;
	struct pstate ps;
	struct stat st;
	const char **file = NULL;
	struct prule *pr;
	char why[256];
	uint32_t i, k, n;

	memset(rs, 0, sizeof(*rs));
	memset(&ps, 0, sizeof(ps));
	if (opts == NULL)
		opts = &none;
	ps.ps_err = err;
	ps.ps_errlen = errlen;
	ps.ps_flags = opts->po_flags;
	if (op == NULL || (op->src_tenant && tenant != NULL)) {
		snprintf(err, errlen, "vfr_parse: one operator source, and "
		    "at most one tenant source");
		errno = EINVAL;
		return -1;
	}
	/* the top file takes part in include cycles if it is a file */
	if (op->src_name != NULL && strcmp(op->src_name, "-") != 0 &&
	    stat(op->src_name, &st) == 0 && S_ISREG(st.st_mode)) {
		ps.ps_dev[0] = st.st_dev;
		ps.ps_ino[0] = st.st_ino;
		ps.ps_nid = 1;
	}
	/* a tenant's text alone (to check it) is a tenant source */
	if (file_parse(&ps, op->src_name ? op->src_name : "-", op->src_text,
	    op->src_len, op->src_tenant != 0, 0) == -1)
		goto fail;
	ps.ps_nid = 0;
	if (tenant != NULL && file_parse(&ps, tenant->src_name ?
	    tenant->src_name : "tenant", tenant->src_text, tenant->src_len, 1,
	    0) == -1)
		goto fail;
	if (!ps.ps_anchor)
		ps.ps_anchor_at = ps.ps_nrules[0];

	n = ps.ps_nrules[0] + ps.ps_nrules[1];
	if ((rs->rs_rules = calloc(n ? n : 1, sizeof(*rs->rs_rules))) ==
	    NULL || (file = calloc(n ? n : 1, sizeof(*file))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rs->rs_policy[0] = ps.ps_policy_set[0] ? ps.ps_policy[0] : VFR_ACCEPT;
	rs->rs_policy[1] = ps.ps_policy_set[1] ? ps.ps_policy[1] : VFR_ACCEPT;
	for (i = 0; i < n; i++) {
		if (i < ps.ps_anchor_at)
			pr = &ps.ps_rules[0][i];
		else if ((k = i - ps.ps_anchor_at) < ps.ps_nrules[1])
			pr = &ps.ps_rules[1][k];
		else
			pr = &ps.ps_rules[0][i - ps.ps_nrules[1]];
		pr->pr_r.r_id = i;
		if ((pr->pr_r.r_text = vfr_rule_format(&pr->pr_r,
		    pr->pr_match)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		rs->rs_rules[i] = pr->pr_r;
		rs->rs_nrules = i + 1;
		file[i] = pr->pr_file;
		memset(&pr->pr_r, 0, sizeof(pr->pr_r));
	}
	if (vfr_ruleset_check(rs, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "internal error: the rules fail the IR "
		    "check: %s", why);
		goto fail;
	}
	if (opts->po_warn != NULL)
		shadow_warn(rs, file, opts);
	free(file);
	pstate_free(&ps);
	return 0;
fail:
	free(file);
	vfr_ruleset_free(rs);
	pstate_free(&ps);
	errno = EINVAL;
	return -1;
}

int
vfr_parse(const struct vfr_source *op, const struct vfr_source *tenant,
    struct vfr_ruleset *rs, char *err, size_t errlen)
{
	return vfr_parse_ext(op, tenant, NULL, rs, err, errlen);
}
