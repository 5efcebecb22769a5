/*
 * hostile: a guest that attacks xeno-hv through the PV ABI, for the
 * integration tests.  It builds hypercall blocks by hand rather than use
 * the SDK wrappers, which would refuse or fix up some of the attacks.
 *
 * test=all (the default) runs every attack that xeno-hv must survive and
 * answer with a documented result, one line per check:
 *
 *	hostile: NAME: ok
 *	hostile: NAME: FAIL (got X want Y)
 *	hostile: expected_hcall_errors=K
 *	hostile: checks=N failed=F
 *
 * and exits with status F (at most 63).  K is how many hypercall errors
 * xeno-hv's counters must show for the run: one for every attack whose
 * documented result is negative or whose block address is bad, and one
 * for the `in` from a hypercall port.
 *
 * test=NAME runs one attack.  The fatal ones each end the domain (xeno-hv
 * reports the crash or abort); they print "hostile: NAME: about to fault"
 * first so a test can tell the guest got that far, and should the domain
 * survive they print "hostile: NAME: survived" and exit with status 1.
 *
 * Queue attacks need devices: run with a --vif, a read-write --vbd and a
 * read-only one (and --mem 128M for len-overflow); an attack whose device
 * is missing prints "hostile: NAME: skipped (needs ...)", so test=all
 * without devices behaves as before.  test=queues runs them all, in this
 * order (each is also a test of its own, and part of test=all):
 *
 *  queue-setup-attacks  on the VIF's transmit queue (else a VBD's), before
 *	it is set up: QUEUE_SETUP with a ring beyond memory, straddling its
 *	end, in the system area, wrapping 2^64 (-EFAULT); desc, avail or used
 *	misaligned, size not a power of two, 0, above queue_max, features
 *	without VERSION_1 or not offered, queue index out of range
 *	(-EINVAL); then a good setup, and the same again (-EBUSY).  Each
 *	refusal is a hypercall error.
 *  queue-chains  on the VIF's transmit queue and on a VBD's queue: the
 *	first buffer in the system area, beyond memory, straddling its end,
 *	wrapping; a descriptor loop; 65 buffers; next past the ring; a
 *	readable buffer after a writable one; over 4 GiB in one direction
 *	(len-overflow); indirect tables of a bad length, of length 0, with
 *	NEXT, beyond memory, nested, looping, with next past their end, with
 *	65 buffers; and a head index past the ring.  Each must come back with
 *	used length 0 (the bad head: not at all) and a good request must
 *	work before and after ("NAME-works-before/after").
 *  blk-ro-write  a write to the read-only VBD: status IOERR.
 *  blk-no-status  a request with no writable byte: used length 0.
 *  queue-avail-jump  last: an avail index more than a ring ahead breaks
 *	that queue (the read-only VBD's, else another's): nothing comes back
 *	from it, and every other device still works.
 *
 * The report then adds what the device counters must show for the run:
 *
 *	hostile: expected_queue_errors=N	(malformed chains, all queues)
 *	hostile: expected_queue_errors_by_reason addr=A loop=L index=I
 *	    order=O nested=N indirect=D len=E	(one line)
 *	hostile: expected_ring_errors=R		(broken rings)
 *	hostile: expected_blk_err_ro=W expected_blk_err_bad=B
 */
#include <xeno.h>
#include <xeno_dev.h>

#define NS_PER_SEC		1000000000ULL
#define NS_PER_MS		1000000ULL
#define HOSTILE_UNKNOWN_HC	50	/* a hypercall port with no hypercall */
#define HOSTILE_UNSERVED_PORT	0x80	/* not a hypercall or doorbell port */
#define HOSTILE_YIELD_MAX_NS	(20 * NS_PER_MS)
#define HOSTILE_CLOCK_SLACK_NS	NS_PER_MS
#define HOSTILE_SURVIVED_STATUS	1

enum hostile_kind {
	HOSTILE_CHECK,	/* survives, checks a result; part of test=all */
	HOSTILE_FATAL,	/* must end the domain; on its own only */
	HOSTILE_GROUP,	/* runs checks listed on their own too */
};

struct hostile_test {
	const char	*ht_name;
	void		(*ht_run)(void);
	enum hostile_kind ht_kind;
};

static unsigned int	hostile_checks;
static unsigned int	hostile_failed;
static unsigned int	hostile_hcall_errors;
/* A pretend virtio ring for queue setup: valid guest memory, page aligned. */
static uint8_t		hostile_ring[3][XENO_PV_PAGE_SIZE]
			    __attribute__((aligned(XENO_PV_PAGE_SIZE)));
/* Stops the recursion in stack-overflow only as far as gcc can tell. */
static volatile uint32_t	hostile_depth_limit = UINT32_MAX;

static void
hostile_expect(const char *name, int64_t got, int64_t want)
{
	hostile_checks++;
	if (got == want) {
		xeno_printf("hostile: %s: ok\n", name);
		return;
	}
	hostile_failed++;
	xeno_printf("hostile: %s: FAIL (got %ld want %ld)\n", name, (long)got,
	    (long)want);
}

static void
hostile_expect_max(const char *name, uint64_t got, uint64_t max)
{
	hostile_checks++;
	if (got <= max) {
		xeno_printf("hostile: %s: ok\n", name);
		return;
	}
	hostile_failed++;
	xeno_printf("hostile: %s: FAIL (got %lu want <=%lu)\n", name, got, max);
}

/* An attack that xeno-hv must refuse, and count as a hypercall error. */
static void
hostile_expect_error(const char *name, int64_t got, int64_t want)
{
	hostile_hcall_errors++;
	hostile_expect(name, got, want);
}

static int64_t
hostile_console(uint64_t buf, uint64_t len)
{
	struct xeno_hc_console_write cw = { .buf = buf, .len = len };

	return xeno_hypercall(XENO_HC_CONSOLE_WRITE, &cw);
}

static void
test_console_beyond_mem(void)
{
	hostile_expect_error("console-beyond-mem",
	    hostile_console(xeno_bootinfo()->bi_mem_size, 16), -XENO_EFAULT);
}

/* The last byte is one past the end: catches an off-by-one range check. */
static void
test_console_straddle_end(void)
{
	hostile_expect_error("console-straddle-end",
	    hostile_console(xeno_bootinfo()->bi_mem_size - 8, 16),
	    -XENO_EFAULT);
}

static void
test_console_sysarea(void)
{
	hostile_expect_error("console-sysarea",
	    hostile_console(XENO_PV_GDT_GPA, 16), -XENO_EFAULT);
}

/*
 * buf + len wraps to 16, which a check written as `buf + len <= mem_size`
 * accepts; len is small so that -E2BIG cannot hide the bug.
 */
static void
test_console_wrap(void)
{
	hostile_expect_error("console-wrap",
	    hostile_console(UINT64_MAX - 15, 32), -XENO_EFAULT);
}

/* A valid buffer, one byte too long; if xeno-hv prints it, it is all 'x'. */
static void
test_console_e2big(void)
{
	size_t len = XENO_PV_CONSOLE_MAX + 1;
	char *buf;

	if ((buf = malloc(len)) == NULL)
		xeno_abort("hostile: console-e2big needs %zu bytes of heap",
		    len);
	memset(buf, 'x', len);
	hostile_expect_error("console-e2big",
	    hostile_console((uintptr_t)buf, len), -XENO_E2BIG);
	free(buf);
}

/*
 * A block address past the end of memory; with 4 GiB of memory no 32-bit
 * address is, so use one whose block runs past the end.
 */
static void
test_block_beyond_mem(void)
{
	uint64_t gpa = xeno_bootinfo()->bi_mem_size <= 0xfffff000 ?
	    0xfffff000 : 0xfffffff8;

	hostile_expect_error("block-beyond-mem",
	    (int64_t)xeno_hypercall_raw(XENO_HC_CLOCK, gpa), -XENO_EFAULT);
}

/* XENO_HC_CLOCK writes its block: here it would overwrite the boot info. */
static void
test_block_sysarea(void)
{
	hostile_expect_error("block-sysarea",
	    (int64_t)xeno_hypercall_raw(XENO_HC_CLOCK, XENO_PV_BOOTINFO_GPA),
	    -XENO_EFAULT);
}

static void
test_unknown_hcall(void)
{
	/* ret starts non-zero so that "xeno-hv wrote nothing" shows. */
	struct {
		int64_t		ret;
		uint64_t	args[7];
	} blk = { .ret = 1 };

	hostile_expect_error("unknown-hcall",
	    xeno_hypercall(HOSTILE_UNKNOWN_HC, &blk), -XENO_ENOSYS);
}

static void
test_yield_past(void)
{
	uint64_t t0 = xeno_mono_ns();
	int64_t rc;

	rc = xeno_yield(1, NULL);
	hostile_expect("yield-past", rc, 0);
	hostile_expect_max("yield-past-prompt", xeno_mono_ns() - t0,
	    HOSTILE_YIELD_MAX_NS);
}

/* How far v lies outside [lo, hi]. */
static uint64_t
hostile_distance(uint64_t v, uint64_t lo, uint64_t hi)
{
	if (v < lo)
		return lo - v;
	return v > hi ? v - hi : 0;
}

static void
test_clock(void)
{
	uint64_t wall0, mono0, mono, wall, mono1, wall1;
	int64_t rc;

	wall0 = xeno_wall_ns();
	mono0 = xeno_mono_ns();
	rc = xeno_clock(&mono, &wall);
	mono1 = xeno_mono_ns();
	wall1 = xeno_wall_ns();
	hostile_expect("clock", rc, 0);
	hostile_expect_max("clock-mono", hostile_distance(mono, mono0, mono1),
	    HOSTILE_CLOCK_SLACK_NS);
	hostile_expect_max("clock-wall", hostile_distance(wall, wall0, wall1),
	    HOSTILE_CLOCK_SLACK_NS);
}

/*
 * Where a vCPU lands if xeno-hv starts one it should have refused.  It is
 * entered with no return address on the stack, hence the realignment.
 */
__attribute__((force_align_arg_pointer, noreturn)) static void
hostile_stray_vcpu(void)
{
	xeno_printf("hostile: a vCPU started that xeno-hv should refuse\n");
	xeno_vcpu_stop();
}

static int64_t
hostile_vcpu_start(uint64_t vcpu, uint64_t rip)
{
	struct xeno_hc_vcpu_start vst = { .vcpu = vcpu, .rip = rip };

	return xeno_hypercall(XENO_HC_VCPU_START, &vst);
}

static void
test_vcpu_bad_index(void)
{
	hostile_expect_error("vcpu-start-bad-index",
	    hostile_vcpu_start(1000, (uintptr_t)hostile_stray_vcpu),
	    -XENO_EINVAL);
}

/* Needs a vCPU that may be started, or -XENO_EINVAL would answer first. */
static void
test_vcpu_bad_rip(void)
{
	const struct xeno_pv_bootinfo *bi = xeno_bootinfo();

	if (bi->bi_nr_vcpus < 2) {
		xeno_printf("hostile: vcpu-start-bad-rip: skipped "
		    "(needs 2 or more vCPUs)\n");
		return;
	}
	hostile_expect_error("vcpu-start-bad-rip",
	    hostile_vcpu_start(1, bi->bi_mem_size), -XENO_EFAULT);
}

/* main() runs on vCPU 0, so it is running. */
static void
test_vcpu_self(void)
{
	hostile_expect_error("vcpu-start-self",
	    hostile_vcpu_start(0, (uintptr_t)hostile_stray_vcpu),
	    -XENO_EBUSY);
}

static void
test_device_info(void)
{
	struct xeno_hc_device_info info;

	hostile_expect_error("device-info",
	    xeno_device_info(xeno_bootinfo()->bi_nr_devices, &info),
	    -XENO_ENODEV);
}

static void
test_queue_setup(void)
{
	struct xeno_hc_queue_setup qs = {
		.index = xeno_bootinfo()->bi_nr_devices,
		.queue = 0,
		.size = 256,
		.desc = (uintptr_t)hostile_ring[0],
		.avail = (uintptr_t)hostile_ring[1],
		.used = (uintptr_t)hostile_ring[2],
	};

	hostile_expect_error("queue-setup", xeno_queue_setup(&qs),
	    -XENO_ENODEV);
}

/* The TSS I/O bitmap grants the port, so this reaches xeno-hv. */
static void
test_in_hcall_port(void)
{
	uint32_t v;

	__asm__ volatile("inl %%dx, %%eax"
	    : "=a"(v) : "d"((uint16_t)XENO_PV_HC_PORT));
	hostile_hcall_errors++;
	hostile_expect("in-hcall-port", v, 0xffffffff);
}

static void
fatal_ud2(void)
{
	__asm__ volatile("ud2");
}

/* #GP because IOPL is 0 (pv.h): with IOPL 3, CPL 3 could run cli. */
static void
fatal_cli(void)
{
	__asm__ volatile("cli");
}

static void
fatal_hlt(void)
{
	__asm__ volatile("hlt");
}

static void
fatal_wrmsr(void)
{
	/* IA32_TIME_STAMP_COUNTER = 0 */
	__asm__ volatile("wrmsr" : : "c"(0x10), "a"(0), "d"(0));
}

static void
fatal_mov_cr3(void)
{
	__asm__ volatile("movq %0, %%cr3" : : "r"(0UL) : "memory");
}

/* In asm: gcc is free to turn a C NULL dereference into ud2. */
static void
fatal_null_read(void)
{
	uint32_t v;

	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(0UL) : "memory");
	(void)v;
}

static void
fatal_write_sysarea(void)
{
	__asm__ volatile("movl $0, (%0)"
	    : : "r"((uintptr_t)XENO_PV_GDT_GPA) : "memory");
}

static void
fatal_write_bootinfo(void)
{
	__asm__ volatile("movl $0, (%0)"
	    : : "r"((uintptr_t)XENO_PV_BOOTINFO_GPA) : "memory");
}

/* A port outside the TSS I/O bitmap: #GP, on any host (pv.h). */
static void
fatal_outb_unserved(void)
{
	__asm__ volatile("outb %%al, %0"
	    : : "i"(HOSTILE_UNSERVED_PORT), "a"(0x42));
}

static void
fatal_wild_jump(void)
{
	__asm__ volatile("jmp *%0"
	    : : "r"(xeno_bootinfo()->bi_mem_size + (2ULL << 20)));
}

/* A volatile frame gcc cannot drop, and work after the call: no tail call. */
__attribute__((noinline)) static uint32_t
hostile_recurse(uint32_t depth)
{
	volatile uint8_t frame[512];

	frame[0] = depth;
	if (depth == hostile_depth_limit)
		return 0;
	return hostile_recurse(depth + 1) + frame[0];
}

static void
fatal_stack_overflow(void)
{
	hostile_recurse(0);
}

static void
fatal_div0(void)
{
	uint32_t q, r;

	__asm__ volatile("divl %2" : "=a"(q), "=d"(r) : "c"(0), "a"(1), "d"(0));
	(void)q;
	(void)r;
}

static void
fatal_int3(void)
{
	__asm__ volatile("int3");
}

static void
fatal_bad_exit(void)
{
	xeno_exit(999);
}

static void
fatal_abort(void)
{
	xeno_abort("hostile abort test");
}

/*
 * Queue attacks.  They need devices: a --vif (its transmit queue), a
 * read-write --vbd and a read-only one; each attack that lacks its device
 * says "skipped".  The rings are set up here with the SDK's raw queue
 * calls rather than its drivers, so that chains can be built by hand.
 * Every malformed chain must come back with used length 0 (or, for
 * requests the block device understands but refuses, a status), and the
 * queue must still serve a good request afterwards.
 */
#define HQ_WAIT_NS		NS_PER_SEC	/* for a completion */
#define HQ_SILENCE_NS		(300 * NS_PER_MS)	/* for its absence */
#define HQ_MAX_DESC		80	/* the longest chain built, and more */
#define HQ_SEGS_MAX		64	/* the device's VQ_MAX_SEGS */
#define HQ_NEXT_RAW		0x10000	/* hq_desc.next is not chain-relative */
#define HQ_SCRATCH		(64 << 10)
#define HQ_STATUS_UNSET		0xff

/* The malformed-chain reasons the device counts (virtq.h). */
enum hq_reason {
	HQ_ADDR,
	HQ_LOOP,
	HQ_INDEX,
	HQ_ORDER,
	HQ_NESTED,
	HQ_INDIRECT,
	HQ_LEN,
	HQ_NREASONS,
};

static const char *const hq_reason_name[HQ_NREASONS] = {
	"addr", "loop", "index", "order", "nested", "indirect", "len",
};

/* A queue under attack: the net transmit queue or a block queue. */
struct hq_target {
	const char	*ht_name;	/* "net-tx", "blk-rw", "blk-ro" */
	int		 ht_dev;	/* device index, -1: absent */
	uint32_t	 ht_queue;
	int		 ht_block;
	int		 ht_up;		/* queue set up */
	int		 ht_broken;	/* we broke its ring on purpose */
	struct xeno_hc_device_info ht_info;
	struct xeno_vq	 ht_vq;
};

/* A chain to build: next is an index into the chain unless HQ_NEXT_RAW. */
struct hq_desc {
	uint64_t	hd_addr;
	uint32_t	hd_len;
	uint16_t	hd_flags;
	uint32_t	hd_next;
};

static struct hq_target	hq_net = {
	.ht_name = "net-tx", .ht_dev = -1, .ht_queue = XENO_PV_NET_TXQ,
};
static struct hq_target	hq_rw = {
	.ht_name = "blk-rw", .ht_dev = -1, .ht_block = 1,
};
static struct hq_target	hq_ro = {
	.ht_name = "blk-ro", .ht_dev = -1, .ht_block = 1,
};
static int		hq_found;
/* Device-visible buffers: request headers, data, status, tables. */
static uint8_t		*hq_scratch;
static unsigned int	hostile_queue_errors[HQ_NREASONS];
static unsigned int	hostile_ring_errors;
static unsigned int	hostile_blk_err_ro;
static unsigned int	hostile_blk_err_bad;

static void
hq_find(void)
{
	uint32_t i, n = xeno_bootinfo()->bi_nr_devices;
	struct xeno_hc_device_info info;
	struct hq_target *t;

	if (hq_found)
		return;
	hq_found = 1;
	for (i = 0; i < n; i++) {
		if (xeno_device_info(i, &info) < 0)
			continue;
		if (info.type == XENO_PV_DEV_NET)
			t = &hq_net;
		else if (info.type == XENO_PV_DEV_BLOCK)
			t = info.flags & XENO_PV_DEV_RO ? &hq_ro : &hq_rw;
		else
			continue;
		if (t->ht_dev < 0) {
			t->ht_dev = (int)i;
			t->ht_info = info;
		}
	}
	if ((hq_scratch = aligned_alloc(XENO_PV_PAGE_SIZE, HQ_SCRATCH)) ==
	    NULL)
		xeno_abort("hostile: no heap for the queue attacks");
	memset(hq_scratch, 0, HQ_SCRATCH);
}

/* Sets up the target's queue (once): 0, or -1 if it has no device. */
static int
hq_open(struct hq_target *t)
{
	uint64_t want = XENO_F(XENO_VIRTIO_F_EVENT_IDX) |
	    XENO_F(XENO_VIRTIO_F_INDIRECT_DESC);
	int rc;

	hq_find();
	if (t->ht_dev < 0)
		return -1;
	if (t->ht_up)
		return 0;
	/* Indirect and event-index when offered: more to attack. */
	if ((rc = xeno_vq_setup(&t->ht_vq, (uint32_t)t->ht_dev, t->ht_queue, 0,
	    t->ht_info.features & want)) < 0)
		xeno_abort("hostile: cannot set up %s (device %d): error %d",
		    t->ht_name, t->ht_dev, rc);
	t->ht_up = 1;
	return 0;
}

/* The target the chain attacks hit: the block device if any, and the VIF. */
static struct hq_target *
hq_block_target(void)
{
	hq_find();
	return hq_rw.ht_dev >= 0 ? &hq_rw : hq_ro.ht_dev >= 0 ? &hq_ro : NULL;
}

/*
 * The next completion on t within HQ_WAIT_NS: 1 with its cookie and used
 * length, 0 if none came.
 */
static int
hq_collect(struct hq_target *t, uint64_t wait_ns, void **cookie,
    uint32_t *len)
{
	struct xeno_vq *vq = &t->ht_vq;
	uint64_t deadline = xeno_mono_ns() + wait_ns;

	for (;;) {
		if (xeno_vq_get(vq, cookie, len))
			return 1;
		if (xeno_mono_ns() >= deadline ||
		    xeno_vq_wait(&vq, 1, deadline) < 0)
			return 0;
	}
}

/*
 * Posts the chain c[0..n-1] on t, rings, and waits for it: its used
 * length, or -1 if it did not come back.
 */
static int64_t
hq_run(struct hq_target *t, const struct hq_desc *c, unsigned int n)
{
	static uintptr_t serial;
	struct xeno_vq *vq = &t->ht_vq;
	uint16_t idx[HQ_MAX_DESC];
	struct xeno_vring_desc *d;
	void *want = (void *)++serial, *got;
	unsigned int k;
	uint32_t len;

	if (n > HQ_MAX_DESC || xeno_vq_alloc_chain(vq, n, idx) < 0)
		xeno_abort("hostile: %s: no room for a %u-descriptor chain",
		    t->ht_name, n);
	for (k = 0; k < n; k++) {
		d = &vq->vq_desc[idx[k]];
		d->addr = c[k].hd_addr;
		d->len = c[k].hd_len;
		d->flags = c[k].hd_flags;
		d->next = c[k].hd_next & HQ_NEXT_RAW ?
		    (uint16_t)c[k].hd_next : idx[c[k].hd_next % n];
	}
	xeno_vq_post(vq, idx[0], want);
	xeno_vq_kick(vq);
	if (!hq_collect(t, HQ_WAIT_NS, &got, &len))
		return -1;
	if (got != want)
		xeno_abort("hostile: %s: a completion for another request",
		    t->ht_name);
	return len;
}

/*
 * The readable buffer a good request of t starts with: for the VIF a
 * whole frame (virtio-net header, then a gratuitous ARP from our own
 * address), for a VBD a read header for sector `sector`.
 */
static struct hq_desc
hq_head(struct hq_target *t, uint32_t type, uint64_t sector)
{
	uint8_t *p = hq_scratch;
	struct xeno_virtio_blk_req *r = (void *)hq_scratch;

	if (t->ht_block) {
		*r = (struct xeno_virtio_blk_req){ .type = type,
		    .sector = sector };
		return (struct hq_desc){ (uintptr_t)r, sizeof(*r), 0, 0 };
	}
	memset(p, 0, 12 + 42);
	memset(p + 12, 0xff, 6);			/* broadcast */
	memcpy(p + 12 + 6, t->ht_info.mac, 6);
	p[12 + 12] = 0x08;				/* ARP */
	p[12 + 13] = 0x06;
	p[12 + 15] = 1;					/* Ethernet */
	p[12 + 16] = 0x08;				/* IPv4 */
	p[12 + 18] = 6;
	p[12 + 19] = 4;
	p[12 + 21] = 1;					/* request */
	memcpy(p + 12 + 22, t->ht_info.mac, 6);
	memcpy(p + 12 + 28, t->ht_info.ip4, 4);
	memcpy(p + 12 + 38, t->ht_info.ip4, 4);
	return (struct hq_desc){ (uintptr_t)p, 12 + 42, 0, 0 };
}

/* Block data and status live after the header in the scratch area. */
#define HQ_DATA		(hq_scratch + 4096)
#define HQ_STATUS	(hq_scratch + 2048)
#define HQ_TABLE	(hq_scratch + 8192)	/* indirect tables */
#define HQ_TABLE2	(hq_scratch + 16384)

/*
 * A good request must still work: for a VBD a one-sector read (status
 * OK, 513 bytes written), for the VIF a frame that comes back.
 */
static void
hq_good(struct hq_target *t, const char *after)
{
	struct hq_desc c[3];
	char name[64];
	int64_t len;

	xeno_snprintf(name, sizeof(name), "%s-works-%s", t->ht_name, after);
	c[0] = hq_head(t, XENO_VIRTIO_BLK_T_IN, 0);
	if (!t->ht_block) {
		hostile_expect(name, hq_run(t, c, 1), 0);
		return;
	}
	*HQ_STATUS = HQ_STATUS_UNSET;
	c[0].hd_flags = XENO_VRING_DESC_F_NEXT;
	c[0].hd_next = 1;
	c[1] = (struct hq_desc){ (uintptr_t)HQ_DATA, XENO_BLK_SECTOR,
	    XENO_VRING_DESC_F_WRITE | XENO_VRING_DESC_F_NEXT, 2 };
	c[2] = (struct hq_desc){ (uintptr_t)HQ_STATUS, 1,
	    XENO_VRING_DESC_F_WRITE, 0 };
	len = hq_run(t, c, 3);
	hostile_expect(name, len == XENO_BLK_SECTOR + 1 ?
	    *HQ_STATUS : 1000 + len, XENO_VIRTIO_BLK_S_OK);
}

/* Runs one malformed chain: it must come back with length 0, counted. */
static void
hq_bad(struct hq_target *t, const char *what, enum hq_reason why,
    const struct hq_desc *c, unsigned int n)
{
	char name[64];

	xeno_snprintf(name, sizeof(name), "%s-%s", t->ht_name, what);
	hostile_queue_errors[why]++;
	hostile_expect(name, hq_run(t, c, n), 0);
}

/*
 * The good request with its first buffer (the frame, or the block data)
 * at a bad address: outside memory three ways and in the system area.
 */
static void
hq_bad_addresses(struct hq_target *t)
{
	uint64_t mem = xeno_bootinfo()->bi_mem_size;
	static const struct {
		const char	*name;
		int		 kind;
	} cases[] = {
		{ "desc-sysarea", 0 },
		{ "desc-beyond-mem", 1 },
		{ "desc-straddle-end", 2 },
		{ "desc-wrap", 3 },
	};
	struct hq_desc c[3];
	uint64_t addr;
	unsigned int i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c[0] = hq_head(t, XENO_VIRTIO_BLK_T_IN, 0);
		n = 1;
		if (t->ht_block) {
			c[0].hd_flags = XENO_VRING_DESC_F_NEXT;
			c[0].hd_next = 1;
			c[1] = (struct hq_desc){ (uintptr_t)HQ_DATA,
			    XENO_BLK_SECTOR, XENO_VRING_DESC_F_WRITE |
			    XENO_VRING_DESC_F_NEXT, 2 };
			c[2] = (struct hq_desc){ (uintptr_t)HQ_STATUS, 1,
			    XENO_VRING_DESC_F_WRITE, 0 };
			n = 3;
		}
		switch (cases[i].kind) {
		case 0:
			addr = XENO_PV_GDT_GPA;
			break;
		case 1:
			addr = mem;
			break;
		case 2:
			addr = mem - c[n == 1 ? 0 : 1].hd_len / 2;
			break;
		default:
			addr = UINT64_MAX - c[n == 1 ? 0 : 1].hd_len / 2;
			break;
		}
		c[n == 1 ? 0 : 1].hd_addr = addr;
		hq_bad(t, cases[i].name, HQ_ADDR, c, n);
	}
}

/* Malformed direct chains. */
static void
hq_bad_chains(struct hq_target *t)
{
	struct hq_desc c[HQ_MAX_DESC];
	uint64_t mem = xeno_bootinfo()->bi_mem_size, big;
	unsigned int k;

	/* Two readable buffers pointing at each other. */
	c[0] = hq_head(t, XENO_VIRTIO_BLK_T_OUT, 0);
	c[0].hd_flags = XENO_VRING_DESC_F_NEXT;
	c[0].hd_next = 1;
	c[1] = (struct hq_desc){ (uintptr_t)HQ_DATA, 16,
	    XENO_VRING_DESC_F_NEXT, 0 };
	hq_bad(t, "desc-loop", HQ_LOOP, c, 2);

	/* One buffer more than a request may have, all valid. */
	c[0] = hq_head(t, XENO_VIRTIO_BLK_T_OUT, 0);
	for (k = 0; k <= HQ_SEGS_MAX; k++) {
		if (k > 0)
			c[k] = (struct hq_desc){ (uintptr_t)HQ_DATA + 16 * k,
			    16, 0, 0 };
		c[k].hd_flags = k < HQ_SEGS_MAX ? XENO_VRING_DESC_F_NEXT : 0;
		c[k].hd_next = k + 1;
	}
	hq_bad(t, "chain-too-long", HQ_LOOP, c, HQ_SEGS_MAX + 1);

	/* A next index past the ring. */
	c[0] = hq_head(t, XENO_VIRTIO_BLK_T_OUT, 0);
	c[0].hd_flags = XENO_VRING_DESC_F_NEXT;
	c[0].hd_next = HQ_NEXT_RAW | t->ht_vq.vq_size;
	hq_bad(t, "next-out-of-range", HQ_INDEX, c, 1);

	/* A writable buffer, then a readable one. */
	c[0] = (struct hq_desc){ (uintptr_t)HQ_STATUS, 1,
	    XENO_VRING_DESC_F_WRITE | XENO_VRING_DESC_F_NEXT, 1 };
	c[1] = hq_head(t, XENO_VIRTIO_BLK_T_IN, 0);
	hq_bad(t, "readable-after-writable", HQ_ORDER, c, 2);

	/*
	 * More than 4 GiB readable: 64 buffers of just over 64 MiB, all
	 * inside memory (the same bytes over and over), so that only the
	 * total is wrong.  Needs that much memory above the system area.
	 */
	big = (1ULL << 32) / HQ_SEGS_MAX + 1;
	if (mem < XENO_PV_IMAGE_MIN + big) {
		xeno_printf("hostile: %s-len-overflow: skipped (needs --mem "
		    "of at least %lu MiB)\n", t->ht_name,
		    (unsigned long)((XENO_PV_IMAGE_MIN + big + (1 << 20) - 1) >>
		    20));
	} else {
		for (k = 0; k < HQ_SEGS_MAX; k++)
			c[k] = (struct hq_desc){ XENO_PV_IMAGE_MIN,
			    (uint32_t)big, k + 1 < HQ_SEGS_MAX ?
			    XENO_VRING_DESC_F_NEXT : 0, k + 1 };
		hq_bad(t, "len-overflow", HQ_LEN, c, HQ_SEGS_MAX);
	}
}

/* Malformed indirect tables (the queue accepted INDIRECT_DESC). */
static void
hq_bad_indirect(struct hq_target *t)
{
	struct xeno_vring_desc *tab = (void *)HQ_TABLE;
	struct xeno_vring_desc *tab2 = (void *)HQ_TABLE2;
	struct hq_desc head = hq_head(t, XENO_VIRTIO_BLK_T_OUT, 0), c[2];
	uint64_t mem = xeno_bootinfo()->bi_mem_size;
	unsigned int k;

	if (!t->ht_vq.vq_indirect) {
		xeno_printf("hostile: %s-indirect-*: skipped (the device does "
		    "not offer INDIRECT_DESC)\n", t->ht_name);
		return;
	}
	/* The table entries used below: the request's head, then data. */
	tab[0] = (struct xeno_vring_desc){ head.hd_addr, head.hd_len,
	    XENO_VRING_DESC_F_NEXT, 1 };
	tab[1] = (struct xeno_vring_desc){ (uintptr_t)HQ_DATA, 16, 0, 0 };

	c[0] = (struct hq_desc){ (uintptr_t)tab, 24,
	    XENO_VRING_DESC_F_INDIRECT, 0 };
	hq_bad(t, "indirect-bad-len", HQ_INDIRECT, c, 1);
	c[0].hd_len = 0;
	hq_bad(t, "indirect-zero-len", HQ_INDIRECT, c, 1);
	c[0] = (struct hq_desc){ (uintptr_t)tab, 32,
	    XENO_VRING_DESC_F_INDIRECT | XENO_VRING_DESC_F_NEXT, 1 };
	c[1] = (struct hq_desc){ (uintptr_t)HQ_DATA, 16, 0, 0 };
	hq_bad(t, "indirect-with-next", HQ_INDIRECT, c, 2);
	c[0] = (struct hq_desc){ mem, 32, XENO_VRING_DESC_F_INDIRECT, 0 };
	hq_bad(t, "indirect-beyond-mem", HQ_ADDR, c, 1);

	/* A table whose second entry is itself a table. */
	tab2[0] = tab[0];
	tab2[1] = (struct xeno_vring_desc){ (uintptr_t)tab, 32,
	    XENO_VRING_DESC_F_INDIRECT, 0 };
	c[0] = (struct hq_desc){ (uintptr_t)tab2, 32,
	    XENO_VRING_DESC_F_INDIRECT, 0 };
	hq_bad(t, "indirect-nested", HQ_NESTED, c, 1);

	/* Inside a table: a loop, a next past its end, too many buffers. */
	tab2[1] = (struct xeno_vring_desc){ (uintptr_t)HQ_DATA, 16,
	    XENO_VRING_DESC_F_NEXT, 0 };
	hq_bad(t, "indirect-loop", HQ_LOOP, c, 1);
	tab2[1].next = 2;
	hq_bad(t, "indirect-next-out-of-range", HQ_INDEX, c, 1);
	for (k = 0; k <= HQ_SEGS_MAX; k++)
		tab2[k] = (struct xeno_vring_desc){ (uintptr_t)HQ_DATA + 16 * k,
		    16, k < HQ_SEGS_MAX ? XENO_VRING_DESC_F_NEXT : 0,
		    (uint16_t)(k + 1) };
	tab2[0] = tab[0];
	c[0].hd_len = (HQ_SEGS_MAX + 1) * sizeof(*tab2);
	hq_bad(t, "indirect-too-long", HQ_LOOP, c, 1);
}

/*
 * A head index past the ring in the avail ring: the device cannot even
 * hand it back (it has no valid head), so nothing must come back.
 */
static void
hq_bad_head(struct hq_target *t)
{
	struct xeno_vq *vq = &t->ht_vq;
	char name[64];
	void *cookie;
	uint32_t len;

	xeno_snprintf(name, sizeof(name), "%s-head-out-of-range", t->ht_name);
	vq->vq_avail->ring[vq->vq_avail_idx & (vq->vq_size - 1)] =
	    (uint16_t)(vq->vq_size + 7);
	vq->vq_avail_idx++;
	xeno_vq_kick(vq);
	hostile_queue_errors[HQ_INDEX]++;
	hostile_expect(name, hq_collect(t, HQ_SILENCE_NS, &cookie, &len), 0);
}

static void
hq_skip(const char *name, const char *needs)
{
	xeno_printf("hostile: %s: skipped (needs %s)\n", name, needs);
}

/* The first queue to set up, and the QUEUE_SETUP attacks on it first. */
static void
test_queue_setup_attacks(void)
{
	struct hq_target *t;
	struct xeno_hc_queue_setup qs, good;
	uint64_t mem = xeno_bootinfo()->bi_mem_size, offered, bit;
	uint32_t size;
	uint8_t *ring;

	hq_find();
	t = hq_net.ht_dev >= 0 ? &hq_net : hq_block_target();
	if (t == NULL) {
		hq_skip("queue-setup-attacks", "a --vif or --vbd");
		return;
	}
	if (t->ht_up) {
		hq_skip("queue-setup-attacks", "a queue not yet set up");
		return;
	}
	size = t->ht_info.queue_max < 256 ? t->ht_info.queue_max : 256;
	offered = t->ht_info.features;
	/* desc 16 * size, avail and used within a page each after it */
	if ((ring = aligned_alloc(XENO_PV_PAGE_SIZE, 16 * size +
	    3 * XENO_PV_PAGE_SIZE)) == NULL)
		xeno_abort("hostile: no heap for a ring");
	memset(ring, 0, 16 * size + 3 * XENO_PV_PAGE_SIZE);
	good = (struct xeno_hc_queue_setup){
		.index = (uint32_t)t->ht_dev,
		.queue = t->ht_queue,
		.size = size,
		.features = XENO_F(XENO_VIRTIO_F_VERSION_1),
		.desc = (uintptr_t)ring,
		.avail = (uintptr_t)ring + 16 * size,
		.used = (uintptr_t)ring + 16 * size + XENO_PV_PAGE_SIZE,
	};

#define HQ_SETUP(name, field, value, want) do {				\
	qs = good;							\
	qs.field = (value);						\
	hostile_expect_error(name, xeno_queue_setup(&qs), (want));	\
} while (0)
	HQ_SETUP("qs-ring-beyond-mem", desc, mem, -XENO_EFAULT);
	HQ_SETUP("qs-ring-straddle-end", used, mem - 8, -XENO_EFAULT);
	HQ_SETUP("qs-ring-sysarea", desc, XENO_PV_GDT_GPA, -XENO_EFAULT);
	HQ_SETUP("qs-ring-wrap", avail, UINT64_MAX - 1, -XENO_EFAULT);
	HQ_SETUP("qs-desc-misaligned", desc, good.desc + 8, -XENO_EINVAL);
	HQ_SETUP("qs-avail-misaligned", avail, good.avail + 1, -XENO_EINVAL);
	HQ_SETUP("qs-used-misaligned", used, good.used + 2, -XENO_EINVAL);
	HQ_SETUP("qs-size-not-pow2", size, size - 1 > 2 ? size - 1 : 3,
	    -XENO_EINVAL);
	HQ_SETUP("qs-size-zero", size, 0, -XENO_EINVAL);
	HQ_SETUP("qs-size-too-large", size, 2ULL * t->ht_info.queue_max,
	    -XENO_EINVAL);
	HQ_SETUP("qs-no-version1", features,
	    offered & ~XENO_F(XENO_VIRTIO_F_VERSION_1), -XENO_EINVAL);
	for (bit = 0; bit < 63 && (offered & XENO_F(bit)); bit++)
		;
	HQ_SETUP("qs-feature-not-offered", features,
	    XENO_F(XENO_VIRTIO_F_VERSION_1) | XENO_F(bit), -XENO_EINVAL);
	HQ_SETUP("qs-bad-queue", queue, t->ht_info.nr_queues, -XENO_EINVAL);
#undef HQ_SETUP

	/* None of those may have taken the queue: a good setup works... */
	hq_open(t);
	hostile_expect("qs-good", t->ht_up, 1);
	/* ...and only once. */
	qs = good;
	hostile_expect_error("qs-busy", xeno_queue_setup(&qs), -XENO_EBUSY);
	/* Every setup with it was refused: the device never took the ring. */
	free(ring);
}

static void
hq_chain_attacks(struct hq_target *t)
{
	hq_open(t);
	hq_good(t, "before");
	hq_bad_addresses(t);
	hq_bad_chains(t);
	hq_bad_indirect(t);
	hq_bad_head(t);
	hq_good(t, "after");
}

static void
test_queue_chains(void)
{
	struct hq_target *t;
	int ran = 0;

	hq_find();
	if (hq_net.ht_dev >= 0) {
		hq_chain_attacks(&hq_net);
		ran = 1;
	}
	if ((t = hq_block_target()) != NULL) {
		hq_chain_attacks(t);
		ran = 1;
	}
	if (!ran)
		hq_skip("queue-chains", "a --vif or --vbd");
}

/* A write to a read-only VBD: IOERR, one status byte written. */
static void
test_blk_ro_write(void)
{
	struct hq_target *t = &hq_ro;
	struct hq_desc c[3];
	int64_t len;

	hq_find();
	if (t->ht_dev < 0) {
		hq_skip("blk-ro-write", "a read-only --vbd");
		return;
	}
	hq_open(t);
	*HQ_STATUS = HQ_STATUS_UNSET;
	c[0] = hq_head(t, XENO_VIRTIO_BLK_T_OUT, 0);
	c[0].hd_flags = XENO_VRING_DESC_F_NEXT;
	c[0].hd_next = 1;
	c[1] = (struct hq_desc){ (uintptr_t)HQ_DATA, XENO_BLK_SECTOR,
	    XENO_VRING_DESC_F_NEXT, 2 };
	c[2] = (struct hq_desc){ (uintptr_t)HQ_STATUS, 1,
	    XENO_VRING_DESC_F_WRITE, 0 };
	len = hq_run(t, c, 3);
	hostile_blk_err_ro++;
	hostile_expect("blk-ro-write", len == 1 ? *HQ_STATUS : 1000 + len,
	    XENO_VIRTIO_BLK_S_IOERR);
	hq_good(t, "after-ro-write");
}

/* A request with no writable byte for its status: back with length 0. */
static void
test_blk_no_status(void)
{
	struct hq_target *t = hq_block_target();
	struct hq_desc c[2];

	if (t == NULL) {
		hq_skip("blk-no-status", "a --vbd");
		return;
	}
	hq_open(t);
	c[0] = hq_head(t, XENO_VIRTIO_BLK_T_OUT, 0);
	c[0].hd_flags = XENO_VRING_DESC_F_NEXT;
	c[0].hd_next = 1;
	c[1] = (struct hq_desc){ (uintptr_t)HQ_DATA, XENO_BLK_SECTOR, 0, 0 };
	hostile_blk_err_bad++;
	hostile_expect("blk-no-status", hq_run(t, c, 2), 0);
	hq_good(t, "after-no-status");
}

/*
 * Last: an avail index more than a ring ahead breaks the queue for good.
 * On the read-only VBD if there is one (nothing else needs it), else on
 * the other block queue, else on the VIF's.  Nothing may come back from
 * it, and the other devices must still work.
 */
static void
test_queue_avail_jump(void)
{
	struct hq_target *t, *others[3] = { &hq_net, &hq_rw, &hq_ro };
	struct xeno_vq *vq;
	void *cookie;
	uint32_t len;
	unsigned int i;

	hq_find();
	t = hq_ro.ht_dev >= 0 ? &hq_ro : hq_rw.ht_dev >= 0 ? &hq_rw :
	    hq_net.ht_dev >= 0 ? &hq_net : NULL;
	if (t == NULL) {
		hq_skip("queue-avail-jump", "a --vif or --vbd");
		return;
	}
	hq_open(t);
	vq = &t->ht_vq;
	vq->vq_avail_idx = (uint16_t)(vq->vq_kicked_idx + vq->vq_size + 1);
	xeno_vq_kick(vq);
	/* The device sees the jump only when it looks: ring regardless. */
	xeno_queue_notify(vq->vq_q);
	t->ht_broken = 1;
	hostile_ring_errors++;
	hostile_expect("queue-avail-jump", hq_collect(t, HQ_SILENCE_NS,
	    &cookie, &len), 0);
	for (i = 0; i < 3; i++)
		if (others[i] != t && others[i]->ht_dev >= 0 &&
		    !others[i]->ht_broken) {
			hq_open(others[i]);
			hq_good(others[i], "after-avail-jump");
		}
}

/* `queues`: every queue attack, in the order they must run. */
static void
test_queues(void)
{
	test_queue_setup_attacks();
	test_queue_chains();
	test_blk_ro_write();
	test_blk_no_status();
	test_queue_avail_jump();
}

static void
hq_report(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < HQ_NREASONS; i++)
		n += hostile_queue_errors[i];
	xeno_printf("hostile: expected_queue_errors=%u\n", n);
	xeno_printf("hostile: expected_queue_errors_by_reason");
	for (i = 0; i < HQ_NREASONS; i++)
		xeno_printf(" %s=%u", hq_reason_name[i],
		    hostile_queue_errors[i]);
	xeno_printf("\n");
	xeno_printf("hostile: expected_ring_errors=%u\n", hostile_ring_errors);
	xeno_printf("hostile: expected_blk_err_ro=%u expected_blk_err_bad=%u\n",
	    hostile_blk_err_ro, hostile_blk_err_bad);
}

static const struct hostile_test hostile_tests[] = {
	{ "console-beyond-mem", test_console_beyond_mem, HOSTILE_CHECK },
	{ "console-straddle-end", test_console_straddle_end, HOSTILE_CHECK },
	{ "console-sysarea", test_console_sysarea, HOSTILE_CHECK },
	{ "console-wrap", test_console_wrap, HOSTILE_CHECK },
	{ "console-e2big", test_console_e2big, HOSTILE_CHECK },
	{ "block-beyond-mem", test_block_beyond_mem, HOSTILE_CHECK },
	{ "block-sysarea", test_block_sysarea, HOSTILE_CHECK },
	{ "unknown-hcall", test_unknown_hcall, HOSTILE_CHECK },
	{ "yield-past", test_yield_past, HOSTILE_CHECK },
	{ "clock", test_clock, HOSTILE_CHECK },
	{ "vcpu-start-bad-index", test_vcpu_bad_index, HOSTILE_CHECK },
	{ "vcpu-start-bad-rip", test_vcpu_bad_rip, HOSTILE_CHECK },
	{ "vcpu-start-self", test_vcpu_self, HOSTILE_CHECK },
	{ "device-info", test_device_info, HOSTILE_CHECK },
	{ "queue-setup", test_queue_setup, HOSTILE_CHECK },
	{ "in-hcall-port", test_in_hcall_port, HOSTILE_CHECK },
	{ "queue-setup-attacks", test_queue_setup_attacks, HOSTILE_CHECK },
	{ "queue-chains", test_queue_chains, HOSTILE_CHECK },
	{ "blk-ro-write", test_blk_ro_write, HOSTILE_CHECK },
	{ "blk-no-status", test_blk_no_status, HOSTILE_CHECK },
	/* Breaks a queue for good: the last check of test=all. */
	{ "queue-avail-jump", test_queue_avail_jump, HOSTILE_CHECK },
	{ "queues", test_queues, HOSTILE_GROUP },
	{ "ud2", fatal_ud2, HOSTILE_FATAL },
	{ "cli", fatal_cli, HOSTILE_FATAL },
	{ "hlt", fatal_hlt, HOSTILE_FATAL },
	{ "wrmsr", fatal_wrmsr, HOSTILE_FATAL },
	{ "mov-cr3", fatal_mov_cr3, HOSTILE_FATAL },
	{ "null-read", fatal_null_read, HOSTILE_FATAL },
	{ "write-sysarea", fatal_write_sysarea, HOSTILE_FATAL },
	{ "write-bootinfo", fatal_write_bootinfo, HOSTILE_FATAL },
	{ "outb-unserved", fatal_outb_unserved, HOSTILE_FATAL },
	{ "wild-jump", fatal_wild_jump, HOSTILE_FATAL },
	{ "stack-overflow", fatal_stack_overflow, HOSTILE_FATAL },
	{ "div0", fatal_div0, HOSTILE_FATAL },
	{ "int3", fatal_int3, HOSTILE_FATAL },
	{ "bad-exit", fatal_bad_exit, HOSTILE_FATAL },
	{ "abort", fatal_abort, HOSTILE_FATAL },
};
#define HOSTILE_NR_TESTS	(sizeof(hostile_tests) / sizeof(hostile_tests[0]))

static int
hostile_report(void)
{
	xeno_printf("hostile: expected_hcall_errors=%u\n", hostile_hcall_errors);
	hq_report();
	xeno_printf("hostile: checks=%u failed=%u\n", hostile_checks,
	    hostile_failed);
	return hostile_failed < XENO_PV_EXIT_STATUS_MAX ?
	    (int)hostile_failed : XENO_PV_EXIT_STATUS_MAX;
}

int
main(int argc, char **argv)
{
	const char *name = xeno_arg_str("test");
	const struct hostile_test *ht;
	size_t i;

	(void)argc;
	(void)argv;
	if (name == NULL)
		name = "all";
	if (strcmp(name, "all") == 0) {
		for (i = 0; i < HOSTILE_NR_TESTS; i++)
			if (hostile_tests[i].ht_kind == HOSTILE_CHECK)
				hostile_tests[i].ht_run();
		return hostile_report();
	}

	for (i = 0; i < HOSTILE_NR_TESTS; i++) {
		ht = &hostile_tests[i];
		if (strcmp(name, ht->ht_name) != 0)
			continue;
		if (ht->ht_kind != HOSTILE_FATAL) {
			ht->ht_run();
			return hostile_report();
		}
		xeno_printf("hostile: %s: about to fault\n", name);
		ht->ht_run();
		xeno_printf("hostile: %s: survived\n", name);
		return HOSTILE_SURVIVED_STATUS;
	}

	xeno_printf("hostile: tests are all");
	for (i = 0; i < HOSTILE_NR_TESTS; i++)
		xeno_printf(" %s", hostile_tests[i].ht_name);
	xeno_printf("\n");
	xeno_abort("hostile: unknown test '%s' (the line above lists them)",
	    name);
}
