/*
 * PCI for HVM guests: a host bridge behind the PC's type-1 configuration
 * ports (0xCF8 address, 0xCFC-0xCFF data) and, on slots 1.., one
 * virtio-pci function (virtio 1.x "modern" layout) per VIF or VBD.
 *
 * Each virtio function has one 32-bit memory BAR of VPCI_BAR_SIZE bytes,
 * placed by us as firmware would and movable by the guest:
 *
 *	0x0000	common configuration (virtio_pci_common_cfg)
 *	0x1000	ISR status (always 0: interrupts are MSI-X only)
 *	0x2000	device configuration (net or blk config space)
 *	0x3000	notifications, 4 bytes per queue
 *	0x4000	MSI-X table, one vector per queue plus one for config
 *	0x5000	MSI-X pending bits
 *
 * and capabilities MSI-X, then virtio's common, notify, ISR, device and
 * PCI-configuration-access structures.  There is no INTx: the interrupt
 * pin is 0, so a driver must use MSI-X (Linux's virtio_pci does).
 *
 * Pure state machine, like uart.c: the caller serialises calls and the
 * side effects (a queue going live, interrupt routes, where notifications
 * land) come back through struct vpci_ops.  Everything here is guest
 * input: any access at any offset and size gets an answer, never a crash.
 */
#include <string.h>

#include "xen.h"

#define PCI_VENDOR		0x00
#define PCI_DEVICE		0x02
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_REVISION		0x08
#define PCI_CLASS		0x09	/* prog-if, subclass, class */
#define PCI_HEADER		0x0e
#define PCI_BAR0		0x10
#define PCI_SUBSYS_VENDOR	0x2c
#define PCI_SUBSYS		0x2e
#define PCI_CAP_PTR		0x34
#define PCI_INT_LINE		0x3c
#define PCI_INT_PIN		0x3d

#define PCI_COMMAND_IO		0x0001
#define PCI_COMMAND_MEM		0x0002
#define PCI_COMMAND_MASTER	0x0004
#define PCI_COMMAND_INTX_OFF	0x0400
#define PCI_STATUS_CAPS		0x0010

#define PCI_CAP_MSIX		0x11
#define PCI_CAP_VENDOR		0x09
#define MSIX_CTRL_ENABLE	0x8000
#define MSIX_CTRL_MASKALL	0x4000
#define MSIX_ENTRY_MASKED	0x1

/* capability offsets in a virtio function's configuration space */
#define CAP_MSIX		0x40	/* 12 bytes */
#define CAP_COMMON		0x4c	/* 16 */
#define CAP_NOTIFY		0x5c	/* 20: + notify_off_multiplier */
#define CAP_ISR			0x70	/* 16 */
#define CAP_DEVICE		0x80	/* 16 */
#define CAP_PCICFG		0x90	/* 20: + the data window */
#define CAP_PCICFG_BAR		(CAP_PCICFG + 4)
#define CAP_PCICFG_OFF		(CAP_PCICFG + 8)
#define CAP_PCICFG_LEN		(CAP_PCICFG + 12)
#define CAP_PCICFG_DATA		(CAP_PCICFG + 16)

#define VIRTIO_CAP_COMMON	1
#define VIRTIO_CAP_NOTIFY	2
#define VIRTIO_CAP_ISR		3
#define VIRTIO_CAP_DEVICE	4
#define VIRTIO_CAP_PCICFG	5

/* BAR layout */
#define BAR_COMMON		0x0000
#define BAR_ISR			0x1000
#define BAR_DEVICE		0x2000
#define BAR_NOTIFY		0x3000
#define BAR_MSIX		0x4000
#define BAR_PBA			0x5000
#define NOTIFY_MULT		4
#define COMMON_LEN		64

/* common configuration fields */
#define CC_DFSELECT		0
#define CC_DF			4
#define CC_GFSELECT		8
#define CC_GF			12
#define CC_MSIX			16
#define CC_NUMQ			18
#define CC_STATUS		20
#define CC_GENERATION		21
#define CC_QSELECT		22
#define CC_QSIZE		24
#define CC_QMSIX		26
#define CC_QENABLE		28
#define CC_QNOTIFYOFF		30
#define CC_QDESC		32
#define CC_QDRIVER		40
#define CC_QDEVICE		48

#define STATUS_FEATURES_OK	0x08
#define STATUS_NEEDS_RESET	0x40

#define VIRTIO_PCI_VENDOR	0x1af4
#define VIRTIO_PCI_DEVICE	0x1040	/* + the virtio device type */
#define BRIDGE_VENDOR		0x1b36	/* Red Hat: QEMU's PCIe host bridge */
#define BRIDGE_DEVICE		0x0008

#define CONF_ENABLE		0x80000000U

/* [off, off + len) meets field [f, f + flen) */
static int
touches(unsigned int off, unsigned int len, unsigned int f, unsigned int flen)
{
	return off < f + flen && f < off + len;
}

void
vpci_init(struct vpci *p, const struct vpci_ops *ops, void *arg)
{
	memset(p, 0, sizeof(*p));
	p->vp_ops = ops;
	p->vp_arg = arg;
}

static unsigned int
fn_nvec(const struct vpci_fn *f)
{
	return f->pf_nqueues + 1;
}

/* A vector the driver asks for: NO_VECTOR if the table has no such entry. */
static uint16_t
fn_vector(const struct vpci_fn *f, uint16_t v)
{
	return v < fn_nvec(f) ? v : VPCI_NO_VECTOR;
}

/* The transport's part of a device reset (virtio 1.1 section 2.1.2). */
static void
fn_reset(struct vpci_fn *f)
{
	unsigned int i;

	f->pf_dfsel = f->pf_gfsel = 0;
	f->pf_gfeatures = 0;
	f->pf_status = 0;
	f->pf_qsel = 0;
	f->pf_cfg_vector = VPCI_NO_VECTOR;
	for (i = 0; i < VPCI_MAX_QUEUES; i++) {
		memset(&f->pf_q[i], 0, sizeof(f->pf_q[i]));
		f->pf_q[i].pq_size = f->pf_queue_max;
		f->pf_q[i].pq_vector = VPCI_NO_VECTOR;
	}
}

int
vpci_add(struct vpci *p, const struct vpci_desc *d)
{
	struct vpci_fn *f;
	unsigned int i;

	if (p->vp_nfn == VPCI_MAX_FN || d->pd_nqueues == 0 ||
	    d->pd_nqueues > VPCI_MAX_QUEUES || d->pd_devcfg_len >
	    VPCI_DEVCFG_MAX || d->pd_queue_max == 0)
		return -1;
	f = &p->vp_fn[p->vp_nfn];
	memset(f, 0, sizeof(*f));
	f->pf_type = d->pd_type;
	f->pf_class = d->pd_class;
	f->pf_nqueues = d->pd_nqueues;
	f->pf_queue_max = d->pd_queue_max;
	f->pf_features = d->pd_features;
	memcpy(f->pf_devcfg, d->pd_devcfg, d->pd_devcfg_len);
	f->pf_devcfg_len = d->pd_devcfg_len;
	f->pf_bar = d->pd_bar;
	for (i = 0; i < VPCI_MSIX_MAX; i++)
		f->pf_msix[i].mx_ctrl = MSIX_ENTRY_MASKED;
	fn_reset(f);
	return (int)p->vp_nfn++;
}

/* Where the function's BAR decodes, or 0 if it does not. */
uint32_t
vpci_bar(const struct vpci_fn *f)
{
	return (f->pf_command & PCI_COMMAND_MEM) ? f->pf_bar : 0;
}

int
vpci_queue_msi(const struct vpci_fn *f, unsigned int q, uint64_t *addr,
    uint32_t *data)
{
	const struct vpci_msix *m;
	unsigned int v;

	if (q >= f->pf_nqueues || !f->pf_q[q].pq_enable)
		return 0;
	v = f->pf_q[q].pq_vector;
	if (v >= fn_nvec(f) || (f->pf_msix_ctrl & (MSIX_CTRL_ENABLE |
	    MSIX_CTRL_MASKALL)) != MSIX_CTRL_ENABLE)
		return 0;
	m = &f->pf_msix[v];
	if (m->mx_ctrl & MSIX_ENTRY_MASKED)
		return 0;
	*addr = (uint64_t)m->mx_addr_hi << 32 | m->mx_addr_lo;
	*data = m->mx_data;
	return 1;
}

/* ---- configuration space ---- */

static void
cap_virtio(uint8_t *cs, unsigned int at, unsigned int next, unsigned int len,
    unsigned int type, uint32_t off, uint32_t flen)
{
	cs[at] = PCI_CAP_VENDOR;
	cs[at + 1] = (uint8_t)next;
	cs[at + 2] = (uint8_t)len;
	cs[at + 3] = (uint8_t)type;
	cs[at + 4] = 0;			/* BAR 0 */
	le32_put(cs + at + 8, off);
	le32_put(cs + at + 12, flen);
}

/* The 256 bytes a function's configuration space reads as. */
static void
fn_conf(const struct vpci_fn *f, uint8_t *cs)
{
	memset(cs, 0, VPCI_CONF_SIZE);
	le16_put(cs + PCI_VENDOR, VIRTIO_PCI_VENDOR);
	le16_put(cs + PCI_DEVICE, (uint16_t)(VIRTIO_PCI_DEVICE + f->pf_type));
	le16_put(cs + PCI_COMMAND, f->pf_command);
	le16_put(cs + PCI_STATUS, PCI_STATUS_CAPS);
	cs[PCI_REVISION] = 1;		/* modern only */
	cs[PCI_CLASS] = (uint8_t)f->pf_class;
	cs[PCI_CLASS + 1] = (uint8_t)(f->pf_class >> 8);
	cs[PCI_CLASS + 2] = (uint8_t)(f->pf_class >> 16);
	le32_put(cs + PCI_BAR0, f->pf_bar);	/* 32-bit memory, no prefetch */
	le16_put(cs + PCI_SUBSYS_VENDOR, VIRTIO_PCI_VENDOR);
	le16_put(cs + PCI_SUBSYS, (uint16_t)(0x40 + f->pf_type));
	cs[PCI_CAP_PTR] = CAP_MSIX;
	cs[PCI_INT_LINE] = f->pf_int_line;
	cs[PCI_INT_PIN] = 0;

	cs[CAP_MSIX] = PCI_CAP_MSIX;
	cs[CAP_MSIX + 1] = CAP_COMMON;
	le16_put(cs + CAP_MSIX + 2, (uint16_t)(f->pf_msix_ctrl |
	    (fn_nvec(f) - 1)));
	le32_put(cs + CAP_MSIX + 4, BAR_MSIX);	/* BIR 0 */
	le32_put(cs + CAP_MSIX + 8, BAR_PBA);
	cap_virtio(cs, CAP_COMMON, CAP_NOTIFY, 16, VIRTIO_CAP_COMMON,
	    BAR_COMMON, COMMON_LEN);
	cap_virtio(cs, CAP_NOTIFY, CAP_ISR, 20, VIRTIO_CAP_NOTIFY,
	    BAR_NOTIFY, NOTIFY_MULT * f->pf_nqueues);
	le32_put(cs + CAP_NOTIFY + 16, NOTIFY_MULT);
	cap_virtio(cs, CAP_ISR, CAP_DEVICE, 16, VIRTIO_CAP_ISR, BAR_ISR, 1);
	cap_virtio(cs, CAP_DEVICE, CAP_PCICFG, 16, VIRTIO_CAP_DEVICE,
	    BAR_DEVICE, f->pf_devcfg_len);
	cap_virtio(cs, CAP_PCICFG, 0, 20, VIRTIO_CAP_PCICFG, 0, 0);
	cs[CAP_PCICFG_BAR] = f->pf_cfgwin_bar;
	le32_put(cs + CAP_PCICFG_OFF, f->pf_cfgwin_off);
	le32_put(cs + CAP_PCICFG_LEN, f->pf_cfgwin_len);
	memcpy(cs + CAP_PCICFG_DATA, f->pf_cfgwin_data, 4);
}

static void
bridge_conf(uint8_t *cs)
{
	memset(cs, 0, VPCI_CONF_SIZE);
	le16_put(cs + PCI_VENDOR, BRIDGE_VENDOR);
	le16_put(cs + PCI_DEVICE, BRIDGE_DEVICE);
	cs[PCI_CLASS + 2] = 0x06;	/* bridge, host */
}

static void fn_bar_access(struct vpci *, unsigned int, uint32_t, uint8_t *,
    unsigned int, int);

/* The guest moved the BAR or switched decoding: tell the caller. */
static void
fn_decode_changed(struct vpci *p, unsigned int i, uint32_t old)
{
	uint32_t now = vpci_bar(&p->vp_fn[i]);

	if (now != old && p->vp_ops->bar_moved != NULL)
		p->vp_ops->bar_moved(p->vp_arg, i, old, now);
}

/*
 * A write of len bytes at off: the writable registers take the bytes that
 * land on them, the rest are read-only.  Sizing a BAR (all ones) reads
 * back its size as the PCI specification says.
 */
static void
fn_conf_write(struct vpci *p, unsigned int i, unsigned int off,
    const uint8_t *val, unsigned int len)
{
	struct vpci_fn *f = &p->vp_fn[i];
	uint8_t cs[VPCI_CONF_SIZE];
	uint32_t old = vpci_bar(f);
	uint16_t ctrl;

	fn_conf(f, cs);
	memcpy(cs + off, val, len);
	if (touches(off, len, PCI_COMMAND, 2))
		f->pf_command = le16_get(cs + PCI_COMMAND) & (PCI_COMMAND_MEM |
		    PCI_COMMAND_MASTER | PCI_COMMAND_INTX_OFF);
	if (touches(off, len, PCI_BAR0, 4))
		f->pf_bar = le32_get(cs + PCI_BAR0) & ~(VPCI_BAR_SIZE - 1);
	if (touches(off, len, PCI_INT_LINE, 1))
		f->pf_int_line = cs[PCI_INT_LINE];
	if (touches(off, len, CAP_MSIX + 2, 2)) {
		ctrl = le16_get(cs + CAP_MSIX + 2) & (MSIX_CTRL_ENABLE |
		    MSIX_CTRL_MASKALL);
		if (ctrl != f->pf_msix_ctrl) {
			f->pf_msix_ctrl = ctrl;
			if (p->vp_ops->irq_changed != NULL)
				p->vp_ops->irq_changed(p->vp_arg, i);
		}
	}
	if (touches(off, len, CAP_PCICFG_BAR, 1))
		f->pf_cfgwin_bar = cs[CAP_PCICFG_BAR];
	if (touches(off, len, CAP_PCICFG_OFF, 4))
		f->pf_cfgwin_off = le32_get(cs + CAP_PCICFG_OFF);
	if (touches(off, len, CAP_PCICFG_LEN, 4))
		f->pf_cfgwin_len = le32_get(cs + CAP_PCICFG_LEN);
	fn_decode_changed(p, i, old);
}

/*
 * VIRTIO_PCI_CAP_PCI_CFG: the window onto the BAR through configuration
 * space.  It works for BAR 0, lengths 1, 2 and 4, and an offset aligned
 * to the length; anything else reads as zeros and writes nothing.
 */
static int
fn_cfgwin_ok(const struct vpci_fn *f)
{
	uint32_t n = f->pf_cfgwin_len;

	return f->pf_cfgwin_bar == 0 && (n == 1 || n == 2 || n == 4) &&
	    f->pf_cfgwin_off % n == 0 && f->pf_cfgwin_off < VPCI_BAR_SIZE;
}

static void
fn_cfgwin(struct vpci *p, unsigned int i, unsigned int off, uint8_t *val,
    unsigned int len, int write)
{
	struct vpci_fn *f = &p->vp_fn[i];
	unsigned int k = off - CAP_PCICFG_DATA;

	if (write) {
		memcpy(f->pf_cfgwin_data + k, val, len);
		if (fn_cfgwin_ok(f))
			fn_bar_access(p, i, f->pf_cfgwin_off,
			    f->pf_cfgwin_data, f->pf_cfgwin_len, 1);
		return;
	}
	memset(f->pf_cfgwin_data, 0, sizeof(f->pf_cfgwin_data));
	if (fn_cfgwin_ok(f))
		fn_bar_access(p, i, f->pf_cfgwin_off, f->pf_cfgwin_data,
		    f->pf_cfgwin_len, 0);
	memcpy(val, f->pf_cfgwin_data + k, len);
}

/* Slot s's function 0 (slot 0 is the bridge): 0, or -1 for no device. */
static int
conf_access(struct vpci *p, unsigned int slot, unsigned int off,
    uint8_t *val, unsigned int len, int write)
{
	uint8_t cs[VPCI_CONF_SIZE];

	if (slot > p->vp_nfn)
		return -1;
	if (slot == 0) {
		if (!write) {
			bridge_conf(cs);
			memcpy(val, cs + off, len);
		}
		return 0;
	}
	if (off >= CAP_PCICFG_DATA && off + len <= CAP_PCICFG_DATA + 4) {
		fn_cfgwin(p, slot - 1, off, val, len, write);
		return 0;
	}
	if (write)
		fn_conf_write(p, slot - 1, off, val, len);
	else {
		fn_conf(&p->vp_fn[slot - 1], cs);
		memcpy(val, cs + off, len);
	}
	return 0;
}

/*
 * Configuration mechanism #1.  port is 0xCF8..0xCFF, size 1, 2 or 4.
 * The address register keeps any 32-bit value (Linux's probe writes and
 * reads it back) and ignores narrower writes; the data ports reach bus 0
 * only, function 0 only, the first 256 bytes only.  No device: all ones.
 */
uint32_t
vpci_conf_read(struct vpci *p, unsigned int port, unsigned int size)
{
	uint8_t val[4] = { 0xff, 0xff, 0xff, 0xff };
	uint32_t a = p->vp_addr;

	if (size != 1 && size != 2 && size != 4)
		return 0xffffffffU;
	if (port == VPCI_CONF_ADDR && size == 4)
		return a;
	/* enabled, bus 0, function 0, no extended register bits */
	if (port >= VPCI_CONF_DATA && port + size <= VPCI_CONF_DATA + 4 &&
	    (a & CONF_ENABLE) && (a & 0x7fff0700U) == 0)
		(void)conf_access(p, (a >> 11) & 0x1f, (a & 0xfc) +
		    (port - VPCI_CONF_DATA), val, size, 0);
	return le32_get(val) & (size == 4 ? 0xffffffffU :
	    (1U << (size * 8)) - 1);
}

void
vpci_conf_write(struct vpci *p, unsigned int port, unsigned int size,
    uint32_t v)
{
	uint8_t val[4];
	uint32_t a = p->vp_addr;

	if (size != 1 && size != 2 && size != 4)
		return;
	if (port == VPCI_CONF_ADDR) {
		if (size == 4)
			p->vp_addr = v;
		return;
	}
	if (port < VPCI_CONF_DATA || port + size > VPCI_CONF_DATA + 4)
		return;
	le32_put(val, v);
	if ((a & CONF_ENABLE) && (a & 0x7fff0700U) == 0)
		(void)conf_access(p, (a >> 11) & 0x1f, (a & 0xfc) +
		    (port - VPCI_CONF_DATA), val, size, 1);
}

/* ---- the BAR ---- */

static void
common_image(const struct vpci_fn *f, uint8_t *cc)
{
	const struct vpci_queue *q = NULL;
	uint64_t df = 0, gf = 0;

	memset(cc, 0, COMMON_LEN);
	if (f->pf_dfsel < 2)
		df = f->pf_features >> (32 * f->pf_dfsel);
	if (f->pf_gfsel < 2)
		gf = f->pf_gfeatures >> (32 * f->pf_gfsel);
	le32_put(cc + CC_DFSELECT, f->pf_dfsel);
	le32_put(cc + CC_DF, (uint32_t)df);
	le32_put(cc + CC_GFSELECT, f->pf_gfsel);
	le32_put(cc + CC_GF, (uint32_t)gf);
	le16_put(cc + CC_MSIX, f->pf_cfg_vector);
	le16_put(cc + CC_NUMQ, (uint16_t)f->pf_nqueues);
	cc[CC_STATUS] = f->pf_status;
	cc[CC_GENERATION] = 0;		/* the config never changes */
	le16_put(cc + CC_QSELECT, f->pf_qsel);
	if (f->pf_qsel < f->pf_nqueues)
		q = &f->pf_q[f->pf_qsel];
	if (q == NULL) {
		/* no such queue: size 0 says so (virtio 1.1 4.1.4.3) */
		le16_put(cc + CC_QMSIX, VPCI_NO_VECTOR);
		return;
	}
	le16_put(cc + CC_QSIZE, q->pq_size);
	le16_put(cc + CC_QMSIX, q->pq_vector);
	le16_put(cc + CC_QENABLE, q->pq_enable);
	le16_put(cc + CC_QNOTIFYOFF, f->pf_qsel);
	le64_put(cc + CC_QDESC, q->pq_desc);
	le64_put(cc + CC_QDRIVER, q->pq_avail);
	le64_put(cc + CC_QDEVICE, q->pq_used);
}

static int
features_ok(const struct vpci_fn *f)
{
	return (f->pf_gfeatures & ~f->pf_features) == 0 &&
	    (f->pf_gfeatures & VPCI_F_VERSION_1);
}

static void
fn_status(struct vpci *p, unsigned int i, uint8_t v)
{
	struct vpci_fn *f = &p->vp_fn[i];

	if (v == 0) {
		/*
		 * Queues that went live stay with their backend (see
		 * docs/HVM.md): the transport resets, a second enable of
		 * such a queue fails and sets DEVICE_NEEDS_RESET.
		 */
		fn_reset(f);
		if (p->vp_ops->irq_changed != NULL)
			p->vp_ops->irq_changed(p->vp_arg, i);
		return;
	}
	/* FEATURES_OK only sticks if we can live with the features */
	if ((v & STATUS_FEATURES_OK) && !(f->pf_status & STATUS_FEATURES_OK) &&
	    !features_ok(f))
		v &= (uint8_t)~STATUS_FEATURES_OK;
	/* the driver never clears a bit but by reset; NEEDS_RESET is ours */
	f->pf_status = (uint8_t)((f->pf_status | v) & ~STATUS_NEEDS_RESET) |
	    (f->pf_status & STATUS_NEEDS_RESET);
}

static void
fn_queue_enable(struct vpci *p, unsigned int i)
{
	struct vpci_fn *f = &p->vp_fn[i];
	struct vpci_queue *q = &f->pf_q[f->pf_qsel];
	int rc = -1;

	if (q->pq_enable)
		return;
	if ((f->pf_status & STATUS_FEATURES_OK) && q->pq_size != 0 &&
	    q->pq_size <= f->pf_queue_max &&
	    (q->pq_size & (q->pq_size - 1)) == 0)
		rc = p->vp_ops->queue_enable(p->vp_arg, i, f->pf_qsel,
		    f->pf_gfeatures);
	if (rc == -1) {
		f->pf_status |= STATUS_NEEDS_RESET;
		return;
	}
	q->pq_enable = 1;
	if (p->vp_ops->irq_changed != NULL)
		p->vp_ops->irq_changed(p->vp_arg, i);
}

static void
common_write(struct vpci *p, unsigned int i, unsigned int off,
    const uint8_t *val, unsigned int len)
{
	struct vpci_fn *f = &p->vp_fn[i];
	struct vpci_queue *q;
	uint8_t cc[COMMON_LEN];

	common_image(f, cc);
	memcpy(cc + off, val, len);
	if (touches(off, len, CC_DFSELECT, 4))
		f->pf_dfsel = le32_get(cc + CC_DFSELECT);
	if (touches(off, len, CC_GFSELECT, 4))
		f->pf_gfsel = le32_get(cc + CC_GFSELECT);
	/* the features are fixed once FEATURES_OK is accepted */
	if (touches(off, len, CC_GF, 4) && f->pf_gfsel < 2 &&
	    !(f->pf_status & STATUS_FEATURES_OK)) {
		unsigned int sh = 32 * f->pf_gfsel;

		f->pf_gfeatures = (f->pf_gfeatures & ~(0xffffffffULL << sh)) |
		    (uint64_t)le32_get(cc + CC_GF) << sh;
	}
	if (touches(off, len, CC_MSIX, 2))
		f->pf_cfg_vector = fn_vector(f, le16_get(cc + CC_MSIX));
	if (touches(off, len, CC_QSELECT, 2))
		f->pf_qsel = le16_get(cc + CC_QSELECT);
	if (touches(off, len, CC_STATUS, 1))
		fn_status(p, i, cc[CC_STATUS]);
	if (f->pf_qsel >= f->pf_nqueues)
		return;
	q = &f->pf_q[f->pf_qsel];
	/* a live queue's registers are read-only */
	if (!q->pq_enable) {
		if (touches(off, len, CC_QSIZE, 2))
			q->pq_size = le16_get(cc + CC_QSIZE);
		if (touches(off, len, CC_QMSIX, 2))
			q->pq_vector = fn_vector(f, le16_get(cc + CC_QMSIX));
		if (touches(off, len, CC_QDESC, 8))
			q->pq_desc = le64_get(cc + CC_QDESC);
		if (touches(off, len, CC_QDRIVER, 8))
			q->pq_avail = le64_get(cc + CC_QDRIVER);
		if (touches(off, len, CC_QDEVICE, 8))
			q->pq_used = le64_get(cc + CC_QDEVICE);
	}
	if (touches(off, len, CC_QENABLE, 2) && le16_get(cc + CC_QENABLE) == 1)
		fn_queue_enable(p, i);
}

static void
msix_access(struct vpci *p, unsigned int i, uint32_t off, uint8_t *val,
    unsigned int len, int write)
{
	struct vpci_fn *f = &p->vp_fn[i];
	struct vpci_msix *m;
	uint8_t e[16];
	unsigned int v = off / 16, k = off % 16;

	if (v >= fn_nvec(f) || (len != 4 && len != 8) || k % len != 0) {
		if (!write)
			memset(val, 0, len);
		return;
	}
	m = &f->pf_msix[v];
	le32_put(e, m->mx_addr_lo);
	le32_put(e + 4, m->mx_addr_hi);
	le32_put(e + 8, m->mx_data);
	le32_put(e + 12, m->mx_ctrl);
	if (!write) {
		memcpy(val, e + k, len);
		return;
	}
	memcpy(e + k, val, len);
	m->mx_addr_lo = le32_get(e) & ~3U;
	m->mx_addr_hi = le32_get(e + 4);
	m->mx_data = le32_get(e + 8);
	m->mx_ctrl = le32_get(e + 12) & MSIX_ENTRY_MASKED;
	if (p->vp_ops->irq_changed != NULL)
		p->vp_ops->irq_changed(p->vp_arg, i);
}

/* An access of len (1..8) bytes at BAR offset off. */
static void
fn_bar_access(struct vpci *p, unsigned int i, uint32_t off, uint8_t *val,
    unsigned int len, int write)
{
	struct vpci_fn *f = &p->vp_fn[i];
	uint8_t cc[COMMON_LEN];

	if (off + len <= BAR_COMMON + COMMON_LEN) {
		if (write)
			common_write(p, i, off - BAR_COMMON, val, len);
		else {
			common_image(f, cc);
			memcpy(val, cc + (off - BAR_COMMON), len);
		}
		return;
	}
	if (off >= BAR_NOTIFY && off < BAR_NOTIFY + NOTIFY_MULT *
	    f->pf_nqueues) {
		if (write)
			p->vp_ops->notify(p->vp_arg, i,
			    (off - BAR_NOTIFY) / NOTIFY_MULT);
		else
			memset(val, 0, len);
		return;
	}
	if (off >= BAR_MSIX && off < BAR_PBA) {
		msix_access(p, i, off - BAR_MSIX, val, len, write);
		return;
	}
	if (write)
		return;
	memset(val, 0, len);
	if (off >= BAR_DEVICE && off + len <= BAR_DEVICE + f->pf_devcfg_len)
		memcpy(val, f->pf_devcfg + (off - BAR_DEVICE), len);
	/* ISR, PBA and holes read as zeros */
}

int
vpci_mmio(struct vpci *p, uint64_t gpa, uint8_t *val, unsigned int len,
    int write)
{
	unsigned int i;
	uint32_t base;

	for (i = 0; i < p->vp_nfn; i++) {
		base = vpci_bar(&p->vp_fn[i]);
		if (base == 0 || gpa < base || gpa >= (uint64_t)base +
		    VPCI_BAR_SIZE)
			continue;
		if (len == 0 || len > 8 || gpa - base + len > VPCI_BAR_SIZE) {
			if (!write)
				memset(val, 0xff, len > 8 ? 8 : len);
			return 0;
		}
		fn_bar_access(p, i, (uint32_t)(gpa - base), val, len, write);
		return 0;
	}
	return -1;
}
