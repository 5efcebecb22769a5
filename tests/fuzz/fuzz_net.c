/*
 * libFuzzer driver: the VIF's guest-facing parsers (virtio/net.c) behind
 * the real queue walker (virtio/virtq.c), and the --vif option parser.
 *
 * Input:
 *	u8  mode	bit 0: the option parser gets the rest as a string;
 *			else bit 1: receive queue (net_rx_copy) or transmit
 *			(net_tx_copy); bit 2: event_idx
 *	u8  size	queue size 1 << (size % 9)
 *	u8  count	chains the guest says are available
 *	u16 rxlen	receive: length of the pending frame (14..65536)
 *	...		guest memory from FUZZ_LO on: rings at fixed places,
 *			then whatever the guest wrote
 *
 * Invariants beyond "no sanitizer report": a transmit copy is 0 or a
 * frame of 14..1514 bytes equal to the request's readable bytes after the
 * 12-byte header; a receive copy is 0 or header + frame, never more than
 * the writable bytes, and the bytes landed where the segments are.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "xeno/pv.h"
#include "virtio/net.h"

#define FUZZ_MEM	0x10000ULL
#define FUZZ_LO		0x1000ULL
#define FUZZ_DESC	0x1000ULL
#define FUZZ_AVAIL	0x3000ULL
#define FUZZ_USED	0x3400ULL

static struct net_dev fuzz_nd;

static void
fuzz_parse(const uint8_t *d, size_t n)
{
	struct net_config nc;
	char *s, err[256];

	s = malloc(n + 1);
	if (s == NULL)
		return;
	memcpy(s, d, n);
	s[n] = '\0';
	if (net_parse(s, &nc, err, sizeof(err)) == 0) {
		CHECK((nc.nc_tap[0] != '\0') != (nc.nc_fd != -1));
		CHECK(!(nc.nc_mac[0] & 1));
		CHECK(nc.nc_ip4_prefix <= 32 && nc.nc_ip6_prefix <= 128);
	} else
		CHECK(strncmp(err, "--vif", 5) == 0);
	free(s);
}

static void
fuzz_check_tx(const struct vq_req *req, size_t len)
{
	uint8_t *copy;
	uint64_t off = 0;
	unsigned int i;

	if (len == 0)
		return;
	CHECK(len >= NET_FRAME_MIN && len <= NET_FRAME_MAX);
	CHECK(len + NET_VHDR == req->vr_out_len);
	copy = malloc(req->vr_out_len);
	for (i = 0; i < req->vr_nseg; i++) {
		memcpy(copy + off, req->vr_seg[i].vs_base,
		    req->vr_seg[i].vs_len);
		off += req->vr_seg[i].vs_len;
	}
	CHECK(memcmp(copy + NET_VHDR, fuzz_nd.nd_txbuf, len) == 0);
	free(copy);
}

static void
fuzz_check_rx(const struct vq_req *req, uint32_t used)
{
	uint64_t off = 0, c;
	unsigned int i;

	if (used == 0)
		return;
	CHECK(used == NET_VHDR + fuzz_nd.nd_rx_len);
	CHECK(used <= req->vr_in_len);
	/* the frame is where the segments say (unless segments alias) */
	for (i = 0; i < req->vr_nseg && off < used; i++) {
		c = req->vr_seg[i].vs_len;
		if (off + c > used)
			c = used - off;
		off += c;
	}
	CHECK(off == used);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static uint8_t *mem;
	struct vq_mem vm;
	struct virtq vq;
	struct vq_req req;
	unsigned int size, i;
	uint16_t rxlen;
	uint8_t mode, count;
	int rx, r;

	if (n < 5)
		return 0;
	mode = d[0];
	if (mode & 1) {
		fuzz_parse(d + 1, n - 1);
		return 0;
	}
	if (mem == NULL)
		mem = malloc(FUZZ_MEM);
	memset(mem, 0, FUZZ_MEM);
	size = 1U << (d[1] % 9);
	count = d[2];
	rxlen = (uint16_t)(d[3] | d[4] << 8);
	memcpy(mem + FUZZ_LO, d + 5, n - 5 < FUZZ_MEM - FUZZ_LO ? n - 5 :
	    FUZZ_MEM - FUZZ_LO);
	rx = !!(mode & 2);
	/* avail idx = count */
	memcpy(mem + FUZZ_AVAIL + 2, &(uint16_t){ count }, 2);
	vm.vm_base = mem;
	vm.vm_lo = FUZZ_LO;
	vm.vm_hi = FUZZ_MEM;
	CHECK(vq_init(&vq, &vm, size, FUZZ_DESC, FUZZ_AVAIL, FUZZ_USED,
	    !!(mode & 4)) == 0);
	memset(&fuzz_nd, 0, offsetof(struct net_dev, nd_rxbuf));
	fuzz_nd.nd_tap = -1;
	for (i = 0; i < 2 * size + 4; i++) {
		r = vq_pop(&vq, &req);
		if (r == 0)
			break;
		if (r == -1) {
			if (vq.vq_broken)
				break;
			continue;
		}
		if (rx) {
			uint32_t used;

			fuzz_nd.nd_rx_len = rxlen < NET_FRAME_MIN ?
			    NET_FRAME_MIN : rxlen;
			if (fuzz_nd.nd_rx_len > NET_BUF_MAX)
				fuzz_nd.nd_rx_len = NET_BUF_MAX;
			memset(fuzz_nd.nd_rxbuf, 0x5a, fuzz_nd.nd_rx_len);
			used = net_rx_copy(&fuzz_nd, &req);
			fuzz_check_rx(&req, used);
			vq_push(&vq, req.vr_head, used);
		} else {
			size_t len = net_tx_copy(&fuzz_nd, &req);

			fuzz_check_tx(&req, len);
			vq_push(&vq, req.vr_head, 0);
		}
	}
	return 0;
}
