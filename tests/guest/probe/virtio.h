/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio (version 2) devices: discovery from the command line or the
 * DSDT, and the status/feature handshake. Polled; interrupts stay off.
 */
#ifndef PROBE_VIRTIO_H
#define PROBE_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

/* Every wait on a device gives up after this long. */
#define VIRTIO_TIMEOUT_MS	5000

struct virtio_dev {
	uint64_t base;
	uint64_t size;		/* of the register window */
	uint32_t gsi;
	uint32_t id;		/* VIRTIO_ID_* */
	const char *name;	/* "blk", "net", "rng", ... */
	uint64_t offered;	/* the device's features */
	uint64_t features;	/* what we accepted */
};

/* Discover and probe once (printing a line per device); the array. */
int virtio_devices(struct virtio_dev **devs);
/* The first device of this type, or NULL after printing "probe: NAME no device". */
struct virtio_dev *virtio_find(uint32_t id, const char *name);

uint32_t virtio_read(const struct virtio_dev *d, uint32_t reg);
void virtio_write(const struct virtio_dev *d, uint32_t reg, uint32_t val);
uint8_t virtio_status(const struct virtio_dev *d);

/* Status 0, then wait until it reads back 0; -1 on timeout. */
int virtio_reset(struct virtio_dev *d);
/*
 * Reset, ACKNOWLEDGE, DRIVER, accept VERSION_1 and whatever of want the
 * device offers, FEATURES_OK and check that it stuck.
 */
int virtio_start(struct virtio_dev *d, uint64_t want);
void virtio_driver_ok(struct virtio_dev *d);
/* Acknowledge whatever interrupt the device raised. */
void virtio_ack(struct virtio_dev *d);

uint32_t virtio_config32(const struct virtio_dev *d, uint32_t off);
uint64_t virtio_config64(const struct virtio_dev *d, uint32_t off);

static inline bool virtio_has(const struct virtio_dev *d, unsigned int bit)
{
	return d->features & (1ULL << bit);
}

#define VIRTIO_BIT(bit)	(1ULL << (bit))

#endif
