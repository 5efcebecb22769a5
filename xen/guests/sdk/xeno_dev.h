/*
 * Devices for Xeno PV guests: a virtio split-ring driver over the PV
 * transport (XENO_HC_DEVICE_INFO, XENO_HC_QUEUE_SETUP, doorbell ports,
 * XENO_HC_YIELD), and the virtio-net and virtio-blk drivers built on it.
 * <xeno/pv.h> has the ABI and docs/GUEST-SDK.md the guide.
 *
 * Model.  Guests have no interrupts.  A driver adds buffers to a queue
 * (xeno_vq_add), tells the device once per batch (xeno_vq_kick: at most
 * one doorbell, and none when the device said it is still busy), and
 * collects finished buffers by reading the used ring (xeno_vq_get).  A
 * guest with nothing to do arms the queues it waits on and sleeps in
 * XENO_HC_YIELD (xeno_vq_wait); a guest that wants speed polls instead
 * and never makes a hypercall per buffer.
 *
 * Errors follow xeno.h: negative XENO_E* codes.  A queue is not locked:
 * use each one from one vCPU at a time.  Rings and buffers come from the
 * heap and live as long as the queue (a PV queue is set up once and
 * cannot be torn down).
 */
#ifndef XENO_DEV_H
#define XENO_DEV_H

#include <xeno.h>

/*
 * Split-ring layouts (virtio 1.1 section 2.6), the guest's view of the
 * structures xen/virtio/virtq.h reads.  Little-endian, like x86.
 */
#define XENO_VRING_DESC_F_NEXT		1
#define XENO_VRING_DESC_F_WRITE		2	/* the device writes it */
#define XENO_VRING_DESC_F_INDIRECT	4	/* the buffer is a table */
#define XENO_VRING_AVAIL_F_NO_INTERRUPT	1
#define XENO_VRING_USED_F_NO_NOTIFY	1

struct xeno_vring_desc {
	uint64_t	addr;
	uint32_t	len;
	uint16_t	flags;
	uint16_t	next;
};

struct xeno_vring_avail {
	uint16_t	flags;
	uint16_t	idx;
	uint16_t	ring[];		/* [size], then used_event */
};

struct xeno_vring_used_elem {
	uint32_t	id;
	uint32_t	len;
};

struct xeno_vring_used {
	uint16_t	flags;
	uint16_t	idx;
	struct xeno_vring_used_elem ring[];	/* [size], then avail_event */
};

#define XENO_VQ_SIZE_DEFAULT	256
#define XENO_VQ_SIZE_MAX	1024	/* ring entries; the device may say less */
#define XENO_VQ_INDIRECT_MAX	16	/* buffers in one indirect table */
#define XENO_F(bit)		(1ULL << (bit))

/* One buffer of a chain. */
struct xeno_vq_buf {
	const void	*vb_addr;	/* guest address = physical address */
	uint32_t	 vb_len;
	int		 vb_write;	/* the device writes it */
};

/* Per ring entry: what xeno_vq_get hands back, and the chain to free. */
struct xeno_vq_slot {
	void		*vs_cookie;
	uint16_t	 vs_ndesc;	/* 0: not in flight */
};

struct xeno_vq {
	uint32_t	 vq_dev;	/* device index */
	uint32_t	 vq_queue;	/* queue of that device */
	uint32_t	 vq_q;		/* global number: doorbell, ready bit */
	uint32_t	 vq_size;
	uint64_t	 vq_features;	/* accepted */
	int		 vq_event_idx;
	int		 vq_indirect;
	struct xeno_vring_desc	*vq_desc;
	struct xeno_vring_avail	*vq_avail;
	struct xeno_vring_used	*vq_used;
	uint16_t	*vq_used_event;		/* ours, after the avail ring */
	uint16_t	*vq_avail_event;	/* the device's, after the used ring */
	uint16_t	 vq_avail_idx;	/* next avail slot we fill */
	uint16_t	 vq_kicked_idx;	/* avail idx the device has been shown */
	uint16_t	 vq_used_idx;	/* next used slot we collect */
	uint16_t	 vq_free_head;
	uint32_t	 vq_nfree;	/* free descriptors */
	/*
	 * Chain links and the free list, kept privately: the device reads
	 * the table's `next` fields and a guest (hostile) may write any
	 * garbage there, but freeing a chain never reads it back.
	 */
	uint16_t	*vq_next;
	struct xeno_vq_slot	*vq_slot;	/* by head */
	struct xeno_vring_desc	*vq_itable;	/* XENO_VQ_INDIRECT_MAX per head */
	uint64_t	 vq_added;	/* chains made available */
	uint64_t	 vq_completed;	/* chains collected */
	uint64_t	 vq_kicks;	/* batches published */
	uint64_t	 vq_doorbells;	/* of those, the ones rung */
};

/*
 * Describes the device of type `type` (XENO_PV_DEV_*) named `name` (tap
 * name or VBD id), or the first of that type if name is NULL or "", or
 * device number N if name is "#N".  Its index, or -XENO_ENODEV.
 */
int	xeno_dev_find(uint32_t, const char *, struct xeno_hc_device_info *);

/*
 * Allocates a ring of `size` entries (a power of two; 0 picks
 * min(XENO_VQ_SIZE_DEFAULT, queue_max)) for queue `queue` of device
 * `dev` and hands it to the device.  `features` are the ones to accept:
 * VERSION_1 is added, and EVENT_IDX and INDIRECT_DESC are used if
 * present.  0, -XENO_ENOMEM, or the hypercall's error (-XENO_EINVAL,
 * -XENO_EFAULT, -XENO_EBUSY); on failure nothing stays allocated.
 */
int	xeno_vq_setup(struct xeno_vq *, uint32_t, uint32_t, uint32_t, uint64_t);

/*
 * Makes the chain bufs[0..n-1] (readable buffers first, then writable)
 * available, through one indirect descriptor when the queue accepted
 * INDIRECT_DESC and n > 1.  Not visible to the device until
 * xeno_vq_kick.  The head (>= 0), or -XENO_ENOSPC when the ring is full,
 * -XENO_EINVAL for an empty or too long chain.
 */
int	xeno_vq_add(struct xeno_vq *, const struct xeno_vq_buf *, unsigned int,
	    void *);

/*
 * Publishes every chain added since the last kick and rings the doorbell
 * if the device asked for it (EVENT_IDX avail_event, or no NO_NOTIFY):
 * one doorbell per batch at most.  1 if it rang.
 */
int	xeno_vq_kick(struct xeno_vq *);

/*
 * Collects one finished chain: 1 with *cookie (as given to xeno_vq_add)
 * and *len (bytes the device wrote), 0 if there is none.
 */
int	xeno_vq_get(struct xeno_vq *, void **, uint32_t *);

/* The device has finished chains that xeno_vq_get has not collected. */
int	xeno_vq_pending(const struct xeno_vq *);

/* Chains added and not yet collected. */
static inline uint32_t
xeno_vq_inflight(const struct xeno_vq *vq)
{
	return (uint32_t)(vq->vq_added - vq->vq_completed);
}

/*
 * Asks the device to signal the queue's ready bit (XENO_HC_YIELD) for the
 * next finished chain, then re-checks: 1 if chains are already pending
 * (do not sleep: they may have landed before the request was seen).
 */
int	xeno_vq_arm(struct xeno_vq *);
/*
 * The same for the n-th next finished chain (n >= 1): with EVENT_IDX the
 * device signals once n have finished, not at the first (without it, at
 * the first batch).  1 if n are already pending.
 */
int	xeno_vq_arm_n(struct xeno_vq *, uint16_t);
/* Asks the device not to signal: for guests that poll. */
void	xeno_vq_disarm(struct xeno_vq *);

/*
 * Sleeps until one of the n queues has finished chains or monotonic time
 * reaches deadline_ns (UINT64_MAX: no deadline).  Arms the queues first
 * and does not sleep if one already has work.  1 if one of them has
 * work, 0 at the deadline (or a wake-up for another queue), -XENO_EAGAIN
 * when the domain is shutting down.
 */
int	xeno_vq_wait(struct xeno_vq *const *, unsigned int, uint64_t);

/*
 * Raw access for guests that build their own chains (the hostile guest):
 * take n linked descriptors (their indices in idx[], idx[0] the head),
 * write vq_desc[idx[i]] at will, then make the head available with
 * xeno_vq_post.  The chain is freed by what was allocated, whatever the
 * descriptors say.
 */
int	xeno_vq_alloc_chain(struct xeno_vq *, unsigned int, uint16_t *);
void	xeno_vq_post(struct xeno_vq *, uint16_t, void *);

/*
 * virtio-net.  Every buffer is one descriptor: the 12-byte virtio-net
 * header, then the frame.  Receive buffers are posted at open and go
 * back to the device with xeno_net_rx_done; transmit buffers are taken
 * with xeno_net_tx_alloc, queued, and published in batches.
 */
#define XENO_NET_HDR_LEN	((uint32_t)sizeof(struct xeno_virtio_net_hdr))
#define XENO_ETH_HLEN		14
#define XENO_ETH_ALEN		6
#define XENO_ETH_FRAME_MIN	XENO_ETH_HLEN
#define XENO_ETH_FRAME_MAX	1514	/* without FCS: 1500-byte MTU + 14 */
#define XENO_NET_BUF_SIZE	1536	/* header + largest frame, rounded */

struct xeno_net {
	struct xeno_hc_device_info nd_info;
	uint32_t	 nd_dev;
	struct xeno_vq	 nd_rxq;
	struct xeno_vq	 nd_txq;
	uint8_t		*nd_rx_buf;	/* nd_rxq.vq_size buffers */
	uint8_t		*nd_tx_buf;	/* nd_txq.vq_size buffers */
	uint16_t	*nd_tx_free;	/* stack of free transmit buffers */
	uint32_t	 nd_tx_nfree;
	uint64_t	 nd_rx_frames;
	uint64_t	 nd_rx_bytes;	/* frame bytes, no virtio header */
	uint64_t	 nd_rx_errors;	/* buffers back with no frame in them */
	uint64_t	 nd_tx_frames;
	uint64_t	 nd_tx_bytes;
};

/*
 * Opens net device `name` (xeno_dev_find; NULL: the first) with rings of
 * rx_size and tx_size entries (0: the default), posts every receive
 * buffer and kicks.  0 or a negative XENO_E* code.
 */
int	xeno_net_open(struct xeno_net *, const char *, uint32_t, uint32_t);

/*
 * The next received frame (Ethernet header first) and its length, or
 * NULL.  The frame stays valid until xeno_net_rx_done gives its buffer
 * back; xeno_net_rx_kick then publishes returned buffers (once per batch).
 */
uint8_t	*xeno_net_rx_next(struct xeno_net *, uint32_t *);
void	 xeno_net_rx_done(struct xeno_net *, uint8_t *);
int	 xeno_net_rx_kick(struct xeno_net *);

/*
 * A free transmit buffer to build a frame in (XENO_ETH_FRAME_MAX bytes),
 * or NULL when every buffer is in flight (finished ones are collected
 * first).  A buffer keeps its contents from its last use, so a sender of
 * the same frames fills each buffer once.  xeno_net_tx_queue then queues
 * the first len bytes of it (no doorbell), xeno_net_tx_kick publishes the
 * batch; xeno_net_tx_drop returns a buffer unsent.
 */
uint8_t	*xeno_net_tx_alloc(struct xeno_net *);
int	 xeno_net_tx_queue(struct xeno_net *, uint8_t *, uint32_t);
void	 xeno_net_tx_drop(struct xeno_net *, uint8_t *);
int	 xeno_net_tx_kick(struct xeno_net *);
/* Collects finished transmit buffers: how many came back. */
uint32_t xeno_net_tx_reap(struct xeno_net *);
/*
 * Publishes queued frames and waits (sleeping) until the device has taken
 * every one, or the deadline: 0, or -XENO_EAGAIN with frames still out.
 * A guest about to exit calls it so that what it counts as sent was.
 */
int	 xeno_net_tx_drain(struct xeno_net *, uint64_t);
/* Copies frame into a buffer and queues it: 0, -XENO_ENOSPC, -XENO_EINVAL. */
int	 xeno_net_send(struct xeno_net *, const void *, uint32_t);

/*
 * virtio-blk.  A request is a readable header, the data, and a writable
 * status byte; with INDIRECT_DESC (accepted when offered) each takes one
 * ring entry, so the queue depth is the ring size.
 */
#define XENO_BLK_SECTOR		XENO_VIRTIO_BLK_SECTOR
/* Status when the device gave a request back without writing one. */
#define XENO_BLK_S_NONE		(-1)

/* Device-visible part of an in-flight request. */
struct xeno_blk_slot {
	struct xeno_virtio_blk_req bs_hdr;
	uint8_t		 bs_status;
	uint8_t		 bs_pad[7];
	void		*bs_cookie;
};

struct xeno_blk {
	struct xeno_hc_device_info bd_info;
	uint32_t	 bd_dev;
	struct xeno_vq	 bd_vq;
	uint64_t	 bd_capacity;	/* sectors */
	int		 bd_ro;
	struct xeno_blk_slot	*bd_slot;
	uint16_t	*bd_free;	/* stack of free slots */
	uint32_t	 bd_nfree;
	uint32_t	 bd_depth;	/* requests that fit in flight */
	uint64_t	 bd_submitted;
	uint64_t	 bd_completed;
	uint64_t	 bd_errors;	/* completed with a status other than OK */
};

/*
 * Opens block device `name` (its VBD id; NULL: the first; "#N": device
 * N) with a ring of `size` entries (0: the default).  0 or a negative
 * XENO_E* code.
 */
int	xeno_blk_open(struct xeno_blk *, const char *, uint32_t);

/*
 * Queues request `type` (XENO_VIRTIO_BLK_T_*) at `sector` with data
 * buf[0..len) (IN and GET_ID: written by the device; OUT and DISCARD:
 * read; FLUSH: none, len 0), no doorbell.  0, -XENO_ENOSPC when the queue
 * depth is reached, -XENO_EINVAL for a length IN/OUT cannot carry.
 */
int	xeno_blk_submit(struct xeno_blk *, uint32_t, uint64_t, void *, uint32_t,
	    void *);
int	xeno_blk_kick(struct xeno_blk *);
/*
 * Collects one finished request: 1 with its cookie and status
 * (XENO_VIRTIO_BLK_S_* or XENO_BLK_S_NONE), 0 if none has finished.
 */
int	xeno_blk_poll(struct xeno_blk *, void **, int *);
/* Sleeps until a request finishes or the deadline (see xeno_vq_wait). */
int	xeno_blk_wait(struct xeno_blk *, uint64_t);
/*
 * One request, synchronously, with nothing else in flight: its status, or
 * a negative XENO_E* code if it could not be submitted.
 */
int	xeno_blk_io(struct xeno_blk *, uint32_t, uint64_t, void *, uint32_t);

static inline uint32_t
xeno_blk_inflight(const struct xeno_blk *bd)
{
	return bd->bd_depth - bd->bd_nfree;
}

#endif /* XENO_DEV_H */
