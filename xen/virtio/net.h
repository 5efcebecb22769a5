/*
 * The VIF backend: virtio-net frames to and from a host tap device.
 *
 * The device layer (xen/dev.c) owns the thread and the queues; this file
 * owns the tap, the rate limiters, the packet path in both directions and
 * the VIF counters.  Every frame passes the firewall's fw_hook()
 * (virtio/fw.h) in vif.c, on a copy the guest cannot change.
 */
#ifndef XEN_VIRTIO_NET_H
#define XEN_VIRTIO_NET_H

#include <stddef.h>
#include <stdint.h>

#include "xeno/stats.h"
#include "virtio/ratelimit.h"
#include "virtio/virtq.h"

#define NET_IFNAMSIZ	16
#define NET_MTU		1500
#define NET_ETH_HDR	14
#define NET_FRAME_MIN	NET_ETH_HDR
#define NET_FRAME_MAX	(NET_MTU + NET_ETH_HDR)
#define NET_VHDR	12	/* struct xeno_virtio_net_hdr */
#define NET_BUF_MAX	65536	/* what one tap read may return */
#define NET_FLOWS_DEFAULT 16384	/* connection-tracking entries per VIF */
#define NET_FLOWS_MIN	16
#define NET_FLOWS_MAX	(1 << 20)

enum net_dir {
	NET_RX = 0,	/* host to guest */
	NET_TX = 1,	/* guest to host */
};

/* A token bucket as given on the command line. */
struct net_rate {
	uint64_t	nr_size;	/* 0: unlimited */
	uint64_t	nr_refill_ms;
	uint64_t	nr_burst;
};

/* A parsed --vif option; net_parse() touches no file. */
struct net_config {
	char		nc_tap[NET_IFNAMSIZ];	/* "" with nc_fd */
	int		nc_fd;		/* tap fd handed over, -1 if none */
	uint8_t		nc_mac[6];
	uint8_t		nc_ip4[4];
	uint8_t		nc_ip4_prefix;	/* 0: no IPv4 address */
	uint8_t		nc_ip6_prefix;	/* 0: no IPv6 address */
	uint8_t		nc_ip6[16];
	struct net_rate	nc_bytes[2];	/* by enum net_dir */
	struct net_rate	nc_pkts[2];
	uint32_t	nc_flows;	/* flow-table entries (conntrack) */
};

struct net_dev {
	struct net_config nd_cfg;
	int		 nd_tap;
	int		 nd_tap_watched;	/* in the I/O thread's epoll */
	struct rl	 nd_rl[2];
	uint64_t	 nd_wake_ns[2];	/* throttled until, 0 if not */
	/* a frame read from the tap, not yet delivered */
	size_t		 nd_rx_len;
	int		 nd_rx_paid;	/* rate-limit tokens taken for it */
	/* a guest frame popped, not yet sent (throttled) */
	int		 nd_tx_pending;
	uint16_t	 nd_tx_head;
	size_t		 nd_tx_len;
	struct xeno_stats_net nd_stats;
	uint8_t		 nd_rxbuf[NET_BUF_MAX];
	uint8_t		 nd_txbuf[NET_FRAME_MAX];
};

/*
 * Parse "tap=NAME|fd=N,mac=52:54:00:12:34:56,ip=10.0.0.2/24,
 * ip6=fd00::2/64,tx-bytes=SIZE:REFILL_MS[:BURST],rx-pkts=...".  0, or -1
 * with a message naming the field.
 */
int	net_parse(const char *, struct net_config *, char *, size_t);

/* Open (or create) the tap and set up the limiters.  0, or -1 with err. */
int	net_open(struct net_dev *, const struct net_config *, uint64_t, char *,
	    size_t);
void	net_close(struct net_dev *);

/*
 * Guest transmit request: copy the frame out of guest memory into
 * nd_txbuf.  Returns its length, or 0 if the request is malformed
 * (counted in sn_tx_errors).
 */
size_t	net_tx_copy(struct net_dev *, const struct vq_req *);

/*
 * Copy the pending receive frame (nd_rxbuf, nd_rx_len) into a guest
 * receive request.  Returns the used length (header + frame), or 0 if the
 * request cannot hold it (counted: sn_rx_drop_no_buffer or sn_rx_errors).
 */
uint32_t net_rx_copy(struct net_dev *, const struct vq_req *);

#endif /* XEN_VIRTIO_NET_H */
