/*
 * The counters page: what xeno-hv exports about one domain, shared with
 * xeno-controld, `xeno-hv stat` and anything else that maps the file.
 *
 * Layout (version 1), all little-endian, every field naturally aligned:
 *
 *	struct xeno_stats_hdr		at offset 0, written once before the
 *					domain runs, never changed after
 *	struct xeno_stats_domain	at hdr.sh_domain_off
 *	struct xeno_stats_vcpu[n]	at hdr.sh_vcpu_off, stride sh_vcpu_size
 *	device area			at hdr.sh_dev_off, sh_dev_size bytes,
 *					zero until devices define it
 *
 * Counters are cumulative and never reset.  Each of the domain and vCPU
 * sections has one seqlock word (first field) and one writer at a time:
 * the writer makes the word odd, updates, makes it even.  A reader copies
 * a section and retries while the word was odd or changed; it never sees a
 * torn update.  See stats_read_section() in xen/stats.c and docs/COUNTERS.md.
 *
 * Times ending in _ns are CLOCK_MONOTONIC nanoseconds of the host unless
 * the name says realtime; durations are nanoseconds.
 */
#ifndef XENO_STATS_H
#define XENO_STATS_H

#include <stdint.h>

#define XENO_STATS_MAGIC	0x5441545321454e58ULL	/* "XNE!STAT" */
#define XENO_STATS_VERSION	1
#define XENO_STATS_MAX_VCPUS	64
#define XENO_STATS_NR_EXITS	64	/* indexed by KVM exit reason */
#define XENO_STATS_NR_HCALLS	64	/* indexed by hypercall number */
#define XENO_STATS_DEV_SIZE	(16U << 10)
#define XENO_STATS_NAME_MAX	64

enum xeno_dom_state {
	XENO_DOM_CREATED = 0,	/* being built, guest not started */
	XENO_DOM_RUNNING = 1,
	XENO_DOM_PAUSED = 2,
	XENO_DOM_SHUTDOWN = 3,	/* ended: see sd_end */
};

/* Why a domain ended; also decides xeno-hv's exit code (docs/XENO-HV.md). */
enum xeno_dom_end {
	XENO_END_NONE = 0,
	XENO_END_EXIT = 1,	/* guest called exit: sd_exit_status */
	XENO_END_ABORT = 2,	/* guest called abort: message on the console */
	XENO_END_CRASH = 3,	/* exception or triple fault: sd_crash_* */
	XENO_END_DESTROY = 4,	/* SIGTERM, SIGINT or a control request */
	XENO_END_ERROR = 5,	/* xeno-hv itself failed */
	XENO_END_VCPUS_DOWN = 6,	/* every vCPU stopped itself */
};

enum xeno_vcpu_state {
	XENO_VCPU_OFFLINE = 0,	/* not started yet */
	XENO_VCPU_RUNNING = 1,	/* in or around KVM_RUN */
	XENO_VCPU_BLOCKED = 2,	/* in XENO_HC_YIELD */
	XENO_VCPU_STOPPED = 3,
};

struct xeno_stats_hdr {
	uint64_t	sh_magic;
	uint32_t	sh_version;
	uint32_t	sh_size;	/* bytes of the whole file */
	uint32_t	sh_domain_off;
	uint32_t	sh_vcpu_off;
	uint32_t	sh_vcpu_size;
	uint32_t	sh_nr_vcpus;
	uint32_t	sh_dev_off;
	uint32_t	sh_dev_size;
	uint32_t	sh_pid;		/* the xeno-hv process */
	uint32_t	sh_pad;
	uint64_t	sh_mem_bytes;	/* guest memory */
	uint64_t	sh_start_ns;	/* xeno-hv process start (main entered) */
	uint64_t	sh_start_realtime_ns;
	uint64_t	sh_tsc_hz;
	char		sh_name[XENO_STATS_NAME_MAX];
	char		sh_image[256];	/* image path as given, truncated */
};

struct xeno_stats_domain {
	uint32_t	sd_seq;
	uint32_t	sd_state;	/* enum xeno_dom_state */
	uint64_t	sd_vm_created_ns;	/* KVM_CREATE_VM returned */
	uint64_t	sd_first_entry_ns;	/* first KVM_RUN entered */
	uint64_t	sd_first_insn_ns;	/* guest's first instruction (its TSC) */
	uint64_t	sd_boot_done_ns;	/* guest said XENO_HC_BOOTED */
	uint64_t	sd_end_ns;		/* domain ended */
	uint32_t	sd_end;			/* enum xeno_dom_end */
	int32_t		sd_exit_status;
	uint32_t	sd_crash_vcpu;
	uint32_t	sd_crash_vector;	/* 0..31, or 256 for triple fault */
	uint64_t	sd_crash_rip;
	uint64_t	sd_crash_error;
	uint64_t	sd_crash_addr;		/* CR2 for page faults */
	uint64_t	sd_console_bytes;	/* bytes the guest wrote */
	uint64_t	sd_console_dropped;	/* bytes lost (sink failed) */
	uint64_t	sd_bad_port_io;		/* I/O to ports nobody serves */
	uint64_t	sd_bad_mmio;		/* accesses outside guest memory */
	uint64_t	sd_reserved[8];
};

struct xeno_stats_exit {
	uint64_t	count;
	uint64_t	ns;	/* time in xeno-hv handling it (KVM_RUN return to re-entry) */
};

struct xeno_stats_hcall {
	uint64_t	count;
	uint64_t	errors;	/* returned a negative result or had a bad block */
};

struct xeno_stats_vcpu {
	uint32_t	sv_seq;
	uint32_t	sv_state;	/* enum xeno_vcpu_state */
	uint64_t	sv_run_ns;	/* inside KVM_RUN, finished entries */
	uint64_t	sv_run_since_ns;	/* entry time of the KVM_RUN in progress, 0 if none */
	uint64_t	sv_cpu_ns;	/* thread CPU time at the last update */
	uint64_t	sv_blocked_ns;	/* waiting in XENO_HC_YIELD */
	uint64_t	sv_exits;	/* all exits */
	uint64_t	sv_hcalls;	/* all hypercalls */
	uint64_t	sv_hcall_errors;
	uint64_t	sv_reserved[8];
	struct xeno_stats_exit	sv_exit[XENO_STATS_NR_EXITS];
	struct xeno_stats_hcall	sv_hcall[XENO_STATS_NR_HCALLS];
};

#endif /* XENO_STATS_H */
