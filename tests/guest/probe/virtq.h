/* SPDX-License-Identifier: MIT */
/* Split virtqueues in guest memory, driven by polling the used ring. */
#ifndef PROBE_VIRTQ_H
#define PROBE_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

#include "virtio.h"

/* One descriptor's worth of a request: the device reads it, or writes it. */
struct vbuf {
	uint64_t addr;
	uint32_t len;
	bool write;
};

struct virtq {
	struct virtio_dev *dev;
	uint16_t index;
	uint16_t num;
	struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	void **tokens;			/* per head: what the caller submitted */
	uint16_t free_head;
	uint16_t nr_free;
	uint16_t avail_idx;
	uint16_t last_used;
};

/* Queue index with min(QueueNumMax, want) entries (a power of two), ready. */
int virtq_init(struct virtq *q, struct virtio_dev *d, uint16_t index, uint16_t want);
/* Chain n buffers and make them available; the head, or -1 if full. */
int virtq_add(struct virtq *q, const struct vbuf *bufs, unsigned int n, void *token);
/* Put a head on the avail ring as is (the hostile guest builds its own). */
void virtq_publish(struct virtq *q, uint16_t head);
void virtq_kick(struct virtq *q);
/* A finished request's token (and bytes written), or NULL if none yet. */
void *virtq_get(struct virtq *q, uint32_t *len);
/* virtq_get, polled until deadline (TSC); NULL then. */
void *virtq_poll(struct virtq *q, uint32_t *len, uint64_t deadline);
/* virtq_poll for VIRTIO_TIMEOUT_MS; prints "probe: DEV timeout" on NULL. */
void *virtq_wait(struct virtq *q, uint32_t *len);

#endif
