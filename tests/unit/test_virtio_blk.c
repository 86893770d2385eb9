// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk driven as a guest driver would, through the MMIO registers and
 * split rings in malloc'd guest RAM, on a temporary image file. The loop
 * tests run once per io_engine (0: Sync, 1: Async through io_uring).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/virtio_blk.h>

#include <petrel/snapshot.h>
#include <petrel/virtio.h>

#include "log_capture.h"
#include "virtio_driver.h"

#define IMG_SIZE	MiB(1)
#define IMG_SECTORS	(IMG_SIZE / 512)
#define WAIT_MS		2000

static char img_path[64];

/* ---- fixtures: an image with a known pattern, and a log file to check ---- */

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 9));
}

static void setup(void)
{
	static uint8_t buf[IMG_SIZE];
	int fd;

	strcpy(img_path, "/tmp/petrel-test-blk-XXXXXX");
	fd = mkstemp(img_path);
	ck_assert_int_ge(fd, 0);
	for (uint64_t i = 0; i < IMG_SIZE; i++)
		buf[i] = pattern(i);
	ck_assert_int_eq(util_write_all(fd, buf, IMG_SIZE), 0);
	close(fd);
	log_capture_start();
}

static void teardown(void)
{
	log_capture_stop();
	unlink(img_path);
}

static struct drive_config drive(const char *id, bool ro, enum cache_type cache, int engine)
{
	return (struct drive_config){
		.drive_id = (char *)id, .path_on_host = img_path, .is_read_only = ro,
		.cache_type = cache, .io_engine = engine ? IO_ENGINE_ASYNC : IO_ENGINE_SYNC,
	};
}

/* As Linux does: every feature the device offers, EVENT_IDX included. */
static void open_drive(struct vdrv *d, const struct drive_config *cfg)
{
	vd_init(d, virtio_blk_create(cfg), 1ULL << VIRTIO_BLK_F_FLUSH | 1ULL << VIRTIO_BLK_F_RO |
		1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_BLK_SIZE |
		1ULL << VIRTIO_RING_F_EVENT_IDX);
}

static void read_image(uint64_t off, void *buf, size_t len)
{
	int fd = open(img_path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* ---- requests ---- */

struct req {
	uint32_t type;
	uint64_t sector;
	uint64_t data;		/* gpa of the payload, 0: none */
	uint32_t len;
	unsigned int split;	/* payload in this many descriptors (default 1) */
};

static bool device_writes(uint32_t type)
{
	return type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
}

/* A request header in guest RAM, and a status byte (*st) the device has not written yet. */
static uint64_t new_hdr(struct vdrv *d, uint32_t type, uint64_t sector, uint64_t *st)
{
	uint64_t h = vd_alloc(d, sizeof(struct virtio_blk_outhdr));
	struct virtio_blk_outhdr *hdr = vd_ptr(d, h);

	hdr->type = htole32(type);
	hdr->sector = htole64(sector);
	*st = vd_alloc(d, 1);
	*(uint8_t *)vd_ptr(d, *st) = 0xee;
	return h;
}

/* Header, payload, status: queue one request; the status byte's gpa. */
static uint64_t queue_req(struct vdrv *d, const struct req *r)
{
	struct vd_seg s[8];
	unsigned int n = 0, split = r->split ? r->split : 1;
	uint64_t st, h = new_hdr(d, r->type, r->sector, &st);

	s[n++] = (struct vd_seg){ h, sizeof(struct virtio_blk_outhdr), false };
	for (unsigned int i = 0; r->len && i < split; i++) {
		uint32_t part = r->len / split, off = part * i;

		if (i == split - 1)
			part = r->len - off;
		s[n++] = (struct vd_seg){ r->data + off, part, device_writes(r->type) };
	}
	s[n++] = (struct vd_seg){ st, 1, true };
	vd_add(d, 0, s, n);
	return st;
}

/* Submit, kick, wait: the status byte; *used_len what the device reported written. */
static uint8_t do_req(struct vdrv *d, const struct req *r, uint32_t *used_len)
{
	uint64_t st = queue_req(d, r);
	uint32_t len;
	uint16_t head;

	vd_kick(d, 0);
	ck_assert(vd_wait_used(d, 0, 1, WAIT_MS));
	ck_assert(vd_used(d, 0, &head, &len));
	if (used_len)
		*used_len = len;
	return *(uint8_t *)vd_ptr(d, st);
}

/* ---- tests ---- */

START_TEST(create_errors)
{
	struct drive_config cfg = drive("rootfs", false, CACHE_UNSAFE, 0);

	cfg.path_on_host = "/nonexistent/petrel/disk.img";
	ck_assert_ptr_null(virtio_blk_create(&cfg));
	expect_log("rootfs", "/nonexistent/petrel/disk.img");
	cfg.drive_id = "scratch";
	cfg.path_on_host = "/tmp";
	ck_assert_ptr_null(virtio_blk_create(&cfg));
	expect_log("drives[scratch].path_on_host: /tmp", "Is a directory");
	cfg.is_read_only = true;
	ck_assert_ptr_null(virtio_blk_create(&cfg));
	expect_log("drives[scratch].path_on_host: /tmp is a directory",
		   "not a regular file or a block device");
	cfg.is_read_only = false;
	/* Unreadable: root ignores modes, so only check as another user. */
	if (geteuid() != 0) {
		ck_assert_int_eq(chmod(img_path, 0), 0);
		cfg.path_on_host = img_path;
		ck_assert_ptr_null(virtio_blk_create(&cfg));
		expect_log("scratch", img_path);
	}
}
END_TEST

START_TEST(features_and_config)
{
	struct drive_config cfg = drive("data", false, CACHE_UNSAFE, 0);
	struct virtio_blk_config bc;
	struct vdrv d;

	open_drive(&d, &cfg);
	ck_assert_uint_eq(vd_read32(&d, VIRTIO_MMIO_DEVICE_ID), 2);
	ck_assert(d.features & 1ULL << VIRTIO_BLK_F_SEG_MAX);
	ck_assert(d.features & 1ULL << VIRTIO_BLK_F_BLK_SIZE);
	ck_assert(!(d.features & 1ULL << VIRTIO_BLK_F_FLUSH));	/* Unsafe */
	ck_assert(!(d.features & 1ULL << VIRTIO_BLK_F_RO));
	vd_config(&d, 0, &bc, sizeof(bc));
	ck_assert_uint_eq(le64toh(bc.capacity), IMG_SECTORS);
	ck_assert_uint_eq(le32toh(bc.seg_max), VIRTQ_MAX_SIZE - 2);
	ck_assert_uint_eq(le32toh(bc.blk_size), 512);
	vd_fini(&d);

	cfg = drive("data", true, CACHE_WRITEBACK, 0);
	open_drive(&d, &cfg);
	ck_assert(d.features & 1ULL << VIRTIO_BLK_F_FLUSH);
	ck_assert(d.features & 1ULL << VIRTIO_BLK_F_RO);
	vd_fini(&d);
}
END_TEST

START_TEST(write_read_flush_id)
{
	struct drive_config cfg = drive("data-disk", false, CACHE_WRITEBACK, _i);
	struct req r = { .type = VIRTIO_BLK_T_OUT, .sector = 3, .len = 4096, .split = 3 };
	uint8_t back[4096], *p;
	uint32_t used;
	struct vdrv d;

	open_drive(&d, &cfg);
	r.data = vd_alloc(&d, r.len);
	p = vd_ptr(&d, r.data);
	for (unsigned int i = 0; i < r.len; i++)
		p[i] = (uint8_t)(0xa5 ^ i);
	ck_assert_uint_eq(do_req(&d, &r, &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, 1);
	read_image(3 * 512, back, sizeof(back));
	ck_assert_mem_eq(back, p, sizeof(back));

	/* Read it back, and the untouched pattern around it, in other buffers. */
	r = (struct req){ .type = VIRTIO_BLK_T_IN, .sector = 2, .len = 6 * 512, .split = 4 };
	r.data = vd_alloc(&d, r.len);
	ck_assert_uint_eq(do_req(&d, &r, &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, r.len + 1);
	read_image(2 * 512, back, 6 * 512);
	ck_assert_mem_eq(vd_ptr(&d, r.data), back, 6 * 512);
	ck_assert_uint_eq(*(uint8_t *)vd_ptr(&d, r.data), pattern(1024));

	r = (struct req){ .type = VIRTIO_BLK_T_FLUSH };
	ck_assert_uint_eq(do_req(&d, &r, &used), VIRTIO_BLK_S_OK);

	r = (struct req){ .type = VIRTIO_BLK_T_GET_ID, .len = VIRTIO_BLK_ID_BYTES };
	r.data = vd_alloc(&d, r.len);
	memset(vd_ptr(&d, r.data), 'x', r.len);
	ck_assert_uint_eq(do_req(&d, &r, &used), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(used, VIRTIO_BLK_ID_BYTES + 1);
	ck_assert_mem_eq(vd_ptr(&d, r.data), "data-disk\0\0\0\0\0\0\0\0\0\0\0", 20);

	r = (struct req){ .type = VIRTIO_BLK_T_DISCARD, .len = 16 };
	r.data = vd_alloc(&d, r.len);
	ck_assert_uint_eq(do_req(&d, &r, NULL), VIRTIO_BLK_S_UNSUPP);

	ck_assert_uint_eq(d.dev->metrics.requests, 5);
	ck_assert_uint_eq(d.dev->metrics.bytes_written, 4096);
	ck_assert_uint_eq(d.dev->metrics.bytes_read, 6 * 512);
	ck_assert_uint_eq(d.dev->metrics.io_errors, 0);
	ck_assert(!vd_needs_reset(&d));
	vd_fini(&d);
}
END_TEST

START_TEST(long_id_and_split_header)
{
	struct drive_config cfg = drive("a-drive-id-of-32-characters-long", false, CACHE_UNSAFE,
					_i);
	uint64_t h, st, data;
	struct vdrv d;

	open_drive(&d, &cfg);
	/* The header in two descriptors: framing is the driver's business. */
	h = new_hdr(&d, VIRTIO_BLK_T_GET_ID, 0, &st);
	data = vd_alloc(&d, 20);
	vd_add(&d, 0, (struct vd_seg[]){ { h, 5, false }, { h + 5, 11, false },
					  { data, 20, true }, { st, 1, true } }, 4);
	vd_kick(&d, 0);
	ck_assert(vd_wait_used(&d, 0, 1, WAIT_MS));
	ck_assert_uint_eq(*(uint8_t *)vd_ptr(&d, st), VIRTIO_BLK_S_OK);
	/* 20 bytes, no terminator. */
	ck_assert_mem_eq(vd_ptr(&d, data), "a-drive-id-of-32-cha", 20);
	vd_fini(&d);
}
END_TEST

START_TEST(flush_unsafe_is_noop)
{
	struct drive_config cfg = drive("scratch", false, CACHE_UNSAFE, _i);
	struct req r = { .type = VIRTIO_BLK_T_FLUSH };
	struct vdrv d;

	open_drive(&d, &cfg);
	ck_assert_uint_eq(do_req(&d, &r, NULL), VIRTIO_BLK_S_OK);
	vd_fini(&d);
}
END_TEST

START_TEST(read_only_drive)
{
	struct drive_config cfg = drive("ro", true, CACHE_UNSAFE, _i);
	struct req r = { .type = VIRTIO_BLK_T_OUT, .sector = 0, .len = 512 };
	uint8_t before[IMG_SIZE / 4], after[IMG_SIZE / 4];
	struct vdrv d;

	read_image(0, before, sizeof(before));
	open_drive(&d, &cfg);
	r.data = vd_alloc(&d, r.len);
	memset(vd_ptr(&d, r.data), 0x5a, r.len);
	ck_assert_uint_eq(do_req(&d, &r, NULL), VIRTIO_BLK_S_IOERR);
	r.type = VIRTIO_BLK_T_IN;
	ck_assert_uint_eq(do_req(&d, &r, NULL), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(*(uint8_t *)vd_ptr(&d, r.data + 1), pattern(1));
	ck_assert_uint_eq(d.dev->metrics.io_errors, 1);
	ck_assert(!vd_needs_reset(&d));
	vd_fini(&d);
	read_image(0, after, sizeof(after));
	ck_assert_mem_eq(before, after, sizeof(before));
}
END_TEST

/*
 * The host's file refuses a write (here: past RLIMIT_FSIZE, EFBIG): the
 * guest gets IOERR, the log says which drive, where and why, and the drive
 * goes on serving what the host allows.
 */
START_TEST(host_write_fails)
{
	struct drive_config cfg = drive("full", false, CACHE_UNSAFE, _i);
	struct req r = { .type = VIRTIO_BLK_T_OUT, .sector = IMG_SECTORS - 8, .len = 4096 };
	struct rlimit rl = { .rlim_cur = IMG_SIZE / 2, .rlim_max = RLIM_INFINITY };
	struct vdrv d;

	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	open_drive(&d, &cfg);
	r.data = vd_alloc(&d, r.len);
	memset(vd_ptr(&d, r.data), 0x5a, r.len);
	ck_assert_uint_eq(do_req(&d, &r, NULL), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(d.dev->metrics.io_errors, 1);
	expect_log("drive full: write of 4096 bytes at sector 2040 failed",
		   "File too large");
	r.sector = 8;
	ck_assert_uint_eq(do_req(&d, &r, NULL), VIRTIO_BLK_S_OK);
	r.type = VIRTIO_BLK_T_IN;
	r.sector = IMG_SECTORS - 8;
	ck_assert_uint_eq(do_req(&d, &r, NULL), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(*(uint8_t *)vd_ptr(&d, r.data), pattern(IMG_SIZE - 4096));
	ck_assert(!vd_needs_reset(&d));
	vd_fini(&d);
}
END_TEST

START_TEST(out_of_range)
{
	struct drive_config cfg = drive("data", false, CACHE_UNSAFE, _i);
	static const struct { uint32_t type; uint64_t sector; uint32_t len; } cases[] = {
		{ VIRTIO_BLK_T_IN, IMG_SECTORS, 512 },
		{ VIRTIO_BLK_T_IN, IMG_SECTORS - 1, 1024 },
		{ VIRTIO_BLK_T_OUT, IMG_SECTORS - 1, 1024 },
		{ VIRTIO_BLK_T_IN, UINT64_MAX, 512 },		/* sector + length wraps */
		{ VIRTIO_BLK_T_OUT, 1ULL << 55, 512 },		/* byte offset wraps */
		{ VIRTIO_BLK_T_IN, 0, 100 },			/* not whole sectors */
	};
	struct req r;
	struct vdrv d;

	open_drive(&d, &cfg);
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		r = (struct req){ cases[i].type, cases[i].sector, 0, cases[i].len, 1 };
		r.data = vd_alloc(&d, r.len);
		ck_assert_msg(do_req(&d, &r, NULL) == VIRTIO_BLK_S_IOERR, "case %u", i);
	}
	/* The last sector itself is fine. */
	r = (struct req){ VIRTIO_BLK_T_IN, IMG_SECTORS - 1, vd_alloc(&d, 512), 512, 1 };
	ck_assert_uint_eq(do_req(&d, &r, NULL), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(d.dev->metrics.io_errors, ARRAY_SIZE(cases));
	ck_assert(!vd_needs_reset(&d));
	vd_fini(&d);
}
END_TEST

/* Chains no driver may send: each breaks the device (NEEDS_RESET), never petrel. */
static const char *const malformed_names[] = {
	"short header", "no status", "writable header", "read payload device-readable",
	"write payload device-writable", "flush with payload",
};

START_TEST(malformed)
{
	struct drive_config cfg = drive("data", false, CACHE_WRITEBACK, _i % 2);
	struct virtio_blk_outhdr *hdr;
	uint64_t h, st, data;
	struct vd_seg s[3];
	struct vdrv d;

	open_drive(&d, &cfg);
	h = new_hdr(&d, VIRTIO_BLK_T_IN, 0, &st);
	data = vd_alloc(&d, 512);
	hdr = vd_ptr(&d, h);
	s[0] = (struct vd_seg){ h, 16, false };
	s[1] = (struct vd_seg){ data, 512, true };
	s[2] = (struct vd_seg){ st, 1, true };
	switch (_i / 2) {
	case 0: s[0].len = 8; break;
	case 1: s[1].write = s[2].write = false; break;
	case 2: s[0].write = true; break;
	case 3: s[1].write = false; break;
	case 4: hdr->type = htole32(VIRTIO_BLK_T_OUT); break;
	case 5: hdr->type = htole32(VIRTIO_BLK_T_FLUSH); break;
	}
	vd_add(&d, 0, s, 3);
	vd_kick(&d, 0);
	ck_assert_int_eq(event_loop_run_once(d.loop, 100), 0);
	ck_assert_msg(vd_needs_reset(&d), "%s: device not broken", malformed_names[_i / 2]);
	ck_assert_uint_eq(d.dev->metrics.queue_errors, 1);
	ck_assert_uint_eq(vd_used_idx(&d, 0), 0);
	/* A reset brings it back. */
	vd_write32(&d, VIRTIO_MMIO_STATUS, 0);
	ck_assert(!vd_needs_reset(&d));
	vd_fini(&d);
}
END_TEST

/* Many requests in flight at once; completions may come in any order. */
START_TEST(async_batch)
{
	struct drive_config cfg = drive("data", false, CACHE_UNSAFE, 1);
	uint64_t st[80], data;
	struct vdrv d;
	uint8_t back[512];

	open_drive(&d, &cfg);
	data = vd_alloc(&d, ARRAY_SIZE(st) * 512);
	for (unsigned int i = 0; i < ARRAY_SIZE(st); i++) {
		struct req r = { VIRTIO_BLK_T_IN, 40 + i, data + i * 512, 512, 1 };

		st[i] = queue_req(&d, &r);
	}
	vd_kick(&d, 0);
	ck_assert(vd_wait_used(&d, 0, ARRAY_SIZE(st), WAIT_MS));
	for (unsigned int i = 0; i < ARRAY_SIZE(st); i++) {
		ck_assert_uint_eq(*(uint8_t *)vd_ptr(&d, st[i]), VIRTIO_BLK_S_OK);
		read_image((40 + i) * 512, back, sizeof(back));
		ck_assert_mem_eq(vd_ptr(&d, data + i * 512), back, sizeof(back));
	}
	ck_assert_uint_eq(d.dev->metrics.bytes_read, ARRAY_SIZE(st) * 512);
	vd_fini(&d);
}
END_TEST

/* ---- large requests: steps, budgets, resets and PATCH while they are under way ---- */

#define BIG_SEGS	16
#define BIG_SEG		MiB(1)
#define BIG_LEN		(BIG_SEGS * BIG_SEG)

/* The image grows (sparse) so that 16 MiB requests are in range. */
static void grow_image(uint64_t size)
{
	ck_assert_int_eq(truncate(img_path, (off_t)size), 0);
}

/* A request of segs segments of seg bytes that all point at buf, as a hostile guest may. */
static uint64_t queue_same_buf(struct vdrv *d, uint32_t type, uint64_t buf, uint32_t seg,
			       unsigned int segs)
{
	struct vd_seg s[BIG_SEGS + 2];
	uint64_t st, h = new_hdr(d, type, 0, &st);
	unsigned int n = 0;

	ck_assert_uint_le(segs, BIG_SEGS);
	s[n++] = (struct vd_seg){ h, sizeof(struct virtio_blk_outhdr), false };
	for (unsigned int i = 0; i < segs; i++)
		s[n++] = (struct vd_seg){ buf, seg, type == VIRTIO_BLK_T_IN };
	s[n++] = (struct vd_seg){ st, 1, true };
	vd_add(d, 0, s, n);
	return st;
}

static bool wait_status_zero(struct vdrv *d)
{
	for (unsigned int i = 0; i < WAIT_MS / 10; i++) {
		if (!vd_read32(d, VIRTIO_MMIO_STATUS))
			return true;
		ck_assert_int_eq(event_loop_run_once(d->loop, 10), 0);
	}
	return !vd_read32(d, VIRTIO_MMIO_STATUS);
}

/* The device works again after a reset: the handshake, then one good read. */
static void expect_restarts(struct vdrv *d)
{
	struct req r = { VIRTIO_BLK_T_IN, 1, 0, 512, 1 };

	vd_start(d, 0);
	r.data = vd_alloc(d, r.len);
	ck_assert_uint_eq(do_req(d, &r, NULL), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(*(uint8_t *)vd_ptr(d, r.data), pattern(512));
}

/*
 * A 6 MiB read and write through segments of odd sizes: the steps cut
 * segments in the middle and the bytes still land in the right places.
 */
START_TEST(large_request_in_steps)
{
	struct drive_config cfg = drive("data", false, CACHE_UNSAFE, _i);
	uint32_t len = MiB(6), part = len / 7;
	static uint8_t back[MiB(6)];
	struct vd_seg s[9];
	uint64_t st, h, buf;
	struct vdrv d;
	uint8_t *p;

	grow_image(MiB(8));
	open_drive(&d, &cfg);
	buf = vd_alloc(&d, len);
	for (unsigned int op = 0; op < 2; op++) {
		uint32_t type = op ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
		unsigned int n = 0;

		h = new_hdr(&d, type, 1, &st);
		s[n++] = (struct vd_seg){ h, sizeof(struct virtio_blk_outhdr), false };
		for (unsigned int i = 0; i < 7; i++)
			s[n++] = (struct vd_seg){ buf + i * part, i < 6 ? part : len - 6 * part, !op };
		s[n++] = (struct vd_seg){ st, 1, true };
		p = vd_ptr(&d, buf);
		if (op)
			for (uint32_t i = 0; i < len; i++)
				p[i] = (uint8_t)(i * 13 + 5);
		vd_add(&d, 0, s, n);
		vd_kick(&d, 0);
		ck_assert(vd_wait_used(&d, 0, 1, WAIT_MS));
		d.q[0].last_used++;
		ck_assert_uint_eq(*(uint8_t *)vd_ptr(&d, st), VIRTIO_BLK_S_OK);
		read_image(512, back, len);
		ck_assert_mem_eq(p, back, len);
	}
	ck_assert_uint_eq(back[0], 5);		/* the write's bytes, not the pattern's */
	ck_assert_uint_eq(d.dev->metrics.bytes_read, len);
	ck_assert_uint_eq(d.dev->metrics.bytes_written, len);
	vd_fini(&d);
}
END_TEST

static void on_neighbour(void *opaque, uint32_t events)
{
	int *fd = opaque;
	uint64_t v;

	ck_assert_int_eq(read(fd[0], &v, sizeof(v)), sizeof(v));
	fd[1]++;
}

/*
 * Sync: one wakeup of the vmm loop moves at most 4 MiB; the rest of a
 * 16 MiB request comes on later wakeups, and another fd on the loop (the
 * API, a signal) is served in between.
 */
START_TEST(sync_wakeup_budget)
{
	struct drive_config cfg = drive("data", false, CACHE_UNSAFE, 0);
	int neighbour[2] = { eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC), 0 };
	unsigned int wakeups = 0;
	uint64_t st, buf;
	struct vdrv d;

	grow_image(MiB(32));
	open_drive(&d, &cfg);
	ck_assert_int_eq(event_loop_add(d.loop, neighbour[0], EPOLLIN, on_neighbour, neighbour),
			 0);
	buf = vd_alloc(&d, BIG_SEG);
	st = queue_same_buf(&d, VIRTIO_BLK_T_IN, buf, BIG_SEG, BIG_SEGS);
	vd_kick(&d, 0);
	ck_assert_int_eq(event_loop_run_once(d.loop, 100), 0);
	ck_assert_uint_eq(vd_used_idx(&d, 0), 0);
	ck_assert_int_eq(neighbour[1], 1);
	while (!vd_used_idx(&d, 0) && wakeups++ < 10)
		ck_assert_int_eq(event_loop_run_once(d.loop, 100), 0);
	/* 16 MiB at 4 MiB per wakeup: the first and three more. */
	ck_assert_uint_eq(wakeups, 3);
	ck_assert_uint_eq(*(uint8_t *)vd_ptr(&d, st), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(d.dev->metrics.bytes_read, BIG_LEN);
	event_loop_del(d.loop, neighbour[0]);
	close(neighbour[0]);
	vd_fini(&d);
}
END_TEST

/*
 * Sync: a reset between two steps of a request (no I/O under way) is done
 * at once; the request is dropped, counted, and never answered.
 */
START_TEST(sync_reset_between_steps)
{
	struct drive_config cfg = drive("data", false, CACHE_UNSAFE, 0);
	uint64_t st, buf;
	struct vdrv d;

	grow_image(MiB(32));
	open_drive(&d, &cfg);
	buf = vd_alloc(&d, BIG_SEG);
	st = queue_same_buf(&d, VIRTIO_BLK_T_IN, buf, BIG_SEG, BIG_SEGS);
	vd_kick(&d, 0);
	ck_assert_int_eq(event_loop_run_once(d.loop, 100), 0);
	ck_assert_uint_eq(d.dev->metrics.requests, 1);
	vd_write32(&d, VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(vd_read32(&d, VIRTIO_MMIO_STATUS), 0);
	ck_assert_int_eq(event_loop_run_once(d.loop, 50), 0);
	ck_assert_uint_eq(vd_used_idx(&d, 0), 0);
	ck_assert_uint_eq(*(uint8_t *)vd_ptr(&d, st), 0xee);
	ck_assert_uint_eq(d.dev->metrics.abandoned, 1);
	expect_restarts(&d);
	vd_fini(&d);
}
END_TEST

/*
 * Async: Status 0 with steps in the kernel returns at once and reads
 * non-zero until they are back; meanwhile only Status may be written;
 * then it reads 0, the old used ring and status bytes are untouched, every
 * request is counted as abandoned, and the device starts again.
 */
START_TEST(async_reset_in_flight)
{
	struct drive_config cfg = drive("data", false, CACHE_UNSAFE, 1);
	uint64_t st[8], buf, errors;
	struct vdrv d;

	grow_image(MiB(32));
	open_drive(&d, &cfg);
	buf = vd_alloc(&d, BIG_SEG);
	for (unsigned int i = 0; i < ARRAY_SIZE(st); i++)
		st[i] = queue_same_buf(&d, VIRTIO_BLK_T_IN, buf, BIG_SEG, BIG_SEGS);
	vd_kick(&d, 0);
	/* Serve the kick (submits the first steps), then reset before they are reaped. */
	for (unsigned int i = 0; i < 20 && !d.dev->metrics.requests; i++)
		ck_assert_int_eq(event_loop_run_once(d.loop, 10), 0);
	ck_assert_uint_eq(d.dev->metrics.requests, ARRAY_SIZE(st));
	vd_write32(&d, VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_ne(vd_read32(&d, VIRTIO_MMIO_STATUS), 0);
	errors = d.dev->metrics.register_errors;
	vd_write32(&d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vd_write32(&d, VIRTIO_MMIO_QUEUE_READY, 0);
	ck_assert_uint_eq(d.dev->metrics.register_errors, errors + 2);
	ck_assert(wait_status_zero(&d));
	ck_assert_uint_eq(vd_used_idx(&d, 0), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(st); i++)
		ck_assert_uint_eq(*(uint8_t *)vd_ptr(&d, st[i]), 0xee);
	ck_assert_uint_eq(d.dev->metrics.abandoned, ARRAY_SIZE(st));
	expect_restarts(&d);
	vd_fini(&d);
}
END_TEST

/* Destroy with steps in the kernel: bounded, and nothing answered (ASan checks the rest). */
START_TEST(async_destroy_in_flight)
{
	struct drive_config cfg = drive("data", false, CACHE_UNSAFE, 1);
	uint64_t buf;
	struct vdrv d;

	grow_image(MiB(32));
	open_drive(&d, &cfg);
	buf = vd_alloc(&d, BIG_SEG);
	for (unsigned int i = 0; i < 8; i++)
		queue_same_buf(&d, VIRTIO_BLK_T_IN, buf, BIG_SEG, BIG_SEGS);
	vd_kick(&d, 0);
	ck_assert_int_eq(event_loop_run_once(d.loop, 100), 0);
	ck_assert_uint_eq(d.dev->metrics.requests, 8);
	vd_fini(&d);
}
END_TEST

/*
 * A snapshot of a paused VM while the drive holds requests taken from the
 * ring (Sync: one served across wakeups; Async: steps in the kernel): the
 * save finishes them, so it succeeds and every one is answered OK.
 */
START_TEST(save_finishes_in_flight)
{
	struct drive_config cfg = drive("data", false, CACHE_UNSAFE, _i);
	unsigned int n = _i ? 8 : 1;
	uint64_t st[8], buf;
	struct snap_buf out;
	char err[256] = "";
	struct vdrv d;

	grow_image(MiB(32));
	open_drive(&d, &cfg);
	buf = vd_alloc(&d, BIG_SEG);
	for (unsigned int i = 0; i < n; i++)
		st[i] = queue_same_buf(&d, VIRTIO_BLK_T_IN, buf, BIG_SEG, BIG_SEGS);
	vd_kick(&d, 0);
	for (unsigned int i = 0; i < 20 && !d.dev->metrics.requests; i++)
		ck_assert_int_eq(event_loop_run_once(d.loop, 10), 0);
	ck_assert_uint_eq(d.dev->metrics.requests, n);
	ck_assert_uint_lt(vd_used_idx(&d, 0), n);	/* under way when the save comes */
	snap_buf_init(&out);
	ck_assert_msg(!virtio_mmio_save(d.dev, &out, err, sizeof(err)), "save: %s", err);
	snap_buf_free(&out);
	ck_assert_uint_eq(vd_used_idx(&d, 0), n);
	for (unsigned int i = 0; i < n; i++)
		ck_assert_uint_eq(*(uint8_t *)vd_ptr(&d, st[i]), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(d.dev->metrics.bytes_read, n * BIG_LEN);
	vd_fini(&d);
}
END_TEST

/*
 * A snapshot keeps what the limiter's buckets hold: restored, an empty ops
 * bucket holds the next request back instead of starting full. A state that
 * does not fit the drive's rate_limiter is refused, naming what is wrong.
 */
START_TEST(limiter_state_in_snapshot)
{
	struct drive_config cfg = drive("data", false, CACHE_UNSAFE, _i);
	struct req r = { .type = VIRTIO_BLK_T_IN, .sector = 0, .len = 512 };
	struct snap_buf out;
	char err[256] = "";
	uint64_t tokens;
	struct vdrv d;

	cfg.rate_limiter = (struct rl_config){ .present = true,
					       .ops = { true, 2, 0, 600000 } };	/* 2 per 10 min */
	open_drive(&d, &cfg);
	r.data = vd_alloc(&d, r.len);
	ck_assert_uint_eq(do_req(&d, &r, NULL), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(do_req(&d, &r, NULL), VIRTIO_BLK_S_OK);
	snap_buf_init(&out);
	ck_assert_msg(!virtio_mmio_save(d.dev, &out, err, sizeof(err)), "save: %s", err);

	/* Full again (as a fresh VM's), then the saved, empty, bucket back. */
	ck_assert_int_eq(virtio_dev_update_limiter(d.dev, 0, &cfg.rate_limiter), 0);
	ck_assert_msg(!virtio_mmio_restore(d.dev, out.data, out.len, err, sizeof(err)),
		      "restore: %s", err);
	queue_req(&d, &r);
	vd_kick(&d, 0);
	ck_assert(!vd_wait_used(&d, 0, 1, 200));		/* held back, not lost */
	ck_assert_uint_eq(d.dev->metrics.requests, 2);

	/* The ops bucket's tokens are the state's last but two u64: 3 of 2 is refused. */
	ck_assert_uint_ge(out.len, 24);
	tokens = 3;
	memcpy(out.data + out.len - 24, &tokens, sizeof(tokens));
	ck_assert_int_eq(virtio_mmio_restore(d.dev, out.data, out.len, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "virtio data"));
	expect_log("virtio data", "rate limiter bucket's tokens are out of range");
	snap_buf_free(&out);
	vd_fini(&d);
}
END_TEST

/*
 * PATCH /drives with a request half done: it ends with IOERR instead of
 * going on in the other file; the next request reads the new file.
 */
START_TEST(update_path_cuts_partial)
{
	struct drive_config cfg = drive("data", false, CACHE_UNSAFE, _i);
	char other[64] = "/tmp/petrel-test-blk3-XXXXXX", err[256];
	struct req r = { VIRTIO_BLK_T_IN, 0, 0, 512, 1 };
	uint64_t st, buf;
	struct vdrv d;
	int fd = mkstemp(other);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, MiB(32)), 0);
	ck_assert_int_eq(pwrite(fd, "fresh", 5, 0), 5);
	close(fd);
	grow_image(MiB(32));
	open_drive(&d, &cfg);
	buf = vd_alloc(&d, BIG_SEG);
	st = queue_same_buf(&d, VIRTIO_BLK_T_IN, buf, BIG_SEG, BIG_SEGS);
	vd_kick(&d, 0);
	ck_assert_int_eq(event_loop_run_once(d.loop, 100), 0);
	ck_assert_uint_eq(vd_used_idx(&d, 0), 0);
	ck_assert_int_eq(virtio_blk_update_path(d.dev, other, err, sizeof(err)), 0);
	ck_assert(vd_wait_used(&d, 0, 1, WAIT_MS));
	d.q[0].last_used++;
	ck_assert_uint_eq(*(uint8_t *)vd_ptr(&d, st), VIRTIO_BLK_S_IOERR);
	r.data = vd_alloc(&d, 512);
	ck_assert_uint_eq(do_req(&d, &r, NULL), VIRTIO_BLK_S_OK);
	ck_assert_mem_eq(vd_ptr(&d, r.data), "fresh", 5);
	vd_fini(&d);
	unlink(other);
}
END_TEST

/* A FIFO's open would wait for a writer: refused at once, naming the field and the file. */
START_TEST(fifo_refused)
{
	struct drive_config cfg = drive("rootfs", _i, CACHE_UNSAFE, 0);
	char fifo[64] = "/tmp/petrel-test-fifo-XXXXXX", err[256], want[160];
	struct req r = { VIRTIO_BLK_T_IN, 0, 0, 512, 1 };
	struct vdrv d;
	int fd = mkstemp(fifo);

	ck_assert_int_ge(fd, 0);
	close(fd);
	unlink(fifo);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	snprintf(want, sizeof(want), "drives[rootfs].path_on_host: %s is a FIFO, not a regular "
		 "file or a block device", fifo);
	cfg.path_on_host = fifo;
	ck_assert_ptr_null(virtio_blk_create(&cfg));
	expect_log(want, "");
	cfg.path_on_host = img_path;
	open_drive(&d, &cfg);
	ck_assert_int_eq(virtio_blk_update_path(d.dev, fifo, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, want);
	r.data = vd_alloc(&d, 512);
	ck_assert_uint_eq(do_req(&d, &r, NULL), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(*(uint8_t *)vd_ptr(&d, r.data + 7), pattern(7));
	vd_fini(&d);
	unlink(fifo);
}
END_TEST

START_TEST(sixteen_async_drives)
{
	struct drive_config cfg = drive("d", false, CACHE_UNSAFE, 1);
	struct virtio_dev *devs[CONFIG_MAX_DRIVES];

	for (unsigned int i = 0; i < ARRAY_SIZE(devs); i++) {
		devs[i] = virtio_blk_create(&cfg);
		ck_assert_ptr_nonnull(devs[i]);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(devs); i++)
		virtio_dev_destroy(devs[i]);
}
END_TEST

START_TEST(update_path)
{
	struct drive_config cfg = drive("data", false, CACHE_UNSAFE, _i);
	char other[64] = "/tmp/petrel-test-blk2-XXXXXX", err[256];
	struct req r = { VIRTIO_BLK_T_IN, 0, 0, 512, 1 };
	uint32_t gen, isr;
	uint64_t cap;
	struct vdrv d;
	int fd = mkstemp(other);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, MiB(2)), 0);
	ck_assert_int_eq(pwrite(fd, "fresh", 5, 0), 5);
	close(fd);
	open_drive(&d, &cfg);
	gen = vd_read32(&d, VIRTIO_MMIO_CONFIG_GENERATION);
	ck_assert_int_eq(virtio_blk_update_path(d.dev, "/nonexistent.img", err, sizeof(err)),
			 -ENOENT);
	ck_assert_str_eq(err, "drives[data].path_on_host: /nonexistent.img: "
			 "No such file or directory");
	ck_assert_int_eq(virtio_blk_update_path(d.dev, other, err, sizeof(err)), 0);
	ck_assert_uint_ne(vd_read32(&d, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	isr = vd_read32(&d, VIRTIO_MMIO_INTERRUPT_STATUS);
	ck_assert(isr & VIRTIO_MMIO_INT_CONFIG);
	vd_config(&d, 0, &cap, sizeof(cap));
	ck_assert_uint_eq(le64toh(cap), MiB(2) / 512);
	r.data = vd_alloc(&d, 512);
	ck_assert_uint_eq(do_req(&d, &r, NULL), VIRTIO_BLK_S_OK);
	ck_assert_mem_eq(vd_ptr(&d, r.data), "fresh", 5);
	vd_fini(&d);
	unlink(other);
}
END_TEST

static Suite *blk_suite(void)
{
	Suite *s = suite_create("virtio_blk");
	TCase *tc = tcase_create("blk");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, create_errors);
	tcase_add_loop_test(tc, save_finishes_in_flight, 0, 2);
	tcase_add_test(tc, features_and_config);
	tcase_add_loop_test(tc, write_read_flush_id, 0, 2);
	tcase_add_loop_test(tc, long_id_and_split_header, 0, 2);
	tcase_add_loop_test(tc, flush_unsafe_is_noop, 0, 2);
	tcase_add_loop_test(tc, read_only_drive, 0, 2);
	tcase_add_loop_test(tc, host_write_fails, 0, 2);
	tcase_add_loop_test(tc, out_of_range, 0, 2);
	tcase_add_loop_test(tc, malformed, 0, 2 * ARRAY_SIZE(malformed_names));
	tcase_add_test(tc, async_batch);
	tcase_add_loop_test(tc, large_request_in_steps, 0, 2);
	tcase_add_test(tc, sync_wakeup_budget);
	tcase_add_test(tc, sync_reset_between_steps);
	tcase_add_test(tc, async_reset_in_flight);
	tcase_add_test(tc, async_destroy_in_flight);
	tcase_add_loop_test(tc, limiter_state_in_snapshot, 0, 2);
	tcase_add_loop_test(tc, update_path_cuts_partial, 0, 2);
	tcase_add_loop_test(tc, fifo_refused, 0, 2);
	tcase_add_test(tc, sixteen_async_drives);
	tcase_add_loop_test(tc, update_path, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(blk_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
