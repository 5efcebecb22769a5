/*
 * A small network stack for Xeno PV guests, on the virtio-net driver of
 * xeno_dev.h: Ethernet, ARP (answers for our address, resolves peers
 * with retries, a small cache), IPv4 (checksums; fragments are dropped),
 * ICMP echo replies, UDP with checksums, and for IPv6 neighbour
 * advertisements and ICMPv6 echo replies.  No TCP, no routing beyond one
 * optional gateway, no IP options (packets with them are accepted, the
 * options ignored).
 *
 * IPv4 addresses are uint32_t in host byte order (10.0.0.2 is
 * 0x0a000002).  Frames are built in place in transmit buffers and queued;
 * nothing is sent until a flush (one doorbell per batch).  The stack is
 * driven by its caller (xeno_netif_poll), one vCPU at a time.
 */
#ifndef XENO_INET_H
#define XENO_INET_H

#include "xeno_dev.h"

#define XENO_ETH_P_IP		0x0800
#define XENO_ETH_P_ARP		0x0806
#define XENO_ETH_P_IPV6		0x86dd
#define XENO_IP4_HLEN		20
#define XENO_IP6_HLEN		40
#define XENO_UDP_HLEN		8
/* Where a UDP payload starts in a frame this stack builds. */
#define XENO_UDP_PAYLOAD_OFF	\
	(XENO_ETH_HLEN + XENO_IP4_HLEN + XENO_UDP_HLEN)
#define XENO_UDP_PAYLOAD_MAX	(XENO_ETH_FRAME_MAX - XENO_UDP_PAYLOAD_OFF)
#define XENO_ARP_CACHE		16
#define XENO_ARP_RETRY_NS	250000000ULL	/* between requests */
#define XENO_IP4_STR		16	/* "255.255.255.255" and a NUL */
#define XENO_MAC_STR		18	/* "52:54:00:12:34:56" and a NUL */

struct xeno_arp_entry {
	uint32_t	ae_ip;		/* 0: free */
	uint8_t		ae_mac[XENO_ETH_ALEN];
	uint64_t	ae_ns;		/* last learnt */
};

struct xeno_netif {
	struct xeno_net	*ni_net;
	uint8_t		 ni_mac[XENO_ETH_ALEN];
	uint32_t	 ni_ip;		/* 0: none, answer nothing */
	uint32_t	 ni_prefix;	/* length, 0..32 */
	uint32_t	 ni_gw;		/* 0: none, off-link peers unreachable */
	int		 ni_has_ip6;
	uint8_t		 ni_ip6[16];	/* global, if ni_has_ip6 */
	uint8_t		 ni_ll6[16];	/* link-local, from the MAC */
	uint16_t	 ni_ip_id;
	uint8_t		*ni_held;	/* frame the last poll returned */
	struct xeno_arp_entry ni_arp[XENO_ARP_CACHE];
	uint64_t	 ni_arp_replied;	/* requests for us answered */
	uint64_t	 ni_icmp_echoed;	/* echo requests answered, v4 and v6 */
	uint64_t	 ni_nd_advertised;	/* neighbour solicitations answered */
	uint64_t	 ni_udp_in;		/* datagrams handed to the caller */
	uint64_t	 ni_drop_csum;		/* bad IP, ICMP or UDP checksum */
	uint64_t	 ni_drop_frag;		/* IPv4 fragments */
	uint64_t	 ni_drop_other;		/* not for us, malformed, unknown */
	uint64_t	 ni_tx_nobuf;		/* replies lost: ring full */
};

/* A datagram for us: points into the received frame. */
struct xeno_udp_rx {
	uint8_t		 ur_src_mac[XENO_ETH_ALEN];
	uint32_t	 ur_src_ip;
	uint32_t	 ur_dst_ip;
	uint16_t	 ur_sport;
	uint16_t	 ur_dport;
	const uint8_t	*ur_data;
	uint32_t	 ur_len;
};

/*
 * Takes the MAC and addresses the device was assigned (DEVICE_INFO); a
 * caller may override ni_mac, ni_ip, ni_prefix, ni_gw afterwards.
 */
void	xeno_netif_init(struct xeno_netif *, struct xeno_net *);

/*
 * Applies the arguments ip=A.B.C.D[/P], gw=A.B.C.D and mac=MAC, aborting
 * with a message that starts with `prog` if one is malformed or if we end
 * up with no IPv4 address.
 */
void	xeno_netif_args(struct xeno_netif *, const char *);

/*
 * Handles one received frame: answers ARP, ICMP echo and IPv6 neighbour
 * solicitations (replies queued, not kicked), learns ARP.  1 if it is a
 * UDP datagram for us, described in *u (pointing into frame); 0 if the
 * stack consumed or dropped it.
 */
int	xeno_netif_input(struct xeno_netif *, uint8_t *, uint32_t,
	    struct xeno_udp_rx *);

/*
 * Gives back the frame the previous call returned, then handles received
 * frames until one is a datagram for us: 1 with *u, valid until the next
 * call.  0 when there are no more frames; by then every reply queued and
 * every receive buffer returned has been published (xeno_netif_flush).
 */
int	xeno_netif_poll(struct xeno_netif *, struct xeno_udp_rx *);
/* Publishes queued frames and returned receive buffers: doorbells as due. */
void	xeno_netif_flush(struct xeno_netif *);
/* Sleeps until frames arrive or the deadline (see xeno_vq_wait). */
int	xeno_netif_wait(struct xeno_netif *, uint64_t);

/*
 * Writes Ethernet, IPv4 and UDP headers for a payload of payload_len
 * bytes already at frame + XENO_UDP_PAYLOAD_OFF, checksums included.
 * The frame's length.
 */
uint32_t xeno_udp_build(struct xeno_netif *, uint8_t *,
	    const uint8_t[XENO_ETH_ALEN], uint32_t, uint16_t, uint16_t,
	    uint32_t);
/* Queues one datagram (no doorbell): 0, -XENO_ENOSPC, -XENO_E2BIG. */
int	xeno_udp_send(struct xeno_netif *, const uint8_t[XENO_ETH_ALEN],
	    uint32_t, uint16_t, uint16_t, const void *, uint32_t);
/* Queues a datagram back to where u came from (ports swapped). */
int	xeno_udp_reply(struct xeno_netif *, const struct xeno_udp_rx *,
	    const void *, uint32_t);

/*
 * The next hop for ip: ip itself on our subnet, else the gateway (0 if
 * there is none).
 */
uint32_t xeno_ip4_nexthop(const struct xeno_netif *, uint32_t);
/* 0 and the MAC of ip (a next hop) if cached, else -XENO_ENODEV. */
int	xeno_arp_lookup(const struct xeno_netif *, uint32_t,
	    uint8_t[XENO_ETH_ALEN]);
/*
 * Resolves the next hop towards ip: ARP requests every
 * XENO_ARP_RETRY_NS until timeout_ns has passed, handling other frames
 * meanwhile (datagrams that arrive are dropped).  0, -XENO_EAGAIN on
 * timeout, -XENO_EINVAL without a route or an address of our own.
 */
int	xeno_arp_resolve(struct xeno_netif *, uint32_t, uint8_t[XENO_ETH_ALEN],
	    uint64_t);

/* "a.b.c.d" or "a.b.c.d/p" (prefix may be NULL: no suffix allowed). */
int	xeno_ip4_parse(const char *, uint32_t *, uint32_t *);
/* "52:54:00:12:34:56" */
int	xeno_mac_parse(const char *, uint8_t[XENO_ETH_ALEN]);
char	*xeno_ip4_fmt(uint32_t, char[XENO_IP4_STR]);
char	*xeno_mac_fmt(const uint8_t[XENO_ETH_ALEN], char[XENO_MAC_STR]);

/*
 * The Internet checksum (RFC 1071): xeno_inet_sum adds len bytes to a
 * running 32-bit sum as big-endian 16-bit words (odd tails padded), and
 * xeno_inet_fold turns a sum into the checksum field's value.
 */
uint32_t xeno_inet_sum(const void *, size_t, uint32_t);
uint16_t xeno_inet_fold(uint32_t);

#endif /* XENO_INET_H */
