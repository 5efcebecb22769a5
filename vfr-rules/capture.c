/*
 * `xeno-vfrc capture`: a pcap capture of a running domain's VIF, written
 * with libpcap.
 *
 *	xeno-vfrc capture SOCKET VIF -w FILE [-s SNAPLEN] [-c COUNT]
 *	    [-G SECONDS] [-C BYTES] [FILTER...]
 *
 * The filter (pcap-filter(7) syntax, no host or service names) is
 * compiled here with pcap_compile() and runs inside xeno-hv, which sends
 * the frames it accepts, both directions, over a SOCK_SEQPACKET socket
 * handed over through the control socket (docs/CONTROL.md).  xeno-hv
 * never waits for us: frames we are too slow for are counted there
 * (capture_drops).  The capture ends after COUNT packets, SECONDS
 * seconds, BYTES bytes written, or SIGINT/SIGTERM; the file is complete
 * in every case.
 */
#include <sys/socket.h>

#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lang.h"
#include "vfr.h"
#include "xen.h"
#include "xeno/control.h"

#define CAP_USAGE	"usage: xeno-vfrc capture SOCKET VIF -w FILE " \
			"[-s SNAPLEN] [-c COUNT] [-G SECONDS] [-C BYTES] " \
			"[FILTER...]"

static volatile sig_atomic_t cap_stop;

static void
cap_signal(int sig)
{
	(void)sig;
	cap_stop = 1;
}

static int
cap_num(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

static uint64_t
cap_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
vfr_capture_main(int argc, char **argv)
{
	struct xeno_ctl_capture *cc;
	struct bpf_program prog = { 0, NULL };
	struct sigaction sa;
	struct pcap_pkthdr ph;
	struct pollfd pfd;
	pcap_t *pd = NULL;
	pcap_dumper_t *dump = NULL;
	const char *sock, *file = NULL;
	char filter[4096] = "", msg[XENO_CTL_MSG_MAX + 1];
	uint64_t vif, snaplen = 0, count = 0, secs = 0, maxbytes = 0, n = 0,
	    bytes = 0, t_end = 0, v;
	uint8_t *payload = NULL, *buf = NULL;
	size_t plen, off = 0;
	ssize_t r;
	int sv[2] = { -1, -1 }, i, rc = 1, started = 0;

	if (argc < 3 || cap_num(argv[2], &vif) == -1 || vif > 15) {
		fprintf(stderr, "xeno-vfrc: %s (VIF is the device index, "
		    "0 to 15)\n", CAP_USAGE);
		return 64;
	}
	sock = argv[1];
	for (i = 3; i < argc; i++) {
		const char *o = argv[i];

		if (o[0] == '-' && strchr("wscGC", o[1]) != NULL &&
		    o[2] == '\0') {
			if (i + 1 >= argc)
				goto usage;
			if (o[1] == 'w')
				file = argv[++i];
			else if (cap_num(argv[++i], &v) == -1)
				goto usage;
			else if (o[1] == 's')
				snaplen = v;
			else if (o[1] == 'c')
				count = v;
			else if (o[1] == 'G')
				secs = v;
			else
				maxbytes = v;
			continue;
		}
		if (o[0] == '-')
			goto usage;
		if (strlen(filter) + strlen(o) + 2 > sizeof(filter)) {
			fprintf(stderr, "xeno-vfrc: capture filter longer "
			    "than %zu bytes\n", sizeof(filter) - 1);
			return 64;
		}
		if (filter[0] != '\0')
			strcat(filter, " ");
		strcat(filter, o);
	}
	if (file == NULL || snaplen > 65535)
		goto usage;
	if ((pd = pcap_open_dead(DLT_EN10MB, snaplen ? (int)snaplen :
	    65535)) == NULL) {
		fprintf(stderr, "xeno-vfrc: pcap_open_dead failed\n");
		return 70;
	}
	if (filter[0] != '\0') {
		if (vfr_pcap_names_ok(filter, msg, sizeof(msg)) == -1 ||
		    pcap_compile(pd, &prog, filter, 1,
		    PCAP_NETMASK_UNKNOWN) == -1) {
			fprintf(stderr, "xeno-vfrc: capture filter '%s': %s\n",
			    filter, msg[0] != '\0' ? msg : pcap_geterr(pd));
			goto out;
		}
	}
	if ((dump = pcap_dump_open(pd, file)) == NULL) {
		fprintf(stderr, "xeno-vfrc: cannot write '%s': %s\n", file,
		    pcap_geterr(pd));
		rc = 73;
		goto out;
	}
	plen = sizeof(*cc) + prog.bf_len * sizeof(struct vfr_insn);
	if ((payload = calloc(1, plen)) == NULL ||
	    (buf = malloc(sizeof(struct xeno_cap_msg) + 65536)) == NULL) {
		fprintf(stderr, "xeno-vfrc: out of memory\n");
		goto out;
	}
	cc = (struct xeno_ctl_capture *)(void *)payload;
	cc->cc_vif = (uint32_t)vif;
	cc->cc_snaplen = (uint32_t)snaplen;
	cc->cc_nbpf = prog.bf_len;
	for (i = 0; i < (int)prog.bf_len; i++) {
		struct vfr_insn in;

		in.bi_code = prog.bf_insns[i].code;
		in.bi_jt = prog.bf_insns[i].jt;
		in.bi_jf = prog.bf_insns[i].jf;
		in.bi_k = prog.bf_insns[i].k;
		memcpy(payload + sizeof(*cc) + (size_t)i * sizeof(in), &in,
		    sizeof(in));
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		perror("xeno-vfrc: socketpair");
		goto out;
	}
	r = ctl_request(sock, XENO_CTL_CAPTURE_START, payload, plen, sv[1],
	    NULL, msg, sizeof(msg));
	close(sv[1]);
	sv[1] = -1;
	if (r != 0) {
		fprintf(stderr, "xeno-vfrc: capture on %s: %s\n", sock,
		    r == -1 ? strerror(errno) : msg);
		goto out;
	}
	started = 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cap_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "xeno-vfrc: capturing VIF %" PRIu64 " of %s into "
	    "%s\n", vif, sock, file);
	if (secs != 0)
		t_end = cap_mono_ms() + secs * 1000;
	pfd.fd = sv[0];
	pfd.events = POLLIN;
	while (!cap_stop && (count == 0 || n < count) &&
	    (maxbytes == 0 || bytes < maxbytes)) {
		int wait = 200;

		if (t_end != 0) {
			uint64_t now = cap_mono_ms();

			if (now >= t_end)
				break;
			if (t_end - now < 200)
				wait = (int)(t_end - now);
		}
		if (poll(&pfd, 1, wait) <= 0)
			continue;
		r = recv(sv[0], buf, sizeof(struct xeno_cap_msg) + 65536, 0);
		if (r <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			break;	/* xeno-hv went away */
		}
		if ((size_t)r < sizeof(struct xeno_cap_msg))
			continue;
		{
			struct xeno_cap_msg m;

			memcpy(&m, buf, sizeof(m));
			off = sizeof(m);
			if (m.cm_caplen > (size_t)r - off)
				m.cm_caplen = (uint32_t)((size_t)r - off);
			ph.ts.tv_sec = (time_t)(m.cm_realtime_ns / 1000000000);
			ph.ts.tv_usec = (suseconds_t)(m.cm_realtime_ns /
			    1000 % 1000000);
			ph.caplen = m.cm_caplen;
			ph.len = m.cm_len;
			pcap_dump((u_char *)dump, &ph, buf + off);
			n++;
			bytes += 16 + m.cm_caplen;
		}
	}
	rc = 0;
out:
	if (started) {
		struct xeno_ctl_capture stop;

		memset(&stop, 0, sizeof(stop));
		stop.cc_vif = (uint32_t)vif;
		ctl_request(sock, XENO_CTL_CAPTURE_STOP, &stop, sizeof(stop),
		    -1, NULL, msg, sizeof(msg));
		fprintf(stderr, "xeno-vfrc: %" PRIu64 " packets captured\n",
		    n);
	}
	if (dump != NULL)
		pcap_dump_close(dump);
	if (prog.bf_insns != NULL)
		pcap_freecode(&prog);
	if (pd != NULL)
		pcap_close(pd);
	if (sv[0] != -1)
		close(sv[0]);
	free(payload);
	free(buf);
	return rc;
usage:
	fprintf(stderr, "xeno-vfrc: %s\n", CAP_USAGE);
	return 64;
}
