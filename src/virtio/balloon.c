// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-balloon (virtio 1.2, section 5.5). Queues: inflate, deflate, then
 * statistics, free page hints and free page reports, each present only when
 * negotiated, in that order. Pages the guest puts in the balloon, hints or
 * reports are given back to the host at once (see give_back()); every page
 * frame number is checked against guest RAM and against what is already in
 * the balloon, and what does not fit is ignored and counted.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_balloon.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <petrel/log.h>
#include <petrel/metrics.h>
#include <petrel/snapshot.h>
#include <petrel/util.h>
#include <petrel/virtio.h>

#include "dev_util.h"
#include "transport.h"

#define PAGE		(1ULL << VIRTIO_BALLOON_PFN_SHIFT)
#define HUGE_PAGE	MiB(2)
/* PFNs read from one inflate or deflate chain; the rest are counted, not read. */
#define PFNS_MAX	4096
/*
 * How far past the target the balloon may grow: a driver inflating toward
 * an old, larger target finishes the batch it was filling (Linux: 256 PFNs).
 */
#define TARGET_SLACK	256
#define STAT_SIZE	10	/* struct virtio_balloon_stat, packed */
#define STATE_VERSION	1

enum { Q_INFLATE, Q_DEFLATE, Q_STATS, Q_HINT, Q_REPORT, NR_ROLES };

struct balloon {
	struct virtio_dev dev;		/* first: the transport sees only this */
	struct virtq_elem elem;
	struct balloon_config cfg;	/* features offered, stats interval */
	struct virtio_balloon_config space;
	int role[VIRTIO_MAX_QUEUES];	/* queue index -> Q_*, by what the driver took */
	int timer_fd;
	bool timer_watched;
	bool started;			/* start() done since the driver's DRIVER_OK */
	bool stats_held;		/* the driver's stats buffer, kept until the next poll */
	uint16_t stats_head;
	struct virtio_balloon_stats stats;
	struct virtio_balloon_hint hint;
	bool hint_ack_on_stop;
	bool announce_config;		/* restored: tell the driver the config changed */
	uint64_t *inflated;		/* one bit per 4 KiB page of RAM */
	uint64_t nr_pages;		/* pages of RAM, bits in inflated */
	uint64_t nr_inflated;
	struct virtio_balloon_metrics m;
	uint32_t pfns[PFNS_MAX];
};

static struct balloon *to_balloon(struct virtio_dev *dev)
{
	return (struct balloon *)dev;
}

static uint64_t balloon_features(struct virtio_dev *dev)
{
	const struct balloon_config *c = &to_balloon(dev)->cfg;

	return (c->stats_polling_interval_s ? 1ULL << VIRTIO_BALLOON_F_STATS_VQ : 0) |
	       (c->deflate_on_oom ? 1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM : 0) |
	       (c->free_page_hinting ? 1ULL << VIRTIO_BALLOON_F_FREE_PAGE_HINT : 0) |
	       (c->free_page_reporting ? 1ULL << VIRTIO_BALLOON_F_REPORTING : 0);
}

static void balloon_config_read(struct virtio_dev *dev, uint32_t offset, uint8_t *data,
				uint32_t len)
{
	struct balloon *b = to_balloon(dev);

	dev_config_read(&b->space, sizeof(b->space), offset, data, len);
}

/* The driver writes actual and poison_val; nothing else is its to write. */
static void balloon_config_write(struct virtio_dev *dev, uint32_t offset, const uint8_t *data,
				 uint32_t len)
{
	struct balloon *b = to_balloon(dev);
	uint32_t v;

	if (len != sizeof(v) || (offset != offsetof(struct virtio_balloon_config, actual) &&
				 offset != offsetof(struct virtio_balloon_config, poison_val))) {
		dev->metrics.register_errors++;
		return;
	}
	memcpy(&v, data, sizeof(v));
	if (offset == offsetof(struct virtio_balloon_config, actual))
		b->space.actual = v;
	else
		b->space.poison_val = v;
}

/* ---- giving memory back ---- */

/*
 * Where a page frame is: its host address, and its index in the inflated
 * bitmap (RAM regions in order, as the memory file lays them out). NULL
 * when it is not guest RAM.
 */
static uint8_t *page_lookup(const struct guest_mem *mem, uint32_t pfn, uint64_t *idx)
{
	uint64_t gpa = (uint64_t)pfn << VIRTIO_BALLOON_PFN_SHIFT, first = 0;

	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size) {
			*idx = first + (gpa - r->gpa) / PAGE;
			return r->host + (gpa - r->gpa);
		}
		first += r->size / PAGE;
	}
	return NULL;
}

/*
 * Drop the host pages behind [host, host+len), which lies in one RAM region.
 * Anonymous memory (also with a Uffd handler, which is told through its
 * UFFD_EVENT_REMOVE and serves zeros next) is discarded; a private mapping
 * of a memory file gets fresh anonymous memory instead, since discarding
 * would read the file's page back. 2 MiB huge pages go back only whole.
 * Returns the 4 KiB pages given back.
 */
static uint64_t give_back(struct balloon *b, uint8_t *host, uint64_t len)
{
	const struct guest_mem *mem = b->dev.mem;
	uint64_t unit = mem->huge_pages == HUGE_PAGES_2M ? HUGE_PAGE : PAGE;
	uintptr_t start = ALIGN_UP((uintptr_t)host, unit);
	uintptr_t end = ALIGN_DOWN((uintptr_t)host + len, unit);
	int ret;

	if (end <= start)
		return 0;
	if (mem->backing == GUEST_MEM_FILE)
		ret = mmap((void *)start, end - start, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) ==
		      MAP_FAILED ? -1 : 0;
	else
		ret = madvise((void *)start, end - start, MADV_DONTNEED);
	if (ret) {
		if (virtio_log_nth(++b->m.give_back_errors))
			pr_warn("virtio balloon: cannot give back %" PRIu64 " KiB: %s",
				(uint64_t)(end - start) >> 10, strerror(errno));
		return 0;
	}
	b->m.pages_given_back += (end - start) / PAGE;
	return (end - start) / PAGE;
}

static bool test_bit(const uint64_t *map, uint64_t i)
{
	return map[i / 64] >> (i % 64) & 1;
}

static void set_bit(uint64_t *map, uint64_t i, bool on)
{
	if (on)
		map[i / 64] |= 1ULL << (i % 64);
	else
		map[i / 64] &= ~(1ULL << (i % 64));
}

/* ---- inflate and deflate ---- */

static int cmp_pfn(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Up to PFNS_MAX of the chain's PFNs into b->pfns, sorted; the others are bad. */
static unsigned int read_pfns(struct balloon *b, const struct virtq_elem *e)
{
	uint64_t total = e->out_len / sizeof(uint32_t);
	unsigned int n = MIN(total, PFNS_MAX);

	iov_to_buf(e->iov, e->nr_out, 0, b->pfns, n * sizeof(uint32_t));
	b->m.bad_pfns += total - n;
	qsort(b->pfns, n, sizeof(uint32_t), cmp_pfn);
	return n;
}

/* A PFN the balloon may take (guest RAM, not in it yet, not past the target): its page. */
static uint8_t *take(struct balloon *b, uint32_t pfn)
{
	uint64_t i;
	uint8_t *host = page_lookup(b->dev.mem, pfn, &i);

	if (!host || test_bit(b->inflated, i) ||
	    b->nr_inflated >= (uint64_t)b->space.num_pages + TARGET_SLACK) {
		b->m.bad_pfns++;
		return NULL;
	}
	set_bit(b->inflated, i, true);
	b->nr_inflated++;
	return host;
}

/* Sorted PFNs taken into the balloon, given back in runs contiguous on the host. */
static void inflate(struct balloon *b, unsigned int n)
{
	uint8_t *run = NULL;
	uint64_t len = 0;

	for (unsigned int i = 0; i < n; i++) {
		uint8_t *host = take(b, b->pfns[i]);

		if (!host)
			continue;
		if (run && host == run + len) {
			len += PAGE;
			continue;
		}
		if (run)
			give_back(b, run, len);
		run = host;
		len = PAGE;
	}
	if (run)
		give_back(b, run, len);
}

/* The guest may use these pages again: they fault in as zeros when touched. */
static void deflate(struct balloon *b, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uint64_t idx;

		if (!page_lookup(b->dev.mem, b->pfns[i], &idx) || !test_bit(b->inflated, idx)) {
			b->m.bad_pfns++;
			continue;
		}
		set_bit(b->inflated, idx, false);
		b->nr_inflated--;
	}
}

static void serve_pfns(struct balloon *b, bool in)
{
	unsigned int n = read_pfns(b, &b->elem);

	if (in) {
		b->m.inflates++;
		inflate(b, n);
	} else {
		b->m.deflates++;
		deflate(b, n);
	}
}

/* ---- statistics ---- */

static void read_stats(struct balloon *b, const struct virtq_elem *e)
{
	uint8_t raw[STAT_SIZE];

	for (uint32_t off = 0; off + STAT_SIZE <= e->out_len; off += STAT_SIZE) {
		uint16_t tag;
		uint64_t val;

		iov_to_buf(e->iov, e->nr_out, off, raw, sizeof(raw));
		memcpy(&tag, raw, sizeof(tag));
		memcpy(&val, raw + sizeof(tag), sizeof(val));
		/* Tags this device does not know (newer kernels) are skipped. */
		if (tag >= VIRTIO_BALLOON_NR_STATS)
			continue;
		b->stats.val[tag] = val;
		b->stats.present |= 1u << tag;
	}
	b->m.stats_updates++;
}

/* The driver's buffer, full: read it and keep it for the next poll. */
static void serve_stats(struct balloon *b, unsigned int q)
{
	/* A second buffer while one is held: the older one goes back. */
	if (b->stats_held && virtq_push(&b->dev.queues[q], b->dev.mem, b->stats_head, 0))
		virtio_dev_fail(&b->dev, "queue %u: used ring not writable", q);
	read_stats(b, &b->elem);
	b->stats_head = b->elem.head;
	b->stats_held = true;
}

static int queue_of(const struct balloon *b, int role)
{
	for (unsigned int q = 0; q < b->dev.nr_queues; q++)
		if (b->role[q] == role)
			return q;
	return -1;
}

/* Poll: give the driver its buffer back, which it refills and returns. */
static void poll_stats(struct balloon *b)
{
	int q = queue_of(b, Q_STATS);

	if (q < 0 || !b->stats_held || b->dev.broken)
		return;
	b->stats_held = false;
	if (virtq_push(&b->dev.queues[q], b->dev.mem, b->stats_head, 0)) {
		virtio_dev_fail(&b->dev, "queue %d: used ring not writable", q);
		return;
	}
	virtio_dev_notify(&b->dev, &b->dev.queues[q]);
}

static void on_timer(void *opaque, uint32_t events)
{
	struct balloon *b = opaque;
	uint64_t n;

	if (read(b->timer_fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&b->dev.lock);
	poll_stats(b);
	pthread_mutex_unlock(&b->dev.lock);
}

static int arm_timer(struct balloon *b)
{
	unsigned int secs = queue_of(b, Q_STATS) >= 0 ? b->cfg.stats_polling_interval_s : 0;
	struct itimerspec its = {
		.it_value = { .tv_sec = secs }, .it_interval = { .tv_sec = secs },
	};

	if (b->timer_fd < 0)
		return 0;
	return timerfd_settime(b->timer_fd, 0, &its, NULL) ? -errno : 0;
}

/* ---- free page hints and reports ---- */

static void set_hint_cmd(struct balloon *b, uint32_t cmd)
{
	b->hint.host_cmd = cmd;
	b->space.free_page_hint_cmd_id = cmd;
	virtio_dev_config_changed(&b->dev);
}

/* One range of free pages, hinted or reported: back to the host. */
static void free_range(struct balloon *b, const struct iovec *iov, bool hinted)
{
	uint64_t pages = give_back(b, iov->iov_base, iov->iov_len);

	if (hinted)
		b->m.pages_hinted += pages;
	else
		b->m.pages_reported += pages;
}

/*
 * A command id (4 bytes the device reads) starts or ends the guest's run;
 * ranges count only during the run the host asked for, as Firecracker's.
 */
static bool serve_hint(struct balloon *b)
{
	const struct virtq_elem *e = &b->elem;
	bool complete = false;

	for (unsigned int i = 0; i < e->nr_out + e->nr_in; i++) {
		uint32_t cmd;

		if (i < e->nr_out && e->iov[i].iov_len == sizeof(cmd)) {
			memcpy(&cmd, e->iov[i].iov_base, sizeof(cmd));
			b->hint.guest_cmd = cmd;
			b->hint.has_guest_cmd = true;
			complete = cmd == VIRTIO_BALLOON_CMD_ID_STOP ||
				   cmd == VIRTIO_BALLOON_CMD_ID_DONE;
			continue;
		}
		if (b->hint.host_cmd <= VIRTIO_BALLOON_CMD_ID_DONE || !b->hint.has_guest_cmd ||
		    b->hint.guest_cmd != b->hint.host_cmd) {
			b->m.hints_ignored++;
			continue;
		}
		free_range(b, &e->iov[i], true);
	}
	return complete;
}

static void serve_report(struct balloon *b)
{
	const struct virtq_elem *e = &b->elem;

	for (unsigned int i = 0; i < e->nr_out + e->nr_in; i++)
		free_range(b, &e->iov[i], false);
}

/* ---- the queues ---- */

/*
 * What activate cannot do on the vCPU thread that runs it (the sandbox
 * keeps that thread to KVM_RUN and eventfds): done at the first kick, which
 * activate makes for every ready queue, on the vmm thread. -errno.
 */
static int start(struct balloon *b)
{
	struct virtio_dev *dev = &b->dev;
	int ret;

	if (!b->inflated) {
		b->nr_pages = dev->mem->ram_size / PAGE;
		/* Untouched until used: calloc's large blocks are fresh mappings. */
		b->inflated = calloc(b->nr_pages / 64 + 1, sizeof(uint64_t));
		if (!b->inflated)
			return -ENOMEM;
	}
	if (dev->loop && !b->timer_watched) {
		ret = event_loop_add(dev->loop, b->timer_fd, EPOLLIN, on_timer, b);
		if (ret)
			return ret;
		b->timer_watched = true;
	}
	ret = arm_timer(b);
	if (!ret)
		b->started = true;
	return ret;
}

/* Serve one chain of queue q; false when the device failed. */
static bool serve(struct balloon *b, unsigned int q, bool *done_hinting)
{
	struct virtq *vq = &b->dev.queues[q];

	switch (b->role[q]) {
	case Q_INFLATE:
	case Q_DEFLATE:
		serve_pfns(b, b->role[q] == Q_INFLATE);
		break;
	case Q_STATS:
		serve_stats(b, q);
		return !b->dev.broken;		/* held, not answered */
	case Q_HINT:
		*done_hinting |= serve_hint(b);
		break;
	default:
		serve_report(b);
		break;
	}
	if (virtq_push(vq, b->dev.mem, b->elem.head, 0)) {
		virtio_dev_fail(&b->dev, "queue %u: used ring not writable", q);
		return false;
	}
	return true;
}

static void balloon_queue_notify(struct virtio_dev *dev, unsigned int q)
{
	struct balloon *b = to_balloon(dev);
	struct virtq *vq = &dev->queues[q];
	unsigned int served = 0;
	bool done_hinting = false;
	int ret;

	if (b->role[q] < 0)
		return;
	if (!b->started && (ret = start(b))) {
		virtio_dev_fail(dev, "cannot start: %s", strerror(-ret));
		return;
	}
	while (dev_pop(dev, q, &b->elem) > 0 && serve(b, q, &done_hinting)) {
		/* Out of budget: let the vmm loop serve other fds, then come back. */
		if (++served == vq->size) {
			dev_requeue(dev, q);
			break;
		}
	}
	virtio_dev_notify(dev, vq);
	if (done_hinting && b->hint_ack_on_stop && b->hint.host_cmd > VIRTIO_BALLOON_CMD_ID_DONE)
		set_hint_cmd(b, VIRTIO_BALLOON_CMD_ID_DONE);
}

/* Queues 2.. are those of the features the driver took, in feature order. */
static void assign_roles(struct balloon *b)
{
	static const struct { unsigned int bit; int role; } optional[] = {
		{ VIRTIO_BALLOON_F_STATS_VQ, Q_STATS },
		{ VIRTIO_BALLOON_F_FREE_PAGE_HINT, Q_HINT },
		{ VIRTIO_BALLOON_F_REPORTING, Q_REPORT },
	};
	unsigned int q = 2;

	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		b->role[i] = -1;
	b->role[0] = Q_INFLATE;
	b->role[1] = Q_DEFLATE;
	for (size_t i = 0; i < ARRAY_SIZE(optional); i++)
		if (virtio_dev_has_feature(&b->dev, optional[i].bit) && q < b->dev.nr_queues)
			b->role[q++] = optional[i].role;
}

static int balloon_activate(struct virtio_dev *dev)
{
	struct balloon *b = to_balloon(dev);

	assign_roles(b);
	b->started = false;
	if (b->announce_config) {
		b->announce_config = false;
		virtio_dev_config_changed(dev);
	}
	return 0;
}

/* The driver starts over: the balloon is empty again, as its pages are the driver's. */
static void balloon_reset(struct virtio_dev *dev)
{
	struct balloon *b = to_balloon(dev);

	b->stats_held = false;
	b->space.actual = 0;
	b->hint = (struct virtio_balloon_hint){ .host_cmd = b->hint.host_cmd };
	if (b->inflated)
		memset(b->inflated, 0, (b->nr_pages / 64 + 1) * sizeof(uint64_t));
	b->nr_inflated = 0;
	/* The timer runs on, finding no buffer to return, until the next start re-arms it. */
}

static void balloon_destroy(struct virtio_dev *dev)
{
	struct balloon *b = to_balloon(dev);

	if (b->timer_watched)
		event_loop_del(dev->loop, b->timer_fd);
	if (b->timer_fd >= 0)
		close(b->timer_fd);
	free(b->inflated);
	free(b);
}

/* ---- snapshots ---- */

/* The pages in the balloon, as runs of set bits. */
static void save_inflated(const struct balloon *b, struct snap_buf *out)
{
	uint64_t runs = 0, i = 0;
	size_t at;

	snap_put_u64(out, b->nr_pages);
	at = out->len;
	snap_put_u64(out, 0);
	while (b->inflated && i < b->nr_pages) {
		uint64_t start;

		if (!test_bit(b->inflated, i)) {
			i = i % 64 || b->inflated[i / 64] ? i + 1 : i + 64;
			continue;
		}
		for (start = i; i < b->nr_pages && test_bit(b->inflated, i); i++)
			;
		snap_put_u64(out, start);
		snap_put_u64(out, i - start);
		runs++;
	}
	if (!snap_buf_error(out))
		memcpy(out->data + at, &runs, sizeof(runs));
}

static int balloon_save(struct virtio_dev *dev, struct snap_buf *out)
{
	struct balloon *b = to_balloon(dev);

	snap_put_u32(out, STATE_VERSION);
	snap_put_bytes(out, &b->space, sizeof(b->space));
	snap_put_u32(out, b->cfg.stats_polling_interval_s);
	snap_put_u8(out, b->stats_held);
	snap_put_u16(out, b->stats_head);
	snap_put_u32(out, b->stats.present);
	for (unsigned int i = 0; i < VIRTIO_BALLOON_NR_STATS; i++)
		snap_put_u64(out, b->stats.val[i]);
	snap_put_u32(out, b->hint.host_cmd);
	snap_put_u32(out, b->hint.last_cmd);
	snap_put_u32(out, b->hint.guest_cmd);
	snap_put_u8(out, b->hint.has_guest_cmd);
	save_inflated(b, out);
	return snap_buf_error(out);
}

static bool restore_inflated(struct balloon *b, struct snap_cursor *c, uint64_t ram_pages)
{
	uint64_t nr_pages = snap_get_u64(c), runs = snap_get_u64(c), end = 0;

	if (c->short_read || runs > snap_cursor_left(c) / 16)
		return false;
	/* Saved before the driver first started the device: no pages yet. */
	if (!nr_pages)
		return !runs;
	if (nr_pages != ram_pages)
		return false;
	b->nr_pages = nr_pages;
	b->inflated = calloc(nr_pages / 64 + 1, sizeof(uint64_t));
	if (!b->inflated)
		return false;
	for (uint64_t r = 0; r < runs; r++) {
		uint64_t start = snap_get_u64(c), len = snap_get_u64(c);

		/* In order and apart, as saved: each page is set once at most. */
		if (start < end || start > nr_pages || len > nr_pages - start)
			return false;
		for (uint64_t i = start; i < start + len; i++)
			set_bit(b->inflated, i, true);
		b->nr_inflated += len;
		end = start + len;
	}
	return true;
}

/*
 * A hinting run does not survive a restore: the driver is told it is done,
 * so that it takes back the pages it was holding for the host (Firecracker's).
 */
static int balloon_restore(struct virtio_dev *dev, const void *data, size_t len)
{
	struct balloon *b = to_balloon(dev);
	struct snap_cursor c;
	bool ok;

	snap_cursor_init(&c, data, len);
	ok = snap_get_u32(&c) == STATE_VERSION;
	snap_get_bytes(&c, &b->space, sizeof(b->space));
	b->cfg.stats_polling_interval_s = snap_get_u32(&c);
	b->stats_held = snap_get_u8(&c);
	b->stats_head = snap_get_u16(&c);
	b->stats.present = snap_get_u32(&c) & ((1u << VIRTIO_BALLOON_NR_STATS) - 1);
	for (unsigned int i = 0; i < VIRTIO_BALLOON_NR_STATS; i++)
		b->stats.val[i] = snap_get_u64(&c);
	b->hint.host_cmd = snap_get_u32(&c);
	b->hint.last_cmd = snap_get_u32(&c);
	b->hint.guest_cmd = snap_get_u32(&c);
	b->hint.has_guest_cmd = snap_get_u8(&c);
	ok = ok && !c.short_read && b->stats_head < VIRTQ_MAX_SIZE &&
	     b->cfg.stats_polling_interval_s <= UINT16_MAX &&
	     restore_inflated(b, &c, dev->mem->ram_size / PAGE) && !snap_cursor_end(&c);
	if (!ok)
		return -EINVAL;
	if (b->hint.host_cmd > VIRTIO_BALLOON_CMD_ID_DONE) {
		b->hint.host_cmd = b->space.free_page_hint_cmd_id = VIRTIO_BALLOON_CMD_ID_DONE;
		b->announce_config = true;
	}
	return 0;
}

static const struct virtio_dev_ops balloon_ops = {
	.device_id = VIRTIO_ID_BALLOON,
	.features = balloon_features,
	.config_size = sizeof(struct virtio_balloon_config),
	.config_read = balloon_config_read,
	.config_write = balloon_config_write,
	.activate = balloon_activate,
	.queue_notify = balloon_queue_notify,
	.reset = balloon_reset,
	.destroy = balloon_destroy,
	.save = balloon_save,
	.restore = balloon_restore,
};

struct virtio_dev *virtio_balloon_create(const struct balloon_config *cfg)
{
	struct balloon *b = calloc(1, sizeof(*b));

	if (!b) {
		pr_err("balloon: cannot allocate the virtio-balloon device");
		return NULL;
	}
	b->dev.ops = &balloon_ops;
	b->cfg = *cfg;
	b->dev.nr_queues = 2 + !!cfg->stats_polling_interval_s + cfg->free_page_hinting +
			   cfg->free_page_reporting;
	b->space.num_pages = cfg->amount_mib * (MiB(1) / PAGE);
	b->space.free_page_hint_cmd_id = VIRTIO_BALLOON_CMD_ID_STOP;
	/* Made here, before the sandbox: the vmm thread only arms it later. */
	b->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (b->timer_fd < 0) {
		pr_err("balloon: cannot create the statistics timer: %s", strerror(errno));
		free(b);
		return NULL;
	}
	assign_roles(b);
	snprintf(b->dev.id, sizeof(b->dev.id), "balloon");
	return &b->dev;
}

/* ---- what the API changes ---- */

void virtio_balloon_set_target(struct virtio_dev *dev, unsigned int mib)
{
	struct balloon *b = to_balloon(dev);

	pthread_mutex_lock(&dev->lock);
	b->space.num_pages = mib * (MiB(1) / PAGE);
	b->cfg.amount_mib = mib;
	virtio_dev_config_changed(dev);
	pthread_mutex_unlock(&dev->lock);
}

int virtio_balloon_set_stats_interval(struct virtio_dev *dev, unsigned int secs)
{
	struct balloon *b = to_balloon(dev);
	int ret;

	pthread_mutex_lock(&dev->lock);
	b->cfg.stats_polling_interval_s = secs;
	/* As Firecracker: fresh figures now, then at the new pace. */
	poll_stats(b);
	ret = arm_timer(b);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

void virtio_balloon_get_stats(struct virtio_dev *dev, struct virtio_balloon_stats *out)
{
	struct balloon *b = to_balloon(dev);

	pthread_mutex_lock(&dev->lock);
	*out = b->stats;
	out->target_pages = b->space.num_pages;
	out->actual_pages = b->space.actual;
	pthread_mutex_unlock(&dev->lock);
}

/* Run ids 0 (stop) and 1 (done) are reserved: a run is 2 and up. */
void virtio_balloon_hint_start(struct virtio_dev *dev, bool ack_on_stop)
{
	struct balloon *b = to_balloon(dev);
	uint32_t id;

	pthread_mutex_lock(&dev->lock);
	id = b->hint.last_cmd + 1;
	if (id <= VIRTIO_BALLOON_CMD_ID_DONE)
		id = VIRTIO_BALLOON_CMD_ID_DONE + 1;
	b->hint.last_cmd = id;
	b->hint_ack_on_stop = ack_on_stop;
	set_hint_cmd(b, id);
	pthread_mutex_unlock(&dev->lock);
}

void virtio_balloon_hint_stop(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	set_hint_cmd(to_balloon(dev), VIRTIO_BALLOON_CMD_ID_DONE);
	pthread_mutex_unlock(&dev->lock);
}

void virtio_balloon_hint_status(struct virtio_dev *dev, struct virtio_balloon_hint *out)
{
	pthread_mutex_lock(&dev->lock);
	*out = to_balloon(dev)->hint;
	pthread_mutex_unlock(&dev->lock);
}

const struct virtio_balloon_metrics *virtio_balloon_metrics(const struct virtio_dev *dev)
{
	return &((const struct balloon *)dev)->m;
}

/* Offsets from dev.metrics, the base every virtio device's counters are reported from. */
#define BALLOON_FIELD(f) { #f, offsetof(struct balloon, m.f) - offsetof(struct balloon, dev.metrics) }
#define DEV_FIELD(f) { #f, offsetof(struct virtio_dev_metrics, f) }
static const struct metrics_field balloon_fields[] = {
	BALLOON_FIELD(inflates), BALLOON_FIELD(deflates), BALLOON_FIELD(pages_given_back),
	BALLOON_FIELD(pages_hinted), BALLOON_FIELD(pages_reported), BALLOON_FIELD(bad_pfns),
	BALLOON_FIELD(hints_ignored), BALLOON_FIELD(stats_updates),
	BALLOON_FIELD(give_back_errors), DEV_FIELD(queue_errors), DEV_FIELD(register_errors),
	DEV_FIELD(interrupts),
};
static const struct metrics_schema balloon_schema = {
	"balloon", NULL, balloon_fields, ARRAY_SIZE(balloon_fields) };

const struct metrics_schema *virtio_balloon_metrics_schema(void)
{
	return &balloon_schema;
}
