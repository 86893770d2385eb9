// SPDX-License-Identifier: MIT
/*
 * probe.action=net: send probe.net_count broadcast frames of probe.net_size
 * bytes, then receive probe.net_rx frames from the host. Both ways a
 * frame is EtherType 0x88b5 (local experimental) with a payload of
 *   u32 sequence (big-endian), u32 sum (big-endian), data
 * where sum is the 32-bit sum of the data read as little-endian 32-bit
 * words, the last one zero-padded. No offloads and no merged rx buffers:
 * every rx buffer takes the 12-byte header plus a whole frame.
 */
#include <stddef.h>

#include <linux/if_ether.h>
#include <linux/virtio_net.h>

#include "actions.h"
#include "cmdline.h"
#include "lib.h"
#include "mem.h"
#include "netdev.h"
#include "serial.h"
#include "time.h"
#include "virtq.h"

#define RX_QUEUE	0
#define TX_QUEUE	1
#define QUEUE_SIZE	256
#define DATA_WORD	0x0706050403020100ULL	/* tx data: bytes 0..7 over and over */

struct probe_frame {
	struct ethhdr eth;
	uint32_t seq;
	uint32_t sum;
} __packed;
static_assert(sizeof(struct probe_frame) == 22, "probe frame header");
static_assert(NET_HDR == 12, "virtio_net_hdr_v1");

struct unaligned32 {
	uint32_t v;
} __packed;

struct counts {
	uint64_t frames;
	uint64_t bytes;
	uint64_t bad;
	uint64_t cycles;
};

static uint32_t sum32(const uint8_t *p, size_t len)
{
	uint32_t sum = 0, tail = 0;
	size_t i;

	for (i = 0; i + 4 <= len; i += 4)
		sum += ((const struct unaligned32 *)(p + i))->v;
	for (; i < len; i++)
		tail |= (uint32_t)p[i] << (8 * (i % 4));
	return sum + tail;
}

void post_rx(struct net *n, uint8_t *buf)
{
	struct vbuf b = { mem_addr(buf), NET_BUF, true };

	virtq_add(&n->rx, &b, 1, buf);
}

static void read_mac(struct net *n)
{
	static const uint8_t own[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
	bool from_device = virtio_has(n->dev, VIRTIO_NET_F_MAC);
	unsigned int i;

	for (i = 0; i < ETH_ALEN; i++)
		n->mac[i] = from_device ?
			mmio_read8(n->dev->base + VIRTIO_MMIO_CONFIG +
				   offsetof(struct virtio_net_config, mac) + i) :
			own[i];
	serial_printf("probe: net mac=%02x:%02x:%02x:%02x:%02x:%02x%s\n", n->mac[0],
		      n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5],
		      from_device ? "" : " (own)");
}

int net_open(struct net *n)
{
	unsigned int i;

	n->dev = virtio_find(VIRTIO_ID_NET, "net");
	if (!n->dev || virtio_start(n->dev, VIRTIO_BIT(VIRTIO_NET_F_MAC)) ||
	    virtq_init(&n->rx, n->dev, RX_QUEUE, QUEUE_SIZE) ||
	    virtq_init(&n->tx, n->dev, TX_QUEUE, QUEUE_SIZE))
		return -1;
	virtio_driver_ok(n->dev);
	read_mac(n);
	n->rx_bufs = mem_alloc((uint64_t)n->rx.num * NET_BUF, 4096);
	n->tx_bufs = mem_alloc((uint64_t)n->tx.num * NET_BUF, 4096);
	n->tx_free = mem_alloc(sizeof(*n->tx_free) * n->tx.num, 8);
	for (i = 0; i < n->rx.num; i++)
		post_rx(n, n->rx_bufs + i * NET_BUF);
	virtq_kick(&n->rx);
	for (i = 0; i < n->tx.num; i++)
		n->tx_free[i] = (uint16_t)i;
	n->nr_tx_free = n->tx.num;
	return 0;
}

/* Every tx buffer: a zero header and a frame whose data never changes. */
static uint32_t prepare_tx(struct net *n, uint32_t size)
{
	uint64_t words = (uint64_t)n->tx.num * NET_BUF / 8;
	struct probe_frame *f;
	uint32_t sum = 0;
	unsigned int i;

	memset64(n->tx_bufs, DATA_WORD, words);
	for (i = 0; i < n->tx.num; i++) {
		uint8_t *buf = n->tx_bufs + i * NET_BUF;

		memset(buf, 0, NET_HDR);
		f = (struct probe_frame *)(buf + NET_HDR);
		memset(f->eth.h_dest, 0xff, ETH_ALEN);
		memcpy(f->eth.h_source, n->mac, ETH_ALEN);
		f->eth.h_proto = __builtin_bswap16(ETH_P_802_EX1);
		if (!i)
			sum = sum32((uint8_t *)(f + 1), size - sizeof(*f));
		f->sum = __builtin_bswap32(sum);
	}
	return sum;
}

static void tx_done(struct net *n, uint8_t *buf, struct counts *c, uint32_t size)
{
	n->tx_free[n->nr_tx_free++] = (uint16_t)((buf - n->tx_bufs) / NET_BUF);
	c->frames++;
	c->bytes += size;
}

static bool send_all(struct net *n, uint64_t count, uint32_t size, struct counts *c)
{
	uint64_t sent = 0, start = rdtsc();

	prepare_tx(n, size);
	while (c->frames < count) {
		uint8_t *buf;
		bool added = false;

		while (sent < count && n->nr_tx_free) {
			struct vbuf b;

			buf = n->tx_bufs + n->tx_free[--n->nr_tx_free] * NET_BUF;
			((struct probe_frame *)(buf + NET_HDR))->seq =
				__builtin_bswap32((uint32_t)sent++);
			b = (struct vbuf){ mem_addr(buf), NET_HDR + size, false };
			virtq_add(&n->tx, &b, 1, buf);
			added = true;
		}
		if (added)
			virtq_kick(&n->tx);
		buf = virtq_wait(&n->tx, NULL);
		if (!buf)
			return false;
		do {
			tx_done(n, buf, c, size);
		} while ((buf = virtq_get(&n->tx, NULL)));
	}
	c->cycles = rdtsc() - start;
	return true;
}

/* A received frame: ours (counted, checked) or anything else (ignored). */
static void rx_frame(const uint8_t *buf, uint32_t len, struct counts *c)
{
	const struct probe_frame *f = (const void *)(buf + NET_HDR);
	uint32_t size;

	if (len < NET_HDR + sizeof(f->eth) ||
	    f->eth.h_proto != __builtin_bswap16(ETH_P_802_EX1))
		return;
	size = MIN(len, NET_BUF) - NET_HDR;
	c->frames++;
	c->bytes += size;
	if (size < sizeof(*f) ||
	    sum32((const uint8_t *)(f + 1), size - sizeof(*f)) != __builtin_bswap32(f->sum))
		c->bad++;
}

static void receive(struct net *n, uint64_t want, struct counts *c)
{
	uint64_t start = 0;

	serial_puts("probe: net rx ready\n");
	while (c->frames < want) {
		uint32_t len = 0;
		uint8_t *buf = virtq_wait(&n->rx, &len);

		if (!buf)
			break;
		if (!start)
			start = rdtsc();
		do {
			rx_frame(buf, len, c);
			post_rx(n, buf);
		} while ((buf = virtq_get(&n->rx, &len)));
		virtq_kick(&n->rx);
	}
	c->cycles = start ? rdtsc() - start : 0;
}

static void report(const char *way, const struct counts *c, bool bad)
{
	uint64_t mbps10 = time_rate(c->bytes * 10, c->cycles, 1);

	serial_printf("probe: net %s frames=%lu bytes=%lu", way, c->frames, c->bytes);
	if (bad)
		serial_printf(" bad=%lu", c->bad);
	serial_printf(" MBps=%lu.%lu fps=%lu\n", mbps10 / 10, mbps10 % 10,
		      time_rate(c->frames, c->cycles, 1000000));
}

void net_action(void)
{
	uint64_t count = cmdline_num("probe.net_count=", 1000);
	uint64_t size = cmdline_num("probe.net_size=", ETH_FRAME_LEN);
	uint64_t want = cmdline_num("probe.net_rx=", 0);
	struct counts tx = { 0 }, rx = { 0 };
	struct net n;

	if (size < sizeof(struct probe_frame) || size > ETH_FRAME_LEN) {
		serial_printf("probe: net size %lu outside %zu..%u\n", size,
			      sizeof(struct probe_frame), ETH_FRAME_LEN);
		return;
	}
	if (net_open(&n))
		return;
	if (!send_all(&n, count, (uint32_t)size, &tx))
		return;
	report("tx", &tx, false);
	if (want) {
		receive(&n, want, &rx);
		report("rx", &rx, true);
	}
	virtio_reset(n.dev);
}
