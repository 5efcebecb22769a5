/*
 * The heap: first fit over one free list kept in address order, so that
 * free() merges a block with both neighbours in the same walk and the heap
 * does not fragment under alloc/free churn.  One spinlock serialises all
 * vCPUs; guests allocate at setup, not per packet, so it is not contended.
 *
 * Every block starts with a 16-byte header; the payload follows it and is
 * 16-byte aligned like the heap itself.
 */
#include "sdk.h"

#define HEAP_ALIGN	16
#define HEAP_MIN_BLOCK	(2 * sizeof(struct heap_block))
/* In an allocated block's link field: lets free() catch foreign pointers. */
#define HEAP_MAGIC	0x6b636f6c626f6e78ULL
/*
 * Before a pointer from aligned_alloc(): a pseudo-header whose size field
 * is the distance back to the payload malloc() returned.
 */
#define HEAP_ALIGNED_MAGIC	0x6e67696c61786e78ULL

struct heap_block {
	size_t	hb_size;	/* bytes, header included */
	union {
		struct heap_block	*hb_next;	/* free: next free block */
		uint64_t		 hb_magic;	/* allocated: HEAP_MAGIC */
	};
};

static struct xeno_spinlock	 heap_lock = XENO_SPINLOCK_INIT;
static struct heap_block	*heap_free;

/* Called once, on vCPU 0 before main(): no lock needed yet. */
void
sdk_heap_init(uint64_t start, uint64_t end)
{
	start = (start + HEAP_ALIGN - 1) & ~(uint64_t)(HEAP_ALIGN - 1);
	end &= ~(uint64_t)(HEAP_ALIGN - 1);
	if (start >= end || end - start < HEAP_MIN_BLOCK)
		return;	/* no heap: malloc() returns NULL */
	heap_free = (struct heap_block *)(uintptr_t)start;
	heap_free->hb_size = end - start;
	heap_free->hb_next = NULL;
}

void *
malloc(size_t n)
{
	struct heap_block *b, **pp, *rest;
	size_t need;

	if (n > SIZE_MAX - sizeof(*b) - HEAP_ALIGN)
		return NULL;
	need = (n + sizeof(*b) + HEAP_ALIGN - 1) & ~(size_t)(HEAP_ALIGN - 1);
	if (need < HEAP_MIN_BLOCK)
		need = HEAP_MIN_BLOCK;

	xeno_spin_lock(&heap_lock);
	for (pp = &heap_free; (b = *pp) != NULL; pp = &b->hb_next) {
		if (b->hb_size < need)
			continue;
		if (b->hb_size - need >= HEAP_MIN_BLOCK) {
			rest = (struct heap_block *)((char *)b + need);
			rest->hb_size = b->hb_size - need;
			rest->hb_next = b->hb_next;
			*pp = rest;
			b->hb_size = need;
		} else
			*pp = b->hb_next;
		b->hb_magic = HEAP_MAGIC;
		xeno_spin_unlock(&heap_lock);
		return b + 1;
	}
	xeno_spin_unlock(&heap_lock);
	return NULL;
}

void *
calloc(size_t nmemb, size_t size)
{
	size_t n;
	void *p;

	if (__builtin_mul_overflow(nmemb, size, &n))
		return NULL;
	/* The block may have been freed earlier with data still in it. */
	if ((p = malloc(n)) != NULL)
		memset(p, 0, n);
	return p;
}

/*
 * C11's aligned_alloc, for virtio rings and DMA buffers: over-allocate,
 * round up, and leave a pseudo-header just below the aligned pointer that
 * free() follows back to the real block.  Any power-of-two alignment; a
 * size need not be a multiple of it.
 */
void *
aligned_alloc(size_t align, size_t n)
{
	struct heap_block *fake;
	uintptr_t raw, p;
	size_t extra;

	if (align == 0 || (align & (align - 1)) != 0)
		return NULL;
	if (align <= HEAP_ALIGN)
		return malloc(n);
	/* The pseudo-header needs 16 bytes below the aligned pointer. */
	extra = align + sizeof(struct heap_block);
	if (n > SIZE_MAX - extra || (raw = (uintptr_t)malloc(n + extra)) == 0)
		return NULL;
	p = (raw + sizeof(struct heap_block) + align - 1) &
	    ~(uintptr_t)(align - 1);
	fake = (struct heap_block *)p - 1;
	fake->hb_size = p - raw;
	fake->hb_magic = HEAP_ALIGNED_MAGIC;
	return (void *)p;
}

void
free(void *p)
{
	struct heap_block *b, *prev, *next;

	if (p == NULL)
		return;
	b = (struct heap_block *)p - 1;
	if (b->hb_magic == HEAP_ALIGNED_MAGIC) {
		/* Invalidate it, so a second free() of p is caught. */
		b->hb_magic = 0;
		p = (char *)p - b->hb_size;
		b = (struct heap_block *)p - 1;
	}

	xeno_spin_lock(&heap_lock);
	if (b->hb_magic != HEAP_MAGIC)
		xeno_abort("free(%p): not from malloc(), or freed twice", p);
	prev = NULL;
	for (next = heap_free; next != NULL &&
	    (uintptr_t)next < (uintptr_t)b; next = next->hb_next)
		prev = next;

	b->hb_next = next;
	if (next != NULL && (char *)b + b->hb_size == (char *)next) {
		b->hb_size += next->hb_size;
		b->hb_next = next->hb_next;
	}
	if (prev == NULL)
		heap_free = b;
	else if ((char *)prev + prev->hb_size == (char *)b) {
		prev->hb_size += b->hb_size;
		prev->hb_next = b->hb_next;
	} else
		prev->hb_next = b;
	xeno_spin_unlock(&heap_lock);
}
