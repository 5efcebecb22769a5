/*
 * The virtqueue driver: virtio 1.x split rings, guest side, over the PV
 * transport (xeno_dev.h).  The device is xeno-hv's I/O thread, another
 * CPU reading and writing the rings while we do.
 *
 * Memory ordering (x86 is TSO, but the compiler is not):
 *  - descriptors and avail ring entries are plain stores, published by a
 *    release store of avail->idx, so the device never sees an index ahead
 *    of what it covers;
 *  - used->idx is loaded with acquire before the used entries it covers;
 *  - kicking (publish avail idx, then read the device's avail_event or
 *    NO_NOTIFY) and arming (publish used_event, then re-read used idx)
 *    are store-then-load handshakes with the device, which does the
 *    mirror image: each needs a full fence between the two or both sides
 *    can miss each other and the queue stalls.
 */
#include "sdk.h"
#include "xeno_dev.h"

#define VQ_RING_ALIGN	64	/* a cache line: rings share none */

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

int
xeno_dev_find(uint32_t type, const char *name,
    struct xeno_hc_device_info *info)
{
	uint32_t i, n = xeno_bootinfo()->bi_nr_devices;
	uint64_t want;
	const char *p;

	if (name != NULL && name[0] == '#') {
		for (want = 0, p = name + 1; *p >= '0' && *p <= '9'; p++)
			want = want * 10 + (*p - '0');
		if (p == name + 1 || *p != '\0' || want >= n ||
		    xeno_device_info(want, info) < 0 || info->type != type)
			return -XENO_ENODEV;
		return (int)want;
	}
	for (i = 0; i < n; i++) {
		if (xeno_device_info(i, info) < 0 || info->type != type)
			continue;
		/* name[] is the host's: do not trust it to be terminated. */
		if (name == NULL || name[0] == '\0' ||
		    (strlen(name) < sizeof(info->name) &&
		    strncmp(info->name, name, sizeof(info->name)) == 0))
			return (int)i;
	}
	return -XENO_ENODEV;
}

static void
vq_free_rings(struct xeno_vq *vq)
{
	free(vq->vq_desc);
	free(vq->vq_avail);
	free(vq->vq_used);
	free(vq->vq_next);
	free(vq->vq_slot);
	free(vq->vq_itable);
}

int
xeno_vq_setup(struct xeno_vq *vq, uint32_t dev, uint32_t queue,
    uint32_t size, uint64_t features)
{
	struct xeno_hc_device_info info;
	struct xeno_hc_queue_setup qs;
	size_t avail_bytes, used_bytes;
	uint32_t i;
	int64_t rc;

	memset(vq, 0, sizeof(*vq));
	if (size == 0) {
		if ((rc = xeno_device_info(dev, &info)) < 0)
			return (int)rc;
		size = info.queue_max < XENO_VQ_SIZE_DEFAULT ?
		    info.queue_max : XENO_VQ_SIZE_DEFAULT;
	}
	/* The device checks too; this keeps our own arrays sane. */
	if (size == 0 || size > XENO_VQ_SIZE_MAX || (size & (size - 1)) != 0)
		return -XENO_EINVAL;
	features |= XENO_F(XENO_VIRTIO_F_VERSION_1);

	vq->vq_dev = dev;
	vq->vq_queue = queue;
	vq->vq_size = size;
	vq->vq_features = features;
	vq->vq_event_idx = (features & XENO_F(XENO_VIRTIO_F_EVENT_IDX)) != 0;
	vq->vq_indirect = (features & XENO_F(XENO_VIRTIO_F_INDIRECT_DESC)) != 0;
	/* With or without event_idx, room for the trailing event word. */
	avail_bytes = 4 + 2 * (size_t)size + 2;
	used_bytes = 4 + 8 * (size_t)size + 2;
	vq->vq_desc = aligned_alloc(XENO_PV_PAGE_SIZE,
	    size * sizeof(struct xeno_vring_desc));
	vq->vq_avail = aligned_alloc(VQ_RING_ALIGN, avail_bytes);
	vq->vq_used = aligned_alloc(VQ_RING_ALIGN, used_bytes);
	vq->vq_next = malloc(size * sizeof(*vq->vq_next));
	vq->vq_slot = calloc(size, sizeof(*vq->vq_slot));
	if (vq->vq_indirect)
		vq->vq_itable = aligned_alloc(VQ_RING_ALIGN, (size_t)size *
		    XENO_VQ_INDIRECT_MAX * sizeof(struct xeno_vring_desc));
	if (vq->vq_desc == NULL || vq->vq_avail == NULL ||
	    vq->vq_used == NULL || vq->vq_next == NULL ||
	    vq->vq_slot == NULL || (vq->vq_indirect && vq->vq_itable == NULL)) {
		vq_free_rings(vq);
		memset(vq, 0, sizeof(*vq));
		return -XENO_ENOMEM;
	}
	/* The heap may hand back memory with old contents: rings start zero. */
	memset(vq->vq_desc, 0, size * sizeof(struct xeno_vring_desc));
	memset(vq->vq_avail, 0, avail_bytes);
	memset(vq->vq_used, 0, used_bytes);
	for (i = 0; i < size; i++)
		vq->vq_next[i] = (uint16_t)(i + 1);
	vq->vq_nfree = size;
	vq->vq_used_event = &vq->vq_avail->ring[size];
	vq->vq_avail_event = (uint16_t *)(void *)&vq->vq_used->ring[size];
	/* Quiet until a waiter arms the queue. */
	xeno_vq_disarm(vq);

	qs = (struct xeno_hc_queue_setup){
		.index = dev,
		.queue = queue,
		.size = size,
		.features = features,
		.desc = (uintptr_t)vq->vq_desc,
		.avail = (uintptr_t)vq->vq_avail,
		.used = (uintptr_t)vq->vq_used,
	};
	if ((rc = xeno_queue_setup(&qs)) < 0) {
		vq_free_rings(vq);
		memset(vq, 0, sizeof(*vq));
		return (int)rc;
	}
	if (rc >= XENO_PV_DOORBELL_MAX)
		xeno_abort("xeno-hv gave queue %u of device %u doorbell %ld, "
		    "the PV ABI has %d", queue, dev, (long)rc,
		    XENO_PV_DOORBELL_MAX);
	vq->vq_q = (uint32_t)rc;
	return 0;
}

int
xeno_vq_alloc_chain(struct xeno_vq *vq, unsigned int n, uint16_t *idx)
{
	unsigned int i;
	uint16_t d;

	if (n == 0)
		return -XENO_EINVAL;
	if (n > vq->vq_nfree)
		return -XENO_ENOSPC;
	d = vq->vq_free_head;
	for (i = 0; i < n; i++) {
		idx[i] = d;
		d = vq->vq_next[d];
	}
	vq->vq_free_head = d;
	vq->vq_nfree -= n;
	vq->vq_slot[idx[0]].vs_ndesc = (uint16_t)n;
	return 0;
}

void
xeno_vq_post(struct xeno_vq *vq, uint16_t head, void *cookie)
{
	vq->vq_slot[head].vs_cookie = cookie;
	vq->vq_avail->ring[vq->vq_avail_idx & (vq->vq_size - 1)] = head;
	vq->vq_avail_idx++;
	vq->vq_added++;
}

/*
 * Write a descriptor only if it changes.  The device only reads
 * descriptors, so one left alone stays cached on both sides and a buffer
 * posted again in the same slot costs the device no cache miss; a store
 * of the same bytes would take the line back to this core.
 */
static void
vq_desc_set(struct xeno_vring_desc *d, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next)
{
	if (d->addr != addr || d->len != len || d->flags != flags ||
	    d->next != next)
		*d = (struct xeno_vring_desc){ addr, len, flags, next };
}

static void
vq_desc_put(struct xeno_vring_desc *d, const struct xeno_vq_buf *b, int more,
    uint16_t next)
{
	vq_desc_set(d, (uintptr_t)b->vb_addr, b->vb_len,
	    (uint16_t)((b->vb_write ? XENO_VRING_DESC_F_WRITE : 0) |
	    (more ? XENO_VRING_DESC_F_NEXT : 0)), next);
}

int
xeno_vq_add(struct xeno_vq *vq, const struct xeno_vq_buf *bufs,
    unsigned int n, void *cookie)
{
	struct xeno_vring_desc *d;
	uint16_t head, i;
	unsigned int k;

	if (n == 0 || n > vq->vq_size)
		return -XENO_EINVAL;
	if (vq->vq_indirect && n > 1) {
		if (n > XENO_VQ_INDIRECT_MAX)
			return -XENO_EINVAL;
		if (vq->vq_nfree == 0)
			return -XENO_ENOSPC;
		head = vq->vq_free_head;
		d = &vq->vq_itable[(size_t)head * XENO_VQ_INDIRECT_MAX];
		for (k = 0; k < n; k++)
			vq_desc_put(&d[k], &bufs[k], k + 1 < n, (uint16_t)(k + 1));
		vq_desc_set(&vq->vq_desc[head], (uintptr_t)d,
		    n * sizeof(*d), XENO_VRING_DESC_F_INDIRECT, 0);
		vq->vq_free_head = vq->vq_next[head];
		vq->vq_nfree--;
		vq->vq_slot[head].vs_ndesc = 1;
	} else {
		if (n > vq->vq_nfree)
			return -XENO_ENOSPC;
		head = i = vq->vq_free_head;
		for (k = 0; k < n; k++) {
			vq_desc_put(&vq->vq_desc[i], &bufs[k], k + 1 < n,
			    vq->vq_next[i]);
			i = vq->vq_next[i];
		}
		vq->vq_free_head = i;
		vq->vq_nfree -= n;
		vq->vq_slot[head].vs_ndesc = (uint16_t)n;
	}
	xeno_vq_post(vq, head, cookie);
	return head;
}

int
xeno_vq_kick(struct xeno_vq *vq)
{
	uint16_t new_idx = vq->vq_avail_idx, old_idx = vq->vq_kicked_idx;
	int need;

	if (new_idx == old_idx)
		return 0;
	__atomic_store_n(&vq->vq_avail->idx, new_idx, __ATOMIC_RELEASE);
	vq->vq_kicked_idx = new_idx;
	vq->vq_kicks++;
	/* Our avail idx store before the device's avail_event/flags load. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->vq_event_idx)
		/*
		 * virtio's vring_need_event: ring only if this batch moved
		 * the index past the slot the device said it waits for.
		 */
		need = (uint16_t)(new_idx - vq_load16(vq->vq_avail_event) - 1) <
		    (uint16_t)(new_idx - old_idx);
	else
		need = !(vq_load16(&vq->vq_used->flags) &
		    XENO_VRING_USED_F_NO_NOTIFY);
	if (need) {
		vq->vq_doorbells++;
		xeno_queue_notify(vq->vq_q);
	}
	return need;
}

int
xeno_vq_pending(const struct xeno_vq *vq)
{
	return __atomic_load_n(&vq->vq_used->idx, __ATOMIC_ACQUIRE) !=
	    vq->vq_used_idx;
}

int
xeno_vq_get(struct xeno_vq *vq, void **cookie, uint32_t *len)
{
	struct xeno_vring_used_elem e;
	struct xeno_vq_slot *s;
	uint16_t last, i, n;

	if (!xeno_vq_pending(vq))
		return 0;
	e = vq->vq_used->ring[vq->vq_used_idx & (vq->vq_size - 1)];
	vq->vq_used_idx++;
	/*
	 * xeno-hv is not hostile, but a broken one must be caught here
	 * rather than corrupt our free list.
	 */
	if (e.id >= vq->vq_size || vq->vq_slot[e.id].vs_ndesc == 0)
		xeno_abort("device %u queue %u returned head %u, which is not "
		    "in flight", vq->vq_dev, vq->vq_queue, e.id);
	s = &vq->vq_slot[e.id];
	for (last = (uint16_t)e.id, n = 1; n < s->vs_ndesc; n++)
		last = vq->vq_next[last];
	i = (uint16_t)e.id;
	vq->vq_next[last] = vq->vq_free_head;
	vq->vq_free_head = i;
	vq->vq_nfree += s->vs_ndesc;
	s->vs_ndesc = 0;
	vq->vq_completed++;
	if (cookie != NULL)
		*cookie = s->vs_cookie;
	if (len != NULL)
		*len = e.len;
	return 1;
}

int
xeno_vq_arm_n(struct xeno_vq *vq, uint16_t n)
{
	if (n == 0)
		n = 1;
	if (vq->vq_event_idx)
		/* Signal when the used idx passes entry used_idx + n - 1. */
		vq_store16(vq->vq_used_event,
		    (uint16_t)(vq->vq_used_idx + n - 1));
	else
		vq_store16(&vq->vq_avail->flags, 0);
	/* Our request before the re-check of used idx. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return (uint16_t)(__atomic_load_n(&vq->vq_used->idx, __ATOMIC_ACQUIRE) -
	    vq->vq_used_idx) >= n;
}

int
xeno_vq_arm(struct xeno_vq *vq)
{
	return xeno_vq_arm_n(vq, 1);
}

void
xeno_vq_disarm(struct xeno_vq *vq)
{
	if (vq->vq_event_idx)
		/*
		 * An entry behind us: the device signals only when its used
		 * idx passes it, which takes another 65536 entries.
		 */
		vq_store16(vq->vq_used_event, (uint16_t)(vq->vq_used_idx - 1));
	else
		vq_store16(&vq->vq_avail->flags,
		    XENO_VRING_AVAIL_F_NO_INTERRUPT);
}

int
xeno_vq_wait(struct xeno_vq *const *vqs, unsigned int n, uint64_t deadline)
{
	uint64_t ready, mask = 0;
	unsigned int i;
	int work = 0;
	int64_t rc;

	for (i = 0; i < n; i++) {
		if (xeno_vq_arm(vqs[i]))
			work = 1;
		if (vqs[i]->vq_q < 64)
			mask |= 1ULL << vqs[i]->vq_q;
	}
	if (work)
		return 1;
	if ((rc = xeno_yield(deadline, &ready)) < 0)
		return (int)rc;
	for (i = 0; i < n; i++)
		if (xeno_vq_pending(vqs[i]))
			return 1;
	/* Signalled, yet nothing to collect: wake the caller anyway. */
	return (ready & mask) != 0;
}
