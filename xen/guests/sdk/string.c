/*
 * String functions.  gcc emits calls to memcpy, memmove, memset and memcmp
 * on its own (struct copies, zeroing), even in freestanding code, and it
 * would turn a byte loop in them into a call to themselves: the copies
 * use `rep movsb`/`rep stosb` (fast on every CPU with ERMS), and
 * guests.mk builds this file with -fno-tree-loop-distribute-patterns.
 */
#include "sdk.h"

void *
memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	void *ret = dst;

	__asm__ volatile("rep movsb"
	    : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
	return ret;
}

void *
memmove(void *dst, const void *src, size_t n)
{
	void *ret = dst;

	/* dst below src, or no overlap: a forward copy is safe. */
	if ((uintptr_t)dst - (uintptr_t)src >= n)
		return memcpy(dst, src, n);
	/* dst overlaps the tail of src: copy backwards (DF set, then cleared). */
	dst = (char *)dst + n - 1;
	src = (const char *)src + n - 1;
	__asm__ volatile("std; rep movsb; cld"
	    : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
	return ret;
}

void *
memset(void *dst, int c, size_t n)
{
	void *ret = dst;

	__asm__ volatile("rep stosb"
	    : "+D"(dst), "+c"(n) : "a"(c) : "memory");
	return ret;
}

int
memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *pa = a, *pb = b;

	for (; n > 0; n--, pa++, pb++)
		if (*pa != *pb)
			return *pa - *pb;
	return 0;
}

size_t
strlen(const char *s)
{
	const char *p = s;

	while (*p != '\0')
		p++;
	return p - s;
}

int
strcmp(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int
strncmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (*a == '\0')
			break;
	}
	return 0;
}

char *
strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (*s == '\0')
			return NULL;
	}
}
