/*
 * blkio: the native baseline of bench/blk.  The same I/O a blkbench
 * guest asks its VBD for, done by a host process on the same file with
 * pread/pwrite (what xeno-hv's VBD thread does for the guest):
 *
 *	blkio seq-read|seq-write|rand-read|rand-write FILE BS SECONDS
 *
 * Prints "mode=M bs=B ops=N bytes=B seconds=S iops=I mbps=M" like
 * blkbench.  Random offsets are BS-aligned, from a fixed-seed PRNG.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL, off = 0, ops = 0, nblk;
	double t0, t1, secs;
	struct stat st;
	size_t bs;
	char *buf;
	int fd, wr, rnd, i;

	if (argc != 5) {
		fprintf(stderr, "usage: blkio seq-read|seq-write|rand-read|"
		    "rand-write FILE BS SECONDS\n");
		return 2;
	}
	wr = strstr(argv[1], "write") != NULL;
	rnd = strncmp(argv[1], "rand", 4) == 0;
	bs = (size_t)strtoull(argv[3], NULL, 0);
	secs = atof(argv[4]);
	fd = open(argv[2], wr ? O_RDWR : O_RDONLY);
	if (fd == -1 || fstat(fd, &st) == -1 || bs == 0 ||
	    (uint64_t)st.st_size < bs) {
		fprintf(stderr, "blkio: %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	nblk = (uint64_t)st.st_size / bs;
	if (posix_memalign((void **)&buf, 4096, bs) != 0)
		return 2;
	memset(buf, 0x5a, bs);
	t0 = now_s();
	do {
		for (i = 0; i < 64; i++) {
			uint64_t b;

			if (rnd) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				b = x % nblk;
			} else
				b = off++ % nblk;
			if ((wr ? pwrite(fd, buf, bs, (off_t)(b * bs)) :
			    pread(fd, buf, bs, (off_t)(b * bs))) != (ssize_t)bs) {
				perror("blkio");
				return 1;
			}
			ops++;
		}
		t1 = now_s();
	} while (t1 - t0 < secs);
	printf("mode=%s bs=%zu ops=%llu bytes=%llu seconds=%.3f iops=%.0f "
	    "mbps=%.1f\n", argv[1], bs, (unsigned long long)ops,
	    (unsigned long long)(ops * bs), t1 - t0, (double)ops / (t1 - t0),
	    (double)ops * (double)bs / (t1 - t0) / 1e6);
	return 0;
}
