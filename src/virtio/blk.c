// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk: one request queue over a host file. The Sync engine serves
 * each request with preadv/pwritev on the vmm thread; the Async engine
 * submits to an io_uring and completes on the event loop through an
 * eventfd registered with the ring.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include <petrel/log.h>
#include <petrel/util.h>
#include <petrel/virtio.h>

#include "dev_util.h"

#define SECTOR_SHIFT	9
#define SECTOR_SIZE	(1u << SECTOR_SHIFT)
#define BLK_SEG_MAX	(VIRTQ_MAX_SIZE - 2)	/* room for the header and status */
#define BLK_HDR_LEN	sizeof(struct virtio_blk_outhdr)

static_assert(sizeof(struct virtio_blk_outhdr) == 16, "virtio-blk request header");

/* One request: its chain, and where its payload and status byte lie in it. */
struct blk_req {
	struct virtq_elem elem;
	struct iovec *data;		/* a window into elem.iov */
	unsigned int nr_data;
	uint32_t data_len;
	uint8_t *status;
	uint32_t type;
	uint64_t sector;
};

struct blk {
	struct virtio_dev dev;
	int fd;
	bool read_only;
	enum cache_type cache;
	enum io_engine engine;
	uint64_t capacity;		/* 512-byte sectors */
	struct blk_req req;		/* Sync: the request being served */
	/* Async: requests in flight live in slots until their completion. */
	struct io_uring ring;
	int efd;
	bool watching;			/* efd is on the event loop */
	bool starved;			/* requests wait for a free slot */
	struct blk_req *slots;
	uint16_t free[VIRTQ_MAX_SIZE];
	unsigned int nr_free;
	unsigned int inflight;
};

static struct blk *to_blk(struct virtio_dev *dev)
{
	return (struct blk *)dev;
}

static int open_image(const char *id, const char *path, bool read_only, uint64_t *sectors)
{
	struct stat st;
	off_t end;
	int fd, err;

	fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err("drive %s: cannot open %s: %s", id, path, strerror(errno));
		return err;
	}
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		pr_err("drive %s: %s is not a regular file or block device", id, path);
		err = -EINVAL;
		goto err_close;
	}
	end = lseek(fd, 0, SEEK_END);
	if (end < 0) {
		err = -errno;
		pr_err("drive %s: cannot size %s: %s", id, path, strerror(errno));
		goto err_close;
	}
	*sectors = (uint64_t)end >> SECTOR_SHIFT;
	return fd;

err_close:
	close(fd);
	return err;
}

static int bad(const char **why, const char *msg)
{
	*why = msg;
	return -EINVAL;
}

/* The status is the chain's last writable byte; take it off the payload. */
static uint8_t *take_status(struct iovec *in, unsigned int *nr_in)
{
	unsigned int last;

	while (*nr_in && !in[*nr_in - 1].iov_len)
		(*nr_in)--;
	if (!*nr_in)
		return NULL;
	last = *nr_in - 1;
	iov_trim(in, nr_in, 1);
	return (uint8_t *)in[last].iov_base + in[last].iov_len;
}

/* Which way each request type may carry a payload: anything else is malformed. */
static int check_direction(const struct blk_req *r, const char **why)
{
	const struct virtq_elem *e = &r->elem;
	bool out_data = e->out_len > BLK_HDR_LEN, in_data = e->in_len > 1;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_GET_ID:
		return out_data ? bad(why, "read payload in a device-readable buffer") : 0;
	case VIRTIO_BLK_T_OUT:
		return in_data ? bad(why, "write payload in a device-writable buffer") : 0;
	case VIRTIO_BLK_T_FLUSH:
		return out_data || in_data ? bad(why, "flush with a payload") : 0;
	default:
		return 0;	/* answered UNSUPP whatever it carries */
	}
}

/* Find header, payload and status in a popped chain: the one parser of guest requests. */
static int parse_req(struct blk_req *r, const char **why)
{
	struct virtq_elem *e = &r->elem;
	struct virtio_blk_outhdr hdr;
	unsigned int nr_out = e->nr_out, nr_in = e->nr_in;
	struct iovec *out = e->iov, *in = e->iov + e->nr_out;
	int ret;

	if (e->out_len < BLK_HDR_LEN)
		return bad(why, "request without a readable header");
	if (e->in_len < 1)
		return bad(why, "request without a writable status byte");
	iov_to_buf(out, nr_out, 0, &hdr, BLK_HDR_LEN);
	r->type = le32toh(hdr.type);
	r->sector = le64toh(hdr.sector);
	ret = check_direction(r, why);
	if (ret)
		return ret;
	r->status = take_status(in, &nr_in);
	if (r->type == VIRTIO_BLK_T_OUT) {
		iov_pull(&out, &nr_out, BLK_HDR_LEN);
		r->data = out;
		r->nr_data = nr_out;
		r->data_len = e->out_len - BLK_HDR_LEN;
	} else {
		r->data = in;
		r->nr_data = nr_in;
		r->data_len = e->in_len - 1;
	}
	return 0;
}

/* 1: a request in r; 0: the ring is empty; <0: the guest broke it and the device failed. */
static int next_req(struct blk *b, struct blk_req *r)
{
	const char *why = "";
	int ret = dev_pop(&b->dev, 0, &r->elem);

	if (ret <= 0)
		return ret;
	b->dev.metrics.requests++;
	ret = parse_req(r, &why);
	if (ret)
		virtio_dev_fail(&b->dev, "queue 0: %s", why);
	return ret ?: 1;
}

static bool in_range(const struct blk *b, const struct blk_req *r)
{
	uint64_t sectors = r->data_len >> SECTOR_SHIFT;

	if (r->data_len & (SECTOR_SIZE - 1))
		return false;
	return r->sector <= b->capacity && sectors <= b->capacity - r->sector;
}

static uint32_t get_id(const struct blk *b, const struct blk_req *r)
{
	char id[VIRTIO_BLK_ID_BYTES] = { 0 };

	/* NUL-padded; a 20-byte id has no terminator. */
	memcpy(id, b->dev.id, strnlen(b->dev.id, sizeof(id)));
	return iov_from_buf(r->data, r->nr_data, 0, id, sizeof(id));
}

/*
 * Requests answered without disk I/O: true with *status and *written set.
 * Out-of-range or misaligned I/O is the guest's error, answered IOERR.
 */
static bool answer_now(const struct blk *b, const struct blk_req *r, uint8_t *status,
		       uint32_t *written)
{
	*written = 0;
	*status = VIRTIO_BLK_S_IOERR;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		return !in_range(b, r);
	case VIRTIO_BLK_T_OUT:
		return b->read_only || !in_range(b, r);
	case VIRTIO_BLK_T_FLUSH:
		*status = VIRTIO_BLK_S_OK;
		return b->cache == CACHE_UNSAFE;
	case VIRTIO_BLK_T_GET_ID:
		*status = VIRTIO_BLK_S_OK;
		*written = get_id(b, r);
		return true;
	default:
		*status = VIRTIO_BLK_S_UNSUPP;
		return true;
	}
}

/* Hand the chain back: status, then the used entry with what was written into it. */
static void complete(struct blk *b, struct blk_req *r, uint8_t status, uint32_t written)
{
	struct virtio_dev *dev = &b->dev;

	if (status == VIRTIO_BLK_S_OK && r->type == VIRTIO_BLK_T_IN)
		dev->metrics.bytes_read += r->data_len;
	else if (status == VIRTIO_BLK_S_OK && r->type == VIRTIO_BLK_T_OUT)
		dev->metrics.bytes_written += r->data_len;
	else if (status == VIRTIO_BLK_S_IOERR)
		dev->metrics.io_errors++;
	*r->status = status;
	if (virtq_push(&dev->queues[0], dev->mem, r->elem.head, written + 1))
		virtio_dev_fail(dev, "queue 0: used ring not writable");
}

/* The whole payload, retrying short transfers (a signal, a page-cache boundary). */
static int sync_rw(struct blk *b, struct blk_req *r)
{
	off_t off = (off_t)(r->sector << SECTOR_SHIFT);
	struct iovec *iov = r->data;
	unsigned int n = r->nr_data;
	size_t left = r->data_len;

	while (left) {
		ssize_t ret = r->type == VIRTIO_BLK_T_IN ? preadv(b->fd, iov, (int)n, off) :
							   pwritev(b->fd, iov, (int)n, off);

		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0)
			return -EIO;
		off += ret;
		left -= (size_t)ret;
		iov_pull(&iov, &n, (size_t)ret);
	}
	return 0;
}

static uint8_t sync_io(struct blk *b, struct blk_req *r, uint32_t *written)
{
	if (r->type == VIRTIO_BLK_T_FLUSH)
		return fdatasync(b->fd) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	if (sync_rw(b, r))
		return VIRTIO_BLK_S_IOERR;
	*written = r->type == VIRTIO_BLK_T_IN ? r->data_len : 0;
	return VIRTIO_BLK_S_OK;
}

/* At most a queue's worth per kick: the rest after other fds had their turn. */
static bool process_sync(struct blk *b)
{
	unsigned int budget = b->dev.queues[0].size;
	struct blk_req *r = &b->req;
	bool pushed = false;
	uint32_t written;
	uint8_t status;

	while (!b->dev.broken && next_req(b, r) > 0) {
		if (!answer_now(b, r, &status, &written))
			status = sync_io(b, r, &written);
		complete(b, r, status, written);
		pushed = true;
		if (!--budget) {
			dev_requeue(&b->dev, 0);
			break;
		}
	}
	return pushed;
}

static void release(struct blk *b, const struct blk_req *r)
{
	b->free[b->nr_free++] = (uint16_t)(r - b->slots);
}

static int submit(struct blk *b, struct blk_req *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
	uint64_t off = r->sector << SECTOR_SHIFT;

	if (!sqe) {
		io_uring_submit(&b->ring);
		sqe = io_uring_get_sqe(&b->ring);
		if (!sqe)
			return -EBUSY;
	}
	/* The ring's only file: the image, registered at index 0. */
	if (r->type == VIRTIO_BLK_T_IN)
		io_uring_prep_readv(sqe, 0, r->data, r->nr_data, off);
	else if (r->type == VIRTIO_BLK_T_OUT)
		io_uring_prep_writev(sqe, 0, r->data, r->nr_data, off);
	else
		io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
	io_uring_sqe_set_data(sqe, r);
	b->inflight++;
	return 0;
}

/*
 * Submit what the guest queued while request slots remain (a guest may
 * reuse heads still in flight, so the ring alone does not bound them);
 * true when something was pushed.
 */
static bool process_async(struct blk *b)
{
	bool pushed = false;
	uint32_t written;
	uint8_t status;

	while (!b->dev.broken) {
		struct blk_req *r;

		if (!b->nr_free) {
			b->starved = true;	/* a completion will requeue */
			break;
		}
		r = &b->slots[b->free[b->nr_free - 1]];
		if (next_req(b, r) <= 0)
			break;
		b->nr_free--;
		if (!answer_now(b, r, &status, &written)) {
			if (!submit(b, r))
				continue;
			status = VIRTIO_BLK_S_IOERR;
			written = 0;
		}
		complete(b, r, status, written);
		release(b, r);
		pushed = true;
	}
	io_uring_submit(&b->ring);
	return pushed;
}

static void finish(struct blk *b, struct blk_req *r, int res)
{
	bool ok = r->type == VIRTIO_BLK_T_FLUSH ? res == 0 : res == (int)r->data_len;
	uint32_t written = ok && r->type == VIRTIO_BLK_T_IN ? r->data_len : 0;

	b->inflight--;
	if (!b->dev.broken)
		complete(b, r, ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR, written);
	release(b, r);
}

/* io_uring completions (the registered eventfd fired), on the event loop. */
static void on_completion(void *opaque, uint32_t events)
{
	struct blk *b = opaque;
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;
	uint64_t count;

	if (read(b->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		pr_warn("drive %s: completion eventfd: %s", b->dev.id, strerror(errno));
	pthread_mutex_lock(&b->dev.lock);
	io_uring_for_each_cqe(&b->ring, head, cqe) {
		finish(b, io_uring_cqe_get_data(cqe), cqe->res);
		n++;
	}
	io_uring_cq_advance(&b->ring, n);
	if (n && !b->dev.broken)
		virtio_dev_notify(&b->dev, &b->dev.queues[0]);
	if (n && b->starved) {
		b->starved = false;	/* slots are free again: serve what waited */
		dev_requeue(&b->dev, 0);
	}
	pthread_mutex_unlock(&b->dev.lock);
}

/* Wait out what the kernel still holds: its buffers are guest memory. */
static void drain(struct blk *b)
{
	struct io_uring_cqe *cqe;

	while (b->inflight) {
		if (io_uring_wait_cqe(&b->ring, &cqe) < 0)
			break;
		b->inflight--;
		release(b, io_uring_cqe_get_data(cqe));
		io_uring_cqe_seen(&b->ring, cqe);
	}
}

static uint64_t blk_features(struct virtio_dev *dev)
{
	struct blk *b = to_blk(dev);
	uint64_t f = 1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_BLK_SIZE;

	if (b->read_only)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	if (b->cache == CACHE_WRITEBACK)
		f |= 1ULL << VIRTIO_BLK_F_FLUSH;
	return f;
}

static void blk_config_read(struct virtio_dev *dev, uint32_t offset, uint8_t *data, uint32_t len)
{
	struct virtio_blk_config cfg = {
		.capacity = htole64(to_blk(dev)->capacity),
		.seg_max = htole32(BLK_SEG_MAX),
		.blk_size = htole32(SECTOR_SIZE),
	};

	dev_config_read(&cfg, sizeof(cfg), offset, data, len);
}

static void blk_config_write(struct virtio_dev *dev, uint32_t offset, const uint8_t *data,
			     uint32_t len)
{
	/* Nothing writable is offered (no CONFIG_WCE): ignored as the spec allows. */
}

/*
 * Completions are watched from the first kick on, from the vmm thread that
 * owns the loop (activate and reset run on vCPU threads), until destroy.
 */
static int watch_completions(struct blk *b)
{
	int ret;

	if (b->watching)
		return 0;
	ret = event_loop_add(b->dev.loop, b->efd, EPOLLIN, on_completion, b);
	if (ret) {
		virtio_dev_fail(&b->dev, "cannot watch io_uring completions: %s", strerror(-ret));
		return ret;
	}
	b->watching = true;
	return 0;
}

static void blk_queue_notify(struct virtio_dev *dev, unsigned int q)
{
	struct blk *b = to_blk(dev);
	bool pushed;

	if (q != 0 || dev->broken)
		return;
	if (b->engine == IO_ENGINE_ASYNC)
		pushed = !watch_completions(b) && process_async(b);
	else
		pushed = process_sync(b);
	if (pushed && !dev->broken)
		virtio_dev_notify(dev, &dev->queues[0]);
}

static void blk_reset(struct virtio_dev *dev)
{
	struct blk *b = to_blk(dev);

	if (b->engine == IO_ENGINE_ASYNC)
		drain(b);
	b->starved = false;
}

static void blk_destroy(struct virtio_dev *dev)
{
	struct blk *b = to_blk(dev);

	if (b->engine == IO_ENGINE_ASYNC) {
		drain(b);
		if (b->watching)
			event_loop_del(dev->loop, b->efd);
		io_uring_queue_exit(&b->ring);
		close(b->efd);
		free(b->slots);
	}
	close(b->fd);
	free(b);
}

static const struct virtio_dev_ops blk_ops = {
	.device_id = VIRTIO_ID_BLOCK,
	.features = blk_features,
	.config_size = sizeof(struct virtio_blk_config),
	.config_read = blk_config_read,
	.config_write = blk_config_write,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
	.destroy = blk_destroy,
};

/*
 * What the ring may do once enabled: read, write and fsync the one
 * registered file (the image) and nothing else; its only registration
 * left is replacing that file (PATCH /drives). seccomp cannot see inside
 * a ring, so the ring restricts itself.
 */
static int restrict_uring(struct blk *b)
{
	struct io_uring_restriction res[] = {
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_READV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITEV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_FSYNC },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED, .sqe_flags = IOSQE_FIXED_FILE },
		{ .opcode = IORING_RESTRICTION_REGISTER_OP,
		  .register_op = IORING_REGISTER_FILES_UPDATE },
	};
	int ret = io_uring_register_restrictions(&b->ring, res, ARRAY_SIZE(res));

	if (ret < 0)
		return ret;
	return io_uring_enable_rings(&b->ring);
}

static int setup_uring(struct blk *b)
{
	int ret = io_uring_queue_init(VIRTQ_MAX_SIZE, &b->ring, IORING_SETUP_R_DISABLED);

	if (ret < 0)
		goto err;
	b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->efd < 0) {
		ret = -errno;
		goto err_ring;
	}
	ret = io_uring_register_eventfd(&b->ring, b->efd);
	if (ret < 0)
		goto err_efd;
	ret = io_uring_register_files(&b->ring, &b->fd, 1);
	if (ret < 0)
		goto err_efd;
	ret = restrict_uring(b);
	if (ret < 0)
		goto err_efd;
	b->slots = calloc(VIRTQ_MAX_SIZE, sizeof(*b->slots));
	if (!b->slots) {
		ret = -ENOMEM;
		goto err_efd;
	}
	for (unsigned int i = 0; i < VIRTQ_MAX_SIZE; i++)
		b->free[i] = (uint16_t)i;
	b->nr_free = VIRTQ_MAX_SIZE;
	return 0;

err_efd:
	close(b->efd);
err_ring:
	io_uring_queue_exit(&b->ring);
err:
	pr_err("drive %s: io_engine Async: cannot set up io_uring: %s", b->dev.id,
	       strerror(-ret));
	return ret;
}

struct virtio_dev *virtio_blk_create(const struct drive_config *cfg)
{
	struct blk *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->dev.ops = &blk_ops;
	b->dev.nr_queues = 1;
	snprintf(b->dev.id, sizeof(b->dev.id), "%s", cfg->drive_id);
	b->read_only = cfg->is_read_only;
	b->cache = cfg->cache_type;
	b->engine = cfg->io_engine;
	b->efd = -1;
	b->fd = open_image(cfg->drive_id, cfg->path_on_host, cfg->is_read_only, &b->capacity);
	if (b->fd < 0)
		goto err_free;
	if (b->engine == IO_ENGINE_ASYNC && setup_uring(b))
		goto err_close;
	return &b->dev;

err_close:
	close(b->fd);
err_free:
	free(b);
	return NULL;
}

int virtio_blk_update_path(struct virtio_dev *dev, const char *path)
{
	struct blk *b = to_blk(dev);
	uint64_t sectors;
	int fd, old;

	if (dev->ops != &blk_ops)
		return -EINVAL;
	fd = open_image(dev->id, path, b->read_only, &sectors);
	if (fd < 0)
		return fd;
	pthread_mutex_lock(&dev->lock);
	if (b->engine == IO_ENGINE_ASYNC) {
		int ret = io_uring_register_files_update(&b->ring, 0, &fd, 1);

		if (ret < 0) {
			pthread_mutex_unlock(&dev->lock);
			close(fd);
			pr_err("drive %s: cannot hand the new image to io_uring: %s", dev->id,
			       strerror(-ret));
			return ret;
		}
	}
	old = b->fd;
	b->fd = fd;
	b->capacity = sectors;
	pthread_mutex_unlock(&dev->lock);
	/* io_uring holds its own reference to the old file for requests in flight. */
	close(old);
	virtio_dev_config_changed(dev);
	return 0;
}
