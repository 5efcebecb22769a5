/*
 * Hypercall wrappers: each builds its argument block on the stack, which
 * lies in guest memory below 4 GiB as the PV ABI requires.
 */
#include "sdk.h"

int64_t
xeno_console_write(const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		struct xeno_hc_console_write cw = {
			.buf = (uintptr_t)(p + done),
			.len = len - done < XENO_PV_CONSOLE_MAX ?
			    len - done : XENO_PV_CONSOLE_MAX,
		};
		int64_t rc = xeno_hypercall(XENO_HC_CONSOLE_WRITE, &cw);

		if (rc < 0)
			return rc;
		if (rc == 0)
			break;
		done += rc;
	}
	return done;
}

int64_t
xeno_clock(uint64_t *mono_ns, uint64_t *wall_ns)
{
	struct xeno_hc_clock clk = { 0 };
	int64_t rc;

	if ((rc = xeno_hypercall(XENO_HC_CLOCK, &clk)) < 0)
		return rc;
	if (mono_ns != NULL)
		*mono_ns = clk.mono_ns;
	if (wall_ns != NULL)
		*wall_ns = clk.wall_ns;
	return rc;
}

int64_t
xeno_yield(uint64_t deadline_ns, uint64_t *ready)
{
	struct xeno_hc_yield y = { .deadline_ns = deadline_ns };
	int64_t rc;

	rc = xeno_hypercall(XENO_HC_YIELD, &y);
	if (ready != NULL)
		*ready = rc < 0 ? 0 : y.ready;
	return rc;
}

int
xeno_shutdown_requested(void)
{
	return __atomic_load_n(&xeno_bootinfo()->bi_shutdown,
	    __ATOMIC_ACQUIRE) != 0;
}

/*
 * The status goes to xeno-hv unchecked: it, not the SDK, decides what an
 * out-of-range status means (the hostile guest tests exactly that).
 */
void
xeno_exit(int status)
{
	struct xeno_hc_exit ex = { .status = (uint64_t)(int64_t)status };

	xeno_hypercall(XENO_HC_EXIT, &ex);
	/* Unreachable unless xeno-hv is broken; a #UD at least gets noticed. */
	__builtin_trap();
}

void
xeno_abort(const char *fmt, ...)
{
	char msg[XENO_PV_ABORT_MSG_MAX];
	struct xeno_hc_abort ab;
	va_list ap;

	va_start(ap, fmt);
	xeno_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ab = (struct xeno_hc_abort){
		.msg = (uintptr_t)msg,
		.len = strlen(msg),
	};
	xeno_hypercall(XENO_HC_ABORT, &ab);
	__builtin_trap();
}

int64_t
sdk_booted(uint64_t first_tsc)
{
	struct xeno_hc_booted b = { .first_tsc = first_tsc };

	b.now_tsc = xeno_rdtsc();
	return xeno_hypercall(XENO_HC_BOOTED, &b);
}

int64_t
xeno_device_info(uint32_t index, struct xeno_hc_device_info *info)
{
	*info = (struct xeno_hc_device_info){ .index = index };
	return xeno_hypercall(XENO_HC_DEVICE_INFO, info);
}

int64_t
xeno_queue_setup(struct xeno_hc_queue_setup *qs)
{
	qs->ret = 0;
	return xeno_hypercall(XENO_HC_QUEUE_SETUP, qs);
}
