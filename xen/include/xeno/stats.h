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
 *	struct xeno_stats_dev[16]	at hdr.sh_dev_off, sh_dev_size bytes
 *					(XENO_STATS_DEV_STRIDE each): one per
 *					VIF or VBD in device order, unused
 *					slots all zero
 *	struct xeno_stats_rules		at hdr.sh_rules_off (version 3): the
 *					VFR rule counters of the domain
 *
 * Counters are cumulative and never reset.  Each of the domain, vCPU and device
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
#define XENO_STATS_VERSION	3	/* 2: device sections, 3: firewall */
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
	uint32_t	sh_rules_off;
	uint32_t	sh_rules_size;
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

/*
 * Devices.  Each device section is written by its device's I/O thread
 * only, once per batch of requests.  Directions are the guest's: rx is
 * host to guest, tx is guest to host.
 */
#define XENO_STATS_MAX_DEVS	16
#define XENO_STATS_DEV_STRIDE	1024
#define XENO_STATS_DEV_QUEUES	2

/* One virtqueue; the error counters are virtq.h's malformed-chain reasons. */
struct xeno_stats_queue {
	uint32_t	sq_size;	/* ring entries, 0 until set up */
	uint32_t	sq_broken;	/* the guest broke the ring */
	uint64_t	sq_doorbells;	/* doorbells the guest rang */
	uint64_t	sq_kicks;	/* I/O thread wake-ups they caused */
	uint64_t	sq_popped;	/* requests taken */
	uint64_t	sq_pushed;	/* requests handed back */
	uint64_t	sq_notify_sent;	/* guest woken */
	uint64_t	sq_notify_suppressed;	/* guest asked not to be */
	uint64_t	sq_err_addr;
	uint64_t	sq_err_loop;
	uint64_t	sq_err_index;
	uint64_t	sq_err_order;
	uint64_t	sq_err_nested;
	uint64_t	sq_err_indirect;
	uint64_t	sq_err_len;
	uint64_t	sq_err_ring;
};

/* A VIF (virtio-net on a host tap device). */
struct xeno_stats_net {
	uint8_t		sn_mac[6];
	uint16_t	sn_mtu;
	uint8_t		sn_ip4[4];	/* assigned IPv4 address, 0 if none */
	uint8_t		sn_ip4_prefix;
	uint8_t		sn_ip6_prefix;	/* 0: no IPv6 address */
	uint8_t		sn_pad[2];
	uint8_t		sn_ip6[16];
	char		sn_tap[16];	/* host interface name */
	uint64_t	sn_rx_packets;	/* delivered to the guest */
	uint64_t	sn_rx_bytes;	/* frame bytes, no virtio header */
	uint64_t	sn_tx_packets;	/* sent by the guest, written to the tap */
	uint64_t	sn_tx_bytes;
	uint64_t	sn_rx_drop_no_buffer;	/* guest buffer too small */
	uint64_t	sn_rx_drop_filter;	/* firewall said no */
	uint64_t	sn_rx_drop_ratelimit;
	uint64_t	sn_tx_drop_filter;
	uint64_t	sn_tx_drop_ratelimit;
	uint64_t	sn_tx_drop_tap;	/* the tap refused it (link down, ...) */
	uint64_t	sn_rx_errors;	/* malformed receive chains, tap errors */
	uint64_t	sn_tx_errors;	/* malformed chains, runt or giant frames */
	uint64_t	sn_rx_throttled;	/* times the rate limiter held rx */
	uint64_t	sn_tx_throttled;	/* times it held tx (back-pressure) */
	uint64_t	sn_rx_stalls;	/* times rx waited for guest buffers */
	uint64_t	sn_rl_rx_bytes_per_s;	/* configured limits, 0 if none */
	uint64_t	sn_rl_rx_pkts_per_s;
	uint64_t	sn_rl_tx_bytes_per_s;
	uint64_t	sn_rl_tx_pkts_per_s;
	/* the firewall (VFR): anti-spoofing, on frames from the guest */
	uint64_t	sn_tx_drop_spoof;	/* all of the five below */
	uint64_t	sn_spoof_mac;	/* Ethernet source not the VIF's MAC */
	uint64_t	sn_spoof_ip;	/* IPv4/IPv6 source not assigned */
	uint64_t	sn_spoof_arp;	/* ARP sender MAC or IP not ours */
	uint64_t	sn_spoof_nd;	/* ND target/option not ours, RA */
	uint64_t	sn_spoof_malformed;	/* IP/ARP header that does not parse */
	uint64_t	sn_rx_drop_foreign;	/* unicast for another MAC */
	/* rules: drops by kind (the drop_filter counters are their sums
	   with the policy's), rejects answered */
	uint64_t	sn_rx_drop_policy;
	uint64_t	sn_tx_drop_policy;
	uint64_t	sn_rx_drop_rlrule;	/* a rate-limit rule */
	uint64_t	sn_tx_drop_rlrule;
	uint64_t	sn_rx_drop_ctfull;	/* no room to track a new flow */
	uint64_t	sn_tx_drop_ctfull;
	uint64_t	sn_rx_reject;	/* answers sent for rejected frames */
	uint64_t	sn_tx_reject;
	uint64_t	sn_reject_lost;	/* answers with no room to go */
	/* connection tracking */
	uint64_t	sn_ct_flows;	/* flows in the table now */
	uint64_t	sn_ct_max;
	uint64_t	sn_ct_full;	/* new flows refused */
	uint64_t	sn_ct_evicted;	/* unreplied flows pushed out */
	uint64_t	sn_ct_untracked_pkts;	/* packets in no flow record */
	uint64_t	sn_ct_untracked_bytes;
	/* flow log and capture */
	uint64_t	sn_fl_records;	/* written to the flow log */
	uint64_t	sn_fl_lost;	/* the flow log was full */
	uint64_t	sn_cap_packets;	/* handed to a capture */
	uint64_t	sn_cap_drops;	/* the capture reader was too slow */
	/* the rule set this VIF runs */
	uint64_t	sn_fw_gen;	/* generation, 0: none (accept all) */
	uint64_t	sn_fw_rules;	/* rules that apply to this VIF */
	uint64_t	sn_fw_prog_bytes;	/* classifier size */
};

#define XENO_STATS_BLK_RO	0x1	/* read-only */
#define XENO_STATS_BLK_COW	0x2	/* overlay on a shared base image */
#define XENO_STATS_BLK_EXPIRED	0x4	/* lease over: every request fails */

/* A VBD (virtio-blk over extents or a copy-on-write overlay). */
struct xeno_stats_blk {
	uint64_t	sb_capacity;	/* 512-byte sectors */
	uint32_t	sb_flags;	/* XENO_STATS_BLK_* */
	uint32_t	sb_nr_extents;
	uint64_t	sb_rd_reqs;
	uint64_t	sb_wr_reqs;
	uint64_t	sb_rd_sectors;
	uint64_t	sb_wr_sectors;
	uint64_t	sb_rd_bytes;
	uint64_t	sb_wr_bytes;
	uint64_t	sb_flushes;
	uint64_t	sb_discards;
	uint64_t	sb_get_ids;
	uint64_t	sb_errors;	/* every request that did not end S_OK */
	uint64_t	sb_err_ro;	/* write or discard on a read-only VBD */
	uint64_t	sb_err_range;	/* beyond the capacity, partial sector */
	uint64_t	sb_err_bad;	/* malformed request */
	uint64_t	sb_err_unsupp;	/* unknown request type */
	uint64_t	sb_err_io;	/* the host file failed */
	uint64_t	sb_err_lease;	/* refused: lease expired */
	uint64_t	sb_rd_ns;	/* time spent serving reads */
	uint64_t	sb_wr_ns;
	uint64_t	sb_flush_ns;
	uint64_t	sb_cow_copies;	/* clusters copied up from the base */
	uint64_t	sb_lease_bytes;	/* storage reserved for the lease */
	uint64_t	sb_lease_start_realtime_ns;
	uint64_t	sb_lease_expiry_realtime_ns;	/* 0: no expiry */
	uint64_t	sb_lease_held_ns;	/* start to now, or to expiry */
};

struct xeno_stats_dev {
	uint32_t	sx_seq;
	uint32_t	sx_type;	/* enum xeno_pv_dev_type, 0: unused slot */
	uint32_t	sx_index;	/* device number (XENO_HC_DEVICE_INFO) */
	uint32_t	sx_nr_queues;
	uint32_t	sx_first_queue;	/* global queue number of queue 0 */
	uint32_t	sx_pad;
	char		sx_name[32];	/* VIF tap name or VBD id */
	struct xeno_stats_queue	sx_queue[XENO_STATS_DEV_QUEUES];
	union {
		struct xeno_stats_net	sx_net;
		struct xeno_stats_blk	sx_blk;
		uint8_t			sx_space[XENO_STATS_DEV_STRIDE - 56 -
		    XENO_STATS_DEV_QUEUES * sizeof(struct xeno_stats_queue)];
	};
};

/*
 * The VFR rule counters of a domain (one rule set for all its VIFs).
 * Counters are per rule of the installed set, by rule id (the rule's
 * place in `xeno-vfrc -n` output).  A new set counts in the other bank
 * from zero: srs_gen and srs_bank (under srs_seq) say which bank belongs
 * to which set.  The counters themselves are added atomically by the VIF
 * threads, outside the seqlock: packets and bytes of one rule may be one
 * packet apart in a copy.
 */
#define XENO_STATS_MAX_RULES	16384

struct xeno_stats_rule {
	uint64_t	sr_packets;
	uint64_t	sr_bytes;
};

struct xeno_stats_rules {
	uint32_t	srs_seq;
	uint32_t	srs_bank;	/* 0 or 1: where the current set counts */
	uint64_t	srs_gen;	/* generation of the set, 0: none yet */
	uint32_t	srs_nrules;
	uint32_t	srs_pad;
	uint64_t	srs_installed_realtime_ns;
	uint64_t	srs_installs;	/* sets installed since start */
	uint64_t	srs_spare[3];
	struct xeno_stats_rule srs_rule[2][XENO_STATS_MAX_RULES];
};

_Static_assert(sizeof(struct xeno_stats_dev) == XENO_STATS_DEV_STRIDE,
    "device section size");
_Static_assert(XENO_STATS_MAX_DEVS * XENO_STATS_DEV_STRIDE <=
    XENO_STATS_DEV_SIZE, "device area size");

#endif /* XENO_STATS_H */
