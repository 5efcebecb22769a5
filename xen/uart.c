/*
 * A 16550A UART as Linux's 8250 driver probes and drives it: the scratch
 * and loopback tests of its autoconfig, FIFO detection through IIR, and a
 * transmit-holding-register-empty interrupt after every byte so that tty
 * output (not only printk's polled console) flows.  Transmission is
 * instant: a byte written is on the console at once.  No input yet (the
 * receive buffer is never full).  Pure state machine: the caller takes
 * the lock, emits the byte and drives the interrupt line.
 */
#include <string.h>

#include "xen.h"

#define UART_RBR	0	/* DLAB 0: receive / transmit */
#define UART_IER	1	/* DLAB 0 */
#define UART_IIR	2	/* read; FCR on write */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IIR_NO_INT	0x01
#define IIR_THRI	0x02
#define IIR_FIFO	0xc0
#define FCR_ENABLE	0x01
#define LCR_DLAB	0x80
#define MCR_LOOP	0x10
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

void
uart_init(struct uart *u)
{
	memset(u, 0, sizeof(*u));
	u->u_mcr = 0x08;	/* OUT2: the PC wires the IRQ through it */
}

int
uart_irq(const struct uart *u)
{
	return (u->u_ier & IER_THRI) && u->u_thre;
}

uint8_t
uart_read(struct uart *u, unsigned int reg)
{
	uint8_t v, m;

	switch (reg & 7) {
	case UART_RBR:
		return (u->u_lcr & LCR_DLAB) ? u->u_dll : 0;
	case UART_IER:
		return (u->u_lcr & LCR_DLAB) ? u->u_dlm : u->u_ier;
	case UART_IIR:
		v = (u->u_fcr & FCR_ENABLE) ? IIR_FIFO : 0;
		if (uart_irq(u)) {
			u->u_thre = 0;	/* reading IIR acknowledges THRE */
			return v | IIR_THRI;
		}
		return v | IIR_NO_INT;
	case UART_LCR:
		return u->u_lcr;
	case UART_MCR:
		return u->u_mcr;
	case UART_LSR:
		return LSR_THRE | LSR_TEMT;
	case UART_MSR:
		if (!(u->u_mcr & MCR_LOOP))
			return MSR_DCD | MSR_DSR | MSR_CTS;
		/* Loopback: the modem inputs follow the modem outputs. */
		m = u->u_mcr;
		return (uint8_t)(((m & 0x02) ? MSR_CTS : 0) |
		    ((m & 0x01) ? MSR_DSR : 0) | ((m & 0x04) ? MSR_RI : 0) |
		    ((m & 0x08) ? MSR_DCD : 0));
	default:
		return u->u_scr;
	}
}

/* Returns 1 and sets *out when the write transmits a byte. */
int
uart_write(struct uart *u, unsigned int reg, uint8_t v, uint8_t *out)
{
	switch (reg & 7) {
	case UART_RBR:
		if (u->u_lcr & LCR_DLAB) {
			u->u_dll = v;
			return 0;
		}
		/* Sent at once; the holding register is empty again. */
		u->u_thre = 1;
		if (u->u_mcr & MCR_LOOP)
			return 0;	/* loopback: nothing leaves */
		*out = v;
		return 1;
	case UART_IER:
		if (u->u_lcr & LCR_DLAB) {
			u->u_dlm = v;
			return 0;
		}
		/* Enabling THRI with the register empty interrupts at once. */
		if ((v & IER_THRI) && !(u->u_ier & IER_THRI))
			u->u_thre = 1;
		u->u_ier = v & 0x0f;
		return 0;
	case UART_IIR:
		u->u_fcr = v;
		return 0;
	case UART_LCR:
		u->u_lcr = v;
		return 0;
	case UART_MCR:
		u->u_mcr = v & 0x1f;
		return 0;
	case UART_LSR:
	case UART_MSR:
		return 0;	/* read-only */
	default:
		u->u_scr = v;
		return 0;
	}
}
