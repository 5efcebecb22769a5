/*
 * blkbench: block-device tests and benchmarks for VBDs.  Every run first
 * prints what it opened:
 *
 *	blkbench: dev=ID index=I capacity=SECTORS ro=0|1 ring=R depth=D
 *
 * then does mode= (default write-verify):
 *
 * write-verify	writes bytes= (default 1M) at offset= (sectors, default 0)
 *		with the pattern of seed= (default 1), flushes, reads it
 *		back and compares:
 *		    blkbench: sha256=HEX bytes=N	(of the data written)
 *		    blkbench: verify ok | blkbench: verify FAILED at byte X
 *		The pattern: 64-bit little-endian word k of the region is
 *		splitmix64 output k for the seed, i.e. mix(seed + (k + 1) *
 *		0x9e3779b97f4a7c15) (xeno.h), so a script can recompute it.
 * read-sha	reads bytes= at offset= and prints blkbench: sha256=HEX bytes=N
 * write-ro	one write at offset=, expecting IOERR (a read-only VBD):
 *		    blkbench: write status=N	(exit 0 if N is 1, IOERR)
 * flush	one write at offset= then a flush:
 *		    blkbench: write status=N
 *		    blkbench: flush status=N
 * get-id	blkbench: id=ID status=N
 * discard	discards bytes= at offset= and reads them back as zeros:
 *		    blkbench: discard status=N
 *		    blkbench: discard verify ok | FAILED
 * seq-read seq-write rand-read rand-write
 *		bs= (default 4096) requests, qd= (default 32) in flight,
 *		for seconds= (default 2), over the region from offset= of
 *		bytes= (default: to the end of the device):
 *		    blkbench: mode=M bs=B ops=N bytes=T seconds=S.sss iops=I
 *		    mbps=M.m doorbells=D		(one line; mbps is 10^6 B/s)
 * lease	4 KiB read+write pairs at offset= every interval_ms= (default
 *		10) until requests fail, for at most seconds= (default 10):
 *		    blkbench: lease ok_ops=N first_error_ms=T
 *		(exit 0), or blkbench: lease ok_ops=N no error in S s (exit 1)
 *
 * Other arguments: dev=ID (the VBD id; default the first block device),
 * ring=N (ring entries, default: enough for qd), poll=1 (never sleep
 * waiting for completions; by default it spins briefly, then yields).
 * Byte counts take K, M, G suffixes.  Exit 0 on success, 1 on a failed
 * check or request, and an abort with a message for bad arguments.
 */
#include <xeno.h>
#include <xeno_dev.h>

#define NS_PER_SEC		1000000000UL
#define NS_PER_MS		1000000UL
#define BLK_STREAM_CHUNK	(64 << 10)
#define BLK_QD_DEFAULT		32
#define BLK_BS_DEFAULT		4096
#define BLK_VERIFY_BYTES	(1 << 20)
#define BLK_SECONDS_DEFAULT	(2 * NS_PER_SEC)
#define BLK_LEASE_SECONDS	(10 * NS_PER_SEC)
#define BLK_LEASE_INTERVAL_MS	10
#define BLK_LEASE_IO		4096
/* Spin this long for completions before sleeping in a yield. */
#define BLK_SPIN_NS		20000ULL

static struct xeno_blk	bb_dev;
static int		bb_poll;
/* What a chunk read back should hold. */
static uint8_t		bb_want[BLK_STREAM_CHUNK];

static void *
bb_alloc(size_t n)
{
	void *p;

	if ((p = aligned_alloc(XENO_PV_PAGE_SIZE, n)) == NULL)
		xeno_abort("blkbench: out of memory for %zu bytes of buffers: "
		    "give the domain more --mem, or lower qd= or bs=", n);
	return p;
}

/* Waits for completions: spins for BLK_SPIN_NS, then sleeps (poll=0). */
static void
bb_wait(uint64_t since)
{
	if (bb_poll || xeno_mono_ns() - since < BLK_SPIN_NS)
		xeno_pause();
	else if (xeno_blk_wait(&bb_dev, UINT64_MAX) < 0)
		xeno_abort("blkbench: the domain is shutting down");
}

/* The byte range [offset sectors, + bytes) of the device, checked. */
static void
bb_region(uint64_t offset, uint64_t bytes, uint64_t align)
{
	uint64_t cap = bb_dev.bd_capacity * XENO_BLK_SECTOR;

	if (bytes == 0 || bytes % align != 0)
		xeno_abort("blkbench: bytes=%lu must be a positive multiple "
		    "of %lu", bytes, align);
	if (offset > cap / XENO_BLK_SECTOR ||
	    bytes > cap - offset * XENO_BLK_SECTOR)
		xeno_abort("blkbench: offset=%lu (sectors) + bytes=%lu runs "
		    "past the end of the device (%lu sectors)", offset, bytes,
		    bb_dev.bd_capacity);
}

/*
 * Streams a region through the device in order: chunk k goes through
 * buffer k % qd; fill(k) before it is written, done(k) after it is read,
 * both in chunk order whatever order the device completes in.
 */
struct bb_stream {
	uint32_t	 bs_type;
	uint64_t	 bs_sector;	/* first */
	uint64_t	 bs_bytes;
	uint32_t	 bs_chunk;
	uint32_t	 bs_qd;
	void		(*bs_fill)(struct bb_stream *, uint64_t, uint8_t *,
			    uint32_t);
	int		(*bs_done)(struct bb_stream *, uint64_t, uint8_t *,
			    uint32_t);
	uint64_t	 bs_seed;
	struct xeno_sha256 bs_sha;
	uint64_t	 bs_bad;	/* first bad byte, or UINT64_MAX */
};

static int
bb_stream_run(struct bb_stream *st)
{
	uint64_t nchunks = (st->bs_bytes + st->bs_chunk - 1) / st->bs_chunk;
	uint64_t next = 0, head = 0, k, since;
	uint8_t *buf = bb_alloc((size_t)st->bs_qd * st->bs_chunk), *b;
	int8_t *status = calloc(st->bs_qd, 1);
	uint32_t len;
	void *cookie;
	int s, rc = 0;

	if (status == NULL)
		xeno_abort("blkbench: out of memory");
	since = xeno_mono_ns();
	while (head < nchunks) {
		while (next < nchunks && next - head < st->bs_qd) {
			b = buf + (size_t)(next % st->bs_qd) * st->bs_chunk;
			len = next + 1 < nchunks ? st->bs_chunk :
			    (uint32_t)(st->bs_bytes - next * st->bs_chunk);
			if (st->bs_fill != NULL)
				st->bs_fill(st, next, b, len);
			status[next % st->bs_qd] = 0;
			/* Cannot be full: qd is at most the queue depth. */
			if ((s = xeno_blk_submit(&bb_dev, st->bs_type,
			    st->bs_sector + next * (st->bs_chunk /
			    XENO_BLK_SECTOR), b, len,
			    (void *)(uintptr_t)next)) < 0)
				xeno_abort("blkbench: cannot queue a request "
				    "(error %d)", s);
			next++;
		}
		xeno_blk_kick(&bb_dev);
		while (xeno_blk_poll(&bb_dev, &cookie, &s)) {
			k = (uintptr_t)cookie;
			/* 1: done OK; -1: failed. */
			status[k % st->bs_qd] =
			    s == XENO_VIRTIO_BLK_S_OK ? 1 : -1;
			if (s != XENO_VIRTIO_BLK_S_OK) {
				xeno_printf("blkbench: request at sector %lu "
				    "failed with status %d\n", st->bs_sector +
				    k * (st->bs_chunk / XENO_BLK_SECTOR), s);
				rc = -1;
			}
			since = xeno_mono_ns();
		}
		if (status[head % st->bs_qd] == 0) {
			bb_wait(since);
			continue;
		}
		for (; head < next && status[head % st->bs_qd] != 0; head++) {
			b = buf + (size_t)(head % st->bs_qd) * st->bs_chunk;
			len = head + 1 < nchunks ? st->bs_chunk :
			    (uint32_t)(st->bs_bytes - head * st->bs_chunk);
			if (status[head % st->bs_qd] > 0 &&
			    st->bs_done != NULL &&
			    st->bs_done(st, head, b, len) < 0)
				rc = -1;
			status[head % st->bs_qd] = 0;
		}
	}
	free(status);
	free(buf);
	return rc;
}

static void
bb_fill_pattern(struct bb_stream *st, uint64_t k, uint8_t *b, uint32_t len)
{
	xeno_rand_pattern(st->bs_seed, k * st->bs_chunk / 8, b, len);
	xeno_sha256_update(&st->bs_sha, b, len);
}

/* Compares a chunk read with bb_want; notes the first bad byte. */
static int
bb_compare(struct bb_stream *st, uint64_t k, const uint8_t *b, uint32_t len)
{
	uint32_t i;

	if (memcmp(bb_want, b, len) == 0)
		return 0;
	for (i = 0; i < len && bb_want[i] == b[i]; i++)
		;
	if (st->bs_bad == UINT64_MAX)
		st->bs_bad = k * st->bs_chunk + i;
	return -1;
}

static int
bb_check_pattern(struct bb_stream *st, uint64_t k, uint8_t *b, uint32_t len)
{
	xeno_rand_pattern(st->bs_seed, k * st->bs_chunk / 8, bb_want, len);
	return bb_compare(st, k, b, len);
}

/* bb_want stays zero for a discard check (nothing else runs then). */
static int
bb_check_zero(struct bb_stream *st, uint64_t k, uint8_t *b, uint32_t len)
{
	return bb_compare(st, k, b, len);
}

static int
bb_hash(struct bb_stream *st, uint64_t k, uint8_t *b, uint32_t len)
{
	(void)k;
	xeno_sha256_update(&st->bs_sha, b, len);
	return 0;
}

static void
bb_print_sha(struct bb_stream *st)
{
	uint8_t digest[XENO_SHA256_LEN];
	char hex[XENO_SHA256_HEX_LEN];

	xeno_sha256_final(&st->bs_sha, digest);
	xeno_sha256_hex(digest, hex);
	xeno_printf("blkbench: sha256=%s bytes=%lu\n", hex, st->bs_bytes);
}

static int
bb_write_verify(uint64_t offset, uint64_t bytes, uint32_t qd)
{
	struct bb_stream st = {
		.bs_type = XENO_VIRTIO_BLK_T_OUT,
		.bs_sector = offset,
		.bs_bytes = bytes,
		.bs_chunk = BLK_STREAM_CHUNK,
		.bs_qd = qd,
		.bs_fill = bb_fill_pattern,
		.bs_seed = xeno_arg_u64("seed", 1),
		.bs_bad = UINT64_MAX,
	};
	int s;

	bb_region(offset, bytes, XENO_BLK_SECTOR);
	xeno_sha256_init(&st.bs_sha);
	if (bb_stream_run(&st) < 0) {
		xeno_printf("blkbench: write failed\n");
		return 1;
	}
	bb_print_sha(&st);
	if ((s = xeno_blk_io(&bb_dev, XENO_VIRTIO_BLK_T_FLUSH, 0, NULL, 0)) !=
	    XENO_VIRTIO_BLK_S_OK) {
		xeno_printf("blkbench: flush status=%d\n", s);
		return 1;
	}
	st.bs_type = XENO_VIRTIO_BLK_T_IN;
	st.bs_fill = NULL;
	st.bs_done = bb_check_pattern;
	if (bb_stream_run(&st) < 0) {
		if (st.bs_bad != UINT64_MAX)
			xeno_printf("blkbench: verify FAILED at byte %lu\n",
			    st.bs_bad);
		else
			xeno_printf("blkbench: verify FAILED: read error\n");
		return 1;
	}
	xeno_printf("blkbench: verify ok\n");
	return 0;
}

static int
bb_read_sha(uint64_t offset, uint64_t bytes, uint32_t qd)
{
	struct bb_stream st = {
		.bs_type = XENO_VIRTIO_BLK_T_IN,
		.bs_sector = offset,
		.bs_bytes = bytes,
		.bs_chunk = BLK_STREAM_CHUNK,
		.bs_qd = qd,
		.bs_done = bb_hash,
		.bs_bad = UINT64_MAX,
	};

	bb_region(offset, bytes, XENO_BLK_SECTOR);
	xeno_sha256_init(&st.bs_sha);
	if (bb_stream_run(&st) < 0)
		return 1;
	bb_print_sha(&st);
	return 0;
}

/* One sector of pattern at offset; the status of the write. */
static int
bb_write_one(uint64_t offset)
{
	uint8_t *b = bb_alloc(XENO_BLK_SECTOR);
	int s;

	bb_region(offset, XENO_BLK_SECTOR, XENO_BLK_SECTOR);
	xeno_rand_pattern(xeno_arg_u64("seed", 1), 0, b, XENO_BLK_SECTOR);
	s = xeno_blk_io(&bb_dev, XENO_VIRTIO_BLK_T_OUT, offset, b,
	    XENO_BLK_SECTOR);
	free(b);
	xeno_printf("blkbench: write status=%d\n", s);
	return s;
}

static int
bb_write_ro(uint64_t offset)
{
	return bb_write_one(offset) == XENO_VIRTIO_BLK_S_IOERR ? 0 : 1;
}

static int
bb_flush(uint64_t offset)
{
	int w = bb_write_one(offset), f;

	f = xeno_blk_io(&bb_dev, XENO_VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
	xeno_printf("blkbench: flush status=%d\n", f);
	return w == XENO_VIRTIO_BLK_S_OK && f == XENO_VIRTIO_BLK_S_OK ? 0 : 1;
}

static int
bb_get_id(void)
{
	char *id = bb_alloc(XENO_VIRTIO_BLK_ID_BYTES + 1);
	int s, i;

	memset(id, 0, XENO_VIRTIO_BLK_ID_BYTES + 1);
	s = xeno_blk_io(&bb_dev, XENO_VIRTIO_BLK_T_GET_ID, 0, id,
	    XENO_VIRTIO_BLK_ID_BYTES);
	/* The device's bytes: print only what is printable. */
	for (i = 0; i < XENO_VIRTIO_BLK_ID_BYTES && id[i] != '\0'; i++)
		if (id[i] < 0x21 || id[i] > 0x7e)
			id[i] = '?';
	xeno_printf("blkbench: id=%s status=%d\n", id, s);
	return s == XENO_VIRTIO_BLK_S_OK ? 0 : 1;
}

static int
bb_discard(uint64_t offset, uint64_t bytes)
{
	struct xeno_virtio_blk_discard *seg = bb_alloc(sizeof(*seg));
	struct bb_stream st = {
		.bs_type = XENO_VIRTIO_BLK_T_IN,
		.bs_sector = offset,
		.bs_bytes = bytes,
		.bs_chunk = BLK_STREAM_CHUNK,
		.bs_qd = 1,
		.bs_done = bb_check_zero,
		.bs_bad = UINT64_MAX,
	};
	int s;

	bb_region(offset, bytes, XENO_BLK_SECTOR);
	if (bytes / XENO_BLK_SECTOR > UINT32_MAX)
		xeno_abort("blkbench: bytes=%lu: one discard covers at most "
		    "2^32-1 sectors", bytes);
	*seg = (struct xeno_virtio_blk_discard){
		.sector = offset,
		.num_sectors = (uint32_t)(bytes / XENO_BLK_SECTOR),
	};
	s = xeno_blk_io(&bb_dev, XENO_VIRTIO_BLK_T_DISCARD, 0, seg,
	    sizeof(*seg));
	xeno_printf("blkbench: discard status=%d\n", s);
	if (s != XENO_VIRTIO_BLK_S_OK)
		return 1;
	free(seg);
	memset(bb_want, 0, sizeof(bb_want));
	if (bb_stream_run(&st) < 0) {
		if (st.bs_bad != UINT64_MAX)
			xeno_printf("blkbench: discard verify FAILED at byte "
			    "%lu\n", st.bs_bad);
		else
			xeno_printf("blkbench: discard verify FAILED: read "
			    "error\n");
		return 1;
	}
	xeno_printf("blkbench: discard verify ok\n");
	return 0;
}

static int
bb_perf(const char *mode, uint64_t offset, uint64_t bytes, uint32_t qd)
{
	uint64_t bs = xeno_arg_size("bs", BLK_BS_DEFAULT);
	uint64_t duration = xeno_arg_ns("seconds", BLK_SECONDS_DEFAULT);
	int write = strcmp(mode, "seq-write") == 0 ||
	    strcmp(mode, "rand-write") == 0;
	int rnd = strncmp(mode, "rand-", 5) == 0;
	uint64_t nblocks, seq = 0, ops = 0, t0, now, end, since, ns, sec, ms;
	uint64_t iops, bps, blk, i;
	struct xeno_rand rng;
	uint8_t *buf;
	void *cookie;
	int s, failed = 0;

	if (bs == 0 || bs % XENO_BLK_SECTOR != 0 || bs > UINT32_MAX)
		xeno_abort("blkbench: bs=%lu: a multiple of %d below 4 GiB",
		    bs, XENO_BLK_SECTOR);
	bb_region(offset, bytes, bs);
	nblocks = bytes / bs;
	buf = bb_alloc((size_t)qd * bs);
	/* Written data is a pattern, not zeros, so sparse tricks cannot win. */
	if (write)
		xeno_rand_pattern(xeno_arg_u64("seed", 1), 0, buf, qd * bs);
	xeno_rand_seed(&rng, xeno_arg_u64("seed", 1));

	t0 = since = now = xeno_mono_ns();
	end = t0 + duration;
	for (i = 0; i < qd; i++) {
		blk = rnd ? xeno_rand_below(&rng, nblocks) : seq++ % nblocks;
		if (xeno_blk_submit(&bb_dev, write ? XENO_VIRTIO_BLK_T_OUT :
		    XENO_VIRTIO_BLK_T_IN, offset + blk * (bs / XENO_BLK_SECTOR),
		    buf + i * bs, (uint32_t)bs, (void *)(uintptr_t)i) < 0)
			xeno_abort("blkbench: cannot queue request %lu", i);
	}
	xeno_blk_kick(&bb_dev);
	while (xeno_blk_inflight(&bb_dev) > 0) {
		int got = 0;

		while (xeno_blk_poll(&bb_dev, &cookie, &s)) {
			got = 1;
			if (s != XENO_VIRTIO_BLK_S_OK) {
				if (!failed)
					xeno_printf("blkbench: request failed "
					    "with status %d\n", s);
				failed = 1;
				continue;
			}
			ops++;
			if (now >= end || failed)
				continue;	/* draining */
			i = (uintptr_t)cookie;
			blk = rnd ? xeno_rand_below(&rng, nblocks) :
			    seq++ % nblocks;
			xeno_blk_submit(&bb_dev, write ? XENO_VIRTIO_BLK_T_OUT :
			    XENO_VIRTIO_BLK_T_IN, offset + blk *
			    (bs / XENO_BLK_SECTOR), buf + i * bs, (uint32_t)bs,
			    cookie);
		}
		now = xeno_mono_ns();
		if (got) {
			xeno_blk_kick(&bb_dev);
			since = now;
		} else
			bb_wait(since);
	}
	if ((ns = xeno_mono_ns() - t0) == 0)
		ns = 1;
	sec = ns / NS_PER_SEC;
	ms = ns % NS_PER_SEC / NS_PER_MS;
	iops = (uint64_t)((__uint128_t)ops * NS_PER_SEC / ns);
	/* Tenths of a MB/s. */
	bps = (uint64_t)((__uint128_t)ops * bs * NS_PER_SEC / ns / 100000);
	xeno_printf("blkbench: mode=%s bs=%lu ops=%lu bytes=%lu "
	    "seconds=%lu.%03lu iops=%lu mbps=%lu.%lu doorbells=%lu\n", mode, bs,
	    ops, ops * bs, sec, ms, iops, bps / 10, bps % 10,
	    bb_dev.bd_vq.vq_doorbells);
	free(buf);
	return failed;
}

static int
bb_lease(uint64_t offset)
{
	uint64_t duration = xeno_arg_ns("seconds", BLK_LEASE_SECONDS);
	uint64_t interval = xeno_arg_u64("interval_ms", BLK_LEASE_INTERVAL_MS) *
	    NS_PER_MS;
	uint64_t t0 = xeno_mono_ns(), end = t0 + duration, ok = 0, now;
	uint8_t *b = bb_alloc(BLK_LEASE_IO);
	uint32_t type;
	int s, i;

	bb_region(offset, BLK_LEASE_IO, XENO_BLK_SECTOR);
	xeno_rand_pattern(xeno_arg_u64("seed", 1), 0, b, BLK_LEASE_IO);
	while ((now = xeno_mono_ns()) < end) {
		for (i = 0; i < 2; i++) {
			type = i == 0 ? XENO_VIRTIO_BLK_T_IN :
			    XENO_VIRTIO_BLK_T_OUT;
			s = xeno_blk_io(&bb_dev, type, offset, b, BLK_LEASE_IO);
			if (s != XENO_VIRTIO_BLK_S_OK) {
				xeno_printf("blkbench: lease ok_ops=%lu "
				    "first_error_ms=%lu\n", ok,
				    (xeno_mono_ns() - t0) / NS_PER_MS);
				return 0;
			}
			ok++;
		}
		if (interval > 0)
			xeno_yield(now + interval < end ? now + interval : end,
			    NULL);
	}
	xeno_printf("blkbench: lease ok_ops=%lu no error in %lu s\n", ok,
	    duration / NS_PER_SEC);
	return 1;
}

int
main(int argc, char **argv)
{
	const char *mode = xeno_arg_str("mode"), *dev = xeno_arg_str("dev");
	uint64_t qd = xeno_arg_u64("qd", BLK_QD_DEFAULT);
	uint64_t offset = xeno_arg_u64("offset", 0), ring, bytes;
	struct xeno_hc_device_info info;
	char name[sizeof(info.name) + 1];
	int rc;

	(void)argc;
	(void)argv;
	if (mode == NULL)
		mode = "write-verify";
	if (qd == 0 || qd > XENO_VQ_SIZE_MAX)
		xeno_abort("blkbench: qd=%lu: 1..%d", qd, XENO_VQ_SIZE_MAX);
	bb_poll = xeno_arg_u64("poll", 0) != 0;
	if (xeno_dev_find(XENO_PV_DEV_BLOCK, dev, &info) < 0)
		xeno_abort("blkbench: no block device '%s': run with --vbd, "
		    "and give its id with dev=", dev != NULL ? dev : "(first)");
	/* A ring with room for qd requests, within what the device takes. */
	for (ring = XENO_VQ_SIZE_DEFAULT; ring < qd && ring < XENO_VQ_SIZE_MAX;)
		ring *= 2;
	while (ring > info.queue_max && ring > 1)
		ring /= 2;
	ring = xeno_arg_u64("ring", ring);
	if ((rc = xeno_blk_open(&bb_dev, dev, (uint32_t)ring)) < 0)
		xeno_abort("blkbench: cannot set up block device '%s' (error "
		    "%d): is ring=%lu a power of two within its queue_max %u?",
		    dev != NULL ? dev : "(first)", rc, ring, info.queue_max);
	memcpy(name, bb_dev.bd_info.name, sizeof(info.name));
	name[sizeof(info.name)] = '\0';
	xeno_printf("blkbench: dev=%s index=%u capacity=%lu ro=%d ring=%u "
	    "depth=%u\n", name, bb_dev.bd_dev,
	    bb_dev.bd_capacity, bb_dev.bd_ro, bb_dev.bd_vq.vq_size,
	    bb_dev.bd_depth);
	if (qd > bb_dev.bd_depth)
		xeno_abort("blkbench: qd=%lu is more than the ring holds (%u): "
		    "give a larger ring=", qd, bb_dev.bd_depth);

	if (strcmp(mode, "write-verify") == 0)
		return bb_write_verify(offset, xeno_arg_size("bytes",
		    BLK_VERIFY_BYTES), (uint32_t)qd);
	if (strcmp(mode, "read-sha") == 0)
		return bb_read_sha(offset, xeno_arg_size("bytes",
		    BLK_VERIFY_BYTES), (uint32_t)qd);
	if (strcmp(mode, "write-ro") == 0)
		return bb_write_ro(offset);
	if (strcmp(mode, "flush") == 0)
		return bb_flush(offset);
	if (strcmp(mode, "get-id") == 0)
		return bb_get_id();
	if (strcmp(mode, "discard") == 0)
		return bb_discard(offset, xeno_arg_size("bytes",
		    BLK_VERIFY_BYTES));
	if (strcmp(mode, "lease") == 0)
		return bb_lease(offset);
	if (strcmp(mode, "seq-read") == 0 || strcmp(mode, "seq-write") == 0 ||
	    strcmp(mode, "rand-read") == 0 || strcmp(mode, "rand-write") == 0) {
		if (offset > bb_dev.bd_capacity)
			xeno_abort("blkbench: offset=%lu is past the end of "
			    "the device (%lu sectors)", offset,
			    bb_dev.bd_capacity);
		bytes = xeno_arg_size("bytes", (bb_dev.bd_capacity - offset) *
		    XENO_BLK_SECTOR);
		/* The default region is whole blocks of the device. */
		if (xeno_arg_str("bytes") == NULL)
			bytes -= bytes % xeno_arg_size("bs", BLK_BS_DEFAULT);
		return bb_perf(mode, offset, bytes, (uint32_t)qd);
	}
	xeno_abort("blkbench: mode=%s: want write-verify, read-sha, write-ro, "
	    "flush, get-id, discard, lease, seq-read, seq-write, rand-read or "
	    "rand-write", mode);
}
