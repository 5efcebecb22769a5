/*
 * Token buckets for the VIF rate limiters (ratelimit.h).
 */
#include <string.h>

#include "virtio/ratelimit.h"

typedef unsigned __int128 u128;

void
rl_bucket_init(struct rl_bucket *b, uint64_t size, uint64_t refill_ns,
    uint64_t burst, uint64_t now)
{
	memset(b, 0, sizeof(*b));
	if (size == 0 || refill_ns == 0)
		return;
	b->rb_size = size;
	b->rb_refill_ns = refill_ns;
	b->rb_burst = burst;
	b->rb_scaled = (u128)size * refill_ns;
	b->rb_last_ns = now;
}

int
rl_enabled(const struct rl *rl)
{
	return rl->rl_bytes.rb_size != 0 || rl->rl_pkts.rb_size != 0;
}

static void
rl_refill(struct rl_bucket *b, uint64_t now)
{
	u128 full = (u128)b->rb_size * b->rb_refill_ns;
	uint64_t dt;

	if (now <= b->rb_last_ns)
		return;
	dt = now - b->rb_last_ns;
	b->rb_last_ns = now;
	/* dt tokens*refill_ns per ns of time: dt * size */
	if (dt >= b->rb_refill_ns || full - b->rb_scaled <= (u128)dt *
	    b->rb_size)
		b->rb_scaled = full;
	else
		b->rb_scaled += (u128)dt * b->rb_size;
}

/* What n tokens cost from the bucket (beyond the burst), scaled. */
static u128
rl_need(const struct rl_bucket *b, uint64_t n)
{
	u128 full = (u128)b->rb_size * b->rb_refill_ns;
	u128 need;

	n = n > b->rb_burst ? n - b->rb_burst : 0;
	need = (u128)n * b->rb_refill_ns;
	return need > full ? full : need;	/* a giant needs a full bucket */
}

static int
rl_can(struct rl_bucket *b, uint64_t n, uint64_t now)
{
	if (b->rb_size == 0)
		return 1;
	rl_refill(b, now);
	return b->rb_scaled >= rl_need(b, n);
}

static void
rl_spend(struct rl_bucket *b, uint64_t n)
{
	u128 need;

	if (b->rb_size == 0)
		return;
	need = rl_need(b, n);
	if (n > b->rb_burst) {
		b->rb_burst = 0;
		b->rb_scaled -= need;
	} else
		b->rb_burst -= n;
}

int
rl_take(struct rl *rl, uint64_t bytes, uint64_t now)
{
	if (!rl_can(&rl->rl_bytes, bytes, now) ||
	    !rl_can(&rl->rl_pkts, 1, now))
		return 0;
	rl_spend(&rl->rl_bytes, bytes);
	rl_spend(&rl->rl_pkts, 1);
	return 1;
}

static uint64_t
rl_bucket_wait(struct rl_bucket *b, uint64_t n, uint64_t now)
{
	u128 need, missing;

	if (rl_can(b, n, now))
		return 0;
	need = rl_need(b, n);
	missing = need - b->rb_scaled;
	/* size scaled tokens arrive per ns; round up */
	return (uint64_t)((missing + b->rb_size - 1) / b->rb_size);
}

uint64_t
rl_wait_ns(struct rl *rl, uint64_t bytes, uint64_t now)
{
	uint64_t a, p;

	a = rl_bucket_wait(&rl->rl_bytes, bytes, now);
	p = rl_bucket_wait(&rl->rl_pkts, 1, now);
	return a > p ? a : p;
}
