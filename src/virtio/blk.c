// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk: one request queue over a host file. The Sync engine serves
 * each request with preadv/pwritev on the vmm thread; the Async engine
 * submits to an io_uring and completes on the event loop through an
 * eventfd registered with the ring.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
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
#include "transport.h"

#define SECTOR_SHIFT	9
#define SECTOR_SIZE	(1u << SECTOR_SHIFT)
#define BLK_SEG_MAX	(VIRTQ_MAX_SIZE - 2)	/* room for the header and status */
#define BLK_HDR_LEN	sizeof(struct virtio_blk_outhdr)

static_assert(sizeof(struct virtio_blk_outhdr) == 16, "virtio-blk request header");

/*
 * A guest may queue requests of up to 4 GiB each: they are served in steps
 * of at most BLK_STEP bytes, so that neither the vmm loop (Sync) nor the
 * kernel (Async) ever holds more than a few MiB of one guest's I/O, and a
 * reset or a shutdown waits for at most that much.
 */
#define BLK_STEP		MiB(1)	/* the most one step of a request moves */
#define BLK_WAKEUP_BYTES	MiB(4)	/* Sync: I/O per wakeup of the vmm thread */
#define BLK_INFLIGHT_BYTES	MiB(4)	/* Async: I/O in the kernel at once (plus one step) */
#define BLK_DRAIN_MS		5000	/* the longest wait for the kernel's steps */
#define BLK_POLL_MS		100

/* One request: its chain, where its payload and status byte lie, how far it got. */
struct blk_req {
	struct virtq_elem elem;
	struct iovec *data;		/* the payload not moved yet: a window into elem.iov */
	unsigned int nr_data;
	uint32_t data_len;
	uint32_t done;			/* payload bytes moved */
	uint32_t step;			/* bytes of the step under way: data[0..step_nr) */
	unsigned int step_nr;
	size_t cut;			/* what the step took off data[step_nr - 1] */
	uint8_t *status;
	uint32_t type;
	uint64_t sector;
};

struct blk {
	struct virtio_dev dev;
	int fd;
	char *path;
	bool read_only;
	enum cache_type cache;
	enum io_engine engine;
	uint64_t capacity;		/* 512-byte sectors */
	struct dev_limiter limiter;	/* rate_limiter: payload bytes and requests */
	bool quiescing;			/* a reset waits for the I/O under way */
	/* Sync: the request being served, across wakeups when it is large. */
	struct blk_req req;
	bool cur;			/* req holds a request */
	bool busy;			/* the vmm thread is in req's I/O, the lock dropped */
	/* Async: requests live in slots until answered; steps go to an io_uring. */
	struct io_uring ring;
	int efd;
	bool watching;			/* efd is on the event loop */
	bool starved;			/* requests wait for a free slot */
	struct blk_req *slots;
	uint16_t free[VIRTQ_MAX_SIZE];
	unsigned int nr_free;
	uint16_t ready[VIRTQ_MAX_SIZE];	/* slots waiting to submit their next step, FIFO */
	unsigned int ready_head, nr_ready;
	unsigned int inflight;		/* steps the kernel holds */
	uint64_t inflight_bytes;
};

static struct blk *to_blk(struct virtio_dev *dev)
{
	return (struct blk *)dev;
}

/*
 * Open without blocking (a FIFO's open waits for a writer; the vmm thread
 * must not), keep only regular files and block devices, then clear
 * O_NONBLOCK, the only status flag set here: io_uring would otherwise
 * answer EAGAIN where it should wait for the disk.
 */
static int open_image(const char *id, const char *path, bool read_only, uint64_t *sectors,
		      char *err, size_t errlen)
{
	char msg[PATH_MAX + 96];
	off_t end;
	int fd;

	fd = util_open_file(path, read_only ? O_RDONLY : O_RDWR, UTIL_FILE_REG | UTIL_FILE_BLK,
			    msg, sizeof(msg));
	if (fd < 0) {
		snprintf(err, errlen, "drives[%s].path_on_host: %s", id, msg);
		return fd;
	}
	end = lseek(fd, 0, SEEK_END);
	if (end < 0) {
		int ret = -errno;

		snprintf(err, errlen, "drives[%s].path_on_host: cannot size %s: %s", id, path,
			 strerror(-ret));
		close(fd);
		return ret;
	}
	*sectors = (uint64_t)end >> SECTOR_SHIFT;
	return fd;
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
	r->done = r->step = r->step_nr = 0;
	r->cut = 0;
	return 0;
}

/* What a request costs the bandwidth bucket: its payload, for reads and writes. */
static uint64_t io_bytes(const struct blk_req *r)
{
	return r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT ? r->data_len : 0;
}

/*
 * 1: a request in r; 0: the ring is empty, or the rate limiter holds the
 * next request back (its timer kicks the queue); <0: the guest broke it
 * and the device failed.
 */
static int next_req(struct blk *b, struct blk_req *r)
{
	const char *why = "";
	int ret;

	if (dev_limited(&b->limiter))
		return 0;
	ret = dev_pop(&b->dev, 0, &r->elem);
	if (ret <= 0)
		return ret;
	ret = parse_req(r, &why);
	if (ret) {
		b->dev.metrics.requests++;
		virtio_dev_fail(&b->dev, "queue 0: %s", why);
		return ret;
	}
	if (!dev_limit(&b->limiter, io_bytes(r), 1)) {
		dev_unpop(&b->dev, 0, 1);
		return 0;
	}
	b->dev.metrics.requests++;
	return 1;
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
		if (!in_range(b, r))
			return true;
		*status = VIRTIO_BLK_S_OK;
		return !r->data_len;
	case VIRTIO_BLK_T_OUT:
		if (b->read_only || !in_range(b, r))
			return true;
		*status = VIRTIO_BLK_S_OK;
		return !r->data_len;
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

/* The end of a request whose payload went to or came from the image. */
static void complete_io(struct blk *b, struct blk_req *r, bool ok)
{
	uint32_t written = ok && r->type == VIRTIO_BLK_T_IN ? r->data_len : 0;

	complete(b, r, ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR, written);
}

/*
 * A request the host's file failed (err: a negative errno): the guest gets
 * IOERR, the operator a line saying why (the first few, then ever fewer).
 */
static void complete_failed(struct blk *b, struct blk_req *r, int err)
{
	complete_io(b, r, false);
	if (virtio_log_nth(b->dev.metrics.io_errors))
		pr_warn("drive %s: %s of %u bytes at sector %" PRIu64 " failed: %s (%" PRIu64
			" I/O errors)", b->dev.id,
			r->type == VIRTIO_BLK_T_IN ? "read" : r->type == VIRTIO_BLK_T_OUT ? "write" :
			"flush", r->data_len, r->sector, strerror(-err), b->dev.metrics.io_errors);
}

/* Cut r's next step: at most max bytes of what is left, in data[0..step_nr). */
static void step_begin(struct blk_req *r, uint64_t max)
{
	unsigned int i = 0;
	size_t len = 0;

	while (i < r->nr_data && len < max)
		len += r->data[i++].iov_len;
	r->cut = len > max ? len - max : 0;
	if (i)
		r->data[i - 1].iov_len -= r->cut;
	r->step_nr = i;
	r->step = (uint32_t)(len - r->cut);
}

/* Undo the cut, and take what moved off the front of the payload. */
static void step_end(struct blk_req *r, uint32_t moved)
{
	if (r->step_nr)
		r->data[r->step_nr - 1].iov_len += r->cut;
	iov_pull(&r->data, &r->nr_data, moved);
	r->done += moved;
	r->step = r->step_nr = 0;
	r->cut = 0;
}

static off_t step_offset(const struct blk_req *r)
{
	return (off_t)((r->sector << SECTOR_SHIFT) + r->done);
}

/* ---- Sync: the vmm thread does the I/O, with the device lock dropped ---- */

/* One step on fd: the bytes moved (a short transfer is fine: the next step goes on). */
static ssize_t sync_io(int fd, struct blk_req *r)
{
	ssize_t ret;

	if (r->type == VIRTIO_BLK_T_FLUSH)
		return fdatasync(fd) ? -errno : 0;
	do {
		if (r->type == VIRTIO_BLK_T_IN)
			ret = preadv(fd, r->data, (int)r->step_nr, step_offset(r));
		else
			ret = pwritev(fd, r->data, (int)r->step_nr, step_offset(r));
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	return ret ? ret : -EIO;	/* 0: the file shrank under the request */
}

static void release(struct blk *b, const struct blk_req *r)
{
	b->free[b->nr_free++] = (uint16_t)(r - b->slots);
}

static struct blk_req *ready_pop(struct blk *b)
{
	struct blk_req *r = &b->slots[b->ready[b->ready_head]];

	b->ready_head = (b->ready_head + 1) % VIRTQ_MAX_SIZE;
	b->nr_ready--;
	return r;
}

static void ready_push(struct blk *b, const struct blk_req *r)
{
	b->ready[(b->ready_head + b->nr_ready++) % VIRTQ_MAX_SIZE] = (uint16_t)(r - b->slots);
}

/* Requests taken from the ring but neither answered nor in the kernel: forget them. */
static void drop_queued(struct blk *b)
{
	if (b->cur) {
		b->cur = false;
		b->dev.metrics.abandoned++;
	}
	while (b->nr_ready) {
		release(b, ready_pop(b));
		b->dev.metrics.abandoned++;
	}
}

/* The I/O a reset waited for is over: the reset completes. */
static void quiesce_done(struct blk *b)
{
	drop_queued(b);
	b->quiescing = false;
	virtio_dev_reset_done(&b->dev);
}

/*
 * One step of the current request, the lock dropped around the I/O (vCPU
 * threads take it on register accesses); the bytes count against the
 * wakeup's budget (a flush as a whole step). False when a reset came
 * meanwhile and is now done: the queue is gone.
 */
static bool sync_step(struct blk *b, uint64_t *bytes, bool *pushed)
{
	struct blk_req *r = &b->req;
	ssize_t moved;

	step_begin(r, BLK_STEP);
	b->busy = true;
	pthread_mutex_unlock(&b->dev.lock);
	moved = sync_io(b->fd, r);
	pthread_mutex_lock(&b->dev.lock);
	b->busy = false;
	step_end(r, moved > 0 ? (uint32_t)moved : 0);
	*bytes += moved > 0 ? (uint64_t)moved : BLK_STEP;
	if (b->quiescing) {
		quiesce_done(b);
		return false;
	}
	if (moved < 0 || r->done == r->data_len) {
		b->cur = false;
		if (moved < 0)
			complete_failed(b, r, (int)moved);
		else
			complete_io(b, r, true);
		*pushed = true;
	}
	return true;
}

/*
 * At most a queue's worth of requests and BLK_WAKEUP_BYTES of I/O per
 * wakeup; the rest after other fds had their turn. True when something
 * was pushed (and the queue is still there to signal).
 */
static bool process_sync(struct blk *b)
{
	unsigned int requests = b->dev.queues[0].size;
	struct blk_req *r = &b->req;
	bool pushed = false;
	uint64_t bytes = 0;
	uint32_t written;
	uint8_t status;

	while (!b->dev.broken) {
		if (!b->cur && !requests) {
			dev_requeue(&b->dev, 0);
			break;
		}
		if (!b->cur) {
			requests--;
			if (next_req(b, r) <= 0)
				break;
			if (answer_now(b, r, &status, &written)) {
				complete(b, r, status, written);
				pushed = true;
				continue;
			}
			b->cur = true;
		}
		if (bytes >= BLK_WAKEUP_BYTES) {
			dev_requeue(&b->dev, 0);
			break;
		}
		if (!sync_step(b, &bytes, &pushed))
			return false;
	}
	return pushed;
}

/* ---- Async: steps go to an io_uring, completions come back on the event loop ---- */

/* Take what the guest queued into free slots: answered at once, or queued for I/O. */
static bool take_async(struct blk *b)
{
	bool pushed = false;
	uint32_t written;
	uint8_t status;

	while (!b->dev.broken && !b->quiescing) {
		struct blk_req *r;

		if (!b->nr_free) {
			b->starved = true;	/* a completion will requeue */
			break;
		}
		r = &b->slots[b->free[b->nr_free - 1]];
		if (next_req(b, r) <= 0)
			break;
		b->nr_free--;
		if (answer_now(b, r, &status, &written)) {
			complete(b, r, status, written);
			release(b, r);
			pushed = true;
			continue;
		}
		ready_push(b, r);
	}
	return pushed;
}

static void prep_step(struct blk *b, struct io_uring_sqe *sqe, struct blk_req *r)
{
	/* The ring's only file: the image, registered at index 0. */
	if (r->type == VIRTIO_BLK_T_IN)
		io_uring_prep_readv(sqe, 0, r->data, r->step_nr, step_offset(r));
	else if (r->type == VIRTIO_BLK_T_OUT)
		io_uring_prep_writev(sqe, 0, r->data, r->step_nr, step_offset(r));
	else
		io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
	io_uring_sqe_set_data(sqe, r);
	b->inflight++;
	b->inflight_bytes += r->step;
}

/*
 * Give the kernel the next steps of waiting requests while it holds less
 * than BLK_INFLIGHT_BYTES; submitted with the lock dropped, as the kernel
 * may copy the data right there.
 */
static void submit_ready(struct blk *b)
{
	unsigned int n = 0;
	int ret;

	while (b->nr_ready && !b->dev.broken && !b->quiescing &&
	       (!b->inflight || b->inflight_bytes < BLK_INFLIGHT_BYTES)) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
		struct blk_req *r;

		if (!sqe)
			break;		/* the ring holds a slot's worth: not reached */
		r = ready_pop(b);
		step_begin(r, BLK_STEP);
		prep_step(b, sqe, r);
		n++;
	}
	if (!n)
		return;
	pthread_mutex_unlock(&b->dev.lock);
	do {
		ret = io_uring_submit(&b->ring);
	} while (ret == -EINTR);
	pthread_mutex_lock(&b->dev.lock);
	/* What was not taken stays in the ring and goes with the next submit. */
	if (ret < 0)
		pr_warn("drive %s: io_uring submit: %s", b->dev.id, strerror(-ret));
}

/* A step the kernel finished: the request goes on, ends, or is dropped by a reset. */
static void step_done(struct blk *b, struct blk_req *r, int res, bool *pushed)
{
	bool failed = res < 0 || (r->step && !res);

	b->inflight--;
	b->inflight_bytes -= r->step;
	step_end(r, failed ? 0 : (uint32_t)res);
	if (b->quiescing || b->dev.broken) {
		b->dev.metrics.abandoned++;
		release(b, r);
	} else if (!failed && r->done < r->data_len) {
		ready_push(b, r);
	} else {
		if (failed)
			complete_failed(b, r, res < 0 ? res : -EIO);
		else
			complete_io(b, r, true);
		release(b, r);
		*pushed = true;
	}
}

/* Every completion the kernel posted; true if something was pushed. */
static bool reap(struct blk *b)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;
	bool pushed = false;

	io_uring_for_each_cqe(&b->ring, head, cqe) {
		step_done(b, io_uring_cqe_get_data(cqe), cqe->res, &pushed);
		n++;
	}
	io_uring_cq_advance(&b->ring, n);
	if (n && b->starved && b->nr_free) {
		b->starved = false;	/* slots are free again: serve what waited */
		dev_requeue(&b->dev, 0);
	}
	return pushed;
}

/*
 * After completions: signal them and keep the I/O going, or finish a reset
 * that waited for them (submit_ready drops the lock: a reset may come then).
 */
static void async_continue(struct blk *b, bool pushed)
{
	if (!b->quiescing) {
		if (pushed && !b->dev.broken)
			virtio_dev_notify(&b->dev, &b->dev.queues[0]);
		submit_ready(b);
	}
	if (b->quiescing && !b->inflight)
		quiesce_done(b);
}

/* io_uring completions (the registered eventfd fired), on the event loop. */
static void on_completion(void *opaque, uint32_t events)
{
	struct blk *b = opaque;
	uint64_t count;

	if (read(b->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		pr_warn("drive %s: completion eventfd: %s", b->dev.id, strerror(errno));
	pthread_mutex_lock(&b->dev.lock);
	async_continue(b, reap(b));
	pthread_mutex_unlock(&b->dev.lock);
}

/*
 * Wait, with the lock dropped if held, until the kernel holds no step of ours or
 * BLK_DRAIN_MS have passed (storage that stopped answering): -ETIMEDOUT.
 * Completions are reaped as usual; nothing new is submitted meanwhile.
 */
static int settle(struct blk *b, bool locked, bool *pushed)
{
	uint64_t end = util_now_us() + BLK_DRAIN_MS * 1000ULL;

	while (b->inflight) {
		struct __kernel_timespec ts = { .tv_nsec = BLK_POLL_MS * 1000000LL };
		struct io_uring_cqe *cqe;
		int ret;

		if (util_now_us() >= end)
			return -ETIMEDOUT;
		if (locked)
			pthread_mutex_unlock(&b->dev.lock);
		ret = io_uring_wait_cqe_timeout(&b->ring, &cqe, &ts);
		if (locked)
			pthread_mutex_lock(&b->dev.lock);
		if (ret < 0 && ret != -ETIME && ret != -EINTR)
			return ret;
		*pushed |= reap(b);
	}
	return 0;
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

	if (q != 0 || dev->broken || b->quiescing)
		return;
	if (b->engine == IO_ENGINE_ASYNC) {
		if (!watch_completions(b))
			async_continue(b, take_async(b));
		return;
	}
	pushed = process_sync(b);
	if (pushed && !dev->broken)
		virtio_dev_notify(dev, &dev->queues[0]);
}

/*
 * On the vCPU thread: I/O under way (a Sync step, Async steps in the
 * kernel) writes guest memory, so the reset waits for it on the vmm
 * thread; anything merely queued is dropped now.
 */
static bool blk_quiesce(struct virtio_dev *dev)
{
	struct blk *b = to_blk(dev);

	if (b->busy || b->inflight) {
		b->quiescing = true;
		return false;
	}
	drop_queued(b);
	return true;
}

static void blk_reset(struct virtio_dev *dev)
{
	to_blk(dev)->starved = false;
}

/*
 * Destroy (the vCPUs stopped, the transport gone): the kernel's steps write
 * guest memory, which is unmapped next; wait for them a bounded time.
 */
static void drain(struct blk *b)
{
	bool pushed = false;

	b->quiescing = true;	/* nothing is answered or submitted any more */
	if (settle(b, false, &pushed))
		pr_warn("drive %s: %u I/O steps still in the kernel at exit, abandoned",
			b->dev.id, b->inflight);
	b->dev.metrics.abandoned += b->inflight;
	drop_queued(b);
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
	dev_limiter_destroy(&b->limiter);
	close(b->fd);
	free(b->path);
	free(b);
}

static struct ratelimit *blk_limiter(struct virtio_dev *dev, unsigned int q)
{
	return &to_blk(dev)->limiter.rl;
}

/* Sync: the request served across wakeups, to its end; false if it outlived end_us. */
static bool finish_sync(struct blk *b, uint64_t end_us)
{
	bool pushed = false;
	uint64_t bytes = 0;

	while (b->cur && !b->dev.broken && util_now_us() < end_us) {
		if (!sync_step(b, &bytes, &pushed))
			return true;	/* a reset came and dropped it */
	}
	if (pushed && !b->dev.broken)
		virtio_dev_notify(&b->dev, &b->dev.queues[0]);
	return !b->cur || b->dev.broken;
}

/* Async: every taken request's steps submitted and completed (answered); false on timeout. */
static bool finish_async(struct blk *b)
{
	bool pushed = false;

	for (;;) {
		async_continue(b, pushed);	/* submits what is ready */
		pushed = false;
		if (!b->inflight)
			return b->nr_free == VIRTQ_MAX_SIZE || b->dev.broken;
		if (settle(b, true, &pushed))
			return false;
	}
}

/*
 * A snapshot holds no request between the rings: one taken and not yet
 * answered would be lost (its data half-written). With the vCPUs paused no
 * new one comes, so what is under way is finished here, within
 * BLK_DRAIN_MS per wait; storage that does not answer by then gets -EBUSY.
 */
static int blk_save(struct virtio_dev *dev, struct snap_buf *out)
{
	struct blk *b = to_blk(dev);
	bool done = b->engine == IO_ENGINE_ASYNC ? finish_async(b) :
		    finish_sync(b, util_now_us() + BLK_DRAIN_MS * 1000ULL);

	if (!done || b->cur || b->busy || b->inflight || b->quiescing ||
	    (b->engine == IO_ENGINE_ASYNC && b->nr_free != VIRTQ_MAX_SIZE))
		return -EBUSY;
	/* Beyond its ring, now empty between requests, only its limiter's buckets. */
	return dev_limiters_save(dev, out);
}

static const struct virtio_dev_ops blk_ops = {
	.device_id = VIRTIO_ID_BLOCK,
	.features = blk_features,
	.config_size = sizeof(struct virtio_blk_config),
	.config_read = blk_config_read,
	.config_write = blk_config_write,
	.queue_notify = blk_queue_notify,
	.quiesce = blk_quiesce,
	.reset = blk_reset,
	.destroy = blk_destroy,
	.save = blk_save,
	.restore = dev_limiters_restore,
	.limiter = blk_limiter,
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
	char err[512];

	if (!b)
		return NULL;
	b->dev.ops = &blk_ops;
	b->dev.nr_queues = 1;
	snprintf(b->dev.id, sizeof(b->dev.id), "%s", cfg->drive_id);
	b->read_only = cfg->is_read_only;
	b->cache = cfg->cache_type;
	b->engine = cfg->io_engine;
	b->efd = -1;
	b->path = strdup(cfg->path_on_host);
	if (!b->path)
		goto err_free;
	b->fd = open_image(cfg->drive_id, cfg->path_on_host, cfg->is_read_only, &b->capacity,
			   err, sizeof(err));
	if (b->fd < 0) {
		pr_err("%s", err);
		goto err_free;
	}
	if (dev_limiter_init(&b->limiter, &b->dev, 0, &cfg->rate_limiter,
			     &b->dev.metrics.rl_throttled))
		goto err_close;
	if (b->engine == IO_ENGINE_ASYNC && setup_uring(b))
		goto err_limiter;
	return &b->dev;

err_limiter:
	dev_limiter_destroy(&b->limiter);
err_close:
	close(b->fd);
err_free:
	free(b->path);
	free(b);
	return NULL;
}

/*
 * PATCH /drives: requests that moved part of their payload end with an
 * I/O error rather than go on in another file; those not started yet will
 * use the new one.
 */
static bool cut_partial(struct blk *b)
{
	unsigned int n = b->nr_ready;
	bool pushed = false;

	if (b->cur && b->req.done) {
		b->cur = false;
		complete_io(b, &b->req, false);
		pushed = true;
	}
	while (n--) {
		struct blk_req *r = ready_pop(b);

		if (!r->done) {
			ready_push(b, r);
			continue;
		}
		complete_io(b, r, false);
		release(b, r);
		pushed = true;
	}
	return pushed;
}

/*
 * Before the old image goes: the steps in flight finish on it, and what
 * the guest wrote to it is flushed (the lock dropped: vCPUs need it), so
 * that no completed write is lost with it. Lock held; the vmm thread, so
 * nothing new reaches the image meanwhile.
 */
static int retire_image(struct blk *b, char *err, size_t errlen, bool *pushed)
{
	int ret = 0;

	if (b->engine == IO_ENGINE_ASYNC)
		ret = settle(b, true, pushed);
	if (ret) {
		snprintf(err, errlen, "drives[%s]: I/O on %s did not finish: %s", b->dev.id,
			 b->path, strerror(-ret));
		return ret;
	}
	if (b->read_only)
		return 0;
	pthread_mutex_unlock(&b->dev.lock);
	if (fdatasync(b->fd))
		ret = -errno;
	pthread_mutex_lock(&b->dev.lock);
	if (ret)
		snprintf(err, errlen, "drives[%s]: cannot flush %s before replacing it: %s",
			 b->dev.id, b->path, strerror(-ret));
	return ret;
}

/* Serve fd (with its size and path) from now on; lock held. */
static int swap_image(struct blk *b, int fd, uint64_t sectors, char *path, char *err,
		      size_t errlen)
{
	if (b->engine == IO_ENGINE_ASYNC) {
		int ret = io_uring_register_files_update(&b->ring, 0, &fd, 1);

		if (ret < 0) {
			snprintf(err, errlen, "drives[%s]: cannot hand %s to io_uring: %s",
				 b->dev.id, path, strerror(-ret));
			return ret;
		}
	}
	/* io_uring held its own reference to the old file; none is left in flight. */
	close(b->fd);
	free(b->path);
	b->fd = fd;
	b->path = path;
	b->capacity = sectors;
	return 0;
}

int virtio_blk_update_path(struct virtio_dev *dev, const char *path, char *err, size_t errlen)
{
	struct blk *b = to_blk(dev);
	bool pushed = false;
	uint64_t sectors;
	char *copy;
	int fd, ret;

	if (dev->ops != &blk_ops)
		return -EINVAL;
	fd = open_image(dev->id, path, b->read_only, &sectors, err, errlen);
	if (fd < 0)
		return fd;
	copy = strdup(path);
	if (!copy) {
		close(fd);
		snprintf(err, errlen, "drives[%s]: out of memory", dev->id);
		return -ENOMEM;
	}
	pthread_mutex_lock(&dev->lock);
	ret = retire_image(b, err, errlen, &pushed);
	ret = ret ?: swap_image(b, fd, sectors, copy, err, errlen);
	if (!ret && !b->quiescing && !dev->broken)
		pushed |= cut_partial(b);
	if (b->engine == IO_ENGINE_ASYNC)
		async_continue(b, pushed);	/* a reset that waited finishes, or the I/O goes on */
	else if (pushed && !dev->broken)
		virtio_dev_notify(dev, &dev->queues[0]);
	pthread_mutex_unlock(&dev->lock);
	if (ret) {
		close(fd);
		free(copy);
		return ret;
	}
	virtio_dev_config_changed(dev);
	return 0;
}
