/*
 * The VFR at the VIF hooks: anti-spoofing, connection tracking, the rule
 * set's classifier, rule counters, reject answers, the flow log and
 * packet capture, for every frame in both directions.
 *
 * One struct fw_domain per domain holds the installed rule set (shared
 * by its VIFs, replaced atomically by fw_install()); one struct fw_vif per
 * VIF holds what only that VIF's I/O thread touches.  The I/O thread
 * brackets each batch of frames with fw_enter()/fw_leave(): a batch sees
 * one rule set from start to end, and fw_install() frees the old set only
 * once no batch holds it.
 */
#ifndef XEN_VIRTIO_FW_H
#define XEN_VIRTIO_FW_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "xeno/flowlog.h"
#include "xeno/stats.h"
#include "vfr.h"

#define FW_MAX_VIFS	16
#define FW_FLOWS_DEFAULT 16384	/* flow-table entries per VIF */
#define FW_EXPORT_NS	(60ULL * 1000000000ULL)
#define FW_INJECT	8	/* reject answers waiting for the guest */
#define FW_INJECT_LEN	192

struct fw_set;
struct fw_cap;
struct flowlog;

struct fw_domain {
	char		 fd_name[VFR_NAME_MAX];
	struct fw_set	*fd_set;	/* atomic; NULL: accept everything */
	struct fw_vif	*fd_vif[FW_MAX_VIFS];
	struct xeno_stats_rules *fd_rules;	/* in the counters page */
	struct flowlog	*fd_flowlog;	/* NULL: no flow log */
	uint64_t	 fd_export_ns;
	uint64_t	 fd_gen;
	uint64_t	 fd_mono_to_real;	/* realtime - monotonic, ns */
	pthread_mutex_t	 fd_lock;	/* installs and captures */
};

/* Identity of a VIF, as assigned: what anti-spoofing enforces. */
struct fw_ident {
	uint8_t		fi_mac[6];
	int		fi_has_ip4;
	uint8_t		fi_ip4[4];
	int		fi_has_ip6;
	uint8_t		fi_ip6[16];
};

struct fw_vif {
	struct fw_domain *fv_dom;
	unsigned int	 fv_index;	/* device index */
	char		 fv_name[16];	/* tap name */
	struct fw_ident	 fv_id;
	struct vfr_addr	 fv_ip4, fv_ip6, fv_ll6;	/* the same, as keys */
	struct vfr_ct	 fv_ct;
	struct xeno_stats_net *fv_st;	/* the VIF's counters */
	int		 fv_tap;	/* where answers to the host go */
	/* held by the I/O thread during a batch */
	struct fw_set	*fv_set;
	struct fw_cap	*fv_cap;
	int		 fv_inside;	/* atomic: in a batch */
	uint64_t	 fv_epoch;	/* atomic: batches finished */
	uint64_t	 fv_now;	/* monotonic time of this batch */
	/* reject answers for the guest, delivered by the receive loop */
	uint8_t		 fv_inj[FW_INJECT][FW_INJECT_LEN];
	uint16_t	 fv_inj_len[FW_INJECT];
	unsigned int	 fv_inj_head, fv_inj_count;
	struct fw_cap	*fv_cap_src;	/* atomic: set by fw_capture_start */
	/* per batch, for the counters page (the set may go at any time) */
	uint64_t	 fv_gen, fv_nrules, fv_prog_bytes;
};

int	fw_domain_init(struct fw_domain *, const char *,
	    struct xeno_stats_rules *, struct flowlog *);
void	fw_domain_destroy(struct fw_domain *);

/* A VIF joins its domain's firewall.  -1 with errno (ENOMEM). */
int	fw_vif_init(struct fw_vif *, struct fw_domain *, unsigned int,
	    const char *, const struct fw_ident *, uint32_t max_flows,
	    struct xeno_stats_net *, int tap);
/* The VIF is going away: its flows go to the flow log. */
void	fw_vif_destroy(struct fw_vif *);

/*
 * Install a rule set (taking ownership of *rs, which is left empty):
 * build each VIF's classifier, swap, wait until no batch holds the old
 * set, free it.  0, or -1 with a message (the old set stays).
 */
int	fw_install(struct fw_domain *, struct vfr_ruleset *, char *, size_t);

void	fw_enter(struct fw_vif *, uint64_t now);
void	fw_leave(struct fw_vif *);

/*
 * The verdict on one frame (dir VFR_DIR_IN: from the tap to the guest;
 * VFR_DIR_OUT: from the guest) inside a batch: 1 pass, 0 drop (counted
 * here by reason).
 */
int	fw_hook(struct fw_vif *, int dir, const uint8_t *, size_t);

/* A reject answer for the guest, if one waits: copy it, return its length. */
size_t	fw_inject_take(struct fw_vif *, uint8_t *, size_t);
int	fw_inject_pending(const struct fw_vif *);

/* Time passes (about once a second): flows end and are reported. */
void	fw_tick(struct fw_vif *, uint64_t now);

/* Copy the firewall's counters into the VIF's section. */
void	fw_stats(struct fw_vif *, struct xeno_stats_net *);

/*
 * Capture: hand copies of the VIF's frames (both directions, before the
 * verdict; those a BPF filter accepts; at most snaplen bytes each) to a
 * SOCK_SEQPACKET socket, as struct xeno_cap_msg + frame bytes.  The
 * socket is taken over.  Frames the reader is too slow for are counted
 * and dropped, never waited for.  Stops when the reader goes away or on
 * fw_capture_stop().
 */
int	fw_capture_start(struct fw_domain *, unsigned int vif, int sock,
	    uint32_t snaplen, const struct vfr_insn *, uint32_t, char *,
	    size_t);
int	fw_capture_stop(struct fw_domain *, unsigned int vif, char *, size_t);

#endif /* XEN_VIRTIO_FW_H */
