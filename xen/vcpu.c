/*
 * vCPU threads: register setup for CPL 3 long mode, the KVM_RUN loop, and
 * the accounting around it.  Each vCPU's counters section has exactly one
 * writer, its own thread, so updates need no lock, only the seqlock.
 *
 * Per exit the thread writes its section twice: right after KVM_RUN
 * returns (guest time so far; "not in guest") and right before it enters
 * again (the exit counted, "in guest since"), so a reader can extrapolate
 * guest time exactly while the vCPU runs, with no timer.
 */
#include <sys/epoll.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "xen.h"
#include "xeno/log.h"

#define VCPU_RFLAGS	0x2ULL	/* IOPL 0: the TSS I/O bitmap grants our ports */
#define VCPU_CR0	0x80050033ULL	/* PG WP NE ET MP PE */
#define VCPU_CR4	0x620ULL	/* OSXMMEXCPT OSFXSR PAE */
#define VCPU_EFER	0xd00ULL	/* NXE LMA LME */
#define VCPU_CPUTIME_EVERY	1000000ULL	/* refresh thread CPU time, ns */

static const char *const vcpu_vector_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint",
	"#OF overflow", "#BR bound range", "#UD invalid opcode",
	"#NM device not available", "#DF double fault", "vector 9",
	"#TS invalid TSS", "#NP segment not present", "#SS stack fault",
	"#GP general protection", "#PF page fault", "vector 15",
	"#MF x87 error", "#AC alignment check", "#MC machine check",
	"#XM SIMD error", "#VE virtualization", "#CP control protection",
	"vector 22", "vector 23", "vector 24", "vector 25", "vector 26",
	"vector 27", "vector 28", "vector 29", "vector 30", "vector 31",
};

/* A flat 4 GiB segment, 64-bit code or data, of the selector's DPL. */
void
vcpu_segment(struct kvm_segment *s, uint16_t sel, int code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = code ? 11 : 3;	/* execute/read, accessed : read/write, accessed */
	s->present = 1;
	s->dpl = sel & 3;
	s->s = 1;
	s->g = 1;
	s->l = code ? 1 : 0;
	s->db = code ? 0 : 1;
}

/* Long mode at CPL 3 on xeno-hv's tables (docs/PV-ABI.md, "Entry"). */
int
vcpu_init(struct vcpu *vc)
{
	struct vm *vm = vc->vc_vm;
	struct kvm_sregs sr;
	struct kvm_regs r;
	struct epoll_event ev;

	if (vm->vm_hvm)
		return hvm_vcpu_init(vc);
	if (ioctl(vc->vc_fd, KVM_GET_SREGS, &sr) == -1) {
		log_warn("vCPU %u: KVM_GET_SREGS", vc->vc_id);
		return -1;
	}
	sr.cr0 = VCPU_CR0;
	sr.cr4 = VCPU_CR4;
	sr.efer = VCPU_EFER;
	sr.cr3 = vm->vm_layout.pl_cr3;
	vcpu_segment(&sr.cs, XENO_PV_SEL_UCODE, 1);
	vcpu_segment(&sr.ds, XENO_PV_SEL_UDATA, 0);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	memset(&sr.tr, 0, sizeof(sr.tr));
	sr.tr.selector = XENO_PV_SEL_TSS(vc->vc_id);
	sr.tr.base = pvboot_tss(vc->vc_id);
	sr.tr.limit = pvboot_tss_limit();
	sr.tr.type = 11;	/* busy 64-bit TSS */
	sr.tr.present = 1;
	memset(&sr.ldt, 0, sizeof(sr.ldt));
	sr.ldt.unusable = 1;
	sr.gdt.base = XENO_PV_GDT_GPA;
	sr.gdt.limit = (uint16_t)(XENO_PV_SEL_TSS(vm->vm_nvcpus) - 1);
	sr.idt.base = XENO_PV_IDT_GPA;
	sr.idt.limit = 32 * 16 - 1;
	if (ioctl(vc->vc_fd, KVM_SET_SREGS, &sr) == -1) {
		log_warn("vCPU %u: KVM_SET_SREGS", vc->vc_id);
		return -1;
	}
	if (vc->vc_id == 0) {
		memset(&r, 0, sizeof(r));
		r.rip = vm->vm_entry;
		r.rsp = vm->vm_layout.pl_stack_top[0];
		r.rdi = XENO_PV_BOOTINFO_GPA;
		r.rflags = VCPU_RFLAGS;
		if (ioctl(vc->vc_fd, KVM_SET_REGS, &r) == -1) {
			log_warn("vCPU 0: KVM_SET_REGS");
			return -1;
		}
		vc->vc_started = 1;
	}
	vc->vc_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (vc->vc_epfd == -1) {
		log_warn("epoll_create1");
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = UINT64_MAX;	/* the domain is ending */
	if (epoll_ctl(vc->vc_epfd, EPOLL_CTL_ADD, vm->vm_stop_fd, &ev) == -1) {
		log_warn("epoll_ctl");
		return -1;
	}
	/* a shutdown request wakes each vCPU's YIELD once: edge-triggered */
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u64 = UINT64_MAX - 1;
	if (epoll_ctl(vc->vc_epfd, EPOLL_CTL_ADD, vm->vm_shutdown_fd,
	    &ev) == -1) {
		log_warn("epoll_ctl");
		return -1;
	}
	return dev_vcpu_watch(vm, vc->vc_epfd);
}

static uint64_t
vcpu_cputime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Wait until XENO_HC_VCPU_START names this vCPU (or the domain ends). */
static int
vcpu_wait_start(struct vcpu *vc)
{
	struct vm *vm = vc->vc_vm;
	struct kvm_regs r;
	int started;

	pthread_mutex_lock(&vm->vm_lock);
	while (!vc->vc_started && !vm->vm_ending)
		pthread_cond_wait(&vm->vm_cond, &vm->vm_lock);
	started = vc->vc_started && !vm->vm_ending;
	pthread_mutex_unlock(&vm->vm_lock);
	if (!started || vc->vc_id == 0 || vm->vm_hvm)
		return started ? 0 : -1;
	memset(&r, 0, sizeof(r));
	r.rip = vc->vc_start_rip;
	r.rsp = vm->vm_layout.pl_stack_top[vc->vc_id];
	r.rdi = vc->vc_start_arg;
	r.rsi = vc->vc_id;
	r.rflags = VCPU_RFLAGS;
	if (ioctl(vc->vc_fd, KVM_SET_REGS, &r) == -1) {
		vmm_end(vm, XENO_END_ERROR, 0, "vCPU %u: KVM_SET_REGS: %s",
		    vc->vc_id, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * An exception reached our stub (CPL 0, out to XENO_PV_EXC_PORT): the
 * frame on this vCPU's exception stack holds vector, error, rip, cs,
 * rflags, rsp, ss.  The same out from guest code at CPL 3 is just a bad
 * port access.
 */
static int
vcpu_exception(struct vcpu *vc)
{
	struct vm *vm = vc->vc_vm;
	struct kvm_regs r;
	struct kvm_sregs sr;
	uint64_t frame[7], top = pvboot_xstack_top(vc->vc_id);
	char what[96];

	if (ioctl(vc->vc_fd, KVM_GET_SREGS, &sr) == -1 ||
	    ioctl(vc->vc_fd, KVM_GET_REGS, &r) == -1) {
		vmm_end(vm, XENO_END_ERROR, 0, "vCPU %u: cannot read "
		    "registers: %s", vc->vc_id, strerror(errno));
		return 0;
	}
	if (sr.cs.dpl != 0)
		return -1;
	if (r.rsp < top - XENO_PV_PAGE_SIZE || r.rsp + sizeof(frame) > top) {
		vmm_crash(vm, vc->vc_id, 256, r.rip, 0, 0,
		    "exception with a corrupt exception stack");
		return 0;
	}
	memcpy(frame, vm->vm_mem + r.rsp, sizeof(frame));
	if (frame[0] >= 32) {
		vmm_crash(vm, vc->vc_id, 256, frame[2], 0, 0,
		    "exception with an unknown vector");
		return 0;
	}
	snprintf(what, sizeof(what), "%s", vcpu_vector_names[frame[0]]);
	vmm_crash(vm, vc->vc_id, (unsigned int)frame[0], frame[2], frame[1],
	    frame[0] == 14 ? sr.cr2 : 0, what);
	return 0;
}

static void
vcpu_bad_port(struct vcpu *vc, struct kvm_run *run)
{
	struct vm *vm = vc->vc_vm;
	struct xeno_stats_domain *d = vm->vm_stats.sp_dom;

	if (run->io.direction == KVM_EXIT_IO_IN)
		memset((uint8_t *)run + run->io.data_offset, 0xff,
		    (size_t)run->io.size * run->io.count);
	pthread_mutex_lock(&vm->vm_lock);
	stats_write_begin(&d->sd_seq);
	d->sd_bad_port_io++;
	stats_write_end(&d->sd_seq);
	pthread_mutex_unlock(&vm->vm_lock);
}

static void
vcpu_io(struct vcpu *vc, struct kvm_run *run)
{
	uint16_t port = run->io.port;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t v;

	if (vc->vc_vm->vm_hvm) {
		if (hvm_io(vc, run) == -1)
			vcpu_bad_port(vc, run);
		return;
	}
	if (port >= XENO_PV_HC_PORT && port < XENO_PV_HC_PORT +
	    XENO_PV_HC_MAX) {
		if (run->io.direction == KVM_EXIT_IO_OUT &&
		    run->io.size == 4 && run->io.count == 1) {
			memcpy(&v, data, sizeof(v));
			hcall_dispatch(vc, port - XENO_PV_HC_PORT, v);
			return;
		}
		vc->vc_hc_nr = (int)(port - XENO_PV_HC_PORT);
		vc->vc_hc_err = 1;
		if (run->io.direction == KVM_EXIT_IO_IN)
			memset(data, 0xff, (size_t)run->io.size *
			    run->io.count);
		return;
	}
	if (port == XENO_PV_EXC_PORT && run->io.direction == KVM_EXIT_IO_OUT &&
	    vcpu_exception(vc) == 0)
		return;
	/* a doorbell KVM's ioeventfd did not take (not a 4-byte out) */
	if (port >= XENO_PV_DOORBELL_PORT && run->io.direction ==
	    KVM_EXIT_IO_OUT && dev_doorbell(vc->vc_vm, port -
	    XENO_PV_DOORBELL_PORT) == 0)
		return;
	vcpu_bad_port(vc, run);
}

static void
vcpu_mmio(struct vcpu *vc, struct kvm_run *run)
{
	struct vm *vm = vc->vc_vm;
	struct xeno_stats_domain *d = vm->vm_stats.sp_dom;

	if (vm->vm_hvm && hvmdev_mmio(vm, run->mmio.phys_addr, run->mmio.data,
	    run->mmio.len, run->mmio.is_write) == 0)
		return;
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
	pthread_mutex_lock(&vm->vm_lock);
	stats_write_begin(&d->sd_seq);
	d->sd_bad_mmio++;
	stats_write_end(&d->sd_seq);
	pthread_mutex_unlock(&vm->vm_lock);
}

static void
vcpu_exit(struct vcpu *vc, struct kvm_run *run)
{
	struct vm *vm = vc->vc_vm;
	struct kvm_regs r;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_io(vc, run);
		break;
	case KVM_EXIT_MMIO:
		vcpu_mmio(vc, run);
		break;
	case KVM_EXIT_INTR:
		break;
	case KVM_EXIT_SHUTDOWN:
		memset(&r, 0, sizeof(r));
		ioctl(vc->vc_fd, KVM_GET_REGS, &r);
		vmm_crash(vm, vc->vc_id, 256, r.rip, 0, 0, "triple fault");
		break;
	case KVM_EXIT_FAIL_ENTRY:
		vmm_end(vm, XENO_END_ERROR, 0, "vCPU %u: KVM entry failed "
		    "(hardware reason 0x%llx)", vc->vc_id, (unsigned long long)
		    run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		vmm_end(vm, XENO_END_ERROR, 0, "vCPU %u: KVM internal error "
		    "%u", vc->vc_id, run->internal.suberror);
		break;
	default:
		vmm_end(vm, XENO_END_ERROR, 0, "vCPU %u: unexpected KVM exit "
		    "%u (%s)", vc->vc_id, run->exit_reason,
		    stats_exit_name(run->exit_reason));
		break;
	}
}

static void
vcpu_set_state(struct vcpu *vc, uint32_t state)
{
	struct xeno_stats_vcpu *s = vc->vc_stats;

	stats_write_begin(&s->sv_seq);
	s->sv_state = state;
	s->sv_run_since_ns = 0;
	s->sv_cpu_ns = vcpu_cputime();
	stats_write_end(&s->sv_seq);
}

static void
vcpu_first_entry(struct vm *vm, uint64_t t)
{
	struct xeno_stats_domain *d = vm->vm_stats.sp_dom;

	pthread_mutex_lock(&vm->vm_lock);
	stats_write_begin(&d->sd_seq);
	d->sd_first_entry_ns = t;
	/* A Linux guest has no way to tell us; its first entry is it. */
	if (vm->vm_hvm)
		d->sd_first_insn_ns = t;
	stats_write_end(&d->sd_seq);
	pthread_mutex_unlock(&vm->vm_lock);
}

/* Kick a vCPU out of KVM_RUN (or keep it from entering). */
void
vcpu_kick(struct vcpu *vc)
{
	if (vc->vc_run != NULL)
		__atomic_store_n(&vc->vc_run->immediate_exit, 1,
		    __ATOMIC_SEQ_CST);
	if (vc->vc_thread_ok)
		pthread_kill(vc->vc_thread, SIGUSR1);
}

void *
vcpu_main(void *arg)
{
	struct vcpu *vc = arg;
	struct vm *vm = vc->vc_vm;
	struct kvm_run *run = vc->vc_run;
	struct xeno_stats_vcpu *s = vc->vc_stats;
	uint64_t t_in, t_out, t_done;
	sigset_t set;
	int rc;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	if (vcpu_wait_start(vc) == -1)
		return NULL;	/* never started: stays offline */
	t_in = vmm_now_ns();
	if (vc->vc_id == 0)
		vcpu_first_entry(vm, t_in);
	stats_write_begin(&s->sv_seq);
	s->sv_state = XENO_VCPU_RUNNING;
	s->sv_run_since_ns = t_in;
	stats_write_end(&s->sv_seq);

	while (!__atomic_load_n(&vm->vm_ending, __ATOMIC_ACQUIRE) &&
	    !vc->vc_stopping) {
		rc = ioctl(vc->vc_fd, KVM_RUN, 0);
		t_out = vmm_now_ns();
		stats_write_begin(&s->sv_seq);
		s->sv_run_ns += t_out - t_in;
		s->sv_run_since_ns = 0;
		stats_write_end(&s->sv_seq);

		vc->vc_hc_nr = -1;
		vc->vc_hc_err = 0;
		vc->vc_blocked = 0;
		if (rc == -1) {
			if (errno != EINTR && errno != EAGAIN) {
				vmm_end(vm, XENO_END_ERROR, 0, "vCPU %u: "
				    "KVM_RUN: %s", vc->vc_id, strerror(errno));
				break;
			}
			/* kicked: immediate_exit or a signal */
			__atomic_store_n(&run->immediate_exit, 0,
			    __ATOMIC_SEQ_CST);
			run->exit_reason = KVM_EXIT_INTR;
		} else
			vcpu_exit(vc, run);

		t_done = vmm_now_ns();
		stats_write_begin(&s->sv_seq);
		s->sv_exits++;
		if (run->exit_reason < XENO_STATS_NR_EXITS) {
			s->sv_exit[run->exit_reason].count++;
			s->sv_exit[run->exit_reason].ns += t_done - t_out -
			    vc->vc_blocked;
		}
		if (vc->vc_hc_nr >= 0) {
			s->sv_hcalls++;
			s->sv_hcall[vc->vc_hc_nr].count++;
			if (vc->vc_hc_err) {
				s->sv_hcall_errors++;
				s->sv_hcall[vc->vc_hc_nr].errors++;
			}
		}
		if (t_done - vc->vc_cpu_at >= VCPU_CPUTIME_EVERY) {
			s->sv_cpu_ns = vcpu_cputime();
			vc->vc_cpu_at = t_done;
		}
		t_in = vmm_now_ns();
		s->sv_run_since_ns = t_in;
		stats_write_end(&s->sv_seq);
	}
	vcpu_set_state(vc, XENO_VCPU_STOPPED);
	return NULL;
}
