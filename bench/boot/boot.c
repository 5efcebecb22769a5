/*
 * bench/boot: how fast and how small xeno-hv domains are, each figure
 * beside its native peer from the same run.
 *
 *	boot XENO_HV GUESTS_DIR BURN_NATIVE NATIVE_HELLO [--starts N]
 *	    [--density N] [--burn-seconds S]
 *
 *  1. process start -> first guest instruction, and -> guest exit, for
 *     `hello` (median and p90 over N starts), against spawning a static
 *     host program that exits at once;
 *  2. the cost of one null hypercall (hypercall-storm) against one host
 *     system call;
 *  3. cpuburn's work rate in a guest against the same loop as a host
 *     process (burn-native);
 *  4. host memory per idle domain: RSS, PSS, private, and the drop in the
 *     host's MemAvailable (which includes KVM's kernel memory);
 *  5. how many idle hello domains run at once before anything fails.
 *
 * Figures only: nothing here passes or fails.  docs/PERFORMANCE.md has the
 * results and how to read them.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xen.h"

extern char **environ;

static const char *hv, *guests, *burn_native, *native_hello;
static char tmpdir[] = "/tmp/xeno-bench.XXXXXX";

static uint64_t
now_ns(void)
{
	return vmm_now_ns();
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t
pct(uint64_t *v, size_t n, unsigned int p)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[(n - 1) * p / 100];
}

/*
 * Spawn argv with stdout to `out` (or /dev/null).  Stderr goes to a log in
 * the temporary directory: hundreds of domains destroyed on purpose would
 * otherwise drown the figures.
 */
static pid_t
spawn(char *const argv[], const char *out)
{
	posix_spawn_file_actions_t fa;
	char log[512];
	pid_t pid;
	int rc;

	snprintf(log, sizeof(log), "%s/stderr.log", tmpdir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null",
	    O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, log,
	    O_WRONLY | O_CREAT | O_APPEND, 0644);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	return pid;
}

static int
wait_ok(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) == -1)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run argv to completion (stdout to `out`): 0 if it exited 0. */
static int
run_ok(char *const argv[], const char *out)
{
	pid_t pid = spawn(argv, out);

	return pid != -1 && wait_ok(pid) == 0 ? 0 : -1;
}

/*
 * The domain section of a counters file written by process `pid` (any
 * writer if 0); -1 if unreadable or not (yet) that process's.
 */
static int
read_dom(const char *path, pid_t pid, struct xeno_stats_domain *d)
{
	struct xeno_stats_hdr h;
	char err[128];
	size_t size;
	void *p;
	int rc = -1;

	if ((p = stats_map(path, &size, &h, err, sizeof(err))) == NULL)
		return -1;
	if ((pid == 0 || h.sh_pid == (uint32_t)pid) &&
	    stats_read_section((uint8_t *)p + h.sh_domain_off, d, sizeof(*d),
	    100000) == 0)
		rc = 0;
	munmap(p, size);
	return rc;
}

/* A "key=value" number from a file of guest output. */
static uint64_t
grab(const char *path, const char *key)
{
	char line[512], *p;
	FILE *f = fopen(path, "r");
	uint64_t v = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if ((p = strstr(line, key)) != NULL)
			v = strtoull(p + strlen(key), NULL, 10);
	fclose(f);
	return v;
}

static void
bench_boot(int n)
{
	uint64_t *first = calloc((size_t)n, 8), *gexit = calloc((size_t)n, 8);
	uint64_t *reap = calloc((size_t)n, 8), *nat = calloc((size_t)n, 8);
	char img[512], stats[512];
	struct xeno_stats_domain d;
	int i, bad = 0;

	snprintf(img, sizeof(img), "%s/hello.elf", guests);
	snprintf(stats, sizeof(stats), "%s/boot.stats", tmpdir);
	for (i = 0; i < n; i++) {
		char *argv[] = { (char *)hv, (char *)"run", (char *)"--image",
		    img, (char *)"--console", (char *)"none", (char *)"--stats",
		    stats, NULL };
		char *nargv[] = { (char *)native_hello, NULL };
		uint64_t t0 = now_ns(), t1;
		pid_t pid = spawn(argv, NULL);

		if (pid == -1 || wait_ok(pid) != 0 || read_dom(stats, pid, &d) ||
		    d.sd_first_insn_ns < t0) {
			bad++;
			continue;
		}
		t1 = now_ns();
		first[i - bad] = d.sd_first_insn_ns - t0;
		gexit[i - bad] = d.sd_end_ns - t0;
		reap[i - bad] = t1 - t0;

		t0 = now_ns();
		if (run_ok(nargv, NULL) == -1) {
			bad++;
			continue;
		}
		nat[i - bad] = now_ns() - t0;
	}
	n -= bad;
	if (n <= 0) {
		printf("boot: every start failed\n");
		return;
	}
	printf("\n1. Start-up, %d starts of hello (16 MiB, 1 vCPU)\n", n);
	printf("   %-44s %9s %9s\n", "", "median", "p90");
	printf("   %-44s %7.3f ms %6.3f ms\n", "process start -> first guest "
	    "instruction", pct(first, (size_t)n, 50) / 1e6,
	    pct(first, (size_t)n, 90) / 1e6);
	printf("   %-44s %7.3f ms %6.3f ms\n", "process start -> guest exit",
	    pct(gexit, (size_t)n, 50) / 1e6, pct(gexit, (size_t)n, 90) / 1e6);
	printf("   %-44s %7.3f ms %6.3f ms\n", "process start -> xeno-hv "
	    "reaped", pct(reap, (size_t)n, 50) / 1e6,
	    pct(reap, (size_t)n, 90) / 1e6);
	printf("   %-44s %7.3f ms %6.3f ms\n", "peer: static host program, "
	    "spawn -> reaped", pct(nat, (size_t)n, 50) / 1e6,
	    pct(nat, (size_t)n, 90) / 1e6);
	printf("   ratio xeno-hv reaped / native process: %.1fx\n",
	    (double)pct(reap, (size_t)n, 50) / (double)pct(nat, (size_t)n, 50));
	printf("bench: boot_first_insn_ms=%.3f boot_exit_ms=%.3f "
	    "boot_reaped_ms=%.3f native_spawn_ms=%.3f\n",
	    pct(first, (size_t)n, 50) / 1e6, pct(gexit, (size_t)n, 50) / 1e6,
	    pct(reap, (size_t)n, 50) / 1e6, pct(nat, (size_t)n, 50) / 1e6);
	free(first);
	free(gexit);
	free(reap);
	free(nat);
}

static void
bench_hypercall(void)
{
	char img[512], out[512];
	char *argv[] = { (char *)hv, (char *)"run", (char *)"--image", img,
	    (char *)"--args", (char *)"n=20000", NULL };
	uint64_t t0, per, sys;
	int i, n = 200000;

	snprintf(img, sizeof(img), "%s/hypercall-storm.elf", guests);
	snprintf(out, sizeof(out), "%s/storm.out", tmpdir);
	if (run_ok(argv, out) == -1) {
		printf("hypercall-storm failed\n");
		return;
	}
	per = grab(out, "ns_per_call=");
	t0 = now_ns();
	for (i = 0; i < n; i++)
		syscall(SYS_getppid);
	sys = (now_ns() - t0) / (uint64_t)n;
	printf("\n2. Null hypercall (20000 from the guest, round trip)\n");
	printf("   xeno-hv null hypercall      %8.2f us\n", per / 1e3);
	printf("   peer: host getppid syscall  %8.2f us\n", sys / 1e3);
	printf("   ratio: %.0fx (a userspace exit on this KVM; see "
	    "docs/PERFORMANCE.md)\n", (double)per / (double)(sys ? sys : 1));
	printf("bench: null_hypercall_us=%.2f host_syscall_us=%.3f\n",
	    per / 1e3, sys / 1e3);
}

/*
 * Guest and native runs alternate for BURN_ROUNDS rounds and the medians
 * are compared: the host's own noise (other tenants of the machine we run
 * on) then falls on both sides alike instead of on whichever ran second.
 */
#define BURN_ROUNDS	5

static void
bench_burn(const char *secs)
{
	char img[512], out[512], out2[512], arg[64];
	char *argv[] = { (char *)hv, (char *)"run", (char *)"--image", img,
	    (char *)"--args", arg, NULL };
	char *nargv[] = { (char *)burn_native, (char *)secs, NULL };
	uint64_t g[BURN_ROUNDS], h[BURN_ROUNDS], gm, hm;
	int r;

	snprintf(img, sizeof(img), "%s/cpuburn.elf", guests);
	snprintf(arg, sizeof(arg), "seconds=%s", secs);
	snprintf(out, sizeof(out), "%s/burn.out", tmpdir);
	snprintf(out2, sizeof(out2), "%s/native.out", tmpdir);
	for (r = 0; r < BURN_ROUNDS; r++) {
		if (run_ok(nargv, out2) == -1) {
			printf("burn-native failed\n");
			return;
		}
		if (run_ok(argv, out) == -1) {
			printf("cpuburn failed\n");
			return;
		}
		h[r] = grab(out2, "rate=");
		g[r] = grab(out, "rate=");
	}
	gm = pct(g, BURN_ROUNDS, 50);
	hm = pct(h, BURN_ROUNDS, 50);
	printf("\n3. CPU-bound work, 1 vCPU vs 1 host thread, %d alternating "
	    "rounds of %s s\n", BURN_ROUNDS, secs);
	printf("   guest cpuburn     %10" PRIu64 " units/s (median; %" PRIu64
	    "..%" PRIu64 ")\n", gm, g[0], g[BURN_ROUNDS - 1]);
	printf("   peer: host loop   %10" PRIu64 " units/s (median; %" PRIu64
	    "..%" PRIu64 ")\n", hm, h[0], h[BURN_ROUNDS - 1]);
	printf("   guest / native: %.1f%%\n", hm ? 100.0 * (double)gm /
	    (double)hm : 0.0);
	printf("bench: burn_guest_rate=%" PRIu64 " burn_native_rate=%" PRIu64
	    " burn_ratio_pct=%.1f\n", gm, hm, hm ? 100.0 * (double)gm /
	    (double)hm : 0.0);
}

/* The number after "key:" in a /proc file of such lines (KiB), or 0. */
static uint64_t
kib_in(const char *path, const char *key)
{
	char line[256];
	FILE *f = fopen(path, "r");
	uint64_t v = 0;
	size_t k = strlen(key);

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, k) == 0 && line[k] == ':')
			v = strtoull(line + k + 1, NULL, 10);
	fclose(f);
	return v;
}

static uint64_t
meminfo(const char *key)
{
	return kib_in("/proc/meminfo", key);
}

static uint64_t
proc_kib(pid_t pid, const char *file, const char *key)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	return kib_in(path, key);
}

/*
 * Start up to `max` idle hello domains (each yields for a long time),
 * wait for each to boot; stop at the first failure.  Returns how many
 * booted; their pids are in pids[].
 */
static int
start_idle(pid_t *pids, int max, const char *mem, const char *tag)
{
	char img[512], stats[512];
	struct xeno_stats_domain d;
	int i, k;

	snprintf(img, sizeof(img), "%s/hello.elf", guests);
	for (i = 0; i < max; i++) {
		char *argv[] = { (char *)hv, (char *)"run", (char *)"--image",
		    img, (char *)"--mem", (char *)mem, (char *)"--console",
		    (char *)"none", (char *)"--args", (char *)"sleep_ms=600000",
		    (char *)"--stats", stats, NULL };

		snprintf(stats, sizeof(stats), "%s/%s%d.stats", tmpdir, tag, i);
		pids[i] = spawn(argv, NULL);
		if (pids[i] == -1) {
			printf("   domain %d: spawn failed: %s\n", i + 1,
			    strerror(errno));
			return i;
		}
		for (k = 0; k < 5000; k++) {
			if (read_dom(stats, pids[i], &d) == 0 &&
			    (d.sd_boot_done_ns ||
			    d.sd_state == XENO_DOM_SHUTDOWN))
				break;
			usleep(1000);
		}
		if (k == 5000 || d.sd_state == XENO_DOM_SHUTDOWN) {
			printf("   domain %d did not boot (%s)\n", i + 1,
			    k == 5000 ? "timeout" : "ended");
			kill(pids[i], SIGKILL);
			wait_ok(pids[i]);
			return i;
		}
	}
	return max;
}

static int
stop_all(pid_t *pids, int n)
{
	int i, bad = 0;

	for (i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	for (i = 0; i < n; i++)
		if (wait_ok(pids[i]) != HV_EXIT_DESTROYED)
			bad++;
	return bad;
}

static void
bench_memory(int n)
{
	pid_t *pids = calloc((size_t)n, sizeof(pid_t));
	uint64_t avail0, avail1, rss = 0, pss = 0, priv = 0;
	int i, up;

	sync();
	avail0 = meminfo("MemAvailable");
	up = start_idle(pids, n, "16M", "mem");
	avail1 = meminfo("MemAvailable");
	for (i = 0; i < up; i++) {
		rss += proc_kib(pids[i], "status", "VmRSS");
		pss += proc_kib(pids[i], "smaps_rollup", "Pss");
		priv += proc_kib(pids[i], "smaps_rollup", "Private_Dirty") +
		    proc_kib(pids[i], "smaps_rollup", "Private_Clean");
	}
	printf("\n4. Host memory per idle domain (%d hello domains, 16 MiB "
	    "each)\n", up);
	if (up > 0) {
		printf("   RSS %" PRIu64 " KiB, PSS %" PRIu64 " KiB, private %"
		    PRIu64 " KiB\n", rss / (uint64_t)up, pss / (uint64_t)up,
		    priv / (uint64_t)up);
		printf("   host MemAvailable drop: %" PRIu64 " KiB per domain "
		    "(user + KVM kernel memory)\n", avail0 > avail1 ?
		    (avail0 - avail1) / (uint64_t)up : 0);
		printf("bench: mem_rss_kib=%" PRIu64 " mem_pss_kib=%" PRIu64
		    " mem_private_kib=%" PRIu64 " mem_host_kib=%" PRIu64 "\n",
		    rss / (uint64_t)up, pss / (uint64_t)up,
		    priv / (uint64_t)up, avail0 > avail1 ?
		    (avail0 - avail1) / (uint64_t)up : 0);
	}
	if (stop_all(pids, up) != 0)
		printf("   (some domains did not stop cleanly)\n");
	free(pids);
}

static void
bench_density(int max)
{
	pid_t *pids = calloc((size_t)max, sizeof(pid_t));
	uint64_t t0 = now_ns(), avail0 = meminfo("MemAvailable");
	int up, bad;

	up = start_idle(pids, max, "4M", "dense");
	printf("\n5. Density: idle hello domains (4 MiB) running at once\n");
	printf("   %d of %d started and booted in %.1f s; host memory used "
	    "%.0f MiB\n", up, max, (now_ns() - t0) / 1e9,
	    (double)(avail0 - meminfo("MemAvailable")) / 1024.0);
	bad = stop_all(pids, up);
	printf("   all stopped by SIGTERM: %d failed to exit cleanly\n", bad);
	printf("bench: density=%d density_target=%d\n", up, max);
	free(pids);
}

int
main(int argc, char **argv)
{
	int i, starts = 100, density = 1000;
	const char *secs = "2";
	char cmd[600];

	if (argc < 5) {
		fprintf(stderr, "usage: boot XENO_HV GUESTS BURN_NATIVE "
		    "NATIVE_HELLO [--starts N] [--density N] "
		    "[--burn-seconds S]\n");
		return 64;
	}
	hv = argv[1];
	guests = argv[2];
	burn_native = argv[3];
	native_hello = argv[4];
	for (i = 5; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--starts") == 0)
			starts = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--density") == 0)
			density = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--burn-seconds") == 0)
			secs = argv[i + 1];
	}
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	printf("bench/boot: xeno-hv %s on %ld CPUs\n", hv,
	    sysconf(_SC_NPROCESSORS_ONLN));
	bench_boot(starts);
	bench_hypercall();
	bench_burn(secs);
	bench_memory(100);
	if (density > 0)
		bench_density(density);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : 1;
}
