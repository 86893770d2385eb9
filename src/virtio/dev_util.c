// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <petrel/log.h>
#include <petrel/snapshot.h>
#include <petrel/util.h>

#include "dev_util.h"

int dev_pop(struct virtio_dev *dev, unsigned int q, struct virtq_elem *elem)
{
	struct virtq *vq = &dev->queues[q];
	const char *why = "";
	int ret;

	ret = virtq_pop(vq, dev->mem, elem, &why);
	if (ret == 0) {
		virtq_set_avail_event(vq, dev->mem);
		ret = virtq_pop(vq, dev->mem, elem, &why);
	}
	if (ret < 0)
		virtio_dev_fail(dev, "queue %u: %s", q, why);
	return ret;
}

void dev_unpop(struct virtio_dev *dev, unsigned int q, unsigned int count)
{
	dev->queues[q].last_avail -= (uint16_t)count;
}

void dev_requeue(struct virtio_dev *dev, unsigned int q)
{
	uint64_t one = 1;
	int fd = dev->queues[q].kick_fd;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
		/* The counter is already non-zero: a kick is pending. */
	}
}

int dev_limiter_init(struct dev_limiter *l, struct virtio_dev *dev, unsigned int q,
		     const struct rl_config *cfg, uint64_t *throttled)
{
	int ret = ratelimit_init(&l->rl, cfg);

	l->dev = dev;
	l->q = q;
	l->watched = false;
	l->throttled = throttled;
	if (ret)
		pr_err("virtio %s: cannot make the rate limiter's timer: %s", dev->id,
		       strerror(-ret));
	return ret;
}

void dev_limiter_destroy(struct dev_limiter *l)
{
	if (l->watched)
		event_loop_del(l->dev->loop, l->rl.timer_fd);
	l->watched = false;
	ratelimit_destroy(&l->rl);
}

/* The tokens are there: serve the queue again, from the vmm loop. */
static void on_limiter_timer(void *opaque, uint32_t events)
{
	struct dev_limiter *l = opaque;

	pthread_mutex_lock(&l->dev->lock);
	ratelimit_timer_done(&l->rl);
	pthread_mutex_unlock(&l->dev->lock);
	dev_requeue(l->dev, l->q);
}

bool dev_limit(struct dev_limiter *l, uint64_t bytes, uint64_t ops)
{
	bool was_blocked = l->rl.blocked;
	int ret;

	if (ratelimit_consume(&l->rl, bytes, ops))
		return true;
	if (!was_blocked)
		(*l->throttled)++;
	if (l->watched)
		return false;
	ret = l->dev->loop ? event_loop_add(l->dev->loop, l->rl.timer_fd, EPOLLIN,
					    on_limiter_timer, l) : -ENOTSUP;
	if (ret) {
		/* Nothing would ever resume the queue: let it run unlimited rather than stall. */
		pr_warn("virtio %s: cannot watch the rate limiter's timer: %s", l->dev->id,
			strerror(-ret));
		l->rl.blocked = false;
		return true;
	}
	l->watched = true;
	return false;
}

void dev_config_read(const void *cfg, size_t size, uint32_t offset, uint8_t *data, uint32_t len)
{
	memset(data, 0, len);
	if (offset < size)
		memcpy(data, (const uint8_t *)cfg + offset, MIN(len, size - offset));
}

static size_t iov_copy(const struct iovec *iov, unsigned int n, size_t offset, void *buf,
		       size_t len, int to_iov)
{
	uint8_t *p = buf;
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t chunk;

		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		chunk = MIN(iov[i].iov_len - offset, len - done);
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + offset, p + done, chunk);
		else
			memcpy(p + done, (uint8_t *)iov[i].iov_base + offset, chunk);
		done += chunk;
		offset = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t offset, void *buf,
		  size_t len)
{
	return iov_copy(iov, n, offset, buf, len, 0);
}

size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t offset, const void *buf,
		    size_t len)
{
	return iov_copy(iov, n, offset, (void *)buf, len, 1);
}

size_t iov_pull(struct iovec **iov, unsigned int *n, size_t bytes)
{
	size_t done = 0;

	while (*n && done < bytes) {
		size_t chunk = MIN((*iov)->iov_len, bytes - done);

		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + chunk;
		(*iov)->iov_len -= chunk;
		done += chunk;
		if ((*iov)->iov_len)
			break;
		(*iov)++;
		(*n)--;
	}
	return done;
}

size_t iov_trim(struct iovec *iov, unsigned int *n, size_t bytes)
{
	size_t done = 0;

	while (*n && done < bytes) {
		struct iovec *last = &iov[*n - 1];
		size_t chunk = MIN(last->iov_len, bytes - done);

		last->iov_len -= chunk;
		done += chunk;
		if (last->iov_len)
			break;
		(*n)--;
	}
	return done;
}

#define LIMITERS_STATE_VERSION	1
#define LIMITERS_MAX		2

/* The limiters of dev's queues, in queue order: how many. */
static unsigned int dev_limiters(struct virtio_dev *dev, struct ratelimit *ls[LIMITERS_MAX])
{
	unsigned int n = 0;

	for (unsigned int q = 0; dev->ops->limiter && q < dev->nr_queues && n < LIMITERS_MAX; q++)
		if ((ls[n] = dev->ops->limiter(dev, q)))
			n++;
	return n;
}

int dev_limiters_save(struct virtio_dev *dev, struct snap_buf *out)
{
	struct ratelimit *ls[LIMITERS_MAX];
	unsigned int n = dev_limiters(dev, ls);

	snap_put_u32(out, LIMITERS_STATE_VERSION);
	snap_put_u32(out, n);
	for (unsigned int i = 0; i < n; i++) {
		struct rl_bucket_state s[2];

		ratelimit_export(ls[i], s);
		for (unsigned int k = 0; k < 2; k++) {
			snap_put_u64(out, s[k].size);
			snap_put_u64(out, s[k].refill_ns);
			snap_put_u64(out, s[k].burst);
			snap_put_u64(out, (uint64_t)s[k].tokens);
			snap_put_u64(out, s[k].frac);
			snap_put_u64(out, s[k].elapsed_ns);
		}
	}
	return snap_buf_error(out);
}

int dev_limiters_restore(struct virtio_dev *dev, const void *data, size_t len)
{
	struct rl_bucket_state s[LIMITERS_MAX][2];
	struct ratelimit *ls[LIMITERS_MAX];
	unsigned int n = dev_limiters(dev, ls);
	const char *why = NULL;
	struct snap_cursor c;

	if (!len)
		return 0;	/* saved without it: the buckets start full */
	snap_cursor_init(&c, data, len);
	if (snap_get_u32(&c) != LIMITERS_STATE_VERSION)
		why = "an unknown version of the rate limiters' state";
	else if (snap_get_u32(&c) != n)
		why = "another number of rate limiters";
	for (unsigned int i = 0; !why && i < n; i++) {
		for (unsigned int k = 0; k < 2; k++) {
			s[i][k].size = snap_get_u64(&c);
			s[i][k].refill_ns = snap_get_u64(&c);
			s[i][k].burst = snap_get_u64(&c);
			s[i][k].tokens = (int64_t)snap_get_u64(&c);
			s[i][k].frac = snap_get_u64(&c);
			s[i][k].elapsed_ns = snap_get_u64(&c);
		}
	}
	if (!why && snap_cursor_end(&c))
		why = "the rate limiters' state is cut short or too long";
	for (unsigned int i = 0; !why && i < n; i++)
		why = rl_bucket_check(&ls[i]->bw, &s[i][0]) ?: rl_bucket_check(&ls[i]->ops, &s[i][1]);
	if (why) {
		pr_err("virtio %s: %s", dev->id, why);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < n; i++)
		ratelimit_import(ls[i], s[i]);
	return 0;
}
