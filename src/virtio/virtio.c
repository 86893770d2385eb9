// SPDX-License-Identifier: Apache-2.0
/* Helpers every virtio device shares, whatever carries it. */
#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <stdlib.h>

#include <petrel/log.h>
#include <petrel/virtio.h>

#include "dev_util.h"
#include "transport.h"

void virtio_dev_notify(struct virtio_dev *dev, struct virtq *vq)
{
	pthread_mutex_lock(&dev->lock);
	if (virtq_should_notify(vq, dev->mem))
		virtio_mmio_signal(dev, VIRTIO_MMIO_INT_VRING);
	pthread_mutex_unlock(&dev->lock);
}

void virtio_dev_config_changed(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	virtio_mmio_signal(dev, VIRTIO_MMIO_INT_CONFIG);
	pthread_mutex_unlock(&dev->lock);
}

void virtio_dev_fail(struct virtio_dev *dev, const char *fmt, ...)
{
	uint64_t n;
	char msg[192];
	va_list ap;

	pthread_mutex_lock(&dev->lock);
	n = ++dev->metrics.queue_errors;
	if (virtio_log_nth(n)) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		pr_warn("virtio %s: %s; the device needs a reset (guest error %" PRIu64 ")",
			dev->id, msg, n);
	}
	if (!dev->broken) {
		dev->broken = true;
		/* DEVICE_NEEDS_RESET is announced as a configuration change. */
		virtio_mmio_signal(dev, VIRTIO_MMIO_INT_CONFIG);
	}
	pthread_mutex_unlock(&dev->lock);
}

void virtio_dev_reset_done(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	virtio_mmio_reset_done(dev);
	pthread_mutex_unlock(&dev->lock);
}

bool virtio_dev_has_feature(const struct virtio_dev *dev, unsigned int bit)
{
	return bit < 64 && (dev->driver_features & (1ULL << bit));
}

int virtio_dev_update_limiter(struct virtio_dev *dev, unsigned int q, const struct rl_config *cfg)
{
	struct ratelimit *rl;
	bool retry = false;

	pthread_mutex_lock(&dev->lock);
	rl = dev->ops->limiter && q < dev->nr_queues ? dev->ops->limiter(dev, q) : NULL;
	if (rl)
		retry = ratelimit_update(rl, cfg);
	pthread_mutex_unlock(&dev->lock);
	if (retry)
		dev_requeue(dev, q);
	return rl ? 0 : -ENOENT;
}

void virtio_dev_destroy(struct virtio_dev *dev)
{
	if (!dev)
		return;
	virtio_mmio_detach(dev);
	dev->ops->destroy(dev);
}
