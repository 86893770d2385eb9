/* SPDX-License-Identifier: Apache-2.0 */
/* What the generic virtio helpers need from the transport (private to src/virtio). */
#ifndef PETREL_VIRTIO_TRANSPORT_H
#define PETREL_VIRTIO_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include <petrel/virtio.h>

/*
 * Raise VIRTIO_MMIO_INT_* bits: a config change bumps ConfigGeneration; the
 * interrupt itself goes out only after DRIVER_OK. Call with dev->lock held.
 */
void virtio_mmio_signal(struct virtio_dev *dev, uint32_t isr);

/* Finish a reset the device had to defer (see virtio_dev_ops.quiesce); dev->lock held. */
void virtio_mmio_reset_done(struct virtio_dev *dev);

/* Guest errors are logged the first 8 times, then at powers of two. */
static inline bool virtio_log_nth(uint64_t n)
{
	return n <= 8 || !(n & (n - 1));
}

#endif
