/*
 * The VBD backend (see blk.h, and docs/VBD.md for the overlay format and
 * the meaning of every counter).
 *
 * A request's buffers are guest memory the guest may rewrite while we
 * work: the 16-byte header and the discard segments are copied out once
 * and only the copies are checked; data moves between the host files and
 * guest memory directly (preadv/pwritev), whatever the guest does to it
 * meanwhile is its own business.  Nothing outside the request's segments
 * is touched: every guest access goes through a cursor over the segments
 * (struct blk_cur) that cannot step past the region it was given.
 *
 * Copy-on-write: the overlay keeps cluster i at data_off + i * 4096 and a
 * bitmap of allocated clusters.  The bitmap in memory is the truth for
 * this process; the bitmap on disk is written only after an fdatasync of
 * the data it describes (on FLUSH and at close), so after a crash every
 * cluster the disk bitmap calls allocated holds data that was flushed.
 * Data written to a cluster whose bit never reached the disk is garbage
 * nobody reads: the cluster reads from the base again, and the next write
 * to it copies the cluster up from the base afresh.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "xen.h"		/* opts_parse_scaled */
#include "xeno/log.h"
#include "xeno/pv.h"
#include "virtio/blk.h"

#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE	0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE	0x02
#endif

#define BLK_SECTOR		XENO_VIRTIO_BLK_SECTOR
#define BLK_HDR_BYTES		16	/* struct xeno_virtio_blk_req */
#define BLK_DISCARD_BYTES	16	/* struct xeno_virtio_blk_discard */

/* The overlay file (docs/VBD.md): all fields little-endian. */
#define BLK_COW_MAGIC		"XENOCOW1"
#define BLK_COW_VERSION		1
#define BLK_COW_HDR_PAGE	4096	/* the header page; the bitmap follows */

struct blk_cow_hdr {
	char		ch_magic[8];
	uint32_t	ch_version;
	uint32_t	ch_cluster;
	uint64_t	ch_size;	/* virtual size, bytes (= the base's) */
	uint64_t	ch_bitmap_off;
	uint64_t	ch_bitmap_bytes;
	uint64_t	ch_data_off;
};

_Static_assert(sizeof(struct xeno_virtio_blk_req) == BLK_HDR_BYTES,
    "virtio-blk header size");
_Static_assert(sizeof(struct xeno_virtio_blk_discard) == BLK_DISCARD_BYTES,
    "virtio-blk discard segment size");
_Static_assert(BLK_ID_MAX == XENO_VIRTIO_BLK_ID_BYTES, "VBD id size");
_Static_assert(sizeof(struct blk_cow_hdr) == 48, "overlay header size");

#define BLK_ERR(...)	err_set(err, errsz, EINVAL, __VA_ARGS__)

/*
 * Parsing
 */

enum {
	BLK_F_ID = 0x01,
	BLK_F_EXTENTS = 0x02,
	BLK_F_BASE = 0x04,
	BLK_F_OVERLAY = 0x08,
	BLK_F_RO = 0x10,
	BLK_F_LEASE = 0x20,
};

static const struct {
	const char	*name;
	unsigned int	 bit;
	int		 has_value;
} blk_fields[] = {
	{ "id", BLK_F_ID, 1 },
	{ "extents", BLK_F_EXTENTS, 1 },
	{ "base", BLK_F_BASE, 1 },
	{ "overlay", BLK_F_OVERLAY, 1 },
	{ "ro", BLK_F_RO, 0 },
	{ "lease-until", BLK_F_LEASE, 1 },
};

#define BLK_NFIELDS	(sizeof(blk_fields) / sizeof(blk_fields[0]))

/* n decimal digits at s, or -1. */
static int
blk_digits(const char *s, int n)
{
	int v = 0;

	for (; n > 0; n--, s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

static int
blk_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * "YYYY-MM-DDTHH:MM:SSZ" (UTC, no leap second) to ns since the epoch.
 * Days are counted year by year from 1970 (at most 531 steps): slower
 * than a closed formula and plainly right.
 */
#define BLK_YEAR_MIN	1970
#define BLK_YEAR_MAX	2500	/* 2^64 ns runs out in 2554 */

static int
blk_parse_time(const char *s, uint64_t *ns)
{
	static const int mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int y, mo, d, h, mi, sec, i;
	uint64_t days = 0;

	if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != 'Z')
		return -1;
	y = blk_digits(s, 4);
	mo = blk_digits(s + 5, 2);
	d = blk_digits(s + 8, 2);
	h = blk_digits(s + 11, 2);
	mi = blk_digits(s + 14, 2);
	sec = blk_digits(s + 17, 2);
	if (y < BLK_YEAR_MIN || y > BLK_YEAR_MAX || mo < 1 || mo > 12 ||
	    d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
	    sec > 59)
		return -1;
	if (d > mdays[mo - 1] + (mo == 2 && blk_leap(y)))
		return -1;
	for (i = BLK_YEAR_MIN; i < y; i++)
		days += 365 + (uint64_t)blk_leap(i);
	for (i = 1; i < mo; i++)
		days += (uint64_t)(mdays[i - 1] + (i == 2 && blk_leap(y)));
	days += (uint64_t)(d - 1);
	*ns = ((days * 24 + (uint64_t)h) * 60 + (uint64_t)mi) * 60 +
	    (uint64_t)sec;
	*ns *= 1000000000ULL;
	return 0;
}

static int
blk_parse_id(const char *v, struct blk_config *bc, char *err, size_t errsz)
{
	size_t i, n = strlen(v);

	if (n > BLK_ID_MAX)
		return BLK_ERR("--vbd: id '%s' is %zu characters, the most is "
		    "%d", v, n, BLK_ID_MAX);
	for (i = 0; i < n; i++) {
		char c = v[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return BLK_ERR("--vbd: id '%s' may hold only "
			    "A-Z a-z 0-9 . _ -", v);
	}
	memcpy(bc->bc_id, v, n + 1);
	return 0;
}

/*
 * FILE:OFF:LEN[+FILE:OFF:LEN...]; FILE is everything before the last two
 * colons, so it may hold colons itself (not '+' or ',').  v is modified.
 */
static int
blk_parse_extents(char *v, struct blk_config *bc, char *err, size_t errsz)
{
	char *item, *next, *off, *len;
	struct blk_extent *be;
	uint64_t total = 0, end;
	int n = 0;

	for (item = v; item != NULL; item = next) {
		next = strchr(item, '+');
		if (next != NULL)
			*next++ = '\0';
		n++;
		if (n > BLK_MAX_EXTENTS)
			return BLK_ERR("--vbd: extents: more than %d extents",
			    BLK_MAX_EXTENTS);
		len = strrchr(item, ':');
		if (len == NULL)
			goto syntax;
		*len++ = '\0';
		off = strrchr(item, ':');
		if (off == NULL)
			goto syntax;
		*off++ = '\0';
		if (*item == '\0')
			return BLK_ERR("--vbd: extents: extent %d has no file "
			    "name", n);
		be = &bc->bc_extent[n - 1];
		if (opts_parse_scaled(off, 0, &be->be_off) == -1)
			return BLK_ERR("--vbd: extents: extent %d offset '%s' "
			    "is not a size (bytes, or with K, M, G, T)", n,
			    off);
		if (opts_parse_scaled(len, 0, &be->be_len) == -1)
			return BLK_ERR("--vbd: extents: extent %d length '%s' "
			    "is not a size (bytes, or with K, M, G, T)", n,
			    len);
		if (be->be_off % BLK_SECTOR != 0)
			return BLK_ERR("--vbd: extents: extent %d offset %llu "
			    "is not a multiple of %d", n,
			    (unsigned long long)be->be_off, BLK_SECTOR);
		if (be->be_len == 0 || be->be_len % BLK_SECTOR != 0)
			return BLK_ERR("--vbd: extents: extent %d length %llu "
			    "is not a non-zero multiple of %d", n,
			    (unsigned long long)be->be_len, BLK_SECTOR);
		if (__builtin_add_overflow(be->be_off, be->be_len, &end) ||
		    end > (uint64_t)INT64_MAX)
			return BLK_ERR("--vbd: extents: extent %d ends past "
			    "the largest file offset", n);
		if (__builtin_add_overflow(total, be->be_len, &total) ||
		    total > (uint64_t)INT64_MAX)
			return BLK_ERR("--vbd: extents: the extents add up to "
			    "more than 2^63 bytes");
		be->be_path = strdup(item);
		if (be->be_path == NULL)
			return err_set(err, errsz, ENOMEM, "--vbd: out of "
			    "memory");
		bc->bc_nextents = n;
	}
	return 0;
syntax:
	return BLK_ERR("--vbd: extents: extent %d is not FILE:OFF:LEN", n);
}

int
blk_parse(const char *spec, struct blk_config *bc, char *err, size_t errsz)
{
	char *buf = NULL, *tok, *next, *val;
	unsigned int seen = 0, f;
	int i, rc = -1;

	memset(bc, 0, sizeof(*bc));
	for (i = 0; i < BLK_MAX_EXTENTS; i++)
		bc->bc_extent[i].be_fd = -1;
	if (spec == NULL || *spec == '\0') {
		BLK_ERR("--vbd needs id=NAME and extents=FILE:OFF:LEN[+...] "
		    "or base=FILE[,overlay=FILE]");
		goto out;
	}
	if ((buf = strdup(spec)) == NULL) {
		err_set(err, errsz, ENOMEM, "--vbd: out of memory");
		goto out;
	}
	for (tok = buf; tok != NULL; tok = next) {
		next = strchr(tok, ',');
		if (next != NULL)
			*next++ = '\0';
		if (*tok == '\0') {
			BLK_ERR("--vbd: empty field (two commas in a row, or "
			    "one at either end)");
			goto out;
		}
		val = strchr(tok, '=');
		if (val != NULL)
			*val++ = '\0';
		for (f = 0; f < BLK_NFIELDS; f++)
			if (strcmp(tok, blk_fields[f].name) == 0)
				break;
		if (f == BLK_NFIELDS) {
			BLK_ERR("--vbd: unknown field '%s' (known: id, "
			    "extents, base, overlay, ro, lease-until)", tok);
			goto out;
		}
		if (seen & blk_fields[f].bit) {
			BLK_ERR("--vbd: %s given twice", tok);
			goto out;
		}
		seen |= blk_fields[f].bit;
		if (!blk_fields[f].has_value) {
			if (val != NULL) {
				BLK_ERR("--vbd: %s is a flag and takes no "
				    "value", tok);
				goto out;
			}
		} else if (val == NULL || *val == '\0') {
			BLK_ERR("--vbd: %s needs a value (%s=...)", tok, tok);
			goto out;
		}
		switch (blk_fields[f].bit) {
		case BLK_F_ID:
			if (blk_parse_id(val, bc, err, errsz) == -1)
				goto out;
			break;
		case BLK_F_EXTENTS:
			if (blk_parse_extents(val, bc, err, errsz) == -1)
				goto out;
			break;
		case BLK_F_BASE:
		case BLK_F_OVERLAY:
			if ((val = strdup(val)) == NULL) {
				err_set(err, errsz, ENOMEM,
				    "--vbd: out of memory");
				goto out;
			}
			if (blk_fields[f].bit == BLK_F_BASE)
				bc->bc_base = val;
			else
				bc->bc_overlay = val;
			break;
		case BLK_F_RO:
			bc->bc_ro = 1;
			break;
		case BLK_F_LEASE:
			if (blk_parse_time(val, &bc->bc_lease_until) == -1 ||
			    bc->bc_lease_until == 0) {
				BLK_ERR("--vbd: lease-until '%s' is not a UTC "
				    "time YYYY-MM-DDTHH:MM:SSZ after the "
				    "epoch, years %d to %d", val,
				    BLK_YEAR_MIN, BLK_YEAR_MAX);
				goto out;
			}
			break;
		}
	}
	if (!(seen & BLK_F_ID)) {
		BLK_ERR("--vbd: id=NAME is required");
		goto out;
	}
	if ((seen & BLK_F_EXTENTS) && (seen & (BLK_F_BASE | BLK_F_OVERLAY))) {
		BLK_ERR("--vbd %s: extents and base/overlay exclude each "
		    "other", bc->bc_id);
		goto out;
	}
	if ((seen & BLK_F_OVERLAY) && !(seen & BLK_F_BASE)) {
		BLK_ERR("--vbd %s: overlay needs a base=FILE", bc->bc_id);
		goto out;
	}
	if (!(seen & (BLK_F_EXTENTS | BLK_F_BASE))) {
		BLK_ERR("--vbd %s: give extents=FILE:OFF:LEN[+...] or "
		    "base=FILE[,overlay=FILE]", bc->bc_id);
		goto out;
	}
	/* A base alone is served read-only, as a whole-file extent. */
	if ((seen & BLK_F_BASE) && !(seen & BLK_F_OVERLAY))
		bc->bc_ro = 1;
	rc = 0;
out:
	free(buf);
	if (rc == -1) {
		int saved = errno;

		blk_config_free(bc);
		errno = saved;
	}
	return rc;
}

void
blk_config_free(struct blk_config *bc)
{
	int i;

	if (bc == NULL)
		return;
	for (i = 0; i < BLK_MAX_EXTENTS; i++) {
		free(bc->bc_extent[i].be_path);
		bc->bc_extent[i].be_path = NULL;
		bc->bc_extent[i].be_fd = -1;
	}
	free(bc->bc_base);
	free(bc->bc_overlay);
	memset(bc, 0, sizeof(*bc));
	for (i = 0; i < BLK_MAX_EXTENTS; i++)
		bc->bc_extent[i].be_fd = -1;
}

/*
 * Host file I/O
 */

/*
 * Service-time counters read a clock twice per request: the TSC when
 * xeno-hv gave its rate (bd_tsc_mul), else CLOCK_MONOTONIC.  Only
 * differences are used.
 */
static uint64_t
blk_clock(const struct blk_dev *bd)
{
	struct timespec ts;

	if (bd->bd_tsc_mul != 0)
		return __builtin_ia32_rdtsc();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t
blk_since_ns(const struct blk_dev *bd, uint64_t t0)
{
	uint64_t d = blk_clock(bd) - t0;

	if (bd->bd_tsc_mul == 0)
		return d;
	return (uint64_t)(((unsigned __int128)d * bd->bd_tsc_mul) >> 32);
}

static void
blk_iov_advance(struct iovec **iov, int *cnt, size_t n)
{
	while (*cnt > 0 && (n > 0 || (*iov)->iov_len == 0)) {
		if (n < (*iov)->iov_len) {
			(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + n;
			(*iov)->iov_len -= n;
			return;
		}
		n -= (*iov)->iov_len;
		(*iov)++;
		(*cnt)--;
	}
}

/*
 * All of iov at off, through EINTR and short transfers (iov is consumed).
 * Returns the bytes moved: fewer than asked only when a read hits the end
 * of the file; -1 with errno on an error (a write that moves nothing is
 * EIO).  *acct counts the bytes moved, failure or not.
 */
static ssize_t
blk_xfer(int fd, struct iovec *iov, int cnt, uint64_t off, int wr,
    uint64_t *acct)
{
	size_t done = 0;
	ssize_t r;

	blk_iov_advance(&iov, &cnt, 0);
	while (cnt > 0) {
		/* One buffer, the common case: the plain call is cheaper. */
		if (cnt == 1 && wr)
			r = pwrite(fd, iov->iov_base, iov->iov_len,
			    (off_t)(off + done));
		else if (cnt == 1)
			r = pread(fd, iov->iov_base, iov->iov_len,
			    (off_t)(off + done));
		else if (wr)
			r = pwritev(fd, iov, cnt, (off_t)(off + done));
		else
			r = preadv(fd, iov, cnt, (off_t)(off + done));
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			if (!wr)
				break;
			errno = EIO;
			return -1;
		}
		done += (size_t)r;
		*acct += (uint64_t)r;
		blk_iov_advance(&iov, &cnt, (size_t)r);
	}
	return (ssize_t)done;
}

/* One buffer, all of it (a short read is EIO). */
static int
blk_xfer1(int fd, void *buf, size_t len, uint64_t off, int wr,
    uint64_t *acct)
{
	struct iovec iov = { buf, len };
	ssize_t r;

	r = blk_xfer(fd, &iov, 1, off, wr, acct);
	if (r == -1)
		return -1;
	if ((size_t)r != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/*
 * Make [off, off + len) of fd read back as zeros: punch a hole (partial
 * blocks are zeroed by the file system), or write zeros where the file
 * system or device cannot punch.
 */
static int
blk_zero(int fd, uint64_t off, uint64_t len, uint64_t *acct)
{
	static const uint8_t zeros[64 << 10];
	size_t n;

	while (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    (off_t)off, (off_t)len) == -1) {
		if (errno == EINTR)
			continue;
		if (errno != EOPNOTSUPP && errno != ENOSYS)
			return -1;
		while (len > 0) {
			n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
			if (blk_xfer1(fd, (void *)(uintptr_t)zeros, n, off, 1,
			    acct) == -1)
				return -1;
			off += n;
			len -= n;
		}
		return 0;
	}
	return 0;
}

/*
 * Guest buffers: a cursor over a byte region [skip, skip + len) of some
 * of a request's segments.
 */
struct blk_cur {
	const struct vq_seg *cu_seg;
	unsigned int	 cu_nseg;
	unsigned int	 cu_i;		/* current segment */
	uint64_t	 cu_off;	/* offset in it */
	uint64_t	 cu_left;	/* bytes left in the region */
};

static void
blk_cur_init(struct blk_cur *cu, const struct vq_seg *seg, unsigned int nseg,
    uint64_t skip, uint64_t len)
{
	cu->cu_seg = seg;
	cu->cu_nseg = nseg;
	cu->cu_i = 0;
	cu->cu_off = 0;
	cu->cu_left = len;
	while (skip > 0 && cu->cu_i < nseg) {
		if (skip < seg[cu->cu_i].vs_len) {
			cu->cu_off = skip;
			break;
		}
		skip -= seg[cu->cu_i].vs_len;
		cu->cu_i++;
	}
	if (skip > 0 && cu->cu_i == nseg)
		cu->cu_left = 0;
}

/*
 * The next n bytes of the region as iovecs (at most one per segment, so
 * at most VQ_MAX_SEGS); returns their count.  n is clipped to what is
 * left, so no caller can walk off the segments.
 */
static int
blk_cur_next(struct blk_cur *cu, uint64_t n, struct iovec *iov)
{
	const struct vq_seg *s;
	uint64_t t;
	int cnt = 0;

	if (n > cu->cu_left)
		n = cu->cu_left;
	cu->cu_left -= n;
	while (n > 0 && cu->cu_i < cu->cu_nseg && cnt < VQ_MAX_SEGS) {
		s = &cu->cu_seg[cu->cu_i];
		t = s->vs_len - cu->cu_off;
		if (t > n)
			t = n;
		iov[cnt].iov_base = (uint8_t *)s->vs_base + cu->cu_off;
		iov[cnt].iov_len = (size_t)t;
		cnt++;
		n -= t;
		cu->cu_off += t;
		if (cu->cu_off == s->vs_len) {
			cu->cu_i++;
			cu->cu_off = 0;
		}
	}
	return cnt;
}

/* Copy n bytes between the region and buf (to_guest: buf -> guest). */
static void
blk_cur_copy(struct blk_cur *cu, void *buf, size_t n, int to_guest)
{
	struct iovec iov[VQ_MAX_SEGS];
	uint8_t *p = buf;
	int i, cnt;

	cnt = blk_cur_next(cu, n, iov);
	for (i = 0; i < cnt; i++) {
		if (to_guest)
			memcpy(iov[i].iov_base, p, iov[i].iov_len);
		else
			memcpy(p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
}

/* Zero the iovecs from byte skip on (a read that ended at EOF). */
static void
blk_iov_zero(struct iovec *iov, int cnt, size_t skip)
{
	int i;

	for (i = 0; i < cnt; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		memset((uint8_t *)iov[i].iov_base + skip, 0,
		    iov[i].iov_len - skip);
		skip = 0;
	}
}

/*
 * Extents
 */

/* The extent holding byte pos of the disk: fd, file offset, bytes left. */
static int
blk_ext_find(const struct blk_dev *bd, uint64_t pos, int *fd, uint64_t *off,
    uint64_t *avail)
{
	const struct blk_extent *be;
	int i;

	for (i = 0; i < bd->bd_cfg.bc_nextents; i++) {
		be = &bd->bd_cfg.bc_extent[i];
		if (pos < be->be_len) {
			*fd = be->be_fd;
			*off = be->be_off + pos;
			*avail = be->be_len - pos;
			return 0;
		}
		pos -= be->be_len;
	}
	errno = EIO;	/* the caller checked the range: cannot happen */
	return -1;
}

/* [pos, pos + len) of the disk to/from the guest (wr: guest -> disk). */
static int
blk_ext_rw(struct blk_dev *bd, struct blk_cur *cu, uint64_t pos,
    uint64_t len, int wr)
{
	struct iovec iov[VQ_MAX_SEGS];
	struct xeno_stats_blk *st = &bd->bd_stats;
	uint64_t off, n;
	ssize_t r;
	int fd, cnt;

	while (len > 0) {
		if (blk_ext_find(bd, pos, &fd, &off, &n) == -1)
			return -1;
		if (n > len)
			n = len;
		cnt = blk_cur_next(cu, n, iov);
		r = blk_xfer(fd, iov, cnt, off, wr,
		    wr ? &st->sb_wr_bytes : &st->sb_rd_bytes);
		if (r == -1)
			return -1;
		if ((uint64_t)r != n) {	/* the file shrank under us */
			errno = EIO;
			return -1;
		}
		pos += n;
		len -= n;
	}
	return 0;
}

static int
blk_ext_discard(struct blk_dev *bd, uint64_t pos, uint64_t len)
{
	uint64_t off, n;
	int fd;

	while (len > 0) {
		if (blk_ext_find(bd, pos, &fd, &off, &n) == -1)
			return -1;
		if (n > len)
			n = len;
		if (blk_zero(fd, off, n, &bd->bd_stats.sb_wr_bytes) == -1)
			return -1;
		pos += n;
		len -= n;
	}
	return 0;
}

/*
 * Copy-on-write
 */

static int
blk_bit(const struct blk_dev *bd, uint64_t c)
{
	return (bd->bd_bitmap[c / 8] >> (c % 8)) & 1;
}

/* Mark clusters [first, last] allocated (in memory; on disk at FLUSH). */
static void
blk_bits_set(struct blk_dev *bd, uint64_t first, uint64_t last)
{
	uint64_t c;

	for (c = first; c <= last; c++)
		bd->bd_bitmap[c / 8] |= (uint8_t)(1U << (c % 8));
	if (!bd->bd_bitmap_dirty || first / 8 < bd->bd_bitmap_lo)
		bd->bd_bitmap_lo = (size_t)(first / 8);
	if (!bd->bd_bitmap_dirty || last / 8 + 1 > bd->bd_bitmap_hi)
		bd->bd_bitmap_hi = (size_t)(last / 8 + 1);
	bd->bd_bitmap_dirty = 1;
}

/* Bytes of cluster c (the last one may be short). */
static uint64_t
blk_cluster_len(const struct blk_dev *bd, uint64_t c)
{
	uint64_t start = c * BLK_COW_CLUSTER;

	return bd->bd_size - start < BLK_COW_CLUSTER ? bd->bd_size - start :
	    BLK_COW_CLUSTER;
}

static int
blk_cow_read(struct blk_dev *bd, struct blk_cur *cu, uint64_t pos,
    uint64_t len)
{
	struct iovec iov[VQ_MAX_SEGS];
	uint64_t run, c;
	ssize_t r;
	int alloc, cnt;

	while (len > 0) {
		c = pos / BLK_COW_CLUSTER;
		alloc = blk_bit(bd, c);
		run = (c + 1) * BLK_COW_CLUSTER - pos;
		/* Clusters in the same state are one contiguous range. */
		while (run < len && blk_bit(bd, (pos + run) /
		    BLK_COW_CLUSTER) == alloc)
			run += BLK_COW_CLUSTER;
		if (run > len)
			run = len;
		cnt = blk_cur_next(cu, run, iov);
		if (alloc) {
			r = blk_xfer(bd->bd_ovl_fd, iov, cnt,
			    bd->bd_data_off + pos, 0,
			    &bd->bd_stats.sb_rd_bytes);
			/* A cluster discarded past the overlay's end. */
			if (r >= 0)
				blk_iov_zero(iov, cnt, (size_t)r);
		} else {
			r = blk_xfer(bd->bd_base_fd, iov, cnt, pos, 0,
			    &bd->bd_stats.sb_rd_bytes);
			if (r >= 0 && (uint64_t)r != run) {
				errno = EIO;	/* the base shrank */
				r = -1;
			}
		}
		if (r == -1)
			return -1;
		pos += run;
		len -= run;
	}
	return 0;
}

/*
 * Write [pos, pos + len) from the guest (cu), or zeros (cu NULL: discard).
 * An unallocated cluster the range covers only partly is copied up from
 * the base first; every other cluster is written (punched for zeros) in
 * place, runs of them with one system call.
 */
static int
blk_cow_write(struct blk_dev *bd, struct blk_cur *cu, uint64_t pos,
    uint64_t len)
{
	uint8_t buf[BLK_COW_CLUSTER];
	struct iovec iov[VQ_MAX_SEGS];
	struct xeno_stats_blk *st = &bd->bd_stats;
	uint64_t c, cstart, clen, n, run, p;
	ssize_t r;
	int cnt;

	bd->bd_dirty = 1;
	while (len > 0) {
		c = pos / BLK_COW_CLUSTER;
		cstart = c * BLK_COW_CLUSTER;
		clen = blk_cluster_len(bd, c);
		n = cstart + clen - pos;
		if (n > len)
			n = len;
		if (!blk_bit(bd, c) && n != clen) {
			if (blk_xfer1(bd->bd_base_fd, buf, (size_t)clen, cstart,
			    0, &st->sb_rd_bytes) == -1)
				return -1;
			if (cu != NULL)
				blk_cur_copy(cu, buf + (pos - cstart),
				    (size_t)n, 0);
			else
				memset(buf + (pos - cstart), 0, (size_t)n);
			if (blk_xfer1(bd->bd_ovl_fd, buf, (size_t)clen,
			    bd->bd_data_off + cstart, 1,
			    &st->sb_wr_bytes) == -1)
				return -1;
			st->sb_cow_copies++;
			blk_bits_set(bd, c, c);
			pos += n;
			len -= n;
			continue;
		}
		/* Extend over clusters that are allocated or wholly covered. */
		run = n;
		while (run < len) {
			p = pos + run;
			clen = blk_cluster_len(bd, p / BLK_COW_CLUSTER);
			if (!blk_bit(bd, p / BLK_COW_CLUSTER) &&
			    len - run < clen)
				break;
			run += clen < len - run ? clen : len - run;
		}
		if (cu != NULL) {
			cnt = blk_cur_next(cu, run, iov);
			r = blk_xfer(bd->bd_ovl_fd, iov, cnt,
			    bd->bd_data_off + pos, 1, &st->sb_wr_bytes);
			if (r == -1)
				return -1;
			if ((uint64_t)r != run) {	/* cannot happen */
				errno = EIO;
				return -1;
			}
		} else if (blk_zero(bd->bd_ovl_fd, bd->bd_data_off + pos, run,
		    &st->sb_wr_bytes) == -1)
			return -1;
		blk_bits_set(bd, c, (pos + run - 1) / BLK_COW_CLUSTER);
		pos += run;
		len -= run;
	}
	return 0;
}

/*
 * Make every completed write durable: the data first, then the bitmap
 * that points at it, then the bitmap itself.
 */
static int
blk_sync(struct blk_dev *bd)
{
	struct xeno_stats_blk *st = &bd->bd_stats;
	size_t lo, hi;
	int i;

	if (bd->bd_ro || (!bd->bd_dirty && !bd->bd_bitmap_dirty))
		return 0;
	if (bd->bd_cfg.bc_base == NULL) {
		for (i = 0; i < bd->bd_cfg.bc_nextents; i++)
			if (fdatasync(bd->bd_cfg.bc_extent[i].be_fd) == -1)
				return -1;
		bd->bd_dirty = 0;
		return 0;
	}
	if (fdatasync(bd->bd_ovl_fd) == -1)
		return -1;
	bd->bd_dirty = 0;
	if (!bd->bd_bitmap_dirty)
		return 0;
	lo = bd->bd_bitmap_lo;
	hi = bd->bd_bitmap_hi;
	if (blk_xfer1(bd->bd_ovl_fd, bd->bd_bitmap + lo, hi - lo,
	    BLK_COW_HDR_PAGE + lo, 1, &st->sb_wr_bytes) == -1 ||
	    fdatasync(bd->bd_ovl_fd) == -1)
		return -1;
	bd->bd_bitmap_dirty = 0;
	return 0;
}

/*
 * Open
 */

/* Size in bytes of a regular file or block device. */
static int
blk_file_size(int fd, const struct stat *sb, uint64_t *size)
{
	off_t end;

	if (S_ISREG(sb->st_mode)) {
		*size = (uint64_t)sb->st_size;
		return 0;
	}
	if (S_ISBLK(sb->st_mode)) {
		if ((end = lseek(fd, 0, SEEK_END)) == -1)
			return -1;
		*size = (uint64_t)end;
		return 0;
	}
	errno = EINVAL;
	return -1;
}

static int
blk_open_file(const char *path, int flags, struct stat *sb, uint64_t *size,
    const char *what, const char *id, char *err, size_t errsz)
{
	int fd;

	fd = open(path, flags | O_CLOEXEC, 0600);
	if (fd == -1)
		return err_set(err, errsz, errno, "vbd %s: %s %s: %s%s", id,
		    what, path, strerror(errno), errno == EACCES &&
		    (flags & O_ACCMODE) == O_RDWR ? " (add ro for a "
		    "read-only VBD)" : "");
	if (fstat(fd, sb) == -1 || blk_file_size(fd, sb, size) == -1) {
		int e = errno;

		close(fd);
		if (e == EINVAL)
			return err_set(err, errsz, EINVAL, "vbd %s: %s %s is "
			    "not a regular file or a block device", id, what,
			    path);
		return err_set(err, errsz, e, "vbd %s: %s %s: %s", id, what,
		    path, strerror(e));
	}
	return fd;
}

static int
blk_open_extents(struct blk_dev *bd, char *err, size_t errsz)
{
	struct blk_config *bc = &bd->bd_cfg;
	struct blk_extent *be, *bo;
	struct stat sb[BLK_MAX_EXTENTS];
	uint64_t size, total = 0;
	int i, j;

	for (i = 0; i < bc->bc_nextents; i++) {
		be = &bc->bc_extent[i];
		be->be_fd = blk_open_file(be->be_path, bd->bd_ro ? O_RDONLY :
		    O_RDWR, &sb[i], &size, "extent", bc->bc_id, err, errsz);
		if (be->be_fd == -1)
			return -1;
		if (size < be->be_off + be->be_len)
			return BLK_ERR("vbd %s: extent %d: %s is %llu bytes, "
			    "shorter than offset + length = %llu", bc->bc_id,
			    i + 1, be->be_path, (unsigned long long)size,
			    (unsigned long long)(be->be_off + be->be_len));
		/* The same bytes twice would be two sectors aliasing. */
		for (j = 0; j < i; j++) {
			bo = &bc->bc_extent[j];
			if (sb[i].st_dev == sb[j].st_dev &&
			    sb[i].st_ino == sb[j].st_ino &&
			    be->be_off < bo->be_off + bo->be_len &&
			    bo->be_off < be->be_off + be->be_len)
				return BLK_ERR("vbd %s: extents %d and %d "
				    "overlap in %s", bc->bc_id, j + 1, i + 1,
				    be->be_path);
		}
		total += be->be_len;
	}
	bd->bd_size = total;
	return 0;
}

/* Make a new overlay's directory entry durable with its first bytes. */
static int
blk_sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, rc;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int
blk_ovl_init(struct blk_dev *bd, const struct blk_cow_hdr *h, char *err,
    size_t errsz)
{
	const char *path = bd->bd_cfg.bc_overlay, *id = bd->bd_cfg.bc_id;
	uint8_t page[BLK_COW_HDR_PAGE];
	uint64_t ignored = 0;

	memset(page, 0, sizeof(page));
	memcpy(page, h, sizeof(*h));
	if (blk_xfer1(bd->bd_ovl_fd, page, sizeof(page), 0, 1,
	    &ignored) == -1 ||
	    ftruncate(bd->bd_ovl_fd, (off_t)h->ch_data_off) == -1 ||
	    fsync(bd->bd_ovl_fd) == -1 || blk_sync_dir(path) == -1)
		return err_set(err, errsz, errno, "vbd %s: cannot create "
		    "overlay %s: %s", id, path, strerror(errno));
	return 0;
}

static int
blk_ovl_check(struct blk_dev *bd, const struct blk_cow_hdr *want,
    uint64_t size, char *err, size_t errsz)
{
	const char *path = bd->bd_cfg.bc_overlay, *id = bd->bd_cfg.bc_id;
	struct blk_cow_hdr h;
	uint64_t ignored = 0;

	if (size < want->ch_data_off)
		return BLK_ERR("vbd %s: overlay %s is %llu bytes, too short "
		    "for its header and bitmap (%llu): truncated, or not an "
		    "overlay", id, path, (unsigned long long)size,
		    (unsigned long long)want->ch_data_off);
	if (blk_xfer1(bd->bd_ovl_fd, &h, sizeof(h), 0, 0, &ignored) == -1)
		return err_set(err, errsz, errno, "vbd %s: overlay %s: %s",
		    id, path, strerror(errno));
	if (memcmp(h.ch_magic, BLK_COW_MAGIC, sizeof(h.ch_magic)) != 0)
		return BLK_ERR("vbd %s: %s is not a Xeno overlay (no "
		    "XENOCOW1 magic)", id, path);
	if (h.ch_version != BLK_COW_VERSION)
		return BLK_ERR("vbd %s: overlay %s has format version %u; this "
		    "xeno-hv reads version %d", id, path, h.ch_version,
		    BLK_COW_VERSION);
	if (h.ch_cluster != BLK_COW_CLUSTER)
		return BLK_ERR("vbd %s: overlay %s has %u-byte clusters, not "
		    "%d", id, path, h.ch_cluster, BLK_COW_CLUSTER);
	if (h.ch_size != want->ch_size)
		return BLK_ERR("vbd %s: overlay %s was made for a %llu-byte "
		    "base, but base %s is %llu bytes", id, path,
		    (unsigned long long)h.ch_size, bd->bd_cfg.bc_base,
		    (unsigned long long)want->ch_size);
	if (h.ch_bitmap_off != want->ch_bitmap_off ||
	    h.ch_bitmap_bytes != want->ch_bitmap_bytes ||
	    h.ch_data_off != want->ch_data_off)
		return BLK_ERR("vbd %s: overlay %s has an inconsistent header "
		    "(bitmap %llu+%llu, data %llu; expected %llu+%llu, %llu)",
		    id, path, (unsigned long long)h.ch_bitmap_off,
		    (unsigned long long)h.ch_bitmap_bytes,
		    (unsigned long long)h.ch_data_off,
		    (unsigned long long)want->ch_bitmap_off,
		    (unsigned long long)want->ch_bitmap_bytes,
		    (unsigned long long)want->ch_data_off);
	if (blk_xfer1(bd->bd_ovl_fd, bd->bd_bitmap, bd->bd_bitmap_bytes,
	    BLK_COW_HDR_PAGE, 0, &ignored) == -1)
		return err_set(err, errsz, errno, "vbd %s: overlay %s: "
		    "reading the bitmap: %s", id, path, strerror(errno));
	/* Bits past the last cluster mean nothing: keep them clear. */
	if (bd->bd_nclusters % 8 != 0)
		bd->bd_bitmap[bd->bd_bitmap_bytes - 1] &=
		    (uint8_t)((1U << (bd->bd_nclusters % 8)) - 1);
	return 0;
}

static int
blk_open_cow(struct blk_dev *bd, char *err, size_t errsz)
{
	struct blk_config *bc = &bd->bd_cfg;
	struct blk_cow_hdr h;
	struct stat bsb, osb;
	uint64_t size, osize;

	bd->bd_base_fd = blk_open_file(bc->bc_base, O_RDONLY, &bsb, &size,
	    "base", bc->bc_id, err, errsz);
	if (bd->bd_base_fd == -1)
		return -1;
	if (size == 0 || size % BLK_SECTOR != 0 || size > (uint64_t)INT64_MAX)
		return BLK_ERR("vbd %s: base %s is %llu bytes, not a non-zero "
		    "multiple of %d", bc->bc_id, bc->bc_base,
		    (unsigned long long)size, BLK_SECTOR);
	bd->bd_size = size;
	if (bc->bc_overlay == NULL) {
		/* A base alone: a read-only whole-file extent. */
		bc->bc_extent[0].be_path = bc->bc_base;
		bc->bc_extent[0].be_off = 0;
		bc->bc_extent[0].be_len = size;
		bc->bc_extent[0].be_fd = bd->bd_base_fd;
		bc->bc_nextents = 1;
		bc->bc_base = NULL;
		bd->bd_base_fd = -1;
		return 0;
	}

	bd->bd_nclusters = (size + BLK_COW_CLUSTER - 1) / BLK_COW_CLUSTER;
	memset(&h, 0, sizeof(h));
	memcpy(h.ch_magic, BLK_COW_MAGIC, sizeof(h.ch_magic));
	h.ch_version = BLK_COW_VERSION;
	h.ch_cluster = BLK_COW_CLUSTER;
	h.ch_size = size;
	h.ch_bitmap_off = BLK_COW_HDR_PAGE;
	h.ch_bitmap_bytes = (bd->bd_nclusters + 7) / 8;
	h.ch_data_off = (BLK_COW_HDR_PAGE + h.ch_bitmap_bytes +
	    BLK_COW_CLUSTER - 1) / BLK_COW_CLUSTER * BLK_COW_CLUSTER;
	if (h.ch_bitmap_bytes > SIZE_MAX / 2)
		return err_set(err, errsz, EFBIG, "vbd %s: base %s is too "
		    "large", bc->bc_id, bc->bc_base);
	bd->bd_bitmap_bytes = (size_t)h.ch_bitmap_bytes;
	bd->bd_data_off = h.ch_data_off;
	if ((bd->bd_bitmap = calloc(1, bd->bd_bitmap_bytes)) == NULL)
		return err_set(err, errsz, ENOMEM, "vbd %s: no memory for the "
		    "overlay bitmap (%zu bytes)", bc->bc_id,
		    bd->bd_bitmap_bytes);

	bd->bd_ovl_fd = blk_open_file(bc->bc_overlay, bd->bd_ro ? O_RDONLY :
	    O_RDWR | O_CREAT, &osb, &osize, "overlay", bc->bc_id, err, errsz);
	if (bd->bd_ovl_fd == -1)
		return -1;
	if (!S_ISREG(osb.st_mode))
		return BLK_ERR("vbd %s: overlay %s is not a regular file",
		    bc->bc_id, bc->bc_overlay);
	if (osb.st_dev == bsb.st_dev && osb.st_ino == bsb.st_ino)
		return BLK_ERR("vbd %s: overlay %s is the base itself",
		    bc->bc_id, bc->bc_overlay);
	if (flock(bd->bd_ovl_fd, (bd->bd_ro ? LOCK_SH : LOCK_EX) |
	    LOCK_NB) == -1)
		return err_set(err, errsz, errno, "vbd %s: overlay %s is in "
		    "use by another domain (%s)", bc->bc_id, bc->bc_overlay,
		    strerror(errno));
	/* Size checked under the lock: a racing creator has finished. */
	if (fstat(bd->bd_ovl_fd, &osb) == -1)
		return err_set(err, errsz, errno, "vbd %s: overlay %s: %s",
		    bc->bc_id, bc->bc_overlay, strerror(errno));
	osize = (uint64_t)osb.st_size;
	/* Empty: new, or its creation crashed before anything was in it. */
	if (osize == 0) {
		if (bd->bd_ro)
			return BLK_ERR("vbd %s: overlay %s is empty (never "
			    "used read-write), so it cannot be opened ro",
			    bc->bc_id, bc->bc_overlay);
		return blk_ovl_init(bd, &h, err, errsz);
	}
	return blk_ovl_check(bd, &h, osize, err, errsz);
}

static void
blk_release(struct blk_dev *bd)
{
	int i;

	for (i = 0; i < BLK_MAX_EXTENTS; i++)
		if (bd->bd_cfg.bc_extent[i].be_fd != -1) {
			close(bd->bd_cfg.bc_extent[i].be_fd);
			bd->bd_cfg.bc_extent[i].be_fd = -1;
		}
	if (bd->bd_base_fd != -1)
		close(bd->bd_base_fd);
	if (bd->bd_ovl_fd != -1)
		close(bd->bd_ovl_fd);
	bd->bd_base_fd = bd->bd_ovl_fd = -1;
	free(bd->bd_bitmap);
	bd->bd_bitmap = NULL;
	bd->bd_bitmap_dirty = 0;
	bd->bd_dirty = 0;
}

int
blk_open(struct blk_dev *bd, struct blk_config *bc, uint64_t now, char *err,
    size_t errsz)
{
	struct xeno_stats_blk *st = &bd->bd_stats;
	int i, rc;

	memset(bd, 0, sizeof(*bd));
	bd->bd_base_fd = bd->bd_ovl_fd = -1;
	/* Work on a copy: on failure the caller's config is untouched. */
	bd->bd_cfg = *bc;
	for (i = 0; i < BLK_MAX_EXTENTS; i++)
		bd->bd_cfg.bc_extent[i].be_fd = -1;
	bd->bd_ro = bc->bc_ro;
	if (bc->bc_base != NULL)
		rc = blk_open_cow(bd, err, errsz);
	else
		rc = blk_open_extents(bd, err, errsz);
	if (rc == -1) {
		int e = errno;

		blk_release(bd);
		memset(&bd->bd_cfg, 0, sizeof(bd->bd_cfg));
		for (i = 0; i < BLK_MAX_EXTENTS; i++)
			bd->bd_cfg.bc_extent[i].be_fd = -1;
		errno = e;
		return -1;
	}
	/* The device owns the strings now. */
	memset(bc, 0, sizeof(*bc));
	for (i = 0; i < BLK_MAX_EXTENTS; i++)
		bc->bc_extent[i].be_fd = -1;

	bd->bd_capacity = bd->bd_size / BLK_SECTOR;
	st->sb_capacity = bd->bd_capacity;
	st->sb_flags = (bd->bd_ro ? XENO_STATS_BLK_RO : 0) |
	    (bd->bd_cfg.bc_base != NULL ? XENO_STATS_BLK_COW : 0);
	st->sb_nr_extents = (uint32_t)bd->bd_cfg.bc_nextents;
	st->sb_lease_bytes = bd->bd_size;
	st->sb_lease_start_realtime_ns = now;
	st->sb_lease_expiry_realtime_ns = bd->bd_cfg.bc_lease_until;
	blk_lease_update(bd, now);
	return 0;
}

void
blk_close(struct blk_dev *bd)
{
	if (bd == NULL)
		return;
	if (bd->bd_cfg.bc_base != NULL && bd->bd_ovl_fd != -1 &&
	    blk_sync(bd) == -1)
		log_warn("vbd %s: overlay %s: writing the bitmap at close; "
		    "writes since the last flush may be lost",
		    bd->bd_cfg.bc_id, bd->bd_cfg.bc_overlay);
	blk_release(bd);
	blk_config_free(&bd->bd_cfg);
}

int
blk_lease_update(struct blk_dev *bd, uint64_t now)
{
	struct xeno_stats_blk *st = &bd->bd_stats;
	uint64_t start = st->sb_lease_start_realtime_ns;
	uint64_t expiry = st->sb_lease_expiry_realtime_ns, end = now;

	/* Sticky: a realtime clock stepped back does not revive a lease. */
	if (expiry != 0 && now >= expiry)
		st->sb_flags |= XENO_STATS_BLK_EXPIRED;
	if (st->sb_flags & XENO_STATS_BLK_EXPIRED)
		end = expiry;
	st->sb_lease_held_ns = end > start ? end - start : 0;
	return (st->sb_flags & XENO_STATS_BLK_EXPIRED) != 0;
}

/*
 * Requests
 */

/* Count a failed request under one reason; the status to report. */
static uint8_t
blk_fail(struct blk_dev *bd, uint64_t *reason)
{
	bd->bd_stats.sb_errors++;
	(*reason)++;
	return XENO_VIRTIO_BLK_S_IOERR;
}

/* Is [sector, sector + bytes / 512) inside the disk? */
static int
blk_in_range(const struct blk_dev *bd, uint64_t sector, uint64_t bytes)
{
	uint64_t n = bytes / BLK_SECTOR;

	return sector <= bd->bd_capacity && n <= bd->bd_capacity - sector;
}

uint32_t
blk_request(struct blk_dev *bd, const struct vq_req *req, uint64_t now)
{
	struct xeno_stats_blk *st = &bd->bd_stats;
	struct xeno_virtio_blk_req hdr;
	struct xeno_virtio_blk_discard dsc[XENO_VIRTIO_BLK_MAX_DISCARD_SEG];
	const struct vq_seg *wseg;
	struct blk_cur cu;
	char id[BLK_ID_MAX];
	uint64_t rlen = 0, wlen = 0, dlen, t0;
	unsigned int i, nr, nw, nd;
	uint32_t used = 1;
	uint8_t *status, s = XENO_VIRTIO_BLK_S_OK;
	int rc;

	/*
	 * The layout: readable segments, then writable ones whose very last
	 * byte is the status.  vq_pop guarantees the order; checked anyway,
	 * it costs nothing.
	 */
	nr = 0;
	if (req->vr_nseg > VQ_MAX_SEGS)
		goto bad_nostatus;
	while (nr < req->vr_nseg && !req->vr_seg[nr].vs_write)
		rlen += req->vr_seg[nr++].vs_len;
	for (i = nr; i < req->vr_nseg; i++) {
		if (!req->vr_seg[i].vs_write || req->vr_seg[i].vs_len == 0)
			goto bad_nostatus;
		wlen += req->vr_seg[i].vs_len;
	}
	nw = req->vr_nseg - nr;
	if (nw == 0 || rlen > UINT32_MAX || wlen > UINT32_MAX)
		goto bad_nostatus;
	wseg = &req->vr_seg[nr];
	status = (uint8_t *)wseg[nw - 1].vs_base + wseg[nw - 1].vs_len - 1;
	dlen = wlen - 1;	/* writable bytes before the status */

	if (blk_lease_update(bd, now)) {
		s = blk_fail(bd, &st->sb_err_lease);
		goto done;
	}
	if (rlen < BLK_HDR_BYTES) {
		s = blk_fail(bd, &st->sb_err_bad);
		goto done;
	}
	/* Copy the header once; the guest may rewrite it meanwhile. */
	blk_cur_init(&cu, req->vr_seg, nr, 0, BLK_HDR_BYTES);
	blk_cur_copy(&cu, &hdr, sizeof(hdr), 0);

	switch (hdr.type) {
	case XENO_VIRTIO_BLK_T_IN:
		if (dlen % BLK_SECTOR != 0 || !blk_in_range(bd, hdr.sector,
		    dlen)) {
			s = blk_fail(bd, &st->sb_err_range);
			break;
		}
		t0 = blk_clock(bd);
		blk_cur_init(&cu, wseg, nw, 0, dlen);
		if (bd->bd_cfg.bc_base != NULL)
			rc = blk_cow_read(bd, &cu, hdr.sector * BLK_SECTOR,
			    dlen);
		else
			rc = blk_ext_rw(bd, &cu, hdr.sector * BLK_SECTOR, dlen,
			    0);
		if (rc == -1) {
			s = blk_fail(bd, &st->sb_err_io);
			break;
		}
		st->sb_rd_reqs++;
		st->sb_rd_sectors += dlen / BLK_SECTOR;
		st->sb_rd_ns += blk_since_ns(bd, t0);
		used += (uint32_t)dlen;
		break;

	case XENO_VIRTIO_BLK_T_OUT:
		dlen = rlen - BLK_HDR_BYTES;
		if (bd->bd_ro) {
			s = blk_fail(bd, &st->sb_err_ro);
			break;
		}
		if (dlen % BLK_SECTOR != 0 || !blk_in_range(bd, hdr.sector,
		    dlen)) {
			s = blk_fail(bd, &st->sb_err_range);
			break;
		}
		t0 = blk_clock(bd);
		blk_cur_init(&cu, req->vr_seg, nr, BLK_HDR_BYTES, dlen);
		bd->bd_dirty = 1;
		if (bd->bd_cfg.bc_base != NULL)
			rc = blk_cow_write(bd, &cu, hdr.sector * BLK_SECTOR,
			    dlen);
		else
			rc = blk_ext_rw(bd, &cu, hdr.sector * BLK_SECTOR, dlen,
			    1);
		if (rc == -1) {
			s = blk_fail(bd, &st->sb_err_io);
			break;
		}
		st->sb_wr_reqs++;
		st->sb_wr_sectors += dlen / BLK_SECTOR;
		st->sb_wr_ns += blk_since_ns(bd, t0);
		break;

	case XENO_VIRTIO_BLK_T_FLUSH:
		t0 = blk_clock(bd);
		if (blk_sync(bd) == -1) {
			s = blk_fail(bd, &st->sb_err_io);
			break;
		}
		st->sb_flushes++;
		st->sb_flush_ns += blk_since_ns(bd, t0);
		break;

	case XENO_VIRTIO_BLK_T_GET_ID:
		/* bc_id is NUL-padded to BLK_ID_MAX + 1 by blk_parse. */
		memcpy(id, bd->bd_cfg.bc_id, sizeof(id));
		if (dlen > sizeof(id))
			dlen = sizeof(id);
		blk_cur_init(&cu, wseg, nw, 0, dlen);
		blk_cur_copy(&cu, id, (size_t)dlen, 1);
		st->sb_get_ids++;
		used += (uint32_t)dlen;
		break;

	case XENO_VIRTIO_BLK_T_DISCARD:
		dlen = rlen - BLK_HDR_BYTES;
		if (bd->bd_ro) {
			s = blk_fail(bd, &st->sb_err_ro);
			break;
		}
		if (dlen == 0 || dlen % BLK_DISCARD_BYTES != 0 ||
		    dlen / BLK_DISCARD_BYTES > XENO_VIRTIO_BLK_MAX_DISCARD_SEG) {
			s = blk_fail(bd, &st->sb_err_bad);
			break;
		}
		nd = (unsigned int)(dlen / BLK_DISCARD_BYTES);
		blk_cur_init(&cu, req->vr_seg, nr, BLK_HDR_BYTES, dlen);
		blk_cur_copy(&cu, dsc, (size_t)dlen, 0);
		/* Check every segment before touching anything. */
		for (i = 0; i < nd; i++)
			if (dsc[i].flags != 0)
				break;
		if (i < nd) {
			s = blk_fail(bd, &st->sb_err_bad);
			break;
		}
		for (i = 0; i < nd; i++)
			if (!blk_in_range(bd, dsc[i].sector,
			    (uint64_t)dsc[i].num_sectors * BLK_SECTOR))
				break;
		if (i < nd) {
			s = blk_fail(bd, &st->sb_err_range);
			break;
		}
		bd->bd_dirty = 1;
		for (i = 0, rc = 0; i < nd && rc == 0; i++) {
			uint64_t pos = dsc[i].sector * BLK_SECTOR;
			uint64_t len = (uint64_t)dsc[i].num_sectors *
			    BLK_SECTOR;

			if (len == 0)
				continue;
			if (bd->bd_cfg.bc_base != NULL)
				rc = blk_cow_write(bd, NULL, pos, len);
			else
				rc = blk_ext_discard(bd, pos, len);
		}
		if (rc == -1) {
			s = blk_fail(bd, &st->sb_err_io);
			break;
		}
		st->sb_discards++;
		break;

	default:
		st->sb_errors++;
		st->sb_err_unsupp++;
		s = XENO_VIRTIO_BLK_S_UNSUPP;
		break;
	}
done:
	if (s != XENO_VIRTIO_BLK_S_OK)
		used = 1;	/* the data, if any, is not to be trusted */
	*status = s;
	return used;

bad_nostatus:
	st->sb_errors++;
	st->sb_err_bad++;
	return 0;
}
