/*
 * vpci.c: the PCI host bridge and virtio-pci functions an HVM guest sees.
 * Linux's type-1 probe and sanity check pass; configuration space holds
 * the virtio ids, a sizable BAR and a capability chain a driver can walk
 * (MSI-X, common, notify with its multiplier, ISR, device, PCI cfg);
 * feature negotiation refuses what was not offered; a queue goes live
 * only after FEATURES_OK, with the registers the driver wrote; MSI-X
 * routes follow the enable, function-mask and entry-mask bits; the BAR
 * moves and decodes only with memory decoding on; notify exits and the
 * PCI cfg window reach the same registers; reset and hostile accesses.
 */
#include <stdint.h>
#include <string.h>

#include "t.h"
#include "xen.h"

#define BAR	0xd0000000U
#define CONF(slot, off)	(0x80000000U | (slot) << 11 | (off))

struct calls {
	int		enabled[VPCI_MAX_QUEUES];
	uint64_t	features;
	int		refuse;
	int		notified[VPCI_MAX_QUEUES];
	int		irq;
	uint32_t	moved_old, moved_now;
	int		moves;
};

static int
c_enable(void *arg, unsigned int fn, unsigned int q, uint64_t f)
{
	struct calls *c = arg;

	(void)fn;
	if (c->refuse)
		return -1;
	c->enabled[q]++;
	c->features = f;
	return 0;
}

static void
c_notify(void *arg, unsigned int fn, unsigned int q)
{
	(void)fn;
	((struct calls *)arg)->notified[q]++;
}

static void
c_irq(void *arg, unsigned int fn)
{
	(void)fn;
	((struct calls *)arg)->irq++;
}

static void
c_moved(void *arg, unsigned int fn, uint32_t old, uint32_t now)
{
	struct calls *c = arg;

	(void)fn;
	c->moved_old = old;
	c->moved_now = now;
	c->moves++;
}

static const struct vpci_ops ops = {
	.queue_enable = c_enable,
	.notify = c_notify,
	.irq_changed = c_irq,
	.bar_moved = c_moved,
};

static uint32_t
cr(struct vpci *p, unsigned int slot, unsigned int off, unsigned int size)
{
	vpci_conf_write(p, VPCI_CONF_ADDR, 4, CONF(slot, off & 0xfc));
	return vpci_conf_read(p, VPCI_CONF_DATA + (off & 3), size);
}

static void
cw(struct vpci *p, unsigned int slot, unsigned int off, unsigned int size,
    uint32_t v)
{
	vpci_conf_write(p, VPCI_CONF_ADDR, 4, CONF(slot, off & 0xfc));
	vpci_conf_write(p, VPCI_CONF_DATA + (off & 3), size, v);
}

static uint64_t
mr(struct vpci *p, uint32_t off, unsigned int len)
{
	uint8_t b[8] = { 0 };
	uint64_t v = 0;

	CHECK(vpci_mmio(p, BAR + off, b, len, 0) == 0);
	memcpy(&v, b, len);
	return v;
}

static void
mw(struct vpci *p, uint32_t off, unsigned int len, uint64_t v)
{
	uint8_t b[8];

	memcpy(b, &v, sizeof(b));
	CHECK(vpci_mmio(p, BAR + off, b, len, 1) == 0);
}

/* Walk the capability list: the offset of virtio cfg_type t, or 0. */
static unsigned int
find_cap(struct vpci *p, unsigned int slot, unsigned int id, unsigned int t)
{
	unsigned int at = cr(p, slot, 0x34, 1), n = 0;

	while (at != 0 && n++ < 48) {
		if (cr(p, slot, at, 1) == id && (id != 0x09 ||
		    cr(p, slot, at + 3, 1) == t))
			return at;
		at = cr(p, slot, at + 1, 1);
	}
	return 0;
}

static void
setup(struct vpci *p, struct calls *c)
{
	static const uint8_t netcfg[12] = { 0x52, 0x54, 0, 1, 2, 3, 0, 0, 1,
	    0, 0xdc, 0x05 };
	struct vpci_desc d;

	memset(c, 0, sizeof(*c));
	vpci_init(p, &ops, c);
	memset(&d, 0, sizeof(d));
	d.pd_type = 1;
	d.pd_class = 0x020000;
	d.pd_nqueues = 2;
	d.pd_queue_max = 256;
	d.pd_features = VPCI_F_VERSION_1 | 1ULL << 29 | 1ULL << 5;
	d.pd_devcfg = netcfg;
	d.pd_devcfg_len = sizeof(netcfg);
	d.pd_bar = BAR;
	CHECK(vpci_add(p, &d) == 0);
}

static void
test_bridge_and_ids(void)
{
	struct vpci p;
	struct calls c;

	setup(&p, &c);
	/* Linux's pci_check_type1: a byte to 0xCFB, then the dword */
	vpci_conf_write(&p, 0xcfb, 1, 0x01);
	vpci_conf_write(&p, VPCI_CONF_ADDR, 4, 0x80000000U);
	CHECK_EQ(vpci_conf_read(&p, VPCI_CONF_ADDR, 4), 0x80000000U);
	/* pci_sanity_check: a host bridge on bus 0 */
	CHECK_EQ(cr(&p, 0, 0x0a, 2), 0x0600);
	CHECK_EQ(cr(&p, 0, 0, 2), 0x1b36);
	CHECK_EQ(cr(&p, 1, 0, 4), 0x10411af4U);	/* virtio-net, modern */
	CHECK_EQ(cr(&p, 1, 0x08, 1), 1);
	CHECK_EQ(cr(&p, 1, 0x08, 4) >> 16, 0x0200);	/* Ethernet */
	CHECK_EQ(cr(&p, 1, 0x2e, 2), 0x41);
	CHECK_EQ(cr(&p, 1, 0x3d, 1), 0);		/* no INTx */
	CHECK(cr(&p, 1, 0x06, 2) & 0x10);		/* capabilities */
	/* nothing else: slot 2, function 1, bus 1, disabled access */
	CHECK_EQ(cr(&p, 2, 0, 4), 0xffffffffU);
	vpci_conf_write(&p, VPCI_CONF_ADDR, 4, CONF(1, 0) | 1 << 8);
	CHECK_EQ(vpci_conf_read(&p, VPCI_CONF_DATA, 2), 0xffff);	/* fn 1 */
	vpci_conf_write(&p, VPCI_CONF_ADDR, 4, 0x00010000U | 1 << 11);
	CHECK_EQ(vpci_conf_read(&p, VPCI_CONF_DATA, 4), 0xffffffffU);
	vpci_conf_write(&p, VPCI_CONF_ADDR, 4, 0x80010000U | 1 << 11);
	CHECK_EQ(vpci_conf_read(&p, VPCI_CONF_DATA, 2), 0xffff);
	/* odd sizes and ports get all ones, never a crash */
	CHECK_EQ(vpci_conf_read(&p, VPCI_CONF_DATA + 3, 4), 0xffffffffU);
	CHECK_EQ(vpci_conf_read(&p, VPCI_CONF_DATA, 3), 0xffffffffU);
	CHECK_EQ(vpci_conf_read(&p, VPCI_CONF_ADDR, 2), 0xffff);
}

static void
test_bar(void)
{
	struct vpci p;
	struct calls c;
	uint8_t b[4];

	setup(&p, &c);
	CHECK_EQ(cr(&p, 1, 0x10, 4), BAR);
	/* no decoding until the driver turns memory space on */
	CHECK(vpci_mmio(&p, BAR, b, 4, 0) == -1);
	cw(&p, 1, 0x04, 2, 0x0006);
	CHECK_EQ(c.moves, 1);
	CHECK_EQ(c.moved_old, 0);
	CHECK_EQ(c.moved_now, BAR);
	CHECK(vpci_mmio(&p, BAR, b, 4, 0) == 0);
	/* sizing reads back the size; restoring moves nothing */
	cw(&p, 1, 0x04, 2, 0x0004);
	CHECK_EQ(c.moved_now, 0);
	cw(&p, 1, 0x10, 4, 0xffffffffU);
	CHECK_EQ(cr(&p, 1, 0x10, 4), 0xffffffffU & ~(VPCI_BAR_SIZE - 1));
	cw(&p, 1, 0x10, 4, 0xe0000000U);
	CHECK_EQ(c.moves, 2);
	cw(&p, 1, 0x04, 2, 0x0006);
	CHECK_EQ(c.moves, 3);
	CHECK_EQ(c.moved_now, 0xe0000000U);
	CHECK(vpci_mmio(&p, BAR, b, 4, 0) == -1);
	CHECK(vpci_mmio(&p, 0xe0000000U + VPCI_BAR_SIZE - 2, b, 4, 0) == 0);
	CHECK(vpci_mmio(&p, 0xe0000000U + VPCI_BAR_SIZE, b, 4, 0) == -1);
}

static void
test_caps(void)
{
	struct vpci p;
	struct calls c;
	unsigned int at;

	setup(&p, &c);
	at = find_cap(&p, 1, 0x11, 0);
	CHECK(at != 0);
	CHECK_EQ(cr(&p, 1, at + 2, 2) & 0x7ff, 2);	/* 3 vectors */
	CHECK_EQ(cr(&p, 1, at + 4, 4), 0x4000);		/* table, BIR 0 */
	CHECK_EQ(cr(&p, 1, at + 8, 4), 0x5000);
	at = find_cap(&p, 1, 0x09, 1);
	CHECK(at != 0 && cr(&p, 1, at + 2, 1) >= 16);
	CHECK_EQ(cr(&p, 1, at + 4, 1), 0);
	CHECK_EQ(cr(&p, 1, at + 8, 4), 0);
	CHECK(cr(&p, 1, at + 12, 4) >= 56);
	at = find_cap(&p, 1, 0x09, 2);
	CHECK(at != 0);
	CHECK_EQ(cr(&p, 1, at + 8, 4), VPCI_BAR_NOTIFY);
	CHECK_EQ(cr(&p, 1, at + 12, 4), 8);
	CHECK_EQ(cr(&p, 1, at + 16, 4), 4);		/* multiplier */
	CHECK(find_cap(&p, 1, 0x09, 3) != 0);
	at = find_cap(&p, 1, 0x09, 4);
	CHECK(at != 0 && cr(&p, 1, at + 12, 4) == 12);
	CHECK(find_cap(&p, 1, 0x09, 5) != 0);
}

/* The driver's side of virtio 1.1 3.1.1, up to FEATURES_OK. */
static void
negotiate(struct vpci *p, uint64_t want)
{
	mw(p, 20, 1, 0);
	mw(p, 20, 1, 1 | 2);			/* ACKNOWLEDGE, DRIVER */
	mw(p, 8, 4, 0);
	mw(p, 12, 4, (uint32_t)want);
	mw(p, 8, 4, 1);
	mw(p, 12, 4, (uint32_t)(want >> 32));
	mw(p, 20, 1, 1 | 2 | 8);
}

static void
queue(struct vpci *p, unsigned int q, unsigned int size, uint16_t vec)
{
	mw(p, 22, 2, q);
	mw(p, 24, 2, size);
	mw(p, 26, 2, vec);
	mw(p, 32, 4, 0x100000 + q * 0x10000);	/* desc: two halves */
	mw(p, 36, 4, 0);
	mw(p, 40, 8, 0x104000 + q * 0x10000);
	mw(p, 48, 8, 0x105000 + q * 0x10000);
}

static void
test_features_and_queues(void)
{
	struct vpci p;
	struct calls c;
	uint64_t a;
	uint32_t d;

	setup(&p, &c);
	cw(&p, 1, 0x04, 2, 0x0006);
	mw(&p, 0, 4, 0);
	CHECK_EQ(mr(&p, 4, 4), (1U << 29) | (1U << 5));
	mw(&p, 0, 4, 1);
	CHECK_EQ(mr(&p, 4, 4), 1);
	mw(&p, 0, 4, 7);
	CHECK_EQ(mr(&p, 4, 4), 0);
	CHECK_EQ(mr(&p, 18, 2), 2);
	CHECK_EQ(mr(&p, 0x2000, 4), 0x01005452);	/* the MAC */
	CHECK_EQ(mr(&p, 0x2000 + 10, 2), 1500);	/* mtu */
	CHECK_EQ(mr(&p, 0x2000 + 12, 4), 0);		/* past the config */

	/* a feature not offered: FEATURES_OK does not stick */
	negotiate(&p, VPCI_F_VERSION_1 | 1ULL << 6);
	CHECK_EQ(mr(&p, 20, 1) & 8, 0);
	/* nor without VERSION_1 */
	negotiate(&p, 1ULL << 29);
	CHECK_EQ(mr(&p, 20, 1) & 8, 0);
	/* a queue before FEATURES_OK is refused: NEEDS_RESET */
	queue(&p, 0, 256, 1);
	mw(&p, 28, 2, 1);
	CHECK_EQ(c.enabled[0], 0);
	CHECK(mr(&p, 20, 1) & 0x40);
	CHECK_EQ(mr(&p, 28, 2), 0);

	negotiate(&p, VPCI_F_VERSION_1 | 1ULL << 29);
	CHECK_EQ(mr(&p, 20, 1), 1 | 2 | 8);
	/* features are fixed from here */
	mw(&p, 8, 4, 0);
	mw(&p, 12, 4, 0);
	CHECK_EQ(mr(&p, 12, 4), 1U << 29);
	/* queue 0: the registers read back; no such queue reads size 0 */
	queue(&p, 0, 256, 1);
	CHECK_EQ(mr(&p, 24, 2), 256);
	CHECK_EQ(mr(&p, 26, 2), 1);
	CHECK_EQ(mr(&p, 30, 2), 0);
	CHECK_EQ(mr(&p, 32, 8), 0x100000);
	mw(&p, 22, 2, 5);
	CHECK_EQ(mr(&p, 24, 2), 0);
	CHECK_EQ(mr(&p, 26, 2), VPCI_NO_VECTOR);
	/* a size that is no power of two is refused */
	queue(&p, 1, 100, 2);
	mw(&p, 28, 2, 1);
	CHECK_EQ(c.enabled[1], 0);
	CHECK(mr(&p, 20, 1) & 0x40);
	negotiate(&p, VPCI_F_VERSION_1 | 1ULL << 29);
	queue(&p, 0, 256, 1);
	mw(&p, 28, 2, 1);
	CHECK_EQ(c.enabled[0], 1);
	CHECK_EQ(c.features, VPCI_F_VERSION_1 | 1ULL << 29);
	CHECK_EQ(mr(&p, 28, 2), 1);
	/* a live queue's registers no longer move */
	mw(&p, 24, 2, 64);
	CHECK_EQ(mr(&p, 24, 2), 256);
	mw(&p, 28, 2, 1);
	CHECK_EQ(c.enabled[0], 1);
	/* a vector past the table is refused as NO_VECTOR */
	queue(&p, 1, 128, 9);
	CHECK_EQ(mr(&p, 26, 2), VPCI_NO_VECTOR);
	mw(&p, 26, 2, 2);
	mw(&p, 28, 2, 1);
	CHECK_EQ(c.enabled[1], 1);
	mw(&p, 20, 1, 1 | 2 | 8 | 4);		/* DRIVER_OK */
	CHECK_EQ(mr(&p, 20, 1), 1 | 2 | 8 | 4);

	/* MSI-X: nothing is delivered until enabled, unmasked, programmed */
	CHECK(!vpci_queue_msi(&p.vp_fn[0], 0, &a, &d));
	mw(&p, 0x4000 + 16, 4, 0xfee01000U);
	mw(&p, 0x4000 + 16 + 8, 4, 0x4041);
	mw(&p, 0x4000 + 16 + 12, 4, 0);		/* unmask vector 1 */
	CHECK(!vpci_queue_msi(&p.vp_fn[0], 0, &a, &d));
	cw(&p, 1, 0x40 + 2, 2, 0xc000);		/* enable, mask all */
	CHECK(!vpci_queue_msi(&p.vp_fn[0], 0, &a, &d));
	c.irq = 0;
	cw(&p, 1, 0x40 + 2, 2, 0x8000);
	CHECK(c.irq > 0);
	CHECK(vpci_queue_msi(&p.vp_fn[0], 0, &a, &d));
	CHECK_EQ(a, 0xfee01000U);
	CHECK_EQ(d, 0x4041);
	CHECK(!vpci_queue_msi(&p.vp_fn[0], 1, &a, &d));	/* vector 2 masked */
	CHECK_EQ(mr(&p, 0x4000 + 16 + 12, 4), 0);
	CHECK_EQ(mr(&p, 0x4000 + 32 + 12, 4), 1);
	mw(&p, 0x4000 + 16 + 12, 4, 1);
	CHECK(!vpci_queue_msi(&p.vp_fn[0], 0, &a, &d));
	/* odd sizes and vectors past the table are ignored */
	mw(&p, 0x4000 + 16 + 12, 2, 0);
	CHECK(!vpci_queue_msi(&p.vp_fn[0], 0, &a, &d));
	mw(&p, 0x4000 + 48, 4, 0x12345678);
	CHECK_EQ(mr(&p, 0x4000 + 48, 4), 0);

	/* a notify that exits: queue number from the address */
	mw(&p, VPCI_BAR_NOTIFY + 4, 2, 1);
	CHECK_EQ(c.notified[1], 1);
	mw(&p, VPCI_BAR_NOTIFY + 8, 2, 2);		/* past the queues */
	CHECK_EQ(c.notified[0] + c.notified[1], 1);

	/* reset: status 0 at once (Linux polls for it), queues off */
	mw(&p, 20, 1, 0);
	CHECK_EQ(mr(&p, 20, 1), 0);
	mw(&p, 22, 2, 0);
	CHECK_EQ(mr(&p, 28, 2), 0);
	CHECK_EQ(mr(&p, 26, 2), VPCI_NO_VECTOR);
	CHECK(!vpci_queue_msi(&p.vp_fn[0], 0, &a, &d));
	/* the backend refuses a second life: NEEDS_RESET */
	negotiate(&p, VPCI_F_VERSION_1);
	c.refuse = 1;
	queue(&p, 0, 256, 1);
	mw(&p, 28, 2, 1);
	CHECK(mr(&p, 20, 1) & 0x40);
	CHECK_EQ(mr(&p, 28, 2), 0);
}

static void
test_cfg_window(void)
{
	struct vpci p;
	struct calls c;
	unsigned int at;

	setup(&p, &c);
	at = find_cap(&p, 1, 0x09, 5);
	CHECK(at != 0);
	/* read num_queues through the window, BAR decoding off */
	cw(&p, 1, at + 4, 1, 0);
	cw(&p, 1, at + 8, 4, 18);
	cw(&p, 1, at + 12, 4, 2);
	CHECK_EQ(cr(&p, 1, at + 16, 2), 2);
	/* write queue_select through it */
	cw(&p, 1, at + 8, 4, 22);
	cw(&p, 1, at + 16, 2, 1);
	CHECK_EQ(p.vp_fn[0].pf_qsel, 1);
	/* a misaligned or odd-length window does nothing */
	cw(&p, 1, at + 8, 4, 23);
	CHECK_EQ(cr(&p, 1, at + 16, 2), 0);
	cw(&p, 1, at + 12, 4, 3);
	cw(&p, 1, at + 8, 4, 22);
	CHECK_EQ(cr(&p, 1, at + 16, 4), 0);
	cw(&p, 1, at + 12, 4, 4);
	cw(&p, 1, at + 8, 4, VPCI_BAR_SIZE);
	CHECK_EQ(cr(&p, 1, at + 16, 4), 0);
	cw(&p, 1, at + 4, 1, 1);			/* BAR 1 */
	cw(&p, 1, at + 8, 4, 16);
	CHECK_EQ(cr(&p, 1, at + 16, 4), 0);
}

static void
test_full(void)
{
	struct vpci p;
	struct vpci_desc d;
	struct calls c;
	unsigned int i;

	memset(&c, 0, sizeof(c));
	vpci_init(&p, &ops, &c);
	memset(&d, 0, sizeof(d));
	d.pd_type = 2;
	d.pd_nqueues = 1;
	d.pd_queue_max = 1024;
	for (i = 0; i < VPCI_MAX_FN; i++) {
		d.pd_bar = BAR + i * VPCI_BAR_SIZE;
		CHECK(vpci_add(&p, &d) == (int)i);
	}
	CHECK(vpci_add(&p, &d) == -1);
	CHECK_EQ(cr(&p, VPCI_MAX_FN, 0, 4), 0x10421af4U);
	d.pd_nqueues = VPCI_MAX_QUEUES + 1;
	vpci_init(&p, &ops, &c);
	CHECK(vpci_add(&p, &d) == -1);
	d.pd_nqueues = 1;
	d.pd_devcfg_len = VPCI_DEVCFG_MAX + 1;
	CHECK(vpci_add(&p, &d) == -1);
}

int
main(void)
{
	test_bridge_and_ids();
	test_bar();
	test_caps();
	test_features_and_queues();
	test_cfg_window();
	test_full();
	return t_done("test_vpci");
}
