/*
 * The virtqueue engine (see virtq.h): split rings, device side.
 *
 * Memory ordering, the guest being another CPU:
 *  - avail->idx is loaded with acquire before any ring entry or
 *    descriptor it covers, so we never see a slot older than the index;
 *  - used elements are written before used->idx is stored with release,
 *    so the guest never sees an index ahead of its element;
 *  - vq_need_notify and vq_set_notify(1) are store-then-load handshakes
 *    with the guest (we publish, then read what the guest published, and
 *    the guest does the mirror image); each needs a full fence between
 *    the two, or both sides can miss each other and the queue stalls.
 *
 * Every guest value is read once.  Ring fields are read with relaxed
 * atomics; a descriptor is copied into a local and a compiler barrier
 * follows, so the compiler cannot go back to guest memory for a field it
 * has already checked (indirect tables need not be 8-byte aligned, so
 * the copy is a memcpy rather than 64-bit atomic loads).
 */
#include <errno.h>
#include <string.h>

#include "virtio/virtq.h"

/* The 16-bit ring slot of a free-running index. */
#define VQ_SLOT(vq, idx)	((unsigned int)(idx) & ((vq)->vq_size - 1))

void *
vq_gpa(const struct vq_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (__builtin_add_overflow(gpa, len, &end) || gpa < mem->vm_lo ||
	    end > mem->vm_hi)
		return NULL;
	return mem->vm_base + gpa;
}

int
vq_init(struct virtq *vq, const struct vq_mem *mem, unsigned int size,
    uint64_t desc, uint64_t avail, uint64_t used, int event_idx)
{
	void *d, *a, *u;

	memset(vq, 0, sizeof(*vq));
	if (size == 0 || size > VQ_MAX_SIZE || (size & (size - 1)) != 0 ||
	    desc % VQ_DESC_ALIGN != 0 || avail % VQ_AVAIL_ALIGN != 0 ||
	    used % VQ_USED_ALIGN != 0) {
		errno = EINVAL;
		return -1;
	}
	event_idx = event_idx != 0;
	d = vq_gpa(mem, desc, VQ_DESC_BYTES(size));
	a = vq_gpa(mem, avail, VQ_AVAIL_BYTES(size, event_idx));
	u = vq_gpa(mem, used, VQ_USED_BYTES(size, event_idx));
	if (d == NULL || a == NULL || u == NULL) {
		errno = EFAULT;
		return -1;
	}
	/*
	 * The window is the guest's own memory, and the rings may overlap
	 * one another there: a guest that does that only corrupts its own
	 * queue, and every value we read is checked anyway.
	 */
	vq->vq_mem = *mem;
	vq->vq_size = size;
	vq->vq_desc_gpa = desc;
	vq->vq_avail_gpa = avail;
	vq->vq_used_gpa = used;
	vq->vq_desc = d;
	vq->vq_avail = a;
	vq->vq_used = u;
	vq->vq_event_idx = event_idx;
	if (event_idx) {
		vq->vq_used_event = &vq->vq_avail->va_ring[size];
		vq->vq_avail_event = (uint16_t *)(void *)
		    &vq->vq_used->vu_ring[size];
	}
	return 0;
}

static uint16_t
vq_load16(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void
vq_store16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* Copy descriptor `idx` of the table at `table` into *d, once. */
static void
vq_read_desc(const uint8_t *table, unsigned int idx, struct vq_desc *d)
{
	memcpy(d, table + (size_t)idx * sizeof(*d), sizeof(*d));
	__asm__ __volatile__("" ::: "memory");
}

/* Why a chain was refused: the counter to bump and the errno to set. */
enum vq_bad {
	VQ_BAD_ADDR,
	VQ_BAD_LOOP,
	VQ_BAD_INDEX,
	VQ_BAD_ORDER,
	VQ_BAD_NESTED,
	VQ_BAD_INDIRECT,
	VQ_BAD_LEN,
};

static int
vq_refuse(struct virtq *vq, enum vq_bad why)
{
	switch (why) {
	case VQ_BAD_ADDR:
		vq->vq_err_addr++;
		errno = EFAULT;
		break;
	case VQ_BAD_LOOP:
		vq->vq_err_loop++;
		errno = ELOOP;
		break;
	case VQ_BAD_INDEX:
		vq->vq_err_index++;
		errno = EINVAL;
		break;
	case VQ_BAD_ORDER:
		vq->vq_err_order++;
		errno = EINVAL;
		break;
	case VQ_BAD_NESTED:
		vq->vq_err_nested++;
		errno = EINVAL;
		break;
	case VQ_BAD_INDIRECT:
		vq->vq_err_indirect++;
		errno = EINVAL;
		break;
	case VQ_BAD_LEN:
		vq->vq_err_len++;
		errno = EINVAL;
		break;
	}
	return -1;
}

/* One descriptor's buffer, appended to the request. */
static int
vq_add_seg(struct virtq *vq, struct vq_req *req, const struct vq_desc *d)
{
	int write = (d->vd_flags & VQ_DESC_F_WRITE) != 0;
	uint64_t *total = write ? &req->vr_in_len : &req->vr_out_len;
	struct vq_seg *s;
	void *p;

	/*
	 * A zero-length buffer is legal and we never touch it, so its
	 * address does not matter; it adds no segment.
	 */
	if (d->vd_len == 0)
		return 0;
	if ((p = vq_gpa(&vq->vq_mem, d->vd_addr, d->vd_len)) == NULL)
		return vq_refuse(vq, VQ_BAD_ADDR);
	if (req->vr_nseg == VQ_MAX_SEGS)
		return vq_refuse(vq, VQ_BAD_LOOP);
	/* The used ring's len is 32 bits: so is what we take per direction. */
	*total += d->vd_len;
	if (*total > UINT32_MAX)
		return vq_refuse(vq, VQ_BAD_LEN);
	s = &req->vr_seg[req->vr_nseg++];
	s->vs_base = p;
	s->vs_len = d->vd_len;
	s->vs_write = write;
	return 0;
}

/*
 * Walk the chain at `head` into *req.  The main table holds vq_size
 * descriptors and an indirect table len/16, so a chain that visits more
 * descriptors than its table holds has visited one twice: a loop.  That
 * bounds the walk to vq_size + VQ_MAX_SIZE steps whatever the guest wrote.
 */
static int
vq_walk(struct virtq *vq, struct vq_req *req, uint16_t head)
{
	const uint8_t *table = vq->vq_desc;
	unsigned int n = vq->vq_size, idx = head, steps = 0;
	int indirect = 0, seen_write = 0;
	struct vq_desc d;

	for (;;) {
		if (idx >= n)
			return vq_refuse(vq, VQ_BAD_INDEX);
		if (++steps > n)
			return vq_refuse(vq, VQ_BAD_LOOP);
		vq_read_desc(table, idx, &d);

		if (d.vd_flags & VQ_DESC_F_INDIRECT) {
			/*
			 * The chain continues in the table and ends with it;
			 * the spec has the device ignore WRITE here.
			 */
			if (indirect)
				return vq_refuse(vq, VQ_BAD_NESTED);
			if ((d.vd_flags & VQ_DESC_F_NEXT) || d.vd_len == 0 ||
			    d.vd_len % sizeof(struct vq_desc) != 0 ||
			    d.vd_len / sizeof(struct vq_desc) > VQ_MAX_SIZE)
				return vq_refuse(vq, VQ_BAD_INDIRECT);
			table = vq_gpa(&vq->vq_mem, d.vd_addr, d.vd_len);
			if (table == NULL)
				return vq_refuse(vq, VQ_BAD_ADDR);
			n = d.vd_len / sizeof(struct vq_desc);
			idx = 0;
			steps = 0;
			indirect = 1;
			continue;
		}

		if (d.vd_flags & VQ_DESC_F_WRITE)
			seen_write = 1;
		else if (seen_write)
			return vq_refuse(vq, VQ_BAD_ORDER);
		if (vq_add_seg(vq, req, &d) == -1)
			return -1;
		if (!(d.vd_flags & VQ_DESC_F_NEXT))
			return 0;
		idx = d.vd_next;
	}
}

int
vq_pop(struct virtq *vq, struct vq_req *req)
{
	uint16_t avail_idx, head;
	int saved;

	if (vq->vq_broken) {
		errno = EIO;
		return -1;
	}
	if (vq->vq_avail_known == 0) {
		avail_idx = __atomic_load_n(&vq->vq_avail->va_idx,
		    __ATOMIC_ACQUIRE);
		if (avail_idx == vq->vq_last_avail_idx)
			return 0;
		/*
		 * The guest can have at most a ring's worth of buffers out:
		 * an index further ahead means the ring holds nothing we can
		 * trust.
		 */
		if ((uint16_t)(avail_idx - vq->vq_last_avail_idx) >
		    vq->vq_size) {
			vq->vq_broken = 1;
			vq->vq_err_ring++;
			errno = EIO;
			return -1;
		}
		vq->vq_avail_known = (uint16_t)(avail_idx -
		    vq->vq_last_avail_idx);
	}
	head = vq_load16(&vq->vq_avail->va_ring[VQ_SLOT(vq,
	    vq->vq_last_avail_idx)]);
	vq->vq_last_avail_idx++;
	vq->vq_avail_known--;

	req->vr_head = head;
	req->vr_nseg = 0;
	req->vr_out_len = req->vr_in_len = 0;
	if (head >= vq->vq_size)
		return vq_refuse(vq, VQ_BAD_INDEX);
	if (vq_walk(vq, req, head) == -1) {
		saved = errno;
		req->vr_nseg = 0;
		req->vr_out_len = req->vr_in_len = 0;
		vq_push(vq, head, 0);
		errno = saved;
		return -1;
	}
	vq->vq_popped++;
	return 1;
}

void
vq_push_lazy(struct virtq *vq, uint16_t head, uint32_t written_len)
{
	struct vq_used_elem *e = &vq->vq_used->vu_ring[VQ_SLOT(vq,
	    vq->vq_used_idx)];

	__atomic_store_n(&e->vue_id, (uint32_t)head, __ATOMIC_RELAXED);
	__atomic_store_n(&e->vue_len, written_len, __ATOMIC_RELAXED);
	vq->vq_used_idx++;
	vq->vq_pushed++;
	if (vq->vq_unsignalled < UINT32_MAX)
		vq->vq_unsignalled++;
}

void
vq_publish(struct virtq *vq)
{
	__atomic_store_n(&vq->vq_used->vu_idx, vq->vq_used_idx,
	    __ATOMIC_RELEASE);
}

void
vq_push(struct virtq *vq, uint16_t head, uint32_t written_len)
{
	vq_push_lazy(vq, head, written_len);
	vq_publish(vq);
}

int
vq_need_notify(struct virtq *vq)
{
	uint16_t new_idx = vq->vq_used_idx, old_idx, event;
	uint32_t pushed = vq->vq_unsignalled;
	int need;

	if (pushed == 0)
		return 0;
	vq->vq_unsignalled = 0;
	vq_publish(vq);
	/* Our used idx store before the guest's flags or used_event load. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->vq_event_idx)
		need = !(vq_load16(&vq->vq_avail->va_flags) &
		    VQ_AVAIL_F_NO_INTERRUPT);
	else if (pushed > UINT16_MAX)
		need = 1;	/* the 16-bit window wrapped: cannot tell */
	else {
		/*
		 * Did the used idx step past used_event in (old, new]?  The
		 * guest asked to hear when entry used_event is filled.
		 */
		event = vq_load16(vq->vq_used_event);
		old_idx = (uint16_t)(new_idx - pushed);
		need = (uint16_t)(new_idx - event - 1) <
		    (uint16_t)(new_idx - old_idx);
	}
	if (need)
		vq->vq_notify_sent++;
	else
		vq->vq_notify_suppressed++;
	return need;
}

void
vq_set_notify(struct virtq *vq, int enable)
{
	if (!vq->vq_event_idx)
		vq_store16(&vq->vq_used->vu_flags,
		    enable ? 0 : VQ_USED_F_NO_NOTIFY);
	else if (enable)
		/* Ring when you fill the slot we would pop next. */
		vq_store16(vq->vq_avail_event, vq->vq_last_avail_idx);
	else
		/*
		 * A slot behind us: the guest rings only when its index
		 * passes avail_event, which it did long ago (and will not
		 * again for 65536 buffers; the spec keeps flags 0 here).
		 */
		vq_store16(vq->vq_avail_event,
		    (uint16_t)(vq->vq_last_avail_idx - 1));
	/* Our request before the caller's re-check of avail idx. */
	if (enable)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int
vq_has_work(struct virtq *vq)
{
	/* A broken queue has none: it would only fail again. */
	if (vq->vq_broken)
		return 0;
	if (vq->vq_avail_known != 0)
		return 1;
	return __atomic_load_n(&vq->vq_avail->va_idx, __ATOMIC_ACQUIRE) !=
	    vq->vq_last_avail_idx;
}
