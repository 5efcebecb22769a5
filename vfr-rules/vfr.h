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
	uint8_t		k_malformed;	/* claims IPv4/IPv6/ARP but its
					   header does not parse (k_l3 is
					   then VFR_L3_OTHER) */
	uint16_t	k_l4off;	/* offset of the L4 header, 0: none */
	uint16_t	k_icmp_id;	/* ICMP/ICMPv6 echo identifier */
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
	/* an ICMP/ICMPv6 error: the header it quotes (connection tracking
	   looks for that flow: state related) */
	uint8_t		k_inner_ok;
	uint8_t		k_inner_proto;
	uint16_t	k_inner_sport;	/* or the echo identifier */
	uint16_t	k_inner_dport;
	struct vfr_addr	k_inner_src;
	struct vfr_addr	k_inner_dst;
};

/*
 * Fill *k from an Ethernet frame of len bytes for direction dir.  Never
 * fails: a truncated or odd frame gets VFR_NONE where its fields would be
 * (and k_ct is left VFR_CT_UNTRACKED for the caller to refine).
 */
void	vfr_key_parse(struct vfr_key *, const uint8_t *, size_t, int dir);

/* Addresses from and to network byte order (IPv4 as ::ffff:a.b.c.d). */
void	vfr_addr_ip4(struct vfr_addr *, const uint8_t *);
void	vfr_addr_ip6(struct vfr_addr *, const uint8_t *);
void	vfr_addr_bytes(const struct vfr_addr *, uint8_t *);

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

/*
 * vfr_parse() with options (vfr_parse() is this with none).  po_warn, if
 * set, receives each warning as one "file:line: warning: ..." string:
 * today, rules that can never match because an earlier accept, drop or
 * reject rule decides every packet they would match.
 */
#define VFR_PARSE_NOINCLUDE	0x1	/* refuse "include" in operator text
					   too (fuzzers, untrusted text) */
struct vfr_parse_opts {
	int		 po_flags;
	void		(*po_warn)(void *, const char *);
	void		*po_warn_arg;
};
int	vfr_parse_ext(const struct vfr_source *op,
	    const struct vfr_source *tenant, const struct vfr_parse_opts *,
	    struct vfr_ruleset *, char *err, size_t errlen);

/*
 * Read a rule file ("-": standard input) into a malloc'ed buffer (NUL
 * terminated, not counted in *len).  Refuses files that are not regular
 * (but stdin) or larger than 16 MiB.  0, or -1 with "path: reason".
 */
int	vfr_file_read(const char *path, char **text, size_t *len, char *err,
	    size_t errlen);

/* ---- connection tracking (runtime; ct.c) ---- */

/*
 * A flow: the packets of one connection (TCP, UDP, SCTP, ICMP echo), of
 * one IP address and protocol pair (other IP protocols, fragments), or of
 * one Ethernet type and MAC pair (not IP), in both directions.
 * "Orientation" 0 is the direction of the flow's first packet.  Flows
 * that were never accepted (denied) are kept only for the flow log: they
 * never make a packet established, and they go first when room is needed.
 */
#define VFR_FLOW_ACCEPTED	0x1	/* a packet of it was accepted */
#define VFR_FLOW_DENIED		0x2	/* a packet of it was dropped */
#define VFR_FLOW_REPLIED	0x4	/* seen in orientation 1, accepted */
#define VFR_FLOW_CLOSING	0x8	/* TCP FIN or RST seen */
#define VFR_FLOW_UNTRACKED	0x10	/* for the log only: no state */

struct vfr_flow_key {
	struct vfr_addr	fk_addr[2];	/* orientation 0: source, dest */
	uint16_t	fk_port[2];	/* ports, echo id twice, or ethertype */
	uint8_t		fk_proto;	/* IP protocol; 0 if not IP */
	uint8_t		fk_l3;		/* VFR_L3_ */
	uint8_t		fk_pad[2];
};

struct vfr_flow {
	struct vfr_flow_key fl_key;
	uint8_t		fl_dir;		/* VFR_DIR_ of orientation 0 */
	uint8_t		fl_flags;	/* VFR_FLOW_ */
	uint8_t		fl_tcp[2];	/* TCP flags seen, per orientation */
	/* since the last export, by orientation and by verdict (0:
	   accepted, 1: dropped): packets, bytes, the rule that decided the
	   latest of them (a rule id or a VFR_RULE_ marker) */
	uint64_t	fl_pkts[2][2];
	uint64_t	fl_bytes[2][2];
	uint32_t	fl_rule[2][2];
	uint64_t	fl_first_ns;	/* monotonic: first packet */
	uint64_t	fl_last_ns;	/* monotonic: last packet */
	uint64_t	fl_start_ns;	/* first packet since the last export,
					   0: none since */
	uint32_t	fl_next;	/* hash chain (index + 1), 0: end */
	uint32_t	fl_bucket;
};

#define VFR_RULE_POLICY	0xffffffffU	/* no rule: the policy decided */
#define VFR_RULE_SPOOF	0xfffffffeU	/* anti-spoofing decided */
#define VFR_RULE_CTFULL	0xfffffffdU	/* flow table full */

enum vfr_ct_why {
	VFR_CT_EXPORT,		/* periodic record of a live flow */
	VFR_CT_END,		/* timed out or closed */
	VFR_CT_EVICT,		/* pushed out to make room */
};

/* Called with each flow that has packets to report. */
typedef void	(*vfr_ct_emit_fn)(void *, const struct vfr_flow *,
		    enum vfr_ct_why);

struct vfr_ct {
	struct vfr_flow	*ct_flow;	/* ct_max entries */
	uint32_t	*ct_bucket;	/* index + 1 of the first, 0: empty */
	uint32_t	 ct_nbucket;	/* a power of two */
	uint32_t	 ct_max;
	uint32_t	 ct_count;
	uint32_t	 ct_free;	/* index + 1 of a free entry, 0: none */
	uint32_t	 ct_unused;	/* entries never used yet start here */
	uint64_t	 ct_seed[2];	/* keyed hash: a guest cannot aim */
	vfr_ct_emit_fn	 ct_emit;
	void		*ct_arg;
	/* counters */
	uint64_t	 ct_full;	/* a flow could not be added */
	uint64_t	 ct_evicted;	/* unreplied or denied flows pushed out */
	uint64_t	 ct_untracked_pkts;	/* packets in no flow */
	uint64_t	 ct_untracked_bytes;
};

/* max flows (>= 16), a random seed, where finished flows go.  -1: ENOMEM */
int	vfr_ct_init(struct vfr_ct *, uint32_t, uint64_t, uint64_t,
	    vfr_ct_emit_fn, void *);
void	vfr_ct_free(struct vfr_ct *);

/*
 * Before classification: find the packet's flow and set k->k_ct.
 * Returns the flow or NULL; *orient is the packet's orientation in it.
 */
struct vfr_flow *vfr_ct_lookup(struct vfr_ct *, struct vfr_key *, uint64_t,
	    int *);

/*
 * After the verdict (VFR_ACCEPT or not) on a packet of len bytes: add it
 * to its flow (f from vfr_ct_lookup, NULL for a new one) and advance the
 * TCP state.  rule is the deciding rule's id or a VFR_RULE_ marker.
 * Returns 0, or -1 if an accepted NEW packet found no room (the caller
 * drops it: VFR_RULE_CTFULL).
 */
int	vfr_ct_update(struct vfr_ct *, struct vfr_flow *f, int orient,
	    const struct vfr_key *, int action, uint32_t rule, uint32_t len,
	    uint64_t now);

/*
 * Time passes: flows idle past their timeout end (emitted with
 * VFR_CT_END, removed), live flows with packets older than export_ns are
 * emitted (VFR_CT_EXPORT) and their period restarts.
 */
void	vfr_ct_sweep(struct vfr_ct *, uint64_t now, uint64_t export_ns);

/* Emit every flow with packets and forget them all (a VIF going away). */
void	vfr_ct_flush(struct vfr_ct *);

#endif /* VFR_RULES_VFR_H */
