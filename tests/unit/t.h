/*
 * A tiny unit-test harness: CHECK records a failure with file:line and
 * goes on; t_done() prints a summary and returns the exit status the test
 * runner expects (0 all passed, 1 some failed).
 */
#ifndef T_H
#define T_H

#include <stdio.h>

static int t_checks, t_failed;

#define CHECK(cond)							\
	do {								\
		t_checks++;						\
		if (!(cond)) {						\
			t_failed++;					\
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",	\
			    __FILE__, __LINE__, #cond);			\
		}							\
	} while (0)

#define CHECK_EQ(a, b)							\
	do {								\
		unsigned long long t_a_ = (unsigned long long)(a);	\
		unsigned long long t_b_ = (unsigned long long)(b);	\
		t_checks++;						\
		if (t_a_ != t_b_) {					\
			t_failed++;					\
			fprintf(stderr, "%s:%d: %s == %s failed: "	\
			    "0x%llx != 0x%llx\n", __FILE__, __LINE__,	\
			    #a, #b, t_a_, t_b_);			\
		}							\
	} while (0)

static inline int
t_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, t_checks, t_failed);
	return t_failed ? 1 : 0;
}

#endif /* T_H */
