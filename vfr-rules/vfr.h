/*
 * vfr-rules: the virtual firewall-router (VFR) of a Xeno VIF.
 *
 * Two halves share this header:
 *
 *   language (user side: xeno-vfrc, controld, tests; links libpcap)
 *	text --vfr_parse()--> struct vfr_ruleset (the rule IR below)
 *	     --vfr_print()--> normal form
 *	     --vfr_obj_write()--> a compiled object (".vfro") for xeno-hv
 *
 *   runtime (xeno-hv side, static musl build: no libpcap, no libc beyond
 *   malloc/string)
 *	.vfro --vfr_obj_load()--> struct vfr_ruleset
 *	      --vfr_prog_build()--> struct vfr_prog (the fast classifier)
 *	frame --vfr_key_parse()--> struct vfr_key --vfr_classify()--> verdict
 *
 * vfr_ref_classify() is the reference interpreter: one loop over the
 * rules, obviously correct, slow.  vfr_classify() must agree with it on
 * every rule set and packet (tests/fuzz/fuzz_vfr_diff.c checks).
 *
 * Semantics (docs/VFR.md is the user's version):
 *  - Rules are evaluated in order, top to bottom.  The first matching
 *    rule whose action is terminal (accept, drop, reject) decides.
 *  - Non-terminal rules (count, log, rate-limit) that match before it are
 *    reported to the caller's hit function in order; a rate-limit rule
 *    whose bucket is empty makes the caller stop classification (the
 *    packet is dropped, reason ratelimit).
 *  - No terminal match: the rule set's policy for the direction decides.
 *  - A rule applies to one or both directions: IN is toward the guest
 *    (host -> guest, the VIF's receive path), OUT is from the guest.
 *  - Anti-spoofing is not in the rules: xeno-hv checks it first.
 */
#ifndef VFR_RULES_VFR_H
#define VFR_RULES_VFR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VFR_MAX_RULES	16384
#define VFR_MAX_RANGES	4096	/* per field of one rule */
#define VFR_MAX_BPF	4096	/* classic BPF instructions per program */
#define VFR_NAME_MAX	64	/* VIF and domain names, with the NUL */

/* Directions, as a mask in rules and one bit in keys. */
#define VFR_DIR_IN	0x1	/* host -> guest */
#define VFR_DIR_OUT	0x2	/* guest -> host */

/* Layer-3 kinds, as a mask in rules and one bit in keys. */
#define VFR_L3_IP4	0x1
#define VFR_L3_IP6	0x2
#define VFR_L3_ARP	0x4
#define VFR_L3_OTHER	0x8

/* Connection-tracking states, as a mask in rules and one bit in keys. */
#define VFR_CT_NEW		0x1	/* first packet of a flow */
#define VFR_CT_ESTABLISHED	0x2	/* a flow seen in both directions, or
					   a packet of an accepted flow */
#define VFR_CT_RELATED		0x4	/* ICMP error about a tracked flow */
#define VFR_CT_INVALID		0x8	/* TCP out of state, table full */
#define VFR_CT_UNTRACKED	0x10	/* not IP, or a fragment */

enum vfr_action {
	VFR_ACCEPT = 1,		/* terminal */
	VFR_DROP,		/* terminal */
	VFR_REJECT,		/* terminal: drop and answer (TCP RST,
				   ICMP/ICMPv6 administratively prohibited) */
	VFR_COUNT,		/* counts only */
	VFR_LOG,		/* a flow-log record with this rule */
	VFR_RATELIMIT,		/* over the rate: drop; else go on */
};
#define VFR_ACTION_TERMINAL(a)	((a) <= VFR_REJECT)

/*
 * Small fields of a key: a value, or VFR_NONE when the packet has no
 * such field (a port of an ICMP packet, the protocol of an ARP frame).
 * A rule's range list never contains VFR_NONE, so a rule that asks for
 * a port never matches a packet that has none.
 */
enum vfr_field {
	VFR_F_ETHERTYPE,	/* 0..0xffff, after VLAN tags are skipped */
	VFR_F_PROTO,		/* IP protocol after IPv6 extension headers */
	VFR_F_SPORT,		/* TCP, UDP, SCTP, UDP-Lite; first fragments */
	VFR_F_DPORT,
	VFR_F_ICMPTYPE,		/* ICMP and ICMPv6 */
	VFR_F_ICMPCODE,
	VFR_NFIELDS
};
#define VFR_NONE	0x10000U

/* 128-bit addresses; IPv4 a.b.c.d is ::ffff:a.b.c.d. */
struct vfr_addr {
	uint64_t	a_hi;
	uint64_t	a_lo;
};

enum vfr_afield {
	VFR_A_SRC,
	VFR_A_DST,
	VFR_NAFIELDS
};

/* Inclusive ranges. */
struct vfr_range {
	uint32_t	rg_lo;
	uint32_t	rg_hi;
};

struct vfr_arange {
	struct vfr_addr	ar_lo;
	struct vfr_addr	ar_hi;
};

/* Classic BPF (struct sock_filter's layout), run on the Ethernet frame. */
struct vfr_insn {
	uint16_t	bi_code;
	uint8_t		bi_jt;
	uint8_t		bi_jf;
	uint32_t	bi_k;
};

/*
 * One rule of the IR.  Every constraint is a conjunction member; an empty
 * constraint (count 0, mask 0) matches everything.  Range lists are
 * sorted, non-overlapping and non-adjacent (vfr_rule_check() verifies),
 * so negations and sets have already been folded in by the parser.
 */
struct vfr_rule {
	uint32_t	 r_id;		/* index in the rule set = counter slot */
	uint32_t	 r_line;	/* line in the source, 0 if unknown */
	uint8_t		 r_action;	/* enum vfr_action */
	uint8_t		 r_log;		/* "log" modifier: log this match too */
	uint8_t		 r_dir;		/* VFR_DIR_ mask, never 0 */
	uint8_t		 r_l3;		/* VFR_L3_ mask, 0: any */
	uint8_t		 r_ct;		/* VFR_CT_ mask, 0: any */
	uint8_t		 r_tcp_mask;	/* TCP flags: (flags & mask) == val */
	uint8_t		 r_tcp_val;
	uint8_t		 r_pad;
	uint32_t	 r_nrange[VFR_NFIELDS];
	struct vfr_range *r_range[VFR_NFIELDS];
	uint32_t	 r_narange[VFR_NAFIELDS];
	struct vfr_arange *r_arange[VFR_NAFIELDS];
	uint32_t	 r_nbpf;	/* 0: no pcap-filter pattern */
	struct vfr_insn	*r_bpf;
	/* rate-limit: a token bucket of r_rl_burst tokens that refills
	   r_rl_rate tokens per second; tokens are packets, or bytes if
	   r_rl_bytes */
	uint64_t	 r_rl_rate;
	uint64_t	 r_rl_burst;
	uint8_t		 r_rl_bytes;
	char		 r_vif[VFR_NAME_MAX];	 /* "": any VIF */
	char		 r_domain[VFR_NAME_MAX]; /* "": any domain */
	char		*r_text;	/* the rule in normal form, one line */
};

struct vfr_ruleset {
	struct vfr_rule	*rs_rules;
	uint32_t	 rs_nrules;
	uint8_t		 rs_policy[2];	/* [0] in, [1] out: ACCEPT or DROP */
};

/* Free everything the rule set owns (rules, ranges, BPF, texts). */
void	vfr_ruleset_free(struct vfr_ruleset *);

/*
 * 0 if the IR is well-formed (ids 0..n-1 in order, actions and masks
 * known, ranges sorted and disjoint and below VFR_NONE, BPF valid), or -1
 * with a message naming the rule and field.  Everything that loads a rule
 * set from outside calls it.
 */
int	vfr_ruleset_check(const struct vfr_ruleset *, char *, size_t);

/* ---- keys (runtime) ---- */

/*
 * What the classifier looks at, taken once from the frame.  Fields the
 * frame does not have are VFR_NONE (small fields) or zero (addresses,
 * then k_l3 says there is no IP header).
 */
struct vfr_key {
	uint8_t		k_dir;		/* VFR_DIR_IN or VFR_DIR_OUT */
	uint8_t		k_l3;		/* one VFR_L3_ bit */
	uint8_t		k_ct;		/* one VFR_CT_ bit, set by the caller */
	uint8_t		k_tcpflags;	/* 0 if not TCP */
	uint8_t		k_frag;		/* 1: a non-first fragment */
	uint8_t		k_l4off_ok;	/* the L4 header was in the frame */
	uint16_t	k_l4off;	/* offset of the L4 header */
	uint32_t	k_f[VFR_NFIELDS];
	struct vfr_addr	k_addr[VFR_NAFIELDS];
	uint8_t		k_smac[6];
	uint8_t		k_dmac[6];
	/* ARP: sender and target protocol addresses, sender hardware
	   address (anti-spoofing looks at them; rules do not) */
	uint8_t		k_arp_op;
	uint8_t		k_arp_sha[6];
	struct vfr_addr	k_arp_spa;
	/* IPv6 neighbour discovery: the target and the link-layer
	   address option, if any */
	uint8_t		k_nd_tll_ok;
	uint8_t		k_nd_tll[6];
	struct vfr_addr	k_nd_target;
};

/*
 * Fill *k from an Ethernet frame of len bytes for direction dir.  Never
 * fails: a truncated or odd frame gets VFR_NONE where its fields would be
 * (and k_ct is left VFR_CT_UNTRACKED for the caller to refine).
 */
void	vfr_key_parse(struct vfr_key *, const uint8_t *, size_t, int dir);

/* ---- classification (runtime) ---- */

/*
 * Called for each matching non-terminal rule, in order.  Return 0 to go
 * on, 1 to stop: the packet is dropped by that rule (a rate limit).
 */
typedef int	(*vfr_hit_fn)(void *, const struct vfr_rule *);

struct vfr_verdict {
	uint8_t			 v_action;	/* ACCEPT, DROP or REJECT */
	uint8_t			 v_policy;	/* 1: no terminal rule matched */
	uint8_t			 v_stopped;	/* 1: the hit function stopped */
	const struct vfr_rule	*v_rule;	/* the deciding rule, or NULL */
};

/*
 * The reference interpreter.  vif and domain are the names rules with
 * "on vif"/"domain" are compared with.  frame/len feed pcap-filter
 * patterns.  hit may be NULL.
 */
void	vfr_ref_classify(const struct vfr_ruleset *, const char *vif,
	    const char *domain, const struct vfr_key *, const uint8_t *frame,
	    size_t len, vfr_hit_fn hit, void *arg, struct vfr_verdict *);

/*
 * The fast classifier: built once per rule set and VIF (rules for other
 * VIFs and domains are left out), then shared read-only by the VIF's
 * thread.  The rule set must outlive the program.
 */
struct vfr_prog;
struct vfr_prog *vfr_prog_build(const struct vfr_ruleset *, const char *vif,
	    const char *domain);
void	vfr_prog_free(struct vfr_prog *);
void	vfr_classify(const struct vfr_prog *, const struct vfr_key *,
	    const uint8_t *frame, size_t len, vfr_hit_fn hit, void *arg,
	    struct vfr_verdict *);
/* Bytes the program holds (for limits and docs). */
size_t	vfr_prog_size(const struct vfr_prog *);

/* ---- classic BPF (runtime) ---- */

/* 0 if the program is safe to run (jumps forward and in range, memory
   slots in range, ends in RET), or -1. */
int	vfr_bpf_valid(const struct vfr_insn *, uint32_t);
/* Run a valid program: its return value (0: no match). */
uint32_t vfr_bpf_run(const struct vfr_insn *, uint32_t, const uint8_t *,
	    size_t);

/* ---- compiled objects (both sides) ---- */

/*
 * A self-contained binary form of a rule set (docs/VFR.md describes it):
 * what xeno-vfrc writes and xeno-hv loads.  vfr_obj_write() returns a
 * malloc'ed buffer and its size; vfr_obj_load() validates every byte
 * (it is a fuzz target) and returns 0, or -1 with a message.
 */
int	vfr_obj_write(const struct vfr_ruleset *, uint8_t **, size_t *);
int	vfr_obj_load(const uint8_t *, size_t, struct vfr_ruleset *, char *,
	    size_t);

/* ---- the language (user side) ---- */

struct vfr_source {
	const char	*src_name;	/* for messages: "rules.vfr" */
	const char	*src_text;
	size_t		 src_len;
	int		 src_tenant;	/* a tenant's rules: no include, no
					   policy, no anchor */
};

/*
 * Parse and check an operator rule set and an optional tenant rule set
 * (inserted at the operator's "anchor tenant", or at the end), resolve
 * includes (relative to the including file; never in tenant text), sets
 * and pcap-filter patterns, and lower everything to the IR.  0, or -1 with
 * "file:line:col: message" in err.
 */
int	vfr_parse(const struct vfr_source *op, const struct vfr_source *tenant,
	    struct vfr_ruleset *, char *err, size_t errlen);

/*
 * The normal form: what "xeno-vfrc -n" prints: the policy lines, then
 * each rule's r_text, one per line, in order.  Includes, sets and the
 * anchor are resolved; keywords are in one canonical order.  Parsing the
 * normal form again yields the same IR and the same normal form.
 */
int	vfr_print(const struct vfr_ruleset *, FILE *);

#endif /* VFR_RULES_VFR_H */
