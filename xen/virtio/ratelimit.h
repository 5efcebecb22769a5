/*
 * Token-bucket rate limiter, as Firecracker's: a bucket of `size` tokens
 * (bytes or packets) that refills from empty to full in `refill_ns`, plus a
 * one-time burst spent before the bucket and never refilled.  A VIF has
 * one limiter per direction, each with a byte bucket and a packet bucket.
 *
 * Pure: the caller passes the time (CLOCK_MONOTONIC ns), so tests and the
 * fuzzer drive it with a fake clock.  Tokens are kept exactly, in units of
 * 1/refill_ns of a token, so the long-run rate is size/refill_ns with no
 * rounding drift however small the steps.
 */
#ifndef XEN_VIRTIO_RATELIMIT_H
#define XEN_VIRTIO_RATELIMIT_H

#include <stdint.h>

struct rl_bucket {
	uint64_t	rb_size;	/* tokens when full; 0: unlimited */
	uint64_t	rb_refill_ns;	/* empty to full */
	uint64_t	rb_burst;	/* one-time burst left */
	unsigned __int128 rb_scaled;	/* tokens * rb_refill_ns */
	uint64_t	rb_last_ns;	/* time of the last refill */
};

struct rl {
	struct rl_bucket	rl_bytes;
	struct rl_bucket	rl_pkts;
};

/* A bucket, full at time now.  size 0 makes it unlimited. */
void	rl_bucket_init(struct rl_bucket *, uint64_t, uint64_t, uint64_t,
	    uint64_t);
int	rl_enabled(const struct rl *);

/*
 * Take `bytes` bytes and one packet at time now: 1 if both buckets had
 * them (they are taken), 0 if not (nothing is taken).  A packet larger
 * than a full bucket goes through once the bucket is full, so a small
 * bucket slows big packets down but never blocks them for good.
 */
int	rl_take(struct rl *, uint64_t, uint64_t);

/* Nanoseconds from now until rl_take(bytes) can succeed; 0 if it can. */
uint64_t rl_wait_ns(struct rl *, uint64_t, uint64_t);

#endif /* XEN_VIRTIO_RATELIMIT_H */
