// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: virtio-rng on the MMIO transport, driven by a sequence
 * of guest actions: register and config reads/writes of any width, stores
 * into guest memory (rings, descriptors), and as shortcuts the usual
 * bring-up sequence and a well-formed request. Kicks are served inline, so
 * the rng device pops whatever the input built.
 */
#include <petrel/log.h>

#include "fuzz_virtio.h"

#define RAM_SIZE	0x4000
#define BASE		0xc0001000ULL

enum op_kind { OP_READ, OP_WRITE, OP_STORE, OP_BRING_UP, OP_OFFER, OP_CONFIG_CHANGED, NR_OPS };

/* Where the last bring-up put queue 0. */
struct rings {
	uint64_t desc, avail, used;
	uint16_t size;
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_OFF);
	return 0;
}

/* A well-behaved driver's steps, with the rings where the input says. */
static void bring_up(struct virtio_dev *dev, struct rings *r, uint16_t where, uint32_t v)
{
	r->desc = where % RAM_SIZE;
	r->avail = r->desc + ((v >> 8) & 0xff) * 16;
	r->used = r->desc + ((v >> 16) & 0xff) * 16;
	r->size = 1u << (v % 9);
	vio_negotiate(dev, v & 0x30000000);	/* INDIRECT, EVENT_IDX */
	vio_queue(dev, 0, r->size, r->desc, r->avail, r->used);
	vio_wr32(dev, VIRTIO_MMIO_STATUS, 0xf);
}

/* One writable buffer as descriptor i, made available and kicked. */
static void offer(struct virtio_dev *dev, uint8_t *ram, const struct rings *r, uint16_t i,
		  uint32_t v)
{
	struct vring_desc d = { v % RAM_SIZE, (v >> 16) % 512 + 1, VRING_DESC_F_WRITE, 0 };
	uint16_t idx;

	if (!r->size || r->desc + 16 * r->size > RAM_SIZE ||
	    r->avail + 6 + 2 * r->size > RAM_SIZE)
		return;
	i %= r->size;
	memcpy(ram + r->desc + 16 * i, &d, sizeof(d));
	memcpy(&idx, ram + r->avail + 2, sizeof(idx));
	memcpy(ram + r->avail + 4 + 2 * (idx % r->size), &i, sizeof(i));
	idx++;
	memcpy(ram + r->avail + 2, &idx, sizeof(idx));
	vio_wr32(dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* For a register access, arg is the width: 1 << (arg % 4) bytes. */
static void step(struct virtio_dev *dev, uint8_t *ram, struct rings *r, const struct vio_op *op)
{
	switch (op->kind % NR_OPS) {
	case OP_READ:
		vio_access(dev, op->arg, op->off, op->val, false);
		break;
	case OP_WRITE:
		vio_access(dev, op->arg, op->off, op->val, true);
		break;
	case OP_STORE:
		memcpy(ram + op->off % (RAM_SIZE - 3), &op->val, sizeof(op->val));
		break;
	case OP_BRING_UP:
		bring_up(dev, r, op->off, op->val);
		break;
	case OP_OFFER:
		offer(dev, ram, r, op->off, op->val);
		break;
	case OP_CONFIG_CHANGED:
		virtio_dev_config_changed(dev);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem mem;
	struct virtio_host host = { .vm_fd = -1, .mem = &mem };
	struct virtio_dev *dev = virtio_rng_create(NULL);
	uint8_t *ram = calloc(1, RAM_SIZE);
	struct rings r = { 0 };
	struct vio_op op;

	vio_mem(&mem, ram, RAM_SIZE);
	if (!dev || !ram || virtio_mmio_attach(&host, dev, BASE, (struct irq_line){ -1 }))
		abort();
	while (vio_next(&data, &size, &op))
		step(dev, ram, &r, &op);
	virtio_dev_destroy(dev);
	free(ram);
	return 0;
}
