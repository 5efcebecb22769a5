/*
 * The KVM virtual machine of one domain: /dev/kvm, guest memory with guard
 * regions, vCPUs, guest time, the counters page, and how a domain ends.
 *
 * Threads: the main thread waits for signals and for the domain to end;
 * one thread per vCPU runs KVM_RUN (vcpu.c).  Whoever ends the domain
 * first (a hypercall, a crash, a signal) records why under vm_lock, makes
 * vm_stop_fd readable and kicks every vCPU out of KVM_RUN.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <linux/kvm.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xen.h"
#include "xeno/log.h"

/* Host-side guard around guest memory: a VMM bug that runs off the end faults. */
#define VMM_GUARD		(2ULL << 20)
#define VMM_THREAD_STACK	(128U << 10)
#define MSR_IA32_TSC		0x10

uint64_t
vmm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t
vmm_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Guest monotonic time (ns since the domain was created) of host time t. */
uint64_t
vmm_guest_ns(const struct vm *vm, uint64_t t)
{
	return t > vm->vm_base_ns ? t - vm->vm_base_ns : 0;
}

/*
 * The host address of guest range [gpa, gpa+len), or NULL if any of it is
 * outside what the guest may hand us (above the system area, inside its
 * memory).  Every guest-supplied address, from a hypercall block or a
 * virtqueue, goes through the one check in vq_gpa().
 */
void *
vmm_gpa(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	return vq_gpa(&vm->vm_gmem, gpa, len);
}

int
vmm_fail(struct vm *vm, int code)
{
	vm->vm_exit_code = code;
	return -1;
}

static int
vmm_open_kvm(struct vm *vm)
{
	static const struct {
		int		 cap;
		const char	*name;
	} caps[] = {
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
		{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
		{ KVM_CAP_GET_TSC_KHZ, "KVM_CAP_GET_TSC_KHZ" },
	};
	size_t i;
	int v;

	vm->vm_kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->vm_kvm == -1) {
		if (errno == ENOENT)
			log_warnx("/dev/kvm does not exist: this host has no "
			    "KVM (load kvm_intel, kvm_amd or kvm_pvm)");
		else if (errno == EACCES || errno == EPERM)
			log_warnx("/dev/kvm: permission denied (run as root "
			    "or as a member of the kvm group)");
		else
			log_warn("/dev/kvm");
		return vmm_fail(vm, HV_EXIT_UNAVAILABLE);
	}
	v = ioctl(vm->vm_kvm, KVM_GET_API_VERSION, 0);
	if (v == -1) {
		log_warn("/dev/kvm is not a usable KVM device "
		    "(KVM_GET_API_VERSION)");
		return vmm_fail(vm, HV_EXIT_UNAVAILABLE);
	}
	if (v != KVM_API_VERSION) {
		log_warnx("/dev/kvm: API version %d, need %d", v,
		    KVM_API_VERSION);
		return vmm_fail(vm, HV_EXIT_UNAVAILABLE);
	}
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (ioctl(vm->vm_kvm, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			log_warnx("/dev/kvm lacks %s, which xeno-hv needs",
			    caps[i].name);
			return vmm_fail(vm, HV_EXIT_UNAVAILABLE);
		}
	v = ioctl(vm->vm_kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (v < (int)sizeof(struct kvm_run)) {
		log_warn("KVM_GET_VCPU_MMAP_SIZE");
		return vmm_fail(vm, HV_EXIT_UNAVAILABLE);
	}
	vm->vm_run_size = (size_t)v;
	return 0;
}

/*
 * Reserve guest memory between two PROT_NONE guards.  Pages are touched
 * only when used, so a 16 MiB domain costs what it writes.
 *
 * A Linux guest (huge) is different: it touches most of its memory while
 * it boots, and every 4 KiB page KVM maps on a nested-paging fault is an
 * exit.  Its memory starts on a 2 MiB boundary and asks for transparent
 * huge pages, so KVM maps it 2 MiB at a time.
 */
static int
vmm_alloc_mem(struct vm *vm, uint64_t size, int huge)
{
	uint64_t host = (uint64_t)sysconf(_SC_PHYS_PAGES) *
	    (uint64_t)sysconf(_SC_PAGESIZE);
	void *p;

	if (size > host) {
		log_warnx("--mem %llu MiB is more than this host's %llu MiB "
		    "of memory", (unsigned long long)(size >> 20),
		    (unsigned long long)(host >> 20));
		return vmm_fail(vm, HV_EXIT_USAGE);
	}
	/* one guard more: room to align the start to 2 MiB */
	vm->vm_map_size = size + 3 * VMM_GUARD;
	p = mmap(NULL, vm->vm_map_size, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		log_warn("cannot reserve %llu MiB of guest memory",
		    (unsigned long long)(size >> 20));
		return vmm_fail(vm, HV_EXIT_OSERR);
	}
	vm->vm_map = p;
	vm->vm_mem = (uint8_t *)(((uintptr_t)vm->vm_map + 2 * VMM_GUARD - 1) &
	    ~(uintptr_t)(VMM_GUARD - 1));
	if (mprotect(vm->vm_mem, size, PROT_READ | PROT_WRITE) == -1) {
		log_warn("cannot map %llu MiB of guest memory",
		    (unsigned long long)(size >> 20));
		return vmm_fail(vm, HV_EXIT_OSERR);
	}
	vm->vm_mem_size = size;
	/* Guest memory never belongs in a core dump of xeno-hv. */
	madvise(vm->vm_mem, size, MADV_DONTDUMP);
	/* Small domains: a huge page would cost 2 MiB for one touched byte. */
	if (huge)
		madvise(vm->vm_mem, size, MADV_HUGEPAGE);
	else if (size < (1ULL << 30))
		madvise(vm->vm_mem, size, MADV_NOHUGEPAGE);
	return 0;
}

static void
vmm_stats_header(struct vm *vm, const struct hv_config *cfg,
    uint64_t start_ns)
{
	struct xeno_stats_hdr *h = vm->vm_stats.sp_hdr;
	const char *image = cfg->hc_kernel != NULL ? cfg->hc_kernel :
	    cfg->hc_image;
	const char *name = cfg->hc_name, *slash;

	if (name == NULL) {
		slash = strrchr(image, '/');
		name = slash != NULL ? slash + 1 : image;
	}
	h->sh_mem_bytes = cfg->hc_mem;
	h->sh_start_ns = start_ns;
	h->sh_start_realtime_ns = vmm_realtime_ns() - (vmm_now_ns() -
	    start_ns);
	snprintf(h->sh_name, sizeof(h->sh_name), "%s", name);
	snprintf(h->sh_image, sizeof(h->sh_image), "%s", image);
}

/*
 * Everything but the guest image: counters page, /dev/kvm, the VM, its
 * memory and vCPUs.  On failure vm_exit_code says why (HV_EXIT_*).
 */
int
vmm_create(struct vm *vm, const struct hv_config *cfg, uint64_t start_ns)
{
	struct kvm_userspace_memory_region region;
	unsigned int i;

	memset(vm, 0, sizeof(*vm));
	vm->vm_kvm = vm->vm_fd = vm->vm_stop_fd = vm->vm_shutdown_fd = -1;
	vm->vm_console_fd = -1;
	vm->vm_nvcpus = cfg->hc_vcpus;
	for (i = 0; i < XENO_PV_MAX_VCPUS; i++) {
		vm->vm_vcpu[i].vc_fd = -1;
		vm->vm_vcpu[i].vc_epfd = -1;
	}
	pthread_mutex_init(&vm->vm_lock, NULL);
	pthread_cond_init(&vm->vm_cond, NULL);

	if (stats_create(&vm->vm_stats, cfg->hc_stats, cfg->hc_vcpus) == -1) {
		log_warn("cannot create counters file '%s'", cfg->hc_stats);
		return vmm_fail(vm, HV_EXIT_CANTCREAT);
	}
	vmm_stats_header(vm, cfg, start_ns);
	if (stats_publish(&vm->vm_stats) == -1) {
		log_warn("cannot create counters file '%s'", cfg->hc_stats);
		return vmm_fail(vm, HV_EXIT_CANTCREAT);
	}

	if (vmm_open_kvm(vm) == -1 || vmm_alloc_mem(vm, cfg->hc_mem,
	    cfg->hc_kernel != NULL) == -1)
		return -1;
	do
		vm->vm_fd = ioctl(vm->vm_kvm, KVM_CREATE_VM, 0);
	while (vm->vm_fd == -1 && errno == EINTR);
	if (vm->vm_fd == -1) {
		log_warn("KVM_CREATE_VM");
		return vmm_fail(vm, errno == ENOMEM ? HV_EXIT_OSERR :
		    HV_EXIT_UNAVAILABLE);
	}
	vm->vm_base_ns = vmm_now_ns();
	vm->vm_stats.sp_dom->sd_vm_created_ns = vm->vm_base_ns;

	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = vm->vm_mem_size;
	region.userspace_addr = (uint64_t)(uintptr_t)vm->vm_mem;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) == -1) {
		log_warn("KVM_SET_USER_MEMORY_REGION");
		return vmm_fail(vm, HV_EXIT_OSERR);
	}

	vm->vm_hvm = cfg->hc_kernel != NULL;
	if (vm->vm_hvm && hvm_create_irqchip(vm) == -1)
		return -1;
	vm->vm_stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->vm_shutdown_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->vm_stop_fd == -1 || vm->vm_shutdown_fd == -1) {
		log_warn("eventfd");
		return vmm_fail(vm, HV_EXIT_OSERR);
	}
	for (i = 0; i < vm->vm_nvcpus; i++) {
		struct vcpu *vc = &vm->vm_vcpu[i];
		void *run;

		vc->vc_vm = vm;
		vc->vc_id = i;
		vc->vc_stats = stats_vcpu(&vm->vm_stats, i);
		vc->vc_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, i);
		if (vc->vc_fd == -1) {
			log_warn("KVM_CREATE_VCPU %u", i);
			return vmm_fail(vm, HV_EXIT_OSERR);
		}
		run = mmap(NULL, vm->vm_run_size, PROT_READ | PROT_WRITE,
		    MAP_SHARED, vc->vc_fd, 0);
		if (run == MAP_FAILED) {
			log_warn("mmap of vCPU %u run area", i);
			return vmm_fail(vm, HV_EXIT_OSERR);
		}
		vc->vc_run = run;
	}
	return 0;
}

/*
 * Guest TSC = host TSC + offset.  KVM tells the offset where it can; else
 * we read the guest's TSC MSR next to the host's TSC.
 */
int
vmm_tsc_setup(struct vm *vm)
{
	struct vcpu *vc = &vm->vm_vcpu[0];
	struct kvm_device_attr attr;
	struct {
		struct kvm_msrs		hdr;
		struct kvm_msr_entry	e;
	} msrs;
	uint64_t off = 0, host;
	int khz;

	khz = ioctl(vc->vc_fd, KVM_GET_TSC_KHZ, 0);
	if (khz <= 0) {
		log_warn("KVM_GET_TSC_KHZ");
		return vmm_fail(vm, HV_EXIT_UNAVAILABLE);
	}
	vm->vm_tsc_hz = (uint64_t)khz * 1000;
	vm->vm_tsc_mul = (1000000000ULL << 32) / vm->vm_tsc_hz;

	memset(&attr, 0, sizeof(attr));
	attr.group = KVM_VCPU_TSC_CTRL;
	attr.attr = KVM_VCPU_TSC_OFFSET;
	attr.addr = (uint64_t)(uintptr_t)&off;
	if (ioctl(vc->vc_fd, KVM_GET_DEVICE_ATTR, &attr) == 0) {
		vm->vm_tsc_offset = (int64_t)off;
		return 0;
	}
	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = 1;
	msrs.e.index = MSR_IA32_TSC;
	host = __builtin_ia32_rdtsc();
	if (ioctl(vc->vc_fd, KVM_GET_MSRS, &msrs) != 1) {
		log_warn("KVM_GET_MSRS(TSC)");
		return vmm_fail(vm, HV_EXIT_UNAVAILABLE);
	}
	vm->vm_tsc_offset = (int64_t)(msrs.e.data - host);
	return 0;
}

static uint64_t
vmm_tsc_delta_ns(const struct vm *vm, uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * vm->vm_tsc_mul) >> 32);
}

/* Host monotonic ns at which the guest's TSC read `tsc`. */
uint64_t
vmm_tsc_to_ns(const struct vm *vm, uint64_t tsc)
{
	const struct xeno_pv_time *tp =
	    (const void *)(vm->vm_mem + XENO_PV_TIME_GPA);
	uint64_t base = vm->vm_base_ns + tp->tp_mono_ns;

	if (tsc >= tp->tp_tsc)
		return base + vmm_tsc_delta_ns(vm, tsc - tp->tp_tsc);
	return base - vmm_tsc_delta_ns(vm, tp->tp_tsc - tsc);
}

/*
 * Re-base the time page at the present moment.  Monotonic time never goes
 * backwards for the guest: if the TSC extrapolation ran ahead of the host
 * clock, the new base keeps the extrapolated value.
 */
void
vmm_time_update(struct vm *vm)
{
	struct xeno_pv_time *tp = (void *)(vm->vm_mem + XENO_PV_TIME_GPA);
	uint64_t tsc, mono, wall, pred;

	pthread_mutex_lock(&vm->vm_lock);
	tsc = __builtin_ia32_rdtsc() + (uint64_t)vm->vm_tsc_offset;
	mono = vmm_guest_ns(vm, vmm_now_ns());
	wall = vmm_realtime_ns();
	if (tp->tp_mul != 0 && tsc >= tp->tp_tsc) {
		pred = tp->tp_mono_ns + vmm_tsc_delta_ns(vm, tsc - tp->tp_tsc);
		if (pred > mono)
			mono = pred;
	}
	__atomic_store_n(&tp->tp_seq, tp->tp_seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	tp->tp_tsc = tsc;
	tp->tp_mono_ns = mono;
	tp->tp_wall_ns = wall;
	tp->tp_mul = vm->vm_tsc_mul;
	tp->tp_tsc_hz = vm->vm_tsc_hz;
	__atomic_store_n(&tp->tp_seq, tp->tp_seq + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vm->vm_lock);
}

/*
 * Load a PV guest image and build its system area.  The image file is
 * untrusted; errors name the file and the problem.
 */
int
vmm_load_pv(struct vm *vm, const struct hv_config *cfg, int *code)
{
	struct elf_image img;
	struct stat st;
	char err[256];
	uint8_t *buf;
	int fd, rc = -1;

	*code = HV_EXIT_DATAERR;
	fd = open(cfg->hc_image, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		log_warn("cannot open image '%s'", cfg->hc_image);
		*code = HV_EXIT_NOINPUT;
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_warnx("image '%s' is not a regular file", cfg->hc_image);
		close(fd);
		*code = HV_EXIT_NOINPUT;
		return -1;
	}
	if (st.st_size == 0 || (uint64_t)st.st_size > vm->vm_mem_size) {
		log_warnx("image '%s' is %lld bytes: %s", cfg->hc_image,
		    (long long)st.st_size, st.st_size == 0 ? "empty" :
		    "larger than guest memory (give more --mem)");
		close(fd);
		return -1;
	}
	buf = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (buf == MAP_FAILED) {
		log_warn("cannot read image '%s'", cfg->hc_image);
		*code = HV_EXIT_NOINPUT;
		return -1;
	}
	if (pvboot_layout(vm->vm_mem_size, vm->vm_nvcpus, NULL,
	    &vm->vm_layout, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		*code = HV_EXIT_USAGE;
		goto out;
	}
	if (elf_parse(buf, (size_t)st.st_size, XENO_PV_IMAGE_MIN,
	    vm->vm_layout.pl_heap_end, &img, err, sizeof(err)) == -1) {
		log_warnx("image '%s': %s", cfg->hc_image, err);
		goto out;
	}
	elf_copy(&img, buf, vm->vm_mem);
	if (pvboot_build(vm->vm_mem, &img, &vm->vm_layout, cfg->hc_args, err,
	    sizeof(err)) == -1) {
		log_warnx("image '%s': %s", cfg->hc_image, err);
		*code = HV_EXIT_USAGE;
		goto out;
	}
	vm->vm_entry = img.ei_entry;
	vm->vm_gmem.vm_base = vm->vm_mem;
	vm->vm_gmem.vm_lo = XENO_PV_IMAGE_MIN;
	vm->vm_gmem.vm_hi = vm->vm_mem_size;
	if (vmm_tsc_setup(vm) == -1) {
		*code = vm->vm_exit_code;
		goto out;
	}
	((struct xeno_pv_bootinfo *)(void *)(vm->vm_mem +
	    XENO_PV_BOOTINFO_GPA))->bi_tsc_hz = vm->vm_tsc_hz;
	vm->vm_stats.sp_hdr->sh_tsc_hz = vm->vm_tsc_hz;
	vmm_time_update(vm);
	rc = 0;
out:
	munmap(buf, (size_t)st.st_size);
	return rc;
}

static void
vmm_dom_write(struct vm *vm, void (*fn)(struct xeno_stats_domain *, void *),
    void *arg)
{
	struct xeno_stats_domain *d = vm->vm_stats.sp_dom;

	stats_write_begin(&d->sd_seq);
	fn(d, arg);
	stats_write_end(&d->sd_seq);
}

struct vmm_end_args {
	enum xeno_dom_end	reason;
	int			status;
	uint64_t		now;
};

static void
vmm_end_write(struct xeno_stats_domain *d, void *arg)
{
	struct vmm_end_args *a = arg;

	d->sd_state = XENO_DOM_SHUTDOWN;
	d->sd_end = a->reason;
	d->sd_exit_status = a->status;
	d->sd_end_ns = a->now;
}

static void
vmm_end_locked(struct vm *vm, enum xeno_dom_end reason, int status)
{
	struct vmm_end_args a = { reason, status, vmm_now_ns() };
	uint64_t one = 1;
	unsigned int i;

	if (vm->vm_ending)
		return;
	__atomic_store_n(&vm->vm_ending, 1, __ATOMIC_SEQ_CST);
	vmm_dom_write(vm, vmm_end_write, &a);
	switch (reason) {
	case XENO_END_EXIT:
		vm->vm_exit_code = status;
		break;
	case XENO_END_VCPUS_DOWN:
		vm->vm_exit_code = 0;
		break;
	case XENO_END_ABORT:
		vm->vm_exit_code = HV_EXIT_ABORTED;
		break;
	case XENO_END_CRASH:
		vm->vm_exit_code = HV_EXIT_CRASHED;
		break;
	case XENO_END_DESTROY:
		vm->vm_exit_code = HV_EXIT_DESTROYED;
		break;
	default:
		vm->vm_exit_code = HV_EXIT_SOFTWARE;
		break;
	}
	if (write(vm->vm_stop_fd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_warn("eventfd write");
	for (i = 0; i < vm->vm_nvcpus; i++)
		vcpu_kick(&vm->vm_vcpu[i]);
	pthread_cond_broadcast(&vm->vm_cond);
}

/*
 * Ask a PV guest to shut down (bi_shutdown, docs/PV-ABI.md): every vCPU
 * blocked in YIELD wakes once, through an edge-triggered eventfd in its
 * event set.  Linux guests have no such notice (no ACPI): EOPNOTSUPP.
 */
int
vmm_shutdown_request(struct vm *vm)
{
	struct xeno_pv_bootinfo *bi;
	uint64_t one = 1;

	if (vm->vm_hvm) {
		errno = EOPNOTSUPP;
		return -1;
	}
	bi = (struct xeno_pv_bootinfo *)(void *)(vm->vm_mem +
	    XENO_PV_BOOTINFO_GPA);
	__atomic_store_n(&bi->bi_shutdown, 1, __ATOMIC_RELEASE);
	if (write(vm->vm_shutdown_fd, &one, sizeof(one)) == -1 &&
	    errno != EAGAIN)
		return -1;
	log_info("the guest is asked to shut down (control request)");
	return 0;
}

/*
 * End the domain (first caller wins) and say why, if fmt is given, as one
 * line on stderr naming the domain.
 */
void
vmm_end(struct vm *vm, enum xeno_dom_end reason, int status,
    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int first;

	pthread_mutex_lock(&vm->vm_lock);
	first = !vm->vm_ending;
	vmm_end_locked(vm, reason, status);
	pthread_mutex_unlock(&vm->vm_lock);
	if (first && fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		log_warnx("domain '%s' %s", vm->vm_stats.sp_hdr->sh_name, msg);
	}
}

struct vmm_crash_args {
	unsigned int	vcpu, vector;
	uint64_t	rip, error, addr;
};

static void
vmm_crash_write(struct xeno_stats_domain *d, void *arg)
{
	struct vmm_crash_args *a = arg;

	d->sd_crash_vcpu = a->vcpu;
	d->sd_crash_vector = a->vector;
	d->sd_crash_rip = a->rip;
	d->sd_crash_error = a->error;
	d->sd_crash_addr = a->addr;
}

/* Record a guest crash (vector 256: triple fault) and end the domain. */
void
vmm_crash(struct vm *vm, unsigned int vcpu, unsigned int vector, uint64_t rip,
    uint64_t error, uint64_t addr, const char *what)
{
	struct vmm_crash_args a = { vcpu, vector, rip, error, addr };
	int first;

	pthread_mutex_lock(&vm->vm_lock);
	first = !vm->vm_ending;
	if (first)
		vmm_dom_write(vm, vmm_crash_write, &a);
	vmm_end_locked(vm, XENO_END_CRASH, 0);
	pthread_mutex_unlock(&vm->vm_lock);
	if (first)
		log_warnx("domain '%s' crashed: vCPU %u: %s at rip 0x%llx "
		    "(error 0x%llx, address 0x%llx)",
		    vm->vm_stats.sp_hdr->sh_name, vcpu, what,
		    (unsigned long long)rip, (unsigned long long)error,
		    (unsigned long long)addr);
}

struct vmm_console_args {
	uint64_t	written, dropped;
};

static void
vmm_console_write(struct xeno_stats_domain *d, void *arg)
{
	struct vmm_console_args *a = arg;

	d->sd_console_bytes += a->written;
	d->sd_console_dropped += a->dropped;
}

/*
 * Guest console output.  A console sink that fails (closed pipe, full
 * disk) loses bytes, counted, and never stops the guest.
 */
void
vmm_console(struct vm *vm, const void *buf, size_t len)
{
	struct vmm_console_args a = { len, 0 };
	const uint8_t *p = buf;
	size_t off = 0;
	ssize_t n;

	if (vm->vm_con != NULL)
		console_put(vm->vm_con, buf, len);

	while (vm->vm_console_fd != -1 && off < len) {
		n = write(vm->vm_console_fd, p + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (vm->vm_console_fd != -1)
		a.dropped = len - off;
	pthread_mutex_lock(&vm->vm_lock);
	vmm_dom_write(vm, vmm_console_write, &a);
	pthread_mutex_unlock(&vm->vm_lock);
}

static void
vmm_sigusr1(int sig)
{
	(void)sig;	/* only there to interrupt KVM_RUN */
}

static void
vmm_state_write(struct xeno_stats_domain *d, void *arg)
{
	d->sd_state = *(uint32_t *)arg;
}

/*
 * Run the domain until it ends; returns xeno-hv's exit code.  SIGTERM,
 * SIGINT and SIGHUP destroy the domain cleanly.
 */
int
vmm_run(struct vm *vm)
{
	struct epoll_event ev, evs[4];
	struct sigaction sa;
	struct signalfd_siginfo si;
	pthread_attr_t attr;
	sigset_t set;
	uint32_t state = XENO_DOM_RUNNING;
	unsigned int i;
	int ep = -1, sfd = -1, n, k, done = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vmm_sigusr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, SIGUSR1);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd == -1 || ep == -1) {
		log_warn("signalfd/epoll");
		vm->vm_exit_code = HV_EXIT_OSERR;
		goto out;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = vm->vm_stop_fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, vm->vm_stop_fd, &ev);

	for (i = 0; i < vm->vm_nvcpus; i++)
		if (vcpu_init(&vm->vm_vcpu[i]) == -1) {
			vm->vm_exit_code = HV_EXIT_SOFTWARE;
			goto out;
		}
	vmm_dom_write(vm, vmm_state_write, &state);
	if (dev_start_all(vm) == -1) {
		vmm_end(vm, XENO_END_ERROR, 0, "cannot start device threads");
		goto out;
	}

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, VMM_THREAD_STACK);
	for (i = 0; i < vm->vm_nvcpus; i++) {
		struct vcpu *vc = &vm->vm_vcpu[i];

		pthread_mutex_lock(&vm->vm_lock);
		if (pthread_create(&vc->vc_thread, &attr, vcpu_main, vc) != 0) {
			pthread_mutex_unlock(&vm->vm_lock);
			vmm_end(vm, XENO_END_ERROR, 0, "cannot start vCPU "
			    "%u thread", i);
			break;
		}
		vc->vc_thread_ok = 1;
		pthread_mutex_unlock(&vm->vm_lock);
	}
	pthread_attr_destroy(&attr);

	while (!done) {
		n = epoll_wait(ep, evs, 4, -1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			vmm_end(vm, XENO_END_ERROR, 0, "epoll_wait: %s",
			    strerror(errno));
			break;
		}
		for (k = 0; k < n; k++) {
			if (evs[k].data.fd == vm->vm_stop_fd) {
				done = 1;
				continue;
			}
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				vmm_end(vm, XENO_END_DESTROY, 0, "destroyed "
				    "by signal %s", strsignal((int)si.ssi_signo));
		}
	}
	for (i = 0; i < vm->vm_nvcpus; i++)
		if (vm->vm_vcpu[i].vc_thread_ok)
			pthread_join(vm->vm_vcpu[i].vc_thread, NULL);
out:
	dev_stop_all(vm);
	if (sfd != -1)
		close(sfd);
	if (ep != -1)
		close(ep);
	return vm->vm_exit_code;
}

void
vmm_destroy(struct vm *vm)
{
	unsigned int i;

	dev_destroy_all(vm);
	for (i = 0; i < vm->vm_nvcpus; i++) {
		struct vcpu *vc = &vm->vm_vcpu[i];

		if (vc->vc_run != NULL)
			munmap(vc->vc_run, vm->vm_run_size);
		vc->vc_run = NULL;
		if (vc->vc_fd != -1)
			close(vc->vc_fd);
		vc->vc_fd = -1;
		if (vc->vc_epfd != -1)
			close(vc->vc_epfd);
		vc->vc_epfd = -1;
	}
	if (vm->vm_fd != -1)
		close(vm->vm_fd);
	if (vm->vm_kvm != -1)
		close(vm->vm_kvm);
	if (vm->vm_shutdown_fd != -1)
		close(vm->vm_shutdown_fd);
	vm->vm_shutdown_fd = -1;
	if (vm->vm_stop_fd != -1)
		close(vm->vm_stop_fd);
	if (vm->vm_console_fd > STDERR_FILENO)
		close(vm->vm_console_fd);
	if (vm->vm_map != NULL)
		munmap(vm->vm_map, vm->vm_map_size);
	vm->vm_fd = vm->vm_kvm = vm->vm_stop_fd = vm->vm_console_fd = -1;
	vm->vm_map = NULL;
	stats_destroy(&vm->vm_stats);
	pthread_mutex_destroy(&vm->vm_lock);
	pthread_cond_destroy(&vm->vm_cond);
}
