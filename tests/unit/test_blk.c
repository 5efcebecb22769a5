/*
 * virtio/blk.c: the VBD backend, driven through the real virtqueue engine
 * by a toy guest driver (as in test_virtq.c) against temporary files.
 * Parsing (every field's errors), extents over two files (data at the
 * right file offsets, reads across the seam, split headers and buffers),
 * range, partial-sector, read-only, lease and malformed-chain refusals with
 * their counters, copy-on-write (base untouched, two overlays on one base,
 * partial-cluster copy-up, reopen after flush and after a crash), discard,
 * get-id, flush, host I/O errors.  Guard bytes around every buffer show
 * that nothing outside the request's segments is written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "t.h"
#include "xeno/pv.h"
#include "virtio/blk.h"
#include "virtio/virtq.h"

#define MEM_SIZE	(1ULL << 20)
#define LO		0x10000ULL
#define HI		MEM_SIZE
#define DESC		0x10000ULL
#define AVAIL		0x11000ULL
#define USED		0x12000ULL
#define HDR		0x18000ULL	/* request header */
#define DSC		0x18800ULL	/* discard segments */
#define STAT		0x19000ULL	/* status byte */
#define DATA		0x20000ULL	/* up to 256 KiB of data */
#define DATA_MAX	0x40000ULL
#define GUARD		0xee
#define QSIZE		16

#define SEC		512ULL
#define CL		4096ULL
#define T0		(1700000000ULL * 1000000000ULL)	/* realtime ns */

/* The guest: its memory, its shadow indices, and the device's queue. */
struct drv {
	struct vq_mem	 mem;
	struct virtq	 vq;
	uint16_t	 avail_idx;
	uint16_t	 used_seen;
	struct vq_avail	*avail;
	struct vq_used	*used;
};

static uint8_t *mem;
static struct drv drv;
static char dir[64];
static uint64_t now = T0;

static void
drv_init(void)
{
	memset(&drv, 0, sizeof(drv));
	drv.mem.vm_base = mem;
	drv.mem.vm_lo = LO;
	drv.mem.vm_hi = HI;
	memset(mem + DESC, 0, HDR - DESC);
	drv.avail = (struct vq_avail *)(void *)(mem + AVAIL);
	drv.used = (struct vq_used *)(void *)(mem + USED);
	if (vq_init(&drv.vq, &drv.mem, QSIZE, DESC, AVAIL, USED, 0) == -1) {
		fprintf(stderr, "vq_init: %s\n", strerror(errno));
		exit(1);
	}
}

static void
drv_desc(unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
    uint16_t next)
{
	struct vq_desc v = { addr, len, flags, next };

	memcpy(mem + DESC + 16 * i, &v, sizeof(v));
}

static void
drv_post(uint16_t head)
{
	drv.avail->va_ring[drv.avail_idx % QSIZE] = head;
	drv.avail_idx++;
	__atomic_store_n(&drv.avail->va_idx, drv.avail_idx, __ATOMIC_RELEASE);
}

static int
drv_used(uint32_t *id, uint32_t *len)
{
	struct vq_used_elem *e;

	if (__atomic_load_n(&drv.used->vu_idx, __ATOMIC_ACQUIRE) ==
	    drv.used_seen)
		return 0;
	e = &drv.used->vu_ring[drv.used_seen % QSIZE];
	*id = e->vue_id;
	*len = e->vue_len;
	drv.used_seen++;
	return 1;
}

/* A buffer of a request: gpa, length, device-writable. */
struct seg {
	uint64_t	gpa;
	uint32_t	len;
	int		w;
};

/*
 * Chain the buffers from descriptor 0, make them available, let the
 * device pop and serve the request; the used length it reported.
 */
static uint32_t
submit(struct blk_dev *bd, const struct seg *s, unsigned int n)
{
	struct vq_req r;
	unsigned int i;
	uint32_t ret, id = 0, len = 0;

	for (i = 0; i < n; i++)
		drv_desc(i, s[i].gpa, s[i].len,
		    (uint16_t)((s[i].w ? VQ_DESC_F_WRITE : 0) |
		    (i + 1 < n ? VQ_DESC_F_NEXT : 0)), (uint16_t)(i + 1));
	drv_post(0);
	if (vq_pop(&drv.vq, &r) != 1) {
		CHECK(!"vq_pop did not return the request");
		return UINT32_MAX;
	}
	ret = blk_request(bd, &r, now);
	vq_push(&drv.vq, r.vr_head, ret);
	CHECK(drv_used(&id, &len));
	CHECK_EQ(id, 0);
	CHECK_EQ(len, ret);
	return ret;
}

static void
put_hdr(uint64_t gpa, uint32_t type, uint64_t sector)
{
	struct xeno_virtio_blk_req h = { type, 0, sector };

	memcpy(mem + gpa, &h, sizeof(h));
}

/* The guard pattern over the whole data and status area. */
static void
guard_fill(void)
{
	memset(mem + HDR, GUARD, DATA + DATA_MAX - HDR);
}

/* Bytes [gpa, gpa + len) still hold the guard pattern. */
static int
guard_ok(uint64_t gpa, uint64_t len)
{
	uint64_t i;

	for (i = 0; i < len; i++)
		if (mem[gpa + i] != GUARD)
			return 0;
	return 1;
}

/*
 * The usual request: header, data (writable for IN and GET_ID, readable
 * otherwise; none if len is 0), status.  buf is copied in (OUT, DISCARD)
 * or out (IN, GET_ID).  Checks that nothing but the data and the status
 * byte was written.  Returns the status; *used the used length.
 */
static int
io(struct blk_dev *bd, uint32_t type, uint64_t sector, void *buf,
    uint32_t len, uint32_t *used)
{
	struct seg s[3];
	unsigned int n = 0;
	int w = type == XENO_VIRTIO_BLK_T_IN ||
	    type == XENO_VIRTIO_BLK_T_GET_ID;
	uint32_t u;

	guard_fill();
	put_hdr(HDR, type, sector);
	s[n++] = (struct seg){ HDR, 16, 0 };
	if (len > 0) {
		if (!w)
			memcpy(mem + DATA, buf, len);
		s[n++] = (struct seg){ DATA, len, w };
	}
	s[n++] = (struct seg){ STAT, 1, 1 };
	u = submit(bd, s, n);
	if (used != NULL)
		*used = u;
	CHECK(guard_ok(HDR + 16, STAT - HDR - 16));
	CHECK(guard_ok(STAT + 1, DATA - STAT - 1));
	CHECK(guard_ok(DATA + len, DATA_MAX - len));
	if (!w) {
		if (len > 0)
			CHECK(memcmp(mem + DATA, buf, len) == 0);
		CHECK_EQ(u, 1);
	} else {
		if (mem[STAT] == XENO_VIRTIO_BLK_S_OK && len > 0)
			memcpy(buf, mem + DATA, len);
		if (mem[STAT] != XENO_VIRTIO_BLK_S_OK)
			CHECK_EQ(u, 1);
	}
	return mem[STAT];
}

static void
disk_read(struct blk_dev *bd, uint64_t sector, uint64_t nsect, uint8_t *buf)
{
	uint32_t used;

	CHECK_EQ(io(bd, XENO_VIRTIO_BLK_T_IN, sector, buf,
	    (uint32_t)(nsect * SEC), &used), XENO_VIRTIO_BLK_S_OK);
	CHECK_EQ(used, nsect * SEC + 1);
}

static void
disk_write(struct blk_dev *bd, uint64_t sector, uint64_t nsect,
    const uint8_t *buf)
{
	CHECK_EQ(io(bd, XENO_VIRTIO_BLK_T_OUT, sector, (void *)(uintptr_t)buf,
	    (uint32_t)(nsect * SEC), NULL), XENO_VIRTIO_BLK_S_OK);
}

static int
disk_flush(struct blk_dev *bd)
{
	return io(bd, XENO_VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL);
}

/* Discard n ranges (sector, count) in one request. */
static int
disk_discard(struct blk_dev *bd, const uint64_t *r, unsigned int n)
{
	struct xeno_virtio_blk_discard d[XENO_VIRTIO_BLK_MAX_DISCARD_SEG + 1];
	unsigned int i;

	memset(d, 0, sizeof(d));
	for (i = 0; i < n; i++) {
		d[i].sector = r[2 * i];
		d[i].num_sectors = (uint32_t)r[2 * i + 1];
	}
	return io(bd, XENO_VIRTIO_BLK_T_DISCARD, 0, d,
	    (uint32_t)(n * sizeof(d[0])), NULL);
}

static uint64_t
err_sum(const struct xeno_stats_blk *st)
{
	return st->sb_err_ro + st->sb_err_range + st->sb_err_bad +
	    st->sb_err_unsupp + st->sb_err_io + st->sb_err_lease;
}

/*
 * Files
 */

static uint8_t
pat(uint64_t i, unsigned int seed)
{
	return (uint8_t)(i * 31 + seed * 97 + (i >> 9) + 1);
}

static void
fill(uint8_t *buf, uint64_t len, unsigned int seed)
{
	uint64_t i;

	for (i = 0; i < len; i++)
		buf[i] = pat(i, seed);
}

static const char *
path(const char *name)
{
	static char p[8][128];
	static unsigned int n;
	char *s = p[n++ % 8];

	snprintf(s, sizeof(p[0]), "%s/%s", dir, name);
	return s;
}

static void
mkfile(const char *name, uint64_t size, unsigned int seed)
{
	uint8_t *buf = malloc(size);
	int fd;

	fill(buf, size, seed);
	fd = open(path(name), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, buf, size) != (ssize_t)size) {
		fprintf(stderr, "%s: %s\n", path(name), strerror(errno));
		exit(1);
	}
	close(fd);
	free(buf);
}

/* The whole file, malloc'ed; *size its size. */
static uint8_t *
slurp(const char *name, uint64_t *size)
{
	struct stat sb;
	uint8_t *buf;
	int fd;

	fd = open(path(name), O_RDONLY);
	if (fd == -1 || fstat(fd, &sb) == -1) {
		fprintf(stderr, "%s: %s\n", path(name), strerror(errno));
		exit(1);
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (pread(fd, buf, (size_t)sb.st_size, 0) != sb.st_size)
		exit(1);
	close(fd);
	*size = (uint64_t)sb.st_size;
	return buf;
}

static int
is_zero(const uint8_t *p, uint64_t n)
{
	while (n-- > 0)
		if (*p++ != 0)
			return 0;
	return 1;
}

static int
open_spec(struct blk_dev *bd, const char *spec, char *err, size_t errsz)
{
	struct blk_config bc;

	if (blk_parse(spec, &bc, err, errsz) == -1) {
		fprintf(stderr, "blk_parse(%s): %s\n", spec, err);
		return -1;
	}
	if (blk_open(bd, &bc, now, err, errsz) == -1) {
		blk_config_free(&bc);
		return -1;
	}
	/* Moved into the device: nothing left to free here. */
	CHECK(bc.bc_nextents == 0 && bc.bc_base == NULL &&
	    bc.bc_overlay == NULL && bc.bc_extent[0].be_path == NULL);
	blk_config_free(&bc);
	return 0;
}

/* Open or fail the test loudly. */
static void
must_open(struct blk_dev *bd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
must_open(struct blk_dev *bd, const char *fmt, ...)
{
	char spec[512], err[256] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(spec, sizeof(spec), fmt, ap);
	va_end(ap);
	if (open_spec(bd, spec, err, sizeof(err)) == -1) {
		fprintf(stderr, "blk_open(%s): %s\n", spec, err);
		CHECK(!"blk_open failed");
		exit(1);
	}
}

/* Opening must fail with a message holding `want`. */
static void
open_fails(const char *want, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
open_fails(const char *want, const char *fmt, ...)
{
	struct blk_dev bd;
	char spec[512], err[256] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(spec, sizeof(spec), fmt, ap);
	va_end(ap);
	if (open_spec(&bd, spec, err, sizeof(err)) == 0) {
		fprintf(stderr, "blk_open(%s) succeeded\n", spec);
		CHECK(!"blk_open should have failed");
		blk_close(&bd);
		return;
	}
	if (strstr(err, want) == NULL) {
		fprintf(stderr, "blk_open(%s): '%s' lacks '%s'\n", spec, err,
		    want);
		CHECK(!"wrong message");
	}
	/* A failed open holds nothing; closing it is harmless. */
	CHECK(bd.bd_base_fd == -1 && bd.bd_ovl_fd == -1 &&
	    bd.bd_bitmap == NULL);
	blk_close(&bd);
}

/*
 * Parsing
 */

static void
parse_ok(const char *spec, struct blk_config *bc)
{
	char err[256] = "";

	if (blk_parse(spec, bc, err, sizeof(err)) == -1) {
		fprintf(stderr, "blk_parse(%s): %s\n", spec, err);
		CHECK(!"blk_parse failed");
	}
}

static void
parse_bad(const char *spec, const char *want)
{
	struct blk_config bc;
	char err[256] = "";
	int rc;

	errno = 0;
	rc = blk_parse(spec, &bc, err, sizeof(err));
	CHECK_EQ(rc, -1);
	CHECK(errno == EINVAL);
	if (rc == 0 || strstr(err, want) == NULL) {
		fprintf(stderr, "blk_parse(%s): rc %d, '%s' lacks '%s'\n",
		    spec, rc, err, want);
		CHECK(!"wrong parse error");
	}
	/* Nothing left behind; freeing again is harmless. */
	CHECK(bc.bc_nextents == 0 && bc.bc_base == NULL &&
	    bc.bc_overlay == NULL && bc.bc_extent[0].be_path == NULL);
	blk_config_free(&bc);
}

static void
test_parse(void)
{
	struct blk_config bc;
	char spec[1024];
	int i;

	parse_ok("id=disk0,extents=/a:0:64K+/b:1M:512", &bc);
	CHECK(strcmp(bc.bc_id, "disk0") == 0);
	CHECK_EQ(bc.bc_nextents, 2);
	CHECK(strcmp(bc.bc_extent[0].be_path, "/a") == 0);
	CHECK_EQ(bc.bc_extent[0].be_off, 0);
	CHECK_EQ(bc.bc_extent[0].be_len, 65536);
	CHECK(strcmp(bc.bc_extent[1].be_path, "/b") == 0);
	CHECK_EQ(bc.bc_extent[1].be_off, 1048576);
	CHECK_EQ(bc.bc_extent[1].be_len, 512);
	CHECK_EQ(bc.bc_extent[0].be_fd, -1);
	CHECK(bc.bc_base == NULL && bc.bc_overlay == NULL);
	CHECK_EQ(bc.bc_ro, 0);
	CHECK_EQ(bc.bc_lease_until, 0);
	blk_config_free(&bc);
	blk_config_free(&bc);

	/* Colons in the file name; bare numbers are bytes; ro first. */
	parse_ok("ro,id=x,extents=/p:a:th:4096:1KiB+/q:1G:2048", &bc);
	CHECK(strcmp(bc.bc_extent[0].be_path, "/p:a:th") == 0);
	CHECK_EQ(bc.bc_extent[0].be_off, 4096);
	CHECK_EQ(bc.bc_extent[0].be_len, 1024);
	CHECK_EQ(bc.bc_extent[1].be_off, 1ULL << 30);
	CHECK_EQ(bc.bc_ro, 1);
	blk_config_free(&bc);

	parse_ok("id=v.1_-Z,base=/b.img,overlay=/o.cow,"
	    "lease-until=2030-01-01T00:00:00Z", &bc);
	CHECK(strcmp(bc.bc_id, "v.1_-Z") == 0);
	CHECK(strcmp(bc.bc_base, "/b.img") == 0);
	CHECK(strcmp(bc.bc_overlay, "/o.cow") == 0);
	CHECK_EQ(bc.bc_nextents, 0);
	CHECK_EQ(bc.bc_ro, 0);
	CHECK_EQ(bc.bc_lease_until, 1893456000ULL * 1000000000ULL);
	blk_config_free(&bc);

	/* A base alone is read-only. */
	parse_ok("base=/b.img,id=y", &bc);
	CHECK_EQ(bc.bc_ro, 1);
	CHECK(bc.bc_overlay == NULL);
	blk_config_free(&bc);

	/* Dates (values from date -u -d ... +%s). */
	parse_ok("id=a,extents=/a:0:1K,lease-until=2000-02-29T12:34:56Z", &bc);
	CHECK_EQ(bc.bc_lease_until, 951827696ULL * 1000000000ULL);
	blk_config_free(&bc);
	parse_ok("id=a,extents=/a:0:1K,lease-until=2400-02-29T23:59:59Z", &bc);
	CHECK_EQ(bc.bc_lease_until, 13574649599ULL * 1000000000ULL);
	blk_config_free(&bc);
	parse_ok("id=a,extents=/a:0:1K,lease-until=2100-03-01T00:00:00Z", &bc);
	CHECK_EQ(bc.bc_lease_until, 4107542400ULL * 1000000000ULL);
	blk_config_free(&bc);
	parse_ok("id=a,extents=/a:0:1K,lease-until=1970-01-01T00:00:01Z", &bc);
	CHECK_EQ(bc.bc_lease_until, 1000000000ULL);
	blk_config_free(&bc);
	parse_ok("id=abcdefghijklmnopqrst,extents=/a:0:1K", &bc);
	CHECK(strcmp(bc.bc_id, "abcdefghijklmnopqrst") == 0);
	blk_config_free(&bc);

	/* Sixteen extents is the most. */
	strcpy(spec, "id=a,extents=");
	for (i = 0; i < BLK_MAX_EXTENTS; i++)
		snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec),
		    "%s/f%d:0:512", i ? "+" : "", i);
	parse_ok(spec, &bc);
	CHECK_EQ(bc.bc_nextents, BLK_MAX_EXTENTS);
	CHECK(strcmp(bc.bc_extent[15].be_path, "/f15") == 0);
	blk_config_free(&bc);
	strcat(spec, "+/f16:0:512");
	parse_bad(spec, "more than 16 extents");

	parse_bad("", "id=NAME");
	parse_bad("extents=/a:0:1K", "id=NAME is required");
	parse_bad("id=,extents=/a:0:1K", "id needs a value");
	parse_bad("id,extents=/a:0:1K", "id needs a value");
	parse_bad("id=abcdefghijklmnopqrstu,extents=/a:0:1K", "id");
	parse_bad("id=a b,extents=/a:0:1K", "id 'a b'");
	parse_bad("id=a/b,extents=/a:0:1K", "id 'a/b'");
	parse_bad("id=a,extents=/a:0:1K,foo=1", "unknown field 'foo'");
	parse_bad("id=a,extents=/a:0:1K,RO", "unknown field 'RO'");
	parse_bad("id=a,id=b,extents=/a:0:1K", "id given twice");
	parse_bad("id=a,extents=/a:0:1K,extents=/b:0:1K",
	    "extents given twice");
	parse_bad("id=a,extents=/a:0:1K,ro,ro", "ro given twice");
	parse_bad("id=a,extents=/a:0:1K,ro=1", "ro is a flag");
	parse_bad("id=a,,extents=/a:0:1K", "empty field");
	parse_bad("id=a,extents=/a:0:1K,", "empty field");
	parse_bad(",id=a,extents=/a:0:1K", "empty field");
	parse_bad("id=a,extents=", "extents needs a value");
	parse_bad("id=a,extents=/a:0", "extents: extent 1 is not FILE:OFF:LEN");
	parse_bad("id=a,extents=/a:0:1K+", "extents: extent 2 is not");
	parse_bad("id=a,extents=:0:1K", "extent 1 has no file name");
	parse_bad("id=a,extents=/a:0:0", "extent 1 length 0");
	parse_bad("id=a,extents=/a:0:1K+/b:0:100", "extent 2 length 100");
	parse_bad("id=a,extents=/a:100:512", "extent 1 offset 100");
	parse_bad("id=a,extents=/a:x:512", "extent 1 offset 'x'");
	parse_bad("id=a,extents=/a:-512:512", "offset '-512'");
	parse_bad("id=a,extents=/a:0:5Q", "extent 1 length '5Q'");
	parse_bad("id=a,extents=/a:0:5KB2", "length '5KB2'");
	parse_bad("id=a,extents=/a:0:99999999999999999999", "length");
	parse_bad("id=a,extents=/a:0:17179869184G", "length");
	parse_bad("id=a,extents=/a:9223372036854775296:1K", "ends past");
	parse_bad("id=a,extents=/a:0:1K,base=/b", "exclude");
	parse_bad("id=a,overlay=/o", "overlay needs a base");
	parse_bad("id=a,base=,overlay=/o", "base needs a value");
	parse_bad("id=a,base=/b,overlay=", "overlay needs a value");
	parse_bad("id=a", "give extents");
	parse_bad("id=a,ro", "give extents");
	{
		static const char *const bad_times[] = {
			"2030-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
			"2100-02-29T00:00:00Z", "2030-04-31T00:00:00Z",
			"2030-01-00T00:00:00Z", "2030-00-10T00:00:00Z",
			"2030-01-01T24:00:00Z", "2030-01-01T00:60:00Z",
			"2030-01-01T00:00:60Z", "2030-01-01 00:00:00Z",
			"2030-01-01T00:00:00", "2030-01-01T00:00:00z",
			"2030-01-01T00:00:00ZZ", "1969-12-31T23:59:59Z",
			"1970-01-01T00:00:00Z", "2030-1-01T00:00:00Z",
			"+030-01-01T00:00:00Z", "2501-01-01T00:00:00Z",
			"2030-01-01T00:00:00+00:00", "tomorrow",
		};
		unsigned int k;

		for (k = 0; k < sizeof(bad_times) / sizeof(bad_times[0]);
		    k++) {
			snprintf(spec, sizeof(spec), "id=a,extents=/a:0:1K,"
			    "lease-until=%s", bad_times[k]);
			parse_bad(spec, "lease-until");
		}
	}
	parse_bad("id=a,extents=/a:0:1K,lease-until=", "lease-until needs");
	parse_bad("id=a,extents=/a:0:1K,lease-until=2030-01-01T00:00:00Z,"
	    "lease-until=2031-01-01T00:00:00Z", "lease-until given twice");
}

/*
 * Extents
 */

static void
test_extents(void)
{
	struct blk_dev bd;
	const struct xeno_stats_blk *st = &bd.bd_stats;
	uint8_t w[12288], r[12288], *fa, *fb, *a0, *b0;
	uint64_t sa, sb, ranges[4];
	uint32_t used;
	struct seg s[6];
	char id[32];

	mkfile("a", 65536, 1);
	mkfile("b", 32768, 2);
	a0 = slurp("a", &sa);
	b0 = slurp("b", &sb);
	must_open(&bd, "id=ext,extents=%s:4K:8K+%s:16K:4K", path("a"),
	    path("b"));
	CHECK_EQ(bd.bd_capacity, 24);
	CHECK_EQ(st->sb_capacity, 24);
	CHECK_EQ(st->sb_nr_extents, 2);
	CHECK_EQ(st->sb_flags, 0);
	CHECK_EQ(st->sb_lease_bytes, 12288);
	CHECK_EQ(st->sb_lease_start_realtime_ns, T0);
	CHECK_EQ(st->sb_lease_expiry_realtime_ns, 0);

	/* All 24 sectors: 8 KiB into a at 4 KiB, 4 KiB into b at 16 KiB. */
	fill(w, sizeof(w), 7);
	disk_write(&bd, 0, 24, w);
	CHECK_EQ(st->sb_wr_reqs, 1);
	CHECK_EQ(st->sb_wr_sectors, 24);
	CHECK_EQ(st->sb_wr_bytes, 12288);
	fa = slurp("a", &sa);
	fb = slurp("b", &sb);
	CHECK_EQ(sa, 65536);
	CHECK_EQ(sb, 32768);
	CHECK(memcmp(fa + 4096, w, 8192) == 0);
	CHECK(memcmp(fb + 16384, w + 8192, 4096) == 0);
	CHECK(memcmp(fa, a0, 4096) == 0);
	CHECK(memcmp(fa + 12288, a0 + 12288, 65536 - 12288) == 0);
	CHECK(memcmp(fb, b0, 16384) == 0);
	CHECK(memcmp(fb + 20480, b0 + 20480, 32768 - 20480) == 0);
	free(fa);
	free(fb);

	/* Sectors 14..18 across the seam, into three odd-sized buffers. */
	guard_fill();
	put_hdr(HDR, XENO_VIRTIO_BLK_T_IN, 14);
	s[0] = (struct seg){ HDR, 16, 0 };
	s[1] = (struct seg){ DATA, 700, 1 };
	s[2] = (struct seg){ DATA + 0x1000, 1000, 1 };
	s[3] = (struct seg){ DATA + 0x2000, 860, 1 };
	s[4] = (struct seg){ STAT, 1, 1 };
	CHECK_EQ(submit(&bd, s, 5), 2561);
	CHECK_EQ(mem[STAT], XENO_VIRTIO_BLK_S_OK);
	CHECK(memcmp(mem + DATA, w + 14 * SEC, 700) == 0);
	CHECK(memcmp(mem + DATA + 0x1000, w + 14 * SEC + 700, 1000) == 0);
	CHECK(memcmp(mem + DATA + 0x2000, w + 14 * SEC + 1700, 860) == 0);
	CHECK(guard_ok(DATA + 700, 0x1000 - 700));
	CHECK(guard_ok(DATA + 0x1000 + 1000, 0x1000 - 1000));
	CHECK(guard_ok(DATA + 0x2000 + 860, 0x1000));

	/* Header split 5 + 11 apart, data and status in one buffer. */
	guard_fill();
	put_hdr(DATA + 0x3000, XENO_VIRTIO_BLK_T_IN, 15);
	memcpy(mem + HDR, mem + DATA + 0x3000, 5);
	memcpy(mem + HDR + 0x100, mem + DATA + 0x3000 + 5, 11);
	memset(mem + DATA + 0x3000, GUARD, 16);
	s[0] = (struct seg){ HDR, 5, 0 };
	s[1] = (struct seg){ HDR + 0x100, 11, 0 };
	s[2] = (struct seg){ DATA, 1025, 1 };
	CHECK_EQ(submit(&bd, s, 3), 1025);
	CHECK_EQ(mem[DATA + 1024], XENO_VIRTIO_BLK_S_OK);
	CHECK(memcmp(mem + DATA, w + 15 * SEC, 1024) == 0);
	CHECK(guard_ok(DATA + 1025, 0x1000));

	/*
	 * Header and data in one readable buffer (as some drivers send
	 * them), then the status: 3 sectors at sector 5.  Extra readable
	 * bytes after an IN's header mean nothing.
	 */
	guard_fill();
	put_hdr(DATA, XENO_VIRTIO_BLK_T_OUT, 5);
	fill(mem + DATA + 16, 3 * SEC, 30);
	memcpy(w + 5 * SEC, mem + DATA + 16, 3 * SEC);
	s[0] = (struct seg){ DATA, 16 + 3 * SEC, 0 };
	s[1] = (struct seg){ STAT, 1, 1 };
	CHECK_EQ(submit(&bd, s, 2), 1);
	CHECK_EQ(mem[STAT], XENO_VIRTIO_BLK_S_OK);
	put_hdr(DATA, XENO_VIRTIO_BLK_T_IN, 4);
	s[0] = (struct seg){ DATA, 100, 0 };
	s[1] = (struct seg){ DATA + 0x1000, 2 * SEC + 1, 1 };
	CHECK_EQ(submit(&bd, s, 2), 2 * SEC + 1);
	CHECK_EQ(mem[DATA + 0x1000 + 2 * SEC], XENO_VIRTIO_BLK_S_OK);
	CHECK(memcmp(mem + DATA + 0x1000, w + 4 * SEC, 2 * SEC) == 0);
	CHECK_EQ(st->sb_wr_reqs, 2);
	CHECK_EQ(st->sb_rd_reqs, 3);
	CHECK_EQ(st->sb_rd_sectors, 5 + 2 + 2);

	/* The whole disk, and a read of nothing at the very end. */
	disk_read(&bd, 0, 24, r);
	CHECK(memcmp(r, w, sizeof(w)) == 0);
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_IN, 24, r, 0, &used),
	    XENO_VIRTIO_BLK_S_OK);
	CHECK_EQ(used, 1);
	CHECK_EQ(st->sb_rd_reqs, 5);
	CHECK_EQ(st->sb_rd_sectors, 5 + 2 + 2 + 24);
	CHECK_EQ(st->sb_rd_bytes, 33 * SEC);
	CHECK_EQ(st->sb_errors, 0);

	/* Out of range, partial sectors: IOERR, counted, nothing written. */
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_IN, 23, r, 1024, &used),
	    XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(used, 1);
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_IN, 25, r, 0, NULL),
	    XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_IN, UINT64_MAX, r, 512, NULL),
	    XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_IN, UINT64_MAX / 512 + 1, r, 512,
	    NULL), XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_IN, 0, r, 513, NULL),
	    XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_IN, 0, r, 100, NULL),
	    XENO_VIRTIO_BLK_S_IOERR);
	fill(r, sizeof(r), 9);
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_OUT, 0, r, 100, NULL),
	    XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_OUT, 20, r, 4608, NULL),
	    XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_OUT, 1ULL << 60, r, 512, NULL),
	    XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(st->sb_err_range, 9);
	CHECK_EQ(st->sb_errors, 9);
	CHECK_EQ(st->sb_rd_reqs, 5);
	CHECK_EQ(st->sb_wr_reqs, 2);
	disk_read(&bd, 0, 24, r);
	CHECK(memcmp(r, w, sizeof(w)) == 0);

	/* Flush. */
	CHECK_EQ(disk_flush(&bd), XENO_VIRTIO_BLK_S_OK);
	CHECK_EQ(disk_flush(&bd), XENO_VIRTIO_BLK_S_OK);
	CHECK_EQ(st->sb_flushes, 2);

	/* get-id: NUL padded to 20, or cut to the buffer. */
	memset(id, 0xaa, sizeof(id));
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_GET_ID, 0, id, 20, &used),
	    XENO_VIRTIO_BLK_S_OK);
	CHECK_EQ(used, 21);
	CHECK(memcmp(id, "ext\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20) == 0);
	CHECK_EQ((uint8_t)id[20], 0xaa);
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_GET_ID, 0, id, 2, &used),
	    XENO_VIRTIO_BLK_S_OK);
	CHECK_EQ(used, 3);
	CHECK(mem[DATA] == 'e' && mem[DATA + 1] == 'x');
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_GET_ID, 0, r, 512, &used),
	    XENO_VIRTIO_BLK_S_OK);
	CHECK_EQ(used, 21);
	CHECK(guard_ok(DATA + 20, 512 - 20));	/* only 20 bytes written */
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_GET_ID, 0, NULL, 0, &used),
	    XENO_VIRTIO_BLK_S_OK);
	CHECK_EQ(used, 1);
	CHECK_EQ(st->sb_get_ids, 4);

	/* Discard two ranges, one on each side of the seam. */
	ranges[0] = 2;
	ranges[1] = 4;
	ranges[2] = 17;
	ranges[3] = 2;
	CHECK_EQ(disk_discard(&bd, ranges, 2), XENO_VIRTIO_BLK_S_OK);
	CHECK_EQ(st->sb_discards, 1);
	memset(w + 2 * SEC, 0, 4 * SEC);
	memset(w + 17 * SEC, 0, 2 * SEC);
	disk_read(&bd, 0, 24, r);
	CHECK(memcmp(r, w, sizeof(w)) == 0);
	fa = slurp("a", &sa);
	fb = slurp("b", &sb);
	CHECK_EQ(sa, 65536);	/* punched, not truncated */
	CHECK(is_zero(fa + 4096 + 2 * SEC, 4 * SEC));
	CHECK(memcmp(fa + 4096, w, 8192) == 0);
	CHECK(memcmp(fb + 16384, w + 8192, 4096) == 0);
	CHECK(memcmp(fa + 12288, a0 + 12288, 65536 - 12288) == 0);
	free(fa);
	free(fb);

	/* Bad discards change nothing: flags, range, count, size. */
	ranges[0] = 0;
	ranges[1] = 1;
	ranges[2] = 24;
	ranges[3] = 1;
	CHECK_EQ(disk_discard(&bd, ranges, 2), XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(st->sb_err_range, 10);
	{
		struct xeno_virtio_blk_discard d[17];

		memset(d, 0, sizeof(d));
		d[0].num_sectors = 1;
		d[1].sector = 1;
		d[1].num_sectors = 1;
		d[1].flags = 1;
		CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_DISCARD, 0, d, 32, NULL),
		    XENO_VIRTIO_BLK_S_IOERR);
		d[1].flags = 0;
		CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_DISCARD, 0, d, 17 * 16,
		    NULL), XENO_VIRTIO_BLK_S_IOERR);
		CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_DISCARD, 0, d, 20, NULL),
		    XENO_VIRTIO_BLK_S_IOERR);
		CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_DISCARD, 0, NULL, 0, NULL),
		    XENO_VIRTIO_BLK_S_IOERR);
		CHECK_EQ(st->sb_err_bad, 4);
		/* Sixteen is fine, and a count of 0 is nothing to do. */
		d[1].sector = 23;
		CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_DISCARD, 0, d, 16 * 16,
		    NULL), XENO_VIRTIO_BLK_S_OK);
		memset(w, 0, SEC);
		memset(w + 23 * SEC, 0, SEC);
	}
	disk_read(&bd, 0, 24, r);
	CHECK(memcmp(r, w, sizeof(w)) == 0);
	CHECK_EQ(st->sb_discards, 2);

	/* Discard segments in the header's buffer, split across two. */
	{
		struct xeno_virtio_blk_discard d = { 9, 2, 0 };

		guard_fill();
		put_hdr(DATA, XENO_VIRTIO_BLK_T_DISCARD, 0);
		memcpy(mem + DATA + 16, &d, 10);
		memcpy(mem + DATA + 0x100, (uint8_t *)&d + 10, 6);
		s[0] = (struct seg){ DATA, 26, 0 };
		s[1] = (struct seg){ DATA + 0x100, 6, 0 };
		s[2] = (struct seg){ STAT, 1, 1 };
		CHECK_EQ(submit(&bd, s, 3), 1);
		CHECK_EQ(mem[STAT], XENO_VIRTIO_BLK_S_OK);
		memset(w + 9 * SEC, 0, 2 * SEC);
	}
	disk_read(&bd, 0, 24, r);
	CHECK(memcmp(r, w, sizeof(w)) == 0);
	CHECK_EQ(st->sb_discards, 3);

	/* Unknown types. */
	CHECK_EQ(io(&bd, 7, 0, NULL, 0, &used), XENO_VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(used, 1);
	CHECK_EQ(io(&bd, 13, 0, r, 512, NULL), XENO_VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(io(&bd, UINT32_MAX, 0, NULL, 0, NULL),
	    XENO_VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(st->sb_err_unsupp, 3);

	/* Malformed chains. */
	guard_fill();
	put_hdr(HDR, XENO_VIRTIO_BLK_T_IN, 0);
	s[0] = (struct seg){ HDR, 16, 0 };
	s[1] = (struct seg){ DATA, 512, 0 };
	CHECK_EQ(submit(&bd, s, 2), 0);		/* no status byte at all */
	CHECK(guard_ok(HDR + 16, DATA + DATA_MAX - HDR - 16));
	s[0] = (struct seg){ HDR, 8, 0 };
	s[1] = (struct seg){ STAT, 1, 1 };
	CHECK_EQ(submit(&bd, s, 2), 1);		/* half a header */
	CHECK_EQ(mem[STAT], XENO_VIRTIO_BLK_S_IOERR);
	mem[STAT] = GUARD;
	CHECK_EQ(submit(&bd, s + 1, 1), 1);	/* no header */
	CHECK_EQ(mem[STAT], XENO_VIRTIO_BLK_S_IOERR);
	s[0] = (struct seg){ HDR, 15, 0 };
	s[1] = (struct seg){ DATA, 513, 1 };
	CHECK_EQ(submit(&bd, s, 2), 1);		/* 15 bytes of header */
	CHECK_EQ(mem[DATA + 512], XENO_VIRTIO_BLK_S_IOERR);
	CHECK(guard_ok(DATA, 512));
	CHECK_EQ(st->sb_err_bad, 4 + 4);
	CHECK_EQ(st->sb_errors, err_sum(st));
	CHECK_EQ(st->sb_errors, 10 + 4 + 3 + 4);

	blk_close(&bd);
	blk_close(&bd);
	free(a0);
	free(b0);
}

static void
test_ro(void)
{
	struct blk_dev bd;
	const struct xeno_stats_blk *st = &bd.bd_stats;
	uint8_t w[4096], r[4096], *f0, *f1;
	uint64_t s0, s1, range[2] = { 0, 1 };

	mkfile("ro", 16384, 4);
	f0 = slurp("ro", &s0);
	must_open(&bd, "id=r,extents=%s:8K:4K,ro", path("ro"));
	CHECK_EQ(st->sb_flags, XENO_STATS_BLK_RO);
	CHECK_EQ(bd.bd_ro, 1);
	disk_read(&bd, 0, 8, r);
	CHECK(memcmp(r, f0 + 8192, 4096) == 0);
	fill(w, sizeof(w), 5);
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_OUT, 0, w, 4096, NULL),
	    XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(disk_discard(&bd, range, 1), XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(st->sb_err_ro, 2);
	CHECK_EQ(st->sb_errors, 2);
	CHECK_EQ(disk_flush(&bd), XENO_VIRTIO_BLK_S_OK);
	f1 = slurp("ro", &s1);
	CHECK_EQ(s1, s0);
	CHECK(memcmp(f0, f1, s0) == 0);
	blk_close(&bd);
	free(f0);
	free(f1);

	/* A file we may not write needs ro (root may write anything). */
	if (geteuid() != 0) {
		chmod(path("ro"), 0400);
		open_fails("add ro", "id=r,extents=%s:8K:4K", path("ro"));
		must_open(&bd, "id=r,extents=%s:8K:4K,ro", path("ro"));
		blk_close(&bd);
		chmod(path("ro"), 0600);
	}
}

/* The host file fails under the device: IOERR, err_io, no crash. */
static void
test_io_error(void)
{
	struct blk_dev bd;
	uint8_t r[4096];

	mkfile("shrink", 16384, 6);
	must_open(&bd, "id=s,extents=%s:0:16K", path("shrink"));
	disk_read(&bd, 24, 8, r);
	CHECK_EQ(truncate(path("shrink"), 8192), 0);
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_IN, 24, r, 4096, NULL),
	    XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_IN, 12, r, 4096, NULL),
	    XENO_VIRTIO_BLK_S_IOERR);
	disk_read(&bd, 0, 8, r);
	CHECK_EQ(bd.bd_stats.sb_err_io, 2);
	CHECK_EQ(bd.bd_stats.sb_errors, 2);
	blk_close(&bd);
}

static void
test_open_errors(void)
{
	mkfile("small", 4096, 1);
	mkfile("odd", 4097, 1);
	open_fails("No such file", "id=e,extents=%s:0:1K", path("nonesuch"));
	open_fails("shorter than offset + length = 4608",
	    "id=e,extents=%s:512:4K", path("small"));
	open_fails("not a regular file or a block device",
	    "id=e,extents=%s:0:1K,ro", dir);
	open_fails("not a regular file or a block device",
	    "id=e,extents=/dev/null:0:1K");
	open_fails("Is a directory", "id=e,extents=%s:0:1K", dir);
	open_fails("extents 1 and 2 overlap", "id=e,extents=%s:0:2K+%s:1K:1K",
	    path("small"), path("small"));
	open_fails("not a non-zero multiple of 512", "id=e,base=%s",
	    path("odd"));
	open_fails("not a non-zero multiple of 512",
	    "id=e,base=%s,overlay=%s", path("odd"), path("odd.cow"));
	open_fails("No such file", "id=e,base=%s,overlay=%s",
	    path("nonesuch"), path("x.cow"));
	open_fails("the base itself", "id=e,base=%s,overlay=%s",
	    path("small"), path("small"));
	open_fails("No such file", "id=e,base=%s,overlay=%s,ro",
	    path("small"), path("new.cow"));
	mkfile("new.cow", 0, 0);
	open_fails("is empty", "id=e,base=%s,overlay=%s,ro", path("small"),
	    path("new.cow"));
	open_fails("No such file", "id=e,base=%s,overlay=%s/no/dir.cow",
	    path("small"), dir);
	open_fails("Is a directory", "id=e,base=%s,overlay=%s",
	    path("small"), dir);
	open_fails("overlay /dev/null is not a regular file",
	    "id=e,base=%s,overlay=/dev/null,ro", path("small"));
}

/*
 * Copy-on-write
 */

#define CB_SECT		130	/* 16 clusters and a 1 KiB one */
#define CB_BYTES	(CB_SECT * SEC)

/* The disk must read back exactly as model. */
static void
cow_check(struct blk_dev *bd, const uint8_t *model)
{
	static uint8_t r[CB_BYTES];

	disk_read(bd, 0, CB_SECT, r);
	CHECK(memcmp(r, model, CB_BYTES) == 0);
}

static void
cow_write(struct blk_dev *bd, uint8_t *model, uint64_t sector,
    uint64_t nsect, unsigned int seed)
{
	uint8_t w[CB_BYTES];

	fill(w, nsect * SEC, seed);
	disk_write(bd, sector, nsect, w);
	memcpy(model + sector * SEC, w, nsect * SEC);
}

/* The child of the crash test: writes, flushes some, dies. */
static int
cow_crash_child(const uint8_t *base)
{
	struct blk_dev bd;
	char spec[256], err[256];
	uint8_t w[CL], r[CL];
	int bad = 0;

	(void)base;
	t_failed = 0;
	snprintf(spec, sizeof(spec), "id=c,base=%s,overlay=%s", path("base"),
	    path("o1.cow"));
	if (open_spec(&bd, spec, err, sizeof(err)) == -1)
		_exit(2);
	fill(w, CL, 40);
	disk_write(&bd, 7 * 8, 8, w);	/* cluster 7, flushed */
	bad |= disk_flush(&bd) != XENO_VIRTIO_BLK_S_OK;
	fill(w, CL, 41);
	disk_write(&bd, 5 * 8, 8, w);	/* cluster 5, whole, unflushed */
	disk_write(&bd, 6 * 8 + 1, 1, w);	/* cluster 6, partly */
	disk_read(&bd, 5 * 8, 8, r);
	bad |= memcmp(r, w, CL) != 0;
	bad |= t_failed != 0;
	_exit(bad ? 1 : 0);	/* no blk_close: the bitmap stays unwritten */
}

static void
test_cow(void)
{
	static uint8_t m1[CB_BYTES], m2[CB_BYTES];
	struct blk_dev d1, d2, d3;
	const struct xeno_stats_blk *s1 = &d1.bd_stats, *s2 = &d2.bd_stats;
	uint8_t *base, *b, *o;
	uint8_t w[CL];
	uint64_t bsize, size, range[6];
	pid_t pid;
	int status;

	mkfile("base", CB_BYTES, 3);
	base = slurp("base", &bsize);
	memcpy(m1, base, CB_BYTES);
	memcpy(m2, base, CB_BYTES);

	must_open(&d1, "id=c1,base=%s,overlay=%s", path("base"),
	    path("o1.cow"));
	must_open(&d2, "id=c2,base=%s,overlay=%s", path("base"),
	    path("o2.cow"));
	CHECK_EQ(d1.bd_capacity, CB_SECT);
	CHECK_EQ(s1->sb_flags, XENO_STATS_BLK_COW);
	CHECK_EQ(s1->sb_nr_extents, 0);
	CHECK_EQ(s1->sb_lease_bytes, CB_BYTES);
	/* A fresh overlay: header page, 3 bytes of bitmap, data at 8 KiB. */
	o = slurp("o1.cow", &size);
	CHECK_EQ(size, 8192);
	CHECK(memcmp(o, "XENOCOW1\1\0\0\0\0\x10\0\0", 16) == 0);
	CHECK_EQ(*(uint64_t *)(void *)(o + 16), CB_BYTES);
	CHECK_EQ(*(uint64_t *)(void *)(o + 24), 4096);
	CHECK_EQ(*(uint64_t *)(void *)(o + 32), 3);
	CHECK_EQ(*(uint64_t *)(void *)(o + 40), 8192);
	CHECK(is_zero(o + 48, 8192 - 48));
	free(o);
	/* One domain per overlay. */
	open_fails("in use by another domain", "id=c1,base=%s,overlay=%s",
	    path("base"), path("o1.cow"));

	cow_check(&d1, m1);
	/* Part of cluster 0: copied up from the base first. */
	cow_write(&d1, m1, 1, 1, 10);
	CHECK_EQ(s1->sb_cow_copies, 1);
	cow_check(&d1, m1);
	/* All of cluster 2: no copy. */
	cow_write(&d1, m1, 16, 8, 11);
	CHECK_EQ(s1->sb_cow_copies, 1);
	/* The end of cluster 3 and the start of 4: two copies. */
	cow_write(&d1, m1, 30, 4, 12);
	CHECK_EQ(s1->sb_cow_copies, 3);
	/* Cluster 0 again: allocated, written in place. */
	cow_write(&d1, m1, 4, 2, 13);
	CHECK_EQ(s1->sb_cow_copies, 3);
	/* The short last cluster, all of it. */
	cow_write(&d1, m1, 128, 2, 14);
	CHECK_EQ(s1->sb_cow_copies, 3);
	/* Clusters 8 (part), 9, 10 (all), 11 (part) in one request. */
	cow_write(&d1, m1, 66, 28, 15);
	CHECK_EQ(s1->sb_cow_copies, 5);
	cow_check(&d1, m1);
	CHECK_EQ(s1->sb_wr_reqs, 6);
	CHECK_EQ(s1->sb_wr_sectors, 1 + 8 + 4 + 2 + 2 + 28);
	/* Host bytes: guest data, plus whole clusters for the copies. */
	CHECK_EQ(s1->sb_wr_bytes, (8 + 2 + 2 + 16) * SEC + 5 * CL);
	/* ... and reads of the base for them. */
	CHECK_EQ(s1->sb_rd_bytes, 3 * CB_BYTES + 5 * CL);

	/* The other overlay sees the base, and its own writes. */
	cow_check(&d2, m2);
	cow_write(&d2, m2, 1, 1, 20);
	cow_write(&d2, m2, 129, 1, 21);	/* half the short cluster */
	CHECK_EQ(s2->sb_cow_copies, 2);
	cow_check(&d2, m2);
	cow_check(&d1, m1);
	CHECK(memcmp(m1, m2, CB_BYTES) != 0);

	/* The base never changes. */
	b = slurp("base", &size);
	CHECK_EQ(size, bsize);
	CHECK(memcmp(b, base, bsize) == 0);
	free(b);

	/* Flush, close, reopen: all there.  d2 closes unflushed. */
	CHECK_EQ(disk_flush(&d1), XENO_VIRTIO_BLK_S_OK);
	CHECK_EQ(s1->sb_flushes, 1);
	CHECK(s1->sb_flush_ns > 0);
	CHECK_EQ(d1.bd_bitmap_dirty, 0);
	blk_close(&d1);
	blk_close(&d2);
	must_open(&d1, "id=c1,base=%s,overlay=%s", path("base"),
	    path("o1.cow"));
	must_open(&d2, "id=c2,base=%s,overlay=%s", path("base"),
	    path("o2.cow"));
	cow_check(&d1, m1);
	cow_check(&d2, m2);
	blk_close(&d1);

	/*
	 * A crash: the child flushes cluster 7, then writes 5 and part of 6
	 * and dies.  7 survives; 5 and 6 read from the base (not garbage),
	 * and writing part of 6 now copies the base, not the lost data.
	 */
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		cow_crash_child(base);
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	must_open(&d1, "id=c1,base=%s,overlay=%s", path("base"),
	    path("o1.cow"));
	fill(w, CL, 40);
	memcpy(m1 + 7 * CL, w, CL);
	cow_check(&d1, m1);
	cow_write(&d1, m1, 6 * 8 + 3, 1, 42);
	CHECK_EQ(d1.bd_stats.sb_cow_copies, 1);
	cow_check(&d1, m1);
	CHECK(memcmp(m1 + 5 * CL, base + 5 * CL, CL) == 0);

	/*
	 * Discard: all of unallocated cluster 12 (reads zeros, not the
	 * base), part of unallocated 13 (a copy), part of allocated 2.
	 */
	range[0] = 12 * 8;
	range[1] = 8;
	range[2] = 13 * 8 + 2;
	range[3] = 3;
	range[4] = 17;
	range[5] = 2;
	CHECK_EQ(disk_discard(&d1, range, 3), XENO_VIRTIO_BLK_S_OK);
	memset(m1 + 12 * CL, 0, CL);
	memset(m1 + (13 * 8 + 2) * SEC, 0, 3 * SEC);
	memset(m1 + 17 * SEC, 0, 2 * SEC);
	CHECK_EQ(d1.bd_stats.sb_cow_copies, 2);
	CHECK_EQ(d1.bd_stats.sb_discards, 1);
	cow_check(&d1, m1);
	CHECK_EQ(disk_flush(&d1), XENO_VIRTIO_BLK_S_OK);
	blk_close(&d1);
	must_open(&d1, "id=c1,base=%s,overlay=%s", path("base"),
	    path("o1.cow"));
	cow_check(&d1, m1);
	blk_close(&d1);

	/* Read-only over an overlay; a base alone. */
	must_open(&d3, "id=c3,base=%s,overlay=%s,ro", path("base"),
	    path("o1.cow"));
	CHECK_EQ(d3.bd_stats.sb_flags, XENO_STATS_BLK_RO | XENO_STATS_BLK_COW);
	cow_check(&d3, m1);
	CHECK_EQ(io(&d3, XENO_VIRTIO_BLK_T_OUT, 0, w, 512, NULL),
	    XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(d3.bd_stats.sb_err_ro, 1);
	blk_close(&d3);
	must_open(&d3, "id=c3,base=%s", path("base"));
	CHECK_EQ(d3.bd_stats.sb_flags, XENO_STATS_BLK_RO);
	CHECK_EQ(d3.bd_stats.sb_nr_extents, 1);
	CHECK_EQ(d3.bd_capacity, CB_SECT);
	cow_check(&d3, base);
	CHECK_EQ(io(&d3, XENO_VIRTIO_BLK_T_OUT, 0, w, 512, NULL),
	    XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(disk_discard(&d3, range, 1), XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(d3.bd_stats.sb_err_ro, 2);
	blk_close(&d3);
	b = slurp("base", &size);
	CHECK(size == bsize && memcmp(b, base, bsize) == 0);
	free(b);

	/* The base shrinks under a device: reads of it fail, cleanly. */
	blk_close(&d2);
	mkfile("base2", CB_BYTES, 3);
	must_open(&d2, "id=c2,base=%s,overlay=%s", path("base2"),
	    path("o3.cow"));
	CHECK_EQ(truncate(path("base2"), CL), 0);
	CHECK_EQ(io(&d2, XENO_VIRTIO_BLK_T_IN, 16, w, 512, NULL),
	    XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(io(&d2, XENO_VIRTIO_BLK_T_OUT, 17, w, 512, NULL),
	    XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(d2.bd_stats.sb_err_io, 2);
	blk_close(&d2);
	free(base);
}

/*
 * A fresh overlay ends where its data area starts: a cluster discarded
 * there is punched past the end of the file (KEEP_SIZE), and must still
 * read back as zeros, not as the base nor as an error, before and after
 * a reopen.
 */
static void
test_cow_discard_past_eof(void)
{
	static uint8_t m[CB_BYTES];
	struct blk_dev bd;
	uint64_t range[4] = { 3 * 8, 16, 129, 1 }, size;
	uint8_t *o;

	mkfile("dbase", CB_BYTES, 5);
	o = slurp("dbase", &size);
	memcpy(m, o, CB_BYTES);
	free(o);
	must_open(&bd, "id=d,base=%s,overlay=%s", path("dbase"),
	    path("d.cow"));
	CHECK_EQ(disk_discard(&bd, range, 2), XENO_VIRTIO_BLK_S_OK);
	memset(m + 3 * CL, 0, 2 * CL);
	memset(m + 129 * SEC, 0, SEC);
	cow_check(&bd, m);
	CHECK_EQ(bd.bd_stats.sb_cow_copies, 1);	/* the short last one */
	o = slurp("d.cow", &size);
	CHECK(size <= 8192 + 17 * CL);
	free(o);
	CHECK_EQ(disk_flush(&bd), XENO_VIRTIO_BLK_S_OK);
	blk_close(&bd);
	must_open(&bd, "id=d,base=%s,overlay=%s", path("dbase"),
	    path("d.cow"));
	cow_check(&bd, m);
	blk_close(&bd);
}

/* Overlays that do not fit their base are refused with a reason. */
static void
test_cow_validate(void)
{
	uint8_t *o;
	uint64_t size;
	int fd;

	mkfile("vbase", 8192, 1);
	mkfile("vbase2", 16384, 1);
	{
		struct blk_dev bd;

		must_open(&bd, "id=v,base=%s,overlay=%s", path("vbase"),
		    path("v.cow"));
		blk_close(&bd);
	}
	open_fails("made for a 8192-byte base, but base",
	    "id=v,base=%s,overlay=%s", path("vbase2"), path("v.cow"));
	o = slurp("v.cow", &size);
	fd = open(path("v.cow"), O_WRONLY);
	CHECK(fd != -1);
	CHECK_EQ(pwrite(fd, "XENOCOW2", 8, 0), 8);
	open_fails("no XENOCOW1 magic", "id=v,base=%s,overlay=%s",
	    path("vbase"), path("v.cow"));
	CHECK_EQ(pwrite(fd, o, 8, 0), 8);
	CHECK_EQ(pwrite(fd, "\2", 1, 8), 1);
	open_fails("format version 2", "id=v,base=%s,overlay=%s",
	    path("vbase"), path("v.cow"));
	CHECK_EQ(pwrite(fd, o + 8, 1, 8), 1);
	CHECK_EQ(pwrite(fd, "\0\x20", 2, 12), 2);
	open_fails("8192-byte clusters", "id=v,base=%s,overlay=%s",
	    path("vbase"), path("v.cow"));
	CHECK_EQ(pwrite(fd, o + 12, 2, 12), 2);
	CHECK_EQ(pwrite(fd, "\1", 1, 40), 1);
	open_fails("inconsistent header", "id=v,base=%s,overlay=%s",
	    path("vbase"), path("v.cow"));
	CHECK_EQ(pwrite(fd, o + 40, 1, 40), 1);
	CHECK_EQ(ftruncate(fd, 100), 0);
	open_fails("too short", "id=v,base=%s,overlay=%s", path("vbase"),
	    path("v.cow"));
	/* Empty (a creation that crashed): made afresh. */
	CHECK_EQ(ftruncate(fd, 0), 0);
	{
		struct blk_dev bd;

		must_open(&bd, "id=v,base=%s,overlay=%s", path("vbase"),
		    path("v.cow"));
		blk_close(&bd);
	}
	close(fd);
	free(o);
	o = slurp("v.cow", &size);
	CHECK_EQ(size, 8192);
	CHECK(memcmp(o, "XENOCOW1", 8) == 0);
	free(o);
}

/*
 * Lease
 */

static void
test_lease(void)
{
	struct blk_dev bd;
	const struct xeno_stats_blk *st = &bd.bd_stats;
	uint64_t until = 1893456000ULL * 1000000000ULL;	/* 2030 */
	uint8_t r[512];
	char id[20];

	mkfile("lease", 4096, 8);
	now = until - 3600ULL * 1000000000ULL;
	must_open(&bd, "id=l,extents=%s:0:4K,lease-until=2030-01-01T00:00:00Z",
	    path("lease"));
	CHECK_EQ(st->sb_lease_start_realtime_ns, now);
	CHECK_EQ(st->sb_lease_expiry_realtime_ns, until);
	CHECK_EQ(st->sb_lease_held_ns, 0);
	CHECK_EQ(st->sb_lease_bytes, 4096);
	CHECK_EQ(blk_lease_update(&bd, now + 10), 0);
	CHECK_EQ(st->sb_lease_held_ns, 10);
	now = until - 1;
	disk_read(&bd, 0, 1, r);
	CHECK_EQ(st->sb_lease_held_ns, 3600ULL * 1000000000ULL - 1);
	CHECK_EQ(st->sb_flags & XENO_STATS_BLK_EXPIRED, 0);

	/* Due: every request fails, whatever it is. */
	now = until;
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_IN, 0, r, 512, NULL),
	    XENO_VIRTIO_BLK_S_IOERR);
	CHECK(st->sb_flags & XENO_STATS_BLK_EXPIRED);
	now = until + 5000;
	CHECK_EQ(disk_flush(&bd), XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_GET_ID, 0, id, 20, NULL),
	    XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_OUT, 0, r, 512, NULL),
	    XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(io(&bd, 99, 0, NULL, 0, NULL), XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(st->sb_err_lease, 5);
	CHECK_EQ(st->sb_errors, 5);
	CHECK_EQ(st->sb_rd_reqs, 1);
	/* Held up to the expiry, not beyond; stays over if the clock steps
	 * back. */
	CHECK_EQ(st->sb_lease_held_ns, 3600ULL * 1000000000ULL);
	CHECK_EQ(blk_lease_update(&bd, until + 1000000), 1);
	CHECK_EQ(st->sb_lease_held_ns, 3600ULL * 1000000000ULL);
	CHECK_EQ(blk_lease_update(&bd, until - 1000), 1);
	blk_close(&bd);

	/* Already over when opened. */
	now = until + 1;
	must_open(&bd, "id=l,extents=%s:0:4K,lease-until=2030-01-01T00:00:00Z",
	    path("lease"));
	CHECK(st->sb_flags & XENO_STATS_BLK_EXPIRED);
	CHECK_EQ(st->sb_lease_held_ns, 0);
	CHECK_EQ(io(&bd, XENO_VIRTIO_BLK_T_IN, 0, r, 512, NULL),
	    XENO_VIRTIO_BLK_S_IOERR);
	CHECK_EQ(st->sb_err_lease, 1);
	blk_close(&bd);

	/* No lease: held keeps growing, nothing expires. */
	now = T0;
	must_open(&bd, "id=l,extents=%s:0:4K", path("lease"));
	CHECK_EQ(blk_lease_update(&bd, T0 + 1000000000ULL * 86400 * 365 * 100),
	    0);
	CHECK_EQ(st->sb_lease_held_ns, 1000000000ULL * 86400 * 365 * 100);
	blk_close(&bd);
}

static void
cleanup(void)
{
	static const char *const names[] = {
		"a", "b", "ro", "shrink", "small", "odd", "odd.cow", "new.cow",
		"x.cow", "base", "base2", "o1.cow", "o2.cow", "o3.cow",
		"vbase", "vbase2", "v.cow", "lease", "dbase", "d.cow",
	};
	unsigned int i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(path(names[i]));
	if (rmdir(dir) == -1)
		fprintf(stderr, "test_blk: rmdir %s: %s\n", dir,
		    strerror(errno));
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/test_blk.XXXXXX",
	    tmp != NULL && *tmp != '\0' && strlen(tmp) < 40 ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "test_blk: mkdtemp %s: %s\n", dir,
		    strerror(errno));
		return 1;
	}
	mem = calloc(1, MEM_SIZE);
	if (mem == NULL)
		return 1;
	drv_init();
	test_parse();
	test_extents();
	test_ro();
	test_io_error();
	test_open_errors();
	test_cow();
	test_cow_discard_past_eof();
	test_cow_validate();
	test_lease();
	cleanup();
	free(mem);
	return t_done("test_blk");
}
