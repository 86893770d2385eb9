// SPDX-License-Identifier: Apache-2.0
/* virtio-rng (virtio 1.2, section 5.4): one queue of writable buffers, filled from getrandom(). */
#include <errno.h>
#include <linux/virtio_rng.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

#include <petrel/log.h>
#include <petrel/util.h>
#include <petrel/virtio.h>

#include "dev_util.h"

/* Bytes served per request: a huge buffer must not stall the vmm thread. */
#define RNG_MAX_REQUEST		KiB(64)

struct rng {
	struct virtio_dev dev;		/* first: the transport sees only this */
	struct virtq_elem elem;
	struct dev_limiter limiter;	/* rate_limiter: bytes served and requests */
};

static uint64_t rng_features(struct virtio_dev *dev)
{
	return 0;
}

static int fill(uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

/* Fill the writable part of e, up to RNG_MAX_REQUEST bytes; how many were written. */
static uint32_t fill_elem(struct virtio_dev *dev, const struct virtq_elem *e)
{
	uint32_t done = 0;

	for (unsigned int i = e->nr_out; i < e->nr_out + e->nr_in && done < RNG_MAX_REQUEST; i++) {
		size_t len = MIN(e->iov[i].iov_len, RNG_MAX_REQUEST - done);

		if (fill(e->iov[i].iov_base, len)) {
			dev->metrics.io_errors++;
			break;
		}
		done += len;
	}
	return done;
}

/* Fill one request; a chain the device can't serve fails the device. */
static int serve(struct virtio_dev *dev, struct virtq *vq, const struct virtq_elem *e)
{
	uint32_t len;

	if (!e->nr_in) {
		virtio_dev_fail(dev, "queue 0: request without a writable buffer");
		return -EINVAL;
	}
	len = fill_elem(dev, e);
	dev->metrics.requests++;
	dev->metrics.bytes_written += len;
	if (virtq_push(vq, dev->mem, e->head, len)) {
		virtio_dev_fail(dev, "queue 0: used ring not writable");
		return -EINVAL;
	}
	return 0;
}

/* Take the next request if the limiter lets it through: else it stays in the ring. */
static bool next(struct rng *r)
{
	if (dev_limited(&r->limiter) || dev_pop(&r->dev, 0, &r->elem) <= 0)
		return false;
	if (dev_limit(&r->limiter, MIN(r->elem.in_len, RNG_MAX_REQUEST), 1))
		return true;
	dev_unpop(&r->dev, 0, 1);	/* the limiter's timer brings us back */
	return false;
}

static void rng_queue_notify(struct virtio_dev *dev, unsigned int q)
{
	struct rng *r = (struct rng *)dev;
	struct virtq_elem *e = &r->elem;
	struct virtq *vq = &dev->queues[0];
	unsigned int served = 0;

	while (next(r) && !serve(dev, vq, e)) {
		/* Out of budget: let the vmm loop serve other fds, then come back. */
		if (++served == vq->size) {
			dev_requeue(dev, 0);
			break;
		}
	}
	virtio_dev_notify(dev, vq);
}

static void rng_destroy(struct virtio_dev *dev)
{
	dev_limiter_destroy(&((struct rng *)dev)->limiter);
	free(dev);
}

static struct ratelimit *rng_limiter(struct virtio_dev *dev, unsigned int q)
{
	return &((struct rng *)dev)->limiter.rl;
}

static const struct virtio_dev_ops rng_ops = {
	.device_id = VIRTIO_ID_RNG,
	.features = rng_features,
	.queue_notify = rng_queue_notify,
	.destroy = rng_destroy,
	.save = dev_limiters_save,	/* beyond its ring, only its limiter's buckets */
	.restore = dev_limiters_restore,
	.limiter = rng_limiter,
};

struct virtio_dev *virtio_rng_create(const struct rl_config *rl)
{
	struct rng *r = calloc(1, sizeof(*r));

	if (!r) {
		pr_err("entropy: cannot allocate the virtio-rng device");
		return NULL;
	}
	r->dev.ops = &rng_ops;
	r->dev.nr_queues = 1;
	snprintf(r->dev.id, sizeof(r->dev.id), "rng");
	if (dev_limiter_init(&r->limiter, &r->dev, 0, rl, &r->dev.metrics.rl_throttled)) {
		free(r);
		return NULL;
	}
	return &r->dev;
}
