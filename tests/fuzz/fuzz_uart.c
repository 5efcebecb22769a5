/*
 * libFuzzer driver: the COM1 UART an HVM guest drives (uart.c), fed a
 * sequence of port accesses: each pair of bytes is (register and
 * direction, value).
 *
 * Invariants: a transmitted byte is exactly the one written, and only
 * from THR with DLAB clear outside loopback; the interrupt line is up
 * exactly when THRE is enabled and pending; IIR says the same; LSR always
 * reports an empty transmitter; reading IIR with the interrupt up
 * acknowledges it.
 */
#include "fuzz.h"
#include "xen.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uart u;
	size_t i;
	uint8_t out, reg, v, lcr, mcr;
	int irq, sent;

	uart_init(&u);
	for (i = 0; i + 1 < size; i += 2) {
		reg = data[i] & 7;
		v = data[i + 1];
		irq = uart_irq(&u);
		CHECK(irq == ((u.u_ier & 0x02) && u.u_thre));
		if (data[i] & 0x80) {
			lcr = u.u_lcr;
			mcr = u.u_mcr;
			out = (uint8_t)~v;
			sent = uart_write(&u, reg, v, &out);
			CHECK(sent == (reg == 0 && !(lcr & 0x80) &&
			    !(mcr & 0x10)));
			if (sent)
				CHECK(out == v && u.u_thre);
			continue;
		}
		v = uart_read(&u, reg);
		if (reg == 5)
			CHECK((v & 0x60) == 0x60);
		if (reg == 2) {
			CHECK((v & 0x0f) == (irq ? 0x02 : 0x01));
			CHECK(!uart_irq(&u));
		}
	}
	return 0;
}
