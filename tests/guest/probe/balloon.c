// SPDX-License-Identifier: MIT
/*
 * probe.action=balloon: a small virtio-balloon driver. It first writes every
 * page of a pool (64 MiB up, probe.balloon_pool_mib MiB) so that the host
 * holds them, then follows num_pages for ever: the balloon is the pool's
 * first pages, inflated and deflated in batches of 256 PFNs as Linux does,
 * a deflated page written and read back. With the features offered it also
 * returns statistics when the device polls, reports the pool's last
 * probe.balloon_report_mib MiB as free, and answers a hinting run with the
 * pool's last probe.balloon_hint_mib MiB. probe.balloon_hostile=1 first
 * sends what a driver must not: PFNs outside RAM, twice, past the target,
 * and deflates of pages never inflated.
 *
 * Lines: "probe: balloon ready", "probe: balloon actual=N", "probe: balloon
 * deflated ok", "probe: balloon stats sent=N", "probe: balloon reported mib=N us=N",
 * "probe: balloon hint cmd=N ranges=N", "probe: balloon hint done",
 * "probe: balloon hostile sent=N".
 */
#include <linux/virtio_balloon.h>
#include <stddef.h>

#include "actions.h"
#include "cmdline.h"
#include "io.h"
#include "lib.h"
#include "mem.h"
#include "serial.h"
#include "time.h"
#include "virtq.h"

#define POOL_START	(64ULL << 20)
#define PAGE		4096ULL
#define BATCH		256		/* PFNs per buffer, as Linux */
#define RANGE		(2ULL << 20)	/* a reported or hinted range: Linux's pageblock */
#define PATTERN		0x5a5a5a5a5a5a5a5aULL
#define CFG(f)		offsetof(struct virtio_balloon_config, f)

struct stat_entry {
	uint16_t tag;
	uint64_t val;
} __packed;

struct balloon {
	struct virtio_dev *d;
	struct virtq inflate, deflate, stats, hint, report;
	uint32_t *pfns;
	struct stat_entry *st;
	uint64_t pool_pages;
	uint32_t actual;
	uint32_t hint_cmd;		/* the last run answered */
	uint32_t *cmd;			/* the command id buffer */
	uint64_t stats_sent;
};

static void wait_ms(uint64_t ms)
{
	uint64_t deadline = time_deadline(ms);

	while (!time_passed(deadline))
		;
}

static uint32_t pool_pfn(uint64_t i)
{
	return (uint32_t)(POOL_START / PAGE + i);
}

static volatile uint64_t *page_word(uint64_t i)
{
	return (volatile uint64_t *)(uintptr_t)(POOL_START + i * PAGE);
}

/*
 * One word a page is enough for the host to hold the page, and quick:
 * this code's instructions may be emulated one by one.
 */
static void touch(uint64_t first, uint64_t pages)
{
	for (uint64_t i = first; i < first + pages; i++)
		*page_word(i) = PATTERN ^ i;
}

/* Send n PFNs on q and wait for the device to take them. */
static int send_pfns(struct virtq *q, const uint32_t *pfns, unsigned int n)
{
	struct vbuf b = { mem_addr(pfns), n * 4, false };
	uint32_t len;

	if (virtq_add(q, &b, 1, (void *)pfns) < 0)
		return -1;
	virtq_kick(q);
	return virtq_wait(q, &len) ? 0 : -1;
}

/* One batch toward target: the pool's first pages make up the balloon. */
static int step(struct balloon *b, uint32_t target)
{
	bool grow = target > b->actual;
	uint32_t n = grow ? target - b->actual : b->actual - target;

	n = MIN(n, BATCH);
	for (uint32_t i = 0; i < n; i++)
		b->pfns[i] = pool_pfn(grow ? b->actual + i : b->actual - 1 - i);
	if (send_pfns(grow ? &b->inflate : &b->deflate, b->pfns, n))
		return -1;
	b->actual = grow ? b->actual + n : b->actual - n;
	virtio_write(b->d, VIRTIO_MMIO_CONFIG + CFG(actual), b->actual);
	return 0;
}

/* A deflated page is the guest's again: it must take a write and give it back. */
static void check_deflated(uint32_t from, uint32_t to)
{
	uint32_t i;

	touch(from, to - from);
	for (i = from; i < to && *page_word(i) == (PATTERN ^ i); i++)
		;
	serial_puts(i == to ? "probe: balloon deflated ok\n" :
		    "probe: balloon deflated pages lost writes\n");
}

static void follow(struct balloon *b)
{
	uint32_t target = virtio_config32(b->d, CFG(num_pages)), before = b->actual;

	target = MIN(target, b->pool_pages);
	if (target == b->actual)
		return;
	while (b->actual != target)
		if (step(b, target))
			return;
	serial_printf("probe: balloon actual=%u\n", b->actual);
	if (b->actual < before)
		check_deflated(b->actual, before);
}

static void post_stats(struct balloon *b)
{
	struct vbuf v = { mem_addr(b->st), 4 * sizeof(*b->st), false };

	b->st[0] = (struct stat_entry){ VIRTIO_BALLOON_S_MEMTOT, b->pool_pages * PAGE };
	b->st[1] = (struct stat_entry){ VIRTIO_BALLOON_S_MEMFREE,
					(b->pool_pages - b->actual) * PAGE };
	b->st[2] = (struct stat_entry){ VIRTIO_BALLOON_S_MINFLT, b->stats_sent };
	b->st[3] = (struct stat_entry){ 99, 1 };	/* a tag the device does not know */
	virtq_add(&b->stats, &v, 1, b->st);
	virtq_kick(&b->stats);
	b->stats_sent++;
}

/* The device returned the buffer: it wants fresh figures. */
static void serve_stats(struct balloon *b)
{
	uint32_t len;

	if (!virtio_has(b->d, VIRTIO_BALLOON_F_STATS_VQ) || !virtq_get(&b->stats, &len))
		return;
	post_stats(b);
	serial_printf("probe: balloon stats sent=%lu\n", b->stats_sent);
}

/* Each range one chain of one device-writable buffer, as Linux's reporting. */
static unsigned int send_ranges(struct virtq *q, uint64_t first_page, uint64_t mib)
{
	uint64_t at = POOL_START + first_page * PAGE, end = at + (mib << 20);
	unsigned int n = 0;
	uint32_t len;

	for (; at + RANGE <= end; at += RANGE, n++) {
		struct vbuf v = { at, RANGE, true };

		if (virtq_add(q, &v, 1, (void *)(uintptr_t)at) < 0)
			break;
		virtq_kick(q);
		if (!virtq_wait(q, &len))
			break;
	}
	return n;
}

static void send_cmd(struct balloon *b, uint32_t cmd)
{
	struct vbuf v = { mem_addr(b->cmd), sizeof(*b->cmd), false };
	uint32_t len;

	*b->cmd = cmd;
	virtq_add(&b->hint, &v, 1, b->cmd);
	virtq_kick(&b->hint);
	virtq_wait(&b->hint, &len);
}

static void serve_hint(struct balloon *b)
{
	uint64_t mib = cmdline_num("probe.balloon_hint_mib=", 16);
	uint32_t cmd;
	unsigned int n;

	if (!virtio_has(b->d, VIRTIO_BALLOON_F_FREE_PAGE_HINT))
		return;
	cmd = virtio_config32(b->d, CFG(free_page_hint_cmd_id));
	if (cmd == b->hint_cmd)
		return;
	b->hint_cmd = cmd;
	if (cmd == VIRTIO_BALLOON_CMD_ID_DONE) {
		serial_puts("probe: balloon hint done\n");
		return;
	}
	if (cmd == VIRTIO_BALLOON_CMD_ID_STOP)
		return;
	send_cmd(b, cmd);
	n = send_ranges(&b->hint, b->pool_pages - mib * 256, mib);
	send_cmd(b, VIRTIO_BALLOON_CMD_ID_STOP);
	serial_printf("probe: balloon hint cmd=%u ranges=%u\n", cmd, n);
}

/*
 * The pool's last mib MiB reported as free, after probe.balloon_report_wait_ms
 * (so that the host can read its RSS first), timed by the TSC.
 */
static void report_free(struct balloon *b, uint64_t mib)
{
	uint64_t start;
	unsigned int n;

	wait_ms(cmdline_num("probe.balloon_report_wait_ms=", 0));
	start = rdtsc();
	n = send_ranges(&b->report, b->pool_pages - mib * 256, mib);
	serial_printf("probe: balloon reported mib=%u us=%lu\n", n * 2,
		      time_us(rdtsc() - start));
}

/*
 * 1024 pages with the target at 0 (the device lets a driver finish one batch
 * of 256: 768 refused), 3 PFNs outside RAM, a page twice more, then 4
 * deflates of pages never inflated: 777 refused. The 256 taken go back.
 */
static void hostile(struct balloon *b)
{
	uint64_t base = b->pool_pages / 2;
	uint32_t bad[] = { 0xffffffffu, 0xc0000u, 0x7ffffffu };	/* 16 TiB, the hole, 512 GiB */
	uint32_t i, sent = 0;

	for (uint32_t k = 0; k < 4; k++, sent += BATCH) {
		for (i = 0; i < BATCH; i++)
			b->pfns[i] = pool_pfn(base + k * BATCH + i);
		send_pfns(&b->inflate, b->pfns, BATCH);
	}
	memcpy(b->pfns, bad, sizeof(bad));
	b->pfns[3] = b->pfns[4] = pool_pfn(base);
	send_pfns(&b->inflate, b->pfns, 5);
	for (i = 0; i < 4; i++)
		b->pfns[i] = pool_pfn(base + 2048 + i);
	send_pfns(&b->deflate, b->pfns, 4);
	sent += 9;
	for (i = 0; i < BATCH; i++)
		b->pfns[i] = pool_pfn(base + i);
	send_pfns(&b->deflate, b->pfns, BATCH);
	serial_printf("probe: balloon hostile sent=%u\n", sent);
}

/* Queues after the first two exist for the features taken, in feature order. */
static int setup(struct balloon *b)
{
	uint16_t q = 2;

	if (virtq_init(&b->inflate, b->d, 0, 64) || virtq_init(&b->deflate, b->d, 1, 64))
		return -1;
	if (virtio_has(b->d, VIRTIO_BALLOON_F_STATS_VQ) && virtq_init(&b->stats, b->d, q++, 8))
		return -1;
	if (virtio_has(b->d, VIRTIO_BALLOON_F_FREE_PAGE_HINT) &&
	    virtq_init(&b->hint, b->d, q++, 64))
		return -1;
	if (virtio_has(b->d, VIRTIO_BALLOON_F_REPORTING) && virtq_init(&b->report, b->d, q, 64))
		return -1;
	return 0;
}

void balloon_action(void)
{
	struct balloon b = { .d = virtio_find(VIRTIO_ID_BALLOON, "balloon") };
	uint64_t report = cmdline_num("probe.balloon_report_mib=", 0);

	if (!b.d || virtio_start(b.d, VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ) |
				 VIRTIO_BIT(VIRTIO_BALLOON_F_DEFLATE_ON_OOM) |
				 VIRTIO_BIT(VIRTIO_BALLOON_F_FREE_PAGE_HINT) |
				 VIRTIO_BIT(VIRTIO_BALLOON_F_REPORTING)) || setup(&b))
		return;
	b.pool_pages = cmdline_num("probe.balloon_pool_mib=", 128) * 256;
	b.pfns = mem_alloc(BATCH * sizeof(uint32_t), PAGE);
	b.st = mem_alloc(PAGE, PAGE);
	b.cmd = mem_alloc(sizeof(*b.cmd), 64);
	virtio_driver_ok(b.d);
	touch(0, b.pool_pages);
	serial_printf("probe: balloon ready pool_mib=%lu\n", b.pool_pages / 256);
	if (virtio_has(b.d, VIRTIO_BALLOON_F_STATS_VQ))
		post_stats(&b);
	if (cmdline_num("probe.balloon_hostile=", 0))
		hostile(&b);
	if (report && virtio_has(b.d, VIRTIO_BALLOON_F_REPORTING))
		report_free(&b, report);
	for (;;) {
		follow(&b);
		serve_stats(&b);
		serve_hint(&b);
		wait_ms(5);
	}
}
