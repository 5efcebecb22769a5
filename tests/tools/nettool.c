/*
 * nettool: the host side of the network tests and benchmarks.
 *
 *	nettool udp-echo IP PORT COUNT [SIZE]	COUNT datagrams, each echoed
 *	nettool udp-call IP PORT MSG		send MSG, print the reply
 *	nettool udp-send IP PORT MSG		send MSG, no reply expected
 *	nettool tap-write TAP SIZE SECONDS	native baseline: write frames
 *						to a tap as fast as possible
 *	nettool tap-read TAP SECONDS		native baseline: read a tap
 *	nettool inject IFACE SIZE SECONDS [DSTMAC]	frames into an
 *						interface (AF_PACKET)
 *	nettool unix-read PATH SECONDS		connect to a stream socket
 *						(retrying until it exists),
 *						copy it to stdout until EOF
 *						or SECONDS
 *
 * Rates are printed as "key=value" words.  Exit 0 on success, 1 on a
 * failed check, 2 on bad usage or a system error.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "nettool: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int
udp_socket(const char *ip, const char *port, struct sockaddr_in *sa)
{
	int s;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1) {
		fprintf(stderr, "nettool: '%s' is not an IPv4 address\n", ip);
		exit(2);
	}
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s == -1 || connect(s, (struct sockaddr *)sa, sizeof(*sa)) == -1)
		die("udp socket");
	return s;
}

/* Send buf, wait up to ms for a reply into rbuf; length or -1. */
static ssize_t
udp_rpc(int s, const void *buf, size_t len, void *rbuf, size_t rlen, int ms)
{
	struct pollfd p = { .fd = s, .events = POLLIN };

	if (send(s, buf, len, 0) != (ssize_t)len)
		return -1;
	if (poll(&p, 1, ms) != 1)
		return -1;
	return recv(s, rbuf, rlen, 0);
}

static int
cmd_udp_echo(int argc, char **argv)
{
	struct sockaddr_in sa;
	char buf[2048], rbuf[2048];
	int s, i, count, size, ok = 0, tries;
	ssize_t n;

	if (argc < 3)
		return 2;
	count = atoi(argv[2]);
	size = argc > 3 ? atoi(argv[3]) : 32;
	if (size < 1 || size > 1400)
		return 2;
	s = udp_socket(argv[0], argv[1], &sa);
	for (i = 0; i < count; i++) {
		memset(buf, 'a' + i % 26, (size_t)size);
		snprintf(buf, (size_t)size, "%d", i);
		for (tries = 0; tries < 3; tries++) {
			n = udp_rpc(s, buf, (size_t)size, rbuf, sizeof(rbuf),
			    1000);
			if (n == size && memcmp(buf, rbuf, (size_t)size) == 0) {
				ok++;
				break;
			}
		}
	}
	printf("sent=%d echoed=%d\n", count, ok);
	return ok == count ? 0 : 1;
}

static int
cmd_udp_call(int argc, char **argv, int wait)
{
	struct sockaddr_in sa;
	char rbuf[2048];
	ssize_t n;
	int s;

	if (argc < 3)
		return 2;
	s = udp_socket(argv[0], argv[1], &sa);
	if (!wait)
		return send(s, argv[2], strlen(argv[2]), 0) == -1;
	n = udp_rpc(s, argv[2], strlen(argv[2]), rbuf, sizeof(rbuf) - 1,
	    2000);
	if (n < 0) {
		fprintf(stderr, "nettool: no reply from %s:%s\n", argv[0],
		    argv[1]);
		return 1;
	}
	rbuf[n] = '\0';
	printf("%s\n", rbuf);
	return 0;
}

static int
tap_open(const char *name)
{
	struct ifreq ifr;
	int fd;

	fd = open("/dev/net/tun", O_RDWR);
	if (fd == -1)
		die("/dev/net/tun");
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) == -1)
		die(name);
	return fd;
}

/* A UDP/IPv4 frame of `size` bytes to port 9, the kind pktgen sends. */
static void
frame_fill(uint8_t *f, size_t size, const uint8_t dst[6])
{
	static const uint8_t src[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
	uint16_t iplen = (uint16_t)(size - 14), udplen = (uint16_t)(size - 34);

	memset(f, 0, size);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)(iplen >> 8);
	f[17] = (uint8_t)iplen;
	f[22] = 64;
	f[23] = 17;
	memcpy(f + 26, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	f[34] = 0x30;
	f[35] = 0x39;
	f[37] = 9;
	f[38] = (uint8_t)(udplen >> 8);
	f[39] = (uint8_t)udplen;
}

static void
rate_print(const char *what, unsigned long long n, unsigned long long bytes,
    double secs)
{
	printf("%s=%llu bytes=%llu seconds=%.3f pps=%.0f\n", what, n, bytes,
	    secs, (double)n / secs);
}

static int
cmd_tap_write(int argc, char **argv)
{
	static const uint8_t dst[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	uint8_t f[1514];
	unsigned long long n = 0;
	double t0, t1, secs;
	size_t size;
	int fd;

	if (argc < 3)
		return 2;
	size = (size_t)atoi(argv[1]);
	secs = atof(argv[2]);
	if (size < 60 || size > sizeof(f))
		return 2;
	fd = tap_open(argv[0]);
	frame_fill(f, size, dst);
	t0 = now_s();
	do {
		for (int i = 0; i < 256; i++)
			if (write(fd, f, size) == (ssize_t)size)
				n++;
		t1 = now_s();
	} while (t1 - t0 < secs);
	rate_print("written", n, n * size, t1 - t0);
	return 0;
}

static int
cmd_tap_read(int argc, char **argv)
{
	uint8_t f[65536];
	unsigned long long n = 0, bytes = 0;
	double t0 = 0, t1, secs;
	struct pollfd p;
	ssize_t r;
	int fd;

	if (argc < 2)
		return 2;
	secs = atof(argv[1]);
	fd = tap_open(argv[0]);
	p.fd = fd;
	p.events = POLLIN;
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		if (poll(&p, 1, 200) == 0) {
			if (n != 0)
				break;
			continue;
		}
		r = read(fd, f, sizeof(f));
		if (r <= 0)
			continue;
		if (n++ == 0)
			t0 = now_s();
		bytes += (unsigned long long)r;
		if (now_s() - t0 >= secs)
			break;
	}
	t1 = now_s();
	rate_print("read", n, bytes, n ? t1 - t0 : 1);
	return 0;
}

static int
cmd_inject(int argc, char **argv)
{
	uint8_t dst[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	struct sockaddr_ll ll;
	uint8_t f[1514];
	unsigned long long n = 0;
	double t0, t1, secs;
	size_t size;
	int s, i;

	if (argc < 3)
		return 2;
	size = (size_t)atoi(argv[1]);
	secs = atof(argv[2]);
	if (size < 60 || size > sizeof(f))
		return 2;
	if (argc > 3 && sscanf(argv[3], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx",
	    &dst[0], &dst[1], &dst[2], &dst[3], &dst[4], &dst[5]) != 6)
		return 2;
	s = socket(AF_PACKET, SOCK_RAW, 0);
	if (s == -1)
		die("AF_PACKET socket");
	memset(&ll, 0, sizeof(ll));
	ll.sll_family = AF_PACKET;
	{
		struct ifreq ifr;

		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[0]);
		if (ioctl(s, SIOCGIFINDEX, &ifr) == -1)
			die(argv[0]);
		ll.sll_ifindex = ifr.ifr_ifindex;
	}
	frame_fill(f, size, dst);
	t0 = now_s();
	do {
		for (i = 0; i < 256; i++)
			if (sendto(s, f, size, 0, (struct sockaddr *)&ll,
			    sizeof(ll)) == (ssize_t)size)
				n++;
		t1 = now_s();
	} while (t1 - t0 < secs);
	rate_print("injected", n, n * size, t1 - t0);
	return 0;
}

static int
cmd_unix_read(int argc, char **argv)
{
	struct sockaddr_un sun;
	struct pollfd pfd;
	char buf[4096];
	double end;
	ssize_t n;
	int s = -1;

	if (argc < 2 || strlen(argv[0]) >= sizeof(sun.sun_path))
		return 2;
	end = now_s() + atof(argv[1]);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, argv[0], strlen(argv[0]) + 1);
	while (s == -1) {
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (s == -1)
			die("socket");
		if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			break;
		close(s);
		s = -1;
		if (now_s() > end) {
			fprintf(stderr, "nettool: cannot connect to %s\n",
			    argv[0]);
			return 1;
		}
		usleep(10000);
	}
	pfd.fd = s;
	pfd.events = POLLIN;
	while (now_s() < end) {
		if (poll(&pfd, 1, 100) < 1)
			continue;
		n = read(s, buf, sizeof(buf));
		if (n <= 0)
			break;
		if (write(STDOUT_FILENO, buf, (size_t)n) != n)
			die("stdout");
	}
	close(s);
	return 0;
}

int
main(int argc, char **argv)
{
	int rc = 2;

	if (argc < 2)
		goto usage;
	if (strcmp(argv[1], "udp-echo") == 0)
		rc = cmd_udp_echo(argc - 2, argv + 2);
	else if (strcmp(argv[1], "udp-call") == 0)
		rc = cmd_udp_call(argc - 2, argv + 2, 1);
	else if (strcmp(argv[1], "udp-send") == 0)
		rc = cmd_udp_call(argc - 2, argv + 2, 0);
	else if (strcmp(argv[1], "tap-write") == 0)
		rc = cmd_tap_write(argc - 2, argv + 2);
	else if (strcmp(argv[1], "tap-read") == 0)
		rc = cmd_tap_read(argc - 2, argv + 2);
	else if (strcmp(argv[1], "inject") == 0)
		rc = cmd_inject(argc - 2, argv + 2);
	else if (strcmp(argv[1], "unix-read") == 0)
		rc = cmd_unix_read(argc - 2, argv + 2);
	if (rc != 2)
		return rc;
usage:
	fprintf(stderr, "usage: nettool udp-echo IP PORT COUNT [SIZE] | "
	    "udp-call IP PORT MSG | udp-send IP PORT MSG |\n"
	    "       tap-write TAP SIZE SECONDS | tap-read TAP SECONDS | "
	    "inject IFACE SIZE SECONDS [DSTMAC] |\n"
	    "       unix-read PATH SECONDS\n");
	return 2;
}
