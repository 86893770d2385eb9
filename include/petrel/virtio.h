/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_VIRTIO_H
#define PETREL_VIRTIO_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <petrel/config.h>
#include <petrel/devices.h>
#include <petrel/memory.h>
#include <petrel/vmm.h>

#define VIRTIO_MAX_QUEUES	5	/* the balloon's, with every feature */
#define VIRTQ_MAX_SIZE		256	/* QueueNumMax offered to drivers */
#define VIRTQ_MAX_SEGS		(2 * VIRTQ_MAX_SIZE)	/* chain + one indirect table */

/* A split virtqueue as the driver set it up; every address is checked on use. */
struct virtq {
	uint16_t size;			/* QueueNum */
	bool ready;
	uint64_t desc_gpa;
	uint64_t avail_gpa;
	uint64_t used_gpa;
	uint16_t last_avail;		/* next avail ring entry to take */
	uint16_t used_idx;		/* our copy of used->idx */
	uint16_t signalled_used;	/* used_idx at the last interrupt (EVENT_IDX) */
	bool signalled_valid;
	bool event_idx;			/* VIRTIO_F_EVENT_IDX negotiated */
	int kick_fd;			/* ioeventfd on QueueNotify, -1 when none */
};

/* One request: a validated descriptor chain mapped to host memory. */
struct virtq_elem {
	uint16_t head;
	uint16_t nr_out;		/* device-readable segments, first */
	uint16_t nr_in;			/* then device-writable ones */
	uint32_t out_len;
	uint32_t in_len;
	struct iovec iov[VIRTQ_MAX_SEGS];
};

/*
 * Take the next available chain. 1: *elem filled; 0: ring empty; -EINVAL:
 * the ring or chain is malformed (out-of-range address, loop, bad length,
 * nested indirect, writable before readable...) and *why says how; the
 * caller then fails the device (virtio_dev_fail).
 */
int virtq_pop(struct virtq *vq, const struct guest_mem *mem, struct virtq_elem *elem,
	      const char **why);
/*
 * Return chains: virtq_fill() writes the used element offset places past
 * the published ones, virtq_flush() publishes count of them at once (a
 * frame spread over several chains appears to the driver whole).
 */
int virtq_fill(struct virtq *vq, const struct guest_mem *mem, unsigned int offset,
	       uint16_t head, uint32_t len);
int virtq_flush(struct virtq *vq, const struct guest_mem *mem, unsigned int count);
/* Return a chain with len bytes written into its writable part. */
int virtq_push(struct virtq *vq, const struct guest_mem *mem, uint16_t head, uint32_t len);
/* Whether the driver wants an interrupt for what was pushed (EVENT_IDX aware). */
bool virtq_should_notify(struct virtq *vq, const struct guest_mem *mem);
/* With EVENT_IDX, publish avail_event so the driver kicks only when needed. */
void virtq_set_avail_event(struct virtq *vq, const struct guest_mem *mem);
void virtq_reset(struct virtq *vq);

struct virtio_dev;
struct snap_buf;

struct virtio_dev_metrics {
	uint64_t queue_errors;		/* malformed rings/chains from the guest */
	uint64_t requests;
	uint64_t bytes_read;
	uint64_t bytes_written;
	uint64_t io_errors;
	uint64_t interrupts;
	uint64_t register_errors;	/* ignored out-of-order or malformed register accesses */
	uint64_t abandoned;		/* requests dropped unanswered by a reset or shutdown */
	/* Requests held back by a rate limiter until its timer (block, entropy; net tx) */
	uint64_t rl_throttled;
	uint64_t rx_rl_throttled;	/* net rx */
};

/* What one device type provides to the transport. */
struct virtio_dev_ops {
	uint32_t device_id;		/* VIRTIO_ID_* */
	/* Device feature bits; the transport adds VERSION_1, EVENT_IDX, INDIRECT_DESC. */
	uint64_t (*features)(struct virtio_dev *dev);
	uint32_t config_size;
	void (*config_read)(struct virtio_dev *dev, uint32_t offset, uint8_t *data, uint32_t len);
	void (*config_write)(struct virtio_dev *dev, uint32_t offset, const uint8_t *data,
			     uint32_t len);
	/* DRIVER_OK: start serving (e.g. watch a tap fd). Non-zero fails the device. */
	int (*activate)(struct virtio_dev *dev);
	/* The driver kicked queue q: runs on the vmm thread with dev->lock held. */
	void (*queue_notify)(struct virtio_dev *dev, unsigned int q);
	/*
	 * The driver wrote Status 0 (a vCPU thread, dev->lock held): stop serving.
	 * false while I/O that cannot be stopped at once still uses guest memory:
	 * the reset then completes when the device calls virtio_dev_reset_done()
	 * from the vmm thread. NULL: the device is always quiet.
	 */
	bool (*quiesce)(struct virtio_dev *dev);
	/* Device reset by the driver, once quiet: forget negotiated state. */
	void (*reset)(struct virtio_dev *dev);
	void (*destroy)(struct virtio_dev *dev);
	/*
	 * Snapshots, the VM paused, on the vmm thread with dev->lock held: the
	 * device's own state beyond the transport's. -EBUSY while it holds a
	 * request taken from a ring and not yet answered (it finishes in moments
	 * once the vCPUs are paused). NULL: nothing of its own to save.
	 */
	int (*save)(struct virtio_dev *dev, struct snap_buf *out);
	/* Before the VM starts; -EINVAL for bytes that do not fit. NULL: nothing to restore. */
	int (*restore)(struct virtio_dev *dev, const void *data, size_t len);
	/* The rate limiter of queue q, NULL if it has none (NULL: no limiters at all). */
	struct ratelimit *(*limiter)(struct virtio_dev *dev, unsigned int q);
};

/* The generic part every device embeds (first member). */
struct virtio_dev {
	const struct virtio_dev_ops *ops;
	char id[65];			/* drive_id / iface_id / "rng", for logs and metrics */
	unsigned int nr_queues;
	struct virtq queues[VIRTIO_MAX_QUEUES];
	/* Registers (vCPU threads) vs queue work (vmm thread); recursive, set up by attach. */
	pthread_mutex_t lock;
	const struct guest_mem *mem;
	struct event_loop *loop;
	uint64_t driver_features;	/* what the driver accepted */
	bool broken;			/* NEEDS_RESET set: stop serving until reset */
	struct virtio_dev_metrics metrics;
	void *transport;		/* owned by the transport */
};

/* These helpers take dev->lock themselves (it is recursive: holding it is fine). */
/* For devices: signal used buffers on vq (if the driver wants it). */
void virtio_dev_notify(struct virtio_dev *dev, struct virtq *vq);
/* For devices: the config space changed (e.g. disk resized). */
void virtio_dev_config_changed(struct virtio_dev *dev);
/* For devices: the guest broke the protocol: log, count, set NEEDS_RESET, stop serving. */
void virtio_dev_fail(struct virtio_dev *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* For devices: the I/O a reset waited for is over (quiesce returned false); vmm thread. */
void virtio_dev_reset_done(struct virtio_dev *dev);
bool virtio_dev_has_feature(const struct virtio_dev *dev, unsigned int bit);

/* What the MMIO transport needs from the VM. */
struct virtio_host {
	int vm_fd;
	struct bus *mmio;
	struct event_loop *loop;
	const struct guest_mem *mem;
};

/*
 * Put dev on the MMIO bus at base (a 4 KiB slot), with one ioeventfd per
 * queue on QueueNotify and the interrupt irq (an irqfd on an edge-triggered
 * GSI). The caller adds the DSDT entry and the command-line word.
 */
int virtio_mmio_attach(const struct virtio_host *host, struct virtio_dev *dev, uint64_t base,
		       struct irq_line irq);
void virtio_mmio_detach(struct virtio_dev *dev);
/*
 * Snapshots: the transport's registers and every queue's position, then the
 * device's own state. Save: the VM paused, on the vmm thread; -EBUSY (err
 * says which device) while a reset or a request is under way. Restore:
 * attached, before the VM starts; -EINVAL with err naming what does not fit
 * this device (another type, queue count or features).
 */
int virtio_mmio_save(struct virtio_dev *dev, struct snap_buf *out, char *err, size_t errlen);
int virtio_mmio_restore(struct virtio_dev *dev, const void *data, size_t len, char *err,
			size_t errlen);
/* Register access, exposed for unit tests and fuzzing (the bus calls these). */
extern const struct bus_ops virtio_mmio_bus_ops;

/* Devices. Each logs why it failed (naming the file or device) and returns NULL. */
struct virtio_dev *virtio_blk_create(const struct drive_config *cfg);
struct virtio_dev *virtio_net_create(const struct net_config *cfg);
/* Answer the metadata service's address on this interface (after it is attached). */
struct mmds;
int virtio_net_attach_mmds(struct virtio_dev *dev, struct mmds *m);
/*
 * For unit tests and fuzzing: serve fd (owned from now on), a datagram socket
 * standing in for the tap, one frame with its virtio header a message; the
 * tap's offloads are left alone. cfg->host_dev_name is not used.
 */
struct virtio_dev *virtio_net_create_on_fd(const struct net_config *cfg, int fd);
/* rl: the rate_limiter (NULL: none). */
struct virtio_dev *virtio_rng_create(const struct rl_config *rl);
/*
 * PATCH: replace the buckets cfg gives on queue q's limiter (block 0, net
 * rx 0 and tx 1, entropy 0), on the vmm thread; requests it held back are
 * tried again at once. -ENOENT for a queue without one.
 */
int virtio_dev_update_limiter(struct virtio_dev *dev, unsigned int q, const struct rl_config *cfg);
/*
 * virtio-vsock with Firecracker's host side: listens on cfg->uds_path
 * (a stale socket there is replaced, a live one refused), and reports its
 * counters as the metrics group "vsock" itself.
 */
struct virtio_dev *virtio_vsock_create(const struct vsock_config *cfg);

/* virtio-vsock packets, exposed for unit tests and fuzzing. */
struct vsock_pkt {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;			/* payload bytes after the header */
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};
/*
 * The header of a transmit chain of out_len readable bytes: 0, or -EINVAL
 * with *why (a chain shorter than the header, a payload longer than the
 * chain or than max_payload).
 */
int vsock_pkt_parse(const struct iovec *iov, unsigned int n, uint32_t out_len,
		    uint32_t max_payload, struct vsock_pkt *pkt, const char **why);
/*
 * Bytes a peer advertising buf_alloc and fwd_cnt can still take after
 * tx_cnt bytes sent to it (counters wrap, as the spec's do); 0 when a
 * hostile peer's fwd_cnt runs ahead of what it was sent.
 */
uint32_t vsock_peer_credit(uint32_t buf_alloc, uint32_t fwd_cnt, uint32_t tx_cnt);
/*
 * PATCH /drives/{id}: serve another file from now on, with its capacity,
 * once the old one is flushed; -errno and err naming the drive and the
 * file, the old file kept, on failure.
 */
int virtio_blk_update_path(struct virtio_dev *dev, const char *path, char *err, size_t errlen);
void virtio_dev_destroy(struct virtio_dev *dev);

/* ---- virtio-balloon ---- */

/* Statistics tags (virtio 1.2 5.5.6.3, and Linux 6.12's: OOM kills to direct reclaim). */
#define VIRTIO_BALLOON_NR_STATS	16

struct virtio_balloon_stats {
	uint32_t target_pages;		/* num_pages, what the host asks */
	uint32_t actual_pages;		/* actual, what the driver says it holds */
	uint32_t present;		/* bit per tag the driver has reported */
	uint64_t val[VIRTIO_BALLOON_NR_STATS];
};

/* Free page hinting: the last command each side gave (Firecracker's hinting status). */
struct virtio_balloon_hint {
	uint32_t host_cmd;
	uint32_t guest_cmd;
	bool has_guest_cmd;
	uint32_t last_cmd;		/* the last run started */
};

struct virtio_balloon_metrics {
	uint64_t inflates;		/* inflate chains served */
	uint64_t deflates;
	uint64_t pages_given_back;	/* 4 KiB pages returned to the host, for any reason */
	uint64_t pages_hinted;		/* ... of them free page hints */
	uint64_t pages_reported;	/* ... of them free page reports */
	uint64_t bad_pfns;		/* outside RAM, twice, past the target, or not inflated */
	uint64_t hints_ignored;		/* ranges outside the run the host asked for */
	uint64_t stats_updates;
	uint64_t give_back_errors;
};

struct virtio_dev *virtio_balloon_create(const struct balloon_config *cfg);
/* On the vmm thread: a new target; the driver is told through a config change. */
void virtio_balloon_set_target(struct virtio_dev *dev, unsigned int mib);
/* A new polling interval (both non-zero: the caller checks); -errno from the timer. */
int virtio_balloon_set_stats_interval(struct virtio_dev *dev, unsigned int secs);
void virtio_balloon_get_stats(struct virtio_dev *dev, struct virtio_balloon_stats *out);
/* Start a hinting run (acknowledged when the guest stops, if ack_on_stop); stop it. */
void virtio_balloon_hint_start(struct virtio_dev *dev, bool ack_on_stop);
void virtio_balloon_hint_stop(struct virtio_dev *dev);
void virtio_balloon_hint_status(struct virtio_dev *dev, struct virtio_balloon_hint *out);
const struct virtio_balloon_metrics *virtio_balloon_metrics(const struct virtio_dev *dev);
/* The "balloon" metrics group, its counters read from the device's dev->metrics. */
struct metrics_schema;
const struct metrics_schema *virtio_balloon_metrics_schema(void);

#endif
