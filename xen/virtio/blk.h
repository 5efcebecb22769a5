/*
 * The VBD backend: virtio-blk requests served from host files.
 *
 * A VBD is either an ordered list of extents (file:offset:length, their
 * concatenation is the disk) or a copy-on-write overlay file on a shared
 * read-only base image (the base is opened O_RDONLY and never written).
 * docs/VBD.md describes the overlay file format.
 *
 * The device layer (xen/dev.c) owns threads, queues and counters pages;
 * this file owns the storage and the meaning of a request.  Everything
 * here runs on the VBD's I/O thread, one request at a time.
 */
#ifndef XEN_VIRTIO_BLK_H
#define XEN_VIRTIO_BLK_H

#include <stddef.h>
#include <stdint.h>

#include "xeno/stats.h"
#include "virtio/virtq.h"

#define BLK_MAX_EXTENTS		16
#define BLK_ID_MAX		20	/* = XENO_VIRTIO_BLK_ID_BYTES */
#define BLK_COW_CLUSTER		4096	/* overlay allocation unit */

struct blk_extent {
	char		*be_path;
	uint64_t	 be_off;	/* in the file */
	uint64_t	 be_len;	/* bytes, a multiple of 512 */
	int		 be_fd;		/* -1 until blk_open */
};

/* A parsed --vbd option; pure data, no file is touched by blk_parse. */
struct blk_config {
	char		 bc_id[BLK_ID_MAX + 1];
	int		 bc_nextents;
	struct blk_extent bc_extent[BLK_MAX_EXTENTS];
	char		*bc_base;	/* CoW: shared base image */
	char		*bc_overlay;	/* CoW: this domain's overlay */
	int		 bc_ro;
	uint64_t	 bc_lease_until;	/* realtime ns, 0: no expiry */
};

struct blk_dev {
	struct blk_config bd_cfg;
	uint64_t	 bd_capacity;	/* sectors */
	int		 bd_ro;
	/*
	 * CoW state (bc_base != NULL).  A base given without an overlay is
	 * turned into a one-extent read-only device by blk_open, so in an
	 * open device bc_base != NULL means exactly "copy-on-write".
	 */
	int		 bd_base_fd;
	int		 bd_ovl_fd;
	uint64_t	 bd_size;	/* bytes: capacity * 512 */
	uint64_t	 bd_nclusters;
	uint8_t		*bd_bitmap;	/* one bit per BLK_COW_CLUSTER */
	size_t		 bd_bitmap_bytes;
	int		 bd_bitmap_dirty;
	size_t		 bd_bitmap_lo;	/* dirty bytes [lo, hi) of the bitmap */
	size_t		 bd_bitmap_hi;
	uint64_t	 bd_data_off;	/* offset of cluster 0 in the overlay */
	int		 bd_dirty;	/* writes since the last flush */
	uint64_t	 bd_tsc_mul;	/* ns per TSC tick, 32.32; 0: no TSC */
	/*
	 * Counters, copied into the counters page by the device layer;
	 * docs/VBD.md says what each one counts (sectors are the guest's
	 * view, bytes the host files' I/O, copy-ups included).
	 */
	struct xeno_stats_blk bd_stats;
};

/*
 * Parse "id=ID,extents=F:OFF:LEN[+F:OFF:LEN...],ro,lease-until=ISO8601"
 * or "id=ID,base=FILE,overlay=FILE[,lease-until=...]" (sizes take K/M/G
 * suffixes; lease-until is "YYYY-MM-DDTHH:MM:SSZ").  0, or -1 with a
 * message naming the bad field in err.  Strings are copied (free with
 * blk_config_free).  On error nothing is left allocated and the config is
 * zeroed, so blk_config_free on it is harmless; so is a second call.
 * Sizes are bytes when bare (unlike --mem: an offset in MiB by default
 * would be a trap); K, M, G, T (optionally KiB, ...) are binary.
 */
int	blk_parse(const char *, struct blk_config *, char *, size_t);
void	blk_config_free(struct blk_config *);

/*
 * Open the files (creating or validating the overlay), compute the
 * capacity, fill bd_stats' fixed fields (capacity, flags, lease).  now is
 * the realtime clock in ns (the lease start).  0, or -1 with err set.
 * The config is moved into the device (do not free it after success:
 * its pointers are cleared, so blk_config_free on it is a no-op).  On
 * error the config is left as it was, for the caller to free, and the
 * device holds nothing (blk_close on it is a no-op).
 *
 * An overlay is locked (flock, exclusive; shared when ro) for as long as
 * the device is open: one domain per overlay.
 */
int	blk_open(struct blk_dev *, struct blk_config *, uint64_t, char *,
	    size_t);
/*
 * Write the overlay's bitmap (after syncing its data, as FLUSH does),
 * close every file and free everything.  A failure to write the bitmap is
 * logged: the writes since the last FLUSH may then be lost, as a crash
 * would lose them.  Only for a device blk_open has filled, successfully or
 * not; a second call is a no-op.  bd_stats stays readable.
 */
void	blk_close(struct blk_dev *);

/*
 * Serve one request popped from the VBD's queue.  Returns the number of
 * bytes written into the request's writable buffers (data read plus the
 * status byte): the used length for vq_push.  A request that cannot be
 * parsed (no status byte, header too short, ...) is counted in sb_err_bad
 * and returns what it wrote (0 if it could not even write a status).
 * now is the realtime clock in ns, for the lease.
 */
uint32_t blk_request(struct blk_dev *, const struct vq_req *, uint64_t);

/*
 * Bring the lease fields up to date for now (realtime ns): held time, and
 * the expired flag once now >= the expiry.  Returns 1 if the lease has
 * expired.
 */
int	blk_lease_update(struct blk_dev *, uint64_t);

#endif /* XEN_VIRTIO_BLK_H */
