/*
 * libFuzzer driver: the PCI configuration ports and virtio-pci BARs an
 * HVM guest drives (vpci.c), fed a sequence of accesses of 7 bytes each:
 * kind, size, offset (2), value (3).  Two functions (net, blk) sit on the
 * bridge with decoding on at the start, as after Linux enumerated them.
 *
 * Invariants: a queue goes live only with FEATURES_OK set and features
 * that were offered, including VERSION_1, and a power-of-two size within
 * the maximum; FEATURES_OK never stands for unacceptable features; an
 * MSI is delivered only with MSI-X enabled, the function unmasked and the
 * entry unmasked; the BAR stays aligned; a read of n bytes never carries
 * more than n bytes; an MMIO access is taken exactly where a BAR decodes.
 */
#include <string.h>

#include "fuzz.h"
#include "xen.h"

#define BAR	0xd0000000U

static struct vpci p;

static int
f_enable(void *arg, unsigned int fn, unsigned int q, uint64_t features)
{
	const struct vpci_fn *f = &p.vp_fn[fn];
	unsigned int size = f->pf_q[q].pq_size;

	(void)arg;
	CHECK(fn < p.vp_nfn && q < f->pf_nqueues);
	CHECK(f->pf_status & 0x08);
	CHECK((features & ~f->pf_features) == 0);
	CHECK(features & VPCI_F_VERSION_1);
	CHECK(size != 0 && size <= f->pf_queue_max && !(size & (size - 1)));
	CHECK(!f->pf_q[q].pq_enable);
	return (size & 0x10) ? -1 : 0;	/* sometimes the backend says no */
}

static void
f_notify(void *arg, unsigned int fn, unsigned int q)
{
	(void)arg;
	CHECK(fn < p.vp_nfn && q < p.vp_fn[fn].pf_nqueues);
}

static void
f_irq(void *arg, unsigned int fn)
{
	uint64_t a;
	uint32_t d;
	unsigned int q;
	const struct vpci_fn *f = &p.vp_fn[fn];

	(void)arg;
	CHECK(fn < p.vp_nfn);
	for (q = 0; q < f->pf_nqueues; q++) {
		if (!vpci_queue_msi(f, q, &a, &d))
			continue;
		CHECK((f->pf_msix_ctrl & 0xc000) == 0x8000);
		CHECK(f->pf_q[q].pq_enable);
		CHECK(f->pf_q[q].pq_vector <= f->pf_nqueues);
		CHECK(!(f->pf_msix[f->pf_q[q].pq_vector].mx_ctrl & 1));
	}
}

static void
f_moved(void *arg, unsigned int fn, uint32_t old, uint32_t now)
{
	(void)arg;
	CHECK(fn < p.vp_nfn && old != now);
	CHECK((now & (VPCI_BAR_SIZE - 1)) == 0);
}

static const struct vpci_ops ops = {
	.queue_enable = f_enable,
	.notify = f_notify,
	.irq_changed = f_irq,
	.bar_moved = f_moved,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t netcfg[12] = { 0x52, 0x54, 0, 1, 2, 3 };
	struct vpci_desc d;
	unsigned int i, k, len, off;
	int hit;
	uint32_t v, got;
	uint8_t buf[8];

	vpci_init(&p, &ops, NULL);
	memset(&d, 0, sizeof(d));
	d.pd_type = 1;
	d.pd_nqueues = 2;
	d.pd_queue_max = 256;
	d.pd_features = VPCI_F_VERSION_1 | 1ULL << 29 | 1ULL << 5;
	d.pd_devcfg = netcfg;
	d.pd_devcfg_len = sizeof(netcfg);
	d.pd_bar = BAR;
	CHECK(vpci_add(&p, &d) == 0);
	d.pd_type = 2;
	d.pd_nqueues = 1;
	d.pd_bar = BAR + VPCI_BAR_SIZE;
	CHECK(vpci_add(&p, &d) == 1);
	p.vp_fn[0].pf_command = p.vp_fn[1].pf_command = 0x6;

	for (i = 0; i + 7 <= size; i += 7) {
		const uint8_t *o = data + i;

		len = 1U << (o[1] & 3);
		off = (unsigned int)(o[2] | o[3] << 8);
		v = (uint32_t)(o[4] | o[5] << 8 | o[6] << 16);
		if (o[6] & 0x80)
			v |= 0xff000000U;
		switch (o[0] % 5) {
		case 0:		/* the address register */
			vpci_conf_write(&p, VPCI_CONF_ADDR, 4, 0x80000000U |
			    (v & 0x7ffffffcU));
			break;
		case 1:
			vpci_conf_write(&p, VPCI_CONF_ADDR + (off & 7), len, v);
			break;
		case 2:
			got = vpci_conf_read(&p, VPCI_CONF_ADDR + (off & 7),
			    len);
			if (len < 4)
				CHECK(got < 1U << (len * 8));
			break;
		case 3:		/* a BAR access; bit 15 of off: function 1 */
			memcpy(buf, o + 3, 4);
			memcpy(buf + 4, o + 3, 4);
			k = vpci_mmio(&p, BAR + (off & 0x7fff) + (off >> 15) *
			    VPCI_BAR_SIZE, buf, o[1] & 4 ? 8 : len,
			    o[0] & 0x80);
			(void)k;
			break;
		case 4:		/* taken exactly where a BAR decodes */
			got = 0xc0000000U + off * 4;
			hit = 0;
			for (k = 0; k < p.vp_nfn; k++) {
				uint32_t b = vpci_bar(&p.vp_fn[k]);

				if (b != 0 && got >= b && got - b <
				    VPCI_BAR_SIZE)
					hit = 1;
			}
			CHECK((vpci_mmio(&p, got, buf, len, 0) == 0) == hit);
			break;
		}
		for (k = 0; k < p.vp_nfn; k++) {
			const struct vpci_fn *f = &p.vp_fn[k];

			CHECK((f->pf_bar & (VPCI_BAR_SIZE - 1)) == 0);
			if (f->pf_status & 0x08)
				CHECK((f->pf_gfeatures & ~f->pf_features) ==
				    0 && (f->pf_gfeatures & VPCI_F_VERSION_1));
			f_irq(NULL, k);
		}
	}
	return 0;
}
