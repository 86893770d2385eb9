// SPDX-License-Identifier: MIT
/*
 * probe.action=hostile: abuse every virtio device found, one case at a
 * time, and keep going. Each case starts from a cleanly initialised
 * device, breaks one rule of the virtio spec, waits a little for the
 * device to react (an answer or DEVICE_NEEDS_RESET), prints the status
 * and resets the device. Last, each blk, net and rng device is brought up
 * once more and must serve a good request.
 */
#include <stddef.h>

#include <linux/if_ether.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_net.h>

#include "actions.h"
#include "cmdline.h"
#include "io.h"
#include "lib.h"
#include "mem.h"
#include "serial.h"
#include "time.h"
#include "virtq.h"

#define QUEUE_SIZE	64
#define BEYOND_RAM	0xffffffff00000000ULL
#define MMIO_HOLE	0xd0000000ULL
#define LEN_4G		0xffffffffu
#define JUNK		0xdeadbeefu
#define BAD_QUEUE	99
#define AVAIL_JUMP	1000
#define STATUS_POLL_MS	1
#define CONFIG_END	0x1000		/* the most a window can hold */

/* blk-flood: 64 reads of 254 x 16 MiB (just under 4 GiB each) into one buffer. */
#define FLOOD_REQS	QUEUE_SIZE
#define FLOOD_SEGS	254
#define FLOOD_SEG	(16u << 20)
#define FLOOD_ENTRIES	(FLOOD_SEGS + 2)
#define FLOOD_HDR	32		/* per request: header, then its status byte at 16 */
#define FLOOD_RUN_MS	100		/* the flood's I/O is under way by then */
#define FLOOD_WATCH_MS	200		/* how long the old ring is watched after a reset */
#define FLOOD_MARK	0x5a5a5a5a5a5a5a5aULL
#define PAGE		4096

/* The scratch page a request points into. */
#define BUF_DATA	512
#define BUF_STATUS	1024
#define BUF_TABLE	2048		/* two indirect tables of 16 entries */
#define TABLE_ENTRIES	16
#define RNG_LEN		64
#define NET_FRAME	60

struct hostile {
	struct virtio_dev *dev;
	struct virtq queues[2];
	struct virtq *q;		/* the queue under abuse */
	unsigned int nr_queues;
	uint8_t *buf;
	bool kicked;			/* wait for the device's answer */
};

struct hcase {
	const char *name;
	void (*run)(struct hostile *h);
	bool raw;			/* brings the device up itself */
	bool rings;			/* needs a device that takes requests */
	uint32_t only;			/* runs on this device type only, and only when named */
};

static bool takes_requests(const struct virtio_dev *d)
{
	return d->id == VIRTIO_ID_BLOCK || d->id == VIRTIO_ID_NET || d->id == VIRTIO_ID_RNG;
}

/* Start the device with every queue it needs; net is abused on tx. */
static int bring_up(struct hostile *h)
{
	unsigned int i;

	h->nr_queues = h->dev->id == VIRTIO_ID_NET ? 2 : 1;
	if (virtio_start(h->dev, VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC)))
		return -1;
	for (i = 0; i < h->nr_queues; i++) {
		if (virtq_init(&h->queues[i], h->dev, (uint16_t)i, QUEUE_SIZE))
			return -1;
	}
	h->q = &h->queues[h->nr_queues - 1];
	h->buf = mem_zalloc(4096, 4096);
	virtio_driver_ok(h->dev);
	return 0;
}

/* The device's simplest good request, as buffers in h->buf. */
static unsigned int good_chain(struct hostile *h, struct vbuf *v)
{
	uint64_t buf = mem_addr(h->buf);

	switch (h->dev->id) {
	case VIRTIO_ID_BLOCK: {
		struct virtio_blk_outhdr *hdr = (void *)h->buf;

		hdr->type = VIRTIO_BLK_T_IN;
		hdr->sector = 0;
		h->buf[BUF_STATUS] = 0xff;
		v[0] = (struct vbuf){ buf, sizeof(*hdr), false };
		v[1] = (struct vbuf){ buf + BUF_DATA, 512, true };
		v[2] = (struct vbuf){ buf + BUF_STATUS, 1, true };
		return 3;
	}
	case VIRTIO_ID_NET: {
		struct ethhdr *eth = (void *)(h->buf + sizeof(struct virtio_net_hdr_v1));

		memset(h->buf, 0, sizeof(struct virtio_net_hdr_v1));
		memset(eth->h_dest, 0xff, ETH_ALEN);
		eth->h_proto = __builtin_bswap16(ETH_P_802_EX1);
		v[0] = (struct vbuf){ buf, sizeof(struct virtio_net_hdr_v1) + NET_FRAME, false };
		return 1;
	}
	default:
		v[0] = (struct vbuf){ buf, RNG_LEN, true };
		return 1;
	}
}

/* v[0..n) as descriptors at table[0..n), linked in order. */
static void write_chain(struct vring_desc *table, const struct vbuf *v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		table[i].addr = v[i].addr;
		table[i].len = v[i].len;
		table[i].flags = (v[i].write ? VRING_DESC_F_WRITE : 0) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0);
		table[i].next = (uint16_t)(i + 1);
	}
}

static void go(struct hostile *h, uint16_t head)
{
	virtq_publish(h->q, head);
	virtq_kick(h->q);
	h->kicked = true;
}

/* A good request with one field of its first buffer spoiled. */
static void spoiled(struct hostile *h, uint64_t addr, uint64_t len)
{
	struct vbuf v[3];
	unsigned int n = good_chain(h, v);

	if (addr)
		v[0].addr = addr;
	if (len != UINT64_MAX)
		v[0].len = (uint32_t)len;
	write_chain(h->q->desc, v, n);
	go(h, 0);
}

static void addr_high(struct hostile *h)
{
	spoiled(h, BEYOND_RAM, UINT64_MAX);
}

static void addr_mmio(struct hostile *h)
{
	spoiled(h, MMIO_HOLE, UINT64_MAX);
}

static void len_zero(struct hostile *h)
{
	spoiled(h, 0, 0);
}

static void len_4g(struct hostile *h)
{
	spoiled(h, 0, LEN_4G);
}

/* Readable buffers marked writable and the other way round. */
static void wrong_direction(struct hostile *h)
{
	struct vbuf v[3];
	unsigned int i, n = good_chain(h, v);

	for (i = 0; i < n; i++)
		v[i].write = !v[i].write;
	write_chain(h->q->desc, v, n);
	go(h, 0);
}

/* The last descriptor's next points back at the head: a chain without end. */
static void chain_loop(struct hostile *h)
{
	struct vbuf v[3];
	unsigned int n = good_chain(h, v);

	write_chain(h->q->desc, v, n);
	h->q->desc[n - 1].flags |= VRING_DESC_F_NEXT;
	h->q->desc[n - 1].next = 0;
	go(h, 0);
}

static void next_out_of_range(struct hostile *h)
{
	struct vbuf v[3];
	unsigned int n = good_chain(h, v);

	write_chain(h->q->desc, v, n);
	h->q->desc[n - 1].flags |= VRING_DESC_F_NEXT;
	h->q->desc[n - 1].next = (uint16_t)(h->q->num + 5);
	go(h, 0);
}

static struct vring_desc *table(struct hostile *h, unsigned int i)
{
	return (struct vring_desc *)(h->buf + BUF_TABLE) + i * TABLE_ENTRIES;
}

/* An indirect table whose only entry is itself an indirect descriptor. */
static void indirect_nested(struct hostile *h)
{
	struct vring_desc *outer = table(h, 0), *inner = table(h, 1);
	struct vbuf v[3];
	unsigned int n = good_chain(h, v);

	write_chain(inner, v, n);
	outer[0] = (struct vring_desc){ mem_addr(inner), n * sizeof(*inner),
					VRING_DESC_F_INDIRECT, 0 };
	h->q->desc[0] = (struct vring_desc){ mem_addr(outer), sizeof(*outer),
					     VRING_DESC_F_INDIRECT, 0 };
	go(h, 0);
}

static void indirect_len_odd(struct hostile *h)
{
	struct vring_desc *t = table(h, 0);
	struct vbuf v[3];
	unsigned int n = good_chain(h, v);

	write_chain(t, v, n);
	h->q->desc[0] = (struct vring_desc){ mem_addr(t), n * sizeof(*t) + 8,
					     VRING_DESC_F_INDIRECT, 0 };
	go(h, 0);
}

/* avail->idx claims far more entries than the ring holds. */
static void avail_jump(struct hostile *h)
{
	struct vbuf v[3];

	write_chain(h->q->desc, v, good_chain(h, v));
	h->q->avail->ring[0] = 0;
	barrier();
	h->q->avail->idx = AVAIL_JUMP;
	virtq_kick(h->q);
	h->kicked = true;
}

static void head_out_of_range(struct hostile *h)
{
	go(h, h->q->num);
}

/* A good request on the abused queue, to see whether it still serves. */
static void good_request(struct hostile *h)
{
	struct vbuf v[3];

	write_chain(h->q->desc, v, good_chain(h, v));
	go(h, 0);
}

static void queue_num_after_ok(struct hostile *h)
{
	virtio_write(h->dev, VIRTIO_MMIO_QUEUE_SEL, h->q->index);
	virtio_write(h->dev, VIRTIO_MMIO_QUEUE_NUM, 3);
	good_request(h);
}

/* Set up a queue that does not exist, then use the real one. */
static void queue_sel_99(struct hostile *h)
{
	virtio_write(h->dev, VIRTIO_MMIO_QUEUE_SEL, BAD_QUEUE);
	(void)virtio_read(h->dev, VIRTIO_MMIO_QUEUE_NUM_MAX);
	virtio_write(h->dev, VIRTIO_MMIO_QUEUE_NUM, 8);
	virtio_write(h->dev, VIRTIO_MMIO_QUEUE_DESC_LOW, JUNK);
	virtio_write(h->dev, VIRTIO_MMIO_QUEUE_READY, 1);
	virtio_write(h->dev, VIRTIO_MMIO_QUEUE_NOTIFY, BAD_QUEUE);
	virtio_write(h->dev, VIRTIO_MMIO_QUEUE_SEL, h->q->index);
	good_request(h);
}

static void notify_bad_queue(struct hostile *h)
{
	virtio_write(h->dev, VIRTIO_MMIO_QUEUE_NOTIFY, BAD_QUEUE);
	virtio_write(h->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffff);
	virtio_write(h->dev, VIRTIO_MMIO_QUEUE_NOTIFY, JUNK);
	h->kicked = true;
}

/* Move the live descriptor table beyond RAM, then use it. */
static void ring_addr_high(struct hostile *h)
{
	virtio_write(h->dev, VIRTIO_MMIO_QUEUE_SEL, h->q->index);
	virtio_write(h->dev, VIRTIO_MMIO_QUEUE_READY, 0);
	virtio_write(h->dev, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)BEYOND_RAM);
	virtio_write(h->dev, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(BEYOND_RAM >> 32));
	virtio_write(h->dev, VIRTIO_MMIO_QUEUE_READY, 1);
	go(h, 0);
}

static void handshake_to_driver(struct hostile *h)
{
	virtio_reset(h->dev);
	virtio_write(h->dev, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	virtio_write(h->dev, VIRTIO_MMIO_STATUS,
		     VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
}

/* Every feature bit, offered or not; FEATURES_OK must not stick. */
static void features_unoffered(struct hostile *h)
{
	handshake_to_driver(h);
	virtio_write(h->dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	virtio_write(h->dev, VIRTIO_MMIO_DRIVER_FEATURES, ~0u);
	virtio_write(h->dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	virtio_write(h->dev, VIRTIO_MMIO_DRIVER_FEATURES, ~0u);
	virtio_write(h->dev, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
		     VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
}

/* Take VERSION_1 back while the device runs. */
static void features_after_ok(struct hostile *h)
{
	virtio_write(h->dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	virtio_write(h->dev, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	virtio_write(h->dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	virtio_write(h->dev, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	good_request(h);
}

/* DRIVER_OK without features or queues, then a notify. */
static void driver_ok_early(struct hostile *h)
{
	handshake_to_driver(h);
	virtio_write(h->dev, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
		     VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
	virtio_write(h->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	h->kicked = true;
}

/* Read-only registers written with junk must keep their values. */
static void readonly_regs(struct hostile *h)
{
	static const uint16_t regs[] = {
		VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_VERSION, VIRTIO_MMIO_DEVICE_ID,
		VIRTIO_MMIO_VENDOR_ID, VIRTIO_MMIO_DEVICE_FEATURES,
		VIRTIO_MMIO_QUEUE_NUM_MAX, VIRTIO_MMIO_INTERRUPT_STATUS,
		VIRTIO_MMIO_CONFIG_GENERATION,
	};
	uint32_t before[ARRAY_SIZE(regs)];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(regs); i++)
		before[i] = virtio_read(h->dev, regs[i]);
	for (i = 0; i < ARRAY_SIZE(regs); i++)
		virtio_write(h->dev, regs[i], JUNK);
	for (i = 0; i < 3; i++) {	/* magic, version and id are constants */
		if (virtio_read(h->dev, regs[i]) != before[i])
			serial_printf("probe: hostile %s register 0x%x changed\n",
				      h->dev->name, regs[i]);
	}
}

/* Byte, word, unaligned and quadword accesses to 32-bit registers. */
static void odd_width(struct hostile *h)
{
	uint64_t base = h->dev->base;

	(void)mmio_read8(base + VIRTIO_MMIO_STATUS);
	(void)mmio_read16(base + VIRTIO_MMIO_MAGIC_VALUE + 2);
	(void)mmio_read32(base + VIRTIO_MMIO_MAGIC_VALUE + 2);
	(void)mmio_read32(base + VIRTIO_MMIO_STATUS + 1);
	(void)mmio_read64(base + VIRTIO_MMIO_MAGIC_VALUE);
	mmio_write8(base + VIRTIO_MMIO_QUEUE_SEL, BAD_QUEUE);
	mmio_write16(base + VIRTIO_MMIO_QUEUE_NOTIFY, h->q->index);
	mmio_write64(base + VIRTIO_MMIO_QUEUE_DESC_LOW, mem_addr(h->q->desc));
	mmio_write32(base + VIRTIO_MMIO_INTERRUPT_ACK + 1, ~0u);
	virtio_write(h->dev, VIRTIO_MMIO_QUEUE_SEL, h->q->index);
	good_request(h);
}

/* Config space: writes to read-only fields, reads at the window's end. */
static void config_abuse(struct hostile *h)
{
	uint64_t end = MIN(h->dev->size, CONFIG_END);
	uint32_t before = virtio_config32(h->dev, 0);

	virtio_write(h->dev, VIRTIO_MMIO_CONFIG, JUNK);
	virtio_write(h->dev, VIRTIO_MMIO_CONFIG + 4, JUNK);
	if (end >= VIRTIO_MMIO_CONFIG + 16) {
		(void)mmio_read32(h->dev->base + end - 4);
		(void)mmio_read64(h->dev->base + end - 12);
	}
	if (virtio_config32(h->dev, 0) != before)
		serial_printf("probe: hostile %s config changed\n", h->dev->name);
}

/* The flood's buffers: one data buffer, and per request a header, a status and a table. */
struct flood {
	uint8_t *data;
	uint8_t *hdrs;
	struct vring_desc *tables;
};

/* Every request reads from sector 0 into the same 16 MiB: no RAM limits the guest. */
static void flood_queue(struct hostile *h, struct flood *f)
{
	unsigned int i, j;

	f->data = mem_alloc(FLOOD_SEG, PAGE);
	f->hdrs = mem_zalloc(FLOOD_REQS * FLOOD_HDR, 16);
	f->tables = mem_alloc(FLOOD_REQS * FLOOD_ENTRIES * sizeof(*f->tables), 16);
	for (i = 0; i < FLOOD_REQS; i++) {
		struct virtio_blk_outhdr *hdr = (void *)(f->hdrs + i * FLOOD_HDR);
		struct vring_desc *t = f->tables + i * FLOOD_ENTRIES;

		hdr->type = VIRTIO_BLK_T_IN;
		hdr->sector = 0;
		f->hdrs[i * FLOOD_HDR + 16] = 0xff;
		t[0] = (struct vring_desc){ mem_addr(hdr), sizeof(*hdr), VRING_DESC_F_NEXT, 1 };
		for (j = 1; j <= FLOOD_SEGS; j++)
			t[j] = (struct vring_desc){ mem_addr(f->data), FLOOD_SEG,
						    VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
						    (uint16_t)(j + 1) };
		t[j] = (struct vring_desc){ mem_addr(f->hdrs + i * FLOOD_HDR + 16), 1,
					    VRING_DESC_F_WRITE, 0 };
		h->q->desc[i] = (struct vring_desc){ mem_addr(t), FLOOD_ENTRIES * sizeof(*t),
						     VRING_DESC_F_INDIRECT, 0 };
		virtq_publish(h->q, (uint16_t)i);
	}
	virtq_kick(h->q);
	serial_printf("probe: hostile %s flood queued=%u\n", h->dev->name, FLOOD_REQS);
}

/* Queue the flood and wait (probe.hostile_ms) for it to be served. */
static void flood(struct hostile *h)
{
	uint64_t deadline = time_deadline(cmdline_num("probe.hostile_ms=", 200));
	struct flood f;

	flood_queue(h, &f);
	while (h->q->used->idx != FLOOD_REQS && !time_passed(deadline))
		;
	serial_printf("probe: hostile %s flood completed=%u\n", h->dev->name,
		      (uint16_t)h->q->used->idx);
}

/* Marks on the old buffers: a device that still writes them after its reset is caught. */
static void flood_mark(struct flood *f)
{
	unsigned int i;

	for (i = 0; i < FLOOD_SEG / PAGE; i++)
		*(volatile uint64_t *)(f->data + i * PAGE) = FLOOD_MARK;
	for (i = 0; i < FLOOD_REQS; i++)
		f->hdrs[i * FLOOD_HDR + 16] = 0xaa;
}

static bool flood_marked(const struct flood *f)
{
	unsigned int i;

	for (i = 0; i < FLOOD_SEG / PAGE; i++)
		if (*(volatile uint64_t *)(f->data + i * PAGE) != FLOOD_MARK)
			return false;
	for (i = 0; i < FLOOD_REQS; i++)
		if (*(volatile uint8_t *)(f->hdrs + i * FLOOD_HDR + 16) != 0xaa)
			return false;
	return true;
}

/*
 * The flood, then a reset while it is under way: Status must read 0 within
 * the usual 5 s, counted from the write (a device that holds the vCPU in
 * the write is caught too), and nothing may touch the old ring or buffers
 * afterwards.
 */
static void flood_reset(struct hostile *h)
{
	uint64_t deadline = time_deadline(FLOOD_RUN_MS), start;
	struct flood f;
	uint16_t used;

	flood_queue(h, &f);
	while (!time_passed(deadline))
		;
	start = rdtsc();
	deadline = time_deadline(VIRTIO_TIMEOUT_MS);
	virtio_write(h->dev, VIRTIO_MMIO_STATUS, 0);
	while (virtio_status(h->dev) && !time_passed(deadline))
		;
	serial_printf("probe: hostile %s flood reset %s ms=%lu\n", h->dev->name,
		      time_passed(deadline) ? "timeout" : "done", time_us(rdtsc() - start) / 1000);
	used = h->q->used->idx;
	flood_mark(&f);
	deadline = time_deadline(FLOOD_WATCH_MS);
	while (!time_passed(deadline))
		;
	serial_printf("probe: hostile %s flood old ring %s\n", h->dev->name,
		      used == h->q->used->idx && flood_marked(&f) ? "untouched" :
		      "written after the reset");
}

static const struct hcase cases[] = {
	{ "desc-addr-high",	addr_high,		false, true, 0 },
	{ "desc-addr-mmio",	addr_mmio,		false, true, 0 },
	{ "desc-len-zero",	len_zero,		false, true, 0 },
	{ "desc-len-4g",	len_4g,			false, true, 0 },
	{ "desc-direction",	wrong_direction,	false, true, 0 },
	{ "desc-loop",		chain_loop,		false, true, 0 },
	{ "desc-next-range",	next_out_of_range,	false, true, 0 },
	{ "indirect-nested",	indirect_nested,	false, true, 0 },
	{ "indirect-len-odd",	indirect_len_odd,	false, true, 0 },
	{ "avail-idx-jump",	avail_jump,		false, true, 0 },
	{ "avail-head-range",	head_out_of_range,	false, true, 0 },
	{ "ring-addr-high",	ring_addr_high,		false, true, 0 },
	{ "queue-num-after-ok",	queue_num_after_ok,	false, true, 0 },
	{ "queue-sel-99",	queue_sel_99,		false, true, 0 },
	{ "features-after-ok",	features_after_ok,	false, true, 0 },
	{ "odd-width",		odd_width,		false, true, 0 },
	{ "notify-bad-queue",	notify_bad_queue,	false, false, 0 },
	{ "features-unoffered",	features_unoffered,	true, false, 0 },
	{ "driver-ok-early",	driver_ok_early,	true, false, 0 },
	{ "readonly-regs",	readonly_regs,		false, false, 0 },
	{ "config-write",	config_abuse,		false, false, 0 },
	{ "blk-flood",		flood,			false, true, VIRTIO_ID_BLOCK },
	{ "blk-flood-reset",	flood_reset,		false, true, VIRTIO_ID_BLOCK },
};

/* probe.hostile=NAME runs that case alone; cases for one device type run only when named. */
static bool chosen(const struct hcase *c, const struct virtio_dev *d)
{
	const char *want;
	size_t len;

	if (c->rings && !takes_requests(d))
		return false;
	if (c->only && c->only != d->id)
		return false;
	if (!cmdline_value("probe.hostile=", &want, &len))
		return !c->only;
	return str_eq(want, len, c->name);
}

/* Until the device answers or asks for a reset, for at most ms. */
static void settle_device(struct hostile *h, uint64_t ms)
{
	uint64_t deadline = time_deadline(ms), poll = 0;

	while (!time_passed(deadline)) {
		if (h->q && h->q->used->idx != h->q->last_used)
			return;
		if (time_passed(poll)) {
			if (virtio_status(h->dev) & VIRTIO_CONFIG_S_NEEDS_RESET)
				return;
			poll = time_deadline(STATUS_POLL_MS);
		}
	}
}

/* One case on a fresh device; false if the device would not reset. */
static bool run_case(struct hostile *h, const struct hcase *c, uint64_t wait_ms)
{
	uint64_t mark = mem_mark();
	bool ok;

	h->q = NULL;
	h->kicked = false;
	if (c->raw) {
		c->run(h);
	} else if (!bring_up(h)) {
		c->run(h);
	} else {
		serial_printf("probe: hostile %s %s setup failed\n", h->dev->name, c->name);
	}
	if (h->kicked)
		settle_device(h, wait_ms);
	serial_printf("probe: hostile %s %s status=0x%02x\n", h->dev->name, c->name,
		      virtio_status(h->dev));
	ok = !virtio_reset(h->dev);
	mem_release(mark);
	return ok;
}

/* After all that, one good request must be served. */
static void recover(struct hostile *h)
{
	uint64_t mark = mem_mark();
	struct vbuf v[3];
	uint32_t len = 0;
	bool served;

	h->q = NULL;
	served = !bring_up(h) && virtq_add(h->q, v, good_chain(h, v), h->buf) >= 0;
	if (served) {
		virtq_kick(h->q);
		served = virtq_poll(h->q, &len, time_deadline(VIRTIO_TIMEOUT_MS)) &&
			 (h->dev->id != VIRTIO_ID_BLOCK || h->buf[BUF_STATUS] == VIRTIO_BLK_S_OK) &&
			 (h->dev->id != VIRTIO_ID_RNG || len);
	}
	if (served)
		serial_printf("probe: hostile recovered %s\n", h->dev->name);
	else
		serial_printf("probe: hostile %s not recovered status=0x%02x\n",
			      h->dev->name, virtio_status(h->dev));
	virtio_reset(h->dev);
	mem_release(mark);
}

void hostile_action(void)
{
	uint64_t wait_ms = cmdline_num("probe.hostile_ms=", 200);
	struct virtio_dev *devs;
	int i, n = virtio_devices(&devs);
	unsigned int c;

	for (i = 0; i < n; i++) {
		struct hostile h = { .dev = &devs[i] };

		for (c = 0; c < ARRAY_SIZE(cases); c++) {
			if (!chosen(&cases[c], h.dev))
				continue;
			if (!run_case(&h, &cases[c], wait_ms))
				break;
		}
	}
	for (i = 0; i < n; i++) {
		struct hostile h = { .dev = &devs[i] };

		if (takes_requests(h.dev))
			recover(&h);
	}
	serial_puts("probe: hostile done\n");
}
