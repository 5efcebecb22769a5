/*
 * xeno-controld: the Domain0 control daemon (docs/CONTROLD.md).  Runs in
 * the foreground (a service manager supervises it), logs to stderr.
 *
 * Start: the state directory, TLS (a self-signed certificate if none), the
 * database (the embedded cluster unless --db), migrations, the host row,
 * the API, then re-attach to the domains that outlived the last controld.
 * SIGTERM/SIGINT: stop serving and exit; domains keep running, and the
 * embedded cluster is stopped.
 */
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>
#include <openssl/ssl.h>

#include "controld.h"
#include "xen.h"
#include "xeno/log.h"

#define DOM_SOCK_LONGEST	"/dom-9223372036854775807/console.sock"

struct ctld *ctld;

int64_t
now_real_ms(void)
{
	return (int64_t)(vmm_realtime_ns() / 1000000);
}

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
"usage: xeno-controld [options]\n"
"  --state DIR        state: database, TLS files, uploads, run dirs\n"
"                     (default /var/lib/xeno)\n"
"  --listen ADDR:PORT HTTPS address (default 127.0.0.1:8443; port 0: any)\n"
"  --db CONNINFO      an existing PostgreSQL (default: a private cluster\n"
"                     in STATE/pg, Unix socket only)\n"
"  --pg-bin DIR       PostgreSQL's programs (default: found)\n"
"  --cert FILE --key FILE  TLS certificate and key (default: STATE/tls/,\n"
"                     made self-signed on first start)\n"
"  --images DIR       the image catalog (default STATE/images)\n"
"  --xeno-hv PATH     the hypervisor (default: beside xeno-controld)\n"
"  --bridge NAME      host bridge for VM networks (default: none)\n"
"  --subnet A.B.C.D/P the bridge's address and the VMs' subnet\n"
"                     (default 10.77.0.1/16)\n"
"  --vcpus N --memory SIZE --disk SIZE --network MBPS\n"
"                     host capacity (default: this machine's CPUs and\n"
"                     memory less 1 GiB, disk 0, network 0)\n"
"  --grace S          seconds from SIGTERM to SIGKILL at a lease's end (5)\n"
"  --hvm              this host can run HVM (Linux) guests\n"
"  -d                 debug logging\n");
	exit(code);
}

/* --opt N: an integer from lo to hi, or exit 64 saying what was wanted. */
static uint64_t
opt_num(const char *opt, const char *arg, uint64_t lo, uint64_t hi,
    const char *unit)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno != 0 || *arg == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "xeno-controld: --%s %s: expected %s, %llu to "
		    "%llu\n", opt, arg, unit, (unsigned long long)lo,
		    (unsigned long long)hi);
		exit(64);
	}
	return v;
}

static int
parse_subnet(const char *s, uint32_t *net, uint32_t *mask)
{
	char buf[32], *slash;
	struct in_addr in;
	long p;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	if ((slash = strchr(buf, '/')) == NULL)
		return -1;
	*slash++ = '\0';
	p = strtol(slash, NULL, 10);
	if (inet_pton(AF_INET, buf, &in) != 1 || p < 8 || p > 29)
		return -1;
	*mask = p == 0 ? 0 : ~0U << (32 - p);
	*net = ntohl(in.s_addr) & *mask;
	return 0;
}

/*
 * The state directory is 0711: PostgreSQL runs as its own user and must
 * pass through it to STATE/pg (which it owns, 0700); nothing can be
 * listed.  The rest is 0750.
 */
static int
mkdirs(const char *base, const char *leaf, char *out, size_t sz)
{
	snprintf(out, sz, "%s%s%s", base, leaf[0] != '\0' ? "/" : "", leaf);
	if (mkdir(out, leaf[0] == '\0' ? 0711 : 0750) == -1 &&
	    errno != EEXIST) {
		log_warn("%s", out);
		return -1;
	}
	return 0;
}

static void
on_signal(evutil_socket_t sig, short ev, void *arg)
{
	(void)ev, (void)arg;
	log_info("signal %d: exiting; domains keep running", (int)sig);
	event_base_loopbreak(ctld->c_base);
}

/* The host row: capacity from this start's options, settings kept. */
static int
host_setup(void)
{
	struct sqlp p;
	const struct adm_res *c = &ctld->c_conf.cc_cap;

	sqlp_init(&p);
	sqlp_i64(&p, (int64_t)c->ar_vcpus);
	sqlp_i64(&p, (int64_t)c->ar_mem);
	sqlp_i64(&p, (int64_t)c->ar_disk);
	sqlp_i64(&p, (int64_t)c->ar_net);
	return sql_exec("INSERT INTO host (id, vcpus, mem_bytes, disk_bytes, "
	    "net_bps) VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO UPDATE "
	    "SET vcpus = $1, mem_bytes = $2, disk_bytes = $3, net_bps = $4",
	    &p);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "db", required_argument, NULL, 'D' },
		{ "pg-bin", required_argument, NULL, 'P' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "images", required_argument, NULL, 'i' },
		{ "xeno-hv", required_argument, NULL, 'x' },
		{ "bridge", required_argument, NULL, 'b' },
		{ "subnet", required_argument, NULL, 'n' },
		{ "vcpus", required_argument, NULL, 'V' },
		{ "memory", required_argument, NULL, 'M' },
		{ "disk", required_argument, NULL, 'K' },
		{ "network", required_argument, NULL, 'N' },
		{ "grace", required_argument, NULL, 'g' },
		{ "hvm", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct ctld c;
	struct ctld_conf *cf = &c.c_conf;
	char cert[320], key[320], images[300], tlsdir[300], hv[320], cn[256];
	char err[1024], self[300], *slash;
	struct event *sigterm, *sigint;
	uint64_t v;
	int ch, debug = 0, from, to, rc = 1;
	ssize_t n;

	ctld = &c;
	cf->cc_state = "/var/lib/xeno";
	cf->cc_listen = "127.0.0.1:8443";
	cf->cc_subnet = "10.77.0.1/16";
	cf->cc_grace = 5;
	cf->cc_cap.ar_vcpus = (uint64_t)sysconf(_SC_NPROCESSORS_ONLN);
	v = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
	cf->cc_cap.ar_mem = v > (2ULL << 30) ? v - (1ULL << 30) : v / 2;
	while ((ch = getopt_long(argc, argv, "dh", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': cf->cc_state = optarg; break;
		case 'l': cf->cc_listen = optarg; break;
		case 'D': cf->cc_db = optarg; break;
		case 'P': cf->cc_pgbin = optarg; break;
		case 'c': cf->cc_cert = optarg; break;
		case 'k': cf->cc_key = optarg; break;
		case 'i': cf->cc_images = optarg; break;
		case 'x': cf->cc_hv = optarg; break;
		case 'b': cf->cc_bridge = optarg; break;
		case 'n': cf->cc_subnet = optarg; break;
		case 'H': cf->cc_hvm = 1; break;
		case 'd': debug = 1; break;
		case 'h': usage(0);
		case 'V':
			cf->cc_cap.ar_vcpus = opt_num("vcpus", optarg, 1,
			    1000000, "CPUs");
			break;
		case 'M':
		case 'K':
			if (opts_parse_size(optarg, &v) == -1 ||
			    v > (uint64_t)INT64_MAX) {
				fprintf(stderr, "xeno-controld: --%s %s: "
				    "expected a size (K, M, G, T; bare: MiB)\n",
				    ch == 'M' ? "memory" : "disk", optarg);
				return 64;
			}
			if (ch == 'M')
				cf->cc_cap.ar_mem = v;
			else
				cf->cc_cap.ar_disk = v;
			break;
		case 'N':
			cf->cc_cap.ar_net = opt_num("network", optarg, 0,
			    10000000, "Mbit/s") * 1000000;
			break;
		case 'g':
			cf->cc_grace = (unsigned int)opt_num("grace", optarg, 0,
			    3600, "seconds");
			break;
		default:
			usage(64);
		}
	}
	if (optind != argc)
		usage(64);
	if ((cf->cc_cert == NULL) != (cf->cc_key == NULL)) {
		fprintf(stderr, "xeno-controld: --cert and --key go together\n");
		return 64;
	}
	if (parse_subnet(cf->cc_subnet, &c.c_net, &c.c_mask) == -1) {
		fprintf(stderr, "xeno-controld: --subnet %s: expected "
		    "A.B.C.D/P with P from 8 to 29\n", cf->cc_subnet);
		return 64;
	}
	log_init("xeno-controld", debug, 0);
	signal(SIGPIPE, SIG_IGN);

	/* each domain's console and control sockets are RUN/dom-ID/NAME */
	if (strlen(cf->cc_state) + strlen("/run") + sizeof(DOM_SOCK_LONGEST) >
	    sizeof(((struct sockaddr_un *)0)->sun_path)) {
		log_warnx("--state %s: too long for the domains' Unix sockets "
		    "(at most %zu bytes)", cf->cc_state,
		    sizeof(((struct sockaddr_un *)0)->sun_path) -
		    sizeof(DOM_SOCK_LONGEST) - strlen("/run"));
		return 64;
	}
	/* the state directory and what lives in it */
	if (mkdirs(cf->cc_state, "", tlsdir, sizeof(tlsdir)) == -1 ||
	    mkdirs(cf->cc_state, "tls", tlsdir, sizeof(tlsdir)) == -1 ||
	    mkdirs(cf->cc_state, "run", c.c_run, sizeof(c.c_run)) == -1 ||
	    mkdirs(cf->cc_state, "uploads", c.c_uploads,
	    sizeof(c.c_uploads)) == -1)
		return 73;
	if (cf->cc_images == NULL) {
		if (mkdirs(cf->cc_state, "images", images, sizeof(images)) ==
		    -1)
			return 73;
		cf->cc_images = images;
	}
	if (cf->cc_hv == NULL) {
		/* beside us: build/xeno-controld and build/xeno-hv */
		if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <
		    0)
			fatal("/proc/self/exe");
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL)
			*slash = '\0';
		snprintf(hv, sizeof(hv), "%s/xeno-hv", self);
		cf->cc_hv = hv;
	}
	if (access(cf->cc_hv, X_OK) == -1) {
		log_warn("xeno-hv %s (--xeno-hv)", cf->cc_hv);
		return 66;
	}

	if (cf->cc_cert == NULL) {
		snprintf(cert, sizeof(cert), "%s/cert.pem", tlsdir);
		snprintf(key, sizeof(key), "%s/key.pem", tlsdir);
		/* the host's name, if it can be a certificate's name */
		if (gethostname(cn, sizeof(cn)) == -1 ||
		    tls_selfsigned(cert, key, cn, err, sizeof(err)) == -1)
			strcpy(cn, "localhost");
		if (strcmp(cn, "localhost") == 0 &&
		    tls_selfsigned(cert, key, cn, err, sizeof(err)) == -1) {
			log_warnx("TLS: %s", err);
			return 73;
		}
		cf->cc_cert = cert;
		cf->cc_key = key;
	}
	if ((c.c_tls = tls_ctx(cf->cc_cert, cf->cc_key, err, sizeof(err))) ==
	    NULL) {
		log_warnx("TLS: %s", err);
		return 66;
	}

	if (cf->cc_db == NULL) {
		if (pgc_start(cf->cc_state, cf->cc_pgbin, c.c_conninfo,
		    sizeof(c.c_conninfo), err, sizeof(err)) == -1) {
			log_warnx("database: %s", err);
			return 69;
		}
		c.c_embedded = 1;
	} else
		snprintf(c.c_conninfo, sizeof(c.c_conninfo), "%s", cf->cc_db);
	if ((c.c_db = db_open(c.c_conninfo, err, sizeof(err))) == NULL) {
		log_warnx("database: %s", err);
		goto out;
	}
	if (db_migrate(c.c_db, &from, &to, err, sizeof(err)) == -1) {
		log_warnx("database: %s", err);
		goto out;
	}
	if (from != to)
		log_info("database schema: version %d -> %d", from, to);
	if (host_setup() == -1)
		goto out;

	if (cf->cc_bridge != NULL && hn_bridge(cf->cc_bridge, cf->cc_subnet,
	    err, sizeof(err)) == -1) {
		log_warnx("--bridge %s: %s", cf->cc_bridge, err);
		goto out;
	}
	if ((c.c_base = event_base_new()) == NULL)
		fatal("event_base_new");
	if (vm_init() == -1 || api_init() == -1)
		goto out;
	if (vm_reattach() == -1)
		goto out;
	sigterm = evsignal_new(c.c_base, SIGTERM, on_signal, NULL);
	sigint = evsignal_new(c.c_base, SIGINT, on_signal, NULL);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) ||
	    evsignal_add(sigint, NULL))
		fatal("signals");
	log_info("ready: state %s, host %" PRIu64 " vCPUs, %" PRIu64 " MiB, "
	    "xeno-hv %s", cf->cc_state, cf->cc_cap.ar_vcpus,
	    cf->cc_cap.ar_mem >> 20, cf->cc_hv);
	event_base_dispatch(c.c_base);
	event_free(sigterm);
	event_free(sigint);
	rc = 0;
out:
	api_free();
	vm_free();
	if (c.c_base != NULL)
		event_base_free(c.c_base);
	if (c.c_db != NULL)
		PQfinish(c.c_db);
	if (c.c_embedded && pgc_stop(cf->cc_state, cf->cc_pgbin, err,
	    sizeof(err)) == -1)
		log_warnx("database: %s", err);
	SSL_CTX_free(c.c_tls);
	return rc;
}
