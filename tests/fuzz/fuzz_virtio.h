/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A guest driving one virtio device on the MMIO transport, for the virtio
 * targets: an input is a sequence of 8-byte actions (each target gives kind,
 * arg, off and val its own meaning), and the driver's steps a target takes
 * as a real driver does. Queue q's rings sit at RINGS(q) in guest RAM: the
 * descriptor table, the driver area at +0x1000, the device area at +0x1400.
 */
#ifndef PETREL_FUZZ_VIRTIO_H
#define PETREL_FUZZ_VIRTIO_H

#include <endian.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/memory.h>
#include <petrel/virtio.h>

#define RINGS(q)	((uint64_t)(q) * 0x2000)
#define AVAIL(q)	(RINGS(q) + 0x1000)
#define USED(q)		(RINGS(q) + 0x1400)

struct vio_op {
	uint8_t kind;		/* % the target's number of actions */
	uint8_t arg;
	uint16_t off;
	uint32_t val;
} __attribute__((packed));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static inline void vio_wr32(struct virtio_dev *dev, uint64_t off, uint32_t v)
{
	virtio_mmio_bus_ops.write(dev, off, (const uint8_t *)&v, sizeof(v));
}

/* A raw register access of 1 << (arg % 4) bytes anywhere in the device's slot. */
static inline void vio_access(struct virtio_dev *dev, uint8_t arg, uint16_t off, uint32_t val,
			      bool write)
{
	uint32_t len = 1u << (arg % 4);
	uint8_t buf[8];

	off %= MEM_VIRTIO_MMIO_SLOT;
	if (!write) {
		virtio_mmio_bus_ops.read(dev, off, buf, len);
		return;
	}
	memcpy(buf, &val, sizeof(val));
	memcpy(buf + 4, &val, sizeof(val));
	virtio_mmio_bus_ops.write(dev, off, buf, len);
}

/*
 * The actions a target's kinds 0, 1 and 2 are, where it takes them raw: a
 * register read (VIO_READ) or write (VIO_WRITE) as vio_access does, or val
 * stored at (arg << 16 | off) in RAM of size bytes (VIO_STORE). False after
 * a write or a store: the driver's view of its queues can no longer be trusted.
 */
enum { VIO_READ, VIO_WRITE, VIO_STORE };

static inline bool vio_raw(struct virtio_dev *dev, uint8_t *ram, uint64_t size,
			   unsigned int kind, const struct vio_op *op)
{
	if (kind == VIO_STORE) {
		memcpy(ram + ((uint32_t)op->arg << 16 | op->off) % (size - 3), &op->val, 4);
		return false;
	}
	vio_access(dev, op->arg, op->off, op->val, kind == VIO_WRITE);
	return kind == VIO_READ;
}

/* Reset, then the feature handshake: VERSION_1 and lo, up to FEATURES_OK. */
static inline void vio_negotiate(struct virtio_dev *dev, uint32_t lo)
{
	vio_wr32(dev, VIRTIO_MMIO_STATUS, 0);
	vio_wr32(dev, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vio_wr32(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vio_wr32(dev, VIRTIO_MMIO_DRIVER_FEATURES, lo);
	vio_wr32(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vio_wr32(dev, VIRTIO_MMIO_DRIVER_FEATURES, 1);		/* VERSION_1 */
	vio_wr32(dev, VIRTIO_MMIO_STATUS, 0xb);
}

/* Queue q of size entries made ready with its rings at desc, avail and used. */
static inline void vio_queue(struct virtio_dev *dev, unsigned int q, uint16_t size,
			     uint64_t desc, uint64_t avail, uint64_t used)
{
	vio_wr32(dev, VIRTIO_MMIO_QUEUE_SEL, q);
	vio_wr32(dev, VIRTIO_MMIO_QUEUE_NUM, size);
	vio_wr32(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, desc);
	vio_wr32(dev, VIRTIO_MMIO_QUEUE_AVAIL_LOW, avail);
	vio_wr32(dev, VIRTIO_MMIO_QUEUE_USED_LOW, used);
	vio_wr32(dev, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Queue q at RINGS(q). */
static inline void vio_queue_at_rings(struct virtio_dev *dev, unsigned int q, uint16_t size)
{
	vio_queue(dev, q, size, RINGS(q), AVAIL(q), USED(q));
}

/* The chain at head made available on queue q (of size entries) at RINGS(q). */
static inline void vio_publish(uint8_t *ram, unsigned int q, uint16_t size,
			       uint16_t *avail_idx, uint16_t head)
{
	memcpy(ram + AVAIL(q) + 4 + 2 * (*avail_idx % size), &head, 2);
	(*avail_idx)++;
	memcpy(ram + AVAIL(q) + 2, avail_idx, 2);
}

/*
 * How many used elements queue q (of size entries) has published since
 * last; more than the ring holds is the device's bug.
 */
static inline uint16_t vio_used_new(const uint8_t *ram, unsigned int q, uint16_t size,
				    uint16_t last)
{
	uint16_t idx;

	memcpy(&idx, ram + USED(q) + 2, 2);
	idx = (uint16_t)(le16toh(idx) - last);
	if (idx > size)
		abort();
	return idx;
}

/* Used element i (mod size) of queue q. */
static inline void vio_used_elem(const uint8_t *ram, unsigned int q, uint16_t size, uint16_t i,
				 struct vring_used_elem *e)
{
	memcpy(e, ram + USED(q) + 4 + 8 * (i % size), sizeof(*e));
	e->id = le32toh(e->id);
	e->len = le32toh(e->len);
}

/* One region of RAM at guest address 0. */
static inline void vio_mem(struct guest_mem *mem, uint8_t *ram, uint64_t size)
{
	*mem = (struct guest_mem){ .nr_regions = 1, .ram_size = size, .memfd = -1 };
	mem->regions[0] = (struct guest_region){ 0, size, ram };
}

/* The next action of the input, false at its end (a partial tail is ignored). */
static inline bool vio_next(const uint8_t **data, size_t *size, struct vio_op *op)
{
	if (*size < sizeof(*op))
		return false;
	memcpy(op, *data, sizeof(*op));
	*data += sizeof(*op);
	*size -= sizeof(*op);
	return true;
}

#endif
