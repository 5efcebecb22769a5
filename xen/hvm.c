/*
 * HVM domains: an unmodified Linux kernel (bzImage) on hardware
 * virtualization (docs/HVM.md).  KVM's in-kernel local APICs, I/O APIC,
 * PIC and PIT do the interrupt and timer work; here are the loader, the
 * vCPU state the 64-bit boot protocol asks for, CPUID with KVM's
 * signature, and the few ports a PC guest touches: the COM1 UART, the
 * boot timer and exit ports, the i8042 reset line and quiet legacy ports.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <linux/kvm.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xen.h"
#include "xeno/log.h"

#define HVM_TSS_ADDR		0xfffbd000ULL
#define HVM_IDMAP_ADDR		0xfffbc000ULL
#define HVM_CPUID_MAX		128
#define HVM_CR0			0x80050033ULL	/* PG WP NE ET MP PE */
#define HVM_CR4			0x20ULL		/* PAE */
#define HVM_EFER		0x500ULL	/* LMA LME */
#define HVM_SEL_CS		0x10
#define HVM_SEL_DS		0x18
#define HVM_COM1		0x3f8
#define HVM_COM1_IRQ		4
#define HVM_I8042_DATA		0x60
#define HVM_I8042_CMD		0x64
#define HVM_I8042_RESET		0xfe
#define HVM_I8042_STATUS	0x01	/* OBF: output full; IBF clear */
#define HVM_CMOS_INDEX		0x70
#define HVM_CMOS_DATA		0x71
#define HVM_POST		0x80

/* In-kernel interrupt controllers and PIT: before any vCPU exists. */
int
hvm_create_irqchip(struct vm *vm)
{
	struct kvm_pit_config pit;
	uint64_t idmap = HVM_IDMAP_ADDR;

	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, HVM_TSS_ADDR) == -1 ||
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) == -1) {
		log_warn("KVM_SET_TSS_ADDR");
		return vmm_fail(vm, HV_EXIT_UNAVAILABLE);
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) == -1) {
		log_warn("KVM_CREATE_IRQCHIP (HVM guests need hardware "
		    "virtualization with an in-kernel APIC)");
		return vmm_fail(vm, HV_EXIT_UNAVAILABLE);
	}
	memset(&pit, 0, sizeof(pit));
	pit.flags = KVM_PIT_SPEAKER_DUMMY;
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) == -1) {
		log_warn("KVM_CREATE_PIT2");
		return vmm_fail(vm, HV_EXIT_UNAVAILABLE);
	}
	uart_init(&vm->vm_uart);
	pthread_mutex_init(&vm->vm_uart_lock, NULL);
	return 0;
}

/* A whole regular file, mapped read-only; NULL with a message. */
static uint8_t *
hvm_map(const char *what, const char *path, size_t *len, int *code)
{
	struct stat st;
	void *p;
	int fd;

	*code = HV_EXIT_NOINPUT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		log_warn("cannot open %s '%s'", what, path);
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		log_warnx("%s '%s' is not a non-empty regular file", what,
		    path);
		close(fd);
		*code = HV_EXIT_DATAERR;
		return NULL;
	}
	if ((uint64_t)st.st_size > HVM_MEM_MAX) {
		log_warnx("%s '%s' is larger than any guest memory", what,
		    path);
		close(fd);
		*code = HV_EXIT_DATAERR;
		return NULL;
	}
	/* populated at once: one pass instead of a fault per page */
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE |
	    MAP_POPULATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		log_warn("cannot read %s '%s'", what, path);
		return NULL;
	}
	*len = (size_t)st.st_size;
	return p;
}

int
vmm_load_hvm(struct vm *vm, const struct hv_config *cfg, int *code)
{
	struct bz_image bz;
	struct hvm_layout hl;
	uint8_t *kernel, *initrd = NULL;
	size_t klen, ilen = 0;
	char err[256];
	int rc = -1;

	if ((kernel = hvm_map("kernel", cfg->hc_kernel, &klen, code)) == NULL)
		return -1;
	*code = HV_EXIT_DATAERR;
	/* a bzImage, or the vmlinux ELF inside one (docs/HVM.md) */
	if ((klen >= 4 && memcmp(kernel, "\177ELF", 4) == 0 ?
	    vmlinux_parse(kernel, klen, &bz, err, sizeof(err)) :
	    bzimage_parse(kernel, klen, &bz, err, sizeof(err))) == -1) {
		log_warnx("kernel '%s': %s", cfg->hc_kernel, err);
		goto out;
	}
	if (cfg->hc_initrd != NULL && (initrd = hvm_map("initrd",
	    cfg->hc_initrd, &ilen, code)) == NULL)
		goto out;
	*code = HV_EXIT_USAGE;
	if (hvmboot_build(vm->vm_mem, vm->vm_mem_size, vm->vm_nvcpus, kernel,
	    &bz, initrd, ilen, cfg->hc_cmdline, &hl, err, sizeof(err)) == -1) {
		log_warnx("kernel '%s': %s", cfg->hc_kernel, err);
		goto out;
	}
	vm->vm_entry = hl.hl_entry;
	vm->vm_gmem.vm_base = vm->vm_mem;
	vm->vm_gmem.vm_lo = HVM_KERNEL;
	vm->vm_gmem.vm_hi = vm->vm_mem_size;
	if (vmm_tsc_setup(vm) == -1) {
		*code = vm->vm_exit_code;
		goto out;
	}
	vm->vm_stats.sp_hdr->sh_tsc_hz = vm->vm_tsc_hz;
	rc = 0;
out:
	munmap(kernel, klen);
	if (initrd != NULL)
		munmap(initrd, ilen);
	return rc;
}

/* What the host's KVM supports, with our signature and this vCPU's ids. */
static int
hvm_cpuid(struct vcpu *vc)
{
	struct kvm_cpuid2 *c;
	struct kvm_cpuid_entry2 *e;
	unsigned int i;
	int rc = -1;

	c = calloc(1, sizeof(*c) + HVM_CPUID_MAX * sizeof(*e));
	if (c == NULL)
		return -1;
	c->nent = HVM_CPUID_MAX;
	if (ioctl(vc->vc_vm->vm_kvm, KVM_GET_SUPPORTED_CPUID, c) == -1) {
		log_warn("KVM_GET_SUPPORTED_CPUID");
		goto out;
	}
	for (i = 0; i < c->nent; i++) {
		e = &c->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x00ffffff) | vc->vc_id << 24;
			e->ecx |= 1U << 31;	/* running on a hypervisor */
			break;
		case 0xb:
		case 0x1f:
			e->edx = vc->vc_id;	/* x2APIC id */
			break;
		case 0x40000000:
			e->eax = 0x40000001;
			memcpy(&e->ebx, "KVMK", 4);
			memcpy(&e->ecx, "VMKV", 4);
			memcpy(&e->edx, "M\0\0\0", 4);
			break;
		}
	}
	if (ioctl(vc->vc_fd, KVM_SET_CPUID2, c) == -1) {
		log_warn("vCPU %u: KVM_SET_CPUID2", vc->vc_id);
		goto out;
	}
	rc = 0;
out:
	free(c);
	return rc;
}

/*
 * The boot processor enters the kernel's 64-bit entry as the boot protocol
 * says: paging on identity tables, flat __BOOT_CS/__BOOT_DS, interrupts
 * off, %rsi at the zero page.  The others wait in the in-kernel APIC for
 * the kernel's INIT and SIPI, as on a PC.
 */
int
hvm_vcpu_init(struct vcpu *vc)
{
	struct vm *vm = vc->vc_vm;
	struct kvm_sregs sr;
	struct kvm_regs r;

	if (hvm_cpuid(vc) == -1)
		return -1;
	vc->vc_started = 1;
	if (vc->vc_id != 0)
		return 0;
	if (ioctl(vc->vc_fd, KVM_GET_SREGS, &sr) == -1) {
		log_warn("vCPU 0: KVM_GET_SREGS");
		return -1;
	}
	sr.cr0 = HVM_CR0;
	sr.cr4 = HVM_CR4;
	sr.efer = HVM_EFER;
	sr.cr3 = HVM_PML4;
	vcpu_segment(&sr.cs, HVM_SEL_CS, 1);
	vcpu_segment(&sr.ds, HVM_SEL_DS, 0);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	sr.gdt.base = HVM_GDT;
	sr.gdt.limit = HVM_GDT_SIZE - 1;
	sr.idt.base = 0;
	sr.idt.limit = 0;
	if (ioctl(vc->vc_fd, KVM_SET_SREGS, &sr) == -1) {
		log_warn("vCPU 0: KVM_SET_SREGS");
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.rip = vm->vm_entry;
	r.rsi = HVM_ZERO_PAGE;
	r.rsp = HVM_STACK;
	r.rflags = 0x2;
	if (ioctl(vc->vc_fd, KVM_SET_REGS, &r) == -1) {
		log_warn("vCPU 0: KVM_SET_REGS");
		return -1;
	}
	return 0;
}

static void
hvm_irq_line(struct vm *vm, unsigned int irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = (uint32_t)level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) == -1)
		log_warn("KVM_IRQ_LINE %u", irq);
}

/*
 * COM1.  IRQ 4 is edge-triggered (ISA): every byte sent lowers the line
 * and raises it again, so the driver hears of each empty holding register.
 */
static void
hvm_uart(struct vcpu *vc, unsigned int reg, int out, uint8_t *data)
{
	struct vm *vm = vc->vc_vm;
	uint8_t byte;
	int sent = 0, level;

	pthread_mutex_lock(&vm->vm_uart_lock);
	if (out)
		sent = uart_write(&vm->vm_uart, reg, *data, &byte);
	else
		*data = uart_read(&vm->vm_uart, reg);
	level = uart_irq(&vm->vm_uart);
	if (vm->vm_uart_irq && (sent || !level))
		hvm_irq_line(vm, HVM_COM1_IRQ, 0);
	if (level && (sent || !vm->vm_uart_irq))
		hvm_irq_line(vm, HVM_COM1_IRQ, 1);
	vm->vm_uart_irq = level;
	pthread_mutex_unlock(&vm->vm_uart_lock);
	if (sent)
		vmm_console(vm, &byte, 1);
}

static void
hvm_boot_timer(struct vm *vm)
{
	struct xeno_stats_domain *d = vm->vm_stats.sp_dom;
	uint64_t now = vmm_now_ns();

	pthread_mutex_lock(&vm->vm_lock);
	if (d->sd_boot_done_ns == 0) {
		stats_write_begin(&d->sd_seq);
		d->sd_boot_done_ns = now;
		stats_write_end(&d->sd_seq);
	}
	pthread_mutex_unlock(&vm->vm_lock);
}

/* Returns 0 if the port is ours, -1 to count it as a bad port. */
int
hvm_io(struct vcpu *vc, struct kvm_run *run)
{
	struct vm *vm = vc->vc_vm;
	uint16_t port = run->io.port;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	int out = run->io.direction == KVM_EXIT_IO_OUT;
	uint32_t i, n = run->io.count;

	if (port >= HVM_COM1 && port < HVM_COM1 + 8 && run->io.size == 1) {
		for (i = 0; i < n; i++)
			hvm_uart(vc, port - HVM_COM1, out, data + i);
		return 0;
	}
	if (port >= VPCI_CONF_ADDR && port < VPCI_CONF_DATA + 4) {
		hvmdev_conf_io(vm, port, out, data, run->io.size, n);
		return 0;
	}
	if (port == XENO_HVM_BOOT_TIMER_PORT && out) {
		hvm_boot_timer(vm);
		return 0;
	}
	if (port == XENO_HVM_EXIT_PORT && out) {
		vmm_end(vm, XENO_END_EXIT, data[0], NULL);
		return 0;
	}
	if (port == HVM_I8042_CMD && out && data[0] == HVM_I8042_RESET) {
		vmm_end(vm, XENO_END_EXIT, 0, "the guest reset itself "
		    "(i8042)");
		return 0;
	}
	/*
	 * Ports a PC kernel pokes at boot that have nothing behind them
	 * here: the POST delay port, CMOS and the i8042.  Reads give 0 (no
	 * RTC update in progress, no keyboard data), except the i8042
	 * status: "output full, input empty".  Linux's i8042 driver then
	 * gives up after one flush of 16 reads ("No controller found")
	 * instead of polling thousands of times for a reply to its probe,
	 * and the keyboard-controller reset (reboot=k) finds the input
	 * buffer empty and writes 0xfe at once.
	 */
	if (port == HVM_POST || port == HVM_CMOS_INDEX ||
	    port == HVM_CMOS_DATA || port == HVM_I8042_DATA ||
	    port == HVM_I8042_CMD) {
		if (!out)
			memset(data, port == HVM_I8042_CMD ?
			    HVM_I8042_STATUS : 0, (size_t)run->io.size * n);
		return 0;
	}
	return -1;
}
