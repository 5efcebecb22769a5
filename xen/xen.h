/*
 * xeno-hv: the Xeno hypervisor, one process per domain on /dev/kvm.
 *
 * Files and what they own (prototypes below are grouped the same way):
 *	main.c		command line: `run` and `stat`
 *	opts.c		option parsing (pure)
 *	elf.c		ELF64 image checks and loading (pure)
 *	pgtable.c	identity page-table builder (pure)
 *	pvboot.c	the PV system area: GDT, IDT, TSS, stubs, boot info (pure)
 *	stats.c		counters page: writer, seqlock reader, printing
 *	vmm.c		the KVM VM: memory, vCPUs, time, domain end
 *	vcpu.c		vCPU threads and the exit loop
 *	hcall.c		hypercalls
 *	dev.c		PV devices: registry, queues, doorbells, I/O threads
 *	vif.c		VIF device: the packet loops (virtio/net.c: the tap)
 *	vbd.c		VBD device: the request loop (virtio/blk.c: storage)
 *	flowlog.c	the flow-log ring file: writer and reader
 *	ctl.c		the control socket: rule sets, captures, shutdown
 *	hvmboot.c	HVM: the Linux boot protocol (pure)
 *	uart.c		HVM: the COM1 16550A (pure)
 *	vpci.c		HVM: PCI host bridge and virtio-pci functions (pure)
 *	hvm.c		HVM: irqchip, loading, vCPU state, port I/O
 *	hvmdev.c	HVM: virtio-pci on the devices of dev.c (KVM glue)
 *	console.c	the console on a Unix socket
 */
#ifndef XEN_H
#define XEN_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "xeno/flowlog.h"
#include "xeno/hvm.h"
#include "xeno/pv.h"
#include "xeno/stats.h"
#include "virtio/fw.h"
#include "virtio/virtq.h"

#define XENO_HV_VERSION "0.1"

/*
 * xeno-hv's exit codes (docs/XENO-HV.md): the guest's own status 0..63,
 * sysexits(3) codes for our own failures, and three codes for how a domain
 * ended other than by exit.
 */
#define HV_EXIT_USAGE		64	/* bad command line or option value */
#define HV_EXIT_DATAERR		65	/* image is not a valid guest image */
#define HV_EXIT_NOINPUT		66	/* image cannot be opened */
#define HV_EXIT_UNAVAILABLE	69	/* /dev/kvm missing or unusable */
#define HV_EXIT_SOFTWARE	70	/* internal error, unexpected KVM exit */
#define HV_EXIT_OSERR		71	/* out of memory, threads, fds */
#define HV_EXIT_CANTCREAT	73	/* stats or console file cannot be created */
#define HV_EXIT_CRASHED		80	/* guest exception or triple fault */
#define HV_EXIT_ABORTED		81	/* guest called abort (or exit > 63) */
#define HV_EXIT_DESTROYED	82	/* SIGTERM, SIGINT or control request */

/* opts.c */
enum hv_console {
	HV_CONSOLE_STDIO,
	HV_CONSOLE_FILE,
	HV_CONSOLE_NONE,
	HV_CONSOLE_UNIX,	/* a listening socket: console.c */
};

struct hv_config {
	const char	*hc_image;	/* PV: an ELF64 unikernel */
	const char	*hc_kernel;	/* HVM: a Linux bzImage */
	const char	*hc_initrd;
	const char	*hc_cmdline;
	uint64_t	 hc_mem;	/* bytes */
	unsigned int	 hc_vcpus;
	const char	*hc_args;
	enum hv_console	 hc_console;
	const char	*hc_console_path;
	const char	*hc_stats;
	const char	*hc_name;
	const char	*hc_vif[XENO_STATS_MAX_DEVS];	/* --vif specs */
	unsigned int	 hc_nvif;
	const char	*hc_vbd[XENO_STATS_MAX_DEVS];	/* --vbd specs */
	unsigned int	 hc_nvbd;
	const char	*hc_rules;	/* compiled VFR rule set (.vfro) */
	const char	*hc_flowlog;	/* PATH[:RECORDS[:INTERVAL_S]] */
	const char	*hc_control;	/* control socket path */
};

int	opts_parse_scaled(const char *, unsigned int, uint64_t *);
int	opts_parse_size(const char *, uint64_t *);
int	opts_parse_run(int, const char *const *, struct hv_config *, char *,
	    size_t);

/* elf.c */
#define ELF_MAX_SEGS	16
#define ELF_SEG_X	0x1
#define ELF_SEG_W	0x2
#define ELF_SEG_R	0x4

struct elf_seg {
	uint64_t	es_vaddr;
	uint64_t	es_memsz;
	uint64_t	es_filesz;
	uint64_t	es_offset;
	uint32_t	es_flags;	/* ELF_SEG_* (= ELF p_flags) */
};

struct elf_image {
	uint64_t	ei_entry;
	uint64_t	ei_lo;		/* lowest byte loaded */
	uint64_t	ei_hi;		/* one past the highest */
	int		ei_nseg;
	struct elf_seg	ei_seg[ELF_MAX_SEGS];
};

int	elf_parse(const uint8_t *, size_t, uint64_t, uint64_t,
	    struct elf_image *, char *, size_t);
int	elf_parse_kernel(const uint8_t *, size_t, uint64_t, uint64_t,
	    struct elf_image *, char *, size_t);
void	elf_copy(const struct elf_image *, const uint8_t *, uint8_t *);

/* pgtable.c */
#define PT_P	0x1ULL
#define PT_W	0x2ULL
#define PT_U	0x4ULL
#define PT_A	0x20ULL
#define PT_D	0x40ULL
#define PT_PS	0x80ULL
#define PT_NX	(1ULL << 63)
#define PT_ADDR	0x000ffffffffff000ULL

struct pt_builder {
	uint8_t		*pb_mem;	/* guest memory, gpa 0 */
	uint64_t	 pb_mem_size;
	uint64_t	 pb_pool_next;	/* next free page-table page (gpa) */
	uint64_t	 pb_pool_end;
	uint64_t	 pb_root;	/* PML4 gpa, for CR3 */
	unsigned int	 pb_pages;	/* page-table pages used */
};

int	pt_init(struct pt_builder *, uint8_t *, uint64_t, uint64_t, uint64_t);
int	pt_map(struct pt_builder *, uint64_t, uint64_t, uint64_t);
int	pt_lookup(const struct pt_builder *, uint64_t, uint64_t *);

/* hvmboot.c: Linux boot protocol (docs/HVM.md) */
#define HVM_PAGE	4096ULL
#define HVM_GDT		0x500ULL
#define HVM_GDT_SIZE	32
#define HVM_ZERO_PAGE	0x7000ULL
#define HVM_PML4	0x9000ULL
#define HVM_PDPT	0xa000ULL
#define HVM_PD		0xb000ULL	/* four pages: 4 GiB in 2 MiB pages */
#define HVM_STACK	0x8ff0ULL
#define HVM_CMDLINE	0x20000ULL
#define HVM_CMDLINE_MAX	4096
#define HVM_EBDA	0x9fc00ULL
#define HVM_BIOS	0xf0000ULL	/* the MP table lives here */
#define HVM_KERNEL	0x100000ULL	/* protected-mode kernel */
#define HVM_MEM_MIN	(64ULL << 20)
#define HVM_MEM_MAX	(3ULL << 30)	/* below the 32-bit device hole */
#define HVM_MEM_DEFAULT	(256ULL << 20)
#define HVM_CMDLINE_DEFAULT	"console=ttyS0 reboot=k panic=-1 quiet"
#define HVM_MAX_VCPUS	64
#define HVM_IOAPIC_ADDR	0xfec00000U
#define HVM_LAPIC_ADDR	0xfee00000U

struct bz_image {
	unsigned int	bz_version;	/* boot protocol, 0x020c = 2.12 */
	size_t		bz_hdr_len;	/* setup header bytes from 0x1f1 */
	size_t		bz_kernel_off;	/* protected-mode kernel in the file */
	size_t		bz_kernel_len;
	uint64_t	bz_init_size;	/* memory it needs from its load address */
	uint32_t	bz_initrd_max;	/* highest initrd byte, 0: no limit */
	uint32_t	bz_cmdline_max;	/* including the NUL */
	int		bz_elf;		/* a vmlinux: bz_img, no header */
	struct elf_image bz_img;
};
#define VMLINUX_VERSION		0x020f	/* the header we write for one */
#define VMLINUX_CMDLINE_MAX	2048	/* x86's COMMAND_LINE_SIZE */

struct hvm_layout {
	uint64_t	hl_entry;	/* 64-bit entry */
	uint64_t	hl_initrd;	/* gpa, 0 if none */
	size_t		hl_mp_size;
};

int	vmlinux_parse(const uint8_t *, size_t, struct bz_image *, char *,
	    size_t);
int	bzimage_parse(const uint8_t *, size_t, struct bz_image *, char *,
	    size_t);
int	hvmboot_build(uint8_t *, uint64_t, unsigned int, const uint8_t *,
	    const struct bz_image *, const uint8_t *, size_t, const char *,
	    struct hvm_layout *, char *, size_t);

/* uart.c: a 16550A for HVM guests */
struct uart {
	uint8_t		u_ier, u_lcr, u_mcr, u_scr, u_fcr, u_dll, u_dlm;
	int		u_thre;		/* THR-empty interrupt pending */
};

void	uart_init(struct uart *);
int	uart_irq(const struct uart *);
uint8_t	uart_read(struct uart *, unsigned int);
int	uart_write(struct uart *, unsigned int, uint8_t, uint8_t *);

/*
 * Little-endian fields in guest-visible structures (boot protocol, PCI,
 * virtio config), byte by byte: no alignment assumed.
 */
static inline uint16_t
le16_get(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t
le32_get(const uint8_t *p)
{
	return (uint32_t)le16_get(p) | (uint32_t)le16_get(p + 2) << 16;
}

static inline uint64_t
le64_get(const uint8_t *p)
{
	return (uint64_t)le32_get(p) | (uint64_t)le32_get(p + 4) << 32;
}

static inline void
le16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void
le32_put(uint8_t *p, uint32_t v)
{
	le16_put(p, (uint16_t)v);
	le16_put(p + 2, (uint16_t)(v >> 16));
}

static inline void
le64_put(uint8_t *p, uint64_t v)
{
	le32_put(p, (uint32_t)v);
	le32_put(p + 4, (uint32_t)(v >> 32));
}

/* vpci.c: PCI host bridge and virtio-pci functions for HVM guests */
#define VPCI_CONF_ADDR	0xcf8
#define VPCI_CONF_DATA	0xcfc
#define VPCI_CONF_SIZE	256
#define VPCI_MAX_FN	16		/* slots 1..16 */
#define VPCI_MAX_QUEUES	2
#define VPCI_MSIX_MAX	(VPCI_MAX_QUEUES + 1)
#define VPCI_DEVCFG_MAX	64
#define VPCI_BAR_SIZE	0x8000U
#define VPCI_BAR_NOTIFY	0x3000U		/* queue q's doorbell: + 4 * q */
#define VPCI_NO_VECTOR	0xffff
#define VPCI_F_VERSION_1 (1ULL << 32)

/* What a function tells its caller; called with the caller's lock held. */
struct vpci_ops {
	/* queue q of function fn was enabled: 0, or -1 to refuse it */
	int	(*queue_enable)(void *, unsigned int, unsigned int, uint64_t);
	/* the guest wrote queue q's notify address (no ioeventfd took it) */
	void	(*notify)(void *, unsigned int, unsigned int);
	/* MSI-X state of fn changed: recompute vpci_queue_msi() */
	void	(*irq_changed)(void *, unsigned int);
	/* fn's BAR now decodes at `now` instead of `old` (0: not at all) */
	void	(*bar_moved)(void *, unsigned int, uint32_t, uint32_t);
};

struct vpci_desc {
	unsigned int	pd_type;	/* virtio device type: 1 net, 2 blk */
	uint32_t	pd_class;	/* PCI class code (class, sub, prog-if) */
	unsigned int	pd_nqueues;
	uint16_t	pd_queue_max;
	uint64_t	pd_features;
	const void	*pd_devcfg;
	unsigned int	pd_devcfg_len;
	uint32_t	pd_bar;		/* where the BAR starts out */
};

struct vpci_queue {
	uint16_t	pq_size;
	uint16_t	pq_vector;
	uint16_t	pq_enable;
	uint64_t	pq_desc;
	uint64_t	pq_avail;
	uint64_t	pq_used;
};

struct vpci_msix {
	uint32_t	mx_addr_lo;
	uint32_t	mx_addr_hi;
	uint32_t	mx_data;
	uint32_t	mx_ctrl;
};

struct vpci_fn {
	unsigned int	 pf_type;
	uint32_t	 pf_class;
	unsigned int	 pf_nqueues;
	uint16_t	 pf_queue_max;
	uint64_t	 pf_features;
	uint8_t		 pf_devcfg[VPCI_DEVCFG_MAX];
	unsigned int	 pf_devcfg_len;
	/* PCI */
	uint16_t	 pf_command;
	uint32_t	 pf_bar;
	uint8_t		 pf_int_line;
	uint16_t	 pf_msix_ctrl;	/* enable and function mask */
	struct vpci_msix pf_msix[VPCI_MSIX_MAX];
	uint8_t		 pf_cfgwin_bar;	/* VIRTIO_PCI_CAP_PCI_CFG window */
	uint32_t	 pf_cfgwin_off;
	uint32_t	 pf_cfgwin_len;
	uint8_t		 pf_cfgwin_data[4];
	/* virtio */
	uint32_t	 pf_dfsel;
	uint32_t	 pf_gfsel;
	uint64_t	 pf_gfeatures;	/* what the driver accepts */
	uint8_t		 pf_status;
	uint16_t	 pf_cfg_vector;
	uint16_t	 pf_qsel;
	struct vpci_queue pf_q[VPCI_MAX_QUEUES];
};

struct vpci {
	uint32_t		 vp_addr;	/* 0xCF8 */
	unsigned int		 vp_nfn;
	struct vpci_fn		 vp_fn[VPCI_MAX_FN];
	const struct vpci_ops	*vp_ops;
	void			*vp_arg;
};

void	vpci_init(struct vpci *, const struct vpci_ops *, void *);
int	vpci_add(struct vpci *, const struct vpci_desc *);
uint32_t vpci_conf_read(struct vpci *, unsigned int, unsigned int);
void	vpci_conf_write(struct vpci *, unsigned int, unsigned int, uint32_t);
int	vpci_mmio(struct vpci *, uint64_t, uint8_t *, unsigned int, int);
uint32_t vpci_bar(const struct vpci_fn *);
int	vpci_queue_msi(const struct vpci_fn *, unsigned int, uint64_t *,
	    uint32_t *);

/* pvboot.c */
struct pv_layout {
	uint64_t	pl_mem;
	unsigned int	pl_vcpus;
	uint64_t	pl_heap_start;
	uint64_t	pl_heap_end;
	uint64_t	pl_stack_top[XENO_PV_MAX_VCPUS];
	uint64_t	pl_cr3;
	unsigned int	pl_pt_pages;
};

int	pvboot_layout(uint64_t, unsigned int, const struct elf_image *,
	    struct pv_layout *, char *, size_t);
int	pvboot_build(uint8_t *, const struct elf_image *, struct pv_layout *,
	    const char *, char *, size_t);
uint64_t pvboot_xstack_top(unsigned int);
uint64_t pvboot_tss(unsigned int);
unsigned int pvboot_tss_limit(void);

/* stats.c */
struct stats_page {
	char			*sp_path;	/* final name, NULL if anonymous */
	char			*sp_tmp;	/* until stats_publish() */
	uint8_t			*sp_base;
	size_t			 sp_size;
	struct xeno_stats_hdr	*sp_hdr;
	struct xeno_stats_domain *sp_dom;
};

size_t	stats_size(unsigned int);
int	stats_create(struct stats_page *, const char *, unsigned int);
int	stats_publish(struct stats_page *);
void	stats_destroy(struct stats_page *);
struct xeno_stats_vcpu *stats_vcpu(const struct stats_page *, unsigned int);
struct xeno_stats_dev *stats_dev(const struct stats_page *, unsigned int);
void	stats_write_begin(uint32_t *);
void	stats_write_end(uint32_t *);
int	stats_read_section(const void *, void *, size_t, unsigned int);
void	*stats_map(const char *, size_t *, struct xeno_stats_hdr *, char *,
	    size_t);
int	stats_check(const uint8_t *, size_t, struct xeno_stats_hdr *, char *,
	    size_t);
int	stats_print(const uint8_t *, const struct xeno_stats_hdr *, int,
	    uint64_t);
const char *stats_exit_name(unsigned int);
const char *stats_hcall_name(unsigned int);

/* dev.c */
struct vm;
struct dev;

#define DEV_MAX		XENO_STATS_MAX_DEVS
#define DEV_MAX_QUEUES	XENO_STATS_DEV_QUEUES
#define DEV_MAX_GLOBAL	64	/* queues per domain: YIELD's ready bits */

struct dev_queue {
	struct dev	*dq_dev;
	unsigned int	 dq_index;	/* in its device */
	unsigned int	 dq_global;	/* doorbell port and ready bit */
	int		 dq_ready;	/* set up; dq_vq belongs to the thread */
	struct virtq	 dq_vq;
	int		 dq_kick_fd;	/* eventfd: the guest rang (ioeventfd) */
	int		 dq_call_fd;	/* eventfd: the guest has work */
	uint64_t	 dq_doorbells;
	uint64_t	 dq_kicks;
};

/* What a device type does; called on the device's I/O thread. */
struct dev_ops {
	/* queue q may have requests (a doorbell, or it was just set up) */
	void	(*do_queue)(struct dev *, struct dev_queue *);
	/* a descriptor the device watches (dev_watch) is ready */
	void	(*do_event)(struct dev *, unsigned int);
	/* copy the device's counters into its section (seqlock held) */
	void	(*do_stats)(struct dev *, struct xeno_stats_dev *);
	/* the domain is ending: last work (flush) before the thread exits */
	void	(*do_stop)(struct dev *);
	void	(*do_destroy)(struct dev *);
};

struct dev {
	struct vm		*dv_vm;
	unsigned int		 dv_index;
	const struct dev_ops	*dv_ops;
	void			*dv_priv;
	struct xeno_hc_device_info dv_info;	/* ret and index unset */
	unsigned int		 dv_nqueues;
	struct dev_queue	 dv_q[DEV_MAX_QUEUES];
	pthread_mutex_t		 dv_lock;	/* queue setup */
	int			 dv_epfd;
	int			 dv_ctl_fd;	/* eventfd: setup or stop */
	volatile int		 dv_stop;
	pthread_t		 dv_thread;
	int			 dv_thread_ok;
	struct xeno_stats_dev	*dv_stats;
};

int	dev_create_all(struct vm *, const struct hv_config *, int *);
int	dev_start_all(struct vm *);
void	dev_stop_all(struct vm *);
void	dev_destroy_all(struct vm *);
int	dev_vcpu_watch(struct vm *, int);
int	dev_watch(struct dev *, int, uint32_t, unsigned int);
int	dev_unwatch(struct dev *, int);
void	dev_signal(struct dev_queue *);
void	dev_requeue(struct dev *);
int64_t	dev_hc_info(struct vm *, struct xeno_hc_device_info *);
int64_t	dev_hc_queue_setup(struct vm *, const struct xeno_hc_queue_setup *);
int64_t	dev_queue_setup(struct dev *, unsigned int, uint64_t, uint64_t,
	    uint64_t, uint64_t, uint64_t);
int	dev_doorbell(struct vm *, unsigned int);
void	dev_ready_ack(struct vm *, unsigned int);

/* vif.c, vbd.c: create a device from its option string */
int	vif_create(struct dev *, const char *, char *, size_t, int *);
int	vbd_create(struct dev *, const char *, char *, size_t, int *);

/* vmm.c */

struct vcpu {
	struct vm		*vc_vm;
	unsigned int		 vc_id;
	int			 vc_fd;		/* KVM vCPU fd, -1 when closed */
	struct kvm_run		*vc_run;
	pthread_t		 vc_thread;
	int			 vc_thread_ok;
	struct xeno_stats_vcpu	*vc_stats;
	/* vCPU start request (XENO_HC_VCPU_START), under vm_lock */
	int			 vc_started;
	uint64_t		 vc_start_rip;
	uint64_t		 vc_start_arg;
	uint64_t		 vc_cpu_at;	/* when sv_cpu_ns was last refreshed */
	int			 vc_epfd;	/* what XENO_HC_YIELD waits on */
	int			 vc_stopping;	/* XENO_HC_VCPU_STOP was called */
	/* the exit being handled, for the counters */
	int			 vc_hc_nr;	/* hypercall number, -1 if none */
	int			 vc_hc_err;	/* it failed */
	uint64_t		 vc_blocked;	/* ns it spent blocked */
};

/* An HVM queue's interrupt: the MSI its GSI routes to, its irqfd. */
struct hvm_msi {
	int		hm_on;		/* routed: the vector is live */
	uint64_t	hm_addr;
	uint32_t	hm_data;
	int		hm_irqfd;	/* the call eventfd is bound */
};

struct vm {
	int			 vm_kvm;	/* /dev/kvm */
	int			 vm_fd;
	size_t			 vm_run_size;
	uint8_t			*vm_map;	/* mapping with guard regions */
	size_t			 vm_map_size;
	uint8_t			*vm_mem;	/* guest memory, gpa 0 */
	uint64_t		 vm_mem_size;
	struct vq_mem		 vm_gmem;	/* what guests may hand us */
	unsigned int		 vm_nvcpus;
	struct vcpu		 vm_vcpu[XENO_PV_MAX_VCPUS];
	struct pv_layout	 vm_layout;
	uint64_t		 vm_entry;
	uint64_t		 vm_base_ns;	/* guest monotonic 0 */
	uint64_t		 vm_tsc_hz;
	uint64_t		 vm_tsc_mul;	/* ns per tick, 32.32 */
	int64_t			 vm_tsc_offset;	/* guest TSC - host TSC */
	struct stats_page	 vm_stats;
	int			 vm_console_fd;	/* -1: console discarded */
	struct console		*vm_con;	/* --console unix:PATH */
	int			 vm_stop_fd;	/* eventfd, readable once ending */
	pthread_mutex_t		 vm_lock;
	pthread_cond_t		 vm_cond;
	volatile int		 vm_ending;
	int			 vm_exit_code;
	unsigned int		 vm_vcpus_down;
	struct dev		*vm_dev[DEV_MAX];
	unsigned int		 vm_ndev;
	struct dev_queue	*vm_queue[DEV_MAX_GLOBAL];
	unsigned int		 vm_nqueues;
	struct fw_domain	 vm_fw;		/* the VFR of the VIFs */
	struct flowlog		*vm_flowlog;
	struct ctl		*vm_ctl;
	int			 vm_hvm;	/* a Linux guest (hvm.c) */
	int			 vm_shutdown_fd;	/* eventfd: asked to shut down */
	struct uart		 vm_uart;	/* HVM: COM1 */
	pthread_mutex_t		 vm_uart_lock;
	int			 vm_uart_irq;	/* IRQ 4 level we last set */
	struct vpci		 vm_pci;	/* HVM: virtio-pci (hvmdev.c) */
	pthread_mutex_t		 vm_pci_lock;
	struct hvm_msi		 vm_msi[DEV_MAX_GLOBAL];
};

int	vmm_create(struct vm *, const struct hv_config *, uint64_t);
int	vmm_load_pv(struct vm *, const struct hv_config *, int *);
int	vmm_fail(struct vm *, int);
int	vmm_tsc_setup(struct vm *);

/* hvm.c */
struct kvm_run;
int	hvm_create_irqchip(struct vm *);
int	vmm_load_hvm(struct vm *, const struct hv_config *, int *);
int	hvm_vcpu_init(struct vcpu *);
int	hvm_io(struct vcpu *, struct kvm_run *);

/* hvmdev.c */
int	hvmdev_create(struct vm *);
void	hvmdev_conf_io(struct vm *, unsigned int, int, uint8_t *, unsigned int,
	    unsigned int);
int	hvmdev_mmio(struct vm *, uint64_t, uint8_t *, unsigned int, int);
int	vmm_run(struct vm *);
void	vmm_destroy(struct vm *);
void	*vmm_gpa(const struct vm *, uint64_t, uint64_t);
uint64_t vmm_now_ns(void);
uint64_t vmm_realtime_ns(void);
uint64_t vmm_guest_ns(const struct vm *, uint64_t);
uint64_t vmm_tsc_to_ns(const struct vm *, uint64_t);
void	vmm_time_update(struct vm *);
int	vmm_shutdown_request(struct vm *);
void	vmm_end(struct vm *, enum xeno_dom_end, int, const char *, ...)
	    __attribute__((format(printf, 4, 5)));
void	vmm_crash(struct vm *, unsigned int, unsigned int, uint64_t,
	    uint64_t, uint64_t, const char *);
void	vmm_console(struct vm *, const void *, size_t);

/* vcpu.c */
struct kvm_segment;
int	vcpu_init(struct vcpu *);
void	vcpu_segment(struct kvm_segment *, uint16_t, int);
void	*vcpu_main(void *);
void	vcpu_kick(struct vcpu *);

/* flowlog.c */
struct flowlog *flowlog_create(const char *, const char *, char *, size_t);
void	flowlog_destroy(struct flowlog *);
int	flowlog_put(struct flowlog *, const struct xeno_flow_rec *);
void	flowlog_lost(struct flowlog *, uint64_t, uint64_t);
uint64_t flowlog_interval(const struct flowlog *);
int	flowlog_print(const char *, int, int, char *, size_t);

/* ctl.c */
struct ctl;
struct ctl *ctl_start(struct vm *, const char *, char *, size_t);
void	ctl_stop(struct ctl *);
int	ctl_request(const char *, uint32_t, const void *, size_t, int,
	    uint64_t *, char *, size_t);

/* console.c */
struct console;
struct console *console_open(const char *, char *, size_t);
void	console_put(struct console *, const void *, size_t);
void	console_close(struct console *);

/* hcall.c */
void	hcall_dispatch(struct vcpu *, unsigned int, uint32_t);

#endif /* XEN_H */
