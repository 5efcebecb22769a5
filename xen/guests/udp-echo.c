/*
 * udp-echo: a network endpoint for the VIF tests.  It answers ARP, ping
 * (IPv4, and IPv6 on its link-local and assigned addresses) and echoes
 * every UDP datagram sent to its echo port back to the sender.  Two
 * payloads are commands:
 *
 *	xeno:stats	reply "rx=N tx=M" (frames received and sent so far,
 *			this one included in rx, the reply not in tx) and
 *			print "udp-echo: rx=N tx=M"
 *	xeno:exit	print "udp-echo: rx=N tx=M" and exit 0 (no reply)
 *
 * Arguments (all optional): dev=TAP (default: the first VIF), ip=A.B.C.D/P
 * and mac=MAC (default: what the VIF was assigned), gw=A.B.C.D,
 * port=N (default 7), seconds=S (exit 0 after S seconds, printing the
 * counts line; default: run until told).
 *
 * Prints "udp-echo: ready ip=A.B.C.D mac=M" once its queues are set up.
 * Idle, it sleeps in XENO_HC_YIELD: it costs no CPU until frames arrive.
 */
#include <xeno.h>
#include <xeno_inet.h>

#define ECHO_PORT_DEFAULT	7
#define ECHO_CMD_STATS		"xeno:stats"
#define ECHO_CMD_EXIT		"xeno:exit"
#define ECHO_DRAIN_NS		1000000000ULL

static struct xeno_net		echo_net;
static struct xeno_netif	echo_if;

static int
echo_is(const struct xeno_udp_rx *u, const char *cmd)
{
	size_t n = strlen(cmd);

	return u->ur_len == n && memcmp(u->ur_data, cmd, n) == 0;
}

/*
 * Before the final counts: let the device take every frame we queued, and
 * count (and drop) frames it already gave us, so that our counts and the
 * VIF's agree exactly.
 */
static void
echo_quiesce(void)
{
	uint32_t len;
	uint8_t *f;

	if (echo_if.ni_held != NULL) {
		xeno_net_rx_done(&echo_net, echo_if.ni_held);
		echo_if.ni_held = NULL;
	}
	while ((f = xeno_net_rx_next(&echo_net, &len)) != NULL)
		xeno_net_rx_done(&echo_net, f);
	xeno_net_rx_kick(&echo_net);
	if (xeno_net_tx_drain(&echo_net, xeno_mono_ns() + ECHO_DRAIN_NS) < 0)
		xeno_printf("udp-echo: %u frames still queued at exit\n",
		    xeno_vq_inflight(&echo_net.nd_txq));
}

static int
echo_counts(char *buf, size_t len)
{
	return xeno_snprintf(buf, len, "rx=%lu tx=%lu", echo_net.nd_rx_frames,
	    echo_net.nd_tx_frames);
}

int
main(int argc, char **argv)
{
	uint64_t port = xeno_arg_u64("port", ECHO_PORT_DEFAULT);
	const char *dev = xeno_arg_str("dev");
	uint64_t deadline = UINT64_MAX, ns;
	char ip[XENO_IP4_STR], mac[XENO_MAC_STR], line[64];
	struct xeno_udp_rx u;
	int rc, n;

	(void)argc;
	(void)argv;
	if (port == 0 || port > 65535)
		xeno_abort("udp-echo: port=%lu is not a UDP port", port);
	if ((ns = xeno_arg_ns("seconds", 0)) != 0)
		deadline = xeno_mono_ns() + ns;
	if ((rc = xeno_net_open(&echo_net, dev, 0, 0)) < 0)
		xeno_abort("udp-echo: cannot open network device '%s' (error "
		    "%d): run with --vif, or name its tap with dev=",
		    dev != NULL ? dev : "(first)", rc);
	xeno_netif_init(&echo_if, &echo_net);
	xeno_netif_args(&echo_if, "udp-echo");
	xeno_printf("udp-echo: ready ip=%s mac=%s\n",
	    xeno_ip4_fmt(echo_if.ni_ip, ip), xeno_mac_fmt(echo_if.ni_mac, mac));

	for (;;) {
		while (xeno_netif_poll(&echo_if, &u)) {
			if (u.ur_dport != port)
				continue;
			if (echo_is(&u, ECHO_CMD_EXIT)) {
				echo_quiesce();
				echo_counts(line, sizeof(line));
				xeno_printf("udp-echo: %s\n", line);
				return 0;
			}
			if (echo_is(&u, ECHO_CMD_STATS)) {
				n = echo_counts(line, sizeof(line));
				xeno_printf("udp-echo: %s\n", line);
				xeno_udp_reply(&echo_if, &u, line, (uint32_t)n);
				continue;
			}
			xeno_udp_reply(&echo_if, &u, u.ur_data, u.ur_len);
		}
		/* Everything queued is published; buffers sent come back. */
		xeno_net_tx_reap(&echo_net);
		if (xeno_mono_ns() >= deadline)
			break;
		if (xeno_netif_wait(&echo_if, deadline) < 0)
			break;	/* the domain is being shut down */
	}
	echo_quiesce();
	echo_counts(line, sizeof(line));
	xeno_printf("udp-echo: %s\n", line);
	return 0;
}
