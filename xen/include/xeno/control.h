/*
 * The control socket of a domain (`xeno-hv run --control PATH`): what
 * xeno-controld, `xeno-hv ctl` and `xeno-vfrc` send to a running xeno-hv.
 * Shared wire format, one header for both sides (docs/CONTROL.md).
 *
 * A Unix stream socket.  Each request is a struct xeno_ctl_hdr and
 * ch_len bytes of payload, and may carry one descriptor (SCM_RIGHTS) with
 * its first byte; each gets one reply: a struct xeno_ctl_hdr whose ch_type
 * is XENO_CTL_REPLY and whose payload is a struct xeno_ctl_reply and a
 * message (no NUL).  Requests are handled one at a time, in order.
 */
#ifndef XENO_CONTROL_H
#define XENO_CONTROL_H

#include <stdint.h>

#define XENO_CTL_MAGIC		0x4c544358U	/* "XCTL" */
#define XENO_CTL_MAX_PAYLOAD	(64U << 20)	/* a 16384-rule object fits */
#define XENO_CTL_MSG_MAX	1024

enum xeno_ctl_type {
	XENO_CTL_REPLY = 0,
	XENO_CTL_RULES = 1,		/* payload: a .vfro object */
	XENO_CTL_CAPTURE_START = 2,	/* xeno_ctl_capture + BPF; fd */
	XENO_CTL_CAPTURE_STOP = 3,	/* xeno_ctl_capture (vif only) */
	XENO_CTL_SHUTDOWN = 4,		/* end the domain (exit 82) */
	XENO_CTL_SHUTDOWN_REQUEST = 5,	/* ask the guest to shut down */
};

struct xeno_ctl_hdr {
	uint32_t	ch_magic;
	uint32_t	ch_type;
	uint32_t	ch_len;		/* payload bytes after the header */
	uint32_t	ch_seq;		/* echoed in the reply */
};

struct xeno_ctl_reply {
	int32_t		cr_status;	/* 0, or a positive errno value */
	uint32_t	cr_pad;
	uint64_t	cr_value;	/* RULES: the new generation */
};

/* Capture a VIF: the payload, then cc_nbpf classic BPF instructions
   (struct vfr_insn: u16 code, u8 jt, u8 jf, u32 k), 0 for all frames. */
struct xeno_ctl_capture {
	uint32_t	cc_vif;		/* device index */
	uint32_t	cc_snaplen;	/* 0: whole frames */
	uint32_t	cc_nbpf;
	uint32_t	cc_pad;
};

/* What the capture socket receives: one datagram per frame. */
struct xeno_cap_msg {
	uint64_t	cm_realtime_ns;
	uint32_t	cm_len;		/* frame length on the wire */
	uint32_t	cm_caplen;	/* bytes that follow */
	uint8_t		cm_dir;		/* 1: to the guest, 2: from it */
	uint8_t		cm_pad[7];
};

#endif /* XENO_CONTROL_H */
