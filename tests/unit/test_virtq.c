/*
 * virtio/virtq.c: a toy guest driver (add buffers, kick, collect used
 * entries) against 1 MiB of guest memory.  Good chains arrive intact,
 * direct and indirect; indices wrap at 65536; notifications are
 * suppressed both ways; every malformed chain fails alone, is counted,
 * comes back to the guest with length 0, and the next request works.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "t.h"
#include "virtio/virtq.h"

#define MEM_SIZE	(1ULL << 20)
#define LO		0x10000ULL	/* below: the system area */
#define HI		MEM_SIZE
#define DESC		0x10000ULL	/* up to 1024 entries: 16 KiB */
#define AVAIL		0x14000ULL
#define USED		0x16000ULL	/* up to 8 KiB + 6 */
#define ITAB		0x19000ULL	/* indirect tables */
#define DATA		0x20000ULL

/* The guest: its memory, its shadow indices, and the device's queue. */
struct drv {
	struct vq_mem	 mem;
	struct virtq	 vq;
	unsigned int	 size;
	int		 ev;
	uint16_t	 avail_idx;	/* next avail slot the guest fills */
	uint16_t	 used_seen;	/* next used slot the guest reads */
	struct vq_avail	*avail;
	struct vq_used	*used;
};

static uint8_t *mem;

static uint16_t *
drv_used_event(struct drv *d)
{
	return &d->avail->va_ring[d->size];
}

static uint16_t *
drv_avail_event(struct drv *d)
{
	return (uint16_t *)(void *)&d->used->vu_ring[d->size];
}

/* A reset queue whose indices all start at `start`. */
static void
drv_init_mem(struct drv *d, uint8_t *base, uint64_t hi, unsigned int size,
    int ev, uint16_t start)
{
	memset(d, 0, sizeof(*d));
	d->mem.vm_base = base;
	d->mem.vm_lo = LO;
	d->mem.vm_hi = hi;
	d->size = size;
	d->ev = ev;
	memset(base + DESC, 0, DATA - DESC);
	d->avail = (struct vq_avail *)(void *)(base + AVAIL);
	d->used = (struct vq_used *)(void *)(base + USED);
	d->avail->va_idx = start;
	d->used->vu_idx = start;
	d->avail_idx = d->used_seen = start;
	if (vq_init(&d->vq, &d->mem, size, DESC, AVAIL, USED, ev) == -1) {
		fprintf(stderr, "vq_init: %s\n", strerror(errno));
		exit(1);
	}
	d->vq.vq_last_avail_idx = d->vq.vq_used_idx = start;
}

static void
drv_init(struct drv *d, unsigned int size, int ev, uint16_t start)
{
	drv_init_mem(d, mem, HI, size, ev, start);
}

/* Entry i of the descriptor table at gpa `table`. */
static void
drv_tdesc(struct drv *d, uint64_t table, unsigned int i, uint64_t addr,
    uint32_t len, uint16_t flags, uint16_t next)
{
	struct vq_desc v = { addr, len, flags, next };

	memcpy(d->mem.vm_base + table + 16 * i, &v, sizeof(v));
}

static void
drv_desc(struct drv *d, unsigned int i, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next)
{
	drv_tdesc(d, DESC, i, addr, len, flags, next);
}

/* Make head available; 1 if the device asked to be kicked for it. */
static int
drv_post(struct drv *d, uint16_t head)
{
	uint16_t old = d->avail_idx, event;

	d->avail->va_ring[d->avail_idx % d->size] = head;
	d->avail_idx++;
	__atomic_store_n(&d->avail->va_idx, d->avail_idx, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!d->ev)
		return !(d->used->vu_flags & VQ_USED_F_NO_NOTIFY);
	event = *drv_avail_event(d);
	return (uint16_t)(d->avail_idx - event - 1) <
	    (uint16_t)(d->avail_idx - old);
}

/* The next used entry, if the device has published one. */
static int
drv_used(struct drv *d, uint32_t *id, uint32_t *len)
{
	struct vq_used_elem *e;

	*id = *len = 0;
	if (__atomic_load_n(&d->used->vu_idx, __ATOMIC_ACQUIRE) ==
	    d->used_seen)
		return 0;
	e = &d->used->vu_ring[d->used_seen % d->size];
	*id = e->vue_id;
	*len = e->vue_len;
	d->used_seen++;
	return 1;
}

static int
seg_is(const struct drv *d, const struct vq_seg *s, uint64_t gpa,
    uint32_t len, int write)
{
	if (s->vs_base == d->mem.vm_base + gpa && s->vs_len == len &&
	    s->vs_write == write)
		return 1;
	fprintf(stderr, "segment %p+%u w%d, expected gpa 0x%llx+%u w%d\n",
	    s->vs_base, s->vs_len, s->vs_write, (unsigned long long)gpa, len,
	    write);
	return 0;
}

static void
test_gpa(void)
{
	struct vq_mem m = { mem, LO, HI };

	CHECK(vq_gpa(&m, LO, 1) == mem + LO);
	CHECK(vq_gpa(&m, HI - 8, 8) == mem + HI - 8);
	CHECK(vq_gpa(&m, LO, HI - LO) == mem + LO);
	CHECK(vq_gpa(&m, HI, 0) == mem + HI);
	CHECK(vq_gpa(&m, HI - 8, 9) == NULL);
	CHECK(vq_gpa(&m, HI, 1) == NULL);
	CHECK(vq_gpa(&m, LO - 1, 2) == NULL);
	CHECK(vq_gpa(&m, 0, 1) == NULL);
	CHECK(vq_gpa(&m, UINT64_MAX - 4, 16) == NULL);
	CHECK(vq_gpa(&m, LO, UINT64_MAX) == NULL);
}

static void
test_init(void)
{
	struct vq_mem m = { mem, LO, HI };
	struct virtq vq;
	static const unsigned int bad_sizes[] = { 0, 3, 12, 2048, 65536 };
	unsigned int i;

	for (i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		errno = 0;
		CHECK_EQ(vq_init(&vq, &m, bad_sizes[i], DESC, AVAIL, USED, 0),
		    -1);
		CHECK_EQ(errno, EINVAL);
	}
	CHECK_EQ(vq_init(&vq, &m, 1, DESC, AVAIL, USED, 0), 0);
	CHECK_EQ(vq_init(&vq, &m, VQ_MAX_SIZE, DESC, AVAIL, USED, 1), 0);
	CHECK(vq.vq_used_event == (uint16_t *)(void *)(mem + AVAIL + 4 +
	    2 * VQ_MAX_SIZE));
	CHECK(vq.vq_avail_event == (uint16_t *)(void *)(mem + USED + 4 +
	    8 * VQ_MAX_SIZE));

	errno = 0;
	CHECK_EQ(vq_init(&vq, &m, 16, DESC + 8, AVAIL, USED, 0), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(vq_init(&vq, &m, 16, DESC, AVAIL + 1, USED, 0), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(vq_init(&vq, &m, 16, DESC, AVAIL, USED + 2, 0), -1);
	CHECK_EQ(errno, EINVAL);

	/* In the system area, past the end, wrapping past 2^64. */
	errno = 0;
	CHECK_EQ(vq_init(&vq, &m, 16, 0x1000, AVAIL, USED, 0), -1);
	CHECK_EQ(errno, EFAULT);
	errno = 0;
	CHECK_EQ(vq_init(&vq, &m, 16, DESC, HI - 34, USED, 0), -1);
	CHECK_EQ(errno, EFAULT);
	CHECK_EQ(vq_init(&vq, &m, 16, DESC, HI - 36, USED, 0), 0);
	errno = 0;
	CHECK_EQ(vq_init(&vq, &m, 16, DESC, HI - 36, USED, 1), -1);
	CHECK_EQ(errno, EFAULT);
	CHECK_EQ(vq_init(&vq, &m, 16, DESC, AVAIL, HI - 132, 0), 0);
	errno = 0;
	CHECK_EQ(vq_init(&vq, &m, 16, DESC, AVAIL, HI - 132, 1), -1);
	CHECK_EQ(errno, EFAULT);
	errno = 0;
	CHECK_EQ(vq_init(&vq, &m, 16, UINT64_MAX - 15, AVAIL, USED, 0), -1);
	CHECK_EQ(errno, EFAULT);
}

static void
test_simple(void)
{
	struct drv d;
	struct vq_req r;
	uint32_t id, len;

	drv_init(&d, 16, 0, 0);
	CHECK_EQ(vq_has_work(&d.vq), 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 0);

	memcpy(mem + DATA, "ping", 4);
	drv_desc(&d, 3, DATA, 100, VQ_DESC_F_NEXT, 7);
	drv_desc(&d, 7, DATA + 0x1000, 50, VQ_DESC_F_WRITE, 0);
	CHECK_EQ(drv_post(&d, 3), 1);
	CHECK_EQ(vq_has_work(&d.vq), 1);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	CHECK_EQ(vq_has_work(&d.vq), 0);
	CHECK_EQ(r.vr_head, 3);
	CHECK_EQ(r.vr_nseg, 2);
	CHECK(seg_is(&d, &r.vr_seg[0], DATA, 100, 0));
	CHECK(seg_is(&d, &r.vr_seg[1], DATA + 0x1000, 50, 1));
	CHECK_EQ(r.vr_out_len, 100);
	CHECK_EQ(r.vr_in_len, 50);
	CHECK(memcmp(r.vr_seg[0].vs_base, "ping", 4) == 0);
	memcpy(r.vr_seg[1].vs_base, "pong", 4);
	CHECK(!drv_used(&d, &id, &len));
	vq_push(&d.vq, r.vr_head, 4);
	CHECK(drv_used(&d, &id, &len));
	CHECK_EQ(id, 3);
	CHECK_EQ(len, 4);
	CHECK(memcmp(mem + DATA + 0x1000, "pong", 4) == 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 0);
	CHECK_EQ(d.vq.vq_popped, 1);
	CHECK_EQ(d.vq.vq_pushed, 1);

	/* A one-entry queue, a buffer ending exactly at the window's end. */
	drv_init(&d, 1, 0, 0);
	drv_desc(&d, 0, HI - 8, 8, VQ_DESC_F_WRITE, 0);
	drv_post(&d, 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	CHECK(seg_is(&d, &r.vr_seg[0], HI - 8, 8, 1));
	vq_push(&d.vq, 0, 8);
	CHECK(drv_used(&d, &id, &len) && id == 0 && len == 8);
}

static void
test_indirect(void)
{
	struct drv d;
	struct vq_req r;
	uint32_t id, len;

	drv_init(&d, 16, 0, 0);
	/* Chained out of order in the table; WRITE on the pointer ignored. */
	drv_tdesc(&d, ITAB, 0, DATA, 10, VQ_DESC_F_NEXT, 2);
	drv_tdesc(&d, ITAB, 2, DATA + 0x100, 20, VQ_DESC_F_NEXT, 1);
	drv_tdesc(&d, ITAB, 1, DATA + 0x200, 30, VQ_DESC_F_WRITE, 0);
	drv_desc(&d, 5, ITAB, 48, VQ_DESC_F_INDIRECT | VQ_DESC_F_WRITE, 0);
	drv_post(&d, 5);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	CHECK_EQ(r.vr_head, 5);
	CHECK_EQ(r.vr_nseg, 3);
	CHECK(seg_is(&d, &r.vr_seg[0], DATA, 10, 0));
	CHECK(seg_is(&d, &r.vr_seg[1], DATA + 0x100, 20, 0));
	CHECK(seg_is(&d, &r.vr_seg[2], DATA + 0x200, 30, 1));
	CHECK_EQ(r.vr_out_len, 30);
	CHECK_EQ(r.vr_in_len, 30);
	vq_push(&d.vq, r.vr_head, 30);
	CHECK(drv_used(&d, &id, &len) && id == 5 && len == 30);

	/* Direct descriptors, then one indirect (the spec allows it). */
	drv_desc(&d, 8, DATA + 0x300, 8, VQ_DESC_F_NEXT, 9);
	drv_desc(&d, 9, ITAB + 0x100, 32, VQ_DESC_F_INDIRECT, 0);
	drv_tdesc(&d, ITAB + 0x100, 0, DATA + 0x400, 4, VQ_DESC_F_NEXT, 1);
	drv_tdesc(&d, ITAB + 0x100, 1, DATA + 0x500, 4, VQ_DESC_F_WRITE, 0);
	drv_post(&d, 8);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	CHECK_EQ(r.vr_nseg, 3);
	CHECK(seg_is(&d, &r.vr_seg[0], DATA + 0x300, 8, 0));
	CHECK(seg_is(&d, &r.vr_seg[1], DATA + 0x400, 4, 0));
	CHECK(seg_is(&d, &r.vr_seg[2], DATA + 0x500, 4, 1));
	vq_push(&d.vq, r.vr_head, 0);

	/* A table only 4-byte aligned (nothing in the spec requires more). */
	drv_tdesc(&d, ITAB + 0x204, 0, DATA, 1, 0, 0);
	drv_desc(&d, 1, ITAB + 0x204, 16, VQ_DESC_F_INDIRECT, 0);
	drv_post(&d, 1);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	CHECK_EQ(r.vr_nseg, 1);
	CHECK(seg_is(&d, &r.vr_seg[0], DATA, 1, 0));
	vq_push(&d.vq, r.vr_head, 0);

	/* The largest table we take: VQ_MAX_SIZE entries, one used. */
	drv_tdesc(&d, ITAB, 0, DATA, 1, 0, 0);
	drv_desc(&d, 2, ITAB, 16 * VQ_MAX_SIZE, VQ_DESC_F_INDIRECT, 0);
	drv_post(&d, 2);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	CHECK_EQ(r.vr_nseg, 1);
	vq_push(&d.vq, r.vr_head, 0);
	CHECK_EQ(d.vq.vq_popped, 4);
}

static void
test_mixed(void)
{
	struct drv d;
	struct vq_req r;
	unsigned int i;

	drv_init(&d, 64, 0, 0);
	/* R, R(0), R, W(0), W, W: zero-length buffers add no segment. */
	drv_desc(&d, 10, DATA, 1, VQ_DESC_F_NEXT, 11);
	drv_desc(&d, 11, 0, 0, VQ_DESC_F_NEXT, 12);
	drv_desc(&d, 12, DATA + 1, 2, VQ_DESC_F_NEXT, 13);
	drv_desc(&d, 13, 0, 0, VQ_DESC_F_NEXT | VQ_DESC_F_WRITE, 14);
	drv_desc(&d, 14, DATA + 3, 4, VQ_DESC_F_NEXT | VQ_DESC_F_WRITE, 15);
	drv_desc(&d, 15, DATA + 7, 8, VQ_DESC_F_WRITE, 0);
	drv_post(&d, 10);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	CHECK_EQ(r.vr_nseg, 4);
	CHECK(seg_is(&d, &r.vr_seg[0], DATA, 1, 0));
	CHECK(seg_is(&d, &r.vr_seg[1], DATA + 1, 2, 0));
	CHECK(seg_is(&d, &r.vr_seg[2], DATA + 3, 4, 1));
	CHECK(seg_is(&d, &r.vr_seg[3], DATA + 7, 8, 1));
	CHECK_EQ(r.vr_out_len, 3);
	CHECK_EQ(r.vr_in_len, 12);
	vq_push(&d.vq, r.vr_head, 12);

	/* Writable only; then readable only. */
	drv_desc(&d, 0, DATA, 16, VQ_DESC_F_WRITE, 0);
	drv_desc(&d, 1, DATA, 16, 0, 0);
	drv_post(&d, 0);
	drv_post(&d, 1);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	CHECK(r.vr_nseg == 1 && r.vr_in_len == 16 && r.vr_out_len == 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	CHECK(r.vr_nseg == 1 && r.vr_in_len == 0 && r.vr_out_len == 16);

	/* Exactly VQ_MAX_SEGS segments, and a chain as long as the ring. */
	for (i = 0; i < 64; i++)
		drv_desc(&d, i, DATA + i, 1, i < 63 ? VQ_DESC_F_NEXT : 0,
		    (uint16_t)(i + 1));
	drv_post(&d, 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	CHECK_EQ(r.vr_nseg, VQ_MAX_SEGS);
	CHECK_EQ(r.vr_out_len, 64);
	for (i = 0; i < 64; i++)
		drv_desc(&d, i, 0, 0, i < 63 ? VQ_DESC_F_NEXT : 0,
		    (uint16_t)(i + 1));
	drv_post(&d, 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	CHECK_EQ(r.vr_nseg, 0);
}

/* 16-bit indices wrap: start just below 65536 and go round several times. */
static void
test_wrap(void)
{
	struct drv d;
	struct vq_req r;
	uint32_t id, len;
	unsigned int i, n = 0, batch;
	uint16_t start;

	for (start = 65530; start != 4; start++) {
		drv_init(&d, 8, start & 1, start);
		for (i = 0; i < 8; i++)
			drv_desc(&d, i, DATA + 16 * i, 16, VQ_DESC_F_WRITE,
			    0);
		n = 0;
		for (batch = 1; batch <= 8; batch++) {
			for (i = 0; i < batch; i++)
				drv_post(&d, (uint16_t)((n + i) % 8));
			for (i = 0; i < batch; i++) {
				CHECK_EQ(vq_pop(&d.vq, &r), 1);
				CHECK_EQ(r.vr_head, (n + i) % 8);
				vq_push(&d.vq, r.vr_head, r.vr_head);
			}
			CHECK_EQ(vq_pop(&d.vq, &r), 0);
			for (i = 0; i < batch; i++) {
				CHECK(drv_used(&d, &id, &len));
				CHECK_EQ(id, (n + i) % 8);
				CHECK_EQ(len, id);
			}
			CHECK(!drv_used(&d, &id, &len));
			n += batch;
		}
		CHECK_EQ(d.vq.vq_last_avail_idx, (uint16_t)(start + 36));
		CHECK_EQ(d.used->vu_idx, (uint16_t)(start + 36));
		CHECK_EQ(d.vq.vq_popped, 36);
	}

	/* A full ring (avail idx exactly size ahead) straddling 65536. */
	drv_init(&d, 8, 0, 65533);
	for (i = 0; i < 8; i++) {
		drv_desc(&d, i, DATA, 1, 0, 0);
		drv_post(&d, (uint16_t)i);
	}
	for (i = 0; i < 8; i++) {
		CHECK_EQ(vq_pop(&d.vq, &r), 1);
		CHECK_EQ(r.vr_head, i);
	}
	CHECK_EQ(vq_pop(&d.vq, &r), 0);
	CHECK_EQ(d.vq.vq_err_ring, 0);
}

static void
test_notify_flags(void)
{
	struct drv d;
	struct vq_req r;

	drv_init(&d, 16, 0, 0);
	drv_desc(&d, 0, DATA, 16, 0, 0);

	/* Nothing pushed: nothing to say. */
	CHECK_EQ(vq_need_notify(&d.vq), 0);

	CHECK_EQ(drv_post(&d, 0), 1);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	vq_push(&d.vq, 0, 0);
	CHECK_EQ(vq_need_notify(&d.vq), 1);
	CHECK_EQ(vq_need_notify(&d.vq), 0);

	d.avail->va_flags = VQ_AVAIL_F_NO_INTERRUPT;
	drv_post(&d, 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	vq_push(&d.vq, 0, 0);
	CHECK_EQ(vq_need_notify(&d.vq), 0);
	d.avail->va_flags = 0;
	drv_post(&d, 0);
	drv_post(&d, 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	vq_push(&d.vq, 0, 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	vq_push(&d.vq, 0, 0);
	CHECK_EQ(vq_need_notify(&d.vq), 1);
	CHECK_EQ(d.vq.vq_notify_sent, 2);
	CHECK_EQ(d.vq.vq_notify_suppressed, 1);

	/* Doorbell suppression: the used ring's flag. */
	vq_set_notify(&d.vq, 0);
	CHECK_EQ(d.used->vu_flags, VQ_USED_F_NO_NOTIFY);
	CHECK_EQ(drv_post(&d, 0), 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	vq_set_notify(&d.vq, 1);
	CHECK_EQ(d.used->vu_flags, 0);
	CHECK_EQ(vq_has_work(&d.vq), 0);
	CHECK_EQ(drv_post(&d, 0), 1);
}

static void
test_notify_event_idx(void)
{
	struct drv d;
	struct vq_req r;
	unsigned int i;

	drv_init(&d, 16, 1, 100);
	for (i = 0; i < 16; i++)
		drv_desc(&d, i, DATA, 16, 0, 0);

	/* The guest wants to hear when entry 102 is filled. */
	*drv_used_event(&d) = 102;
	/* With event_idx the device ignores the NO_INTERRUPT flag. */
	d.avail->va_flags = VQ_AVAIL_F_NO_INTERRUPT;
	for (i = 0; i < 6; i++)
		drv_post(&d, (uint16_t)i);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	vq_push(&d.vq, r.vr_head, 0);		/* used idx 101 */
	CHECK_EQ(vq_need_notify(&d.vq), 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	vq_push(&d.vq, r.vr_head, 0);		/* 102 */
	CHECK_EQ(vq_need_notify(&d.vq), 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	vq_push(&d.vq, r.vr_head, 0);		/* 103: entry 102 written */
	CHECK_EQ(vq_need_notify(&d.vq), 1);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	vq_push(&d.vq, r.vr_head, 0);		/* 104: already past */
	CHECK_EQ(vq_need_notify(&d.vq), 0);
	CHECK_EQ(vq_need_notify(&d.vq), 0);	/* no pushes */

	/* A batch crossing used_event: one notification for the lot. */
	*drv_used_event(&d) = 104;
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	vq_push(&d.vq, r.vr_head, 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	vq_push(&d.vq, r.vr_head, 0);		/* 104, 105 written */
	CHECK_EQ(vq_need_notify(&d.vq), 1);
	CHECK_EQ(d.vq.vq_notify_sent, 2);
	CHECK_EQ(d.vq.vq_notify_suppressed, 3);

	/* used_event far behind, or just wrapped: only exact crossings. */
	*drv_used_event(&d) = 50;
	drv_post(&d, 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	vq_push(&d.vq, r.vr_head, 0);
	CHECK_EQ(vq_need_notify(&d.vq), 0);

	/* Doorbells: avail_event, while the used flags stay 0. */
	CHECK_EQ(vq_has_work(&d.vq), 0);
	vq_set_notify(&d.vq, 0);
	CHECK_EQ(d.used->vu_flags, 0);
	CHECK_EQ(drv_post(&d, 1), 0);
	CHECK_EQ(drv_post(&d, 2), 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);		/* still disabled */
	CHECK_EQ(drv_post(&d, 3), 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	CHECK_EQ(vq_pop(&d.vq, &r), 0);
	vq_set_notify(&d.vq, 1);
	CHECK_EQ(*drv_avail_event(&d), d.vq.vq_last_avail_idx);
	CHECK_EQ(d.used->vu_flags, 0);
	CHECK_EQ(vq_has_work(&d.vq), 0);
	CHECK_EQ(drv_post(&d, 4), 1);		/* the slot we asked about */
	CHECK_EQ(drv_post(&d, 5), 0);		/* one kick is enough */
	/*
	 * The race vq_set_notify documents: a buffer posted before the
	 * request was visible gets no kick; the re-check finds it.
	 */
	vq_set_notify(&d.vq, 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	CHECK_EQ(drv_post(&d, 6), 0);		/* while disabled */
	vq_set_notify(&d.vq, 1);
	CHECK_EQ(vq_has_work(&d.vq), 1);	/* the re-check */
}

/* Expect the chain at `head` to be refused; then a good one must work. */
static int
bad_at(int line, struct drv *d, uint16_t head, int err,
    const uint64_t *counter, int returned)
{
	uint64_t before = *counter, pushed = d->vq.vq_pushed;
	uint16_t good = (uint16_t)(d->size - 1);
	struct vq_req r;
	uint32_t id, len;
	int rc, ok = 1;

	drv_post(d, head);
	errno = 0;
	rc = vq_pop(&d->vq, &r);
	if (rc != -1 || errno != err || *counter != before + 1) {
		fprintf(stderr, "line %d: pop %d errno %d count +%llu, "
		    "expected -1 errno %d count +1\n", line, rc, errno,
		    (unsigned long long)(*counter - before), err);
		ok = 0;
	}
	if (returned) {
		if (!drv_used(d, &id, &len) || id != head || len != 0 ||
		    d->vq.vq_pushed != pushed + 1) {
			fprintf(stderr, "line %d: head %u not returned with "
			    "len 0\n", line, head);
			ok = 0;
		}
	}
	if (drv_used(d, &id, &len)) {
		fprintf(stderr, "line %d: unexpected used entry %u\n", line,
		    id);
		ok = 0;
	}
	/* The last descriptor slot is kept for this good request. */
	drv_desc(d, good, DATA, 16, 0, 0);
	drv_post(d, good);
	if (vq_pop(&d->vq, &r) != 1 || r.vr_head != good || r.vr_nseg != 1) {
		fprintf(stderr, "line %d: next good request failed\n", line);
		ok = 0;
	}
	vq_push(&d->vq, good, 0);
	if (!drv_used(d, &id, &len) || id != good)
		ok = 0;
	return ok;
}
#define BAD(d, head, err, counter, returned)				\
	CHECK(bad_at(__LINE__, d, head, err, &(d)->vq.counter, returned))

static void
test_malformed(void)
{
	struct drv d;
	unsigned int i;

	drv_init(&d, 16, 0, 65530);

	/* Head and next indices outside the table. */
	BAD(&d, 16, EINVAL, vq_err_index, 0);
	BAD(&d, 0xffff, EINVAL, vq_err_index, 0);
	drv_desc(&d, 0, DATA, 8, VQ_DESC_F_NEXT, 16);
	BAD(&d, 0, EINVAL, vq_err_index, 1);

	/* Loops: with buffers, and of zero-length descriptors. */
	drv_desc(&d, 0, DATA, 8, VQ_DESC_F_NEXT, 1);
	drv_desc(&d, 1, DATA, 8, VQ_DESC_F_NEXT, 0);
	BAD(&d, 0, ELOOP, vq_err_loop, 1);
	drv_desc(&d, 2, 0, 0, VQ_DESC_F_NEXT, 2);
	BAD(&d, 2, ELOOP, vq_err_loop, 1);

	/* Readable after writable, also when zero-length. */
	drv_desc(&d, 0, DATA, 8, VQ_DESC_F_NEXT | VQ_DESC_F_WRITE, 1);
	drv_desc(&d, 1, DATA, 8, 0, 0);
	BAD(&d, 0, EINVAL, vq_err_order, 1);
	drv_desc(&d, 1, DATA, 0, 0, 0);
	BAD(&d, 0, EINVAL, vq_err_order, 1);

	/* Buffers outside the window, wrapping, in the system area. */
	drv_desc(&d, 0, HI - 4, 8, 0, 0);
	BAD(&d, 0, EFAULT, vq_err_addr, 1);
	drv_desc(&d, 0, HI, 1, VQ_DESC_F_WRITE, 0);
	BAD(&d, 0, EFAULT, vq_err_addr, 1);
	drv_desc(&d, 0, UINT64_MAX - 4, 16, 0, 0);
	BAD(&d, 0, EFAULT, vq_err_addr, 1);
	drv_desc(&d, 0, UINT64_MAX, UINT32_MAX, 0, 0);
	BAD(&d, 0, EFAULT, vq_err_addr, 1);
	drv_desc(&d, 0, 0x1000, 16, 0, 0);
	BAD(&d, 0, EFAULT, vq_err_addr, 1);
	drv_desc(&d, 0, LO - 1, 2, 0, 0);
	BAD(&d, 0, EFAULT, vq_err_addr, 1);
	drv_desc(&d, 0, 0, 16, VQ_DESC_F_WRITE, 0);
	BAD(&d, 0, EFAULT, vq_err_addr, 1);
	/* A good buffer, then a bad one: the whole chain fails. */
	drv_desc(&d, 0, DATA, 8, VQ_DESC_F_NEXT, 1);
	drv_desc(&d, 1, DATA, UINT32_MAX, 0, 0);
	BAD(&d, 0, EFAULT, vq_err_addr, 1);

	/* Indirect tables. */
	drv_desc(&d, 0, ITAB, 16, VQ_DESC_F_INDIRECT, 0);
	drv_tdesc(&d, ITAB, 0, ITAB + 0x100, 16, VQ_DESC_F_INDIRECT, 0);
	drv_tdesc(&d, ITAB + 0x100, 0, DATA, 16, 0, 0);
	BAD(&d, 0, EINVAL, vq_err_nested, 1);
	drv_desc(&d, 0, ITAB, 24, VQ_DESC_F_INDIRECT, 0);
	BAD(&d, 0, EINVAL, vq_err_indirect, 1);
	drv_desc(&d, 0, ITAB, 0, VQ_DESC_F_INDIRECT, 0);
	BAD(&d, 0, EINVAL, vq_err_indirect, 1);
	drv_desc(&d, 0, ITAB, 16 * (VQ_MAX_SIZE + 1), VQ_DESC_F_INDIRECT, 0);
	BAD(&d, 0, EINVAL, vq_err_indirect, 1);
	drv_tdesc(&d, ITAB, 0, DATA, 16, 0, 0);
	drv_desc(&d, 0, ITAB, 16, VQ_DESC_F_INDIRECT | VQ_DESC_F_NEXT, 1);
	drv_desc(&d, 1, DATA, 16, VQ_DESC_F_WRITE, 0);
	BAD(&d, 0, EINVAL, vq_err_indirect, 1);
	drv_desc(&d, 0, HI - 16, 32, VQ_DESC_F_INDIRECT, 0);
	BAD(&d, 0, EFAULT, vq_err_addr, 1);
	drv_desc(&d, 0, 0x2000, 32, VQ_DESC_F_INDIRECT, 0);
	BAD(&d, 0, EFAULT, vq_err_addr, 1);
	drv_desc(&d, 0, UINT64_MAX - 15, 32, VQ_DESC_F_INDIRECT, 0);
	BAD(&d, 0, EFAULT, vq_err_addr, 1);
	drv_desc(&d, 0, ITAB, 32, VQ_DESC_F_INDIRECT, 0);
	drv_tdesc(&d, ITAB, 0, DATA, 16, VQ_DESC_F_NEXT, 2);
	BAD(&d, 0, EINVAL, vq_err_index, 1);
	drv_tdesc(&d, ITAB, 0, DATA, 16, VQ_DESC_F_NEXT, 1);
	drv_tdesc(&d, ITAB, 1, DATA, 16, VQ_DESC_F_NEXT, 0);
	BAD(&d, 0, ELOOP, vq_err_loop, 1);
	drv_tdesc(&d, ITAB, 0, DATA, 16, VQ_DESC_F_NEXT | VQ_DESC_F_WRITE, 1);
	drv_tdesc(&d, ITAB, 1, DATA, 16, 0, 0);
	BAD(&d, 0, EINVAL, vq_err_order, 1);
	/* Writable in the main chain, readable in the table. */
	drv_desc(&d, 0, DATA, 16, VQ_DESC_F_WRITE | VQ_DESC_F_NEXT, 1);
	drv_desc(&d, 1, ITAB + 0x100, 16, VQ_DESC_F_INDIRECT, 0);
	BAD(&d, 0, EINVAL, vq_err_order, 1);
	drv_tdesc(&d, ITAB, 0, 0x1000, 16, 0, 0);
	drv_desc(&d, 0, ITAB, 16, VQ_DESC_F_INDIRECT, 0);
	BAD(&d, 0, EFAULT, vq_err_addr, 1);

	CHECK_EQ(d.vq.vq_err_ring, 0);
	CHECK_EQ(d.vq.vq_broken, 0);
	CHECK_EQ(d.vq.vq_pushed, d.vq.vq_popped + d.vq.vq_err_addr +
	    d.vq.vq_err_loop + d.vq.vq_err_order + d.vq.vq_err_nested +
	    d.vq.vq_err_indirect + d.vq.vq_err_len + d.vq.vq_err_index - 2);

	/* More than VQ_MAX_SEGS segments (the ring is long enough). */
	drv_init(&d, 128, 1, 7);
	for (i = 0; i < 65; i++)
		drv_desc(&d, i, DATA + i, 1, i < 64 ? VQ_DESC_F_NEXT : 0,
		    (uint16_t)(i + 1));
	BAD(&d, 0, ELOOP, vq_err_loop, 1);
	/* The same through an indirect table of 65. */
	for (i = 0; i < 65; i++)
		drv_tdesc(&d, ITAB, i, DATA + i, 1,
		    i < 64 ? VQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	drv_desc(&d, 0, ITAB, 65 * 16, VQ_DESC_F_INDIRECT, 0);
	BAD(&d, 0, ELOOP, vq_err_loop, 1);
	/* A zero-length loop in a table of VQ_MAX_SIZE. */
	drv_tdesc(&d, ITAB, 0, 0, 0, VQ_DESC_F_NEXT, 0);
	drv_desc(&d, 0, ITAB, 16 * VQ_MAX_SIZE, VQ_DESC_F_INDIRECT, 0);
	BAD(&d, 0, ELOOP, vq_err_loop, 1);
}

/*
 * More than 2^32 - 1 bytes in one direction needs a window of 4 GiB:
 * reserve one without committing it (only the ring pages get touched).
 */
static void
test_len_overflow(void)
{
	const uint64_t big = 5ULL << 30;
	struct drv d;
	struct vq_req r;
	uint8_t *base;

	base = mmap(NULL, big, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		printf("test_virtq: length overflow case skipped: mmap 5 GiB: "
		    "%s\n", strerror(errno));
		return;
	}
	drv_init_mem(&d, base, big, 16, 0, 0);
	drv_desc(&d, 0, 1ULL << 30, 0x80000000U, VQ_DESC_F_NEXT, 1);
	drv_desc(&d, 1, 1ULL << 30, 0x80000000U, 0, 0);
	BAD(&d, 0, EINVAL, vq_err_len, 1);

	/* 2^32 - 1 each way is fine. */
	drv_desc(&d, 0, 1ULL << 30, 0x80000000U, VQ_DESC_F_NEXT, 1);
	drv_desc(&d, 1, 1ULL << 30, 0x7fffffffU, VQ_DESC_F_NEXT, 2);
	drv_desc(&d, 2, 1ULL << 30, UINT32_MAX, VQ_DESC_F_WRITE, 0);
	drv_post(&d, 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	CHECK_EQ(r.vr_out_len, UINT32_MAX);
	CHECK_EQ(r.vr_in_len, UINT32_MAX);
	munmap(base, big);
}

static void
test_broken(void)
{
	struct drv d;
	struct vq_req r;
	uint32_t id, len;

	drv_init(&d, 16, 0, 65535);
	drv_desc(&d, 0, DATA, 16, 0, 0);
	drv_post(&d, 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
	vq_push(&d.vq, 0, 0);
	/* The guest claims 17 new buffers in a ring of 16. */
	d.avail->va_idx = (uint16_t)(d.avail_idx + 17);
	CHECK_EQ(vq_has_work(&d.vq), 1);
	errno = 0;
	CHECK_EQ(vq_pop(&d.vq, &r), -1);
	CHECK_EQ(errno, EIO);
	CHECK_EQ(d.vq.vq_err_ring, 1);
	CHECK_EQ(d.vq.vq_broken, 1);
	/* Broken stays broken, even if the guest puts the index back. */
	d.avail->va_idx = d.avail_idx;
	drv_post(&d, 0);
	errno = 0;
	CHECK_EQ(vq_pop(&d.vq, &r), -1);
	CHECK_EQ(errno, EIO);
	CHECK_EQ(vq_has_work(&d.vq), 0);
	CHECK_EQ(d.vq.vq_err_ring, 1);
	CHECK(drv_used(&d, &id, &len));
	CHECK(!drv_used(&d, &id, &len));

	/* Going backwards is a jump of almost 65536. */
	drv_init(&d, 16, 0, 10);
	d.avail->va_idx = 9;
	errno = 0;
	CHECK_EQ(vq_pop(&d.vq, &r), -1);
	CHECK_EQ(errno, EIO);

	/* vq_init starts over. */
	drv_init(&d, 16, 0, 0);
	drv_desc(&d, 0, DATA, 16, 0, 0);
	drv_post(&d, 0);
	CHECK_EQ(vq_pop(&d.vq, &r), 1);
}

int
main(void)
{
	mem = calloc(1, MEM_SIZE);
	if (mem == NULL)
		return 1;
	test_gpa();
	test_init();
	test_simple();
	test_indirect();
	test_mixed();
	test_wrap();
	test_notify_flags();
	test_notify_event_idx();
	test_malformed();
	test_len_overflow();
	test_broken();
	free(mem);
	return t_done("test_virtq");
}
