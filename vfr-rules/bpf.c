/*
 * Classic BPF, for pcap-filter patterns: xeno-hv is linked statically
 * against musl and does not carry libpcap, so the programs pcap_compile()
 * made on the user side run here.  vfr_bpf_valid() admits only programs
 * that are safe to run: known opcodes, forward jumps inside the program,
 * scratch slots in range, no division by a constant zero, a RET at the
 * end.  Packet loads out of the frame end the program with 0 (no match),
 * as in the kernel and libpcap.
 */
#include "vfr.h"

/* classes */
#define B_LD	0x00
#define B_LDX	0x01
#define B_ST	0x02
#define B_STX	0x03
#define B_ALU	0x04
#define B_JMP	0x05
#define B_RET	0x06
#define B_MISC	0x07
/* sizes and modes of loads */
#define B_W	0x00
#define B_H	0x08
#define B_B	0x10
#define B_IMM	0x00
#define B_ABS	0x20
#define B_IND	0x40
#define B_MEM	0x60
#define B_LEN	0x80
#define B_MSH	0xa0
/* ALU and jumps */
#define B_ADD	0x00
#define B_SUB	0x10
#define B_MUL	0x20
#define B_DIV	0x30
#define B_OR	0x40
#define B_AND	0x50
#define B_LSH	0x60
#define B_RSH	0x70
#define B_NEG	0x80
#define B_MOD	0x90
#define B_XOR	0xa0
#define B_JA	0x00
#define B_JEQ	0x10
#define B_JGT	0x20
#define B_JGE	0x30
#define B_JSET	0x40
#define B_K	0x00
#define B_X	0x08
#define B_A	0x10	/* RET A */
#define B_TAX	0x00
#define B_TXA	0x80
#define B_MEMWORDS 16

#define CLASS(c)	((c) & 0x07)
#define SIZE(c)		((c) & 0x18)
#define MODE(c)		((c) & 0xe0)
#define OP(c)		((c) & 0xf0)
#define SRC(c)		((c) & 0x08)

int
vfr_bpf_valid(const struct vfr_insn *p, uint32_t n)
{
	uint32_t pc;

	if (n == 0 || n > VFR_MAX_BPF)
		return -1;
	for (pc = 0; pc < n; pc++) {
		uint16_t c = p[pc].bi_code;
		uint32_t k = p[pc].bi_k;

		switch (CLASS(c)) {
		case B_LD:
			if (c == (B_LD | B_W | B_IMM) ||
			    c == (B_LD | B_W | B_LEN))
				break;
			if (c == (B_LD | B_W | B_MEM)) {
				if (k >= B_MEMWORDS)
					return -1;
				break;
			}
			if ((MODE(c) != B_ABS && MODE(c) != B_IND) ||
			    SIZE(c) == 0x18 || (c & ~0xf8U) != 0)
				return -1;
			break;
		case B_LDX:
			if (c == (B_LDX | B_W | B_IMM) ||
			    c == (B_LDX | B_W | B_LEN) ||
			    c == (B_LDX | B_B | B_MSH))
				break;
			if (c == (B_LDX | B_W | B_MEM) && k < B_MEMWORDS)
				break;
			return -1;
		case B_ST:
		case B_STX:
			if ((c & ~0x07U) != 0 || k >= B_MEMWORDS)
				return -1;
			break;
		case B_ALU:
			if ((c & ~0xffU) != 0 || OP(c) > B_XOR)
				return -1;
			if (OP(c) == B_NEG) {
				if (SRC(c) != 0)
					return -1;
				break;
			}
			if (SRC(c) == B_K && (OP(c) == B_DIV ||
			    OP(c) == B_MOD) && k == 0)
				return -1;
			if (SRC(c) == B_K && (OP(c) == B_LSH ||
			    OP(c) == B_RSH) && k >= 32)
				return -1;
			break;
		case B_JMP:
			if ((c & ~0xffU) != 0 || OP(c) > B_JSET)
				return -1;
			if (OP(c) == B_JA) {
				if (SRC(c) != 0 || k >= n - pc - 1)
					return -1;
				break;
			}
			if (p[pc].bi_jt >= n - pc - 1 ||
			    p[pc].bi_jf >= n - pc - 1)
				return -1;
			break;
		case B_RET:
			if (c != (B_RET | B_K) && c != (B_RET | B_A))
				return -1;
			break;
		case B_MISC:
			if (c != (B_MISC | B_TAX) && c != (B_MISC | B_TXA))
				return -1;
			break;
		}
	}
	return CLASS(p[n - 1].bi_code) == B_RET ? 0 : -1;
}

/* Load size bytes at off, big-endian; 0 if out of the frame. */
static int
load(const uint8_t *pkt, size_t len, uint64_t off, unsigned size,
    uint32_t *v)
{
	unsigned i;

	if (off > len || len - off < size)
		return 0;
	*v = 0;
	for (i = 0; i < size; i++)
		*v = *v << 8 | pkt[off + i];
	return 1;
}

uint32_t
vfr_bpf_run(const struct vfr_insn *p, uint32_t n, const uint8_t *pkt,
    size_t len)
{
	uint32_t a = 0, x = 0, mem[B_MEMWORDS] = { 0 }, pc, v;
	unsigned size;

	for (pc = 0; pc < n; pc++) {
		uint16_t c = p[pc].bi_code;
		uint32_t k = p[pc].bi_k;

		switch (CLASS(c)) {
		case B_LD:
			switch (MODE(c)) {
			case B_IMM:
				a = k;
				continue;
			case B_LEN:
				a = (uint32_t)len;
				continue;
			case B_MEM:
				a = mem[k];
				continue;
			}
			size = SIZE(c) == B_W ? 4 : SIZE(c) == B_H ? 2 : 1;
			if (!load(pkt, len, (uint64_t)k +
			    (MODE(c) == B_IND ? x : 0), size, &a))
				return 0;
			continue;
		case B_LDX:
			if (MODE(c) == B_IMM)
				x = k;
			else if (MODE(c) == B_LEN)
				x = (uint32_t)len;
			else if (MODE(c) == B_MEM)
				x = mem[k];
			else {
				if (!load(pkt, len, k, 1, &v))
					return 0;
				x = (v & 0xf) << 2;
			}
			continue;
		case B_ST:
			mem[k] = a;
			continue;
		case B_STX:
			mem[k] = x;
			continue;
		case B_ALU:
			v = SRC(c) == B_X ? x : k;
			switch (OP(c)) {
			case B_ADD: a += v; break;
			case B_SUB: a -= v; break;
			case B_MUL: a *= v; break;
			case B_DIV:
				if (v == 0)
					return 0;
				a /= v;
				break;
			case B_MOD:
				if (v == 0)
					return 0;
				a %= v;
				break;
			case B_OR: a |= v; break;
			case B_AND: a &= v; break;
			case B_XOR: a ^= v; break;
			case B_LSH: a = v < 32 ? a << v : 0; break;
			case B_RSH: a = v < 32 ? a >> v : 0; break;
			case B_NEG: a = -a; break;
			}
			continue;
		case B_JMP:
			v = SRC(c) == B_X ? x : k;
			switch (OP(c)) {
			case B_JA:
				pc += k;
				continue;
			case B_JEQ:
				pc += a == v ? p[pc].bi_jt : p[pc].bi_jf;
				continue;
			case B_JGT:
				pc += a > v ? p[pc].bi_jt : p[pc].bi_jf;
				continue;
			case B_JGE:
				pc += a >= v ? p[pc].bi_jt : p[pc].bi_jf;
				continue;
			case B_JSET:
				pc += (a & v) != 0 ? p[pc].bi_jt : p[pc].bi_jf;
				continue;
			}
			return 0;
		case B_RET:
			return c == (B_RET | B_A) ? a : k;
		case B_MISC:
			if (c == (B_MISC | B_TAX))
				x = a;
			else
				a = x;
			continue;
		}
	}
	return 0;	/* not reached for a valid program */
}
