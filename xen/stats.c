/*
 * The counters page (xeno/stats.h): creation by xeno-hv, the seqlock
 * protocol, and the reader behind `xeno-hv stat`.  A stats file given to
 * the reader is untrusted input: stats_check() validates every offset.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xen.h"
#include "xeno/log.h"

/* Every error of this file: message in (err, errsz), errno EINVAL. */
#define STATS_ERR(...)	err_set(err, errsz, EINVAL, __VA_ARGS__)

#define STATS_ALIGN	64

static size_t
stats_vcpu_stride(void)
{
	return (sizeof(struct xeno_stats_vcpu) + STATS_ALIGN - 1) &
	    ~(size_t)(STATS_ALIGN - 1);
}

static size_t
stats_align(size_t x, size_t a)
{
	return (x + a - 1) & ~(a - 1);
}

/* Section offsets of a counters file for `nvcpus` vCPUs. */
static void
stats_layout(unsigned int nvcpus, size_t *dom_off, size_t *vcpu_off,
    size_t *dev_off)
{
	*dom_off = stats_align(sizeof(struct xeno_stats_hdr), STATS_ALIGN);
	*vcpu_off = stats_align(*dom_off + sizeof(struct xeno_stats_domain),
	    STATS_ALIGN);
	*dev_off = stats_align(*vcpu_off + nvcpus * stats_vcpu_stride(),
	    4096);
}

/* Bytes of a counters file for `nvcpus` vCPUs; the rule counters last. */
size_t
stats_size(unsigned int nvcpus)
{
	size_t dom_off, vcpu_off, dev_off;

	stats_layout(nvcpus, &dom_off, &vcpu_off, &dev_off);
	return dev_off + XENO_STATS_DEV_SIZE + sizeof(struct xeno_stats_rules);
}

/*
 * Create the counters page: in a new file next to `path` (made with
 * O_EXCL, mode 0644) that stats_publish() renames onto `path` once the
 * header is complete, or in anonymous memory when path is NULL.  Renaming
 * instead of truncating means a reader of a previous domain's file keeps
 * reading that file, never one shrinking or half-written under it.
 */
int
stats_create(struct stats_page *sp, const char *path, unsigned int nvcpus)
{
	struct xeno_stats_hdr *h;
	size_t size = stats_size(nvcpus), dom_off, vcpu_off, dev_off;
	int fd = -1, saved;
	void *p;

	memset(sp, 0, sizeof(*sp));
	if (path != NULL) {
		if (asprintf(&sp->sp_tmp, "%s.%d.tmp", path, (int)getpid()) ==
		    -1) {
			sp->sp_tmp = NULL;
			return -1;
		}
		if ((sp->sp_path = strdup(path)) == NULL)
			goto fail;
		fd = open(sp->sp_tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0644);
		if (fd == -1)
			goto fail;
		if (ftruncate(fd, (off_t)size) == -1)
			goto fail;
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		fd = -1;
	} else
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		goto fail;
	sp->sp_base = p;
	sp->sp_size = size;
	h = sp->sp_hdr = p;
	h->sh_version = XENO_STATS_VERSION;
	h->sh_size = (uint32_t)size;
	stats_layout(nvcpus, &dom_off, &vcpu_off, &dev_off);
	h->sh_domain_off = (uint32_t)dom_off;
	h->sh_vcpu_off = (uint32_t)vcpu_off;
	h->sh_vcpu_size = (uint32_t)stats_vcpu_stride();
	h->sh_nr_vcpus = nvcpus;
	h->sh_dev_off = (uint32_t)dev_off;
	h->sh_dev_size = XENO_STATS_DEV_SIZE;
	h->sh_rules_off = (uint32_t)(dev_off + XENO_STATS_DEV_SIZE);
	h->sh_rules_size = sizeof(struct xeno_stats_rules);
	h->sh_pid = (uint32_t)getpid();
	sp->sp_dom = (struct xeno_stats_domain *)(void *)(sp->sp_base +
	    h->sh_domain_off);
	/* The magic goes last: a reader that sees it sees a whole header. */
	__atomic_store_n(&h->sh_magic, XENO_STATS_MAGIC, __ATOMIC_RELEASE);
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	stats_destroy(sp);
	errno = saved;
	return -1;
}

/* Put a file-backed counters page in place under its real name. */
int
stats_publish(struct stats_page *sp)
{
	if (sp->sp_tmp == NULL)
		return 0;
	if (rename(sp->sp_tmp, sp->sp_path) == -1)
		return -1;
	free(sp->sp_tmp);
	sp->sp_tmp = NULL;
	return 0;
}

/* Unmap; a file never published is removed. */
void
stats_destroy(struct stats_page *sp)
{
	if (sp->sp_base != NULL)
		munmap(sp->sp_base, sp->sp_size);
	sp->sp_base = NULL;
	if (sp->sp_tmp != NULL)
		unlink(sp->sp_tmp);
	free(sp->sp_tmp);
	free(sp->sp_path);
	sp->sp_tmp = sp->sp_path = NULL;
}

struct xeno_stats_vcpu *
stats_vcpu(const struct stats_page *sp, unsigned int i)
{
	return (struct xeno_stats_vcpu *)(void *)(sp->sp_base +
	    sp->sp_hdr->sh_vcpu_off + (size_t)i * sp->sp_hdr->sh_vcpu_size);
}

struct xeno_stats_dev *
stats_dev(const struct stats_page *sp, unsigned int i)
{
	return (struct xeno_stats_dev *)(void *)(sp->sp_base +
	    sp->sp_hdr->sh_dev_off + (size_t)i * XENO_STATS_DEV_STRIDE);
}

/* Writer side: one writer per section at a time. */
void
stats_write_begin(uint32_t *seq)
{
	__atomic_store_n(seq, *seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

void
stats_write_end(uint32_t *seq)
{
	__atomic_store_n(seq, *seq + 1, __ATOMIC_RELEASE);
}

/*
 * Copy a section (whose first word is its seqlock) consistently.  Gives up
 * after `tries` attempts (EAGAIN) so a writer that died mid-update cannot
 * hang a reader.
 */
int
stats_read_section(const void *src, void *dst, size_t len,
    unsigned int tries)
{
	const uint32_t *seqp = src;
	const uint64_t *s = src;
	uint64_t *d = dst;
	uint32_t s1, s2;
	size_t i;

	while (tries-- > 0) {
		s1 = __atomic_load_n(seqp, __ATOMIC_ACQUIRE);
		if (s1 & 1)
			continue;
		for (i = 0; i < len / 8; i++)
			d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(seqp, __ATOMIC_RELAXED);
		if (s1 == s2)
			return 0;
	}
	errno = EAGAIN;
	return -1;
}

/*
 * Validate a counters file image before reading anything it points to.
 * The header is copied once into *hp, checked there, and readers use only
 * that copy: the file may change under them.
 */
int
stats_check(const uint8_t *base, size_t size, struct xeno_stats_hdr *hp,
    char *err, size_t errsz)
{
	struct xeno_stats_hdr h;
	uint64_t vend;

	if (size < sizeof(h))
		return STATS_ERR("file is %zu bytes, too small "
		    "for a counters header", size);
	memcpy(&h, base, sizeof(h));
	if (h.sh_magic != XENO_STATS_MAGIC)
		return STATS_ERR("not a xeno-hv counters file "
		    "(bad magic)");
	if (h.sh_version != XENO_STATS_VERSION)
		return STATS_ERR("counters file version %u, this "
		    "reader knows version %d", h.sh_version,
		    XENO_STATS_VERSION);
	if (h.sh_size != size)
		return STATS_ERR("header says %u bytes but the "
		    "file has %zu", h.sh_size, size);
	if (h.sh_nr_vcpus == 0 || h.sh_nr_vcpus > XENO_STATS_MAX_VCPUS ||
	    h.sh_vcpu_size < sizeof(struct xeno_stats_vcpu) ||
	    h.sh_domain_off % 8 != 0 || h.sh_vcpu_off % 8 != 0 ||
	    h.sh_vcpu_size % 8 != 0 ||
	    (uint64_t)h.sh_domain_off + sizeof(struct xeno_stats_domain) >
	    size)
		return STATS_ERR("corrupt counters header");
	vend = (uint64_t)h.sh_vcpu_off +
	    (uint64_t)h.sh_nr_vcpus * h.sh_vcpu_size;
	if (vend > size || (uint64_t)h.sh_dev_off + h.sh_dev_size > size)
		return STATS_ERR("corrupt counters header "
		    "(sections outside the file)");
	if (h.sh_dev_off % 8 != 0 || h.sh_dev_size <
	    (uint64_t)XENO_STATS_MAX_DEVS * XENO_STATS_DEV_STRIDE)
		return STATS_ERR("corrupt counters header (device area)");
	if (h.sh_rules_off % 8 != 0 || h.sh_rules_size <
	    sizeof(struct xeno_stats_rules) ||
	    (uint64_t)h.sh_rules_off + h.sh_rules_size > size)
		return STATS_ERR("corrupt counters header (rule area)");
	*hp = h;
	return 0;
}

/*
 * A reader's view of a counters file: mapped read-only, header checked.
 * The mapping (its size in *sizep, the checked header in *hp), or NULL
 * with errno (EINVAL: not a counters file, or not published yet) and a
 * message.  The reader munmap()s it.
 */
void *
stats_map(const char *path, size_t *sizep, struct xeno_stats_hdr *hp,
    char *err, size_t errsz)
{
	struct stat st;
	void *p;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		err_set(err, errsz, errno, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size < (off_t)sizeof(*hp) || st.st_size > (1 << 24)) {
		close(fd);
		STATS_ERR("not a counters file");
		return NULL;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	e = errno;
	close(fd);
	if (p == MAP_FAILED) {
		err_set(err, errsz, e, "%s", strerror(e));
		return NULL;
	}
	if (stats_check(p, (size_t)st.st_size, hp, err, errsz) == -1) {
		munmap(p, (size_t)st.st_size);
		errno = EINVAL;
		return NULL;
	}
	*sizep = (size_t)st.st_size;
	return p;
}

static const char *const stats_exit_names[] = {
	"unknown", "exception", "io", "hypercall", "debug", "hlt", "mmio",
	"irq_window", "shutdown", "fail_entry", "intr", "set_tpr",
	"tpr_access", "s390_sieic", "s390_reset", "dcr", "nmi",
	"internal_error", "osi", "papr_hcall", "s390_ucontrol", "watchdog",
	"s390_tsch", "epr", "system_event", "s390_stsi", "ioapic_eoi",
	"hyperv", "arm_nisv", "x86_rdmsr", "x86_wrmsr", "dirty_ring_full",
	"ap_reset_hold", "x86_bus_lock", "xen", "riscv_sbi", "riscv_csr",
	"notify",
};

const char *
stats_exit_name(unsigned int r)
{
	if (r < sizeof(stats_exit_names) / sizeof(stats_exit_names[0]))
		return stats_exit_names[r];
	return "other";
}

static const char *const stats_hcall_names[XENO_HC_NR] = {
	"nop", "console_write", "clock", "yield", "exit", "abort", "booted",
	"vcpu_start", "vcpu_stop", "device_info", "queue_setup",
};

const char *
stats_hcall_name(unsigned int nr)
{
	if (nr < XENO_HC_NR)
		return stats_hcall_names[nr];
	return "unknown";
}

static const char *
stats_state_name(uint32_t s)
{
	switch (s) {
	case XENO_DOM_CREATED:
		return "created";
	case XENO_DOM_RUNNING:
		return "running";
	case XENO_DOM_PAUSED:
		return "paused";
	case XENO_DOM_SHUTDOWN:
		return "shutdown";
	}
	return "?";
}

static const char *
stats_end_name(uint32_t e)
{
	switch (e) {
	case XENO_END_NONE:
		return "none";
	case XENO_END_EXIT:
		return "exit";
	case XENO_END_ABORT:
		return "abort";
	case XENO_END_CRASH:
		return "crash";
	case XENO_END_DESTROY:
		return "destroy";
	case XENO_END_ERROR:
		return "error";
	case XENO_END_VCPUS_DOWN:
		return "vcpus_down";
	}
	return "?";
}

static const char *
stats_vcpu_state_name(uint32_t s)
{
	switch (s) {
	case XENO_VCPU_OFFLINE:
		return "offline";
	case XENO_VCPU_RUNNING:
		return "running";
	case XENO_VCPU_BLOCKED:
		return "blocked";
	case XENO_VCPU_STOPPED:
		return "stopped";
	}
	return "?";
}

/* Guest run time including a KVM_RUN still in progress at `now`. */
static uint64_t
stats_run_ns(const struct xeno_stats_vcpu *v, uint64_t now)
{
	uint64_t run = v->sv_run_ns;

	if (v->sv_run_since_ns != 0 && now > v->sv_run_since_ns)
		run += now - v->sv_run_since_ns;
	return run;
}

static void
stats_json_str(const char *s, size_t max)
{
	size_t i;

	putchar('"');
	for (i = 0; i < max && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static double
stats_sec(uint64_t ns)
{
	return (double)ns / 1e9;
}

static uint64_t
stats_since(uint64_t t, uint64_t base)
{
	return t >= base && t != 0 ? t - base : 0;
}

/* A named counter, for printing groups of them the same way. */
struct stats_kv {
	const char	*k;
	uint64_t	 v;
};

#define KV(name, val)	{ name, (uint64_t)(val) }
#define NKV(a)		(sizeof(a) / sizeof((a)[0]))

/*
 * "k":v,... for JSON, k v ... for text; zeros skipped in text if asked.
 * Returns how many were printed.
 */
static size_t
stats_kvs(const struct stats_kv *kv, size_t n, int json, int skip0)
{
	const char *sep = "";
	size_t i, p = 0;

	for (i = 0; i < n; i++) {
		if (json)
			printf("%s\"%s\":%" PRIu64, sep, kv[i].k, kv[i].v);
		else if (!skip0 || kv[i].v != 0)
			printf(" %s %" PRIu64, kv[i].k, kv[i].v);
		else
			continue;
		sep = ",";
		p++;
	}
	return p;
}

static void
stats_print_queue(const struct xeno_stats_queue *q, const char *name,
    int json)
{
	const struct stats_kv kv[] = {
		KV("size", q->sq_size), KV("broken", q->sq_broken),
		KV("doorbells", q->sq_doorbells), KV("kicks", q->sq_kicks),
		KV("popped", q->sq_popped), KV("pushed", q->sq_pushed),
		KV("notify_sent", q->sq_notify_sent),
		KV("notify_suppressed", q->sq_notify_suppressed),
	};
	const struct stats_kv err[] = {
		KV("addr", q->sq_err_addr), KV("loop", q->sq_err_loop),
		KV("index", q->sq_err_index), KV("order", q->sq_err_order),
		KV("nested", q->sq_err_nested),
		KV("indirect", q->sq_err_indirect), KV("len", q->sq_err_len),
		KV("ring", q->sq_err_ring),
	};

	if (json) {
		printf("{\"name\":\"%s\",", name);
		stats_kvs(kv, NKV(kv), 1, 0);
		printf(",\"errors\":{");
		stats_kvs(err, NKV(err), 1, 0);
		printf("}}");
		return;
	}
	printf("      queue %-2s", name);
	stats_kvs(kv, NKV(kv), 0, 0);
	printf(" errors");
	if (stats_kvs(err, NKV(err), 0, 1) == 0)
		printf(" 0");
	printf("\n");
}

static void
stats_print_net(const struct xeno_stats_net *n, int json)
{
	const struct stats_kv kv[] = {
		KV("rx_packets", n->sn_rx_packets),
		KV("rx_bytes", n->sn_rx_bytes),
		KV("tx_packets", n->sn_tx_packets),
		KV("tx_bytes", n->sn_tx_bytes),
		KV("rx_drop_no_buffer", n->sn_rx_drop_no_buffer),
		KV("rx_drop_filter", n->sn_rx_drop_filter),
		KV("rx_drop_ratelimit", n->sn_rx_drop_ratelimit),
		KV("tx_drop_filter", n->sn_tx_drop_filter),
		KV("tx_drop_ratelimit", n->sn_tx_drop_ratelimit),
		KV("tx_drop_tap", n->sn_tx_drop_tap),
		KV("rx_errors", n->sn_rx_errors),
		KV("tx_errors", n->sn_tx_errors),
		KV("rx_throttled", n->sn_rx_throttled),
		KV("tx_throttled", n->sn_tx_throttled),
		KV("rx_stalls", n->sn_rx_stalls),
		KV("rl_rx_bytes_per_s", n->sn_rl_rx_bytes_per_s),
		KV("rl_rx_pkts_per_s", n->sn_rl_rx_pkts_per_s),
		KV("rl_tx_bytes_per_s", n->sn_rl_tx_bytes_per_s),
		KV("rl_tx_pkts_per_s", n->sn_rl_tx_pkts_per_s),
	};
	const struct stats_kv fw[] = {
		KV("gen", n->sn_fw_gen), KV("rules", n->sn_fw_rules),
		KV("prog_bytes", n->sn_fw_prog_bytes),
		KV("flows", n->sn_ct_flows), KV("flows_max", n->sn_ct_max),
		KV("tx_drop_spoof", n->sn_tx_drop_spoof),
		KV("spoof_mac", n->sn_spoof_mac),
		KV("spoof_ip", n->sn_spoof_ip),
		KV("spoof_arp", n->sn_spoof_arp),
		KV("spoof_nd", n->sn_spoof_nd),
		KV("spoof_malformed", n->sn_spoof_malformed),
		KV("rx_drop_foreign", n->sn_rx_drop_foreign),
		KV("rx_drop_policy", n->sn_rx_drop_policy),
		KV("tx_drop_policy", n->sn_tx_drop_policy),
		KV("rx_drop_rlrule", n->sn_rx_drop_rlrule),
		KV("tx_drop_rlrule", n->sn_tx_drop_rlrule),
		KV("rx_drop_ctfull", n->sn_rx_drop_ctfull),
		KV("tx_drop_ctfull", n->sn_tx_drop_ctfull),
		KV("rx_reject", n->sn_rx_reject),
		KV("tx_reject", n->sn_tx_reject),
		KV("reject_lost", n->sn_reject_lost),
		KV("ct_full", n->sn_ct_full),
		KV("ct_evicted", n->sn_ct_evicted),
		KV("ct_untracked_pkts", n->sn_ct_untracked_pkts),
		KV("ct_untracked_bytes", n->sn_ct_untracked_bytes),
		KV("flowlog_records", n->sn_fl_records),
		KV("flowlog_lost", n->sn_fl_lost),
		KV("capture_packets", n->sn_cap_packets),
		KV("capture_drops", n->sn_cap_drops),
	};
	char ip4[20] = "", ip6[48] = "", mac[18], tap[sizeof(n->sn_tap) + 1];

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
	    n->sn_mac[0], n->sn_mac[1], n->sn_mac[2], n->sn_mac[3],
	    n->sn_mac[4], n->sn_mac[5]);
	if (n->sn_ip4_prefix != 0)
		snprintf(ip4, sizeof(ip4), "%u.%u.%u.%u/%u", n->sn_ip4[0],
		    n->sn_ip4[1], n->sn_ip4[2], n->sn_ip4[3],
		    n->sn_ip4_prefix);
	if (n->sn_ip6_prefix != 0 && inet_ntop(AF_INET6, n->sn_ip6, ip6,
	    sizeof(ip6)) != NULL)
		snprintf(ip6 + strlen(ip6), sizeof(ip6) - strlen(ip6), "/%u",
		    n->sn_ip6_prefix);
	memcpy(tap, n->sn_tap, sizeof(n->sn_tap));
	tap[sizeof(n->sn_tap)] = '\0';
	if (json) {
		printf("\"tap\":");
		stats_json_str(tap, sizeof(tap));
		printf(",\"mac\":\"%s\",\"ip\":\"%s\",\"ip6\":\"%s\","
		    "\"mtu\":%u,", mac, ip4, ip6, n->sn_mtu);
		stats_kvs(kv, NKV(kv), 1, 0);
		printf(",\"firewall\":{");
		stats_kvs(fw, NKV(fw), 1, 0);
		printf("}");
		return;
	}
	printf(" tap %s mac %s%s%s%s%s\n     ", tap, mac, ip4[0] ? " ip " : "",
	    ip4, ip6[0] ? " ip6 " : "", ip6);
	stats_kvs(kv, 4, 0, 0);
	printf("\n     ");
	if (stats_kvs(kv + 4, NKV(kv) - 4, 0, 1) == 0)
		printf(" no drops, errors or limits");
	printf("\n      firewall");
	stats_kvs(fw, 5, 0, 0);
	stats_kvs(fw + 5, NKV(fw) - 5, 0, 1);
	printf("\n");
}

/* The rule counters of the installed set: those that matched (text), or
   all of them (JSON). */
static int
stats_print_rules(const uint8_t *base, const struct xeno_stats_hdr *h,
    int json)
{
	const struct xeno_stats_rules *sr = (const void *)(base +
	    h->sh_rules_off);
	struct {
		uint32_t	seq, bank;
		uint64_t	gen;
		uint32_t	nrules, pad;
		uint64_t	installed, installs;
	} hd = { 0 };
	const struct xeno_stats_rule *c;
	uint64_t p, b;
	uint32_t i;
	const char *sep = "";

	if (stats_read_section(sr, &hd, sizeof(hd), 1000000) == -1)
		return -1;
	if (hd.bank > 1 || hd.nrules > XENO_STATS_MAX_RULES)
		return -1;
	if (json)
		printf(",\"rules\":{\"generation\":%" PRIu64 ",\"installs\":%"
		    PRIu64 ",\"installed_realtime_ns\":%" PRIu64 ","
		    "\"count\":%u,\"counters\":[", hd.gen, hd.installs,
		    hd.installed, hd.nrules);
	else if (hd.gen != 0)
		printf("  rules generation %" PRIu64 " (%u rules, installed %"
		    PRIu64 " times)\n", hd.gen, hd.nrules, hd.installs);
	for (i = 0; i < hd.nrules; i++) {
		c = &sr->srs_rule[hd.bank][i];
		p = __atomic_load_n(&c->sr_packets, __ATOMIC_RELAXED);
		b = __atomic_load_n(&c->sr_bytes, __ATOMIC_RELAXED);
		if (json) {
			printf("%s{\"rule\":%u,\"packets\":%" PRIu64
			    ",\"bytes\":%" PRIu64 "}", sep, i, p, b);
			sep = ",";
		} else if (p != 0)
			printf("    rule %-5u packets %" PRIu64 " bytes %"
			    PRIu64 "\n", i, p, b);
	}
	if (json)
		printf("]}");
	return 0;
}

static void
stats_print_blk(const struct xeno_stats_blk *b, int json)
{
	const struct stats_kv kv[] = {
		KV("capacity_sectors", b->sb_capacity),
		KV("extents", b->sb_nr_extents),
		KV("rd_reqs", b->sb_rd_reqs), KV("wr_reqs", b->sb_wr_reqs),
		KV("rd_sectors", b->sb_rd_sectors),
		KV("wr_sectors", b->sb_wr_sectors),
		KV("rd_bytes", b->sb_rd_bytes), KV("wr_bytes", b->sb_wr_bytes),
		KV("flushes", b->sb_flushes), KV("discards", b->sb_discards),
		KV("get_ids", b->sb_get_ids),
		KV("errors", b->sb_errors), KV("err_ro", b->sb_err_ro),
		KV("err_range", b->sb_err_range), KV("err_bad", b->sb_err_bad),
		KV("err_unsupp", b->sb_err_unsupp), KV("err_io", b->sb_err_io),
		KV("err_lease", b->sb_err_lease),
		KV("rd_ns", b->sb_rd_ns), KV("wr_ns", b->sb_wr_ns),
		KV("flush_ns", b->sb_flush_ns),
		KV("cow_copies", b->sb_cow_copies),
		KV("lease_bytes", b->sb_lease_bytes),
		KV("lease_start_realtime_ns", b->sb_lease_start_realtime_ns),
		KV("lease_expiry_realtime_ns", b->sb_lease_expiry_realtime_ns),
		KV("lease_held_ns", b->sb_lease_held_ns),
	};
	int ro = !!(b->sb_flags & XENO_STATS_BLK_RO);
	int cow = !!(b->sb_flags & XENO_STATS_BLK_COW);
	int exp = !!(b->sb_flags & XENO_STATS_BLK_EXPIRED);

	if (json) {
		printf("\"ro\":%s,\"cow\":%s,\"lease_expired\":%s,",
		    ro ? "true" : "false", cow ? "true" : "false",
		    exp ? "true" : "false");
		stats_kvs(kv, NKV(kv), 1, 0);
		return;
	}
	printf(" %s%s %.1f MiB%s\n     ", ro ? "ro" : "rw", cow ? " cow" : "",
	    (double)b->sb_capacity / 2048.0, exp ? " LEASE EXPIRED" : "");
	stats_kvs(kv + 2, 9, 0, 0);
	printf("\n     ");
	stats_kvs(kv + 11, NKV(kv) - 11, 0, 1);	/* lease bytes: never 0 */
	printf("\n");
}

/* The device sections, in device order; unused slots are skipped. */
static int
stats_print_devs(const uint8_t *base, const struct xeno_stats_hdr *h,
    int json)
{
	static const char *const qnames[2][2] = {
		{ "rx", "tx" }, { "0", "1" },
	};
	struct xeno_stats_dev dv;
	const char *sep = "";
	unsigned int i, k, nq;

	if (json)
		printf(",\"devices\":[");
	for (i = 0; i < XENO_STATS_MAX_DEVS; i++) {
		if (stats_read_section(base + h->sh_dev_off +
		    (size_t)i * XENO_STATS_DEV_STRIDE, &dv, sizeof(dv),
		    1000000) == -1)
			return -1;
		if (dv.sx_type != XENO_PV_DEV_NET &&
		    dv.sx_type != XENO_PV_DEV_BLOCK)
			continue;
		dv.sx_name[sizeof(dv.sx_name) - 1] = '\0';
		nq = dv.sx_nr_queues < XENO_STATS_DEV_QUEUES ?
		    dv.sx_nr_queues : XENO_STATS_DEV_QUEUES;
		if (json) {
			printf("%s{\"index\":%u,\"type\":\"%s\",\"name\":",
			    sep, dv.sx_index, dv.sx_type == XENO_PV_DEV_NET ?
			    "vif" : "vbd");
			stats_json_str(dv.sx_name, sizeof(dv.sx_name));
			printf(",\"first_queue\":%u,", dv.sx_first_queue);
		} else
			printf("  %s %u %s", dv.sx_type == XENO_PV_DEV_NET ?
			    "vif" : "vbd", dv.sx_index, dv.sx_name);
		if (dv.sx_type == XENO_PV_DEV_NET)
			stats_print_net(&dv.sx_net, json);
		else
			stats_print_blk(&dv.sx_blk, json);
		if (json)
			printf(",\"queues\":[");
		for (k = 0; k < nq; k++) {
			if (json && k > 0)
				printf(",");
			stats_print_queue(&dv.sx_queue[k],
			    qnames[dv.sx_type != XENO_PV_DEV_NET][k], json);
		}
		if (json)
			printf("]}");
		sep = ",";
	}
	if (json)
		printf("]");
	return 0;
}

/*
 * Print a counters file checked by stats_check() into *hp: one xentop-like
 * line, per-vCPU lines, exits by
 * reason and hypercalls by number; or everything as one JSON object.
 * `now` is CLOCK_MONOTONIC ns, used for the uptime and for extrapolating
 * a KVM_RUN in progress.
 */
int
stats_print(const uint8_t *base, const struct xeno_stats_hdr *hp, int json,
    uint64_t now)
{
	struct xeno_stats_hdr h = *hp;
	struct xeno_stats_domain d = { 0 };
	struct xeno_stats_vcpu *v;
	uint64_t run = 0, cpu = 0, live = 0, exits = 0, hcalls = 0, herr = 0;
	uint64_t up;
	unsigned int i, r;

	if (stats_read_section(base + h.sh_domain_off, &d, sizeof(d),
	    1000000) == -1)
		return -1;
	v = calloc(h.sh_nr_vcpus, sizeof(*v));
	if (v == NULL)
		return -1;
	for (i = 0; i < h.sh_nr_vcpus; i++) {
		if (stats_read_section(base + h.sh_vcpu_off +
		    (size_t)i * h.sh_vcpu_size, &v[i], sizeof(v[i]),
		    1000000) == -1) {
			free(v);
			return -1;
		}
		run += stats_run_ns(&v[i], now);
		cpu += v[i].sv_cpu_ns;
		/*
		 * Thread CPU time is sampled at exits; a guest that has not
		 * exited for a while has used at least its guest time.
		 */
		live += v[i].sv_cpu_ns > stats_run_ns(&v[i], now) ?
		    v[i].sv_cpu_ns : stats_run_ns(&v[i], now);
		exits += v[i].sv_exits;
		hcalls += v[i].sv_hcalls;
		herr += v[i].sv_hcall_errors;
	}
	up = (d.sd_state == XENO_DOM_SHUTDOWN ? d.sd_end_ns : now) -
	    h.sh_start_ns;

	if (json) {
		printf("{\"name\":");
		stats_json_str(h.sh_name, sizeof(h.sh_name));
		printf(",\"image\":");
		stats_json_str(h.sh_image, sizeof(h.sh_image));
		printf(",\"pid\":%u,\"state\":\"%s\",\"end\":\"%s\","
		    "\"exit_status\":%d,\"mem_bytes\":%" PRIu64 ","
		    "\"vcpus\":%u,\"tsc_hz\":%" PRIu64 ",\"start_ns\":%"
		    PRIu64 ",\"start_realtime_ns\":%" PRIu64 ","
		    "\"uptime_ns\":%" PRIu64 ",",
		    h.sh_pid, stats_state_name(d.sd_state),
		    stats_end_name(d.sd_end), d.sd_exit_status,
		    h.sh_mem_bytes, h.sh_nr_vcpus, h.sh_tsc_hz, h.sh_start_ns,
		    h.sh_start_realtime_ns, up);
		printf("\"vm_created_ns\":%" PRIu64 ",\"first_entry_ns\":%"
		    PRIu64 ",\"first_insn_ns\":%" PRIu64 ",\"boot_done_ns\":%"
		    PRIu64 ",\"end_ns\":%" PRIu64 ",",
		    d.sd_vm_created_ns, d.sd_first_entry_ns,
		    d.sd_first_insn_ns, d.sd_boot_done_ns, d.sd_end_ns);
		printf("\"crash\":{\"vcpu\":%u,\"vector\":%u,\"rip\":%" PRIu64
		    ",\"error\":%" PRIu64 ",\"addr\":%" PRIu64 "},",
		    d.sd_crash_vcpu, d.sd_crash_vector, d.sd_crash_rip,
		    d.sd_crash_error, d.sd_crash_addr);
		printf("\"console_bytes\":%" PRIu64 ",\"console_dropped\":%"
		    PRIu64 ",\"bad_port_io\":%" PRIu64 ",\"bad_mmio\":%"
		    PRIu64 ",\"run_ns\":%" PRIu64 ",\"cpu_ns\":%" PRIu64 ","
		    "\"exits\":%" PRIu64 ",\"hypercalls\":%" PRIu64 ","
		    "\"hypercall_errors\":%" PRIu64 ",\"vcpu\":[",
		    d.sd_console_bytes, d.sd_console_dropped, d.sd_bad_port_io,
		    d.sd_bad_mmio, run, cpu, exits, hcalls, herr);
		for (i = 0; i < h.sh_nr_vcpus; i++) {
			const char *sep = "";

			printf("%s{\"id\":%u,\"state\":\"%s\",\"run_ns\":%"
			    PRIu64 ",\"cpu_ns\":%" PRIu64 ",\"blocked_ns\":%"
			    PRIu64 ",\"exits\":%" PRIu64 ",\"hypercalls\":%"
			    PRIu64 ",\"hypercall_errors\":%" PRIu64
			    ",\"exit\":{", i ? "," : "", i,
			    stats_vcpu_state_name(v[i].sv_state),
			    stats_run_ns(&v[i], now), v[i].sv_cpu_ns,
			    v[i].sv_blocked_ns, v[i].sv_exits, v[i].sv_hcalls,
			    v[i].sv_hcall_errors);
			for (r = 0; r < XENO_STATS_NR_EXITS; r++) {
				if (v[i].sv_exit[r].count == 0)
					continue;
				printf("%s\"%s\":{\"count\":%" PRIu64 ","
				    "\"ns\":%" PRIu64 "}", sep,
				    stats_exit_name(r), v[i].sv_exit[r].count,
				    v[i].sv_exit[r].ns);
				sep = ",";
			}
			printf("},\"hypercall\":{");
			sep = "";
			for (r = 0; r < XENO_STATS_NR_HCALLS; r++) {
				if (v[i].sv_hcall[r].count == 0 &&
				    v[i].sv_hcall[r].errors == 0)
					continue;
				if (r < XENO_HC_NR)
					printf("%s\"%s\":", sep,
					    stats_hcall_name(r));
				else
					printf("%s\"%u\":", sep, r);
				printf("{\"count\":%" PRIu64 ",\"errors\":%"
				    PRIu64 "}", v[i].sv_hcall[r].count,
				    v[i].sv_hcall[r].errors);
				sep = ",";
			}
			printf("}}");
		}
		printf("]");
		if (stats_print_devs(base, &h, 1) == -1 ||
		    stats_print_rules(base, &h, 1) == -1) {
			free(v);
			return -1;
		}
		printf("}\n");
		free(v);
		return 0;
	}

	printf("%-16s %-8s %8s %8s %6s %7s %5s %9s %9s %9s\n", "NAME",
	    "STATE", "UP(s)", "CPU(s)", "CPU%", "MEM(M)", "VCPUS", "EXITS",
	    "HCALLS", "BOOT(us)");
	printf("%-16.16s %-8s %8.3f %8.3f %6.1f %7" PRIu64 " %5u %9" PRIu64
	    " %9" PRIu64 " %9.1f\n", h.sh_name, stats_state_name(d.sd_state),
	    stats_sec(up), stats_sec(live),
	    up ? 100.0 * (double)live / (double)up : 0.0, h.sh_mem_bytes >> 20,
	    h.sh_nr_vcpus, exits, hcalls,
	    (double)stats_since(d.sd_first_insn_ns, h.sh_start_ns) / 1e3);
	/* The guest's own word: XENO_HC_BOOTED, or an HVM boot timer. */
	if (d.sd_boot_done_ns != 0)
		printf("  booted %.3f ms after start\n",
		    (double)stats_since(d.sd_boot_done_ns, h.sh_start_ns) / 1e6);
	for (i = 0; i < h.sh_nr_vcpus; i++)
		printf("  vcpu %-2u %-8s run %.6fs cpu %.6fs blocked %.6fs "
		    "exits %" PRIu64 " hypercalls %" PRIu64 " errors %" PRIu64
		    "\n", i, stats_vcpu_state_name(v[i].sv_state),
		    stats_sec(stats_run_ns(&v[i], now)),
		    stats_sec(v[i].sv_cpu_ns), stats_sec(v[i].sv_blocked_ns),
		    v[i].sv_exits, v[i].sv_hcalls, v[i].sv_hcall_errors);
	for (r = 0; r < XENO_STATS_NR_EXITS; r++) {
		uint64_t c = 0, ns = 0;

		for (i = 0; i < h.sh_nr_vcpus; i++) {
			c += v[i].sv_exit[r].count;
			ns += v[i].sv_exit[r].ns;
		}
		if (c != 0)
			printf("  exit %-14s %10" PRIu64 " x %8.2f us\n",
			    stats_exit_name(r), c, (double)ns / (double)c /
			    1e3);
	}
	for (r = 0; r < XENO_STATS_NR_HCALLS; r++) {
		uint64_t c = 0, e = 0;

		for (i = 0; i < h.sh_nr_vcpus; i++) {
			c += v[i].sv_hcall[r].count;
			e += v[i].sv_hcall[r].errors;
		}
		if (c != 0 || e != 0)
			printf("  hypercall %-13s %10" PRIu64 " errors %"
			    PRIu64 "\n", stats_hcall_name(r), c, e);
	}
	if (stats_print_devs(base, &h, 0) == -1 ||
	    stats_print_rules(base, &h, 0) == -1) {
		free(v);
		return -1;
	}
	if (d.sd_bad_port_io != 0 || d.sd_bad_mmio != 0)
		printf("  bad port I/O %" PRIu64 ", bad MMIO %" PRIu64 "\n",
		    d.sd_bad_port_io, d.sd_bad_mmio);
	if (d.sd_state == XENO_DOM_SHUTDOWN) {
		printf("  ended: %s", stats_end_name(d.sd_end));
		if (d.sd_end == XENO_END_EXIT)
			printf(" status %d", d.sd_exit_status);
		if (d.sd_end == XENO_END_CRASH)
			printf(" vcpu %u vector %u rip 0x%" PRIx64 " error 0x%"
			    PRIx64 " addr 0x%" PRIx64, d.sd_crash_vcpu,
			    d.sd_crash_vector, d.sd_crash_rip,
			    d.sd_crash_error, d.sd_crash_addr);
		printf("\n");
	}
	free(v);
	return 0;
}
