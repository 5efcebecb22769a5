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
 */
#include <xeno.h>

#define NS_PER_MS		1000000ULL
#define HOSTILE_UNKNOWN_HC	50	/* a hypercall port with no hypercall */
#define HOSTILE_UNSERVED_PORT	0x80	/* not a hypercall or doorbell port */
#define HOSTILE_YIELD_MAX_NS	(20 * NS_PER_MS)
#define HOSTILE_CLOCK_SLACK_NS	NS_PER_MS
#define HOSTILE_SURVIVED_STATUS	1

struct hostile_test {
	const char	*ht_name;
	void		(*ht_run)(void);
	int		 ht_fatal;
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

static const struct hostile_test hostile_tests[] = {
	{ "console-beyond-mem", test_console_beyond_mem, 0 },
	{ "console-straddle-end", test_console_straddle_end, 0 },
	{ "console-sysarea", test_console_sysarea, 0 },
	{ "console-wrap", test_console_wrap, 0 },
	{ "console-e2big", test_console_e2big, 0 },
	{ "block-beyond-mem", test_block_beyond_mem, 0 },
	{ "block-sysarea", test_block_sysarea, 0 },
	{ "unknown-hcall", test_unknown_hcall, 0 },
	{ "yield-past", test_yield_past, 0 },
	{ "clock", test_clock, 0 },
	{ "vcpu-start-bad-index", test_vcpu_bad_index, 0 },
	{ "vcpu-start-bad-rip", test_vcpu_bad_rip, 0 },
	{ "vcpu-start-self", test_vcpu_self, 0 },
	{ "device-info", test_device_info, 0 },
	{ "queue-setup", test_queue_setup, 0 },
	{ "in-hcall-port", test_in_hcall_port, 0 },
	{ "ud2", fatal_ud2, 1 },
	{ "cli", fatal_cli, 1 },
	{ "hlt", fatal_hlt, 1 },
	{ "wrmsr", fatal_wrmsr, 1 },
	{ "mov-cr3", fatal_mov_cr3, 1 },
	{ "null-read", fatal_null_read, 1 },
	{ "write-sysarea", fatal_write_sysarea, 1 },
	{ "write-bootinfo", fatal_write_bootinfo, 1 },
	{ "outb-unserved", fatal_outb_unserved, 1 },
	{ "wild-jump", fatal_wild_jump, 1 },
	{ "stack-overflow", fatal_stack_overflow, 1 },
	{ "div0", fatal_div0, 1 },
	{ "int3", fatal_int3, 1 },
	{ "bad-exit", fatal_bad_exit, 1 },
	{ "abort", fatal_abort, 1 },
};
#define HOSTILE_NR_TESTS	(sizeof(hostile_tests) / sizeof(hostile_tests[0]))

static int
hostile_report(void)
{
	xeno_printf("hostile: expected_hcall_errors=%u\n", hostile_hcall_errors);
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
			if (!hostile_tests[i].ht_fatal)
				hostile_tests[i].ht_run();
		return hostile_report();
	}

	for (i = 0; i < HOSTILE_NR_TESTS; i++) {
		ht = &hostile_tests[i];
		if (strcmp(name, ht->ht_name) != 0)
			continue;
		if (!ht->ht_fatal) {
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
