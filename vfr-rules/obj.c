/*
 * Compiled rule sets (".vfro"): what xeno-vfrc writes and xeno-hv loads.
 *
 * A self-contained little-endian byte format, read and written one field
 * at a time (no structure is copied, so neither padding nor the host's
 * byte order reaches the file).  docs/VFR-INTERNALS.md has the layout
 * byte by byte.  The loader treats the bytes as hostile: every count is
 * bounded before it is used, every size is computed with overflow checks
 * and must match the record exactly, and the result goes through
 * vfr_ruleset_check() like any other rule set from outside.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfr.h"

#define OBJ_MAGIC	"XVFR\r\n\x1a\n"	/* catches text-mode mangling */
#define OBJ_MAGIC_LEN	8
#define OBJ_VERSION	1
#define OBJ_HDR_SIZE	24
#define OBJ_RULE_FIXED	76
#define OBJ_RANGE_SIZE	8
#define OBJ_ARANGE_SIZE	32
#define OBJ_INSN_SIZE	8
#define OBJ_TEXT_MAX	(1U << 20)	/* one rule's normal form */

static const char *const obj_fname[VFR_NFIELDS] = {
	"ethertype", "proto", "sport", "dport", "icmp-type", "icmp-code",
};

/* ---- little-endian helpers ---- */

static void
obj_put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void
obj_put32(uint8_t *p, uint32_t v)
{
	obj_put16(p, v);
	obj_put16(p + 2, v >> 16);
}

static void
obj_put64(uint8_t *p, uint64_t v)
{
	obj_put32(p, v);
	obj_put32(p + 4, v >> 32);
}

static uint16_t
obj_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
obj_get32(const uint8_t *p)
{
	return obj_get16(p) | (uint32_t)obj_get16(p + 2) << 16;
}

static uint64_t
obj_get64(const uint8_t *p)
{
	return obj_get32(p) | (uint64_t)obj_get32(p + 4) << 32;
}

/* ---- sizes ---- */

/*
 * The bytes of a rule record with these counts, or 0 if they overflow.
 * Counts are bounded by the caller, so with 64-bit sizes this cannot
 * overflow; the checks are there for whoever changes the bounds.
 */
static uint64_t
obj_rule_size(const uint32_t *nrange, const uint32_t *narange,
    uint32_t nbpf, uint32_t vif_len, uint32_t domain_len, uint32_t text_len)
{
	uint64_t sz = OBJ_RULE_FIXED, part;
	int f;

	for (f = 0; f < VFR_NFIELDS; f++)
		if (__builtin_mul_overflow((uint64_t)nrange[f],
		    OBJ_RANGE_SIZE, &part) ||
		    __builtin_add_overflow(sz, part, &sz))
			return 0;
	for (f = 0; f < VFR_NAFIELDS; f++)
		if (__builtin_mul_overflow((uint64_t)narange[f],
		    OBJ_ARANGE_SIZE, &part) ||
		    __builtin_add_overflow(sz, part, &sz))
			return 0;
	if (__builtin_mul_overflow((uint64_t)nbpf, OBJ_INSN_SIZE, &part) ||
	    __builtin_add_overflow(sz, part, &sz) ||
	    __builtin_add_overflow(sz, (uint64_t)vif_len, &sz) ||
	    __builtin_add_overflow(sz, (uint64_t)domain_len, &sz) ||
	    __builtin_add_overflow(sz, (uint64_t)text_len, &sz))
		return 0;
	return sz;
}

/* ---- writing ---- */

static uint8_t *
obj_write_addr(uint8_t *p, const struct vfr_addr *a)
{
	obj_put64(p, a->a_hi);
	obj_put64(p + 8, a->a_lo);
	return p + 16;
}

static uint8_t *
obj_write_rule(uint8_t *p, const struct vfr_rule *r, uint32_t size)
{
	size_t vl = strlen(r->r_vif), dl = strlen(r->r_domain);
	size_t tl = r->r_text != NULL ? strlen(r->r_text) : 0;
	uint32_t j;
	int f;

	obj_put32(p, size);
	obj_put32(p + 4, r->r_line);
	p[8] = r->r_action;
	p[9] = r->r_log;
	p[10] = r->r_dir;
	p[11] = r->r_l3;
	p[12] = r->r_ct;
	p[13] = r->r_tcp_mask;
	p[14] = r->r_tcp_val;
	p[15] = r->r_rl_bytes;
	obj_put64(p + 16, r->r_rl_rate);
	obj_put64(p + 24, r->r_rl_burst);
	for (f = 0; f < VFR_NFIELDS; f++)
		obj_put32(p + 32 + 4 * f, r->r_nrange[f]);
	for (f = 0; f < VFR_NAFIELDS; f++)
		obj_put32(p + 56 + 4 * f, r->r_narange[f]);
	obj_put32(p + 64, r->r_nbpf);
	p[68] = (uint8_t)vl;
	p[69] = (uint8_t)dl;
	p[70] = r->r_text != NULL;
	p[71] = 0;
	obj_put32(p + 72, (uint32_t)tl);
	p += OBJ_RULE_FIXED;
	for (f = 0; f < VFR_NFIELDS; f++)
		for (j = 0; j < r->r_nrange[f]; j++) {
			obj_put32(p, r->r_range[f][j].rg_lo);
			obj_put32(p + 4, r->r_range[f][j].rg_hi);
			p += OBJ_RANGE_SIZE;
		}
	for (f = 0; f < VFR_NAFIELDS; f++)
		for (j = 0; j < r->r_narange[f]; j++) {
			p = obj_write_addr(p, &r->r_arange[f][j].ar_lo);
			p = obj_write_addr(p, &r->r_arange[f][j].ar_hi);
		}
	for (j = 0; j < r->r_nbpf; j++) {
		obj_put16(p, r->r_bpf[j].bi_code);
		p[2] = r->r_bpf[j].bi_jt;
		p[3] = r->r_bpf[j].bi_jf;
		obj_put32(p + 4, r->r_bpf[j].bi_k);
		p += OBJ_INSN_SIZE;
	}
	memcpy(p, r->r_vif, vl);
	p += vl;
	memcpy(p, r->r_domain, dl);
	p += dl;
	if (tl != 0)
		memcpy(p, r->r_text, tl);
	return p + tl;
}

/*
 * Writes only what vfr_obj_load() would accept back: a rule set that
 * fails vfr_ruleset_check(), or whose texts or size do not fit the
 * format, is EINVAL.
 */
int
vfr_obj_write(const struct vfr_ruleset *rs, uint8_t **bufp, size_t *lenp)
{
	const struct vfr_rule *r;
	uint64_t total = OBJ_HDR_SIZE, sz;
	uint8_t *buf, *p;
	char err[160];
	uint32_t i;
	size_t tl;

	*bufp = NULL;
	*lenp = 0;
	if (vfr_ruleset_check(rs, err, sizeof(err)) == -1)
		goto inval;
	for (i = 0; i < rs->rs_nrules; i++) {
		r = &rs->rs_rules[i];
		tl = r->r_text != NULL ? strlen(r->r_text) : 0;
		if (tl > OBJ_TEXT_MAX)
			goto inval;
		sz = obj_rule_size(r->r_nrange, r->r_narange, r->r_nbpf,
		    strlen(r->r_vif), strlen(r->r_domain), tl);
		if (sz == 0 || sz > UINT32_MAX ||
		    __builtin_add_overflow(total, sz, &total))
			goto inval;
	}
	if (total > UINT32_MAX)
		goto inval;
	if ((buf = malloc(total)) == NULL)
		return -1;

	memcpy(buf, OBJ_MAGIC, OBJ_MAGIC_LEN);
	obj_put16(buf + 8, OBJ_VERSION);
	obj_put16(buf + 10, OBJ_HDR_SIZE);
	obj_put32(buf + 12, (uint32_t)total);
	obj_put32(buf + 16, rs->rs_nrules);
	buf[20] = rs->rs_policy[0];
	buf[21] = rs->rs_policy[1];
	obj_put16(buf + 22, 0);
	p = buf + OBJ_HDR_SIZE;
	for (i = 0; i < rs->rs_nrules; i++) {
		r = &rs->rs_rules[i];
		tl = r->r_text != NULL ? strlen(r->r_text) : 0;
		sz = obj_rule_size(r->r_nrange, r->r_narange, r->r_nbpf,
		    strlen(r->r_vif), strlen(r->r_domain), tl);
		p = obj_write_rule(p, r, (uint32_t)sz);
	}
	*bufp = buf;
	*lenp = total;
	return 0;

 inval:
	errno = EINVAL;
	return -1;
}

/* ---- loading ---- */

static void
obj_read_addr(const uint8_t *p, struct vfr_addr *a)
{
	a->a_hi = obj_get64(p);
	a->a_lo = obj_get64(p + 8);
}

/* A name of n bytes into a char[VFR_NAME_MAX]; -1 if it has a NUL. */
static int
obj_read_name(char *dst, const uint8_t *p, uint32_t n)
{
	if (memchr(p, '\0', n) != NULL)
		return -1;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

/*
 * One rule record at p, avail bytes left in the file.  The rule is
 * zeroed first, so whatever it holds on failure vfr_ruleset_free() can
 * free.
 */
static int
obj_read_rule(const uint8_t *p, size_t avail, uint32_t i, struct vfr_rule *r,
    size_t *used, char *err, size_t errlen)
{
	uint32_t size, nrange[VFR_NFIELDS], narange[VFR_NAFIELDS], nbpf;
	uint32_t vl, dl, tl, j;
	uint64_t want;
	const uint8_t *q;
	int f;

	memset(r, 0, sizeof(*r));
	r->r_id = i;
	if (avail < OBJ_RULE_FIXED) {
		snprintf(err, errlen, "truncated at rule %u: %zu bytes left, "
		    "a rule takes at least %u", i, avail, OBJ_RULE_FIXED);
		return -1;
	}
	size = obj_get32(p);
	if (size > avail) {
		snprintf(err, errlen, "truncated at rule %u: its record is %u "
		    "bytes, %zu left in the file", i, size, avail);
		return -1;
	}
	for (f = 0; f < VFR_NFIELDS; f++) {
		nrange[f] = obj_get32(p + 32 + 4 * f);
		if (nrange[f] > VFR_MAX_RANGES) {
			snprintf(err, errlen, "rule %u: %u %s ranges, at most "
			    "%u", i, nrange[f], obj_fname[f], VFR_MAX_RANGES);
			return -1;
		}
	}
	for (f = 0; f < VFR_NAFIELDS; f++) {
		narange[f] = obj_get32(p + 56 + 4 * f);
		if (narange[f] > VFR_MAX_RANGES) {
			snprintf(err, errlen, "rule %u: %u %s address ranges, "
			    "at most %u", i, narange[f],
			    f == VFR_A_SRC ? "from" : "to", VFR_MAX_RANGES);
			return -1;
		}
	}
	nbpf = obj_get32(p + 64);
	if (nbpf > VFR_MAX_BPF) {
		snprintf(err, errlen, "rule %u: pcap-filter program of %u "
		    "instructions, at most %u", i, nbpf, VFR_MAX_BPF);
		return -1;
	}
	vl = p[68];
	dl = p[69];
	tl = obj_get32(p + 72);
	if (vl >= VFR_NAME_MAX || dl >= VFR_NAME_MAX) {
		snprintf(err, errlen, "rule %u: %s name of %u bytes, at most "
		    "%u", i, vl >= VFR_NAME_MAX ? "vif" : "domain",
		    vl >= VFR_NAME_MAX ? vl : dl, VFR_NAME_MAX - 1);
		return -1;
	}
	if (p[70] > 1 || p[71] != 0 || (p[70] == 0 && tl != 0)) {
		snprintf(err, errlen, "rule %u: bad text flags %#x %#x", i,
		    p[70], p[71]);
		return -1;
	}
	if (tl > OBJ_TEXT_MAX) {
		snprintf(err, errlen, "rule %u: text of %u bytes, at most %u",
		    i, tl, OBJ_TEXT_MAX);
		return -1;
	}
	want = obj_rule_size(nrange, narange, nbpf, vl, dl, tl);
	if (want != size) {
		snprintf(err, errlen, "rule %u: record size %u, but its "
		    "counts need %llu bytes", i, size,
		    (unsigned long long)want);
		return -1;
	}

	r->r_line = obj_get32(p + 4);
	r->r_action = p[8];
	r->r_log = p[9];
	r->r_dir = p[10];
	r->r_l3 = p[11];
	r->r_ct = p[12];
	r->r_tcp_mask = p[13];
	r->r_tcp_val = p[14];
	r->r_rl_bytes = p[15];
	r->r_rl_rate = obj_get64(p + 16);
	r->r_rl_burst = obj_get64(p + 24);
	q = p + OBJ_RULE_FIXED;
	for (f = 0; f < VFR_NFIELDS; f++) {
		if (nrange[f] == 0)
			continue;
		if ((r->r_range[f] = calloc(nrange[f],
		    sizeof(*r->r_range[f]))) == NULL)
			goto nomem;
		r->r_nrange[f] = nrange[f];
		for (j = 0; j < nrange[f]; j++) {
			r->r_range[f][j].rg_lo = obj_get32(q);
			r->r_range[f][j].rg_hi = obj_get32(q + 4);
			q += OBJ_RANGE_SIZE;
		}
	}
	for (f = 0; f < VFR_NAFIELDS; f++) {
		if (narange[f] == 0)
			continue;
		if ((r->r_arange[f] = calloc(narange[f],
		    sizeof(*r->r_arange[f]))) == NULL)
			goto nomem;
		r->r_narange[f] = narange[f];
		for (j = 0; j < narange[f]; j++) {
			obj_read_addr(q, &r->r_arange[f][j].ar_lo);
			obj_read_addr(q + 16, &r->r_arange[f][j].ar_hi);
			q += OBJ_ARANGE_SIZE;
		}
	}
	if (nbpf != 0) {
		if ((r->r_bpf = calloc(nbpf, sizeof(*r->r_bpf))) == NULL)
			goto nomem;
		r->r_nbpf = nbpf;
		for (j = 0; j < nbpf; j++) {
			r->r_bpf[j].bi_code = obj_get16(q);
			r->r_bpf[j].bi_jt = q[2];
			r->r_bpf[j].bi_jf = q[3];
			r->r_bpf[j].bi_k = obj_get32(q + 4);
			q += OBJ_INSN_SIZE;
		}
	}
	if (obj_read_name(r->r_vif, q, vl) == -1 ||
	    obj_read_name(r->r_domain, q + vl, dl) == -1) {
		snprintf(err, errlen, "rule %u: a NUL byte in its %s name", i,
		    memchr(q, '\0', vl) != NULL ? "vif" : "domain");
		return -1;
	}
	q += vl + dl;
	if (p[70] != 0) {
		if (memchr(q, '\0', tl) != NULL) {
			snprintf(err, errlen, "rule %u: a NUL byte in its "
			    "text", i);
			return -1;
		}
		if ((r->r_text = malloc((size_t)tl + 1)) == NULL)
			goto nomem;
		memcpy(r->r_text, q, tl);
		r->r_text[tl] = '\0';
	}
	*used = size;
	return 0;

 nomem:
	snprintf(err, errlen, "rule %u: out of memory", i);
	return -1;
}

int
vfr_obj_load(const uint8_t *buf, size_t len, struct vfr_ruleset *rs,
    char *err, size_t errlen)
{
	uint32_t total, nrules, i, version, hdr;
	size_t off, used;
	char why[160];

	memset(rs, 0, sizeof(*rs));
	if (len < OBJ_MAGIC_LEN || memcmp(buf, OBJ_MAGIC, OBJ_MAGIC_LEN)
	    != 0) {
		snprintf(err, errlen, "bad magic: not a .vfro file");
		return -1;
	}
	if (len < OBJ_HDR_SIZE) {
		snprintf(err, errlen, "truncated header: %zu bytes, the "
		    "header takes %u", len, OBJ_HDR_SIZE);
		return -1;
	}
	version = obj_get16(buf + 8);
	hdr = obj_get16(buf + 10);
	total = obj_get32(buf + 12);
	nrules = obj_get32(buf + 16);
	if (version != OBJ_VERSION) {
		snprintf(err, errlen, "version %u, this program reads "
		    "version %u: compile the rules again with a matching "
		    "xeno-vfrc", version, OBJ_VERSION);
		return -1;
	}
	if (hdr != OBJ_HDR_SIZE) {
		snprintf(err, errlen, "header size %u, version %u has %u",
		    hdr, OBJ_VERSION, OBJ_HDR_SIZE);
		return -1;
	}
	if (total != len) {
		snprintf(err, errlen, "%s: the header says %u bytes, the file "
		    "has %zu", total > len ? "truncated" : "trailing bytes",
		    total, len);
		return -1;
	}
	if (nrules > VFR_MAX_RULES) {
		snprintf(err, errlen, "%u rules, at most %u", nrules,
		    VFR_MAX_RULES);
		return -1;
	}
	if ((uint64_t)nrules * OBJ_RULE_FIXED > len - OBJ_HDR_SIZE) {
		snprintf(err, errlen, "truncated: %u rules cannot fit in %zu "
		    "bytes", nrules, len);
		return -1;
	}
	if (obj_get16(buf + 22) != 0) {
		snprintf(err, errlen, "reserved header bytes are not zero");
		return -1;
	}
	rs->rs_policy[0] = buf[20];
	rs->rs_policy[1] = buf[21];
	if (nrules != 0 && (rs->rs_rules = calloc(nrules,
	    sizeof(*rs->rs_rules))) == NULL) {
		snprintf(err, errlen, "out of memory for %u rules", nrules);
		return -1;
	}
	off = OBJ_HDR_SIZE;
	for (i = 0; i < nrules; i++) {
		/* counted now so that vfr_ruleset_free() frees rule i too */
		rs->rs_nrules = i + 1;
		if (obj_read_rule(buf + off, len - off, i, &rs->rs_rules[i],
		    &used, err, errlen) == -1)
			goto fail;
		off += used;
	}
	if (off != len) {
		snprintf(err, errlen, "%zu bytes after the last rule", len - off);
		goto fail;
	}
	if (vfr_ruleset_check(rs, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s", why);
		goto fail;
	}
	return 0;

 fail:
	vfr_ruleset_free(rs);
	return -1;
}
