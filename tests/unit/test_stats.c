/*
 * stats.c: the counters page layout, the seqlock (a reader racing a
 * writer never sees a torn section), and the validation of untrusted
 * counters files.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "t.h"
#include "xen.h"

static struct stats_page sp;
static volatile int stop;

/* The writer keeps every counter of vCPU 1 equal to one running value. */
static void *
writer(void *arg)
{
	struct xeno_stats_vcpu *v = stats_vcpu(&sp, 1);
	uint64_t n = 0;
	unsigned int r;

	(void)arg;
	while (!stop) {
		n++;
		stats_write_begin(&v->sv_seq);
		v->sv_run_ns = n;
		v->sv_cpu_ns = n;
		v->sv_exits = n;
		for (r = 0; r < XENO_STATS_NR_EXITS; r++) {
			v->sv_exit[r].count = n;
			v->sv_exit[r].ns = n;
		}
		v->sv_hcalls = n;
		stats_write_end(&v->sv_seq);
		/* a real writer updates once per exit, microseconds apart */
		for (r = 0; r < 64; r++)
			__builtin_ia32_pause();
	}
	return NULL;
}

static void
test_torn(void)
{
	pthread_t t;
	struct xeno_stats_vcpu c;
	unsigned int r;
	int i, torn = 0, reads = 0;
	time_t t_end;
	uint64_t last = 0, backwards = 0;

	CHECK(stats_create(&sp, NULL, 2) == 0);
	CHECK_EQ(sp.sp_hdr->sh_magic, XENO_STATS_MAGIC);
	CHECK_EQ(sp.sp_size, stats_size(2));
	CHECK(sp.sp_hdr->sh_vcpu_off % 64 == 0);
	CHECK(sp.sp_hdr->sh_dev_off % 4096 == 0);
	CHECK(sp.sp_hdr->sh_dev_off >= sp.sp_hdr->sh_vcpu_off +
	    2 * sp.sp_hdr->sh_vcpu_size);
	CHECK(pthread_create(&t, NULL, writer, NULL) == 0);
	t_end = time(NULL) + 2;
	for (i = 0; time(NULL) < t_end; i++) {
		if (stats_read_section(stats_vcpu(&sp, 1), &c, sizeof(c),
		    1000000) == -1)
			continue;
		reads++;
		if (c.sv_cpu_ns != c.sv_run_ns || c.sv_exits != c.sv_run_ns ||
		    c.sv_hcalls != c.sv_run_ns)
			torn++;
		for (r = 0; r < XENO_STATS_NR_EXITS; r++)
			if (c.sv_exit[r].count != c.sv_run_ns ||
			    c.sv_exit[r].ns != c.sv_run_ns)
				torn++;
		if (c.sv_run_ns < last)
			backwards++;
		last = c.sv_run_ns;
	}
	stop = 1;
	pthread_join(t, NULL);
	CHECK(reads > 1000);
	CHECK_EQ(torn, 0);
	CHECK_EQ(backwards, 0);
	CHECK(last > 0);
	printf("test_stats: %d consistent reads while the writer reached %llu\n",
	    reads, (unsigned long long)last);

	/* a writer that died mid-update: the reader gives up, EAGAIN */
	stats_write_begin(&stats_vcpu(&sp, 0)->sv_seq);
	errno = 0;
	CHECK(stats_read_section(stats_vcpu(&sp, 0), &c, sizeof(c), 100) ==
	    -1 && errno == EAGAIN);
	stats_write_end(&stats_vcpu(&sp, 0)->sv_seq);
	CHECK(stats_read_section(stats_vcpu(&sp, 0), &c, sizeof(c), 100) == 0);
}

static void
test_check(void)
{
	uint8_t *copy = malloc(sp.sp_size);
	struct xeno_stats_hdr *h = (struct xeno_stats_hdr *)(void *)copy, hc;
	char err[256];
	int i, accepted_bad = 0;

	memcpy(copy, sp.sp_base, sp.sp_size);
	CHECK(stats_check(copy, sp.sp_size, &hc, err, sizeof(err)) == 0);
	CHECK(stats_check(copy, 10, &hc, err, sizeof(err)) == -1);
	CHECK(stats_check(copy, sp.sp_size - 1, &hc, err, sizeof(err)) == -1);
	h->sh_magic ^= 1;
	CHECK(stats_check(copy, sp.sp_size, &hc, err, sizeof(err)) == -1);
	CHECK(strstr(err, "magic") != NULL);
	h->sh_magic ^= 1;
	h->sh_version = 99;
	CHECK(stats_check(copy, sp.sp_size, &hc, err, sizeof(err)) == -1);
	CHECK(strstr(err, "version 99") != NULL);
	h->sh_version = XENO_STATS_VERSION;
	h->sh_nr_vcpus = 1000;
	CHECK(stats_check(copy, sp.sp_size, &hc, err, sizeof(err)) == -1);

	/* random headers: whatever passes keeps every section in the file */
	srandom(7);
	for (i = 0; i < 100000; i++) {
		memcpy(copy, sp.sp_base, sizeof(*h));
		copy[8 + random() % (sizeof(*h) - 8)] = (uint8_t)random();
		if (stats_check(copy, sp.sp_size, &hc, err, sizeof(err)) == 0 &&
		    ((uint64_t)h->sh_vcpu_off + (uint64_t)h->sh_nr_vcpus *
		    h->sh_vcpu_size > sp.sp_size ||
		    h->sh_domain_off + sizeof(struct xeno_stats_domain) >
		    sp.sp_size))
			accepted_bad++;
	}
	CHECK_EQ(accepted_bad, 0);
	free(copy);
}

/*
 * A new domain writing the same counters path replaces the file by
 * rename: a reader of the old file keeps a whole, valid old file, and an
 * unpublished page leaves no file behind.
 */
static void
test_replace(void)
{
	char dir[] = "/tmp/test_stats.XXXXXX", path[64], tmp[80];
	struct stats_page a, b;
	struct xeno_stats_hdr h;
	struct stat st;
	char err[128];
	void *old;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/s", dir);
	CHECK(stats_create(&a, path, 1) == 0);
	CHECK(stat(path, &st) == -1);		/* not visible before publish */
	CHECK(stats_publish(&a) == 0);
	fd = open(path, O_RDONLY);
	CHECK(fd != -1);
	old = mmap(NULL, a.sp_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	CHECK(old != MAP_FAILED);

	CHECK(stats_create(&b, path, 64) == 0);
	CHECK(stats_publish(&b) == 0);
	/* the old mapping still holds the 1-vCPU file, intact */
	CHECK(stats_check(old, a.sp_size, &h, err, sizeof(err)) == 0);
	CHECK_EQ(h.sh_nr_vcpus, 1);
	CHECK(stat(path, &st) == 0 && (size_t)st.st_size == stats_size(64));
	munmap(old, a.sp_size);
	stats_destroy(&a);
	stats_destroy(&b);

	/* created, never published: nothing left */
	CHECK(stats_create(&a, path, 1) == 0);
	snprintf(tmp, sizeof(tmp), "%s", a.sp_tmp);
	stats_destroy(&a);
	CHECK(stat(tmp, &st) == -1);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	test_replace();
	test_torn();
	test_check();
	stats_destroy(&sp);
	return t_done("test_stats");
}
