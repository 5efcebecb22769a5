/*
 * The VBD device: the request loop of a virtio-blk queue, on the VBD's
 * I/O thread (dev.c).  What a request means and the storage behind it
 * are xen/virtio/blk.c's.
 *
 * The lease: a realtime timer fires at the expiry so the counters say
 * "expired" on time even if the guest does no I/O; from then on every
 * request fails (blk_request checks the clock itself too).
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
#include "virtio/blk.h"

#define VBD_TAG_LEASE	0
#define VBD_BATCH	32
#define VBD_BUDGET	1024

struct vbd {
	struct blk_dev	 vb_blk;
	struct dev	*vb_dev;
	int		 vb_timer;
};

static void
vbd_queue(struct dev *d, struct dev_queue *q)
{
	struct vbd *vb = d->dv_priv;
	struct virtq *vq = &q->dq_vq;
	struct vq_req req;
	unsigned int n = 0;
	uint64_t now = vmm_realtime_ns();
	uint32_t len;
	int r;

	vq_set_notify(vq, 0);
	for (;;) {
		r = vq_pop(vq, &req);
		if (r == 0) {
			vq_set_notify(vq, 1);
			if (vq_has_work(vq))
				continue;
			break;
		}
		if (r == -1) {
			if (errno == EIO)
				break;	/* the ring is broken: counted */
			continue;	/* malformed chain: counted, returned */
		}
		len = blk_request(&vb->vb_blk, &req, now);
		vq_push(vq, req.vr_head, len);
		if (++n % VBD_BATCH == 0) {
			dev_signal(q);
			now = vmm_realtime_ns();
		}
		if (n >= VBD_BUDGET) {
			dev_requeue(d);
			break;
		}
	}
	dev_signal(q);
}

static void
vbd_event(struct dev *d, unsigned int tag)
{
	struct vbd *vb = d->dv_priv;
	uint64_t v;

	if (tag == VBD_TAG_LEASE &&
	    read(vb->vb_timer, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_warn("vbd: timerfd");
	if (blk_lease_update(&vb->vb_blk, vmm_realtime_ns()))
		log_warnx("VBD '%s': lease expired; I/O now fails",
		    vb->vb_blk.bd_cfg.bc_id);
}

static void
vbd_stats(struct dev *d, struct xeno_stats_dev *s)
{
	struct vbd *vb = d->dv_priv;

	blk_lease_update(&vb->vb_blk, vmm_realtime_ns());
	s->sx_blk = vb->vb_blk.bd_stats;
}

static void
vbd_destroy(struct dev *d)
{
	struct vbd *vb = d->dv_priv;

	if (vb == NULL)
		return;
	blk_close(&vb->vb_blk);
	if (vb->vb_timer != -1)
		close(vb->vb_timer);
	free(vb);
	d->dv_priv = NULL;
}

static const struct dev_ops vbd_ops = {
	.do_queue = vbd_queue,
	.do_event = vbd_event,
	.do_stats = vbd_stats,
	.do_destroy = vbd_destroy,
};

int
vbd_create(struct dev *d, const char *spec, char *err, size_t errsz,
    int *code)
{
	struct xeno_hc_device_info *di = &d->dv_info;
	struct blk_config bc;
	struct itimerspec its;
	struct vbd *vb;
	uint64_t until;

	*code = HV_EXIT_USAGE;
	if (blk_parse(spec, &bc, err, errsz) == -1)
		return -1;
	vb = calloc(1, sizeof(*vb));
	if (vb == NULL) {
		blk_config_free(&bc);
		*code = HV_EXIT_OSERR;
		return err_set(err, errsz, errno, "--vbd");
	}
	vb->vb_dev = d;
	vb->vb_timer = -1;
	if (blk_open(&vb->vb_blk, &bc, vmm_realtime_ns(), err, errsz) == -1) {
		blk_config_free(&bc);
		free(vb);
		*code = HV_EXIT_NOINPUT;
		return -1;
	}
	vb->vb_blk.bd_tsc_mul = d->dv_vm->vm_tsc_mul;
	d->dv_priv = vb;
	d->dv_ops = &vbd_ops;
	until = vb->vb_blk.bd_cfg.bc_lease_until;
	if (until != 0) {
		*code = HV_EXIT_OSERR;
		vb->vb_timer = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK |
		    TFD_CLOEXEC);
		memset(&its, 0, sizeof(its));
		its.it_value.tv_sec = (time_t)(until / 1000000000ULL);
		its.it_value.tv_nsec = (long)(until % 1000000000ULL);
		if (vb->vb_timer == -1 || timerfd_settime(vb->vb_timer,
		    TFD_TIMER_ABSTIME, &its, NULL) == -1 ||
		    dev_watch(d, vb->vb_timer, EPOLLIN, VBD_TAG_LEASE) == -1)
			return err_set(err, errsz, errno, "--vbd: timerfd");
	}
	di->type = XENO_PV_DEV_BLOCK;
	di->flags = vb->vb_blk.bd_ro ? XENO_PV_DEV_RO : 0;
	di->queue_max = VQ_MAX_SIZE;
	di->features = 1ULL << XENO_VIRTIO_F_VERSION_1 |
	    1ULL << XENO_VIRTIO_F_EVENT_IDX |
	    1ULL << XENO_VIRTIO_F_INDIRECT_DESC |
	    1ULL << XENO_VIRTIO_BLK_F_FLUSH |
	    1ULL << XENO_VIRTIO_BLK_F_DISCARD;
	if (vb->vb_blk.bd_ro)
		di->features |= 1ULL << XENO_VIRTIO_BLK_F_RO;
	di->capacity = vb->vb_blk.bd_capacity;
	snprintf(di->name, sizeof(di->name), "%s", vb->vb_blk.bd_cfg.bc_id);
	return 0;
}
