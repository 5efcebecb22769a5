/*
 * hypercall-storm: the cost of the null hypercall (XENO_HC_NOP, no block),
 * i.e. one guest exit to xeno-hv and back, timed with the time page so the
 * measurement adds no exits of its own.
 */
#include <xeno.h>

int
main(int argc, char **argv)
{
	uint64_t n = xeno_arg_u64("n", 100000), i, failed = 0, t0, ns;

	(void)argc;
	(void)argv;
	t0 = xeno_mono_ns();
	for (i = 0; i < n; i++)
		if (xeno_hypercall(XENO_HC_NOP, NULL) != 0)
			failed++;
	ns = xeno_mono_ns() - t0;
	if (failed > 0)
		xeno_abort("hypercall-storm: %lu of %lu null hypercalls failed",
		    failed, n);
	xeno_printf("hypercall-storm: n=%lu ns=%lu ns_per_call=%lu\n", n, ns,
	    n > 0 ? ns / n : 0);
	return 0;
}
