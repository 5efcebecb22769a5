/*
 * PV devices: the registry, the transport and the I/O threads.
 *
 * A domain has up to DEV_MAX devices (VIFs first, then VBDs, in option
 * order), each with one or two virtqueues.  Queues are numbered across
 * the domain (q = 0, 1, ...): queue q's doorbell is port
 * XENO_PV_DOORBELL_PORT + q and its completions set bit q of YIELD's
 * `ready` mask.
 *
 * The guest rings a doorbell with an `outl`, which KVM turns into a write
 * to the queue's kick eventfd (KVM_IOEVENTFD) without leaving the kernel;
 * the device's I/O thread waits for kicks, the device's own descriptors
 * (tap, timers) and its control eventfd in one epoll set, so the vCPU
 * thread never waits for the disk or the network.  When the device wants
 * the guest to look at a queue it writes the queue's call eventfd, which
 * sits in every vCPU's YIELD epoll set.
 *
 * Queue setup is a hypercall on a vCPU thread: it validates the rings,
 * fills the queue under dv_lock and then publishes dq_ready; from then on
 * the queue belongs to the I/O thread alone.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xen.h"
#include "xeno/log.h"

#define DEV_THREAD_STACK	(256U << 10)
#define DEV_EVENTS		16

/* epoll tags of an I/O thread: kind in the high word */
#define DEV_TAG_CTL		(1ULL << 32)
#define DEV_TAG_KICK		(2ULL << 32)
#define DEV_TAG_DEV		(3ULL << 32)

static int
dev_epoll_add(int ep, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = tag;
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Watch fd on the device's I/O thread; do_event(dev, tag) when ready. */
int
dev_watch(struct dev *d, int fd, uint32_t events, unsigned int tag)
{
	return dev_epoll_add(d->dv_epfd, fd, events, DEV_TAG_DEV | tag);
}

int
dev_unwatch(struct dev *d, int fd)
{
	return epoll_ctl(d->dv_epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* After a batch of pushes: wake the guest if it asked to be woken. */
void
dev_signal(struct dev_queue *q)
{
	uint64_t one = 1;

	if (vq_need_notify(&q->dq_vq) &&
	    write(q->dq_call_fd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_warn("queue %u: eventfd", q->dq_global);
}

/* Publish the device's counters: one seqlocked copy per batch. */
static void
dev_publish(struct dev *d)
{
	struct xeno_stats_dev *s = d->dv_stats;
	unsigned int i;

	stats_write_begin(&s->sx_seq);
	for (i = 0; i < d->dv_nqueues; i++) {
		struct dev_queue *q = &d->dv_q[i];
		struct xeno_stats_queue *sq = &s->sx_queue[i];
		const struct virtq *vq = &q->dq_vq;

		sq->sq_doorbells = q->dq_doorbells;
		sq->sq_kicks = q->dq_kicks;
		if (!__atomic_load_n(&q->dq_ready, __ATOMIC_ACQUIRE))
			continue;
		sq->sq_size = vq->vq_size;
		sq->sq_broken = (uint32_t)vq->vq_broken;
		sq->sq_popped = vq->vq_popped;
		sq->sq_pushed = vq->vq_pushed;
		sq->sq_notify_sent = vq->vq_notify_sent;
		sq->sq_notify_suppressed = vq->vq_notify_suppressed;
		sq->sq_err_addr = vq->vq_err_addr;
		sq->sq_err_loop = vq->vq_err_loop;
		sq->sq_err_index = vq->vq_err_index;
		sq->sq_err_order = vq->vq_err_order;
		sq->sq_err_nested = vq->vq_err_nested;
		sq->sq_err_indirect = vq->vq_err_indirect;
		sq->sq_err_len = vq->vq_err_len;
		sq->sq_err_ring = vq->vq_err_ring;
	}
	d->dv_ops->do_stats(d, s);
	stats_write_end(&s->sx_seq);
}

static void
dev_kick(struct dev *d, struct dev_queue *q)
{
	uint64_t n;

	/* the eventfd counts every ioeventfd write: exact doorbells */
	if (read(q->dq_kick_fd, &n, sizeof(n)) == sizeof(n)) {
		q->dq_doorbells += n;
		q->dq_kicks++;
	}
	if (__atomic_load_n(&q->dq_ready, __ATOMIC_ACQUIRE))
		d->dv_ops->do_queue(d, q);
}

static void *
dev_main(void *arg)
{
	struct dev *d = arg;
	struct epoll_event evs[DEV_EVENTS];
	uint64_t v;
	unsigned int i;
	int n, k;

	for (;;) {
		n = epoll_wait(d->dv_epfd, evs, DEV_EVENTS, -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			vmm_end(d->dv_vm, XENO_END_ERROR, 0, "device %u: "
			    "epoll_wait: %s", d->dv_index, strerror(errno));
			break;
		}
		for (k = 0; k < n; k++) {
			uint64_t tag = evs[k].data.u64;
			unsigned int val = (unsigned int)tag;

			switch (tag & ~0xffffffffULL) {
			case DEV_TAG_CTL:
				if (read(d->dv_ctl_fd, &v, sizeof(v)) == -1 &&
				    errno != EAGAIN)
					log_warn("device %u: eventfd",
					    d->dv_index);
				/* a queue was set up: look at it */
				for (i = 0; i < d->dv_nqueues; i++)
					if (__atomic_load_n(&d->dv_q[i].dq_ready,
					    __ATOMIC_ACQUIRE))
						d->dv_ops->do_queue(d,
						    &d->dv_q[i]);
				break;
			case DEV_TAG_KICK:
				if (val < d->dv_nqueues)
					dev_kick(d, &d->dv_q[val]);
				break;
			case DEV_TAG_DEV:
				d->dv_ops->do_event(d, val);
				break;
			}
		}
		if (__atomic_load_n(&d->dv_stop, __ATOMIC_ACQUIRE))
			break;
		dev_publish(d);
	}
	if (d->dv_ops->do_stop != NULL)
		d->dv_ops->do_stop(d);
	dev_publish(d);
	return NULL;
}

/*
 * The device stopped with work left (its budget ran out): come back to
 * every queue after the other events, without waiting for a doorbell.
 */
void
dev_requeue(struct dev *d)
{
	uint64_t one = 1;

	if (write(d->dv_ctl_fd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_warn("device %u: eventfd", d->dv_index);
}

/* Doorbell q rang through a userspace exit (an access ioeventfd missed). */
int
dev_doorbell(struct vm *vm, unsigned int q)
{
	uint64_t one = 1;

	if (q >= vm->vm_nqueues)
		return -1;
	if (write(vm->vm_queue[q]->dq_kick_fd, &one, sizeof(one)) == -1 &&
	    errno != EAGAIN)
		log_warn("doorbell %u", q);
	return 0;
}

/* YIELD saw queue q's call eventfd: consume it so it can fire again. */
void
dev_ready_ack(struct vm *vm, unsigned int q)
{
	uint64_t v;

	if (q < vm->vm_nqueues && read(vm->vm_queue[q]->dq_call_fd, &v,
	    sizeof(v)) == -1 && errno != EAGAIN)
		log_warn("queue %u: eventfd", q);
}

/* Put every queue's call eventfd in a vCPU's YIELD set, tagged q. */
int
dev_vcpu_watch(struct vm *vm, int epfd)
{
	unsigned int q;

	for (q = 0; q < vm->vm_nqueues; q++)
		if (dev_epoll_add(epfd, vm->vm_queue[q]->dq_call_fd, EPOLLIN,
		    q) == -1) {
			log_warn("epoll_ctl");
			return -1;
		}
	return 0;
}

int64_t
dev_hc_info(struct vm *vm, struct xeno_hc_device_info *b)
{
	uint64_t index = b->index;

	if (index >= vm->vm_ndev)
		return -XENO_ENODEV;
	*b = vm->vm_dev[index]->dv_info;
	b->index = index;
	return 0;
}

int64_t
dev_hc_queue_setup(struct vm *vm, const struct xeno_hc_queue_setup *b)
{
	if (b->index >= vm->vm_ndev)
		return -XENO_ENODEV;
	if (b->queue >= vm->vm_dev[b->index]->dv_nqueues)
		return -XENO_EINVAL;
	return dev_queue_setup(vm->vm_dev[b->index], (unsigned int)b->queue,
	    b->size, b->features, b->desc, b->avail, b->used);
}

/*
 * Give queue qi of d the guest's split ring, from either transport: the
 * global queue number, or -XENO_EINVAL, -XENO_EFAULT or -XENO_EBUSY as
 * XENO_HC_QUEUE_SETUP documents.
 */
int64_t
dev_queue_setup(struct dev *d, unsigned int qi, uint64_t size,
    uint64_t features, uint64_t desc, uint64_t avail, uint64_t used)
{
	struct vm *vm = d->dv_vm;
	struct virtq vq;
	struct dev_queue *q;
	uint64_t one = 1;
	int64_t rc;

	if (qi >= d->dv_nqueues)
		return -XENO_EINVAL;
	q = &d->dv_q[qi];
	if ((features & ~d->dv_info.features) != 0 ||
	    !(features & (1ULL << XENO_VIRTIO_F_VERSION_1)))
		return -XENO_EINVAL;
	if (size == 0 || size > d->dv_info.queue_max ||
	    (size & (size - 1)) != 0)
		return -XENO_EINVAL;
	if (vq_init(&vq, &vm->vm_gmem, (unsigned int)size, desc, avail, used,
	    !!(features & (1ULL << XENO_VIRTIO_F_EVENT_IDX))) == -1)
		return errno == EFAULT ? -XENO_EFAULT : -XENO_EINVAL;
	pthread_mutex_lock(&d->dv_lock);
	if (q->dq_ready)
		rc = -XENO_EBUSY;
	else {
		q->dq_vq = vq;
		__atomic_store_n(&q->dq_ready, 1, __ATOMIC_RELEASE);
		rc = q->dq_global;
	}
	pthread_mutex_unlock(&d->dv_lock);
	if (rc >= 0 && write(d->dv_ctl_fd, &one, sizeof(one)) == -1 &&
	    errno != EAGAIN)
		log_warn("device %u: eventfd", d->dv_index);
	return rc;
}

static struct dev *
dev_new(struct vm *vm, unsigned int nqueues)
{
	struct kvm_ioeventfd io;
	struct dev *d;
	unsigned int i;

	if (vm->vm_ndev == DEV_MAX || vm->vm_nqueues + nqueues >
	    DEV_MAX_GLOBAL) {
		log_warnx("too many devices: at most %d", DEV_MAX);
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->dv_vm = vm;
	d->dv_index = vm->vm_ndev;
	d->dv_nqueues = nqueues;
	d->dv_epfd = d->dv_ctl_fd = -1;
	pthread_mutex_init(&d->dv_lock, NULL);
	for (i = 0; i < DEV_MAX_QUEUES; i++)
		d->dv_q[i].dq_kick_fd = d->dv_q[i].dq_call_fd = -1;
	vm->vm_dev[vm->vm_ndev++] = d;
	d->dv_epfd = epoll_create1(EPOLL_CLOEXEC);
	d->dv_ctl_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->dv_epfd == -1 || d->dv_ctl_fd == -1 ||
	    dev_epoll_add(d->dv_epfd, d->dv_ctl_fd, EPOLLIN, DEV_TAG_CTL) ==
	    -1) {
		log_warn("device %u: epoll/eventfd", d->dv_index);
		return NULL;
	}
	for (i = 0; i < nqueues; i++) {
		struct dev_queue *q = &d->dv_q[i];

		q->dq_dev = d;
		q->dq_index = i;
		q->dq_global = vm->vm_nqueues;
		q->dq_kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		q->dq_call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->dq_kick_fd == -1 || q->dq_call_fd == -1 ||
		    dev_epoll_add(d->dv_epfd, q->dq_kick_fd, EPOLLIN,
		    DEV_TAG_KICK | i) == -1) {
			log_warn("device %u: eventfd", d->dv_index);
			return NULL;
		}
		vm->vm_queue[vm->vm_nqueues++] = q;
		/* HVM: the notify address moves with the BAR (hvmdev.c) */
		if (vm->vm_hvm)
			continue;
		/*
		 * A 4-byte `out` to the doorbell port becomes an eventfd
		 * write inside KVM.  Without it (or for other sizes) the
		 * exit reaches vcpu.c, which rings the same eventfd.
		 */
		memset(&io, 0, sizeof(io));
		io.addr = XENO_PV_DOORBELL_PORT + q->dq_global;
		io.len = 4;
		io.fd = q->dq_kick_fd;
		io.flags = KVM_IOEVENTFD_FLAG_PIO;
		if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) == -1)
			log_warn("queue %u: KVM_IOEVENTFD (doorbells will "
			    "exit to xeno-hv)", q->dq_global);
	}
	d->dv_stats = stats_dev(&vm->vm_stats, d->dv_index);
	return d;
}

/*
 * Create the domain's devices from --vif and --vbd.  0, or -1 with *code
 * set to xeno-hv's exit code (64 for a bad option, 66 for a missing file,
 * 71 for host resources).
 */
int
dev_create_all(struct vm *vm, const struct hv_config *cfg, int *code)
{
	struct xeno_pv_bootinfo *bi;
	char err[512];
	unsigned int i;
	struct dev *d;
	int rc;

	if (cfg->hc_nvif + cfg->hc_nvbd > DEV_MAX) {
		log_warnx("%u devices: a domain has at most %d VIFs and VBDs",
		    cfg->hc_nvif + cfg->hc_nvbd, DEV_MAX);
		*code = HV_EXIT_USAGE;
		return -1;
	}
	for (i = 0; i < cfg->hc_nvif + cfg->hc_nvbd; i++) {
		int vif = i < cfg->hc_nvif;

		d = dev_new(vm, vif ? 2 : 1);
		if (d == NULL) {
			*code = HV_EXIT_OSERR;
			return -1;
		}
		*code = HV_EXIT_USAGE;
		if (vif)
			rc = vif_create(d, cfg->hc_vif[i], err, sizeof(err),
			    code);
		else
			rc = vbd_create(d, cfg->hc_vbd[i - cfg->hc_nvif], err,
			    sizeof(err), code);
		if (rc == -1) {
			log_warnx("%s", err);
			return -1;
		}
		d->dv_info.nr_queues = d->dv_nqueues;
		d->dv_stats->sx_type = d->dv_info.type;
		d->dv_stats->sx_index = d->dv_index;
		d->dv_stats->sx_nr_queues = d->dv_nqueues;
		d->dv_stats->sx_first_queue = d->dv_q[0].dq_global;
		memcpy(d->dv_stats->sx_name, d->dv_info.name,
		    sizeof(d->dv_stats->sx_name));
		d->dv_stats->sx_name[sizeof(d->dv_stats->sx_name) - 1] = '\0';
		dev_publish(d);
	}
	if (vm->vm_hvm) {
		if (hvmdev_create(vm) == -1) {
			*code = HV_EXIT_USAGE;
			return -1;
		}
		return 0;
	}
	bi = (struct xeno_pv_bootinfo *)(void *)(vm->vm_mem +
	    XENO_PV_BOOTINFO_GPA);
	bi->bi_nr_devices = vm->vm_ndev;
	return 0;
}

int
dev_start_all(struct vm *vm)
{
	pthread_attr_t attr;
	unsigned int i;
	int rc = 0;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, DEV_THREAD_STACK);
	for (i = 0; i < vm->vm_ndev; i++) {
		struct dev *d = vm->vm_dev[i];

		if (pthread_create(&d->dv_thread, &attr, dev_main, d) != 0) {
			log_warnx("device %u: cannot start its I/O thread", i);
			rc = -1;
			break;
		}
		d->dv_thread_ok = 1;
	}
	pthread_attr_destroy(&attr);
	return rc;
}

/* Stop the I/O threads (after the vCPUs): last flush, last counters. */
void
dev_stop_all(struct vm *vm)
{
	uint64_t one = 1;
	unsigned int i;

	for (i = 0; i < vm->vm_ndev; i++) {
		struct dev *d = vm->vm_dev[i];

		if (!d->dv_thread_ok)
			continue;
		__atomic_store_n(&d->dv_stop, 1, __ATOMIC_RELEASE);
		if (write(d->dv_ctl_fd, &one, sizeof(one)) == -1)
			log_warn("device %u: eventfd", i);
	}
	for (i = 0; i < vm->vm_ndev; i++) {
		struct dev *d = vm->vm_dev[i];

		if (d->dv_thread_ok)
			pthread_join(d->dv_thread, NULL);
		d->dv_thread_ok = 0;
	}
}

void
dev_destroy_all(struct vm *vm)
{
	unsigned int i, k;

	dev_stop_all(vm);
	for (i = 0; i < vm->vm_ndev; i++) {
		struct dev *d = vm->vm_dev[i];

		if (d->dv_ops != NULL && d->dv_ops->do_destroy != NULL)
			d->dv_ops->do_destroy(d);
		for (k = 0; k < DEV_MAX_QUEUES; k++) {
			if (d->dv_q[k].dq_kick_fd != -1)
				close(d->dv_q[k].dq_kick_fd);
			if (d->dv_q[k].dq_call_fd != -1)
				close(d->dv_q[k].dq_call_fd);
		}
		if (d->dv_epfd != -1)
			close(d->dv_epfd);
		if (d->dv_ctl_fd != -1)
			close(d->dv_ctl_fd);
		pthread_mutex_destroy(&d->dv_lock);
		free(d);
	}
	vm->vm_ndev = vm->vm_nqueues = 0;
}
