/*
 * pktgen: a packet generator and sink for the VIF benchmarks.  It polls
 * the rings and makes no hypercall per frame: a doorbell per batch when
 * the host's I/O thread asks for one, and a yield only when idle.
 *
 * mode=tx (default) sends UDP frames to dst port 9 (discard) and prints
 *
 *	pktgen: ready mode=tx ip=A.B.C.D mac=M dst=A.B.C.D dst_mac=M
 *	pktgen: sent=N bytes=B seconds=S.sss pps=P doorbells=D
 *
 * N frames of B bytes in all (Ethernet frames, no FCS) were handed to and
 * taken by the device; S runs from the first frame until the device has
 * taken the last.  Arguments:
 *	dst=A.B.C.D	destination, resolved by ARP (through gw= if off-link)
 *	dst_mac=M	destination MAC: skips ARP (dst= then defaults to
 *			the subnet's broadcast address)
 *	size=N		frame length, 60..1514 (default 64)
 *	rate=N		frames per second, 0 = as fast as possible (default)
 *	seconds=S	how long (default 1 unless count= is given)
 *	count=N		how many frames (stops at whichever comes first)
 *	batch=N		frames per doorbell (default 32)
 *	port=N sport=N	destination (default 9) and source port (default 9)
 *	ring=N		ring entries per queue (default 256)
 *	spin=S		how long to poll a full ring before sleeping in a
 *			yield (default 0.0001)
 *	arp_timeout=S	seconds to resolve dst (default 3)
 *	dev=TAP ip=A.B.C.D/P mac=M gw=A.B.C.D	as for udp-echo
 *
 * mode=rx counts every frame received for seconds= (default 1) and prints
 *
 *	pktgen: ready mode=rx ip=A.B.C.D mac=M
 *	pktgen: received=N bytes=B seconds=S.sss pps=P
 *
 * The count starts at the first frame (start=first, the default) or at
 * the ready line (start=ready); with start=first it gives up after
 * timeout= seconds (default 30) without a frame and exits 1.  It answers
 * ARP (and ping) for its address meanwhile.  spin=S polls an empty ring
 * that long before sleeping (default 0); moderate=S bounds how long a
 * receiver under load sleeps waiting for half a ring of frames (default
 * 0.0005; 0 wakes for every frame).
 *
 * Exit status 0, or 1 if nothing was sent or received.
 */
#include <xeno.h>
#include <xeno_inet.h>

#define NS_PER_SEC		1000000000ULL
#define PKTGEN_FRAME_MIN	60	/* Ethernet's minimum without FCS */
#define PKTGEN_DISCARD_PORT	9
#define PKTGEN_BATCH_DEFAULT	32
#define PKTGEN_ARP_TIMEOUT	(3 * NS_PER_SEC)
#define PKTGEN_RX_TIMEOUT	(30 * NS_PER_SEC)
#define PKTGEN_DRAIN_NS		NS_PER_SEC
/*
 * Idle this long (receiver: an empty ring; sender: a full one), pktgen
 * sleeps in a yield until the device moves.  A receiver does not spin by
 * default: on a small host its vCPU shares a core with the I/O thread
 * that fills its ring, and every spin is time taken from that thread.
 */
#define PKTGEN_SPIN_TX_NS	100000ULL
static uint64_t pg_spin_ns;
/*
 * A receiver that took this many frames since it last slept moderates
 * its wake-ups as a NIC does (ethtool's rx-frames and rx-usecs): it asks
 * to be woken when half its ring is full, or after moderate= seconds.
 * Each wake-up is a yield, whose exit costs tens of microseconds on a
 * software KVM; one per few frames starves the I/O thread of its core.
 */
#define PKTGEN_MODERATE_MIN	64
#define PKTGEN_MODERATE_NS	500000ULL
static uint64_t pg_moderate_ns;
/* A rate-limited sender sleeps when the next batch is this far off. */
#define PKTGEN_SLEEP_MIN_NS	50000ULL
/* Rate-limited frames go out at least every ms, in chunks. */
#define PKTGEN_CHUNKS_PER_SEC	1000

static struct xeno_net		pg_net;
static struct xeno_netif	pg_if;

/* "S.sss" for ns, and the rate per second, without floating point. */
static void
pktgen_rate(uint64_t n, uint64_t ns, uint64_t *sec, uint64_t *ms,
    uint64_t *per_sec)
{
	*sec = ns / NS_PER_SEC;
	*ms = ns % NS_PER_SEC / 1000000;
	*per_sec = ns > 0 ? (uint64_t)((__uint128_t)n * NS_PER_SEC / ns) : 0;
}

/*
 * Answers what needs answering (ARP, ping) among received frames and
 * drops the rest: a sender must not let its receive ring fill with the
 * peer's ARP requests.  Frames received are counted by the driver.
 */
static void
pktgen_service_rx(void)
{
	struct xeno_udp_rx u;

	if (xeno_vq_pending(&pg_net.nd_rxq))
		while (xeno_netif_poll(&pg_if, &u))
			;
}

static void
pktgen_dst(uint8_t dst_mac[XENO_ETH_ALEN], uint32_t *dst_ip)
{
	const char *dst = xeno_arg_str("dst"), *dmac = xeno_arg_str("dst_mac");
	uint64_t timeout = xeno_arg_ns("arp_timeout", PKTGEN_ARP_TIMEOUT);
	char ip[XENO_IP4_STR];
	int rc;

	if (dst == NULL && dmac == NULL)
		xeno_abort("pktgen: mode=tx needs dst=A.B.C.D or dst_mac=MAC");
	if (dst != NULL && xeno_ip4_parse(dst, dst_ip, NULL) < 0)
		xeno_abort("pktgen: dst=%s is not an IPv4 address", dst);
	if (dst == NULL)
		*dst_ip = pg_if.ni_ip | ~(pg_if.ni_prefix == 0 ? 0 :
		    ~(0xffffffffU >> pg_if.ni_prefix));
	if (dmac != NULL) {
		if (xeno_mac_parse(dmac, dst_mac) < 0)
			xeno_abort("pktgen: dst_mac=%s is not a MAC address",
			    dmac);
		return;
	}
	if ((rc = xeno_arp_resolve(&pg_if, *dst_ip, dst_mac, timeout)) < 0)
		xeno_abort("pktgen: cannot resolve %s by ARP (error %d): is "
		    "the peer up and on-link (or gw= set)? dst_mac= skips ARP",
		    xeno_ip4_fmt(*dst_ip, ip), rc);
}

/* Builds the frame in every transmit buffer once: sending is then queuing. */
static void
pktgen_fill(const uint8_t dst_mac[XENO_ETH_ALEN], uint32_t dst_ip,
    uint16_t sport, uint16_t dport, uint32_t size)
{
	uint32_t n = pg_net.nd_txq.vq_size, i, k;
	uint8_t *f[XENO_VQ_SIZE_MAX];

	for (i = 0; i < n; i++) {
		if ((f[i] = xeno_net_tx_alloc(&pg_net)) == NULL)
			xeno_abort("pktgen: transmit buffer %u missing", i);
		for (k = XENO_UDP_PAYLOAD_OFF; k < size; k++)
			f[i][k] = (uint8_t)k;
		xeno_udp_build(&pg_if, f[i], dst_mac, dst_ip, sport, dport,
		    size - XENO_UDP_PAYLOAD_OFF);
	}
	for (i = 0; i < n; i++)
		xeno_net_tx_drop(&pg_net, f[i]);
}

/* Queues up to n frames of `size` bytes and kicks once: how many went. */
static uint32_t
pktgen_burst(uint32_t n, uint32_t size)
{
	uint32_t i;
	uint8_t *f;

	for (i = 0; i < n && (f = xeno_net_tx_alloc(&pg_net)) != NULL; i++)
		if (xeno_net_tx_queue(&pg_net, f, size) < 0)
			break;
	if (i > 0)
		xeno_net_tx_kick(&pg_net);
	return i;
}

static int
pktgen_tx(void)
{
	uint64_t size = xeno_arg_u64("size", 64);
	uint64_t rate = xeno_arg_u64("rate", 0);
	uint64_t count = xeno_arg_u64("count", UINT64_MAX);
	uint64_t batch = xeno_arg_u64("batch", PKTGEN_BATCH_DEFAULT);
	uint64_t dport = xeno_arg_u64("port", PKTGEN_DISCARD_PORT);
	uint64_t sport = xeno_arg_u64("sport", PKTGEN_DISCARD_PORT);
	uint64_t duration = xeno_arg_ns("seconds",
	    xeno_arg_str("count") != NULL ? UINT64_MAX : NS_PER_SEC);
	uint64_t t0, now, end, sent = 0, due, next, sec, ms, pps, chunk, stall;
	uint8_t dst_mac[XENO_ETH_ALEN];
	struct xeno_vq *txq;
	char ip[XENO_IP4_STR], mac[XENO_MAC_STR], dip[XENO_IP4_STR],
	    dmac[XENO_MAC_STR];
	uint32_t dst_ip, want;

	if (size < PKTGEN_FRAME_MIN || size > XENO_ETH_FRAME_MAX)
		xeno_abort("pktgen: size=%lu is outside %d..%d (Ethernet frame "
		    "bytes without FCS)", size, PKTGEN_FRAME_MIN,
		    XENO_ETH_FRAME_MAX);
	if (dport == 0 || dport > 65535 || sport == 0 || sport > 65535)
		xeno_abort("pktgen: port=%lu sport=%lu: UDP ports are "
		    "1..65535", dport, sport);
	if (batch == 0)
		xeno_abort("pktgen: batch=0: at least one frame per doorbell");
	if (batch > pg_net.nd_txq.vq_size)
		batch = pg_net.nd_txq.vq_size;
	pktgen_dst(dst_mac, &dst_ip);
	pktgen_fill(dst_mac, dst_ip, (uint16_t)sport, (uint16_t)dport,
	    (uint32_t)size);
	xeno_printf("pktgen: ready mode=tx ip=%s mac=%s dst=%s dst_mac=%s\n",
	    xeno_ip4_fmt(pg_if.ni_ip, ip), xeno_mac_fmt(pg_if.ni_mac, mac),
	    xeno_ip4_fmt(dst_ip, dip), xeno_mac_fmt(dst_mac, dmac));

	/* Chunks small enough that a limited rate stays smooth per ms. */
	chunk = rate / PKTGEN_CHUNKS_PER_SEC;
	chunk = chunk == 0 ? 1 : chunk < batch ? chunk : batch;
	t0 = now = stall = xeno_mono_ns();
	end = duration > UINT64_MAX - t0 ? UINT64_MAX : t0 + duration;
	while (sent < count && now < end) {
		if (rate == 0) {
			/*
			 * Keep the ring full, a whole batch per doorbell: wait
			 * for a batch's worth of buffers unless fewer remain.
			 */
			want = count - sent < batch ? (uint32_t)(count - sent) :
			    (uint32_t)batch;
			if (pg_net.nd_tx_nfree < want)
				xeno_net_tx_reap(&pg_net);
			if (pg_net.nd_tx_nfree >= want) {
				sent += pktgen_burst(want, (uint32_t)size);
				stall = now;
			} else if (now - stall < pg_spin_ns)
				xeno_pause();
			else {
				/*
				 * The device is held back (a rate limit, a
				 * slow tap): sleep until it has taken enough
				 * for a batch rather than spin for as long.
				 */
				txq = &pg_net.nd_txq;
				if (!xeno_vq_arm_n(txq, (uint16_t)(want -
				    pg_net.nd_tx_nfree)))
					xeno_yield(end, NULL);
				xeno_vq_disarm(txq);
				stall = xeno_mono_ns();
			}
		} else {
			due = (uint64_t)((__uint128_t)(now - t0) * rate /
			    NS_PER_SEC);
			if (due > count)
				due = count;
			if (due >= sent + chunk ||
			    (due == count && due > sent)) {
				want = due - sent < batch ?
				    (uint32_t)(due - sent) : (uint32_t)batch;
				sent += pktgen_burst(want, (uint32_t)size);
			} else {
				next = t0 + (uint64_t)((__uint128_t)(sent +
				    chunk) * NS_PER_SEC / rate);
				if (next > now + PKTGEN_SLEEP_MIN_NS)
					xeno_yield(next < end ? next : end,
					    NULL);
				else
					xeno_pause();
			}
		}
		pktgen_service_rx();
		now = xeno_mono_ns();
	}
	/* Sent means taken by the device: wait for the last ones. */
	end = xeno_mono_ns() + PKTGEN_DRAIN_NS;
	while (xeno_vq_inflight(&pg_net.nd_txq) > 0 && xeno_mono_ns() < end) {
		if (!xeno_net_tx_reap(&pg_net))
			xeno_pause();
	}
	now = xeno_mono_ns();
	sent -= xeno_vq_inflight(&pg_net.nd_txq);
	pktgen_rate(sent, now - t0, &sec, &ms, &pps);
	xeno_printf("pktgen: sent=%lu bytes=%lu seconds=%lu.%03lu pps=%lu "
	    "doorbells=%lu\n", sent, sent * size, sec, ms, pps,
	    pg_net.nd_txq.vq_doorbells);
	return sent > 0 ? 0 : 1;
}

/* IPv4 UDP: the load a receiver only counts, without parsing further. */
static int
pktgen_is_udp4(const uint8_t *f, uint32_t len)
{
	return len > XENO_ETH_HLEN + 9 && f[12] == 0x08 && f[13] == 0x00 &&
	    f[XENO_ETH_HLEN + 9] == 17;
}

static int
pktgen_rx(void)
{
	uint64_t duration = xeno_arg_ns("seconds", NS_PER_SEC);
	uint64_t timeout = xeno_arg_ns("timeout", PKTGEN_RX_TIMEOUT);
	const char *start = xeno_arg_str("start");
	uint64_t t0 = 0, now, end, idle_since, n = 0, bytes = 0, sec, ms, pps;
	struct xeno_vq *rxq = &pg_net.nd_rxq;
	uint32_t len, batch = 0, burst = 0, want;
	char ip[XENO_IP4_STR], mac[XENO_MAC_STR];
	struct xeno_udp_rx u;
	int started = 0;
	uint8_t *f;

	if (start != NULL && strcmp(start, "first") != 0 &&
	    strcmp(start, "ready") != 0)
		xeno_abort("pktgen: start=%s: want start=first or start=ready",
		    start);
	xeno_printf("pktgen: ready mode=rx ip=%s mac=%s\n",
	    xeno_ip4_fmt(pg_if.ni_ip, ip), xeno_mac_fmt(pg_if.ni_mac, mac));
	now = idle_since = xeno_mono_ns();
	if (start != NULL && strcmp(start, "ready") == 0) {
		started = 1;
		t0 = now;
	}
	end = started ? t0 + duration : now + timeout;

	while (now < end) {
		while ((f = xeno_net_rx_next(&pg_net, &len)) != NULL) {
			if (!started) {
				started = 1;
				t0 = xeno_mono_ns();
				end = t0 + duration;
			}
			n++;
			burst++;
			bytes += len;
			/* ARP and ping need an answer; the load is counted. */
			if (!pktgen_is_udp4(f, len))
				xeno_netif_input(&pg_if, f, len, &u);
			xeno_net_rx_done(&pg_net, f);
			if (++batch == PKTGEN_BATCH_DEFAULT) {
				xeno_netif_flush(&pg_if);
				batch = 0;
			}
		}
		if (batch > 0) {
			xeno_netif_flush(&pg_if);
			batch = 0;
			idle_since = xeno_mono_ns();
		}
		now = xeno_mono_ns();
		if (now - idle_since < pg_spin_ns) {
			xeno_pause();
			continue;
		}
		if (burst >= PKTGEN_MODERATE_MIN && pg_moderate_ns > 0) {
			/*
			 * Under load, moderate as a NIC does (rx-frames,
			 * rx-usecs): be woken when half as many frames as the
			 * last burst brought are in, or after a short while,
			 * not for every few frames.
			 */
			want = rxq->vq_size / 2;
			if (!xeno_vq_arm_n(rxq, (uint16_t)want))
				xeno_yield(now + pg_moderate_ns < end ?
				    now + pg_moderate_ns : end, NULL);
			xeno_vq_disarm(rxq);
		} else if (xeno_netif_wait(&pg_if, end) < 0)
			break;
		burst = 0;
		now = idle_since = xeno_mono_ns();
	}
	if (!started) {
		xeno_printf("pktgen: received=0 bytes=0 seconds=0.000 pps=0\n");
		xeno_printf("pktgen: no frame within %lu ms\n",
		    timeout / 1000000);
		return 1;
	}
	/* The count stops at the deadline, not when we noticed it. */
	pktgen_rate(n, duration, &sec, &ms, &pps);
	xeno_printf("pktgen: received=%lu bytes=%lu seconds=%lu.%03lu "
	    "pps=%lu\n", n, bytes, sec, ms, pps);
	return n > 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	const char *mode = xeno_arg_str("mode");
	uint64_t ring = xeno_arg_u64("ring", 0);
	int rx = mode != NULL && strcmp(mode, "rx") == 0, rc;

	(void)argc;
	(void)argv;
	if (ring > XENO_VQ_SIZE_MAX || (ring & (ring - 1)) != 0)
		xeno_abort("pktgen: ring=%lu: a power of two up to %d", ring,
		    XENO_VQ_SIZE_MAX);
	if ((rc = xeno_net_open(&pg_net, xeno_arg_str("dev"), (uint32_t)ring,
	    (uint32_t)ring)) < 0)
		xeno_abort("pktgen: cannot open the network device (error %d): "
		    "run with --vif, name its tap with dev=, ring= within the "
		    "device's queue_max", rc);
	xeno_netif_init(&pg_if, &pg_net);
	xeno_netif_args(&pg_if, "pktgen");
	pg_spin_ns = xeno_arg_ns("spin", rx ? 0 : PKTGEN_SPIN_TX_NS);
	pg_moderate_ns = xeno_arg_ns("moderate", PKTGEN_MODERATE_NS);
	if (mode == NULL || strcmp(mode, "tx") == 0)
		return pktgen_tx();
	if (rx)
		return pktgen_rx();
	xeno_abort("pktgen: mode=%s: want mode=tx or mode=rx", mode);
}
