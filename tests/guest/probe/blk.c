// SPDX-License-Identifier: MIT
/*
 * probe.action=blk: write a pattern over the first probe.blk_mib MiB of the
 * first block device, flush, read it back and compare; ask for the id,
 * read past the end; then time random 4 KiB reads and writes over the
 * last stretch written. Sector s holds 64 copies of the little-endian
 * word pattern(seed, s), so a host script can check the image.
 */
#include <stddef.h>

#include <linux/virtio_blk.h>

#include "actions.h"
#include "cmdline.h"
#include "lib.h"
#include "mem.h"
#include "serial.h"
#include "time.h"
#include "virtq.h"

#define SECTOR		512
#define SECTOR_WORDS	(SECTOR / 8)
#define REQ_MAX		(64 * 1024)	/* bytes per request */
#define SEG_BYTES	4096		/* bytes per data descriptor */
#define MAX_SEGS	(REQ_MAX / SEG_BYTES)
#define MAX_DEPTH	16		/* requests in flight */
#define WINDOW		(8u << 20)	/* the buffer a pass goes through */
#define IOPS_BYTES	4096
#define QUEUE_SIZE	256

#define BLK_FEATURES	(VIRTIO_BIT(VIRTIO_BLK_F_RO) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | \
			 VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX))

#define STATUS_TIMEOUT	(-1)
#define NO_SECTOR	UINT64_MAX

struct slot {
	struct virtio_blk_outhdr hdr;
	uint8_t status;
	uint32_t len;
	struct slot *next_free;
};

struct blk {
	struct virtio_dev *dev;
	struct virtq q;
	uint64_t capacity;		/* sectors */
	uint32_t seg;			/* bytes per data descriptor */
	uint32_t req_max;		/* bytes per request */
	struct slot *free;
	uint64_t seed;
	uint8_t *buf;			/* WINDOW bytes */
};

struct blk_io {
	uint32_t type;
	uint64_t sector;
	uint8_t *data;
	uint32_t len;
};

/* What a stream of requests did: the first bad status, or a timeout. */
struct blk_run {
	uint64_t done;
	uint64_t bytes;
	uint64_t cycles;
	int status;
};

/* A run of requests the pipeline asks for one at a time. */
struct stream {
	uint32_t type;
	uint64_t sector;		/* next; sequential streams */
	uint64_t end;
	uint8_t *data;
	uint32_t len;
	uint64_t units;			/* random streams: 4 KiB blocks from sector */
	uint64_t rand;
	uint64_t deadline;
};

static uint64_t pattern(uint64_t seed, uint64_t sector)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + sector;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void fill(const struct blk *b, uint8_t *p, uint64_t sector, uint64_t n)
{
	for (; n; n--, sector++, p += SECTOR)
		memset64(p, pattern(b->seed, sector), SECTOR_WORDS);
}

/* The first sector that does not hold its pattern, or sector + n. */
static uint64_t check(const struct blk *b, const uint8_t *p, uint64_t sector, uint64_t n)
{
	for (; n; n--, sector++, p += SECTOR) {
		if (span64(p, pattern(b->seed, sector), SECTOR_WORDS) != SECTOR_WORDS)
			break;
	}
	return sector;
}

static bool device_writes(uint32_t type)
{
	return type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
}

/* Header, the data in descriptors of b->seg bytes, status. */
static void submit(struct blk *b, const struct blk_io *io)
{
	struct vbuf v[MAX_SEGS + 2];
	struct slot *s = b->free;
	unsigned int n = 0;
	uint32_t off;

	b->free = s->next_free;
	s->hdr.type = io->type;
	s->hdr.ioprio = 0;
	s->hdr.sector = io->sector;
	s->status = 0xff;
	s->len = io->len;
	v[n++] = (struct vbuf){ mem_addr(&s->hdr), sizeof(s->hdr), false };
	for (off = 0; off < io->len && n <= MAX_SEGS; off += b->seg)
		v[n++] = (struct vbuf){ mem_addr(io->data + off),
					MIN(b->seg, io->len - off), device_writes(io->type) };
	v[n++] = (struct vbuf){ mem_addr(&s->status), 1, true };
	virtq_add(&b->q, v, n, s);
}

/* Keep up to the queue's depth of requests in flight until next() runs dry. */
static void pipeline(struct blk *b, bool (*next)(struct stream *, struct blk_io *),
		     struct stream *st, struct blk_run *r)
{
	uint64_t start = rdtsc();
	unsigned int inflight = 0;
	bool more = true;

	for (;;) {
		struct blk_io io;
		struct slot *s;
		bool added = false;

		while (more && b->free) {
			more = !r->status && next(st, &io);
			if (!more)
				break;
			submit(b, &io);
			inflight++;
			added = true;
		}
		if (added)
			virtq_kick(&b->q);
		if (!inflight)
			break;
		s = virtq_wait(&b->q, NULL);
		if (!s) {
			r->status = STATUS_TIMEOUT;
			break;
		}
		inflight--;
		s->next_free = b->free;
		b->free = s;
		r->done++;
		if (s->status == VIRTIO_BLK_S_OK)
			r->bytes += s->len;
		else if (!r->status)
			r->status = s->status;
	}
	r->cycles += rdtsc() - start;
}

static bool seq_next(struct stream *st, struct blk_io *io)
{
	if (st->sector >= st->end)
		return false;
	io->type = st->type;
	io->sector = st->sector;
	io->data = st->data;
	io->len = (uint32_t)MIN((uint64_t)st->len, (st->end - st->sector) * SECTOR);
	st->sector += io->len / SECTOR;
	st->data += io->len;
	return true;
}

static bool rand_next(struct stream *st, struct blk_io *io)
{
	uint64_t unit;

	if (time_passed(st->deadline))
		return false;
	st->rand ^= st->rand << 13;	/* xorshift64 */
	st->rand ^= st->rand >> 7;
	st->rand ^= st->rand << 17;
	unit = st->rand % st->units;
	io->type = st->type;
	io->sector = st->sector + unit * (IOPS_BYTES / SECTOR);
	io->data = st->data + unit * IOPS_BYTES;
	io->len = IOPS_BYTES;
	return true;
}

/* One request and its answer: the status, or STATUS_TIMEOUT. */
static int request(struct blk *b, uint32_t type, uint64_t sector, void *data, uint32_t len)
{
	struct blk_io io = { type, sector, data, len };
	struct slot *s;

	submit(b, &io);
	virtq_kick(&b->q);
	s = virtq_wait(&b->q, NULL);
	if (!s)
		return STATUS_TIMEOUT;
	s->next_free = b->free;
	b->free = s;
	return s->status;
}

static void limits(struct blk *b)
{
	uint32_t segs = MAX_SEGS, seg_max, size_max;

	seg_max = virtio_config32(b->dev, offsetof(struct virtio_blk_config, seg_max));
	size_max = virtio_config32(b->dev, offsetof(struct virtio_blk_config, size_max));
	if (virtio_has(b->dev, VIRTIO_BLK_F_SEG_MAX) && seg_max)
		segs = MIN(segs, seg_max);
	segs = MIN(segs, b->q.num - 2u);	/* a whole request fits the queue */
	b->seg = (REQ_MAX / segs + SECTOR - 1) & ~(SECTOR - 1);
	if (virtio_has(b->dev, VIRTIO_BLK_F_SIZE_MAX) && size_max >= SECTOR)
		b->seg = MIN(b->seg, size_max & ~(SECTOR - 1));
	b->req_max = MIN(REQ_MAX, b->seg * segs);
}

static int blk_open(struct blk *b)
{
	unsigned int depth, i;
	struct slot *slots;

	b->dev = virtio_find(VIRTIO_ID_BLOCK, "blk");
	if (!b->dev || virtio_start(b->dev, BLK_FEATURES) ||
	    virtq_init(&b->q, b->dev, 0, QUEUE_SIZE))
		return -1;
	virtio_driver_ok(b->dev);
	if (b->q.num < 3) {
		serial_printf("probe: blk queue of %u too small\n", b->q.num);
		return -1;
	}
	b->capacity = virtio_config64(b->dev, offsetof(struct virtio_blk_config, capacity));
	limits(b);
	depth = MIN(MAX_DEPTH, b->q.num / ((b->req_max + b->seg - 1) / b->seg + 2));
	slots = mem_zalloc(sizeof(*slots) * depth, 64);
	b->free = NULL;
	for (i = 0; i < depth; i++) {
		slots[i].next_free = b->free;
		b->free = &slots[i];
	}
	b->seed = cmdline_num("probe.seed=", 1);
	b->buf = mem_alloc(WINDOW, 4096);
	return 0;
}

/*
 * A pass over [0, bytes) a window at a time, writing or reading; after a
 * read, the first sector that does not hold its pattern (else NO_SECTOR).
 */
static uint64_t pass(struct blk *b, uint32_t type, uint64_t bytes, struct blk_run *r)
{
	uint64_t off;

	for (off = 0; off < bytes && !r->status; off += WINDOW) {
		uint64_t first = off / SECTOR, n = MIN(bytes - off, WINDOW) / SECTOR, bad;
		struct stream st = { .type = type, .sector = first, .end = first + n,
				     .data = b->buf, .len = b->req_max };

		if (type == VIRTIO_BLK_T_OUT)
			fill(b, b->buf, first, n);
		pipeline(b, seq_next, &st, r);
		if (type == VIRTIO_BLK_T_IN && !r->status) {
			bad = check(b, b->buf, first, n);
			if (bad != first + n)
				return bad;
		}
	}
	return NO_SECTOR;
}

/* Did the data go out? A timeout anywhere is left in w->status. */
static bool write_phase(struct blk *b, uint64_t bytes, struct blk_run *w)
{
	int status;

	if (virtio_has(b->dev, VIRTIO_BLK_F_RO)) {
		/* Read-only: one write all the same, which must fail. */
		w->status = request(b, VIRTIO_BLK_T_OUT, 0, b->buf, SECTOR);
	} else {
		pass(b, VIRTIO_BLK_T_OUT, bytes, w);
	}
	if (w->status) {
		if (w->status != STATUS_TIMEOUT)
			serial_printf("probe: blk write status=%d\n", w->status);
		return false;
	}
	serial_printf("probe: blk write ok bytes=%lu\n", w->bytes);
	if (!virtio_has(b->dev, VIRTIO_BLK_F_FLUSH)) {
		serial_puts("probe: blk flush unsupported\n");
		return true;
	}
	status = request(b, VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
	if (status == VIRTIO_BLK_S_OK)
		serial_puts("probe: blk flush ok\n");
	else if (status != STATUS_TIMEOUT)
		serial_printf("probe: blk flush failed status=%d\n", status);
	else
		w->status = STATUS_TIMEOUT;
	return true;
}

static bool read_phase(struct blk *b, uint64_t bytes, bool wrote, struct blk_run *r)
{
	uint64_t bad = pass(b, VIRTIO_BLK_T_IN, bytes, r);

	if (r->status) {
		if (r->status != STATUS_TIMEOUT)
			serial_printf("probe: blk read failed status=%d\n", r->status);
		return false;
	}
	if (!wrote)
		serial_printf("probe: blk read ok bytes=%lu\n", r->bytes);
	else if (bad != NO_SECTOR)
		serial_printf("probe: blk verify failed sector=%lu\n", bad);
	else
		serial_puts("probe: blk verify ok\n");
	return true;
}

static void print_id(struct blk *b)
{
	char *id = (char *)b->buf;
	int status, i;

	memset(id, 0, VIRTIO_BLK_ID_BYTES);
	status = request(b, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES);
	if (status) {
		if (status != STATUS_TIMEOUT)
			serial_printf("probe: blk id status=%d\n", status);
		return;
	}
	for (i = 0; i < VIRTIO_BLK_ID_BYTES && id[i]; i++) {
		if (id[i] < ' ' || id[i] > '~')
			id[i] = '?';
	}
	serial_printf("probe: blk id=%.*s\n", i, id);
}

/* Requests that reach past the last sector must fail with IOERR. */
static bool past_end(struct blk *b)
{
	int status = request(b, VIRTIO_BLK_T_IN, b->capacity, b->buf, SECTOR);

	if (status == STATUS_TIMEOUT)
		return false;
	serial_printf("probe: blk read-past-end status=%d\n", status);
	if (!b->capacity)
		return true;
	status = request(b, VIRTIO_BLK_T_IN, b->capacity - 1, b->buf, 2 * SECTOR);
	if (status == STATUS_TIMEOUT)
		return false;
	serial_printf("probe: blk read-straddle-end status=%d\n", status);
	return true;
}

/* Random 4 KiB requests for probe.blk_ms over the window last read. */
static uint64_t iops(struct blk *b, uint32_t type, uint64_t bytes)
{
	uint64_t last = (bytes - 1) / WINDOW * WINDOW;
	struct stream st = {
		.type = type, .sector = last / SECTOR, .data = b->buf,
		.units = (bytes - last) / IOPS_BYTES, .rand = 0x2545f4914f6cdd1dULL,
		.deadline = time_deadline(cmdline_num("probe.blk_ms=", 500)),
	};
	struct blk_run r = { 0 };

	if (!st.units)
		return 0;
	pipeline(b, rand_next, &st, &r);
	if (r.status) {
		if (r.status != STATUS_TIMEOUT)
			serial_printf("probe: blk iops4k status=%d\n", r.status);
		return 0;
	}
	return time_rate(r.done, r.cycles, 1000000);
}

static uint64_t mbps10(const struct blk_run *r)
{
	return time_rate(r->bytes * 10, r->cycles, 1);
}

void blk_action(void)
{
	struct blk_run w = { 0 }, r = { 0 };
	uint64_t bytes, rd_iops, wr_iops = 0;
	struct blk b;
	bool wrote;

	if (blk_open(&b))
		return;
	serial_printf("probe: blk capacity=%lu ro=%u\n", b.capacity,
		      virtio_has(b.dev, VIRTIO_BLK_F_RO));
	bytes = MIN(cmdline_num("probe.blk_mib=", 4) << 20, b.capacity * SECTOR);
	bytes &= ~(uint64_t)(IOPS_BYTES - 1);
	if (!bytes) {
		serial_puts("probe: blk too small\n");
		return;
	}
	wrote = write_phase(&b, bytes, &w);
	if (w.status == STATUS_TIMEOUT || !read_phase(&b, bytes, wrote, &r))
		return;
	print_id(&b);
	if (!past_end(&b))
		return;
	rd_iops = iops(&b, VIRTIO_BLK_T_IN, bytes);
	if (wrote)
		wr_iops = iops(&b, VIRTIO_BLK_T_OUT, bytes);
	serial_printf("probe: blk seq-write MBps=%lu.%lu seq-read MBps=%lu.%lu "
		      "iops4k-read=%lu iops4k-write=%lu\n",
		      mbps10(&w) / 10, mbps10(&w) % 10, mbps10(&r) / 10,
		      mbps10(&r) % 10, rd_iops, wr_iops);
	virtio_reset(b.dev);
}
