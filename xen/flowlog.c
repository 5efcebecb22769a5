/*
 * The flow-log ring file (xeno/flowlog.h): created by `xeno-hv run
 * --flowlog`, filled by the VIF threads, drained by `xeno-hv flows` or
 * xeno-controld.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xen.h"
#include "xeno/log.h"

#define FLOWLOG_HDR_SIZE	4096
#define FLOWLOG_DEFAULT_RECS	4096
#define FLOWLOG_MAX_RECS	(1U << 20)

struct flowlog {
	struct xeno_flowlog_hdr	*fl_hdr;
	struct xeno_flow_rec	*fl_rec;
	size_t			 fl_size;
	pthread_mutex_t		 fl_lock;
};

/* "PATH[,records=N][,interval=SECONDS]" */
struct flowlog *
flowlog_create(const char *spec, const char *domain, char *err, size_t errsz)
{
	char path[4096], *opt, *next, *end;
	unsigned long recs = FLOWLOG_DEFAULT_RECS, secs = 60, v;
	struct flowlog *fl;
	size_t size;
	void *p;
	int fd;

	if (snprintf(path, sizeof(path), "%s", spec) >= (int)sizeof(path)) {
		err_set(err, errsz, 0, "--flowlog: path too long");
		return NULL;
	}
	if ((opt = strchr(path, ',')) != NULL)
		*opt++ = '\0';
	for (; opt != NULL && *opt != '\0'; opt = next) {
		if ((next = strchr(opt, ',')) != NULL)
			*next++ = '\0';
		errno = 0;
		if (strncmp(opt, "records=", 8) == 0) {
			v = strtoul(opt + 8, &end, 10);
			if (errno != 0 || *end != '\0' || v < 16 ||
			    v > FLOWLOG_MAX_RECS)
				goto bad;
			recs = v;
		} else if (strncmp(opt, "interval=", 9) == 0) {
			v = strtoul(opt + 9, &end, 10);
			if (errno != 0 || *end != '\0' || v < 1 || v > 3600)
				goto bad;
			secs = v;
		} else
			goto bad;
	}
	if ((fl = calloc(1, sizeof(*fl))) == NULL) {
		err_set(err, errsz, errno, "--flowlog");
		return NULL;
	}
	size = FLOWLOG_HDR_SIZE + recs * sizeof(struct xeno_flow_rec);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd == -1 || ftruncate(fd, (off_t)size) == -1) {
		err_set(err, errsz, errno, "--flowlog: cannot create '%s'",
		    path);
		if (fd != -1)
			close(fd);
		free(fl);
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		err_set(err, errsz, errno, "--flowlog: mmap");
		free(fl);
		return NULL;
	}
	fl->fl_hdr = p;
	fl->fl_rec = (struct xeno_flow_rec *)(void *)((uint8_t *)p +
	    FLOWLOG_HDR_SIZE);
	fl->fl_size = size;
	pthread_mutex_init(&fl->fl_lock, NULL);
	fl->fl_hdr->fh_version = XENO_FLOWLOG_VERSION;
	fl->fl_hdr->fh_rec_size = sizeof(struct xeno_flow_rec);
	fl->fl_hdr->fh_rec_off = FLOWLOG_HDR_SIZE;
	fl->fl_hdr->fh_capacity = (uint32_t)recs;
	fl->fl_hdr->fh_pid = (uint32_t)getpid();
	fl->fl_hdr->fh_interval_ns = secs * 1000000000ULL;
	snprintf(fl->fl_hdr->fh_domain, sizeof(fl->fl_hdr->fh_domain), "%s",
	    domain);
	__atomic_store_n(&fl->fl_hdr->fh_magic, XENO_FLOWLOG_MAGIC,
	    __ATOMIC_RELEASE);
	return fl;
bad:
	err_set(err, errsz, 0, "--flowlog: '%s' is not records=N (16 to %u) "
	    "or interval=SECONDS (1 to 3600)", opt, FLOWLOG_MAX_RECS);
	return NULL;
}

void
flowlog_destroy(struct flowlog *fl)
{
	if (fl == NULL)
		return;
	pthread_mutex_destroy(&fl->fl_lock);
	munmap(fl->fl_hdr, fl->fl_size);
	free(fl);
}

uint64_t
flowlog_interval(const struct flowlog *fl)
{
	return fl->fl_hdr->fh_interval_ns;
}

int
flowlog_put(struct flowlog *fl, const struct xeno_flow_rec *r)
{
	struct xeno_flowlog_hdr *h;
	uint64_t head, tail;
	int rc = 0;

	if (fl == NULL)
		return 0;
	h = fl->fl_hdr;
	pthread_mutex_lock(&fl->fl_lock);
	head = h->fh_head;
	tail = __atomic_load_n(&h->fh_tail, __ATOMIC_ACQUIRE);
	if (head - tail >= h->fh_capacity || tail > head) {
		__atomic_fetch_add(&h->fh_lost_records, 1, __ATOMIC_RELAXED);
		rc = -1;
	} else {
		fl->fl_rec[head % h->fh_capacity] = *r;
		__atomic_store_n(&h->fh_head, head + 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&fl->fl_lock);
	return rc;
}

void
flowlog_lost(struct flowlog *fl, uint64_t pkts, uint64_t bytes)
{
	if (fl == NULL)
		return;
	__atomic_fetch_add(&fl->fl_hdr->fh_lost_packets, pkts,
	    __ATOMIC_RELAXED);
	__atomic_fetch_add(&fl->fl_hdr->fh_lost_bytes, bytes,
	    __ATOMIC_RELAXED);
}

/* ---- the reader: `xeno-hv flows FILE [--json] [--follow]` ---- */

static void
flow_addr(const struct xeno_flow_rec *r, const uint8_t *a, char *buf,
    size_t n)
{
	if (r->fr_l3 == VFR_L3_IP4)
		inet_ntop(AF_INET, a + 12, buf, (socklen_t)n);
	else if (r->fr_l3 == VFR_L3_IP6)
		inet_ntop(AF_INET6, a, buf, (socklen_t)n);
	else
		snprintf(buf, n, "%02x:%02x:%02x:%02x:%02x:%02x", a[10], a[11],
		    a[12], a[13], a[14], a[15]);
}

static const char *
flow_why(unsigned w)
{
	static const char *const n[] = { "interval", "end", "evict", "log" };

	return w < 4 ? n[w] : "?";
}

static void
flow_rule(uint32_t rule, char *buf, size_t n)
{
	if (rule == VFR_RULE_POLICY)
		snprintf(buf, n, "policy");
	else if (rule == VFR_RULE_SPOOF)
		snprintf(buf, n, "spoof");
	else if (rule == VFR_RULE_CTFULL)
		snprintf(buf, n, "ct-full");
	else
		snprintf(buf, n, "%u", rule);
}

static void
flow_print(const struct xeno_flow_rec *r, int json)
{
	char src[64], dst[64], rule[16], name[17];
	const char *act = r->fr_action == 1 ? "ACCEPT" :
	    r->fr_action == 2 ? "REJECT" : "-";

	flow_addr(r, r->fr_src, src, sizeof(src));
	flow_addr(r, r->fr_dst, dst, sizeof(dst));
	flow_rule(r->fr_rule, rule, sizeof(rule));
	memcpy(name, r->fr_vif_name, 16);
	name[16] = '\0';
	if (json) {
		printf("{\"type\":\"%s\",\"interface\":\"%s\",\"vif\":%u,"
		    "\"direction\":\"%s\",\"srcaddr\":\"%s\",\"dstaddr\":\"%s\","
		    "\"srcport\":%u,\"dstport\":%u,\"protocol\":%u,"
		    "\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ","
		    "\"start_ns\":%" PRIu64 ",\"end_ns\":%" PRIu64 ","
		    "\"action\":\"%s\",\"rule\":\"%s\",\"generation\":%u,"
		    "\"tcp_flags\":%u,\"reason\":\"%s\"}\n",
		    r->fr_type == XENO_FLOW_REC_PACKET ? "packet" : "flow",
		    name, r->fr_vif, r->fr_dir == 1 ? "in" : "out", src, dst,
		    r->fr_sport, r->fr_dport, r->fr_proto, r->fr_packets,
		    r->fr_bytes, r->fr_start_realtime_ns,
		    r->fr_end_realtime_ns, act, rule, r->fr_gen,
		    r->fr_tcpflags, flow_why(r->fr_why));
		return;
	}
	printf("%-6s %-10s %-3s %-25s %-25s %5u %5u %3u %8" PRIu64 " %10"
	    PRIu64 " %" PRIu64 ".%03" PRIu64 " %" PRIu64 ".%03" PRIu64
	    " %-6s %-7s 0x%02x %s\n",
	    r->fr_type == XENO_FLOW_REC_PACKET ? "packet" : "flow", name,
	    r->fr_dir == 1 ? "in" : "out", src, dst, r->fr_sport, r->fr_dport,
	    r->fr_proto, r->fr_packets, r->fr_bytes,
	    (uint64_t)(r->fr_start_realtime_ns / 1000000000U),
	    (uint64_t)(r->fr_start_realtime_ns / 1000000U % 1000),
	    (uint64_t)(r->fr_end_realtime_ns / 1000000000U),
	    (uint64_t)(r->fr_end_realtime_ns / 1000000U % 1000), act, rule,
	    r->fr_tcpflags, flow_why(r->fr_why));
}

/*
 * Print and consume the records waiting in the ring at path.  follow:
 * keep waiting for more while the writer lives.  0, or -1 with err.
 */
int
flowlog_print(const char *path, int json, int follow, char *err,
    size_t errsz)
{
	struct xeno_flowlog_hdr *h;
	struct xeno_flow_rec r;
	struct timespec ts = { 0, 100000000 };
	struct stat st;
	uint64_t head, tail;
	size_t size;
	uint8_t *p;
	int fd, alive;

	if ((fd = open(path, O_RDWR | O_CLOEXEC)) == -1)
		return err_set(err, errsz, errno, "cannot open flow log '%s'",
		    path);
	if (fstat(fd, &st) == -1 || st.st_size < FLOWLOG_HDR_SIZE) {
		close(fd);
		return err_set(err, errsz, 0, "'%s' is not a flow log "
		    "(too small)", path);
	}
	size = (size_t)st.st_size;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return err_set(err, errsz, errno, "mmap '%s'", path);
	h = (struct xeno_flowlog_hdr *)(void *)p;
	if (__atomic_load_n(&h->fh_magic, __ATOMIC_ACQUIRE) !=
	    XENO_FLOWLOG_MAGIC || h->fh_version != XENO_FLOWLOG_VERSION ||
	    h->fh_rec_size != sizeof(r) || h->fh_rec_off < sizeof(*h) ||
	    h->fh_capacity == 0 || (uint64_t)h->fh_rec_off +
	    (uint64_t)h->fh_capacity * sizeof(r) > size) {
		munmap(p, size);
		return err_set(err, errsz, 0, "'%s' is not a flow log of "
		    "version %d", path, XENO_FLOWLOG_VERSION);
	}
	if (!json)
		printf("%-6s %-10s %-3s %-25s %-25s %5s %5s %3s %8s %10s %-14s "
		    "%-14s %-6s %-7s %-4s %s\n", "type", "interface", "dir",
		    "srcaddr", "dstaddr", "sport", "dport", "pr", "packets",
		    "bytes", "start", "end", "action", "rule", "tcp", "why");
	for (;;) {
		head = __atomic_load_n(&h->fh_head, __ATOMIC_ACQUIRE);
		tail = h->fh_tail;
		if (tail > head || head - tail > h->fh_capacity)
			tail = head - (head < h->fh_capacity ? head :
			    h->fh_capacity);
		for (; tail < head; tail++) {
			memcpy(&r, p + h->fh_rec_off + (tail % h->fh_capacity) *
			    sizeof(r), sizeof(r));
			flow_print(&r, json);
			__atomic_store_n(&h->fh_tail, tail + 1,
			    __ATOMIC_RELEASE);
		}
		fflush(stdout);
		alive = kill((pid_t)h->fh_pid, 0) == 0 || errno == EPERM;
		if (!follow || (!alive && __atomic_load_n(&h->fh_head,
		    __ATOMIC_ACQUIRE) == tail))
			break;
		nanosleep(&ts, NULL);
	}
	if (!json && h->fh_lost_records != 0)
		fprintf(stderr, "flows: %" PRIu64 " records lost (ring full): "
		    "%" PRIu64 " packets, %" PRIu64 " bytes\n",
		    h->fh_lost_records, h->fh_lost_packets, h->fh_lost_bytes);
	munmap(p, size);
	return 0;
}
