/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers the virtio devices share (private to src/virtio). */
#ifndef PETREL_VIRTIO_DEV_UTIL_H
#define PETREL_VIRTIO_DEV_UTIL_H

#include <stddef.h>
#include <sys/uio.h>

#include <petrel/ratelimit.h>
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

/*
 * A queue's rate limiter. The device asks dev_limit() for a request's
 * tokens before it takes the request: refused, the request stays in the
 * ring (or pending in the device), nothing more is taken from the queue,
 * and the limiter's timer kicks queue q again once the tokens are there.
 * The guest sees back-pressure, never loss.
 */
struct dev_limiter {
	struct ratelimit rl;
	struct virtio_dev *dev;
	unsigned int q;
	bool watched;			/* the timer is on dev->loop */
	uint64_t *throttled;		/* the device's metric */
};

/* Before the sandbox (it makes a timerfd); cfg NULL: no limit until an update. */
int dev_limiter_init(struct dev_limiter *l, struct virtio_dev *dev, unsigned int q,
		     const struct rl_config *cfg, uint64_t *throttled);
void dev_limiter_destroy(struct dev_limiter *l);
/* Take bytes and ops now (true), or refuse until the timer (counted once per refusal). */
bool dev_limit(struct dev_limiter *l, uint64_t bytes, uint64_t ops);
/* Refusing until the timer fires: take nothing from the queue. */
static inline bool dev_limited(const struct dev_limiter *l)
{
	return l->rl.blocked;
}

/*
 * The device state of a device whose only state beyond its rings is its
 * limiters (block, net, entropy): what the bucket of each queue's limiter
 * (ops->limiter) holds, as Firecracker saves it. Restore checks every
 * bucket against the limiters' configuration before it changes any; an
 * empty state (a snapshot without it) leaves them full. -EINVAL, logged
 * with what is wrong, when it does not fit. Usable as the save and restore
 * ops themselves.
 */
struct snap_buf;
int dev_limiters_save(struct virtio_dev *dev, struct snap_buf *out);
int dev_limiters_restore(struct virtio_dev *dev, const void *data, size_t len);

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
