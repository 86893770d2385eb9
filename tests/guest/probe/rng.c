// SPDX-License-Identifier: MIT
/*
 * probe.action=rng: read probe.rng_kib KiB from the entropy device in
 * 4 KiB buffers, several in flight, and count the 8-byte words that are
 * not zero (random data almost never has one).
 */
#include <stddef.h>

#include "actions.h"
#include "cmdline.h"
#include "lib.h"
#include "mem.h"
#include "serial.h"
#include "time.h"
#include "virtq.h"

#define RNG_BUF		4096
#define RNG_INFLIGHT	8
#define RNG_EMPTY_MAX	100	/* zero-length answers in a row before giving up */

static size_t zero_words(const uint64_t *p, size_t n)
{
	size_t zeros = 0, i = 0;

	while ((i += find64(p + i, 0, n - i)) < n) {
		zeros++;
		i++;
	}
	return zeros;
}

static void post(struct virtq *q, uint8_t *buf)
{
	struct vbuf b = { mem_addr(buf), RNG_BUF, true };

	virtq_add(q, &b, 1, buf);
}

void rng_action(void)
{
	uint64_t want = cmdline_num("probe.rng_kib=", 1024) * 1024;
	struct virtio_dev *d = virtio_find(VIRTIO_ID_RNG, "rng");
	uint64_t got = 0, words = 0, zeros = 0, start;
	unsigned int i, empty = 0;
	struct virtq q;
	uint8_t *bufs;

	if (!d || virtio_start(d, 0) || virtq_init(&q, d, 0, 64))
		return;
	virtio_driver_ok(d);
	bufs = mem_alloc(RNG_BUF * RNG_INFLIGHT, RNG_BUF);
	start = rdtsc();
	for (i = 0; i < RNG_INFLIGHT; i++)
		post(&q, bufs + i * RNG_BUF);
	virtq_kick(&q);
	while (got < want) {
		uint32_t len = 0;
		uint8_t *buf = virtq_wait(&q, &len);

		if (!buf)
			return;
		len = MIN(len, RNG_BUF);
		empty = len ? 0 : empty + 1;
		if (empty > RNG_EMPTY_MAX) {
			serial_puts("probe: rng returns nothing\n");
			return;
		}
		words += len / 8;
		zeros += zero_words((const uint64_t *)buf, len / 8);
		got += len;
		post(&q, buf);
		virtq_kick(&q);
	}
	i = (unsigned int)time_rate(got * 10, rdtsc() - start, 1);
	serial_printf("probe: rng bytes=%lu words=%lu nonzero=%lu MBps=%u.%u\n",
		      got, words, words - zeros, i / 10, i % 10);
	virtio_reset(d);
}
