/*
 * The flow log: a ring of fixed-size records in a shared file
 * (`xeno-hv run --flowlog PATH`), written by xeno-hv's VIF threads and
 * read by xeno-controld or `xeno-hv flows`.  Shared wire format, one
 * header for both sides (docs/FLOWLOG.md).
 *
 * Layout, little-endian:
 *	struct xeno_flowlog_hdr		at 0 (one 4 KiB page)
 *	struct xeno_flow_rec[capacity]	at fh_rec_off
 *
 * One producer at a time (xeno-hv serialises its threads), one consumer.
 * The producer fills record fh_head % capacity and then advances fh_head
 * (release); the consumer reads records fh_tail..fh_head-1 and then
 * advances fh_tail (release).  A record that finds the ring full is not
 * written: fh_lost_records, fh_lost_packets and fh_lost_bytes grow, so
 * the totals still add up.
 */
#ifndef XENO_FLOWLOG_H
#define XENO_FLOWLOG_H

#include <stdint.h>

#define XENO_FLOWLOG_MAGIC	0x474f4c574f4c4658ULL	/* "XFLOWLOG" */
#define XENO_FLOWLOG_VERSION	1

struct xeno_flowlog_hdr {
	uint64_t	fh_magic;
	uint32_t	fh_version;
	uint32_t	fh_rec_size;	/* sizeof(struct xeno_flow_rec) */
	uint32_t	fh_rec_off;
	uint32_t	fh_capacity;	/* records */
	uint32_t	fh_pid;		/* the writer */
	uint32_t	fh_pad;
	char		fh_domain[64];
	uint64_t	fh_head;	/* records ever written (producer) */
	uint64_t	fh_tail;	/* records ever consumed (consumer) */
	uint64_t	fh_lost_records;
	uint64_t	fh_lost_packets;
	uint64_t	fh_lost_bytes;
	uint64_t	fh_interval_ns;	/* live flows are reported this often */
};

enum xeno_flow_type {
	XENO_FLOW_REC_FLOW = 1,	/* packets of one flow in one direction */
	XENO_FLOW_REC_PACKET,	/* one packet a `log` rule matched */
};

enum xeno_flow_why {
	XENO_FLOW_WHY_INTERVAL = 0,	/* the flow goes on */
	XENO_FLOW_WHY_END,		/* timed out, closed, or domain end */
	XENO_FLOW_WHY_EVICT,		/* pushed out of a full table */
	XENO_FLOW_WHY_LOG,		/* a packet record */
};

/*
 * Addresses are 16 bytes: IPv6, IPv4 as ::ffff:a.b.c.d, or for frames
 * that are not IP the MAC in the last 6 bytes (fr_l3 says which, and
 * then the ports both hold the Ethernet type).
 */
struct xeno_flow_rec {
	uint8_t		fr_type;	/* enum xeno_flow_type */
	uint8_t		fr_why;		/* enum xeno_flow_why */
	uint8_t		fr_dir;		/* 1: in (to the guest), 2: out */
	uint8_t		fr_action;	/* 1: accept, 2: drop or reject */
	uint8_t		fr_l3;		/* 1 IPv4, 2 IPv6, 4 ARP, 8 other */
	uint8_t		fr_proto;	/* IP protocol, 0 if not IP */
	uint8_t		fr_tcpflags;	/* OR of the flags seen */
	uint8_t		fr_vif;		/* device index */
	uint32_t	fr_rule;	/* deciding rule id, or 0xffffffff:
					   policy, 0xfffffffe: anti-spoofing,
					   0xfffffffd: flow table full */
	uint32_t	fr_gen;		/* rule set generation */
	uint16_t	fr_sport;	/* or ICMP echo id */
	uint16_t	fr_dport;
	uint32_t	fr_pad;
	uint64_t	fr_start_realtime_ns;
	uint64_t	fr_end_realtime_ns;
	uint64_t	fr_packets;
	uint64_t	fr_bytes;
	uint8_t		fr_src[16];
	uint8_t		fr_dst[16];
	char		fr_vif_name[16];
	uint8_t		fr_data[64];	/* PACKET: the frame's first bytes */
	uint32_t	fr_caplen;	/* of fr_data */
	uint32_t	fr_pad2;
};

_Static_assert(sizeof(struct xeno_flow_rec) == 176, "flow record size");

#endif /* XENO_FLOWLOG_H */
