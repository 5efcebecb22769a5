/*
 * The Xeno PV ABI: the contract between xeno-hv and paravirtual guests.
 *
 * Shared by the hypervisor and the guest SDK, so it depends on nothing but
 * <stdint.h> (which a freestanding compiler provides).  docs/PV-ABI.md is
 * the prose version of this file; the two change together.
 *
 * A PV guest is an ELF64 executable started in 64-bit mode at CPL 3 on page
 * tables, GDT, TSS and IDT that xeno-hv builds.  It needs no privileged
 * instruction: it reads boot information and time from two shared pages and
 * asks for everything else through hypercalls.
 */
#ifndef XENO_PV_H
#define XENO_PV_H

#include <stdint.h>

#define XENO_PV_ABI_VERSION	1
#define XENO_PV_PAGE_SIZE	4096ULL

/*
 * Guest-physical (= guest-virtual, identity mapped) layout.  The first MiB
 * is the system area; its pages are supervisor-only except the boot-info
 * and time pages, which the guest may read but not write.  Page 0 is never
 * mapped, so a NULL dereference faults.
 */
#define XENO_PV_GDT_GPA		0x1000ULL	/* GDT: null, kernel CS/DS, user DS/CS, one TSS per vCPU */
#define XENO_PV_IDT_GPA		0x2000ULL	/* IDT: 32 exception gates */
#define XENO_PV_STUBS_GPA	0x3000ULL	/* exception stubs (supervisor code) */
#define XENO_PV_BOOTINFO_GPA	0x4000ULL	/* struct xeno_pv_bootinfo, guest read-only */
#define XENO_PV_TIME_GPA	0x5000ULL	/* struct xeno_pv_time, guest read-only */
#define XENO_PV_TSS_GPA		0x6000ULL	/* one 512-byte TSS + I/O bitmap per vCPU (8 pages) */
#define XENO_PV_XSTACK_GPA	0x10000ULL	/* one 4 KiB exception stack per vCPU */
#define XENO_PV_PGTABLE_GPA	0x50000ULL	/* page-table pages, up to the image area */
#define XENO_PV_IMAGE_MIN	0x100000ULL	/* lowest address an image may load at */

#define XENO_PV_MAX_VCPUS	64
#define XENO_PV_MEM_MIN		(2ULL << 20)
/* Hypercall argument blocks are passed as 32-bit addresses (see below). */
#define XENO_PV_MEM_MAX		(4ULL << 30)

/*
 * Each vCPU gets a stack at the top of memory, XENO_PV_STACK_SIZE bytes,
 * with an unmapped guard page below it: vCPU 0's stack is highest.
 */
#define XENO_PV_STACK_SIZE	(256ULL << 10)
#define XENO_PV_STACK_GUARD	XENO_PV_PAGE_SIZE

/* Selectors set up by xeno-hv (guests never load them, but may read them). */
#define XENO_PV_SEL_KCODE	0x08
#define XENO_PV_SEL_KDATA	0x10
#define XENO_PV_SEL_UDATA	0x2b	/* 0x28 | RPL 3 */
#define XENO_PV_SEL_UCODE	0x33	/* 0x30 | RPL 3 */
#define XENO_PV_SEL_TSS(v)	(0x38 + 16 * (v))

/*
 * Boot information, at XENO_PV_BOOTINFO_GPA.  On entry vCPU 0 has
 * %rdi = XENO_PV_BOOTINFO_GPA, %rsp = stack_top[0] (16-byte aligned),
 * %rip = the ELF entry point, all other general registers zero, RFLAGS
 * 0x2 (IOPL 0).  Each vCPU's TSS carries an I/O permission bitmap that
 * grants exactly the hypercall ports and the doorbell ports: any other
 * port access raises #GP and ends the domain, on every kind of host.
 */
#define XENO_PV_BOOTINFO_MAGIC	0x4f4e4558U	/* "XENO" little-endian */
#define XENO_PV_CMDLINE_MAX	2048

struct xeno_pv_bootinfo {
	uint32_t	bi_magic;
	uint32_t	bi_abi_version;
	uint64_t	bi_mem_size;	/* bytes of guest memory, from 0 */
	uint64_t	bi_heap_start;	/* first free byte after the image, page aligned */
	uint64_t	bi_heap_end;	/* end of free memory (below the stacks) */
	uint32_t	bi_nr_vcpus;
	uint32_t	bi_nr_devices;	/* devices that XENO_HC_DEVICE_INFO describes */
	uint64_t	bi_tsc_hz;	/* TSC frequency, also in the time page */
	uint64_t	bi_stack_top[XENO_PV_MAX_VCPUS];
	char		bi_cmdline[XENO_PV_CMDLINE_MAX];	/* --args, NUL terminated */
	/*
	 * 0, then 1 once the host asks the domain to shut down (a lease
	 * about to end, a tenant's stop): the guest should finish its work
	 * and exit.  Each vCPU is woken from XENO_HC_YIELD once when it is
	 * set.  The host destroys the domain anyway after its grace period.
	 * Zero in every domain before this field existed (ABI 1 still).
	 */
	uint32_t	bi_shutdown;
};

/*
 * Time, at XENO_PV_TIME_GPA, readable without an exit.  Monotonic time is
 * nanoseconds since the domain was created; wall time is nanoseconds since
 * the Unix epoch.  xeno-hv may update the page at any time (it does on every
 * yield), so read it like a seqlock:
 *
 *	do {
 *		v = tp->tp_seq;  (retry while odd)  read fields;
 *	} while (tp->tp_seq != v);
 *	ns = tp_mono_ns + (((__uint128_t)(rdtsc() - tp_tsc) * tp_mul) >> 32)
 *
 * The TSC may be read at CPL 3 (CR4.TSD is clear); fence it (lfence) so
 * it is not read before the page fields, and treat a TSC below tp_tsc
 * (another vCPU's clock may lag slightly) as no time elapsed.
 */
struct xeno_pv_time {
	uint32_t	tp_seq;
	uint32_t	tp_pad;
	uint64_t	tp_tsc;		/* TSC value at the base point */
	uint64_t	tp_mono_ns;	/* monotonic ns at tp_tsc */
	uint64_t	tp_wall_ns;	/* wall-clock ns at tp_tsc */
	uint64_t	tp_mul;		/* ns per TSC tick, 32.32 fixed point */
	uint64_t	tp_tsc_hz;
};

/*
 * Hypercalls.  A guest makes hypercall N with
 *
 *	movw $(XENO_PV_HC_PORT + N), %dx ; outl %eax, %dx
 *
 * where %eax is the guest-physical address of the hypercall's argument
 * block (or 0 for hypercalls that take none).  The block must lie wholly
 * inside guest memory above the system area, so it sits below 4 GiB (the SDK
 * keeps blocks on the stack or in static data).  Every block starts with an
 * int64_t result: 0 or a positive value on success, a negative XENO_E* code
 * on failure.  Pointers inside a block are 64-bit guest addresses and are
 * checked against guest memory before use.
 *
 * The system area is never valid, for blocks or for pointers inside them.
 * If the block address itself is invalid, xeno-hv cannot write a result;
 * the hypercall has no effect, is counted as an error, and xeno-hv sets %rax
 * to -XENO_EFAULT so a guest can see it.  An unknown hypercall number gets
 * -XENO_ENOSYS in the result word of its (valid) block.  An `in` from a hypercall port reads all ones and
 * counts as an error.
 */
#define XENO_PV_HC_PORT		0x500
#define XENO_PV_HC_MAX		64	/* ports 0x500..0x53f */
#define XENO_PV_EXC_PORT	0x5ff	/* used by xeno-hv's own exception stubs */
/*
 * Exceptions: the IDT's 32 gates lead to xeno-hv's stubs, which report the
 * vector, error code and RIP; the domain ends ("crashed").  Gates 3 (int3)
 * and 4 (into) have DPL 3 so those instructions give #BP/#OF; `int N` for
 * any other N gives #GP.
 */
#define XENO_PV_DOORBELL_PORT	0x600	/* + queue index: see XENO_HC_QUEUE_SETUP */
#define XENO_PV_DOORBELL_MAX	256	/* ports 0x600..0x6ff */

enum xeno_hc {
	XENO_HC_NOP = 0,	/* no block; the null hypercall */
	XENO_HC_CONSOLE_WRITE = 1,
	XENO_HC_CLOCK = 2,
	XENO_HC_YIELD = 3,
	XENO_HC_EXIT = 4,
	XENO_HC_ABORT = 5,
	XENO_HC_BOOTED = 6,
	XENO_HC_VCPU_START = 7,
	XENO_HC_VCPU_STOP = 8,	/* no block */
	XENO_HC_DEVICE_INFO = 9,
	XENO_HC_QUEUE_SETUP = 10,
	XENO_HC_NR		/* first unused number */
};

/* Error codes, numerically equal to Linux errno values, negated in results. */
#define XENO_E2BIG	7
#define XENO_EAGAIN	11
#define XENO_ENOMEM	12	/* guest SDK only: never returned by xeno-hv */
#define XENO_EFAULT	14
#define XENO_EBUSY	16
#define XENO_ENODEV	19
#define XENO_EINVAL	22
#define XENO_ENOSPC	28
#define XENO_ENOSYS	38

/* XENO_HC_CONSOLE_WRITE: result is the number of bytes written. */
#define XENO_PV_CONSOLE_MAX	(64U << 10)	/* longer writes are -E2BIG */
struct xeno_hc_console_write {
	int64_t		ret;
	uint64_t	buf;
	uint64_t	len;
};

/* XENO_HC_CLOCK: the same times as the time page, through an exit. */
struct xeno_hc_clock {
	int64_t		ret;
	uint64_t	mono_ns;
	uint64_t	wall_ns;
};

/*
 * XENO_HC_YIELD: block until an event or the deadline (monotonic ns;
 * 0 polls, UINT64_MAX waits for an event only).  On return `ready` has bit
 * i set for each device queue i with work pending.  Result 0, or
 * XENO_EAGAIN if the domain is being shut down.
 */
struct xeno_hc_yield {
	int64_t		ret;
	uint64_t	deadline_ns;
	uint64_t	ready;
};

/* XENO_HC_EXIT: the domain ends; status 0..63 (larger values abort). */
#define XENO_PV_EXIT_STATUS_MAX	63
struct xeno_hc_exit {
	int64_t		ret;
	uint64_t	status;
};

/* XENO_HC_ABORT: the domain ends abnormally; msg is shown and recorded. */
#define XENO_PV_ABORT_MSG_MAX	512
struct xeno_hc_abort {
	int64_t		ret;
	uint64_t	msg;
	uint64_t	len;
};

/*
 * XENO_HC_BOOTED: the guest is ready (the SDK calls it before main).
 * first_tsc is the TSC read by the guest's first instruction; now_tsc the
 * TSC at this call.  xeno-hv records both in the counters page.
 */
struct xeno_hc_booted {
	int64_t		ret;
	uint64_t	first_tsc;
	uint64_t	now_tsc;
};

/*
 * XENO_HC_VCPU_START: start an offline vCPU at rip with %rdi = arg,
 * %rsi = vcpu and %rsp = bootinfo stack_top[vcpu].  vCPUs other than 0 are
 * offline at boot.  XENO_EBUSY if it has been started before: a vCPU that
 * stopped (XENO_HC_VCPU_STOP) stays stopped.
 */
struct xeno_hc_vcpu_start {
	int64_t		ret;
	uint64_t	vcpu;
	uint64_t	rip;
	uint64_t	arg;
};

/*
 * XENO_HC_DEVICE_INFO: describe device `index` (0..bi_nr_devices-1).
 * XENO_ENODEV past the last device.  Devices are numbered in the order of
 * xeno-hv's --vif and --vbd options (all VIFs first, then all VBDs).
 */
enum xeno_pv_dev_type {
	XENO_PV_DEV_NONE = 0,
	XENO_PV_DEV_NET = 1,
	XENO_PV_DEV_BLOCK = 2,
};

#define XENO_PV_DEV_RO	0x1	/* block: read-only */

struct xeno_hc_device_info {
	int64_t		ret;
	uint64_t	index;
	uint32_t	type;		/* enum xeno_pv_dev_type */
	uint32_t	flags;
	uint32_t	nr_queues;
	uint32_t	queue_max;	/* largest ring size the device accepts */
	uint64_t	features;	/* virtio feature bits offered */
	uint8_t		mac[6];		/* net */
	uint16_t	mtu;		/* net */
	uint8_t		ip4[4];		/* net: assigned IPv4 address, 0 if none */
	uint8_t		ip4_prefix;	/* net: its prefix length */
	uint8_t		ip6_prefix;	/* net: 0 if no IPv6 address */
	uint16_t	pad;
	uint8_t		ip6[16];	/* net: assigned IPv6 address */
	uint64_t	capacity;	/* block: 512-byte sectors */
	char		name[32];	/* net: tap name; block: VBD id */
};

/*
 * XENO_HC_QUEUE_SETUP: give device `index`'s queue `queue` a virtio split
 * ring of `size` entries (power of two, <= queue_max) at the three guest
 * addresses (descriptor table, available ring, used ring).  The result is
 * the global queue number q: the guest rings the queue's doorbell with
 * `outl %eax, %dx` to port XENO_PV_DOORBELL_PORT + q (any value), and XENO_HC_YIELD
 * reports bit q in `ready` when q has used buffers to collect.
 */
struct xeno_hc_queue_setup {
	int64_t		ret;
	uint64_t	index;
	uint64_t	queue;
	uint64_t	size;
	uint64_t	features;	/* virtio features the guest accepts */
	uint64_t	desc;
	uint64_t	avail;
	uint64_t	used;
};

/*
 * Devices speak virtio 1.x over split rings (virtio 1.1 section 2.6), the
 * rings in guest memory above the system area.  `features` in
 * XENO_HC_DEVICE_INFO is what the device offers; the guest passes the
 * subset it accepts to every XENO_HC_QUEUE_SETUP of that device.
 * XENO_VIRTIO_F_VERSION_1 must be accepted.  A queue is set up once: a
 * second setup of the same queue is XENO_EBUSY.  Setup fails with
 * XENO_ENODEV (no such device), XENO_EINVAL (queue out of range, size
 * not a power of two or above queue_max, a ring misaligned: desc 16,
 * avail 2, used 4 bytes; features not offered or without VERSION_1) or
 * XENO_EFAULT (a ring not wholly in guest memory above the system area).
 *
 * The device processes every buffer made available before the doorbell
 * rang, and may process later ones without one.  Notification
 * suppression is virtio's: the guest sets VQ avail flag NO_INTERRUPT or
 * (with EVENT_IDX) used_event to say when it wants XENO_HC_YIELD woken;
 * the device sets used flag NO_NOTIFY or avail_event to say when it wants
 * the doorbell.  A malformed chain (address outside guest memory, loop,
 * index out of range, more than 64 buffers, readable after writable) is
 * handed back with used length 0 and counted; the queue keeps working.
 * An avail index that jumps more than the ring size ahead breaks the queue
 * for good (counted).
 */
#define XENO_VIRTIO_F_INDIRECT_DESC	28
#define XENO_VIRTIO_F_EVENT_IDX		29
#define XENO_VIRTIO_F_VERSION_1		32

/*
 * Network device (XENO_PV_DEV_NET): queue 0 receives, queue 1 transmits.
 * Every buffer chain starts with a struct xeno_virtio_net_hdr (12 bytes,
 * all zero on receive; ignored on transmit except that it must be there)
 * followed by one Ethernet frame without FCS: 14..1514 bytes (mtu + 14).
 * No offloads are offered, so frames are whole and checksummed by the
 * guest.  A receive chain too small for the next frame drops that frame
 * (counted).  `mac` is the MAC address the VIF is assigned; frames from
 * any other source address may be dropped by the host's firewall.
 */
#define XENO_VIRTIO_NET_F_MTU		3
#define XENO_VIRTIO_NET_F_MAC		5
#define XENO_PV_NET_RXQ			0
#define XENO_PV_NET_TXQ			1

struct xeno_virtio_net_hdr {
	uint8_t		flags;
	uint8_t		gso_type;
	uint16_t	hdr_len;
	uint16_t	gso_size;
	uint16_t	csum_start;
	uint16_t	csum_offset;
	uint16_t	num_buffers;
};

/*
 * Block device (XENO_PV_DEV_BLOCK): one queue.  A request chain is a
 * readable struct xeno_virtio_blk_req, then data buffers (readable for
 * OUT and DISCARD, writable for IN and GET_ID), then one writable status
 * byte (XENO_VIRTIO_BLK_S_*).  Sectors are 512 bytes; IN and OUT carry a
 * whole number of sectors inside the capacity.  FLUSH completes after
 * every write completed before it is on stable storage.  DISCARD's data is
 * 1..16 struct xeno_virtio_blk_discard; discarded sectors read back as
 * zeros.  GET_ID writes the VBD id, up to 20 bytes, NUL padded.  Writes
 * and discards on a read-only device (XENO_PV_DEV_RO, and feature
 * XENO_VIRTIO_BLK_F_RO) fail with XENO_VIRTIO_BLK_S_IOERR, as does every
 * request once the VBD's lease has expired.
 */
#define XENO_VIRTIO_BLK_F_RO		5
#define XENO_VIRTIO_BLK_F_FLUSH		9
#define XENO_VIRTIO_BLK_F_DISCARD	13

#define XENO_VIRTIO_BLK_T_IN		0
#define XENO_VIRTIO_BLK_T_OUT		1
#define XENO_VIRTIO_BLK_T_FLUSH		4
#define XENO_VIRTIO_BLK_T_GET_ID	8
#define XENO_VIRTIO_BLK_T_DISCARD	11

#define XENO_VIRTIO_BLK_S_OK		0
#define XENO_VIRTIO_BLK_S_IOERR		1
#define XENO_VIRTIO_BLK_S_UNSUPP	2

#define XENO_VIRTIO_BLK_SECTOR		512
#define XENO_VIRTIO_BLK_ID_BYTES	20
#define XENO_VIRTIO_BLK_MAX_DISCARD_SEG	16

struct xeno_virtio_blk_req {
	uint32_t	type;		/* XENO_VIRTIO_BLK_T_* */
	uint32_t	reserved;
	uint64_t	sector;
};

struct xeno_virtio_blk_discard {
	uint64_t	sector;
	uint32_t	num_sectors;
	uint32_t	flags;		/* must be 0 */
};

#endif /* XENO_PV_H */
