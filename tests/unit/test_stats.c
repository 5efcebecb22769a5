/*
 * stats.c: the counters page layout, the seqlock (a reader racing a
 * writer never sees a torn section), and the validation of untrusted
 * counters files.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
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
	uint64_t last = 0, backwards = 0;

	CHECK(stats_create(&sp, NULL, 2) == 0);
	CHECK_EQ(sp.sp_hdr->sh_magic, XENO_STATS_MAGIC);
	CHECK_EQ(sp.sp_size, stats_size(2));
	CHECK(sp.sp_hdr->sh_vcpu_off % 64 == 0);
	CHECK(sp.sp_hdr->sh_dev_off % 4096 == 0);
	CHECK(sp.sp_hdr->sh_dev_off >= sp.sp_hdr->sh_vcpu_off +
	    2 * sp.sp_hdr->sh_vcpu_size);
	CHECK(pthread_create(&t, NULL, writer, NULL) == 0);
	for (i = 0; i < 200000; i++) {
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
	struct xeno_stats_hdr *h = (struct xeno_stats_hdr *)(void *)copy;
	char err[256];
	int i, accepted_bad = 0;

	memcpy(copy, sp.sp_base, sp.sp_size);
	CHECK(stats_check(copy, sp.sp_size, err, sizeof(err)) == 0);
	CHECK(stats_check(copy, 10, err, sizeof(err)) == -1);
	CHECK(stats_check(copy, sp.sp_size - 1, err, sizeof(err)) == -1);
	h->sh_magic ^= 1;
	CHECK(stats_check(copy, sp.sp_size, err, sizeof(err)) == -1);
	CHECK(strstr(err, "magic") != NULL);
	h->sh_magic ^= 1;
	h->sh_version = 99;
	CHECK(stats_check(copy, sp.sp_size, err, sizeof(err)) == -1);
	CHECK(strstr(err, "version 99") != NULL);
	h->sh_version = XENO_STATS_VERSION;
	h->sh_nr_vcpus = 1000;
	CHECK(stats_check(copy, sp.sp_size, err, sizeof(err)) == -1);

	/* random headers: whatever passes keeps every section in the file */
	srandom(7);
	for (i = 0; i < 100000; i++) {
		memcpy(copy, sp.sp_base, sizeof(*h));
		copy[8 + random() % (sizeof(*h) - 8)] = (uint8_t)random();
		if (stats_check(copy, sp.sp_size, err, sizeof(err)) == 0 &&
		    ((uint64_t)h->sh_vcpu_off + (uint64_t)h->sh_nr_vcpus *
		    h->sh_vcpu_size > sp.sp_size ||
		    h->sh_domain_off + sizeof(struct xeno_stats_domain) >
		    sp.sp_size))
			accepted_bad++;
	}
	CHECK_EQ(accepted_bad, 0);
	free(copy);
}

int
main(void)
{
	test_torn();
	test_check();
	stats_destroy(&sp);
	return t_done("test_stats");
}
