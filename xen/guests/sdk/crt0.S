/*
 * Entry points of a Xeno PV guest.  xeno-hv jumps to both with %rsp at a
 * 16-byte aligned stack top and no return address, so a `call` here gives
 * the C code the stack alignment the SysV ABI promises it.
 */

/*
 * vCPU 0 at boot: %rdi = boot-info address.  _start is the ELF entry point
 * and sits first in .text (see link.ld).
 */
	.section .text.start, "ax", @progbits
	.globl	_start
	.type	_start, @function
_start:
	/*
	 * Must stay the very first instruction: XENO_HC_BOOTED reports this
	 * TSC as the moment the guest began to run.
	 */
	rdtsc
	shlq	$32, %rdx
	orq	%rdx, %rax
	movq	%rax, %rsi
	call	sdk_start
	ud2
	.size	_start, . - _start

/*
 * vCPUs started by xeno_vcpu_start(): %rdi = the vCPU's start slot,
 * %rsi = its number (unused: the slot says everything).
 */
	.text
	.globl	sdk_vcpu_entry
	.type	sdk_vcpu_entry, @function
sdk_vcpu_entry:
	call	sdk_vcpu_run
	ud2
	.size	sdk_vcpu_entry, . - sdk_vcpu_entry

	.section .note.GNU-stack, "", @progbits
