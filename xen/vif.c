/*
 * The VIF device: the packet loops between a tap and the guest's
 * virtio-net queues, on the VIF's I/O thread (dev.c).
 *
 * Transmit (guest to host): pop a chain, copy the frame out, take rate
 * tokens, pass the firewall hook, write it to the tap, hand the chain
 * back.  When the limiter says wait, the popped frame is kept and the
 * queue is left alone until a timer fires: the guest's ring fills and the
 * guest is held back, nothing is dropped.
 *
 * Receive (host to guest): read a frame from the tap only when the guest
 * has a buffer for it; without buffers, or while the limiter says wait,
 * the tap is not read, so the frames wait in the kernel's tap queue (and
 * the host's senders see back-pressure).
 *
 * One signal to the guest per batch, and the guest's doorbells are
 * suppressed while the loop is draining a queue.
 */
#include <sys/epoll.h>
#include <sys/timerfd.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xen.h"
#include "xeno/log.h"
#include "virtio/net.h"

#define VIF_TAG_TAP	0
#define VIF_TAG_TIMER	1
#define VIF_TAG_TICK	2	/* once a second: flows time out, get logged */
#define VIF_BATCH	32	/* signal the guest at least this often */
#define VIF_PUBLISH	16	/* show it used buffers at least this often */
#define VIF_BUDGET	256	/* frames per turn before looking elsewhere */

struct vif {
	struct net_dev	 vf_net;	/* large: holds the frame buffers */
	struct fw_vif	 vf_fw;
	struct dev	*vf_dev;
	int		 vf_timer;
	int		 vf_tick;
};

static void
vif_tap_watch(struct vif *vf, int on)
{
	struct net_dev *nd = &vf->vf_net;

	if (on == nd->nd_tap_watched)
		return;
	if (on ? dev_watch(vf->vf_dev, nd->nd_tap, EPOLLIN, VIF_TAG_TAP) :
	    dev_unwatch(vf->vf_dev, nd->nd_tap))
		log_warn("vif %s: epoll_ctl", nd->nd_cfg.nc_tap);
	nd->nd_tap_watched = on;
}

/* Arm the timer for the earlier of the two directions' wake times. */
static void
vif_timer_arm(struct vif *vf)
{
	struct net_dev *nd = &vf->vf_net;
	struct itimerspec its;
	uint64_t t = 0;
	int d;

	for (d = NET_RX; d <= NET_TX; d++)
		if (nd->nd_wake_ns[d] != 0 && (t == 0 || nd->nd_wake_ns[d] < t))
			t = nd->nd_wake_ns[d];
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(t / 1000000000ULL);
	its.it_value.tv_nsec = (long)(t % 1000000000ULL);
	if (t != 0 && timerfd_settime(vf->vf_timer, TFD_TIMER_ABSTIME, &its,
	    NULL) == -1)
		log_warn("vif: timerfd_settime");
}

/* May a frame of len bytes go in direction d now?  If not, arm the timer. */
static int
vif_rate_ok(struct vif *vf, int d, size_t len)
{
	struct net_dev *nd = &vf->vf_net;
	uint64_t now;

	if (!rl_enabled(&nd->nd_rl[d]))
		return 1;
	now = vmm_now_ns();
	if (rl_take(&nd->nd_rl[d], len, now)) {
		nd->nd_wake_ns[d] = 0;
		return 1;
	}
	if (nd->nd_wake_ns[d] == 0) {
		if (d == NET_RX)
			nd->nd_stats.sn_rx_throttled++;
		else
			nd->nd_stats.sn_tx_throttled++;
	}
	nd->nd_wake_ns[d] = now + rl_wait_ns(&nd->nd_rl[d], len, now);
	vif_timer_arm(vf);
	return 0;
}

static void
vif_tx(struct vif *vf)
{
	struct net_dev *nd = &vf->vf_net;
	struct dev_queue *q = &vf->vf_dev->dv_q[XENO_PV_NET_TXQ];
	struct virtq *vq = &q->dq_vq;
	struct vq_req req;
	unsigned int n = 0;
	ssize_t w;
	int r;

	if (!q->dq_ready)
		return;
	fw_enter(&vf->vf_fw, vmm_now_ns());
	vq_set_notify(vq, 0);
	for (;;) {
		if (!nd->nd_tx_pending) {
			r = vq_pop(vq, &req);
			if (r == 0) {
				vq_set_notify(vq, 1);
				if (vq_has_work(vq))
					continue;
				break;
			}
			if (r == -1) {
				nd->nd_stats.sn_tx_errors++;
				if (errno == EIO)
					break;	/* the ring is broken */
				continue;
			}
			nd->nd_tx_len = net_tx_copy(nd, &req);
			if (nd->nd_tx_len == 0) {
				vq_push(vq, req.vr_head, 0);
				continue;
			}
			nd->nd_tx_head = req.vr_head;
			nd->nd_tx_pending = 1;
		}
		if (!vif_rate_ok(vf, NET_TX, nd->nd_tx_len))
			break;	/* the timer brings us back */
		if (!fw_hook(&vf->vf_fw, VFR_DIR_OUT, nd->nd_txbuf,
		    nd->nd_tx_len))
			nd->nd_stats.sn_tx_drop_filter++;
		else {
			w = write(nd->nd_tap, nd->nd_txbuf, nd->nd_tx_len);
			if (w == (ssize_t)nd->nd_tx_len) {
				nd->nd_stats.sn_tx_packets++;
				nd->nd_stats.sn_tx_bytes += nd->nd_tx_len;
			} else
				nd->nd_stats.sn_tx_drop_tap++;
		}
		vq_push_lazy(vq, nd->nd_tx_head, 0);
		nd->nd_tx_pending = 0;
		if (++n % VIF_PUBLISH == 0)
			vq_publish(vq);
		if (n % VIF_BATCH == 0)
			dev_signal(q);
		if (n >= VIF_BUDGET) {
			/* let receive and the counters have a turn */
			dev_requeue(vf->vf_dev);
			break;
		}
	}
	fw_leave(&vf->vf_fw);
	dev_signal(q);
}

/* Deliver frames from the tap while the guest has buffers. */
static void
vif_rx(struct vif *vf)
{
	struct net_dev *nd = &vf->vf_net;
	struct dev_queue *q = &vf->vf_dev->dv_q[XENO_PV_NET_RXQ];
	struct virtq *vq = &q->dq_vq;
	struct vq_req req;
	unsigned int n = 0;
	uint32_t used;
	ssize_t rd;
	int r, stall = 0;

	if (!q->dq_ready)
		return;
	fw_enter(&vf->vf_fw, vmm_now_ns());
	vq_set_notify(vq, 0);
	for (;;) {
		if (!vq_has_work(vq)) {
			vq_set_notify(vq, 1);
			if (!vq_has_work(vq)) {
				/* no buffers: leave frames in the tap */
				stall = 1;
				if (!vq->vq_broken)
					nd->nd_stats.sn_rx_stalls++;
				break;
			}
			vq_set_notify(vq, 0);
		}
		if (nd->nd_rx_len == 0 && fw_inject_pending(&vf->vf_fw)) {
			/* a reject answer for the guest: no rules, no limit */
			nd->nd_rx_len = fw_inject_take(&vf->vf_fw, nd->nd_rxbuf,
			    NET_BUF_MAX);
			nd->nd_rx_paid = 1;
		}
		if (nd->nd_rx_len == 0) {
			rd = read(nd->nd_tap, nd->nd_rxbuf, NET_BUF_MAX);
			if (rd == -1 && (errno == EAGAIN || errno == EINTR))
				break;
			if (rd <= 0) {
				nd->nd_stats.sn_rx_errors++;
				break;
			}
			if (rd < NET_FRAME_MIN) {
				nd->nd_stats.sn_rx_errors++;
				continue;
			}
			if (!fw_hook(&vf->vf_fw, VFR_DIR_IN, nd->nd_rxbuf,
			    (size_t)rd)) {
				nd->nd_stats.sn_rx_drop_filter++;
				continue;
			}
			nd->nd_rx_len = (size_t)rd;
			nd->nd_rx_paid = 0;
		}
		if (!nd->nd_rx_paid) {
			if (!vif_rate_ok(vf, NET_RX, nd->nd_rx_len)) {
				stall = 1;
				break;
			}
			nd->nd_rx_paid = 1;
		}
		r = vq_pop(vq, &req);
		if (r == 0)
			continue;	/* raced with has_work: look again */
		if (r == -1) {
			nd->nd_stats.sn_rx_errors++;
			if (errno == EIO) {
				stall = 1;
				break;
			}
			continue;
		}
		used = net_rx_copy(nd, &req);
		vq_push_lazy(vq, req.vr_head, used);
		if (used != 0) {
			nd->nd_stats.sn_rx_packets++;
			nd->nd_stats.sn_rx_bytes += nd->nd_rx_len;
		}
		nd->nd_rx_len = 0;
		if (++n % VIF_PUBLISH == 0)
			vq_publish(vq);
		if (n % VIF_BATCH == 0)
			dev_signal(q);
		if (n >= VIF_BUDGET)
			break;	/* the tap is still watched: we come back */
	}
	fw_leave(&vf->vf_fw);
	vif_tap_watch(vf, !stall);
	dev_signal(q);
}

static void
vif_queue(struct dev *d, struct dev_queue *q)
{
	struct vif *vf = d->dv_priv;

	if (q->dq_index == XENO_PV_NET_TXQ) {
		vif_tx(vf);
		if (fw_inject_pending(&vf->vf_fw))
			vif_rx(vf);	/* answers to rejected frames */
	} else
		vif_rx(vf);
}

static void
vif_event(struct dev *d, unsigned int tag)
{
	struct vif *vf = d->dv_priv;
	uint64_t v;

	if (tag == VIF_TAG_TICK) {
		if (read(vf->vf_tick, &v, sizeof(v)) == -1 && errno != EAGAIN)
			log_warn("vif: timerfd");
		fw_tick(&vf->vf_fw, vmm_now_ns());
		return;
	}
	if (tag == VIF_TAG_TIMER) {
		if (read(vf->vf_timer, &v, sizeof(v)) == -1 && errno != EAGAIN)
			log_warn("vif: timerfd");
		vif_tx(vf);
	}
	vif_rx(vf);
}

static void
vif_stats(struct dev *d, struct xeno_stats_dev *s)
{
	struct vif *vf = d->dv_priv;

	s->sx_net = vf->vf_net.nd_stats;
	fw_stats(&vf->vf_fw, &s->sx_net);
}

static void
vif_destroy(struct dev *d)
{
	struct vif *vf = d->dv_priv;

	if (vf == NULL)
		return;
	fw_vif_destroy(&vf->vf_fw);
	net_close(&vf->vf_net);
	if (vf->vf_timer != -1)
		close(vf->vf_timer);
	if (vf->vf_tick != -1)
		close(vf->vf_tick);
	free(vf);
	d->dv_priv = NULL;
}

static const struct dev_ops vif_ops = {
	.do_queue = vif_queue,
	.do_event = vif_event,
	.do_stats = vif_stats,
	.do_destroy = vif_destroy,
};

int
vif_create(struct dev *d, const char *spec, char *err, size_t errsz,
    int *code)
{
	static const struct itimerspec tick = { { 1, 0 }, { 1, 0 } };
	struct xeno_hc_device_info *di = &d->dv_info;
	struct fw_ident id;
	struct net_config nc;
	struct net_dev *nd;
	struct vif *vf;

	*code = HV_EXIT_USAGE;
	if (net_parse(spec, &nc, err, errsz) == -1)
		return -1;
	vf = malloc(sizeof(*vf));
	if (vf == NULL) {
		*code = HV_EXIT_OSERR;
		return err_set(err, errsz, errno, "--vif");
	}
	vf->vf_dev = d;
	vf->vf_timer = vf->vf_tick = -1;
	vf->vf_net.nd_tap = -1;
	vf->vf_fw.fv_dom = NULL;
	d->dv_priv = vf;
	d->dv_ops = &vif_ops;
	nd = &vf->vf_net;
	*code = HV_EXIT_OSERR;
	if (net_open(nd, &nc, vmm_now_ns(), err, errsz) == -1)
		return -1;
	vf->vf_timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC);
	if (vf->vf_timer == -1 || dev_watch(d, vf->vf_timer, EPOLLIN,
	    VIF_TAG_TIMER) == -1)
		return err_set(err, errsz, errno, "--vif: timerfd");
	vf->vf_tick = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC);
	if (vf->vf_tick == -1 || timerfd_settime(vf->vf_tick, 0, &tick, NULL)
	    == -1 || dev_watch(d, vf->vf_tick, EPOLLIN, VIF_TAG_TICK) == -1)
		return err_set(err, errsz, errno, "--vif: timerfd");
	memset(&id, 0, sizeof(id));
	memcpy(id.fi_mac, nd->nd_cfg.nc_mac, 6);
	id.fi_has_ip4 = nd->nd_cfg.nc_ip4_prefix != 0;
	memcpy(id.fi_ip4, nd->nd_cfg.nc_ip4, 4);
	id.fi_has_ip6 = nd->nd_cfg.nc_ip6_prefix != 0;
	memcpy(id.fi_ip6, nd->nd_cfg.nc_ip6, 16);
	if (fw_vif_init(&vf->vf_fw, &d->dv_vm->vm_fw, d->dv_index,
	    nd->nd_cfg.nc_tap, &id, nd->nd_cfg.nc_flows, &nd->nd_stats,
	    nd->nd_tap) == -1)
		return err_set(err, errsz, errno, "--vif: flow table");
	vif_tap_watch(vf, 1);
	di->type = XENO_PV_DEV_NET;
	di->queue_max = VQ_MAX_SIZE;
	di->features = 1ULL << XENO_VIRTIO_F_VERSION_1 |
	    1ULL << XENO_VIRTIO_F_EVENT_IDX |
	    1ULL << XENO_VIRTIO_F_INDIRECT_DESC |
	    1ULL << XENO_VIRTIO_NET_F_MAC | 1ULL << XENO_VIRTIO_NET_F_MTU;
	memcpy(di->mac, nd->nd_cfg.nc_mac, 6);
	di->mtu = NET_MTU;
	memcpy(di->ip4, nd->nd_cfg.nc_ip4, 4);
	di->ip4_prefix = nd->nd_cfg.nc_ip4_prefix;
	memcpy(di->ip6, nd->nd_cfg.nc_ip6, 16);
	di->ip6_prefix = nd->nd_cfg.nc_ip6_prefix;
	snprintf(di->name, sizeof(di->name), "%s", nd->nd_cfg.nc_tap);
	return 0;
}
