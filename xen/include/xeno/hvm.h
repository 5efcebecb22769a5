/*
 * What an HVM guest (an unmodified Linux) may use of xeno-hv beyond a PC:
 * two I/O ports (docs/HVM.md).  The guest initramfs of xen/guests/linux/
 * writes them through /dev/port.
 */
#ifndef XENO_HVM_H
#define XENO_HVM_H

/* Any byte written: userspace is up.  The first write is the boot time. */
#define XENO_HVM_BOOT_TIMER_PORT	0x440
/* The byte written is the guest's exit status; the domain ends at once. */
#define XENO_HVM_EXIT_PORT		0x441

#endif
