/*
 * VMs: admission inside one database transaction, one xeno-hv per domain
 * spawned with what it needs (a tap descriptor on the host bridge, disk
 * overlays, a run directory), supervision through a pidfd, leases
 * enforced to the second, re-attaching after a controld restart, and the
 * final usage and charge written in one transaction when a domain ends.
 *
 * A live domain (starting, running, stopping) is in memory and in the
 * database; an ended one only in the database.  controld is the only
 * writer of both, so the memory copy serves reads without a query.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "controld.h"
#include "xen.h"
#include "xeno/log.h"
#include "xeno/control.h"
#include "xeno/stats.h"

extern char **environ;

#define DOM_RING	(64 << 10)	/* console bytes kept per domain */
#define DOM_POLL_MS	2		/* while a domain starts */
#define DOM_RETRY_MS	1000		/* finishing, when the database fails */

struct dom_use {
	uint64_t	du_cpu_ns;
	uint64_t	du_rx, du_tx;		/* network bytes, guest's view */
	uint64_t	du_rd, du_wr;		/* disk bytes */
	uint64_t	du_console;
	uint64_t	du_first_insn_ns;
	uint32_t	du_state, du_end;
	int32_t		du_exit;
	int64_t		du_cost;		/* ended domains */
	int		du_valid;
};

struct dom {
	TAILQ_ENTRY(dom) d_entry;
	int64_t		 d_id, d_tenant;
	char		 d_name[VMREQ_NAME_MAX + 1];
	char		 d_image[VMREQ_NAME_MAX + 1];
	int		 d_hvm;
	unsigned int	 d_vcpus;
	int64_t		 d_mem, d_disk, d_net;
	int		 d_network;
	char		 d_mac[18], d_ip[20];
	int64_t		 d_price, d_reserved;
	int64_t		 d_created_ms, d_lease_end_ms, d_ended_ms;
	char		 d_state[12];
	const char	*d_ending;	/* the end we asked for */
	char		 d_reason[256];
	int		 d_exit;	/* exit status, -1 none */
	pid_t		 d_pid;
	int		 d_pidfd, d_confd;
	struct event	*d_ev_exit, *d_ev_lease, *d_ev_kill, *d_ev_con;
	struct event	*d_ev_retry, *d_ev_term;
	int		 d_warned;	/* asked to shut down */
	char		*d_ring;
	size_t		 d_ring_len, d_ring_off;
	uint8_t		*d_stats;
	size_t		 d_stats_len;
	char		 d_run[300];
	uint64_t	 d_accept_ns;	/* POST accepted (monotonic), 0: n/a */
	struct dom_use	 d_final;	/* ended domains: from the database */
};

static void	dom_finish(struct dom *, int);
static void	dom_arm_lease(struct dom *);
static void	dom_end(struct dom *, const char *, unsigned int);
static void	vm_poll_arm(void);

static const char *
dom_path(const struct dom *d, const char *leaf, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s/%s", d->d_run, leaf);
	return buf;
}

static struct dom *
dom_find(int64_t id)
{
	struct dom *d;

	TAILQ_FOREACH(d, &ctld->c_doms, d_entry)
		if (d->d_id == id)
			return d;
	return NULL;
}

static void
dom_free(struct dom *d)
{
	if (d->d_ev_exit != NULL)
		event_free(d->d_ev_exit);
	if (d->d_ev_lease != NULL)
		event_free(d->d_ev_lease);
	if (d->d_ev_kill != NULL)
		event_free(d->d_ev_kill);
	if (d->d_ev_con != NULL)
		event_free(d->d_ev_con);
	if (d->d_ev_retry != NULL)
		event_free(d->d_ev_retry);
	if (d->d_ev_term != NULL)
		event_free(d->d_ev_term);
	if (d->d_pidfd != -1)
		close(d->d_pidfd);
	if (d->d_confd != -1)
		close(d->d_confd);
	if (d->d_stats != NULL)
		munmap(d->d_stats, d->d_stats_len);
	free(d->d_ring);
	free(d);
}

static struct dom *
dom_new(void)
{
	struct dom *d;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->d_ring = malloc(DOM_RING)) == NULL)
		fatal("domain");
	d->d_pidfd = d->d_confd = -1;
	d->d_exit = -1;
	return d;
}

/* The counters page: mapped once xeno-hv has published it. */
static int
dom_map(struct dom *d)
{
	struct xeno_stats_hdr h;
	char path[400], err[160];

	if (d->d_stats != NULL)
		return 0;
	d->d_stats = stats_map(dom_path(d, "stats", path, sizeof(path)),
	    &d->d_stats_len, &h, err, sizeof(err));
	return d->d_stats != NULL ? 0 : -1;
}

/* What the domain has used so far, from its counters page. */
static void
dom_usage(struct dom *d, struct dom_use *u)
{
	struct xeno_stats_hdr h;
	struct xeno_stats_domain sd;
	struct xeno_stats_vcpu sv;
	struct xeno_stats_dev sx;
	char err[160];
	uint32_t i;

	memset(u, 0, sizeof(*u));
	if (d->d_stats == NULL && dom_map(d) == -1)
		return;
	if (stats_check(d->d_stats, d->d_stats_len, &h, err,
	    sizeof(err)) == -1 || stats_read_section(d->d_stats +
	    h.sh_domain_off, &sd, sizeof(sd), 100000) == -1)
		return;
	u->du_valid = 1;
	u->du_first_insn_ns = sd.sd_first_insn_ns;
	u->du_state = sd.sd_state;
	u->du_end = sd.sd_end;
	u->du_exit = sd.sd_exit_status;
	u->du_console = sd.sd_console_bytes;
	for (i = 0; i < h.sh_nr_vcpus; i++)
		if (stats_read_section(d->d_stats + h.sh_vcpu_off +
		    (size_t)i * h.sh_vcpu_size, &sv, sizeof(sv), 100000) == 0)
			u->du_cpu_ns += sv.sv_cpu_ns;
	for (i = 0; i < XENO_STATS_MAX_DEVS; i++) {
		if (stats_read_section(d->d_stats + h.sh_dev_off +
		    (size_t)i * XENO_STATS_DEV_STRIDE, &sx, sizeof(sx),
		    100000) == -1)
			continue;
		if (sx.sx_type == XENO_PV_DEV_NET) {
			u->du_rx += sx.sx_net.sn_rx_bytes;
			u->du_tx += sx.sx_net.sn_tx_bytes;
		} else if (sx.sx_type == XENO_PV_DEV_BLOCK) {
			u->du_rd += sx.sx_blk.sb_rd_bytes;
			u->du_wr += sx.sx_blk.sb_wr_bytes;
		}
	}
}

/* The console: controld is one more client of xeno-hv's console socket. */
static void
dom_console_read(evutil_socket_t fd, short ev, void *arg)
{
	struct dom *d = arg;
	char buf[4096];
	ssize_t n;
	size_t i;

	(void)ev;
	n = read(fd, buf, sizeof(buf));
	if (n <= 0) {
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		event_del(d->d_ev_con);
		close(d->d_confd);
		d->d_confd = -1;
		return;
	}
	for (i = 0; i < (size_t)n; i++) {
		d->d_ring[d->d_ring_off] = buf[i];
		d->d_ring_off = (d->d_ring_off + 1) % DOM_RING;
	}
	d->d_ring_len = d->d_ring_len + (size_t)n > DOM_RING ? DOM_RING :
	    d->d_ring_len + (size_t)n;
}

static int
dom_console_connect(struct dom *d)
{
	struct sockaddr_un sun;
	char path[400];
	int fd;

	if (d->d_confd != -1 || d->d_ev_con != NULL)
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(dom_path(d, "console.sock", path, sizeof(path))) >=
	    sizeof(sun.sun_path))
		return -1;	/* cannot be: main() checked the run directory */
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	d->d_confd = fd;
	d->d_ev_con = event_new(ctld->c_base, fd, EV_READ | EV_PERSIST,
	    dom_console_read, d);
	if (d->d_ev_con == NULL || event_add(d->d_ev_con, NULL) == -1)
		fatal("console event");
	return 0;
}

/* The ring's bytes in order, into out (DOM_RING bytes): the length. */
static size_t
dom_console_copy(const struct dom *d, char *out)
{
	size_t start = (d->d_ring_off + DOM_RING - d->d_ring_len) % DOM_RING;
	size_t first = d->d_ring_len < DOM_RING - start ? d->d_ring_len :
	    DOM_RING - start;

	memcpy(out, d->d_ring + start, first);
	memcpy(out + first, d->d_ring, d->d_ring_len - first);
	return d->d_ring_len;
}

static void
dom_set_state(struct dom *d, const char *state)
{
	struct sqlp p;

	snprintf(d->d_state, sizeof(d->d_state), "%s", state);
	sqlp_init(&p);
	sqlp_i64(&p, d->d_id);
	sqlp_str(&p, state);
	(void)sql_exec("UPDATE domains SET state = $2 WHERE id = $1 AND "
	    "state IN ('starting', 'running', 'stopping')", &p);
}

/* While domains start: map their counters, connect their consoles, and
 * call them running from the guest's first instruction. */
static void
vm_poll(evutil_socket_t fd, short ev, void *arg)
{
	struct dom *d;
	struct dom_use u;
	int again = 0;

	(void)fd, (void)ev, (void)arg;
	TAILQ_FOREACH(d, &ctld->c_doms, d_entry) {
		if (d->d_pid <= 0)
			continue;
		if (d->d_confd == -1 && d->d_ev_con == NULL)
			(void)dom_console_connect(d);
		if (strcmp(d->d_state, "starting") == 0) {
			dom_usage(d, &u);
			if (u.du_first_insn_ns != 0)
				dom_set_state(d, "running");
		}
		if (strcmp(d->d_state, "starting") == 0 ||
		    (d->d_confd == -1 && d->d_ev_con == NULL))
			again = 1;
	}
	if (again)
		vm_poll_arm();
}

static void
vm_poll_arm(void)
{
	struct timeval tv = { 0, DOM_POLL_MS * 1000 };

	if (ctld->c_poll == NULL &&
	    (ctld->c_poll = evtimer_new(ctld->c_base, vm_poll, NULL)) == NULL)
		fatal("poll timer");
	if (!evtimer_pending(ctld->c_poll, NULL))
		evtimer_add(ctld->c_poll, &tv);
}

/* The last line xeno-hv wrote to its log: why it refused to start. */
static void
dom_log_tail(const struct dom *d, char *out, size_t sz)
{
	char path[400], buf[1024], *nl;
	ssize_t n;
	off_t end;
	int fd;

	out[0] = '\0';
	if ((fd = open(dom_path(d, "hv.log", path, sizeof(path)),
	    O_RDONLY | O_CLOEXEC)) == -1)
		return;
	end = lseek(fd, 0, SEEK_END);
	n = pread(fd, buf, sizeof(buf) - 1, end > (off_t)sizeof(buf) - 1 ?
	    end - (off_t)sizeof(buf) + 1 : 0);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	nl = strrchr(buf, '\n') != NULL ? strrchr(buf, '\n') + 1 : buf;
	n = (ssize_t)strnlen(nl, sz - 1);
	memcpy(out, nl, (size_t)n);
	out[n] = '\0';
}

/* Remove the run directory and what is in it (flat: no subdirectories). */
static void
dom_rmrun(struct dom *d)
{
	static const char *const leaves[] = { "stats", "ctl.sock",
	    "console.sock", "hv.log", "root.cow", "data.img" };
	char path[400];
	size_t i;

	if (d->d_run[0] == '\0')
		return;
	for (i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++)
		(void)unlink(dom_path(d, leaves[i], path, sizeof(path)));
	if (rmdir(d->d_run) == -1 && errno != ENOENT)
		log_warn("%s", d->d_run);
}

static void
dom_retry(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd, (void)ev;
	dom_finish(arg, 0);
}

/*
 * The domain has ended (or never started): decide its final state, then
 * record it, its usage and its charge in one transaction, release what it
 * held, and forget it.  If the database fails, try again each second: a
 * charge is never dropped.  status is waitpid's, or -1 if unknown.
 */
static void
dom_finish(struct dom *d, int status)
{
	struct dom_use u;
	struct sqlp p;
	char *hex, *con, tail[200];
	const char *state;
	int64_t secs, cost, lease_s;
	uint64_t c;
	struct timeval tv = { DOM_RETRY_MS / 1000, 0 };

	dom_usage(d, &u);
	if (d->d_ended_ms == 0) {
		d->d_ended_ms = now_real_ms();
		state = NULL;
		if (d->d_ending != NULL)
			state = d->d_ending;
		else if (u.du_state == XENO_DOM_SHUTDOWN &&
		    u.du_end == XENO_END_EXIT) {
			state = "exited";
			d->d_exit = u.du_exit;
			snprintf(d->d_reason, sizeof(d->d_reason), "the guest "
			    "exited with status %d", u.du_exit);
		} else if (u.du_state == XENO_DOM_SHUTDOWN &&
		    u.du_end == XENO_END_VCPUS_DOWN) {
			state = "exited";
			snprintf(d->d_reason, sizeof(d->d_reason), "every vCPU "
			    "stopped");
		} else if (u.du_state == XENO_DOM_SHUTDOWN &&
		    (u.du_end == XENO_END_CRASH ||
		    u.du_end == XENO_END_ABORT)) {
			state = "crashed";
			snprintf(d->d_reason, sizeof(d->d_reason), "the guest "
			    "%s", u.du_end == XENO_END_CRASH ? "crashed "
			    "(exception or triple fault)" : "aborted");
		} else if (status != -1 && WIFEXITED(status) &&
		    WEXITSTATUS(status) >= 64 && WEXITSTATUS(status) <= 73) {
			state = "failed";
			dom_log_tail(d, tail, sizeof(tail));
			snprintf(d->d_reason, sizeof(d->d_reason), "xeno-hv "
			    "refused to start it (exit %d): %s",
			    WEXITSTATUS(status), tail);
		} else {
			state = "crashed";
			if (status != -1 && WIFSIGNALED(status))
				snprintf(d->d_reason, sizeof(d->d_reason),
				    "xeno-hv was killed by signal %d",
				    WTERMSIG(status));
			else if (status != -1)
				snprintf(d->d_reason, sizeof(d->d_reason),
				    "xeno-hv exited with status %d",
				    WEXITSTATUS(status));
			else if (d->d_reason[0] == '\0')
				snprintf(d->d_reason, sizeof(d->d_reason),
				    "xeno-hv ended while controld was not "
				    "watching");
		}
		if (d->d_ending != NULL && d->d_reason[0] == '\0')
			snprintf(d->d_reason, sizeof(d->d_reason), "%s%s",
			    strcmp(state, "expired") == 0 ? "the lease ended" :
			    strcmp(state, "stopped") == 0 ? "stopped on "
			    "request" : "destroyed on request",
			    u.du_state == XENO_DOM_SHUTDOWN &&
			    u.du_end == XENO_END_EXIT ? "; the guest shut "
			    "down by itself" : "");
		if (d->d_ending != NULL && u.du_state == XENO_DOM_SHUTDOWN &&
		    u.du_end == XENO_END_EXIT)
			d->d_exit = u.du_exit;
		snprintf(d->d_state, sizeof(d->d_state), "%s", state);
	}
	state = d->d_state;

	/* billed from admission to the end, never beyond the lease or the
	 * reservation; a domain that never ran costs nothing */
	lease_s = (d->d_lease_end_ms - d->d_created_ms + 999) / 1000;
	secs = (d->d_ended_ms - d->d_created_ms + 999) / 1000;
	if (secs > lease_s)
		secs = lease_s;
	if (secs < 0)
		secs = 0;
	cost = 0;
	if (strcmp(state, "failed") != 0 &&
	    adm_cost((uint64_t)d->d_price, (uint64_t)secs, &c) == 0)
		cost = (int64_t)c > d->d_reserved ? d->d_reserved : (int64_t)c;
	else if (strcmp(state, "failed") != 0)
		cost = d->d_reserved;

	if ((con = malloc(DOM_RING)) == NULL ||
	    (hex = malloc(2 * DOM_RING + 1)) == NULL)
		fatal("console copy");
	sql_hex(con, dom_console_copy(d, con), hex);
	free(con);

	sqlp_init(&p);
	sqlp_i64(&p, d->d_id);
	sqlp_str(&p, state);
	sqlp_i64(&p, d->d_ended_ms);
	sqlp_str(&p, d->d_reason);
	if (d->d_exit >= 0)
		sqlp_i64(&p, d->d_exit);
	else
		sqlp_null(&p);
	sqlp_str(&p, hex);
	if (sql_begin() == -1 || sql_exec("UPDATE domains SET state = $2, "
	    "ended_at = to_timestamp($3::double precision / 1000), "
	    "end_reason = $4, exit_status = $5, console = decode($6, 'hex') "
	    "WHERE id = $1", &p) == -1) {
		free(hex);
		goto retry;
	}
	free(hex);
	sqlp_init(&p);
	sqlp_i64(&p, d->d_id);
	sqlp_i64(&p, d->d_tenant);
	sqlp_i64(&p, d->d_created_ms);
	sqlp_i64(&p, d->d_ended_ms);
	sqlp_i64(&p, secs);
	sqlp_i64(&p, d->d_vcpus);
	sqlp_i64(&p, d->d_mem);
	sqlp_i64(&p, (int64_t)u.du_cpu_ns);
	sqlp_i64(&p, (int64_t)u.du_rx);
	sqlp_i64(&p, (int64_t)u.du_tx);
	sqlp_i64(&p, (int64_t)u.du_rd);
	sqlp_i64(&p, (int64_t)u.du_wr);
	sqlp_i64(&p, cost);
	if (sql_exec("INSERT INTO usage (domain_id, tenant_id, started_at, "
	    "ended_at, seconds, vcpus, mem_bytes, cpu_ns, net_rx_bytes, "
	    "net_tx_bytes, disk_rd_bytes, disk_wr_bytes, cost) VALUES ($1, "
	    "$2, to_timestamp($3::double precision / 1000), "
	    "to_timestamp($4::double precision / 1000), $5, $6, $7, $8, $9, "
	    "$10, $11, $12, $13)", &p) == -1)
		goto retry;
	sqlp_init(&p);
	sqlp_i64(&p, d->d_tenant);
	sqlp_i64(&p, cost);
	sqlp_i64(&p, d->d_reserved);
	if (sql_exec("UPDATE tenants SET balance = balance - $2, committed = "
	    "committed - $3 WHERE id = $1", &p) == -1)
		goto retry;
	sqlp_init(&p);
	sqlp_i64(&p, d->d_tenant);
	sqlp_i64(&p, -cost);
	sqlp_i64(&p, d->d_id);
	if ((cost != 0 && sql_exec("INSERT INTO ledger (tenant_id, kind, "
	    "amount, domain_id) VALUES ($1, 'charge', $2, $3)", &p) == -1) ||
	    sql_commit() == -1)
		goto retry;
	log_info("vm %" PRId64 ": %s (%s); %" PRId64 " s, cost %" PRId64,
	    d->d_id, state, d->d_reason, secs, cost);
	TAILQ_REMOVE(&ctld->c_doms, d, d_entry);
	if (d->d_stats != NULL) {
		munmap(d->d_stats, d->d_stats_len);
		d->d_stats = NULL;
	}
	dom_rmrun(d);
	dom_free(d);
	return;
retry:
	sql_rollback();
	log_warnx("vm %" PRId64 ": final usage not recorded yet; retrying",
	    d->d_id);
	if (d->d_ev_retry == NULL &&
	    (d->d_ev_retry = evtimer_new(ctld->c_base, dom_retry, d)) == NULL)
		fatal("retry timer");
	evtimer_add(d->d_ev_retry, &tv);
}

/* Has pid gone (or is it a zombie nobody reaped yet)? */
static int
pid_gone(pid_t pid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	/* "pid (comm) S ...": the state follows the last ')' */
	return (p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] == 'Z';
}

/* xeno-hv has exited (pidfd readable), or, without pidfds, maybe. */
static void
dom_exited(evutil_socket_t fd, short ev, void *arg)
{
	struct dom *d = arg;
	int status = -1, st;
	pid_t w;

	(void)fd, (void)ev;
	w = waitpid(d->d_pid, &st, WNOHANG);
	if (w == d->d_pid)
		status = st;
	else if (d->d_pidfd == -1 && (w == 0 || !pid_gone(d->d_pid)))
		return;		/* polling: still running */
	event_del(d->d_ev_exit);
	if (d->d_ev_kill != NULL)
		evtimer_del(d->d_ev_kill);
	if (d->d_ev_lease != NULL)
		evtimer_del(d->d_ev_lease);
	if (d->d_ev_term != NULL)
		evtimer_del(d->d_ev_term);
	/* the last console bytes are in the socket still */
	if (d->d_confd != -1)
		dom_console_read(d->d_confd, EV_READ, d);
	dom_finish(d, status);
}

/* Through the pidfd, which cannot hit a reused pid; kill() without. */
static int
dom_signal(struct dom *d, int sig)
{
	if (d->d_pidfd != -1)
		return pidfd_send_signal(d->d_pidfd, sig, NULL, 0);
	return kill(d->d_pid, sig);
}

static void
dom_kill(evutil_socket_t fd, short ev, void *arg)
{
	struct dom *d = arg;

	(void)fd, (void)ev;
	log_warnx("vm %" PRId64 ": xeno-hv still running after SIGTERM; "
	    "SIGKILL", d->d_id);
	(void)dom_signal(d, SIGKILL);
}

/*
 * End a live domain: SIGTERM to xeno-hv (it stops the vCPUs and writes
 * its final counters, in milliseconds), SIGKILL after grace seconds.
 */
static void
dom_end(struct dom *d, const char *final, unsigned int grace)
{
	struct timeval tv = { grace, 0 };

	if (d->d_ending == NULL || strcmp(final, "destroyed") == 0)
		d->d_ending = final;
	if (d->d_ev_exit == NULL) {	/* never started */
		dom_finish(d, -1);
		return;
	}
	if (strcmp(d->d_state, "stopping") != 0)
		dom_set_state(d, "stopping");
	if (dom_signal(d, SIGTERM) == -1 && errno != ESRCH)
		log_warn("vm %" PRId64 ": SIGTERM", d->d_id);
	if (d->d_ev_kill == NULL &&
	    (d->d_ev_kill = evtimer_new(ctld->c_base, dom_kill, d)) == NULL)
		fatal("kill timer");
	if (!evtimer_pending(d->d_ev_kill, NULL) ||
	    strcmp(final, "destroyed") == 0)
		evtimer_add(d->d_ev_kill, &tv);
}

/*
 * Ask the guest to shut down by itself (bi_shutdown, through xeno-hv's
 * control socket): 0, or -1 if it cannot be told (a Linux guest, a
 * control socket that does not answer).
 */
static int
dom_ask(struct dom *d, const char *why)
{
	char path[400], msg[256];
	int rc;

	d->d_warned = 1;
	rc = ctl_request(dom_path(d, "ctl.sock", path, sizeof(path)),
	    XENO_CTL_SHUTDOWN_REQUEST, "", 0, -1, NULL, msg, sizeof(msg));
	if (rc != 0) {
		log_warnx("vm %" PRId64 ": no shutdown request (%s): %s",
		    d->d_id, why, rc == -1 ? strerror(errno) : msg);
		return -1;
	}
	log_info("vm %" PRId64 ": asked to shut down (%s)", d->d_id, why);
	return 0;
}

static void
dom_term(evutil_socket_t fd, short ev, void *arg)
{
	struct dom *d = arg;

	(void)fd, (void)ev;
	dom_end(d, d->d_ending, 1);
}

/*
 * Stop: ask the guest, and end it (SIGTERM, SIGKILL 1 s later) if it is
 * still there after the grace period.  A guest that cannot be asked is
 * ended at once.
 */
static void
dom_stop(struct dom *d)
{
	struct timeval tv = { ctld->c_conf.cc_grace, 0 };

	if (d->d_ending == NULL)
		d->d_ending = "stopped";
	if (d->d_ev_exit == NULL || ctld->c_conf.cc_grace == 0 ||
	    dom_ask(d, "stop") == -1) {
		dom_end(d, d->d_ending, 1);
		return;
	}
	if (strcmp(d->d_state, "stopping") != 0)
		dom_set_state(d, "stopping");
	if (d->d_ev_term == NULL &&
	    (d->d_ev_term = evtimer_new(ctld->c_base, dom_term, d)) == NULL)
		fatal("term timer");
	evtimer_add(d->d_ev_term, &tv);
}

/*
 * The lease: the guest is asked to shut down the grace period before the
 * lease ends, and whatever is left is ended when it does, to the
 * millisecond.  An extension moves both (a guest already asked stays
 * asked: the request cannot be taken back).
 */
static void
dom_lease(evutil_socket_t fd, short ev, void *arg)
{
	struct dom *d = arg;
	int64_t now = now_real_ms(), grace = ctld->c_conf.cc_grace * 1000LL;

	(void)fd, (void)ev;
	if (now < d->d_lease_end_ms) {
		if (!d->d_warned && now >= d->d_lease_end_ms - grace) {
			d->d_ending = "expired";
			(void)dom_ask(d, "the lease ends");
		}
		dom_arm_lease(d);	/* the end, or an extension */
		return;
	}
	log_info("vm %" PRId64 ": lease ended", d->d_id);
	dom_end(d, "expired", 1);
}

static void
dom_arm_lease(struct dom *d)
{
	int64_t ms = d->d_lease_end_ms - now_real_ms();
	struct timeval tv;

	if (!d->d_warned && ctld->c_conf.cc_grace > 0)
		ms -= ctld->c_conf.cc_grace * 1000LL;
	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (d->d_ev_lease == NULL &&
	    (d->d_ev_lease = evtimer_new(ctld->c_base, dom_lease, d)) == NULL)
		fatal("lease timer");
	evtimer_add(d->d_ev_lease, &tv);
}

/* Watch a running xeno-hv: its exit, its lease, its console. */
static int
dom_watch(struct dom *d)
{
	struct timeval tv = { 0, 50000 };

	if ((d->d_pidfd = pidfd_open(d->d_pid, 0)) != -1) {
		if ((d->d_ev_exit = event_new(ctld->c_base, d->d_pidfd,
		    EV_READ, dom_exited, d)) == NULL ||
		    event_add(d->d_ev_exit, NULL) == -1)
			fatal("exit event");
	} else if (errno == ENOSYS) {
		/* no pidfds (Linux < 5.3, valgrind): look every 50 ms */
		if ((d->d_ev_exit = event_new(ctld->c_base, -1, EV_PERSIST,
		    dom_exited, d)) == NULL || event_add(d->d_ev_exit, &tv) ==
		    -1)
			fatal("exit event");
	} else
		return -1;
	dom_arm_lease(d);
	vm_poll_arm();
	return 0;
}

/* Images: a tenant's upload first, then the catalog. */
static int
image_find(int64_t tenant, const char *name, char *path, size_t sz,
    int *hvm)
{
	struct stat st;

	*hvm = 0;
	snprintf(path, sz, "%s/%" PRId64 "/%s.elf", ctld->c_uploads, tenant,
	    name);
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return 0;
	snprintf(path, sz, "%s/%s.elf", ctld->c_conf.cc_images, name);
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return 0;
	snprintf(path, sz, "%s/%s.linux", ctld->c_conf.cc_images, name);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		*hvm = 1;
		return 0;
	}
	return -1;
}

/* The price of a VM per hour: vCPUs and memory at the host's prices. */
static int64_t
vm_price(int64_t pv, int64_t pg, uint64_t vcpus, uint64_t mem)
{
	unsigned __int128 p = (unsigned __int128)vcpus * (uint64_t)pv +
	    ((unsigned __int128)mem * (uint64_t)pg + (1ULL << 30) - 1) /
	    (1ULL << 30);

	return p > MONEY_MAX ? MONEY_MAX : (int64_t)p;
}

static uint64_t
q_or_unlimited(PGresult *r, int col)
{
	return sql_isnull(r, 0, col) ? ADM_UNLIMITED :
	    (uint64_t)sql_i64(r, 0, col);
}

static json_object *
res_json(const struct adm_res *r)
{
	json_object *o = json_object_new_object();

#define RES(k, v)	json_object_object_add(o, k, (v) == ADM_UNLIMITED ? \
	NULL : json_object_new_int64((int64_t)(v)))
	RES("vcpus", r->ar_vcpus);
	RES("mem_bytes", r->ar_mem);
	RES("disk_bytes", r->ar_disk);
	RES("net_bps", r->ar_net);
	RES("vms", r->ar_vms);
#undef RES
	return o;
}

static const char *
reason_unit(enum adm_reason r)
{
	switch (r) {
	case ADM_QUOTA_VMS:	return "vms";
	case ADM_QUOTA_VCPUS:
	case ADM_VCPUS:		return "vcpus";
	case ADM_QUOTA_MEMORY:
	case ADM_MEMORY:
	case ADM_QUOTA_DISK:
	case ADM_DISK:		return "bytes";
	case ADM_QUOTA_NETWORK:
	case ADM_NETWORK:	return "bits/s";
	case ADM_MAX_PRICE:	return "micro-credits/hour";
	case ADM_BUDGET:	return "micro-credits";
	default:		return NULL;
	}
}

/*
 * Admission, in one transaction: lock the host row (every admission on
 * this host queues here), lock the tenant, read what live domains hold,
 * decide, record the decision with its inputs, and for a create insert
 * the domain and hold its cost on the tenant's balance.
 *
 * kind: "create", "dry_run" or "extend" (then d is the domain).  Returns
 * 1 admitted, 0 refused (the reply is set), -1 database failure.
 */
static int
vm_admit(struct api_req *ar, const char *kind, struct adm_request *rq,
    const struct vm_request *vr, struct dom *d, int64_t *cost)
{
	struct adm_host h;
	struct adm_tenant t;
	struct adm_decision dec;
	enum adm_reason why;
	struct sqlp p;
	PGresult *r;
	json_object *in, *o;
	char msg[160];
	int64_t pv, pg, tenant = ar->ar_who.pr_tenant, id = 0;

	memset(&h, 0, sizeof(h));
	memset(&t, 0, sizeof(t));
	if (sql_begin() == -1)
		return -1;
	/*
	 * A dry run admits nothing: its record need not wait for the WAL
	 * flush (a crash may lose the last fraction of a second of them,
	 * never an admission, a charge or a refusal of a real request).
	 */
	if (strcmp(kind, "dry_run") == 0 &&
	    sql_exec("SET LOCAL synchronous_commit TO off", NULL) == -1)
		goto fail;
	sqlp_init(&p);
	sqlp_i64(&p, tenant);
	if ((r = sql_q("SELECT h.vcpus, h.mem_bytes, h.disk_bytes, h.net_bps, "
	    "h.vcpu_ratio, h.mem_ratio, h.draining::int, h.price_vcpu_hour, "
	    "h.price_gib_hour, t.balance, t.committed, t.quota_vms, "
	    "t.quota_vcpus, t.quota_mem, t.quota_disk, t.quota_net "
	    "FROM host h, tenants t WHERE h.id = 1 AND t.id = $1 "
	    "FOR UPDATE", &p)) == NULL)
		goto fail;
	if (sql_ntuples(r) != 1) {
		sql_free(r);
		goto fail;
	}
	h.ah_cap.ar_vcpus = (uint64_t)sql_i64(r, 0, 0);
	h.ah_cap.ar_mem = (uint64_t)sql_i64(r, 0, 1);
	h.ah_cap.ar_disk = (uint64_t)sql_i64(r, 0, 2);
	h.ah_cap.ar_net = (uint64_t)sql_i64(r, 0, 3);
	h.ah_vcpu_ratio = (uint32_t)sql_i64(r, 0, 4);
	h.ah_mem_ratio = (uint32_t)sql_i64(r, 0, 5);
	h.ah_draining = (int)sql_i64(r, 0, 6);
	pv = sql_i64(r, 0, 7);
	pg = sql_i64(r, 0, 8);
	t.at_balance = sql_i64(r, 0, 9);
	t.at_committed = sql_i64(r, 0, 10);
	t.at_quota.ar_vms = q_or_unlimited(r, 11);
	t.at_quota.ar_vcpus = q_or_unlimited(r, 12);
	t.at_quota.ar_mem = q_or_unlimited(r, 13);
	t.at_quota.ar_disk = q_or_unlimited(r, 14);
	t.at_quota.ar_net = q_or_unlimited(r, 15);
	sql_free(r);
	if ((r = sql_q("SELECT count(*), coalesce(sum(vcpus), 0), "
	    "coalesce(sum(mem_bytes), 0), coalesce(sum(disk_bytes), 0), "
	    "coalesce(sum(net_bps), 0), count(*) FILTER (WHERE tenant_id = $1), "
	    "coalesce(sum(vcpus) FILTER (WHERE tenant_id = $1), 0), "
	    "coalesce(sum(mem_bytes) FILTER (WHERE tenant_id = $1), 0), "
	    "coalesce(sum(disk_bytes) FILTER (WHERE tenant_id = $1), 0), "
	    "coalesce(sum(net_bps) FILTER (WHERE tenant_id = $1), 0) "
	    "FROM domains WHERE state IN ('starting', 'running', 'stopping')",
	    &p)) == NULL)
		goto fail;
	h.ah_used.ar_vms = (uint64_t)sql_i64(r, 0, 0);
	h.ah_used.ar_vcpus = (uint64_t)sql_i64(r, 0, 1);
	h.ah_used.ar_mem = (uint64_t)sql_i64(r, 0, 2);
	h.ah_used.ar_disk = (uint64_t)sql_i64(r, 0, 3);
	h.ah_used.ar_net = (uint64_t)sql_i64(r, 0, 4);
	t.at_used.ar_vms = (uint64_t)sql_i64(r, 0, 5);
	t.at_used.ar_vcpus = (uint64_t)sql_i64(r, 0, 6);
	t.at_used.ar_mem = (uint64_t)sql_i64(r, 0, 7);
	t.at_used.ar_disk = (uint64_t)sql_i64(r, 0, 8);
	t.at_used.ar_net = (uint64_t)sql_i64(r, 0, 9);
	sql_free(r);

	rq->ar_price = (uint64_t)vm_price(pv, pg, rq->ar_want.ar_vcpus,
	    rq->ar_want.ar_mem);
	why = adm_decide(&h, &t, rq, &dec);
	*cost = (int64_t)dec.ad_cost;

	in = json_object_new_object();
	o = json_object_new_object();
	json_object_object_add(o, "capacity", res_json(&h.ah_cap));
	json_object_object_add(o, "used", res_json(&h.ah_used));
	json_object_object_add(o, "vcpu_ratio",
	    json_object_new_int(h.ah_vcpu_ratio));
	json_object_object_add(o, "mem_ratio",
	    json_object_new_int(h.ah_mem_ratio));
	json_object_object_add(o, "draining",
	    json_object_new_boolean(h.ah_draining));
	json_object_object_add(in, "host", o);
	o = json_object_new_object();
	json_object_object_add(o, "quota", res_json(&t.at_quota));
	json_object_object_add(o, "used", res_json(&t.at_used));
	json_object_object_add(o, "balance",
	    json_object_new_int64(t.at_balance));
	json_object_object_add(o, "committed",
	    json_object_new_int64(t.at_committed));
	json_object_object_add(in, "tenant", o);
	o = res_json(&rq->ar_want);
	json_object_object_del(o, "vms");
	json_object_object_add(o, "seconds",
	    json_object_new_int64((int64_t)rq->ar_seconds));
	json_object_object_add(o, "price",
	    json_object_new_int64((int64_t)rq->ar_price));
	json_object_object_add(o, "max_price", rq->ar_max_price == 0 ? NULL :
	    json_object_new_int64((int64_t)rq->ar_max_price));
	json_object_object_add(in, "request", o);

	/* a create that is admitted gets its domain row in this transaction */
	if (why == ADM_OK && strcmp(kind, "create") == 0) {
		if ((r = sql_q("SELECT nextval('domains_id_seq')", NULL)) ==
		    NULL)
			goto fail_json;
		id = sql_i64(r, 0, 0);
		sql_free(r);
		d->d_id = id;
		d->d_tenant = tenant;
		d->d_price = (int64_t)rq->ar_price;
		d->d_reserved = *cost;
		d->d_created_ms = now_real_ms();
		d->d_lease_end_ms = d->d_created_ms +
		    (int64_t)rq->ar_seconds * 1000;
		if (vr->vr_name[0] != '\0')
			snprintf(d->d_name, sizeof(d->d_name), "%s",
			    vr->vr_name);
		else
			snprintf(d->d_name, sizeof(d->d_name), "vm-%" PRId64,
			    id);
		sqlp_init(&p);
		sqlp_i64(&p, id);
		sqlp_i64(&p, tenant);
		sqlp_str(&p, d->d_name);
		sqlp_str(&p, vr->vr_image);
		sqlp_str(&p, d->d_hvm ? "hvm" : "pv");
		sqlp_i64(&p, d->d_vcpus);
		sqlp_i64(&p, d->d_mem);
		sqlp_i64(&p, d->d_disk);
		sqlp_i64(&p, d->d_net);
		sqlp_str(&p, d->d_network ? "t" : "f");
		sqlp_str(&p, vr->vr_args);
		if (vr->vr_disk_base[0] != '\0')
			sqlp_str(&p, vr->vr_disk_base);
		else
			sqlp_null(&p);
		sqlp_i64(&p, (int64_t)vr->vr_disk_mib);
		sqlp_i64(&p, d->d_price);
		sqlp_i64(&p, d->d_reserved);
		sqlp_i64(&p, d->d_created_ms);
		sqlp_i64(&p, d->d_lease_end_ms);
		if (sql_exec("INSERT INTO domains (id, tenant_id, name, image, "
		    "kind, vcpus, mem_bytes, disk_bytes, net_bps, network, "
		    "args, disk_base, disk_mib, price, reserved, state, "
		    "created_at, lease_end) VALUES ($1, $2, $3, $4, $5, $6, $7, "
		    "$8, $9, $10, $11, $12, $13, $14, $15, 'starting', "
		    "to_timestamp($16::double precision / 1000), "
		    "to_timestamp($17::double precision / 1000))", &p) == -1)
			goto fail_json;
	} else if (why == ADM_OK && strcmp(kind, "extend") == 0) {
		id = d->d_id;
		sqlp_init(&p);
		sqlp_i64(&p, id);
		sqlp_i64(&p, (int64_t)rq->ar_seconds * 1000);
		sqlp_i64(&p, *cost);
		if (sql_exec("UPDATE domains SET lease_end = lease_end + "
		    "$2 * interval '1 millisecond', reserved = reserved + $3 "
		    "WHERE id = $1", &p) == -1)
			goto fail_json;
	} else if (d != NULL && d->d_id != 0)
		id = d->d_id;
	if (why == ADM_OK && strcmp(kind, "dry_run") != 0) {
		sqlp_init(&p);
		sqlp_i64(&p, tenant);
		sqlp_i64(&p, *cost);
		if (sql_exec("UPDATE tenants SET committed = committed + $2 "
		    "WHERE id = $1", &p) == -1)
			goto fail_json;
	}
	sqlp_init(&p);
	sqlp_i64(&p, tenant);
	if (id != 0)
		sqlp_i64(&p, id);
	else
		sqlp_null(&p);
	sqlp_str(&p, kind);
	sqlp_str(&p, why == ADM_OK ? "ok" : adm_reason_name(why));
	if (why == ADM_OK || why == ADM_INVALID) {
		sqlp_null(&p);
		sqlp_null(&p);
	} else {
		sqlp_i64(&p, dec.ad_requested > INT64_MAX ? INT64_MAX :
		    (int64_t)dec.ad_requested);
		sqlp_i64(&p, dec.ad_available > INT64_MAX ? INT64_MAX :
		    (int64_t)dec.ad_available);
	}
	sqlp_i64(&p, *cost);
	sqlp_str(&p, json_object_to_json_string_ext(in,
	    JSON_C_TO_STRING_PLAIN));
	if (sql_exec("INSERT INTO decisions (tenant_id, domain_id, kind, "
	    "reason, requested, available, cost, inputs) VALUES ($1, $2, $3, "
	    "$4, $5, $6, $7, $8::jsonb)", &p) == -1 || sql_commit() == -1)
		goto fail_json;
	json_object_put(in);

	if (why == ADM_INVALID) {
		api_error(ar, 400, "bad_request", "%s", dec.ad_detail);
		return 0;
	}
	if (why != ADM_OK) {
		o = json_object_new_object();
		json_object_object_add(o, "error",
		    json_object_new_string("admission_refused"));
		json_object_object_add(o, "reason",
		    json_object_new_string(adm_reason_name(why)));
		json_object_object_add(o, "requested", json_object_new_int64(
		    dec.ad_requested > INT64_MAX ? INT64_MAX :
		    (int64_t)dec.ad_requested));
		json_object_object_add(o, "available", json_object_new_int64(
		    dec.ad_available > INT64_MAX ? INT64_MAX :
		    (int64_t)dec.ad_available));
		json_object_object_add(o, "unit", reason_unit(why) != NULL ?
		    json_object_new_string(reason_unit(why)) : NULL);
		json_object_object_add(o, "price",
		    json_object_new_int64((int64_t)rq->ar_price));
		snprintf(msg, sizeof(msg), "%s: requested %" PRIu64 ", "
		    "available %" PRIu64 "%s%s", adm_reason_name(why),
		    dec.ad_requested, dec.ad_available, reason_unit(why) !=
		    NULL ? " " : "", reason_unit(why) != NULL ?
		    reason_unit(why) : "");
		json_object_object_add(o, "message",
		    json_object_new_string(msg));
		api_reply(ar, 409, o);
		return 0;
	}
	return 1;
fail_json:
	json_object_put(in);
fail:
	sql_rollback();
	return -1;
}

/* The network of a domain: its tap on the bridge, MAC and address. */
static int
dom_net(struct dom *d, char *tap, size_t tapsz, char *err, size_t errsz)
{
	uint32_t size = ctld->c_mask == 0 ? 0 : ~ctld->c_mask + 1, a;
	struct in_addr in;
	int prefix = __builtin_popcount(ctld->c_mask);

	if (size < 8)
		return err_set(err, errsz, EINVAL, "the subnet is too small");
	/* .0 the network, .1 the bridge, the last the broadcast */
	a = ctld->c_net + 2 + (uint32_t)((uint64_t)(d->d_id - 1) % (size - 3));
	in.s_addr = htonl(a);
	snprintf(d->d_ip, sizeof(d->d_ip), "%s/%d", inet_ntoa(in), prefix);
	snprintf(d->d_mac, sizeof(d->d_mac), "52:54:00:%02x:%02x:%02x",
	    (unsigned)(d->d_id >> 16) & 0xff, (unsigned)(d->d_id >> 8) & 0xff,
	    (unsigned)d->d_id & 0xff);
	snprintf(tap, tapsz, "xv%" PRId64, d->d_id);
	return 0;
}

/*
 * Start xeno-hv for d.  It runs in its own session with its output in
 * RUN/hv.log, so it outlives controld; the tap descriptor goes to it as
 * fd 3 and controld keeps no copy (the tap vanishes with xeno-hv).
 */
static int
dom_spawn(struct dom *d, const char *image, const char *args,
    const char *disk_base, uint64_t disk_mib, char *err, size_t errsz)
{
	char *argv[40], s[8][440], vif[160], vbd[2][700], tap[16];
	char mem[32], vcpus[16], name[32];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	sigset_t none, def;
	int argc = 0, tapfd = -1, fd, rc, i;

	snprintf(d->d_run, sizeof(d->d_run), "%s/dom-%" PRId64, ctld->c_run,
	    d->d_id);
	if (mkdir(d->d_run, 0700) == -1 && errno != EEXIST)
		return err_set(err, errsz, errno, "%s: %s", d->d_run,
		    strerror(errno));
	snprintf(mem, sizeof(mem), "%" PRId64 "M", d->d_mem >> 20);
	snprintf(vcpus, sizeof(vcpus), "%u", d->d_vcpus);
	snprintf(name, sizeof(name), "vm-%" PRId64, d->d_id);
	argv[argc++] = (char *)(uintptr_t)ctld->c_conf.cc_hv;
	argv[argc++] = (char *)(uintptr_t)"run";
	if (d->d_hvm) {
		snprintf(s[0], sizeof(s[0]), "%s/vmlinux", image);
		if (access(s[0], R_OK) == -1)
			snprintf(s[0], sizeof(s[0]), "%s/bzImage", image);
		snprintf(s[1], sizeof(s[1]), "%s/initrd", image);
		argv[argc++] = (char *)(uintptr_t)"--kernel";
		argv[argc++] = s[0];
		argv[argc++] = (char *)(uintptr_t)"--initrd";
		argv[argc++] = s[1];
	} else {
		argv[argc++] = (char *)(uintptr_t)"--image";
		argv[argc++] = (char *)(uintptr_t)image;
	}
	argv[argc++] = (char *)(uintptr_t)"--mem";
	argv[argc++] = mem;
	argv[argc++] = (char *)(uintptr_t)"--vcpus";
	argv[argc++] = vcpus;
	argv[argc++] = (char *)(uintptr_t)"--name";
	argv[argc++] = name;
	argv[argc++] = (char *)(uintptr_t)"--stats";
	argv[argc++] = (char *)(uintptr_t)dom_path(d, "stats", s[2],
	    sizeof(s[2]));
	argv[argc++] = (char *)(uintptr_t)"--control";
	argv[argc++] = (char *)(uintptr_t)dom_path(d, "ctl.sock", s[3],
	    sizeof(s[3]));
	snprintf(s[4], sizeof(s[4]), "unix:%s/console.sock", d->d_run);
	argv[argc++] = (char *)(uintptr_t)"--console";
	argv[argc++] = s[4];
	if (args[0] != '\0') {
		argv[argc++] = (char *)(uintptr_t)"--args";
		argv[argc++] = (char *)(uintptr_t)args;
	}
	if (d->d_network) {
		if (dom_net(d, tap, sizeof(tap), err, errsz) == -1)
			return -1;
		if ((fd = hn_tap(ctld->c_conf.cc_bridge, tap, err, errsz)) ==
		    -1)
			return -1;
		/* fd 3 in the child; never 3 here, so dup2 clears CLOEXEC */
		tapfd = fcntl(fd, F_DUPFD_CLOEXEC, 10);
		close(fd);
		if (tapfd == -1)
			return err_set(err, errsz, errno, "tap: %s",
			    strerror(errno));
		/* a reservation is also a limit: R bytes/s as buckets of
		 * R/10 refilled every 100 ms, both directions */
		if (d->d_net != 0)
			snprintf(vif, sizeof(vif), "fd=3,mac=%s,ip=%s,"
			    "tx-bytes=%" PRId64 ":100,rx-bytes=%" PRId64 ":100",
			    d->d_mac, d->d_ip, d->d_net / 80, d->d_net / 80);
		else
			snprintf(vif, sizeof(vif), "fd=3,mac=%s,ip=%s",
			    d->d_mac, d->d_ip);
		argv[argc++] = (char *)(uintptr_t)"--vif";
		argv[argc++] = vif;
	}
	if (disk_base != NULL && disk_base[0] != '\0') {
		snprintf(vbd[0], sizeof(vbd[0]), "id=root,base=%s/%s.img,"
		    "overlay=%s/root.cow", ctld->c_conf.cc_images, disk_base,
		    d->d_run);
		argv[argc++] = (char *)(uintptr_t)"--vbd";
		argv[argc++] = vbd[0];
	}
	if (disk_mib != 0) {
		dom_path(d, "data.img", s[5], sizeof(s[5]));
		if ((fd = open(s[5], O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) ==
		    -1 || ftruncate(fd, (off_t)(disk_mib << 20)) == -1) {
			rc = errno;
			if (fd != -1)
				close(fd);
			if (tapfd != -1)
				close(tapfd);
			return err_set(err, errsz, rc, "%s: %s", s[5],
			    strerror(rc));
		}
		close(fd);
		snprintf(vbd[1], sizeof(vbd[1]), "id=data,extents=%s:0:%"
		    PRIu64 "M", s[5], disk_mib);
		argv[argc++] = (char *)(uintptr_t)"--vbd";
		argv[argc++] = vbd[1];
	}
	argv[argc] = NULL;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, dom_path(d, "hv.log", s[6],
	    sizeof(s[6])), O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (tapfd != -1)
		posix_spawn_file_actions_adddup2(&fa, tapfd, 3);
	posix_spawnattr_init(&sa);
	sigemptyset(&none);
	sigemptyset(&def);
	for (i = 1; i < NSIG; i++)
		if (i != SIGKILL && i != SIGSTOP)
			sigaddset(&def, i);
	posix_spawnattr_setsigmask(&sa, &none);
	posix_spawnattr_setsigdefault(&sa, &def);
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSID |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&d->d_pid, ctld->c_conf.cc_hv, &fa, &sa, argv,
	    environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	if (tapfd != -1)
		close(tapfd);
	if (rc != 0) {
		d->d_pid = 0;
		return err_set(err, errsz, rc, "%s: %s", ctld->c_conf.cc_hv,
		    strerror(rc));
	}
	if (dom_watch(d) == -1) {
		rc = errno;
		kill(d->d_pid, SIGKILL);
		(void)waitpid(d->d_pid, NULL, 0);
		return err_set(err, errsz, rc, "pidfd: %s", strerror(rc));
	}
	return 0;
}

/* JSON of a domain, live (from memory and its counters) or ended. */
static json_object *
dom_json(struct dom *d, int live)
{
	json_object *o = json_object_new_object(), *c, *a, *b;
	struct dom_use u;
	int64_t now = now_real_ms(), left, secs;
	uint64_t cost = 0;

	if (live)
		dom_usage(d, &u);
	else
		u = d->d_final;
	json_object_object_add(o, "id", json_object_new_int64(d->d_id));
	json_object_object_add(o, "name", json_object_new_string(d->d_name));
	json_object_object_add(o, "tenant", json_object_new_int64(
	    d->d_tenant));
	json_object_object_add(o, "state", json_object_new_string(
	    d->d_state));
	json_object_object_add(o, "image", json_object_new_string(
	    d->d_image));
	json_object_object_add(o, "kind", json_object_new_string(d->d_hvm ?
	    "hvm" : "pv"));
	json_object_object_add(o, "vcpus", json_object_new_int(
	    (int)d->d_vcpus));
	json_object_object_add(o, "memory_mib", json_object_new_int64(
	    d->d_mem >> 20));
	json_object_object_add(o, "disk_mib", json_object_new_int64(
	    d->d_disk >> 20));
	if (d->d_network && d->d_mac[0] != '\0') {
		a = json_object_new_object();
		json_object_object_add(a, "mac", json_object_new_string(
		    d->d_mac));
		json_object_object_add(a, "ipv4", json_object_new_string(
		    d->d_ip));
		json_object_object_add(o, "addresses", a);
	} else
		json_object_object_add(o, "addresses", NULL);
	json_object_object_add(o, "network_mbps", d->d_net != 0 ?
	    json_object_new_int64(d->d_net / 1000000) : NULL);
	api_time(o, "created_at", d->d_created_ms);
	api_time(o, "lease_end", d->d_lease_end_ms);
	api_time(o, "ended_at", d->d_ended_ms);
	left = live ? (d->d_lease_end_ms - now + 999) / 1000 : 0;
	json_object_object_add(o, "time_left_s", json_object_new_int64(
	    left > 0 ? left : 0));
	json_object_object_add(o, "price", json_object_new_int64(
	    d->d_price));
	json_object_object_add(o, "reserved", json_object_new_int64(
	    d->d_reserved));
	if (live) {
		secs = (now - d->d_created_ms + 999) / 1000;
		if (adm_cost((uint64_t)d->d_price, (uint64_t)(secs > 0 ?
		    secs : 0), &cost) == -1 || cost > (uint64_t)d->d_reserved)
			cost = (uint64_t)d->d_reserved;
	} else
		cost = (uint64_t)u.du_cost;
	json_object_object_add(o, "cost_so_far", json_object_new_int64(
	    (int64_t)cost));
	c = json_object_new_object();
	json_object_object_add(c, "cpu_ns", json_object_new_int64(
	    (int64_t)u.du_cpu_ns));
	json_object_object_add(c, "net_rx_bytes", json_object_new_int64(
	    (int64_t)u.du_rx));
	json_object_object_add(c, "net_tx_bytes", json_object_new_int64(
	    (int64_t)u.du_tx));
	json_object_object_add(c, "disk_rd_bytes", json_object_new_int64(
	    (int64_t)u.du_rd));
	json_object_object_add(c, "disk_wr_bytes", json_object_new_int64(
	    (int64_t)u.du_wr));
	if (live)
		json_object_object_add(c, "console_bytes",
		    json_object_new_int64((int64_t)u.du_console));
	json_object_object_add(o, "counters", c);
	if (live) {
		json_object_object_add(o, "pid", d->d_pid > 0 ?
		    json_object_new_int(d->d_pid) : NULL);
		b = json_object_new_object();
		json_object_object_add(b, "accepted_to_first_insn_us",
		    d->d_accept_ns != 0 && u.du_first_insn_ns > d->d_accept_ns ?
		    json_object_new_int64((int64_t)(u.du_first_insn_ns -
		    d->d_accept_ns) / 1000) : NULL);
		json_object_object_add(o, "boot", b);
	} else {
		json_object_object_add(o, "end_reason", json_object_new_string(
		    d->d_reason));
		json_object_object_add(o, "exit_status", d->d_exit >= 0 ?
		    json_object_new_int(d->d_exit) : NULL);
	}
	return o;
}

#define DOM_SELECT							\
	"SELECT d.id, d.tenant_id, d.name, d.image, d.kind, d.vcpus, "	\
	"d.mem_bytes, d.disk_bytes, d.net_bps, d.network::int, "	\
	"coalesce(d.mac, ''), coalesce(d.ip, ''), d.price, d.reserved, "\
	"d.state, (extract(epoch FROM d.created_at) * 1000)::bigint, "	\
	"(extract(epoch FROM d.lease_end) * 1000)::bigint, "		\
	"coalesce((extract(epoch FROM d.ended_at) * 1000)::bigint, 0), "\
	"coalesce(d.end_reason, ''), coalesce(d.exit_status, -1), "	\
	"coalesce(d.pid, 0), coalesce(d.run_dir, ''), "			\
	"coalesce(u.cpu_ns, 0), coalesce(u.net_rx_bytes, 0), "		\
	"coalesce(u.net_tx_bytes, 0), coalesce(u.disk_rd_bytes, 0), "	\
	"coalesce(u.disk_wr_bytes, 0), coalesce(u.cost, 0) "		\
	"FROM domains d LEFT JOIN usage u ON u.domain_id = d.id "

static void
dom_from_row(struct dom *d, PGresult *r, int i)
{
	d->d_id = sql_i64(r, i, 0);
	d->d_tenant = sql_i64(r, i, 1);
	snprintf(d->d_name, sizeof(d->d_name), "%s", sql_str(r, i, 2));
	snprintf(d->d_image, sizeof(d->d_image), "%s", sql_str(r, i, 3));
	d->d_hvm = strcmp(sql_str(r, i, 4), "hvm") == 0;
	d->d_vcpus = (unsigned int)sql_i64(r, i, 5);
	d->d_mem = sql_i64(r, i, 6);
	d->d_disk = sql_i64(r, i, 7);
	d->d_net = sql_i64(r, i, 8);
	d->d_network = (int)sql_i64(r, i, 9);
	snprintf(d->d_mac, sizeof(d->d_mac), "%s", sql_str(r, i, 10));
	snprintf(d->d_ip, sizeof(d->d_ip), "%s", sql_str(r, i, 11));
	d->d_price = sql_i64(r, i, 12);
	d->d_reserved = sql_i64(r, i, 13);
	snprintf(d->d_state, sizeof(d->d_state), "%s", sql_str(r, i, 14));
	d->d_created_ms = sql_i64(r, i, 15);
	d->d_lease_end_ms = sql_i64(r, i, 16);
	d->d_ended_ms = sql_i64(r, i, 17);
	snprintf(d->d_reason, sizeof(d->d_reason), "%s", sql_str(r, i, 18));
	d->d_exit = (int)sql_i64(r, i, 19);
	d->d_pid = (pid_t)sql_i64(r, i, 20);
	snprintf(d->d_run, sizeof(d->d_run), "%s", sql_str(r, i, 21));
	d->d_final.du_cpu_ns = (uint64_t)sql_i64(r, i, 22);
	d->d_final.du_rx = (uint64_t)sql_i64(r, i, 23);
	d->d_final.du_tx = (uint64_t)sql_i64(r, i, 24);
	d->d_final.du_rd = (uint64_t)sql_i64(r, i, 25);
	d->d_final.du_wr = (uint64_t)sql_i64(r, i, 26);
	d->d_final.du_cost = sql_i64(r, i, 27);
}

/* The caller may see d (tenants see their own only). */
static int
visible(const struct api_req *ar, int64_t tenant)
{
	return ar->ar_who.pr_tenant == 0 || ar->ar_who.pr_tenant == tenant;
}

/* A domain the caller may see: live (*live = 1) or from the database
 * into tmp.  NULL with a 404 (or 500) set otherwise. */
static struct dom *
vm_lookup(struct api_req *ar, struct dom *tmp, int *live)
{
	struct dom *d;
	struct sqlp p;
	PGresult *r;

	if ((d = dom_find(ar->ar_id[0])) != NULL && visible(ar, d->d_tenant)) {
		*live = 1;
		return d;
	}
	*live = 0;
	if (d == NULL) {
		sqlp_init(&p);
		sqlp_i64(&p, ar->ar_id[0]);
		sqlp_i64(&p, ar->ar_who.pr_tenant);
		if ((r = sql_q(DOM_SELECT "WHERE d.id = $1 AND ($2 = 0 OR "
		    "d.tenant_id = $2)", &p)) == NULL) {
			api_error(ar, 500, "internal", "database error");
			return NULL;
		}
		if (sql_ntuples(r) == 1) {
			memset(tmp, 0, sizeof(*tmp));
			dom_from_row(tmp, r, 0);
			sql_free(r);
			return tmp;
		}
		sql_free(r);
	}
	api_error(ar, 404, "not_found", "no VM %" PRId64, ar->ar_id[0]);
	return NULL;
}

int
vm_get(struct api_req *ar)
{
	struct dom tmp, *d;
	int live;

	if ((d = vm_lookup(ar, &tmp, &live)) == NULL)
		return 0;
	return api_reply(ar, 200, dom_json(d, live));
}

int
vm_list(struct api_req *ar)
{
	json_object *a;
	struct dom tmp, *d;
	struct sqlp p;
	PGresult *r;
	int64_t limit, tenant, live;
	int i;

	if (api_scope(ar, &limit, &tenant) == -1 ||
	    api_qint(ar, "live", 0, 1, 0, &live) == -1)
		return 0;
	sqlp_init(&p);
	sqlp_i64(&p, tenant);
	sqlp_i64(&p, limit);
	sqlp_i64(&p, live);
	if ((r = sql_q(DOM_SELECT "WHERE ($1 = 0 OR d.tenant_id = $1) AND "
	    "($3 = 0 OR d.state IN ('starting', 'running', 'stopping')) "
	    "ORDER BY d.id DESC LIMIT $2", &p)) == NULL)
		return api_error(ar, 500, "internal", "database error");
	a = json_object_new_array();
	for (i = 0; i < sql_ntuples(r); i++) {
		if ((d = dom_find(sql_i64(r, i, 0))) != NULL) {
			json_object_array_add(a, dom_json(d, 1));
			continue;
		}
		memset(&tmp, 0, sizeof(tmp));
		dom_from_row(&tmp, r, i);
		json_object_array_add(a, dom_json(&tmp, 0));
	}
	sql_free(r);
	return api_reply(ar, 200, a);
}

int
vm_create(struct api_req *ar)
{
	struct vm_request vr;
	struct adm_request rq;
	struct dom *d;
	struct stat st;
	char err[512], image[400], base[400];
	json_object *o;
	int64_t cost;
	uint64_t accept = vmm_now_ns();
	int rc;

	if (vmreq_decode(ar->ar_body, ar->ar_len, &vr, err, sizeof(err)) == -1)
		return api_error(ar, 400, "bad_request", "%s", err);
	d = dom_new();
	if (image_find(ar->ar_who.pr_tenant, vr.vr_image, image,
	    sizeof(image), &d->d_hvm) == -1) {
		dom_free(d);
		return api_error(ar, 400, "bad_request", "image: no image "
		    "\"%s\" in the catalog or your uploads (GET /v1/images)",
		    vr.vr_image);
	}
	if (d->d_hvm && !ctld->c_conf.cc_hvm) {
		dom_free(d);
		return api_error(ar, 409, "unsupported", "image: \"%s\" is a "
		    "Linux (HVM) guest and this host cannot run HVM guests",
		    vr.vr_image);
	}
	if (vr.vr_network && ctld->c_conf.cc_bridge == NULL) {
		dom_free(d);
		return api_error(ar, 409, "unsupported", "network: this host "
		    "has no bridge for VMs (xeno-controld --bridge)");
	}
	d->d_vcpus = vr.vr_vcpus;
	d->d_mem = (int64_t)vr.vr_mem_mib << 20;
	d->d_network = vr.vr_network;
	d->d_net = (int64_t)vr.vr_net_mbps * 1000000;
	d->d_accept_ns = accept;
	snprintf(d->d_image, sizeof(d->d_image), "%s", vr.vr_image);
	if (vr.vr_disk_base[0] != '\0') {
		snprintf(base, sizeof(base), "%s/%s.img",
		    ctld->c_conf.cc_images, vr.vr_disk_base);
		if (stat(base, &st) == -1 || !S_ISREG(st.st_mode)) {
			dom_free(d);
			return api_error(ar, 400, "bad_request", "disk.base: no "
			    "base image \"%s\" in the catalog",
			    vr.vr_disk_base);
		}
		d->d_disk = st.st_size;
	}
	d->d_disk += (int64_t)vr.vr_disk_mib << 20;

	memset(&rq, 0, sizeof(rq));
	rq.ar_want.ar_vcpus = d->d_vcpus;
	rq.ar_want.ar_mem = (uint64_t)d->d_mem;
	rq.ar_want.ar_disk = (uint64_t)d->d_disk;
	rq.ar_want.ar_net = (uint64_t)d->d_net;
	rq.ar_seconds = vr.vr_seconds;
	rq.ar_max_price = vr.vr_has_max_price ? vr.vr_max_price : 0;
	rc = vm_admit(ar, vr.vr_dry_run ? "dry_run" : "create", &rq, &vr, d,
	    &cost);
	if (rc <= 0) {
		dom_free(d);
		if (rc == -1)
			api_error(ar, 500, "internal", "database error");
		return 0;
	}
	if (vr.vr_dry_run) {
		dom_free(d);
		o = json_object_new_object();
		json_object_object_add(o, "admitted",
		    json_object_new_boolean(1));
		json_object_object_add(o, "dry_run", json_object_new_boolean(1));
		json_object_object_add(o, "price", json_object_new_int64(
		    (int64_t)rq.ar_price));
		json_object_object_add(o, "cost", json_object_new_int64(cost));
		return api_reply(ar, 200, o);
	}
	snprintf(d->d_state, sizeof(d->d_state), "starting");
	TAILQ_INSERT_TAIL(&ctld->c_doms, d, d_entry);
	if (dom_spawn(d, image, vr.vr_args, vr.vr_disk_base,
	    vr.vr_disk_mib, err, sizeof(err)) == -1) {
		log_warnx("vm %" PRId64 ": %s", d->d_id, err);
		snprintf(d->d_state, sizeof(d->d_state), "failed");
		snprintf(d->d_reason, sizeof(d->d_reason), "%.200s", err);
		d->d_ended_ms = now_real_ms();
		d->d_ending = NULL;
		dom_finish(d, -1);
		return api_error(ar, 500, "spawn_failed", "the VM could not "
		    "be started: %s", err);
	}
	{
		struct sqlp p;

		sqlp_init(&p);
		sqlp_i64(&p, d->d_id);
		sqlp_i64(&p, d->d_pid);
		sqlp_str(&p, d->d_run);
		if (d->d_network) {
			sqlp_str(&p, d->d_mac);
			sqlp_str(&p, d->d_ip);
		} else {
			sqlp_null(&p);
			sqlp_null(&p);
		}
		if (sql_exec("UPDATE domains SET pid = $2, run_dir = $3, "
		    "mac = $4, ip = $5 WHERE id = $1", &p) == -1)
			log_warnx("vm %" PRId64 ": pid not recorded; a "
			    "controld restart would not find it", d->d_id);
	}
	log_info("vm %" PRId64 ": tenant %" PRId64 ", %s, %u vCPU, %" PRId64
	    " MiB, lease %" PRIu64 " s, pid %d", d->d_id, d->d_tenant,
	    d->d_image, d->d_vcpus, d->d_mem >> 20, vr.vr_seconds,
	    (int)d->d_pid);
	snprintf(ar->ar_location, sizeof(ar->ar_location), "/v1/vms/%" PRId64,
	    d->d_id);
	return api_reply(ar, 201, dom_json(d, 1));
}

static int
vm_ending(struct api_req *ar, const char *final)
{
	struct dom tmp, *d;
	int live;

	if ((d = vm_lookup(ar, &tmp, &live)) == NULL)
		return 0;
	if (!live)
		return api_error(ar, 409, "conflict", "VM %" PRId64 " has "
		    "already ended (%s)", d->d_id, d->d_state);
	if (strcmp(final, "stopped") == 0)
		dom_stop(d);
	else
		dom_end(d, final, 1);
	/* d may be gone (never started): answer from the database then */
	if (dom_find(ar->ar_id[0]) == NULL)
		return vm_get(ar);
	return api_reply(ar, 202, dom_json(d, 1));
}

int
vm_destroy(struct api_req *ar)
{
	return vm_ending(ar, "destroyed");
}

int
vm_stop(struct api_req *ar)
{
	return vm_ending(ar, "stopped");
}

int
vm_extend(struct api_req *ar)
{
	struct ext_request x;
	struct adm_request rq;
	struct dom tmp, *d;
	int64_t cost;
	int live, rc;

	if (api_json(ar, extreq_fields, &x, sizeof(x)) == -1)
		return 0;
	if ((d = vm_lookup(ar, &tmp, &live)) == NULL)
		return 0;
	if (!live || strcmp(d->d_state, "stopping") == 0)
		return api_error(ar, 409, "conflict", "VM %" PRId64 " is %s; "
		    "only a live VM can be extended", d->d_id, d->d_state);
	if (d->d_lease_end_ms + x.xr_seconds * 1000 - d->d_created_ms >
	    (int64_t)ADM_MAX_SECONDS * 1000)
		return api_error(ar, 400, "bad_request", "duration_s: a lease "
		    "is at most %llu s in all", (unsigned long long)
		    ADM_MAX_SECONDS);
	memset(&rq, 0, sizeof(rq));
	rq.ar_want.ar_vcpus = d->d_vcpus;
	rq.ar_want.ar_mem = (uint64_t)d->d_mem;
	rq.ar_want.ar_disk = (uint64_t)d->d_disk;
	rq.ar_want.ar_net = (uint64_t)d->d_net;
	rq.ar_seconds = (uint64_t)x.xr_seconds;
	rq.ar_max_price = x.xr_max_price_has ? (uint64_t)x.xr_max_price : 0;
	rq.ar_extend = 1;
	if ((rc = vm_admit(ar, "extend", &rq, NULL, d, &cost)) <= 0) {
		if (rc == -1)
			api_error(ar, 500, "internal", "database error");
		return 0;
	}
	/* the extension is priced at today's price; the domain keeps one
	 * price, so the reservation grows by what the extension costs */
	d->d_lease_end_ms += x.xr_seconds * 1000;
	d->d_reserved += cost;
	dom_arm_lease(d);
	return api_reply(ar, 200, dom_json(d, 1));
}

int
vm_console(struct api_req *ar)
{
	struct dom tmp, *d;
	struct sqlp p;
	PGresult *r;
	int live;

	if ((d = vm_lookup(ar, &tmp, &live)) == NULL)
		return 0;
	if (live) {
		if ((ar->ar_text = malloc(DOM_RING)) == NULL)
			return api_error(ar, 500, "internal", "out of memory");
		if (d->d_confd != -1)
			dom_console_read(d->d_confd, EV_READ, d);
		ar->ar_textlen = dom_console_copy(d, ar->ar_text);
		ar->ar_status = 200;
		return 0;
	}
	sqlp_init(&p);
	sqlp_i64(&p, d->d_id);
	if ((r = sql_q("SELECT encode(coalesce(console, ''), 'hex') FROM "
	    "domains WHERE id = $1", &p)) == NULL)
		return api_error(ar, 500, "internal", "database error");
	if ((ar->ar_text = malloc(DOM_RING)) == NULL) {
		sql_free(r);
		return api_error(ar, 500, "internal", "out of memory");
	}
	ar->ar_textlen = sql_unhex(sql_str(r, 0, 0), ar->ar_text, DOM_RING);
	sql_free(r);
	ar->ar_status = 200;
	return 0;
}

/* Resources in the API's units: vCPUs, MiB, Mbit/s. */
static json_object *
res_api_json(int64_t vcpus, int64_t mem, int64_t disk, int64_t net)
{
	json_object *c = json_object_new_object();

	json_object_object_add(c, "vcpus", json_object_new_int64(vcpus));
	json_object_object_add(c, "memory_mib", json_object_new_int64(
	    mem >> 20));
	json_object_object_add(c, "disk_mib", json_object_new_int64(
	    disk >> 20));
	json_object_object_add(c, "network_mbps", json_object_new_int64(
	    net / 1000000));
	return c;
}

/* GET /v1/host: capacity, settings, what is held, and every domain. */
int
vm_host(struct api_req *ar)
{
	json_object *o, *c, *a;
	struct dom *d;
	struct dom_use u;
	PGresult *r;
	int64_t v[9], held[4] = { 0, 0, 0, 0 }, nvms = 0;
	uint64_t cpu = 0;
	int i;

	if ((r = sql_q("SELECT vcpus, mem_bytes, disk_bytes, net_bps, "
	    "vcpu_ratio, mem_ratio, draining::int, price_vcpu_hour, "
	    "price_gib_hour FROM host WHERE id = 1", NULL)) == NULL)
		return api_error(ar, 500, "internal", "database error");
	for (i = 0; i < 9; i++)
		v[i] = sql_i64(r, 0, i);
	sql_free(r);
	a = json_object_new_array();
	TAILQ_FOREACH(d, &ctld->c_doms, d_entry) {
		dom_usage(d, &u);
		cpu += u.du_cpu_ns;
		held[0] += d->d_vcpus;
		held[1] += d->d_mem;
		held[2] += d->d_disk;
		held[3] += d->d_net;
		nvms++;
		if (!visible(ar, d->d_tenant))
			continue;	/* a one-tenant auditor: totals only */
		c = json_object_new_object();
		json_object_object_add(c, "id", json_object_new_int64(
		    d->d_id));
		json_object_object_add(c, "tenant", json_object_new_int64(
		    d->d_tenant));
		json_object_object_add(c, "name", json_object_new_string(
		    d->d_name));
		json_object_object_add(c, "state", json_object_new_string(
		    d->d_state));
		json_object_object_add(c, "vcpus", json_object_new_int(
		    (int)d->d_vcpus));
		json_object_object_add(c, "memory_mib", json_object_new_int64(
		    d->d_mem >> 20));
		json_object_object_add(c, "cpu_ns", json_object_new_int64(
		    (int64_t)u.du_cpu_ns));
		json_object_object_add(c, "pid", json_object_new_int(
		    d->d_pid));
		api_time(c, "lease_end", d->d_lease_end_ms);
		json_object_array_add(a, c);
	}
	o = json_object_new_object();
	json_object_object_add(o, "capacity", res_api_json(v[0], v[1], v[2],
	    v[3]));
	c = json_object_new_object();
	json_object_object_add(c, "vcpu_ratio", json_object_new_int64(v[4]));
	json_object_object_add(c, "mem_ratio", json_object_new_int64(v[5]));
	json_object_object_add(o, "overcommit", c);
	json_object_object_add(o, "draining", json_object_new_boolean(
	    (int)v[6]));
	c = json_object_new_object();
	json_object_object_add(c, "vcpu_hour", json_object_new_int64(v[7]));
	json_object_object_add(c, "gib_hour", json_object_new_int64(v[8]));
	json_object_object_add(o, "prices", c);
	c = res_api_json(held[0], held[1], held[2], held[3]);
	json_object_object_add(c, "vms", json_object_new_int64(nvms));
	json_object_object_add(o, "reserved", c);
	c = json_object_new_object();
	json_object_object_add(c, "vcpus_pct", json_object_new_double(
	    v[0] > 0 ? 100.0 * (double)held[0] * 1000 / ((double)v[0] *
	    (double)v[4]) : 0));
	json_object_object_add(c, "memory_pct", json_object_new_double(
	    v[1] > 0 ? 100.0 * (double)held[1] * 1000 / ((double)v[1] *
	    (double)v[5]) : 0));
	json_object_object_add(c, "cpu_ns", json_object_new_int64(
	    (int64_t)cpu));
	json_object_object_add(o, "utilisation", c);
	json_object_object_add(o, "hvm", json_object_new_boolean(
	    ctld->c_conf.cc_hvm));
	json_object_object_add(o, "domains", a);
	return api_reply(ar, 200, o);
}

/* Is pid still the xeno-hv of d?  Its command line names d's counters. */
static int
dom_is_ours(const struct dom *d)
{
	char path[64], buf[8192], want[400];
	ssize_t n, i;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)d->d_pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	dom_path(d, "stats", want, sizeof(want));
	for (i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1) {
		buf[n] = '\0';
		if (strcmp(buf + i, want) == 0)
			return 1;
	}
	return 0;
}

/*
 * After a restart: every domain the database calls live is either still
 * running (watch it again, reconnect its console: xeno-hv replays its
 * backlog) or ended while controld was away (finish it from its counters).
 */
int
vm_reattach(void)
{
	struct dom *d;
	PGresult *r;
	int i, n, back = 0;

	if ((r = sql_q(DOM_SELECT "WHERE d.state IN ('starting', 'running', "
	    "'stopping') ORDER BY d.id", NULL)) == NULL)
		return -1;
	n = sql_ntuples(r);
	for (i = 0; i < n; i++) {
		d = dom_new();
		dom_from_row(d, r, i);
		d->d_ended_ms = 0;
		d->d_reason[0] = '\0';
		d->d_exit = -1;
		TAILQ_INSERT_TAIL(&ctld->c_doms, d, d_entry);
		if (d->d_pid > 0 && d->d_run[0] != '\0' && dom_is_ours(d) &&
		    dom_watch(d) == 0 && dom_is_ours(d)) {
			back++;
			log_info("vm %" PRId64 ": re-attached to pid %d",
			    d->d_id, (int)d->d_pid);
			if (strcmp(d->d_state, "stopping") == 0)
				dom_end(d, "destroyed", 1);
			continue;
		}
		if (d->d_pid <= 0)
			snprintf(d->d_reason, sizeof(d->d_reason), "controld "
			    "stopped before the domain started");
		log_warnx("vm %" PRId64 ": xeno-hv (pid %d) is gone", d->d_id,
		    (int)d->d_pid);
		dom_finish(d, -1);
	}
	sql_free(r);
	if (n > 0)
		log_info("%d live domains re-attached, %d finished", back,
		    n - back);
	return 0;
}

int
vm_init(void)
{
	TAILQ_INIT(&ctld->c_doms);
	return 0;
}

/* controld exits: domains keep running; only our memory goes. */
void
vm_free(void)
{
	struct dom *d;

	while ((d = TAILQ_FIRST(&ctld->c_doms)) != NULL) {
		TAILQ_REMOVE(&ctld->c_doms, d, d_entry);
		dom_free(d);
	}
	if (ctld->c_poll != NULL)
		event_free(ctld->c_poll);
	ctld->c_poll = NULL;
}
