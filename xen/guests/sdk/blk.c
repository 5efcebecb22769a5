/*
 * virtio-blk over the PV transport (xeno_dev.h).  Each in-flight request
 * owns a slot holding its header and status byte, which the device reads
 * and writes; the data buffer is the caller's, used in place (guest
 * addresses are physical, so any contiguous buffer is one descriptor).
 */
#include "sdk.h"
#include "xeno_dev.h"

#define BLK_FEATURES	(XENO_F(XENO_VIRTIO_F_EVENT_IDX) |		\
			    XENO_F(XENO_VIRTIO_F_INDIRECT_DESC) |		\
			    XENO_F(XENO_VIRTIO_BLK_F_RO) |			\
			    XENO_F(XENO_VIRTIO_BLK_F_FLUSH) |		\
			    XENO_F(XENO_VIRTIO_BLK_F_DISCARD))
#define BLK_SEGS	3	/* header, data, status */

int
xeno_blk_open(struct xeno_blk *bd, const char *name, uint32_t size)
{
	uint32_t i;
	int dev, rc;

	memset(bd, 0, sizeof(*bd));
	if ((dev = xeno_dev_find(XENO_PV_DEV_BLOCK, name, &bd->bd_info)) < 0)
		return dev;
	bd->bd_dev = (uint32_t)dev;
	bd->bd_capacity = bd->bd_info.capacity;
	bd->bd_ro = (bd->bd_info.flags & XENO_PV_DEV_RO) != 0 ||
	    (bd->bd_info.features & XENO_F(XENO_VIRTIO_BLK_F_RO)) != 0;
	if ((rc = xeno_vq_setup(&bd->bd_vq, bd->bd_dev, 0, size,
	    bd->bd_info.features & BLK_FEATURES)) < 0)
		return rc;
	/* Without indirect tables a request takes a descriptor per segment. */
	bd->bd_depth = bd->bd_vq.vq_indirect ? bd->bd_vq.vq_size :
	    bd->bd_vq.vq_size / BLK_SEGS;
	bd->bd_slot = aligned_alloc(64, bd->bd_depth * sizeof(*bd->bd_slot));
	bd->bd_free = malloc(bd->bd_depth * sizeof(*bd->bd_free));
	if (bd->bd_slot == NULL || bd->bd_free == NULL)
		return -XENO_ENOMEM;
	for (i = 0; i < bd->bd_depth; i++)
		bd->bd_free[i] = (uint16_t)(bd->bd_depth - 1 - i);
	bd->bd_nfree = bd->bd_depth;
	return 0;
}

int
xeno_blk_submit(struct xeno_blk *bd, uint32_t type, uint64_t sector,
    void *buf, uint32_t len, void *cookie)
{
	struct xeno_vq_buf b[BLK_SEGS];
	struct xeno_blk_slot *s;
	unsigned int n = 0;
	uint16_t i;
	int rc;

	switch (type) {
	case XENO_VIRTIO_BLK_T_IN:
	case XENO_VIRTIO_BLK_T_OUT:
		if (len == 0 || len % XENO_BLK_SECTOR != 0)
			return -XENO_EINVAL;
		break;
	case XENO_VIRTIO_BLK_T_FLUSH:
		len = 0;
		break;
	case XENO_VIRTIO_BLK_T_GET_ID:
	case XENO_VIRTIO_BLK_T_DISCARD:
		if (len == 0)
			return -XENO_EINVAL;
		break;
	default:
		/* Anything else goes through as asked: the device decides. */
		break;
	}
	if (bd->bd_nfree == 0)
		return -XENO_ENOSPC;
	i = bd->bd_free[bd->bd_nfree - 1];
	s = &bd->bd_slot[i];
	s->bs_hdr = (struct xeno_virtio_blk_req){
		.type = type,
		.sector = sector,
	};
	/* Shows whether the device wrote a status at all. */
	s->bs_status = 0xff;
	s->bs_cookie = cookie;
	b[n++] = (struct xeno_vq_buf){ &s->bs_hdr, sizeof(s->bs_hdr), 0 };
	if (len > 0)
		b[n++] = (struct xeno_vq_buf){ buf, len,
		    type == XENO_VIRTIO_BLK_T_IN ||
		    type == XENO_VIRTIO_BLK_T_GET_ID };
	b[n++] = (struct xeno_vq_buf){ &s->bs_status, 1, 1 };
	if ((rc = xeno_vq_add(&bd->bd_vq, b, n,
	    (void *)(uintptr_t)i)) < 0)
		return rc;
	bd->bd_nfree--;
	bd->bd_submitted++;
	return 0;
}

int
xeno_blk_kick(struct xeno_blk *bd)
{
	return xeno_vq_kick(&bd->bd_vq);
}

int
xeno_blk_poll(struct xeno_blk *bd, void **cookie, int *status)
{
	struct xeno_blk_slot *s;
	void *c;
	uint32_t len;
	uint16_t i;

	if (!xeno_vq_get(&bd->bd_vq, &c, &len))
		return 0;
	i = (uint16_t)(uintptr_t)c;
	s = &bd->bd_slot[i];
	/* The status is the last byte written: len 0 means none was. */
	*status = len == 0 ? XENO_BLK_S_NONE : __atomic_load_n(&s->bs_status,
	    __ATOMIC_RELAXED);
	if (*status != XENO_VIRTIO_BLK_S_OK)
		bd->bd_errors++;
	if (cookie != NULL)
		*cookie = s->bs_cookie;
	bd->bd_free[bd->bd_nfree++] = i;
	bd->bd_completed++;
	return 1;
}

int
xeno_blk_wait(struct xeno_blk *bd, uint64_t deadline)
{
	struct xeno_vq *vq = &bd->bd_vq;

	return xeno_vq_wait(&vq, 1, deadline);
}

int
xeno_blk_io(struct xeno_blk *bd, uint32_t type, uint64_t sector, void *buf,
    uint32_t len)
{
	int rc, status;

	if ((rc = xeno_blk_submit(bd, type, sector, buf, len, NULL)) < 0)
		return rc;
	xeno_blk_kick(bd);
	while (!xeno_blk_poll(bd, NULL, &status))
		if ((rc = xeno_blk_wait(bd, UINT64_MAX)) < 0)
			return rc;
	return status;
}
