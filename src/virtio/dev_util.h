/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers the virtio devices share (private to src/virtio). */
#ifndef PETREL_VIRTIO_DEV_UTIL_H
#define PETREL_VIRTIO_DEV_UTIL_H

#include <stddef.h>
#include <sys/uio.h>

#include <petrel/virtio.h>

/*
 * Pop the next chain of dev's queue q; when the ring looks empty, ask for a
 * kick on the next one (EVENT_IDX) and look once more. 1: a chain in *elem;
 * 0: empty; <0: malformed, and the device has been failed.
 */
int dev_pop(struct virtio_dev *dev, unsigned int q, struct virtq_elem *elem);
/* Give back the last count chains popped: the next pops return them again. */
void dev_unpop(struct virtio_dev *dev, unsigned int q, unsigned int count);
/* Serve queue q again from the event loop, after other fds had their turn. */
void dev_requeue(struct virtio_dev *dev, unsigned int q);

/* A config space read: bytes [offset, offset + len) of cfg, zeros beyond its size. */
void dev_config_read(const void *cfg, size_t size, uint32_t offset, uint8_t *data, uint32_t len);

/* Copy up to len bytes out of / into iov starting at byte offset; returns bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t offset, void *buf,
		  size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t offset, const void *buf,
		    size_t len);
/* Drop bytes from the front of *iov (in place); returns how many were dropped. */
size_t iov_pull(struct iovec **iov, unsigned int *n, size_t bytes);
/* Drop bytes from the back of iov (in place); returns how many were dropped. */
size_t iov_trim(struct iovec *iov, unsigned int *n, size_t bytes);

#endif
