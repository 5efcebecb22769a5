/*
 * The Xeno guest SDK: everything a PV guest program may call.
 *
 * A guest is a freestanding static ELF64 program that xeno-hv starts at
 * CPL 3 (see <xeno/pv.h> for the ABI and docs/GUEST-SDK.md for the guide).
 * The SDK's crt0 runs before main(): it checks the boot information, sets
 * up the heap and argv, tells xeno-hv the guest has booted, calls
 *
 *	int main(int argc, char **argv);
 *
 * with the command-line words (argv[0] is the first word, not a program
 * name) and passes main's return value to xeno_exit().
 *
 * Errors: functions that make a hypercall return its result, 0 or positive
 * on success and a negative XENO_E* code on failure.  Broken invariants
 * (a bad free(), an unparsable argument) end the domain with xeno_abort().
 *
 * Every function here is safe to call from any vCPU at once unless its
 * comment says otherwise.
 */
#ifndef XENO_H
#define XENO_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <xeno/pv.h>

#define XENO_NORETURN	__attribute__((noreturn))
#define XENO_PRINTF(fmt, args)	__attribute__((format(printf, fmt, args)))

int main(int, char **);

/* Boot information: read-only, valid for the whole life of the domain. */
static inline const struct xeno_pv_bootinfo *
xeno_bootinfo(void)
{
	return (const struct xeno_pv_bootinfo *)XENO_PV_BOOTINFO_GPA;
}

/*
 * Command line (the boot-info cmdline, space-separated key=value words).
 * The number parsers abort with a message naming the argument when its
 * value is malformed: a guest run with arguments it cannot honour would
 * test or measure the wrong thing.
 */
const char	*xeno_arg_str(const char *);
uint64_t	 xeno_arg_u64(const char *, uint64_t);
/* A byte count: decimal or 0x hex, optional suffix K, M, G (powers of 2). */
uint64_t	 xeno_arg_size(const char *, uint64_t);
/* Seconds, fractions allowed ("2", "0.25"), returned in ns. */
uint64_t	 xeno_arg_ns(const char *, uint64_t);

/*
 * Hypercalls.  xeno_hypercall_raw() is the bare instruction: it returns
 * %rax afterwards, which is still `gpa` unless xeno-hv refused the block
 * address (then -XENO_EFAULT).  The port is in %dx because `out` takes an
 * immediate port only below 0x100.
 */
static inline uint64_t
xeno_hypercall_raw(unsigned int nr, uint64_t gpa)
{
	__asm__ volatile("outl %%eax, %%dx"
	    : "+a"(gpa)
	    : "d"((uint16_t)(XENO_PV_HC_PORT + nr))
	    : "memory");
	return gpa;
}

/*
 * Hypercall `nr` with argument block `block` (NULL for none): the block's
 * result, or -XENO_EFAULT if xeno-hv could not use the block at all.
 * Guest memory ends below 4 GiB, so a pointer always fits in %eax.
 */
static inline int64_t
xeno_hypercall(unsigned int nr, void *block)
{
	uint64_t gpa = (uint32_t)(uintptr_t)block;

	if (xeno_hypercall_raw(nr, gpa) != gpa)
		return -XENO_EFAULT;
	return block != NULL ? *(int64_t *)block : 0;
}

/* Writes all of buf (in XENO_PV_CONSOLE_MAX pieces); bytes written or error. */
int64_t	xeno_console_write(const void *, size_t);
/* Monotonic and wall-clock ns through an exit; either pointer may be NULL. */
int64_t	xeno_clock(uint64_t *, uint64_t *);
/*
 * Blocks until a device queue has work or monotonic time reaches the
 * deadline (0 polls, UINT64_MAX waits for work only).  *ready (if not NULL)
 * gets the bit mask of queues with work.  0, or -XENO_EAGAIN when the
 * domain is shutting down.
 */
int64_t	xeno_yield(uint64_t, uint64_t *);
/*
 * Has the host asked this domain to shut down (a lease ending, a stop)?
 * A blocked xeno_yield() returns when it is asked; finish and exit.
 */
int	xeno_shutdown_requested(void);
/* Ends the domain.  Status 0..XENO_PV_EXIT_STATUS_MAX; others abort. */
XENO_NORETURN void	xeno_exit(int);
/* Ends the domain abnormally with a message (up to XENO_PV_ABORT_MSG_MAX). */
XENO_NORETURN XENO_PRINTF(1, 2) void	xeno_abort(const char *, ...);
/* Fills *info for device `index`; -XENO_ENODEV past the last device. */
int64_t	xeno_device_info(uint32_t, struct xeno_hc_device_info *);
/* Caller fills every field but ret; returns the global queue number. */
int64_t	xeno_queue_setup(struct xeno_hc_queue_setup *);

/* Tells the device behind global queue q that its ring has new buffers. */
static inline void
xeno_queue_notify(uint32_t q)
{
	__asm__ volatile("outl %%eax, %%dx"
	    : : "a"(0), "d"((uint16_t)(XENO_PV_DOORBELL_PORT + q)) : "memory");
}

/*
 * vCPUs.  xeno_vcpu_start() runs fn(arg) on offline vCPU `vcpu`, which
 * stops when fn returns (a vCPU may also stop itself any time).  When the
 * last running vCPU stops, the domain ends.  -XENO_EINVAL if the vCPU does
 * not exist, -XENO_EBUSY if it was started before: xeno-hv starts each
 * vCPU at most once, so a stopped vCPU stays stopped.
 */
int64_t	xeno_vcpu_start(uint32_t, void (*)(void *), void *);
XENO_NORETURN void	xeno_vcpu_stop(void);
/* The calling vCPU's number, found from the stack it runs on. */
uint32_t	xeno_vcpu_id(void);

/* Time from the time page, without an exit. */
uint64_t	xeno_mono_ns(void);	/* since the domain was created */
uint64_t	xeno_wall_ns(void);	/* since the Unix epoch */

static inline uint64_t
xeno_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* Spin-wait hint: frees the core for a sibling hyperthread. */
static inline void
xeno_pause(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* Spinlocks: vCPUs cannot block on each other, so they spin. */
struct xeno_spinlock {
	uint32_t	sl_locked;
};
#define XENO_SPINLOCK_INIT	{ 0 }

static inline void
xeno_spin_lock(struct xeno_spinlock *sl)
{
	while (__atomic_exchange_n(&sl->sl_locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&sl->sl_locked, __ATOMIC_RELAXED))
			xeno_pause();
}

static inline void
xeno_spin_unlock(struct xeno_spinlock *sl)
{
	__atomic_store_n(&sl->sl_locked, 0, __ATOMIC_RELEASE);
}

/*
 * Formatted output: %d %i %u %x %X %p %s %c %%, length modifiers l ll z,
 * flags '-' and '0', a decimal width.  xeno_printf() sends each call's
 * output to the console in one hypercall when it fits in 512 bytes, so
 * lines from different vCPUs do not interleave.
 */
XENO_PRINTF(1, 2) int	xeno_printf(const char *, ...);
XENO_PRINTF(1, 0) int	xeno_vprintf(const char *, va_list);
XENO_PRINTF(3, 4) int	xeno_snprintf(char *, size_t, const char *, ...);
XENO_PRINTF(3, 0) int	xeno_vsnprintf(char *, size_t, const char *, va_list);

/*
 * Heap over [bi_heap_start, bi_heap_end), 16-byte aligned blocks.
 * aligned_alloc() takes any power-of-two alignment (virtio rings, DMA
 * buffers); free() takes its pointers too.
 */
__attribute__((malloc, alloc_size(1))) void	*malloc(size_t);
__attribute__((malloc, alloc_size(1, 2))) void	*calloc(size_t, size_t);
__attribute__((malloc, alloc_size(2))) void	*aligned_alloc(size_t, size_t);
void	 free(void *);

/* SHA-256 (FIPS 180-4), for printing digests of data a guest moved. */
#define XENO_SHA256_LEN		32
#define XENO_SHA256_HEX_LEN	65	/* 64 digits and a NUL */

struct xeno_sha256 {
	uint32_t	sh_state[8];
	uint64_t	sh_bytes;	/* hashed so far */
	uint8_t		sh_block[64];	/* the partial block */
};

void	xeno_sha256_init(struct xeno_sha256 *);
void	xeno_sha256_update(struct xeno_sha256 *, const void *, size_t);
void	xeno_sha256_final(struct xeno_sha256 *, uint8_t[XENO_SHA256_LEN]);
/* A digest as 64 lower-case hex digits and a NUL (XENO_SHA256_HEX_LEN). */
void	xeno_sha256_hex(const uint8_t[XENO_SHA256_LEN], char *);

/*
 * splitmix64: a small, fast PRNG that is random-access.  Output k of the
 * stream seeded with s is xeno_rand_mix(s + (k + 1) * XENO_RAND_GAMMA), so
 * a test script can recompute any part of a pattern (see blkbench).
 * Not for secrets.
 */
#define XENO_RAND_GAMMA		0x9e3779b97f4a7c15ULL

struct xeno_rand {
	uint64_t	rn_state;
};

static inline uint64_t
xeno_rand_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void
xeno_rand_seed(struct xeno_rand *r, uint64_t seed)
{
	r->rn_state = seed;
}

static inline uint64_t
xeno_rand_next(struct xeno_rand *r)
{
	r->rn_state += XENO_RAND_GAMMA;
	return xeno_rand_mix(r->rn_state);
}

/* In [0, n), n > 0: multiply-shift, bias below n / 2^64. */
static inline uint64_t
xeno_rand_below(struct xeno_rand *r, uint64_t n)
{
	return (uint64_t)(((__uint128_t)xeno_rand_next(r) * n) >> 64);
}

/*
 * Fills buf with the stream's words from word `first` on, little-endian,
 * as if the stream had been seeded with `seed` and advanced `first`
 * times: the pattern of byte offset 8 * first of a region.
 */
void	xeno_rand_pattern(uint64_t seed, uint64_t first, void *, size_t);

/* The string functions gcc may call on its own, and a few more. */
void	*memcpy(void *restrict, const void *restrict, size_t);
void	*memmove(void *, const void *, size_t);
void	*memset(void *, int, size_t);
int	 memcmp(const void *, const void *, size_t);
size_t	 strlen(const char *);
int	 strcmp(const char *, const char *);
int	 strncmp(const char *, const char *, size_t);
char	*strchr(const char *, int);

#define assert(e)							\
	(__builtin_expect(!!(e), 1) ? (void)0 :				\
	    xeno_abort("%s:%d: %s: assertion '%s' failed",		\
		__FILE__, __LINE__, __func__, #e))

#endif /* XENO_H */
