/*
 * Hypercalls (docs/PV-ABI.md).  The guest passes the 32-bit address of an
 * argument block; we copy the block out of guest memory once, check the
 * copy, act on it and write back only its result, so another vCPU changing
 * the block meanwhile changes nothing we rely on.
 */
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include <linux/kvm.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xen.h"
#include "xeno/log.h"

#define HC_EVENTS	8

/*
 * The block at gpa, copied into `blk` (len bytes), or -1 if the address is
 * not the guest's to give.  Then %rax becomes -XENO_EFAULT, the one way to
 * tell a guest whose block we cannot write.
 */
static int
hc_get(struct vcpu *vc, uint32_t gpa, void *blk, size_t len)
{
	struct kvm_regs r;
	const void *p = vmm_gpa(vc->vc_vm, gpa, len);

	if (p != NULL) {
		memcpy(blk, p, len);
		return 0;
	}
	vc->vc_hc_err = 1;
	if (ioctl(vc->vc_fd, KVM_GET_REGS, &r) == 0) {
		r.rax = (uint64_t)-XENO_EFAULT;
		ioctl(vc->vc_fd, KVM_SET_REGS, &r);
	}
	return -1;
}

/* Write the result word of the block at gpa (checked by hc_get). */
static void
hc_ret(struct vcpu *vc, uint32_t gpa, int64_t ret)
{
	memcpy(vmm_gpa(vc->vc_vm, gpa, sizeof(ret)), &ret, sizeof(ret));
	if (ret < 0)
		vc->vc_hc_err = 1;
}

static void
hc_put(struct vcpu *vc, uint32_t gpa, const void *blk, size_t len)
{
	memcpy(vmm_gpa(vc->vc_vm, gpa, len), blk, len);
	if (*(const int64_t *)blk < 0)
		vc->vc_hc_err = 1;
}

static void
hc_console_write(struct vcpu *vc, uint32_t gpa)
{
	struct xeno_hc_console_write b;
	const void *buf;

	if (hc_get(vc, gpa, &b, sizeof(b)) == -1)
		return;
	if (b.len > XENO_PV_CONSOLE_MAX) {
		hc_ret(vc, gpa, -XENO_E2BIG);
		return;
	}
	if ((buf = vmm_gpa(vc->vc_vm, b.buf, b.len)) == NULL) {
		hc_ret(vc, gpa, -XENO_EFAULT);
		return;
	}
	vmm_console(vc->vc_vm, buf, b.len);
	hc_ret(vc, gpa, (int64_t)b.len);
}

static void
hc_clock(struct vcpu *vc, uint32_t gpa)
{
	struct xeno_hc_clock b;
	struct timespec ts;

	if (hc_get(vc, gpa, &b, sizeof(b)) == -1)
		return;
	b.mono_ns = vmm_guest_ns(vc->vc_vm, vmm_now_ns());
	clock_gettime(CLOCK_REALTIME, &ts);
	b.wall_ns = (uint64_t)ts.tv_sec * 1000000000ULL +
	    (uint64_t)ts.tv_nsec;
	b.ret = 0;
	hc_put(vc, gpa, &b, sizeof(b));
}

/*
 * epoll_wait with a nanosecond timeout.  Called through syscall(2) because
 * not every C library we build with (musl 1.2.3) wraps epoll_pwait2 yet.
 */
static int
hc_epoll_wait(int epfd, struct epoll_event *evs, int n,
    const struct timespec *ts)
{
	return (int)syscall(SYS_epoll_pwait2, epfd, evs, n, ts, NULL, 0);
}

static void
hc_vcpu_state(struct vcpu *vc, uint32_t state, uint64_t blocked)
{
	struct xeno_stats_vcpu *s = vc->vc_stats;

	stats_write_begin(&s->sv_seq);
	s->sv_state = state;
	s->sv_blocked_ns += blocked;
	stats_write_end(&s->sv_seq);
}

/*
 * Block until the deadline, a device event or the end of the domain.  The
 * wait is one epoll_pwait2 on this vCPU's event set: no polling.
 */
static void
hc_yield(struct vcpu *vc, uint32_t gpa)
{
	struct vm *vm = vc->vc_vm;
	struct xeno_hc_yield b;
	struct epoll_event evs[HC_EVENTS];
	struct timespec ts, *tsp = NULL;
	uint64_t now, t0, t1;
	int n, i;

	if (hc_get(vc, gpa, &b, sizeof(b)) == -1)
		return;
	vmm_time_update(vm);
	b.ready = 0;
	b.ret = 0;
	t0 = vmm_now_ns();
	now = vmm_guest_ns(vm, t0);
	if (b.deadline_ns != 0 && b.deadline_ns > now) {
		if (b.deadline_ns != UINT64_MAX) {
			ts.tv_sec = (time_t)((b.deadline_ns - now) /
			    1000000000ULL);
			ts.tv_nsec = (long)((b.deadline_ns - now) %
			    1000000000ULL);
			tsp = &ts;
		}
		hc_vcpu_state(vc, XENO_VCPU_BLOCKED, 0);
		do
			n = hc_epoll_wait(vc->vc_epfd, evs, HC_EVENTS, tsp);
		while (n == -1 && errno == EINTR &&
		    !__atomic_load_n(&vm->vm_ending, __ATOMIC_ACQUIRE));
		t1 = vmm_now_ns();
		vc->vc_blocked = t1 - t0;
		hc_vcpu_state(vc, XENO_VCPU_RUNNING, vc->vc_blocked);
		vmm_time_update(vm);
	} else {
		/* a poll: which queues have work, without blocking */
		memset(&ts, 0, sizeof(ts));
		n = hc_epoll_wait(vc->vc_epfd, evs, HC_EVENTS, &ts);
	}
	for (i = 0; i < n; i++)
		if (evs[i].data.u64 < DEV_MAX_GLOBAL) {
			b.ready |= 1ULL << evs[i].data.u64;
			dev_ready_ack(vm, (unsigned int)evs[i].data.u64);
		}
	if (__atomic_load_n(&vm->vm_ending, __ATOMIC_ACQUIRE))
		b.ret = -XENO_EAGAIN;
	hc_put(vc, gpa, &b, sizeof(b));
}

/* Copy a guest string for a log line: printable ASCII only. */
static void
hc_sanitize(char *dst, const uint8_t *src, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
	dst[len] = '\0';
}

static void
hc_exit(struct vcpu *vc, uint32_t gpa)
{
	struct xeno_hc_exit b;

	if (hc_get(vc, gpa, &b, sizeof(b)) == -1)
		return;
	if (b.status > XENO_PV_EXIT_STATUS_MAX) {
		vc->vc_hc_err = 1;
		vmm_end(vc->vc_vm, XENO_END_ABORT, 0, "aborted: exit status "
		    "%llu is outside 0..%d", (unsigned long long)b.status,
		    XENO_PV_EXIT_STATUS_MAX);
		return;
	}
	vmm_end(vc->vc_vm, XENO_END_EXIT, (int)b.status, NULL);
}

static void
hc_abort(struct vcpu *vc, uint32_t gpa)
{
	struct xeno_hc_abort b;
	char msg[XENO_PV_ABORT_MSG_MAX + 1];
	const uint8_t *p;
	uint64_t len;

	if (hc_get(vc, gpa, &b, sizeof(b)) == -1) {
		vmm_end(vc->vc_vm, XENO_END_ABORT, 0, "aborted (bad argument "
		    "block)");
		return;
	}
	len = b.len < XENO_PV_ABORT_MSG_MAX ? b.len : XENO_PV_ABORT_MSG_MAX;
	if ((p = vmm_gpa(vc->vc_vm, b.msg, len)) == NULL) {
		vc->vc_hc_err = 1;
		snprintf(msg, sizeof(msg), "(bad message pointer)");
	} else
		hc_sanitize(msg, p, len);
	vmm_end(vc->vc_vm, XENO_END_ABORT, 0, "aborted: %s", msg);
}

static void
hc_booted(struct vcpu *vc, uint32_t gpa)
{
	struct vm *vm = vc->vc_vm;
	struct xeno_stats_domain *d = vm->vm_stats.sp_dom;
	struct xeno_hc_booted b;
	uint64_t tsc, first, done;

	if (hc_get(vc, gpa, &b, sizeof(b)) == -1)
		return;
	tsc = __builtin_ia32_rdtsc() + (uint64_t)vm->vm_tsc_offset;
	if (b.first_tsc > b.now_tsc || b.now_tsc > tsc) {
		hc_ret(vc, gpa, -XENO_EINVAL);
		return;
	}
	first = vmm_tsc_to_ns(vm, b.first_tsc);
	done = vmm_tsc_to_ns(vm, b.now_tsc);
	/* The guest cannot have started before its VM existed. */
	if (first < vm->vm_base_ns) {
		hc_ret(vc, gpa, -XENO_EINVAL);
		return;
	}
	pthread_mutex_lock(&vm->vm_lock);
	if (d->sd_boot_done_ns != 0) {
		pthread_mutex_unlock(&vm->vm_lock);
		hc_ret(vc, gpa, -XENO_EBUSY);
		return;
	}
	stats_write_begin(&d->sd_seq);
	d->sd_first_insn_ns = first;
	d->sd_boot_done_ns = done;
	stats_write_end(&d->sd_seq);
	pthread_mutex_unlock(&vm->vm_lock);
	hc_ret(vc, gpa, 0);
}

static void
hc_vcpu_start(struct vcpu *vc, uint32_t gpa)
{
	struct vm *vm = vc->vc_vm;
	struct xeno_hc_vcpu_start b;
	struct vcpu *t;
	int64_t ret = 0;

	if (hc_get(vc, gpa, &b, sizeof(b)) == -1)
		return;
	if (b.vcpu >= vm->vm_nvcpus) {
		hc_ret(vc, gpa, -XENO_EINVAL);
		return;
	}
	if (vmm_gpa(vm, b.rip, 1) == NULL) {
		hc_ret(vc, gpa, -XENO_EFAULT);
		return;
	}
	t = &vm->vm_vcpu[b.vcpu];
	pthread_mutex_lock(&vm->vm_lock);
	if (t->vc_started)
		ret = -XENO_EBUSY;
	else {
		t->vc_start_rip = b.rip;
		t->vc_start_arg = b.arg;
		t->vc_started = 1;
		pthread_cond_broadcast(&vm->vm_cond);
	}
	pthread_mutex_unlock(&vm->vm_lock);
	hc_ret(vc, gpa, ret);
}

/* This vCPU stops for good; the domain ends when every started one has. */
static void
hc_vcpu_stop(struct vcpu *vc)
{
	struct vm *vm = vc->vc_vm;
	unsigned int i, started = 0;
	int all;

	vc->vc_stopping = 1;
	pthread_mutex_lock(&vm->vm_lock);
	vm->vm_vcpus_down++;
	for (i = 0; i < vm->vm_nvcpus; i++)
		started += vm->vm_vcpu[i].vc_started;
	all = vm->vm_vcpus_down == started;
	pthread_mutex_unlock(&vm->vm_lock);
	if (all)
		vmm_end(vm, XENO_END_VCPUS_DOWN, 0, NULL);
}

static void
hc_device_info(struct vcpu *vc, uint32_t gpa)
{
	struct xeno_hc_device_info b;

	if (hc_get(vc, gpa, &b, sizeof(b)) == -1)
		return;
	b.ret = dev_hc_info(vc->vc_vm, &b);
	if (b.ret < 0)
		hc_ret(vc, gpa, b.ret);
	else
		hc_put(vc, gpa, &b, sizeof(b));
}

static void
hc_queue_setup(struct vcpu *vc, uint32_t gpa)
{
	struct xeno_hc_queue_setup b;

	if (hc_get(vc, gpa, &b, sizeof(b)) == -1)
		return;
	hc_ret(vc, gpa, dev_hc_queue_setup(vc->vc_vm, &b));
}

void
hcall_dispatch(struct vcpu *vc, unsigned int nr, uint32_t gpa)
{
	int64_t ret;

	vc->vc_hc_nr = (int)nr;
	switch (nr) {
	case XENO_HC_NOP:
		break;
	case XENO_HC_CONSOLE_WRITE:
		hc_console_write(vc, gpa);
		break;
	case XENO_HC_CLOCK:
		hc_clock(vc, gpa);
		break;
	case XENO_HC_YIELD:
		hc_yield(vc, gpa);
		break;
	case XENO_HC_EXIT:
		hc_exit(vc, gpa);
		break;
	case XENO_HC_ABORT:
		hc_abort(vc, gpa);
		break;
	case XENO_HC_BOOTED:
		hc_booted(vc, gpa);
		break;
	case XENO_HC_VCPU_START:
		hc_vcpu_start(vc, gpa);
		break;
	case XENO_HC_VCPU_STOP:
		hc_vcpu_stop(vc);
		break;
	case XENO_HC_DEVICE_INFO:
		hc_device_info(vc, gpa);
		break;
	case XENO_HC_QUEUE_SETUP:
		hc_queue_setup(vc, gpa);
		break;
	default:
		if (hc_get(vc, gpa, &ret, sizeof(ret)) == 0)
			hc_ret(vc, gpa, -XENO_ENOSYS);
		vc->vc_hc_err = 1;
		break;
	}
}
