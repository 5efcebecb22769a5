/*
 * hello: the smallest guest.  Tests look for its first line to know that a
 * PV guest booted, and check the second to see the boot information and
 * the command line arrive intact.  With sleep_ms=N it then blocks in
 * yield for N ms before exiting: an idle domain, for density and memory
 * measurements.  Asked to shut down meanwhile, it says so and exits 0,
 * unless ignore_shutdown=1 (a guest that does not listen).
 */
#include <xeno.h>

int
main(int argc, char **argv)
{
	const struct xeno_pv_bootinfo *bi = xeno_bootinfo();
	/* The words fit: together they are shorter than the command line. */
	char args[XENO_PV_CMDLINE_MAX] = "";
	size_t len = 0;
	uint64_t sleep_ms, deadline;
	int i;

	for (i = 0; i < argc; i++)
		len += xeno_snprintf(args + len, sizeof(args) - len, "%s%s",
		    i > 0 ? " " : "", argv[i]);
	xeno_printf("Hello from Xeno PV guest\n");
	xeno_printf("hello: mem_kib=%lu vcpus=%u argc=%d args=[%s]\n",
	    bi->bi_mem_size >> 10, bi->bi_nr_vcpus, argc, args);
	if ((sleep_ms = xeno_arg_u64("sleep_ms", 0)) != 0) {
		deadline = xeno_mono_ns() + sleep_ms * 1000000ULL;
		while (xeno_mono_ns() < deadline) {
			if (xeno_yield(deadline, NULL) < 0)
				break;	/* the domain is being destroyed */
			if (xeno_shutdown_requested() &&
			    xeno_arg_u64("ignore_shutdown", 0) == 0) {
				xeno_printf("hello: shutdown requested\n");
				break;
			}
		}
	}
	return 0;
}
