/*
 * SDK internals shared between its files; guests include <xeno.h> only.
 * Names here start with sdk_ so they cannot clash with a guest's own.
 */
#ifndef XENO_SDK_H
#define XENO_SDK_H

#include "xeno.h"

/* crt0.S */
void	sdk_vcpu_entry(void);

/* start.c */
XENO_NORETURN void	sdk_start(const struct xeno_pv_bootinfo *, uint64_t);

/* args.c */
int	sdk_args_init(const char *, char ***);

/* hcall.c */
int64_t	sdk_booted(uint64_t);

/* malloc.c */
void	sdk_heap_init(uint64_t, uint64_t);

/* vcpu.c */
struct vcpu_slot;
XENO_NORETURN void	sdk_vcpu_run(struct vcpu_slot *);

#endif /* XENO_SDK_H */
