/*
 * Secondary vCPUs.  XENO_HC_VCPU_START passes one argument, but a started
 * vCPU needs two (fn and arg), so each vCPU has a start slot holding them
 * and the hypercall passes the slot's address.
 */
#include "sdk.h"

struct vcpu_slot {
	/* Claimed from xeno_vcpu_start() until the vCPU has read the slot. */
	uint32_t	vs_busy;
	void		(*vs_fn)(void *);
	void		*vs_arg;
};

static struct vcpu_slot vcpu_slots[XENO_PV_MAX_VCPUS];

int64_t
xeno_vcpu_start(uint32_t vcpu, void (*fn)(void *), void *arg)
{
	struct xeno_hc_vcpu_start vst;
	struct vcpu_slot *vs;
	uint32_t idle = 0;
	int64_t rc;

	if (vcpu >= xeno_bootinfo()->bi_nr_vcpus)
		return -XENO_EINVAL;
	vs = &vcpu_slots[vcpu];
	if (!__atomic_compare_exchange_n(&vs->vs_busy, &idle, 1, 0,
	    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return -XENO_EBUSY;
	vs->vs_fn = fn;
	vs->vs_arg = arg;
	vst = (struct xeno_hc_vcpu_start){
		.vcpu = vcpu,
		.rip = (uintptr_t)sdk_vcpu_entry,
		.arg = (uintptr_t)vs,
	};
	if ((rc = xeno_hypercall(XENO_HC_VCPU_START, &vst)) < 0)
		__atomic_store_n(&vs->vs_busy, 0, __ATOMIC_RELEASE);
	return rc;
}

void
sdk_vcpu_run(struct vcpu_slot *vs)
{
	void (*fn)(void *) = vs->vs_fn;
	void *arg = vs->vs_arg;

	__atomic_store_n(&vs->vs_busy, 0, __ATOMIC_RELEASE);
	fn(arg);
	xeno_vcpu_stop();
}

void
xeno_vcpu_stop(void)
{
	xeno_hypercall(XENO_HC_VCPU_STOP, NULL);
	__builtin_trap();
}

/* No per-vCPU register is available at CPL 3, but every vCPU has its stack. */
uint32_t
xeno_vcpu_id(void)
{
	const struct xeno_pv_bootinfo *bi = xeno_bootinfo();
	uint64_t sp;
	uint32_t v;

	__asm__("movq %%rsp, %0" : "=r"(sp));
	for (v = 0; v < bi->bi_nr_vcpus; v++)
		if (sp < bi->bi_stack_top[v] &&
		    sp >= bi->bi_stack_top[v] - XENO_PV_STACK_SIZE)
			return v;
	xeno_abort("xeno_vcpu_id: stack pointer %p is on no vCPU's stack",
	    (void *)(uintptr_t)sp);
}
