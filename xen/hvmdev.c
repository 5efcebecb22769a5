/*
 * An HVM guest's VIFs and VBDs as virtio-pci functions (vpci.c) on the
 * same backends, I/O threads and counters as a PV guest's (dev.c): only
 * the transport differs.
 *
 *   notifications	the queue's kick eventfd, bound by KVM_IOEVENTFD
 *			to its 2-byte notify address in the BAR (moved
 *			with the BAR); a notify that still exits (another
 *			size) rings the same eventfd from here
 *   interrupts		the queue's call eventfd, bound by KVM_IRQFD to
 *			GSI 24 + global queue number, whose route is the
 *			MSI message of the queue's MSI-X vector; while the
 *			vector is masked the irqfd is unbound and the
 *			eventfd keeps counting, and binding it again
 *			delivers what is pending (KVM polls it on assign)
 *
 * Every call into vpci.c is under vm_pci_lock; the callbacks below run
 * with it held.
 */
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xen.h"
#include "xeno/log.h"

#define HVM_BAR_BASE		0xd0000000U	/* slot s: + (s - 1) * size */
#define HVM_GSI_MSI		24		/* after the I/O APIC's pins */
#define HVM_PIC_IRQS		16
#define HVM_IOAPIC_PINS		24

/* virtio feature bits only the PCI transport offers */
#define VIRTIO_BLK_F_SEG_MAX	2

/* PCI class codes */
#define HVM_CLASS_NET		0x020000	/* network, Ethernet */
#define HVM_CLASS_BLK		0x018000	/* mass storage, other */

/* The PC's default GSIs (PIC and I/O APIC pins) plus the live MSIs. */
static int
hvmdev_routes(struct vm *vm)
{
	struct kvm_irq_routing *r;
	struct kvm_irq_routing_entry *e;
	unsigned int n = 0, g;
	int rc;

	r = calloc(1, sizeof(*r) + (HVM_PIC_IRQS + HVM_IOAPIC_PINS +
	    DEV_MAX_GLOBAL) * sizeof(*e));
	if (r == NULL)
		return -1;
	for (g = 0; g < HVM_IOAPIC_PINS; g++) {
		if (g < HVM_PIC_IRQS) {
			e = &r->entries[n++];
			e->gsi = g;
			e->type = KVM_IRQ_ROUTING_IRQCHIP;
			e->u.irqchip.irqchip = g < 8 ? KVM_IRQCHIP_PIC_MASTER :
			    KVM_IRQCHIP_PIC_SLAVE;
			e->u.irqchip.pin = g % 8;
		}
		e = &r->entries[n++];
		e->gsi = g;
		e->type = KVM_IRQ_ROUTING_IRQCHIP;
		e->u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		e->u.irqchip.pin = g;
	}
	for (g = 0; g < vm->vm_nqueues; g++) {
		struct hvm_msi *m = &vm->vm_msi[g];

		if (!m->hm_on)
			continue;
		e = &r->entries[n++];
		e->gsi = HVM_GSI_MSI + g;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = (uint32_t)m->hm_addr;
		e->u.msi.address_hi = (uint32_t)(m->hm_addr >> 32);
		e->u.msi.data = m->hm_data;
	}
	r->nr = n;
	rc = ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r);
	if (rc == -1)
		log_warn("KVM_SET_GSI_ROUTING");
	free(r);
	return rc;
}

static int
hvmdev_irqfd(struct vm *vm, unsigned int g, int on)
{
	struct kvm_irqfd f;

	memset(&f, 0, sizeof(f));
	f.fd = (uint32_t)vm->vm_queue[g]->dq_call_fd;
	f.gsi = HVM_GSI_MSI + g;
	f.flags = on ? 0 : KVM_IRQFD_FLAG_DEASSIGN;
	if (ioctl(vm->vm_fd, KVM_IRQFD, &f) == -1) {
		log_warn("queue %u: KVM_IRQFD", g);
		return -1;
	}
	vm->vm_msi[g].hm_irqfd = on;
	return 0;
}

/* Function fn's MSI-X state changed: routes first, then the irqfds. */
static void
hvmdev_irq_changed(void *arg, unsigned int fn)
{
	struct vm *vm = arg;
	struct dev *d = vm->vm_dev[fn];
	struct hvm_msi want[DEV_MAX_QUEUES];
	unsigned int i;
	int reroute = 0;

	for (i = 0; i < d->dv_nqueues; i++) {
		struct hvm_msi *m = &vm->vm_msi[d->dv_q[i].dq_global];

		memset(&want[i], 0, sizeof(want[i]));
		want[i].hm_on = vpci_queue_msi(&vm->vm_pci.vp_fn[fn], i,
		    &want[i].hm_addr, &want[i].hm_data);
		if (want[i].hm_on != m->hm_on || (want[i].hm_on &&
		    (want[i].hm_addr != m->hm_addr ||
		    want[i].hm_data != m->hm_data)))
			reroute = 1;
	}
	if (reroute) {
		for (i = 0; i < d->dv_nqueues; i++) {
			struct hvm_msi *m = &vm->vm_msi[d->dv_q[i].dq_global];

			m->hm_on = want[i].hm_on;
			m->hm_addr = want[i].hm_addr;
			m->hm_data = want[i].hm_data;
		}
		if (hvmdev_routes(vm) == -1)
			vmm_end(vm, XENO_END_ERROR, 0, "device %u: cannot "
			    "route its interrupts", fn);
	}
	for (i = 0; i < d->dv_nqueues; i++) {
		unsigned int g = d->dv_q[i].dq_global;
		struct hvm_msi *m = &vm->vm_msi[g];

		if (m->hm_on != m->hm_irqfd && hvmdev_irqfd(vm, g,
		    m->hm_on) == -1)
			vmm_end(vm, XENO_END_ERROR, 0, "queue %u: cannot "
			    "bind its interrupt", g);
	}
}

static int
hvmdev_queue_enable(void *arg, unsigned int fn, unsigned int q,
    uint64_t features)
{
	struct vm *vm = arg;
	struct dev *d = vm->vm_dev[fn];
	const struct vpci_queue *pq = &vm->vm_pci.vp_fn[fn].pf_q[q];
	int64_t rc;

	rc = dev_queue_setup(d, q, pq->pq_size, features &
	    d->dv_info.features, pq->pq_desc, pq->pq_avail, pq->pq_used);
	if (rc < 0) {
		log_warnx("device %u queue %u: the guest's ring (size %u at "
		    "desc 0x%llx avail 0x%llx used 0x%llx) is refused: %s",
		    fn, q, pq->pq_size, (unsigned long long)pq->pq_desc,
		    (unsigned long long)pq->pq_avail,
		    (unsigned long long)pq->pq_used, rc == -XENO_EBUSY ?
		    "the queue is live already (no reset after use)" :
		    "misaligned or outside guest memory");
		return -1;
	}
	return 0;
}

static void
hvmdev_notify(void *arg, unsigned int fn, unsigned int q)
{
	struct vm *vm = arg;

	(void)dev_doorbell(vm, vm->vm_dev[fn]->dv_q[q].dq_global);
}

static void
hvmdev_ioeventfd(struct vm *vm, struct dev_queue *q, uint32_t bar, int on)
{
	struct kvm_ioeventfd io;

	memset(&io, 0, sizeof(io));
	io.addr = (uint64_t)bar + VPCI_BAR_NOTIFY + 4ULL * q->dq_index;
	io.len = 2;
	io.fd = q->dq_kick_fd;
	io.flags = on ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN;
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) == -1)
		log_warn("queue %u: KVM_IOEVENTFD at 0x%llx (notifications "
		    "will exit to xeno-hv)", q->dq_global,
		    (unsigned long long)io.addr);
}

static void
hvmdev_bar_moved(void *arg, unsigned int fn, uint32_t old, uint32_t now)
{
	struct vm *vm = arg;
	struct dev *d = vm->vm_dev[fn];
	unsigned int i;

	for (i = 0; i < d->dv_nqueues; i++) {
		if (old != 0)
			hvmdev_ioeventfd(vm, &d->dv_q[i], old, 0);
		if (now != 0)
			hvmdev_ioeventfd(vm, &d->dv_q[i], now, 1);
	}
}

static const struct vpci_ops hvmdev_ops = {
	.queue_enable = hvmdev_queue_enable,
	.notify = hvmdev_notify,
	.irq_changed = hvmdev_irq_changed,
	.bar_moved = hvmdev_bar_moved,
};

/* virtio-net's config space: mac, status, max_virtqueue_pairs, mtu */
static unsigned int
hvmdev_netcfg(const struct xeno_hc_device_info *di, uint8_t *c)
{
	memcpy(c, di->mac, 6);
	le16_put(c + 8, 1);
	le16_put(c + 10, di->mtu);
	return 12;
}

/* virtio-blk's: capacity, seg_max and the discard limits */
static unsigned int
hvmdev_blkcfg(const struct xeno_hc_device_info *di, uint8_t *c)
{
	le64_put(c, di->capacity);
	le32_put(c + 12, VQ_MAX_SEGS - 2);		/* + header and status */
	le32_put(c + 36, UINT32_MAX);		/* max_discard_sectors */
	le32_put(c + 40, XENO_VIRTIO_BLK_MAX_DISCARD_SEG);
	le32_put(c + 44, 1);			/* discard_sector_alignment */
	return 60;
}

/* After dev_create_all: one virtio-pci function per device, in order. */
int
hvmdev_create(struct vm *vm)
{
	struct vpci_desc pd;
	uint8_t cfg[VPCI_DEVCFG_MAX];
	unsigned int i;

	vpci_init(&vm->vm_pci, &hvmdev_ops, vm);
	pthread_mutex_init(&vm->vm_pci_lock, NULL);
	for (i = 0; i < vm->vm_ndev; i++) {
		const struct dev *d = vm->vm_dev[i];
		const struct xeno_hc_device_info *di = &d->dv_info;

		memset(&pd, 0, sizeof(pd));
		memset(cfg, 0, sizeof(cfg));
		pd.pd_type = di->type;
		pd.pd_nqueues = d->dv_nqueues;
		pd.pd_queue_max = (uint16_t)di->queue_max;
		pd.pd_features = di->features;
		pd.pd_devcfg = cfg;
		pd.pd_bar = HVM_BAR_BASE + i * VPCI_BAR_SIZE;
		if (di->type == XENO_PV_DEV_NET) {
			pd.pd_class = HVM_CLASS_NET;
			pd.pd_devcfg_len = hvmdev_netcfg(di, cfg);
		} else {
			pd.pd_class = HVM_CLASS_BLK;
			pd.pd_features |= 1ULL << VIRTIO_BLK_F_SEG_MAX;
			pd.pd_devcfg_len = hvmdev_blkcfg(di, cfg);
		}
		if (vpci_add(&vm->vm_pci, &pd) == -1) {
			log_warnx("device %u: no PCI slot for it", i);
			return -1;
		}
	}
	return 0;
}

/* Ports 0xCF8..0xCFF. */
void
hvmdev_conf_io(struct vm *vm, unsigned int port, int out, uint8_t *data,
    unsigned int size, unsigned int count)
{
	unsigned int i;
	uint32_t v;

	pthread_mutex_lock(&vm->vm_pci_lock);
	for (i = 0; i < count; i++, data += size) {
		if (out) {
			v = 0;
			memcpy(&v, data, size);
			vpci_conf_write(&vm->vm_pci, port, size, v);
		} else {
			v = vpci_conf_read(&vm->vm_pci, port, size);
			memcpy(data, &v, size);
		}
	}
	pthread_mutex_unlock(&vm->vm_pci_lock);
}

/* An MMIO exit: 0 if it hit a BAR, -1 if nothing is there. */
int
hvmdev_mmio(struct vm *vm, uint64_t gpa, uint8_t *data, unsigned int len,
    int write)
{
	int rc;

	pthread_mutex_lock(&vm->vm_pci_lock);
	rc = vpci_mmio(&vm->vm_pci, gpa, data, len, write);
	pthread_mutex_unlock(&vm->vm_pci_lock);
	return rc;
}
