/*
 * Time from the time page: no exit, so cheap enough to call once per unit
 * of work.  xeno-hv rewrites the page while vCPUs run, hence the seqlock.
 */
#include "sdk.h"

static const volatile struct xeno_pv_time *const time_page =
    (const volatile struct xeno_pv_time *)XENO_PV_TIME_GPA;

static void
time_read(uint64_t *mono_ns, uint64_t *wall_ns)
{
	uint64_t base_tsc, base_mono, base_wall, mul, tsc, ns;
	uint32_t seq;

	do {
		while ((seq = __atomic_load_n(&time_page->tp_seq,
		    __ATOMIC_ACQUIRE)) & 1)
			xeno_pause();
		base_tsc = time_page->tp_tsc;
		base_mono = time_page->tp_mono_ns;
		base_wall = time_page->tp_wall_ns;
		mul = time_page->tp_mul;
		/* lfence keeps rdtsc from running ahead of the loads above. */
		__asm__ volatile("lfence" ::: "memory");
		tsc = xeno_rdtsc();
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while (__atomic_load_n(&time_page->tp_seq, __ATOMIC_RELAXED) != seq);

	/*
	 * Another vCPU's TSC may lag the base a little: clamp rather than
	 * let the unsigned difference wrap to centuries.
	 */
	ns = tsc > base_tsc ?
	    (uint64_t)(((__uint128_t)(tsc - base_tsc) * mul) >> 32) : 0;
	if (mono_ns != NULL)
		*mono_ns = base_mono + ns;
	if (wall_ns != NULL)
		*wall_ns = base_wall + ns;
}

uint64_t
xeno_mono_ns(void)
{
	uint64_t ns;

	time_read(&ns, NULL);
	return ns;
}

uint64_t
xeno_wall_ns(void)
{
	uint64_t ns;

	time_read(NULL, &ns);
	return ns;
}
