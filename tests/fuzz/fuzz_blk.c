/*
 * libFuzzer driver: the VBD backend (virtio/blk.c) behind the virtqueue
 * engine, against a hostile guest that wrote its rings, descriptors,
 * headers and buffers as it pleased; and blk_parse on arbitrary specs.
 *
 * Guest memory is FUZZ_MEM bytes, exactly that big so ASan sees any
 * access past its end; the system area [0, FUZZ_LO) is poisoned.  The
 * rings sit back to back from FUZZ_LO.  Input:
 *
 *	u8  mode	bit 7: the rest is a --vbd spec for blk_parse, and
 *			nothing else happens.  Else bits 0-1 pick the device:
 *			0 two extents read-write, with a lease; 1 a CoW
 *			overlay (fresh) on a base; 2 the base alone
 *			(read-only); 3 two extents read-only.  Bit 2:
 *			event_idx; bit 3: close and reopen the device after
 *			the second request (the CoW overlay must validate and
 *			keep its data)
 *	u8  size	queue size 1 << (size % 8): 1..128
 *	u8  count	buffers the guest says are available
 *	u8  when	the realtime clock: device 0's lease ends at 192
 *	...		guest memory from FUZZ_LO on (rest zero)
 *
 * Each input starts from the same files (rewritten), so it replays alone.
 * Invariants beyond "no sanitizer report", for every request:
 *  - no byte of guest memory outside the request's writable segments
 *    changes; the used length is 0 (no writable byte: err_bad) or at most
 *    the writable bytes, and 1 for any status but OK;
 *  - the status byte is OK, IOERR or UNSUPP;
 *  - exactly one counter moves per request: a request counter (reads,
 *    writes, flushes, discards, get-ids) or sb_errors, and sb_errors is
 *    the sum of the reasons;
 *  - the disk behaves like a byte array: a model of its contents follows
 *    every successful OUT and DISCARD, and a successful IN (into buffers
 *    that do not overlap) returns exactly the model's bytes; the same
 *    across the reopen;
 *  - the base image never changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "xeno/pv.h"
#include "virtio/blk.h"
#include "virtio/virtq.h"

#define FUZZ_MEM	0x10000ULL
#define FUZZ_LO		0x1000ULL
#define FUZZ_HDR	4
#define FUZZ_SPEC_MAX	1024

/* The files: sizes, and each device's disk size. */
#define FZ_A_BYTES	16384
#define FZ_B_BYTES	8192
#define FZ_BASE_BYTES	(5 * 4096 + 1536)	/* a short last cluster */
#define FZ_DISK_MAX	FZ_BASE_BYTES

/* lease-until=2030-01-01T00:00:00Z */
#define FZ_LEASE_NS	(1893456000ULL * 1000000000ULL)
#define FZ_NOW(when)	(FZ_LEASE_NS - 192ULL * 1000000000ULL + \
			    (uint64_t)(when) * 1000000000ULL)

static uint8_t *fuzz_mem, *fuzz_snap, *fuzz_mask;
static char fz_dir[128];
static char fz_a[160], fz_b[160], fz_base[160], fz_ovl[160];
static uint8_t fz_a0[FZ_A_BYTES], fz_b0[FZ_B_BYTES], fz_base0[FZ_BASE_BYTES];
static uint8_t fz_model[FZ_DISK_MAX];

static void
fz_cleanup(void)
{
	unlink(fz_a);
	unlink(fz_b);
	unlink(fz_base);
	unlink(fz_ovl);
	rmdir(fz_dir);
}

static void
fz_fill(uint8_t *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + seed * 71 + (i >> 9) + 1);
}

static void
fz_write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, p, n) != (ssize_t)n) {
		fprintf(stderr, "fuzz_blk: %s: %s\n", path, strerror(errno));
		abort();
	}
	close(fd);
}

static void
fz_setup(void)
{
	const char *tmp = getenv("TMPDIR");

	/* tmpfs if there is one: fdatasync there costs nothing. */
	if (access("/dev/shm", W_OK) == 0)
		tmp = "/dev/shm";
	else if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 80)
		tmp = "/tmp";
	snprintf(fz_dir, sizeof(fz_dir), "%s/fuzz_blk.XXXXXX", tmp);
	if (mkdtemp(fz_dir) == NULL) {
		fprintf(stderr, "fuzz_blk: mkdtemp: %s\n", strerror(errno));
		abort();
	}
	snprintf(fz_a, sizeof(fz_a), "%s/a", fz_dir);
	snprintf(fz_b, sizeof(fz_b), "%s/b", fz_dir);
	snprintf(fz_base, sizeof(fz_base), "%s/base", fz_dir);
	snprintf(fz_ovl, sizeof(fz_ovl), "%s/ovl", fz_dir);
	atexit(fz_cleanup);
	fz_fill(fz_a0, sizeof(fz_a0), 1);
	fz_fill(fz_b0, sizeof(fz_b0), 2);
	fz_fill(fz_base0, sizeof(fz_base0), 3);
	fz_write_file(fz_base, fz_base0, sizeof(fz_base0));

	fuzz_mem = malloc(FUZZ_MEM);
	fuzz_snap = malloc(FUZZ_MEM);
	fuzz_mask = malloc(FUZZ_MEM);
	if (fuzz_mem == NULL || fuzz_snap == NULL || fuzz_mask == NULL)
		abort();
#ifdef FUZZ_ASAN
	ASAN_POISON_MEMORY_REGION(fuzz_mem, FUZZ_LO);
#endif
}

/* The device's spec, its files reset, and the model of its disk. */
static void
fz_spec(unsigned int dev, char *spec, size_t n)
{
	switch (dev) {
	case 0:
		fz_write_file(fz_a, fz_a0, sizeof(fz_a0));
		fz_write_file(fz_b, fz_b0, sizeof(fz_b0));
		snprintf(spec, n, "id=fz0,extents=%s:4K:8K+%s:512:4K,"
		    "lease-until=2030-01-01T00:00:00Z", fz_a, fz_b);
		memcpy(fz_model, fz_a0 + 4096, 8192);
		memcpy(fz_model + 8192, fz_b0 + 512, 4096);
		break;
	case 1:
		unlink(fz_ovl);
		snprintf(spec, n, "id=fz1,base=%s,overlay=%s", fz_base,
		    fz_ovl);
		memcpy(fz_model, fz_base0, sizeof(fz_base0));
		break;
	case 2:
		snprintf(spec, n, "id=fuzz-base-alone-20,base=%s", fz_base);
		memcpy(fz_model, fz_base0, sizeof(fz_base0));
		break;
	default:
		fz_write_file(fz_a, fz_a0, sizeof(fz_a0));
		fz_write_file(fz_b, fz_b0, sizeof(fz_b0));
		snprintf(spec, n, "id=fz3,extents=%s:0:2K+%s:7K:1K,ro", fz_a,
		    fz_b);
		memcpy(fz_model, fz_a0, 2048);
		memcpy(fz_model + 2048, fz_b0 + 7168, 1024);
		break;
	}
}

static void
fz_open(struct blk_dev *bd, const char *spec, uint64_t now)
{
	struct blk_config bc;
	char err[256];

	if (blk_parse(spec, &bc, err, sizeof(err)) == -1 ||
	    blk_open(bd, &bc, now, err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz_blk: %s: %s\n", spec, err);
		CHECK(!"device does not open");
	}
}

static uint64_t
fz_errsum(const struct xeno_stats_blk *st)
{
	return st->sb_err_ro + st->sb_err_range + st->sb_err_bad +
	    st->sb_err_unsupp + st->sb_err_io + st->sb_err_lease;
}

static uint64_t
fz_served(const struct xeno_stats_blk *st)
{
	return st->sb_rd_reqs + st->sb_wr_reqs + st->sb_flushes +
	    st->sb_discards + st->sb_get_ids + st->sb_errors;
}

/* Bytes [skip, skip + n) of segments [first, first + count), from mem. */
static void
fz_gather(const uint8_t *mem, const struct vq_req *req, unsigned int first,
    unsigned int count, uint64_t skip, uint8_t *out, uint64_t n)
{
	unsigned int i;
	uint64_t off, t;
	const uint8_t *p;

	for (i = first; i < first + count && n > 0; i++) {
		const struct vq_seg *s = &req->vr_seg[i];

		if (skip >= s->vs_len) {
			skip -= s->vs_len;
			continue;
		}
		off = (uint64_t)((const uint8_t *)s->vs_base - fuzz_mem);
		p = mem + off + skip;
		t = s->vs_len - skip;
		if (t > n)
			t = n;
		memcpy(out, p, t);
		out += t;
		n -= t;
		skip = 0;
	}
	CHECK(n == 0);
}

/* Do any two writable segments share a byte? */
static int
fz_writable_overlap(const struct vq_req *req, unsigned int nr)
{
	unsigned int i, j;

	for (i = nr; i < req->vr_nseg; i++)
		for (j = i + 1; j < req->vr_nseg; j++) {
			const uint8_t *a = req->vr_seg[i].vs_base;
			const uint8_t *b = req->vr_seg[j].vs_base;

			if (a < b + req->vr_seg[j].vs_len &&
			    b < a + req->vr_seg[i].vs_len)
				return 1;
		}
	return 0;
}

static void
fz_request(struct blk_dev *bd, const struct vq_req *req, uint64_t now)
{
	static uint8_t data[1ULL << 17];
	struct xeno_stats_blk before = bd->bd_stats;
	const struct xeno_stats_blk *st = &bd->bd_stats;
	struct xeno_virtio_blk_req hdr;
	struct xeno_virtio_blk_discard dsc[XENO_VIRTIO_BLK_MAX_DISCARD_SEG];
	const struct vq_seg *last;
	uint64_t i, off, rlen = req->vr_out_len, wlen = req->vr_in_len;
	uint64_t cap = bd->bd_capacity * 512, dlen;
	unsigned int nr, k;
	uint32_t used;
	uint8_t status = 0xff;

	for (nr = 0; nr < req->vr_nseg && !req->vr_seg[nr].vs_write; nr++)
		;
	/* [0, FUZZ_LO) is poisoned: no segment can be there anyway. */
	memcpy(fuzz_snap + FUZZ_LO, fuzz_mem + FUZZ_LO, FUZZ_MEM - FUZZ_LO);
	memset(fuzz_mask, 0, FUZZ_MEM);
	for (k = nr; k < req->vr_nseg; k++) {
		off = (uint64_t)((uint8_t *)req->vr_seg[k].vs_base - fuzz_mem);
		memset(fuzz_mask + off, 1, req->vr_seg[k].vs_len);
	}

	used = blk_request(bd, req, now);

	/* Nothing outside the writable segments changed. */
	if (memcmp(fuzz_snap + FUZZ_LO, fuzz_mem + FUZZ_LO,
	    FUZZ_MEM - FUZZ_LO) != 0)
		for (i = FUZZ_LO; i < FUZZ_MEM; i++)
			CHECK(fuzz_mask[i] || fuzz_snap[i] == fuzz_mem[i]);
	CHECK(used <= wlen);
	CHECK(fz_served(st) == fz_served(&before) + 1);
	CHECK(st->sb_errors == fz_errsum(st));
	if (wlen == 0) {
		CHECK(used == 0);
		CHECK(st->sb_err_bad == before.sb_err_bad + 1);
		return;
	}
	CHECK(used >= 1);
	last = &req->vr_seg[req->vr_nseg - 1];
	status = ((uint8_t *)last->vs_base)[last->vs_len - 1];
	CHECK(status == XENO_VIRTIO_BLK_S_OK ||
	    status == XENO_VIRTIO_BLK_S_IOERR ||
	    status == XENO_VIRTIO_BLK_S_UNSUPP);
	CHECK((status != XENO_VIRTIO_BLK_S_OK) ==
	    (st->sb_errors == before.sb_errors + 1));
	if (status != XENO_VIRTIO_BLK_S_OK) {
		CHECK(used == 1);
		return;
	}

	/* It succeeded: what it did must agree with the model. */
	CHECK(rlen >= sizeof(hdr));
	fz_gather(fuzz_snap, req, 0, nr, 0, (uint8_t *)&hdr, sizeof(hdr));
	dlen = wlen - 1;
	switch (hdr.type) {
	case XENO_VIRTIO_BLK_T_IN:
		CHECK(used == wlen);
		CHECK(dlen % 512 == 0 && hdr.sector <= cap / 512 &&
		    dlen <= cap - hdr.sector * 512);
		if (dlen > 0 && !fz_writable_overlap(req, nr)) {
			fz_gather(fuzz_mem, req, nr, req->vr_nseg - nr, 0,
			    data, dlen);
			CHECK(memcmp(data, fz_model + hdr.sector * 512,
			    dlen) == 0);
		}
		break;
	case XENO_VIRTIO_BLK_T_OUT:
		CHECK(used == 1 && !bd->bd_ro);
		dlen = rlen - sizeof(hdr);
		CHECK(dlen % 512 == 0 && hdr.sector <= cap / 512 &&
		    dlen <= cap - hdr.sector * 512);
		fz_gather(fuzz_snap, req, 0, nr, sizeof(hdr),
		    fz_model + hdr.sector * 512, dlen);
		break;
	case XENO_VIRTIO_BLK_T_DISCARD:
		CHECK(used == 1 && !bd->bd_ro);
		dlen = rlen - sizeof(hdr);
		CHECK(dlen >= sizeof(dsc[0]) && dlen <= sizeof(dsc) &&
		    dlen % sizeof(dsc[0]) == 0);
		fz_gather(fuzz_snap, req, 0, nr, sizeof(hdr),
		    (uint8_t *)dsc, dlen);
		for (k = 0; k < dlen / sizeof(dsc[0]); k++) {
			CHECK(dsc[k].flags == 0);
			CHECK(dsc[k].sector <= cap / 512 &&
			    dsc[k].num_sectors <= cap / 512 - dsc[k].sector);
			memset(fz_model + dsc[k].sector * 512, 0,
			    (size_t)dsc[k].num_sectors * 512);
		}
		break;
	case XENO_VIRTIO_BLK_T_GET_ID:
		if (dlen > BLK_ID_MAX)
			dlen = BLK_ID_MAX;
		CHECK(used == dlen + 1);
		if (!fz_writable_overlap(req, nr)) {
			char id[BLK_ID_MAX];

			memset(id, 0, sizeof(id));
			memcpy(id, bd->bd_cfg.bc_id, strlen(bd->bd_cfg.bc_id));
			fz_gather(fuzz_mem, req, nr, req->vr_nseg - nr, 0,
			    data, dlen);
			CHECK(memcmp(data, id, dlen) == 0);
		}
		break;
	case XENO_VIRTIO_BLK_T_FLUSH:
		CHECK(used == 1);
		break;
	default:
		CHECK(!"an unknown type succeeded");
	}
}

static void
fz_parse(const uint8_t *data, size_t size)
{
	struct blk_config bc;
	char spec[FUZZ_SPEC_MAX + 1], err[256];
	int i;
	size_t j;

	if (size > FUZZ_SPEC_MAX)
		size = FUZZ_SPEC_MAX;
	memcpy(spec, data, size);
	spec[size] = '\0';
	err[0] = '\0';
	if (blk_parse(spec, &bc, err, sizeof(err)) == -1) {
		CHECK(err[0] != '\0');
		CHECK(bc.bc_nextents == 0 && bc.bc_base == NULL &&
		    bc.bc_overlay == NULL);
		blk_config_free(&bc);
		return;
	}
	CHECK(strlen(bc.bc_id) >= 1 && strlen(bc.bc_id) <= BLK_ID_MAX);
	for (j = 0; bc.bc_id[j] != '\0'; j++)
		CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789._-", bc.bc_id[j]) != NULL);
	CHECK((bc.bc_nextents > 0) != (bc.bc_base != NULL));
	CHECK(bc.bc_nextents <= BLK_MAX_EXTENTS);
	CHECK(bc.bc_overlay == NULL || bc.bc_base != NULL);
	CHECK(bc.bc_base == NULL || bc.bc_overlay != NULL || bc.bc_ro);
	for (i = 0; i < bc.bc_nextents; i++) {
		const struct blk_extent *be = &bc.bc_extent[i];

		CHECK(be->be_path != NULL && be->be_path[0] != '\0');
		CHECK(be->be_len != 0 && be->be_len % 512 == 0 &&
		    be->be_off % 512 == 0 && be->be_fd == -1);
		CHECK(be->be_off + be->be_len >= be->be_off);
	}
	blk_config_free(&bc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blk_dev bd;
	struct vq_mem mem;
	struct virtq vq;
	struct vq_req req;
	char spec[512];
	unsigned int qsize, dev, it, bound;
	uint64_t desc, avail, used, now;
	int ev, rc;

	if (size < 1)
		return 0;
	if (fuzz_mem == NULL)
		fz_setup();
	if (data[0] & 0x80) {
		fz_parse(data + 1, size - 1);
		return 0;
	}
	if (size < FUZZ_HDR)
		return 0;
	dev = data[0] & 3;
	ev = (data[0] >> 2) & 1;
	qsize = 1U << (data[1] % 8);
	now = FZ_NOW(data[3]);

	memset(fuzz_mem + FUZZ_LO, 0, FUZZ_MEM - FUZZ_LO);
	if (size - FUZZ_HDR > FUZZ_MEM - FUZZ_LO)
		size = FUZZ_HDR + FUZZ_MEM - FUZZ_LO;
	memcpy(fuzz_mem + FUZZ_LO, data + FUZZ_HDR, size - FUZZ_HDR);

	desc = FUZZ_LO;
	avail = desc + VQ_DESC_BYTES(qsize);
	used = (avail + VQ_AVAIL_BYTES(qsize, ev) + 3) & ~3ULL;
	mem.vm_base = fuzz_mem;
	mem.vm_lo = FUZZ_LO;
	mem.vm_hi = FUZZ_MEM;
	rc = vq_init(&vq, &mem, qsize, desc, avail, used, ev);
	CHECK(rc == 0);
	vq.vq_avail->va_idx = data[2];

	fz_spec(dev, spec, sizeof(spec));
	fz_open(&bd, spec, FZ_NOW(0));
	bound = 4 * qsize + 8;
	for (it = 0; it < bound; it++) {
		rc = vq_pop(&vq, &req);
		if (rc == 0 || (rc == -1 && errno == EIO))
			break;
		if (rc == -1)
			continue;
		fz_request(&bd, &req, now);
		vq_push(&vq, req.vr_head, 0);
		if (it == 1 && (data[0] & 8)) {
			blk_close(&bd);
			fz_open(&bd, spec, FZ_NOW(0));
		}
	}
	blk_close(&bd);

	/* The base is opened read-only; check anyway, it is what matters. */
	if (dev == 1 || dev == 2) {
		static uint8_t now_base[FZ_BASE_BYTES];
		int fd = open(fz_base, O_RDONLY);

		CHECK(fd != -1);
		CHECK(pread(fd, now_base, sizeof(now_base), 0) ==
		    (ssize_t)sizeof(now_base));
		close(fd);
		CHECK(memcmp(now_base, fz_base0, sizeof(now_base)) == 0);
	}
	return 0;
}
