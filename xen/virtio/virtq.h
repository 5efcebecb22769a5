/*
 * The virtqueue engine: virtio 1.x split rings as the device side sees
 * them (virtio 1.1 section 2.6).  Device backends pop requests, do the
 * work, push the heads back and ask whether the guest wants to hear.
 *
 * Pure: no KVM, no threads, no I/O.  Guest memory is a plain buffer
 * (struct vq_mem), so unit tests and the fuzzer drive it with a toy
 * guest driver.  One thread owns a queue; the guest is another CPU that
 * may rewrite any ring byte at any time.
 *
 * Everything the guest writes is hostile.  Ring indices and descriptors
 * are read once into locals, every buffer goes through one overflow-checked
 * range check (vq_gpa), chains are bounded, and a malformed chain fails
 * that request only: it is handed back to the guest with length 0.
 *
 * The rings are little-endian; so is every host Xeno runs on (x86-64),
 * and the structures below are read without byte swapping.
 */
#ifndef XEN_VIRTIO_VIRTQ_H
#define XEN_VIRTIO_VIRTQ_H

#include <stdint.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "virtq.h: the rings are little-endian and are read without swapping"
#endif

/* Descriptor flags (the spec's VIRTQ_DESC_F_*). */
#define VQ_DESC_F_NEXT		1	/* continues at vd_next */
#define VQ_DESC_F_WRITE		2	/* device-writable (else readable) */
#define VQ_DESC_F_INDIRECT	4	/* the buffer is a descriptor table */

/* The guest's avail ring flag (VIRTQ_AVAIL_F_NO_INTERRUPT). */
#define VQ_AVAIL_F_NO_INTERRUPT	1
/* Our used ring flag (VIRTQ_USED_F_NO_NOTIFY). */
#define VQ_USED_F_NO_NOTIFY	1

struct vq_desc {
	uint64_t	vd_addr;	/* gpa */
	uint32_t	vd_len;
	uint16_t	vd_flags;	/* VQ_DESC_F_* */
	uint16_t	vd_next;
};

/* Written by the guest only. */
struct vq_avail {
	uint16_t	va_flags;	/* VQ_AVAIL_F_NO_INTERRUPT */
	uint16_t	va_idx;		/* next slot the guest fills */
	uint16_t	va_ring[];	/* [size], then used_event */
};

struct vq_used_elem {
	uint32_t	vue_id;		/* head of the chain */
	uint32_t	vue_len;	/* bytes written into its buffers */
};

/* Written by us only. */
struct vq_used {
	uint16_t	vu_flags;	/* VQ_USED_F_NO_NOTIFY */
	uint16_t	vu_idx;		/* next slot we fill */
	struct vq_used_elem vu_ring[];	/* [size], then avail_event */
};

#define VQ_DESC_ALIGN		16
#define VQ_AVAIL_ALIGN		2
#define VQ_USED_ALIGN		4
/* Bytes of each ring for a queue of `size` entries (with event_idx). */
#define VQ_DESC_BYTES(size)	(16ULL * (size))
#define VQ_AVAIL_BYTES(size, ev) (4ULL + 2ULL * (size) + ((ev) ? 2 : 0))
#define VQ_USED_BYTES(size, ev)	(4ULL + 8ULL * (size) + ((ev) ? 2 : 0))

/*
 * The guest memory a queue may touch: the host pointer of gpa 0, and the
 * window [vm_lo, vm_hi) of gpas the guest may hand us (for a PV domain,
 * vm_ga_lo/vm_ga_hi: everything above the system area).
 */
struct vq_mem {
	uint8_t		*vm_base;
	uint64_t	 vm_lo;
	uint64_t	 vm_hi;
};

void	*vq_gpa(const struct vq_mem *, uint64_t, uint64_t);

#define VQ_MAX_SIZE	1024	/* ring entries, a power of two */
#define VQ_MAX_SEGS	64	/* buffers per request, indirect flattened */

struct vq_seg {
	void		*vs_base;	/* host pointer, range checked */
	uint32_t	 vs_len;	/* never 0 */
	int		 vs_write;	/* device-writable */
};

/*
 * One request: its readable segments first, then its writable ones.
 * vs_base points into guest memory, which the guest may change under us:
 * a backend copies what it reads before it validates it.
 */
struct vq_req {
	uint16_t	 vr_head;	/* give back with vq_push */
	unsigned int	 vr_nseg;
	struct vq_seg	 vr_seg[VQ_MAX_SEGS];
	uint64_t	 vr_out_len;	/* readable bytes, <= UINT32_MAX */
	uint64_t	 vr_in_len;	/* writable bytes, <= UINT32_MAX */
};

struct virtq {
	struct vq_mem	 vq_mem;
	unsigned int	 vq_size;
	uint64_t	 vq_desc_gpa;
	uint64_t	 vq_avail_gpa;
	uint64_t	 vq_used_gpa;
	const uint8_t	*vq_desc;	/* host pointers of the three rings */
	struct vq_avail	*vq_avail;
	struct vq_used	*vq_used;
	/* The fields after the two rings; NULL without event_idx. */
	uint16_t	*vq_used_event;
	uint16_t	*vq_avail_event;
	/*
	 * Our indices.  Both start at 0 (a reset queue); whoever restores a
	 * queue (tests, a migration) may set them after vq_init.
	 */
	uint16_t	 vq_last_avail_idx;	/* next avail slot to pop */
	uint16_t	 vq_used_idx;		/* next used slot to fill */
	int		 vq_event_idx;	/* VIRTIO_F_EVENT_IDX negotiated */
	int		 vq_broken;	/* ring is garbage until vq_init */
	uint32_t	 vq_unsignalled; /* pushes since vq_need_notify */
	/*
	 * Entries past vq_last_avail_idx known to be available from the last
	 * read of the guest's avail idx: the idx (a cache line the guest keeps
	 * writing) is read again only when these run out.  0 after vq_init
	 * and whenever unsure.
	 */
	uint16_t	 vq_avail_known;

	uint64_t	 vq_popped;	/* requests handed to the backend */
	uint64_t	 vq_pushed;	/* used entries, failed chains too */
	uint64_t	 vq_notify_sent;
	uint64_t	 vq_notify_suppressed;
	/*
	 * Malformed chains by reason, each one vq_pop() == -1 with errno:
	 *  addr	EFAULT	a buffer or table outside the window
	 *  loop	ELOOP	a loop, or more than VQ_MAX_SEGS segments
	 *  index	EINVAL	head or next beyond its table
	 *  order	EINVAL	readable after writable
	 *  nested	EINVAL	indirect inside an indirect table
	 *  indirect	EINVAL	table length 0, not 16n or > VQ_MAX_SIZE
	 *		entries; or INDIRECT with NEXT
	 *  len	EINVAL	more than UINT32_MAX bytes one way
	 *  ring	EIO	avail idx jumped: the queue is broken
	 */
	uint64_t	 vq_err_addr;
	uint64_t	 vq_err_loop;
	uint64_t	 vq_err_index;
	uint64_t	 vq_err_order;
	uint64_t	 vq_err_nested;
	uint64_t	 vq_err_indirect;
	uint64_t	 vq_err_len;
	uint64_t	 vq_err_ring;
};

/*
 * 0, or -1 with errno EINVAL (size 0, not a power of two or above
 * VQ_MAX_SIZE; a ring misaligned: desc 16, avail 2, used 4) or EFAULT (a
 * ring not inside the window).  The struct vq_mem is copied.  Guest
 * memory is not written.
 */
int	vq_init(struct virtq *, const struct vq_mem *, unsigned int, uint64_t,
	    uint64_t, uint64_t, int);

/*
 * 1: *req is the next request.  0: the ring is empty.  -1: the next
 * chain is malformed; it is consumed, its head (if the head index itself
 * was valid) is pushed with length 0 so the guest gets it back, the reason
 * is counted, errno is EFAULT (bad address), ELOOP (loop, too long) or
 * EINVAL (anything else), and *req has no segments: count it and pop on
 * (then ask vq_need_notify, as after any push).  -1 with EIO: the guest's
 * avail idx ran more than a ring ahead of us; the queue is broken and
 * every pop fails so until vq_init.
 */
int	vq_pop(struct virtq *, struct vq_req *);

/*
 * Hand head (a vr_head from vq_pop on this queue) back to the guest with
 * written_len bytes written into its writable buffers; the used entry is
 * visible to the guest before the used idx that covers it.
 */
void	vq_push(struct virtq *, uint16_t, uint32_t);

/*
 * vq_push in two steps, for a backend handing back many requests: the
 * used entry now, the used idx that shows it to the guest with
 * vq_publish (or vq_need_notify, which publishes first).  A guest polling
 * the used idx then sees one cache-line update per batch instead of one
 * per request.  Call vq_publish (or vq_need_notify) before waiting.
 */
void	vq_push_lazy(struct virtq *, uint16_t, uint32_t);
void	vq_publish(struct virtq *);

/*
 * After a batch of pushes: 1 if the guest wants a used-buffer interrupt
 * for them (avail flags, or used_event with event_idx), 0 if not or if
 * nothing was pushed since the last call.
 */
int	vq_need_notify(struct virtq *);

/*
 * Ask the guest to ring our doorbell when it adds buffers (1) or not to
 * bother (0).  Before waiting for a doorbell call vq_set_notify(vq, 1)
 * and then check vq_has_work() once more: the guest may have added a
 * buffer after our last pop but before it could see the request, and it
 * will not ring for that one.  With event_idx the request is avail_event
 * = our last avail idx: the guest rings once, for that slot, and vq_pop
 * does not move it; so call vq_set_notify(vq, 1) before every wait.
 */
void	vq_set_notify(struct virtq *, int);

/*
 * The guest has made buffers available that we have not popped.  Always
 * 0 on a broken queue, so a `while (vq_has_work)` loop ends.
 */
int	vq_has_work(struct virtq *);

#endif /* XEN_VIRTIO_VIRTQ_H */
