/*
 * What runs between crt0 and main(): trust nothing in the boot information
 * that the rest of the SDK relies on until it has been checked.
 */
#include "sdk.h"

void
sdk_start(const struct xeno_pv_bootinfo *bi, uint64_t first_tsc)
{
	char **argv;
	int argc;
	int64_t rc;

	if (bi != xeno_bootinfo())
		xeno_abort("boot info at %p, the PV ABI puts it at %p",
		    (const void *)bi, (const void *)xeno_bootinfo());
	if (bi->bi_magic != XENO_PV_BOOTINFO_MAGIC)
		xeno_abort("boot info magic is 0x%x, want 0x%x",
		    bi->bi_magic, XENO_PV_BOOTINFO_MAGIC);
	if (bi->bi_abi_version != XENO_PV_ABI_VERSION)
		xeno_abort("guest built for PV ABI %d, xeno-hv offers %u: "
		    "rebuild the guest against this xeno-hv's SDK",
		    XENO_PV_ABI_VERSION, bi->bi_abi_version);
	/* xeno_vcpu_id() and the vCPU start slots index by vCPU number. */
	if (bi->bi_nr_vcpus == 0 || bi->bi_nr_vcpus > XENO_PV_MAX_VCPUS)
		xeno_abort("boot info says %u vCPUs, want 1..%d",
		    bi->bi_nr_vcpus, XENO_PV_MAX_VCPUS);

	sdk_heap_init(bi->bi_heap_start, bi->bi_heap_end);
	argc = sdk_args_init(bi->bi_cmdline, &argv);

	if ((rc = sdk_booted(first_tsc)) < 0)
		xeno_abort("XENO_HC_BOOTED failed: %ld", (long)rc);
	xeno_exit(main(argc, argv));
}
