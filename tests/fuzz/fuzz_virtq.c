/*
 * libFuzzer driver: the virtqueue engine (virtio/virtq.c) against a
 * hostile guest that wrote its rings, indirect tables and buffers as it
 * pleased.
 *
 * Guest memory is FUZZ_MEM bytes, exactly that big so ASan sees any
 * access past the window's end; the system area [0, FUZZ_LO) is poisoned
 * so ASan sees any access there too.  The rings sit back to back from
 * FUZZ_LO (desc, avail, used, each aligned), then free space for tables
 * and data.  Input:
 *
 *	u8  size	queue size 1 << (size % 11): 1..1024
 *	u8  flags	bit 0: event_idx; bits 1-3: ring placement, 0-3 good,
 *			4 desc misaligned, 5 avail misaligned, 6 used
 *			misaligned, 7 used ring running past the window
 *			(vq_init must refuse exactly 4-7); bit 4: toggle
 *			doorbell requests between pops; bit 5: fill every
 *			writable segment (it may alias the rings, as a guest
 *			may arrange); bit 6: report in_len written, else 0
 *	u16 start	the queue's initial indices (last avail = used)
 *	u8  count	buffers the guest says are available (avail idx =
 *			start + count; more than size breaks the ring)
 *	u8  bump	when the ring runs empty the guest adds this many
 *	u8  nbumps	... up to this many times
 *	u8  fill	the byte written into writable segments
 *	...		guest memory from FUZZ_LO on (rest zero); the avail
 *			idx in it is overwritten as above
 *
 * Pops go on until the ring is empty (and no bumps are left) or broken,
 * at most 4 * size + 8 of them, and every popped head is pushed.
 * Invariants beyond "no sanitizer report":
 *  - a request has 1..VQ_MAX_SEGS-or-fewer segments, each non-empty and
 *    inside the window, readable ones first, lengths summing to
 *    vr_out_len and vr_in_len, each at most UINT32_MAX; its head < size;
 *  - a refused chain bumps exactly the counter its errno names, is
 *    consumed, and is back in the used ring with length 0 iff its head
 *    index was valid; EIO marks the queue broken and it stays so;
 *  - pop returns 0 only when avail idx equals our last avail idx;
 *  - vq_need_notify agrees with the spec's rule (flags, or used_event
 *    with vring_need_event over the pushes since the last call);
 *  - vq_set_notify writes the flag or avail_event it should.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "virtio/virtq.h"

#define FUZZ_MEM	0x20000ULL
#define FUZZ_LO		0x1000ULL
#define FUZZ_HDR	8

static uint8_t *fuzz_mem;

static uint64_t
fuzz_align(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static uint64_t
fuzz_errors(const struct virtq *vq)
{
	return vq->vq_err_addr + vq->vq_err_loop + vq->vq_err_index +
	    vq->vq_err_order + vq->vq_err_nested + vq->vq_err_indirect +
	    vq->vq_err_len + vq->vq_err_ring;
}

static void
fuzz_check_req(const struct virtq *vq, const struct vq_req *req,
    uint8_t flags, uint8_t fill)
{
	const uint8_t *lo = fuzz_mem + FUZZ_LO, *hi = fuzz_mem + FUZZ_MEM;
	uint64_t out = 0, in = 0;
	unsigned int i;
	int seen_write = 0;
	volatile uint8_t sink = 0;

	CHECK(req->vr_head < vq->vq_size);
	CHECK(req->vr_nseg <= VQ_MAX_SEGS);
	for (i = 0; i < req->vr_nseg; i++) {
		const struct vq_seg *s = &req->vr_seg[i];
		const uint8_t *b = s->vs_base;

		CHECK(s->vs_len != 0);
		CHECK(b >= lo && b < hi && s->vs_len <= (size_t)(hi - b));
		CHECK(s->vs_write == 0 || s->vs_write == 1);
		if (s->vs_write) {
			seen_write = 1;
			in += s->vs_len;
			/* Every byte, so ASan checks the whole range. */
			if (flags & 0x20)
				memset(s->vs_base, fill, s->vs_len);
		} else {
			CHECK(!seen_write);
			out += s->vs_len;
			sink ^= b[0];
			sink ^= b[s->vs_len - 1];
		}
	}
	CHECK(out == req->vr_out_len && in == req->vr_in_len);
	CHECK(out <= UINT32_MAX && in <= UINT32_MAX);
	(void)sink;
}

/* The spec's rule, computed from scratch. */
static int
fuzz_want_notify(const struct virtq *vq, uint32_t pushed)
{
	uint16_t new_idx = vq->vq_used_idx, old_idx, event;

	if (pushed == 0)
		return 0;
	if (!vq->vq_event_idx)
		return !(vq->vq_avail->va_flags & VQ_AVAIL_F_NO_INTERRUPT);
	if (pushed > UINT16_MAX)
		return 1;
	event = vq->vq_avail->va_ring[vq->vq_size];
	old_idx = (uint16_t)(new_idx - pushed);
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

static void
fuzz_set_notify(struct virtq *vq, int enable)
{
	vq_set_notify(vq, enable);
	if (!vq->vq_event_idx)
		CHECK(vq->vq_used->vu_flags ==
		    (enable ? 0 : VQ_USED_F_NO_NOTIFY));
	else
		CHECK(*vq->vq_avail_event == (uint16_t)(vq->vq_last_avail_idx -
		    (enable ? 0 : 1)));
}

/* Which counter a refused chain must have bumped, by errno. */
static void
fuzz_check_refusal(const struct virtq *b, const struct virtq *a, int err)
{
	unsigned int einval;

	CHECK(fuzz_errors(a) == fuzz_errors(b) + 1);
	einval = (a->vq_err_index != b->vq_err_index) +
	    (a->vq_err_order != b->vq_err_order) +
	    (a->vq_err_nested != b->vq_err_nested) +
	    (a->vq_err_indirect != b->vq_err_indirect) +
	    (a->vq_err_len != b->vq_err_len);
	switch (err) {
	case EFAULT:
		CHECK(a->vq_err_addr == b->vq_err_addr + 1);
		break;
	case ELOOP:
		CHECK(a->vq_err_loop == b->vq_err_loop + 1);
		break;
	case EINVAL:
		CHECK(einval == 1);
		break;
	default:
		CHECK(!"unexpected errno");
	}
}

static void
fuzz_run(struct virtq *vq, uint8_t flags, uint8_t bump, uint8_t nbumps,
    uint8_t fill)
{
	struct virtq b;
	struct vq_req req;
	uint32_t unsignalled = 0;
	unsigned int it, bound = 4 * vq->vq_size + 8, slot;
	const struct vq_used_elem *e;
	int rc, err, want;

	for (it = 0; it < bound; it++) {
		b = *vq;
		errno = 0;
		rc = vq_pop(vq, &req);
		err = errno;
		if (rc == 0) {
			CHECK(vq->vq_avail->va_idx == b.vq_last_avail_idx);
			CHECK(vq_has_work(vq) == 0);
			CHECK(vq->vq_last_avail_idx == b.vq_last_avail_idx &&
			    vq->vq_used_idx == b.vq_used_idx &&
			    vq->vq_popped == b.vq_popped &&
			    vq->vq_pushed == b.vq_pushed &&
			    fuzz_errors(vq) == fuzz_errors(&b));
			if (nbumps == 0 || bump == 0)
				break;
			nbumps--;
			vq->vq_avail->va_idx = (uint16_t)(b.vq_last_avail_idx +
			    bump);
			continue;
		}
		if (rc == 1) {
			CHECK(vq->vq_popped == b.vq_popped + 1);
			CHECK(vq->vq_last_avail_idx ==
			    (uint16_t)(b.vq_last_avail_idx + 1));
			CHECK(fuzz_errors(vq) == fuzz_errors(&b));
			CHECK(vq->vq_pushed == b.vq_pushed);
			fuzz_check_req(vq, &req, flags, fill);
			vq_push(vq, req.vr_head, (flags & 0x40) ?
			    (uint32_t)req.vr_in_len : 0);
			unsignalled++;
		} else if (err == EIO) {
			CHECK(rc == -1);
			CHECK(vq->vq_broken && !b.vq_broken);
			CHECK(vq->vq_err_ring == b.vq_err_ring + 1);
			CHECK(vq->vq_last_avail_idx == b.vq_last_avail_idx);
			CHECK(vq->vq_pushed == b.vq_pushed);
			CHECK(vq->vq_popped == b.vq_popped);
			errno = 0;
			CHECK(vq_pop(vq, &req) == -1 && errno == EIO);
			CHECK(vq->vq_err_ring == b.vq_err_ring + 1);
			CHECK(vq_has_work(vq) == 0);
			break;
		} else {
			CHECK(rc == -1);
			CHECK(vq->vq_popped == b.vq_popped);
			CHECK(req.vr_nseg == 0);
			CHECK(vq->vq_last_avail_idx ==
			    (uint16_t)(b.vq_last_avail_idx + 1));
			fuzz_check_refusal(&b, vq, err);
			if (req.vr_head < vq->vq_size) {
				CHECK(vq->vq_pushed == b.vq_pushed + 1);
				slot = (uint16_t)(vq->vq_used_idx - 1) &
				    (vq->vq_size - 1);
				e = &vq->vq_used->vu_ring[slot];
				CHECK(e->vue_id == req.vr_head &&
				    e->vue_len == 0);
				unsignalled++;
			} else {
				CHECK(vq->vq_err_index == b.vq_err_index + 1);
				CHECK(vq->vq_pushed == b.vq_pushed);
			}
		}
		CHECK(vq->vq_used->vu_idx == vq->vq_used_idx);
		if (it % 3 == 2) {
			want = fuzz_want_notify(vq, unsignalled);
			CHECK(vq_need_notify(vq) == want);
			unsignalled = 0;
		}
		if (flags & 0x10)
			fuzz_set_notify(vq, (int)(it & 1));
	}
	want = fuzz_want_notify(vq, unsignalled);
	CHECK(vq_need_notify(vq) == want);
	CHECK(vq->vq_notify_sent + vq->vq_notify_suppressed <= vq->vq_pushed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vq_mem mem;
	struct virtq vq;
	unsigned int qsize, place;
	uint64_t desc, avail, used, end;
	uint16_t start;
	uint8_t flags;
	int ev, rc;

	if (size < FUZZ_HDR)
		return 0;
	if (fuzz_mem == NULL) {
		fuzz_mem = malloc(FUZZ_MEM);
		if (fuzz_mem == NULL)
			abort();
#ifdef FUZZ_ASAN
		ASAN_POISON_MEMORY_REGION(fuzz_mem, FUZZ_LO);
#endif
	}
	qsize = 1U << (data[0] % 11);
	flags = data[1];
	ev = flags & 1;
	place = (flags >> 1) & 7;
	start = (uint16_t)(data[2] | data[3] << 8);

	memset(fuzz_mem + FUZZ_LO, 0, FUZZ_MEM - FUZZ_LO);
	if (size - FUZZ_HDR > FUZZ_MEM - FUZZ_LO)
		size = FUZZ_HDR + FUZZ_MEM - FUZZ_LO;
	memcpy(fuzz_mem + FUZZ_LO, data + FUZZ_HDR, size - FUZZ_HDR);

	desc = FUZZ_LO;
	avail = desc + VQ_DESC_BYTES(qsize);
	used = fuzz_align(avail + VQ_AVAIL_BYTES(qsize, ev), VQ_USED_ALIGN);
	end = used + VQ_USED_BYTES(qsize, ev);
	CHECK(end <= FUZZ_MEM);
	switch (place) {
	case 4:
		desc += 8;
		break;
	case 5:
		avail += 1;
		break;
	case 6:
		used += 2;
		break;
	case 7:
		used = FUZZ_MEM - 4;
		break;
	}

	mem.vm_base = fuzz_mem;
	mem.vm_lo = FUZZ_LO;
	mem.vm_hi = FUZZ_MEM;
	errno = 0;
	rc = vq_init(&vq, &mem, qsize, desc, avail, used, ev);
	if (place >= 4) {
		CHECK(rc == -1 && errno == (place == 7 ? EFAULT : EINVAL));
		return 0;
	}
	CHECK(rc == 0);
	CHECK((uint8_t *)vq.vq_avail == fuzz_mem + avail);

	vq.vq_last_avail_idx = vq.vq_used_idx = start;
	vq.vq_used->vu_idx = start;
	vq.vq_avail->va_idx = (uint16_t)(start + data[4]);
	fuzz_run(&vq, flags, data[5], data[6], data[7]);
	return 0;
}
