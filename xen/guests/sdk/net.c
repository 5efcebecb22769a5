/*
 * virtio-net over the PV transport (xeno_dev.h): queue 0 receives, queue 1
 * transmits.  Each buffer is one descriptor holding the virtio-net header
 * and then the frame, so a frame costs one ring entry and no indirect
 * table, and a buffer's index in its array is fixed for its life.
 */
#include "sdk.h"
#include "xeno_dev.h"

/* Offered features we can use: only the ring ones (no offloads). */
#define NET_FEATURES	(XENO_F(XENO_VIRTIO_F_EVENT_IDX) |		\
			    XENO_F(XENO_VIRTIO_NET_F_MAC) |		\
			    XENO_F(XENO_VIRTIO_NET_F_MTU))

static int
net_post_rx(struct xeno_net *nd, uint8_t *buf)
{
	struct xeno_vq_buf b = {
		.vb_addr = buf,
		.vb_len = XENO_NET_BUF_SIZE,
		.vb_write = 1,
	};

	return xeno_vq_add(&nd->nd_rxq, &b, 1, buf);
}

int
xeno_net_open(struct xeno_net *nd, const char *name, uint32_t rx_size,
    uint32_t tx_size)
{
	uint64_t features;
	uint32_t i;
	int dev, rc;

	memset(nd, 0, sizeof(*nd));
	if ((dev = xeno_dev_find(XENO_PV_DEV_NET, name, &nd->nd_info)) < 0)
		return dev;
	nd->nd_dev = (uint32_t)dev;
	features = nd->nd_info.features & NET_FEATURES;
	if ((rc = xeno_vq_setup(&nd->nd_rxq, nd->nd_dev, XENO_PV_NET_RXQ,
	    rx_size, features)) < 0)
		return rc;
	if ((rc = xeno_vq_setup(&nd->nd_txq, nd->nd_dev, XENO_PV_NET_TXQ,
	    tx_size, features)) < 0)
		return rc;	/* the receive ring stays: it is for life */

	nd->nd_rx_buf = aligned_alloc(XENO_PV_PAGE_SIZE,
	    (size_t)nd->nd_rxq.vq_size * XENO_NET_BUF_SIZE);
	nd->nd_tx_buf = aligned_alloc(XENO_PV_PAGE_SIZE,
	    (size_t)nd->nd_txq.vq_size * XENO_NET_BUF_SIZE);
	nd->nd_tx_free = malloc(nd->nd_txq.vq_size * sizeof(uint16_t));
	if (nd->nd_rx_buf == NULL || nd->nd_tx_buf == NULL ||
	    nd->nd_tx_free == NULL)
		return -XENO_ENOMEM;
	/* Transmit headers stay zero: no offloads. */
	memset(nd->nd_tx_buf, 0, (size_t)nd->nd_txq.vq_size *
	    XENO_NET_BUF_SIZE);
	for (i = 0; i < nd->nd_txq.vq_size; i++)
		nd->nd_tx_free[i] = (uint16_t)(nd->nd_txq.vq_size - 1 - i);
	nd->nd_tx_nfree = nd->nd_txq.vq_size;
	for (i = 0; i < nd->nd_rxq.vq_size; i++)
		if ((rc = net_post_rx(nd, nd->nd_rx_buf +
		    (size_t)i * XENO_NET_BUF_SIZE)) < 0)
			return rc;
	xeno_vq_kick(&nd->nd_rxq);
	return 0;
}

uint8_t *
xeno_net_rx_next(struct xeno_net *nd, uint32_t *len)
{
	void *cookie;
	uint32_t n;

	while (xeno_vq_get(&nd->nd_rxq, &cookie, &n)) {
		/*
		 * A buffer back without a frame (the device gave up on it):
		 * post it again.  Our buffers are well formed, so this is not
		 * expected, but it must not leak buffers.
		 */
		if (n < XENO_NET_HDR_LEN + XENO_ETH_FRAME_MIN ||
		    n > XENO_NET_BUF_SIZE) {
			nd->nd_rx_errors++;
			net_post_rx(nd, cookie);
			continue;
		}
		nd->nd_rx_frames++;
		nd->nd_rx_bytes += n - XENO_NET_HDR_LEN;
		*len = n - XENO_NET_HDR_LEN;
		return (uint8_t *)cookie + XENO_NET_HDR_LEN;
	}
	return NULL;
}

void
xeno_net_rx_done(struct xeno_net *nd, uint8_t *frame)
{
	/* Cannot fail: the buffer's own ring entry came back with it. */
	net_post_rx(nd, frame - XENO_NET_HDR_LEN);
}

int
xeno_net_rx_kick(struct xeno_net *nd)
{
	return xeno_vq_kick(&nd->nd_rxq);
}

uint32_t
xeno_net_tx_reap(struct xeno_net *nd)
{
	uint32_t n = 0;
	void *cookie;

	while (xeno_vq_get(&nd->nd_txq, &cookie, NULL)) {
		nd->nd_tx_free[nd->nd_tx_nfree++] = (uint16_t)(((uint8_t *)
		    cookie - nd->nd_tx_buf) / XENO_NET_BUF_SIZE);
		n++;
	}
	return n;
}

uint8_t *
xeno_net_tx_alloc(struct xeno_net *nd)
{
	uint16_t i;

	if (nd->nd_tx_nfree == 0 && xeno_net_tx_reap(nd) == 0)
		return NULL;
	i = nd->nd_tx_free[--nd->nd_tx_nfree];
	return nd->nd_tx_buf + (size_t)i * XENO_NET_BUF_SIZE +
	    XENO_NET_HDR_LEN;
}

void
xeno_net_tx_drop(struct xeno_net *nd, uint8_t *frame)
{
	nd->nd_tx_free[nd->nd_tx_nfree++] = (uint16_t)((frame -
	    XENO_NET_HDR_LEN - nd->nd_tx_buf) / XENO_NET_BUF_SIZE);
}

int
xeno_net_tx_queue(struct xeno_net *nd, uint8_t *frame, uint32_t len)
{
	struct xeno_vq_buf b = {
		.vb_addr = frame - XENO_NET_HDR_LEN,
		.vb_len = XENO_NET_HDR_LEN + len,
	};
	int rc;

	if (len < XENO_ETH_FRAME_MIN || len > XENO_ETH_FRAME_MAX) {
		xeno_net_tx_drop(nd, frame);
		return -XENO_EINVAL;
	}
	/* One buffer per ring entry, so a taken buffer always has one. */
	if ((rc = xeno_vq_add(&nd->nd_txq, &b, 1, frame -
	    XENO_NET_HDR_LEN)) < 0) {
		xeno_net_tx_drop(nd, frame);
		return rc;
	}
	nd->nd_tx_frames++;
	nd->nd_tx_bytes += len;
	return 0;
}

int
xeno_net_tx_kick(struct xeno_net *nd)
{
	return xeno_vq_kick(&nd->nd_txq);
}

int
xeno_net_send(struct xeno_net *nd, const void *frame, uint32_t len)
{
	uint8_t *buf;

	if (len < XENO_ETH_FRAME_MIN || len > XENO_ETH_FRAME_MAX)
		return -XENO_EINVAL;
	if ((buf = xeno_net_tx_alloc(nd)) == NULL)
		return -XENO_ENOSPC;
	memcpy(buf, frame, len);
	return xeno_net_tx_queue(nd, buf, len);
}

int
xeno_net_tx_drain(struct xeno_net *nd, uint64_t deadline)
{
	struct xeno_vq *vq = &nd->nd_txq;

	xeno_vq_kick(vq);
	for (;;) {
		xeno_net_tx_reap(nd);
		if (xeno_vq_inflight(vq) == 0)
			return 0;
		if (xeno_mono_ns() >= deadline ||
		    xeno_vq_wait(&vq, 1, deadline) < 0)
			return -XENO_EAGAIN;
	}
}
