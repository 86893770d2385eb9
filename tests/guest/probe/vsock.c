// SPDX-License-Identifier: MIT
/*
 * A polled virtio-vsock driver, stream sockets only.
 *
 * probe.action=vsock-echo: listen on probe.port (default 1234) and send
 *   back every byte of every connection, as many at once as the host opens
 *   (up to VS_MAX_CONNS). A received buffer is echoed in place (its header
 *   rewritten, the same memory put on the transmit queue), so the bytes
 *   are never copied; a buffer waits while the host has no credit, and the
 *   credit we give is only what we have echoed. probe.vsock_sink=1 drops
 *   the bytes instead (host -> guest throughput); probe.vsock_deaf=1 never
 *   answers a connection request. Each time the last
 *   connection ends: "probe: vsock idle accepted=N resets=R bytes=B".
 * probe.action=vsock-connect: open probe.vsock_conns connections to host
 *   port probe.port; probe.vsock_mode=echo (default) sends probe.vsock_bytes
 *   of a pattern on each and checks that they come back; send only sends
 *   them (guest -> host throughput); close sends until the host has given
 *   no credit for STALL_MS (its reader does not read), then closes. Then
 *   SHUTDOWN, and the host's RST.
 * probe.action=vsock-hostile: packets no driver sends (wrong cids, an
 *   unknown op and type, lengths the chain lacks), then bytes beyond the
 *   host's credit on a connection to probe.port, whose reader never reads;
 *   then a new connection to show the device still serves.
 * A transport reset event (after a snapshot restore) drops every
 * connection: "probe: vsock transport reset dropped=N".
 */
#include <stddef.h>

#include <linux/virtio_vsock.h>

#include "actions.h"
#include "cmdline.h"
#include "lib.h"
#include "mem.h"
#include "serial.h"
#include "time.h"
#include "virtq.h"

#define RXQ		0
#define TXQ		1
#define EVQ		2
#define QSIZE		256
#define EV_BUFS		4
#define BUF		4096
#define HDR		sizeof(struct virtio_vsock_hdr)
#define PAYLOAD		(BUF - HDR)
#define BUF_ALLOC	(32 * 1024)	/* credit given to the host, per connection */
#define VS_MAX_CONNS	1200
#define HASH		1024
#define HOST_CID	2
#define NONE		0xffff
#define FIRST_PORT	40000		/* our ports for connections we open */
#define PATTERN		251		/* byte at stream offset o is o % 251 */
#define STALL_MS	500		/* no credit that long: the host is not reading */

static_assert(sizeof(struct virtio_vsock_hdr) == 44, "virtio-vsock header");

enum { S_FREE, S_CONNECTING, S_OPEN };

struct conn {
	uint8_t state;
	bool shut;			/* the host sends no more: RST once echoed */
	bool refused, reset, bad;
	uint16_t hnext;
	uint32_t local, peer;		/* our port, the host's */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	uint32_t fwd_cnt, fwd_sent;
	uint16_t held_head, held_tail;	/* received buffers waiting for host credit */
	uint64_t sent, got;		/* vsock-connect: bytes sent, bytes back */
	uint64_t stall_end;		/* vsock-connect close: when to give up on the host */
};

struct vs {
	struct virtio_dev *dev;
	struct virtq rx, tx, ev;
	uint64_t cid;
	uint8_t *rx_bufs;		/* QSIZE buffers of BUF */
	uint16_t held_next[QSIZE];
	uint8_t *ctl;			/* QSIZE headers for control packets */
	uint16_t ctl_free[QSIZE];
	unsigned int nr_ctl_free;
	uint8_t *data;			/* vsock-connect: QSIZE buffers of BUF */
	uint16_t data_free[QSIZE];
	unsigned int nr_data_free;
	uint8_t *pattern;		/* PATTERN + BUF bytes of the pattern */
	uint32_t *ev_bufs;
	struct conn *conns;
	uint16_t hash[HASH];
	unsigned int open, accepted, resets, transport_resets;
	uint32_t port;			/* listening, or the host's to connect to */
	bool sink, deaf, close_on_stall;
	uint64_t bytes;
	uint32_t stray_rsts;		/* RSTs for no connection (hostile mode) */
	bool tx_unkicked;		/* chains added since the last kick */
};

static struct vs vs;

/* ---- connections ---- */

static unsigned int hash_of(uint32_t local, uint32_t peer)
{
	return (peer * 31 + local) % HASH;
}

static struct conn *find(uint32_t local, uint32_t peer)
{
	uint16_t i = vs.hash[hash_of(local, peer)];

	while (i != NONE && (vs.conns[i].local != local || vs.conns[i].peer != peer))
		i = vs.conns[i].hnext;
	return i == NONE ? NULL : &vs.conns[i];
}

static struct conn *conn_new(uint32_t local, uint32_t peer, uint8_t state)
{
	unsigned int i, h = hash_of(local, peer);
	struct conn *c;

	for (i = 0; i < VS_MAX_CONNS && vs.conns[i].state != S_FREE; i++)
		;
	if (i == VS_MAX_CONNS)
		return NULL;
	c = &vs.conns[i];
	memset(c, 0, sizeof(*c));
	c->state = state;
	c->local = local;
	c->peer = peer;
	c->held_head = c->held_tail = NONE;
	c->hnext = vs.hash[h];
	vs.hash[h] = (uint16_t)i;
	vs.open++;
	return c;
}

static void post_rx(uint8_t *buf)
{
	struct vbuf b = { mem_addr(buf), BUF, true };

	virtq_add(&vs.rx, &b, 1, buf);
}

static void conn_free(struct conn *c)
{
	uint16_t *p = &vs.hash[hash_of(c->local, c->peer)];
	uint16_t idx = (uint16_t)(c - vs.conns);

	while (*p != idx)
		p = &vs.conns[*p].hnext;
	*p = c->hnext;
	while (c->held_head != NONE) {
		uint16_t b = c->held_head;

		c->held_head = vs.held_next[b];
		post_rx(vs.rx_bufs + (size_t)b * BUF);
	}
	c->state = S_FREE;
	vs.open--;
	if (!vs.open && vs.port && vs.accepted)
		serial_printf("probe: vsock idle accepted=%u resets=%u bytes=%lu\n", vs.accepted,
			      vs.resets, vs.bytes);
}

static uint32_t host_credit(const struct conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight > c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* ---- packets to the host ---- */

static void fill(struct virtio_vsock_hdr *h, const struct conn *c, uint32_t local,
		 uint32_t peer, uint16_t op, uint32_t len)
{
	*h = (struct virtio_vsock_hdr){
		.src_cid = vs.cid, .dst_cid = HOST_CID, .src_port = local, .dst_port = peer,
		.len = len, .type = VIRTIO_VSOCK_TYPE_STREAM, .op = op,
		.buf_alloc = BUF_ALLOC, .fwd_cnt = c ? c->fwd_cnt : 0,
	};
}

static void reclaim(const void *token)
{
	const uint8_t *p = token;

	if (p >= vs.rx_bufs && p < vs.rx_bufs + QSIZE * BUF)
		post_rx((uint8_t *)p);
	else if (p >= vs.ctl && p < vs.ctl + QSIZE * HDR)
		vs.ctl_free[vs.nr_ctl_free++] = (uint16_t)((p - vs.ctl) / HDR);
	else
		vs.data_free[vs.nr_data_free++] = (uint16_t)((p - vs.data) / BUF);
}

/* Finished transmit chains back to their pools; received ones go back to the device. */
static void tx_reclaim(void)
{
	void *token;
	bool reposted = false;

	while ((token = virtq_get(&vs.tx, NULL))) {
		reclaim(token);
		reposted |= (const uint8_t *)token >= vs.rx_bufs &&
			    (const uint8_t *)token < vs.rx_bufs + QSIZE * BUF;
	}
	if (reposted)
		virtq_kick(&vs.rx);
}

/* One kick for all the chains added since the last: each kick is a VM exit. */
static void tx_kick(void)
{
	if (vs.tx_unkicked)
		virtq_kick(&vs.tx);
	vs.tx_unkicked = false;
}

/* Wait (bounded) for a free transmit descriptor. */
static bool tx_room(void)
{
	uint64_t deadline = time_deadline(VIRTIO_TIMEOUT_MS);

	if (!vs.tx.nr_free)
		tx_kick();
	while (!vs.tx.nr_free) {
		tx_reclaim();
		if (!vs.tx.nr_free && time_passed(deadline)) {
			serial_puts("probe: vsock tx timeout\n");
			return false;
		}
	}
	return true;
}

static void tx_send(void *buf, uint32_t len)
{
	struct vbuf b = { mem_addr(buf), len, false };

	if (!tx_room())
		return;
	virtq_add(&vs.tx, &b, 1, buf);
	vs.tx_unkicked = true;
}

/* A control packet (no payload) from a header of its own. */
static void send_ctl(struct conn *c, uint32_t local, uint32_t peer, uint16_t op, uint32_t flags)
{
	struct virtio_vsock_hdr *h;

	while (!vs.nr_ctl_free && tx_room())
		tx_reclaim();
	if (!vs.nr_ctl_free)
		return;
	h = (struct virtio_vsock_hdr *)(vs.ctl + vs.ctl_free[--vs.nr_ctl_free] * HDR);
	fill(h, c, local, peer, op, 0);
	h->flags = flags;
	if (c)
		c->fwd_sent = c->fwd_cnt;
	tx_send(h, HDR);
}

static void conn_ctl(struct conn *c, uint16_t op, uint32_t flags)
{
	send_ctl(c, c->local, c->peer, op, flags);
}

/* Echo the buffers waiting, oldest first, while the host has room for them. */
static void flush_held(struct conn *c)
{
	while (c->held_head != NONE) {
		uint16_t b = c->held_head;
		struct virtio_vsock_hdr *h = (void *)(vs.rx_bufs + (size_t)b * BUF);
		uint32_t len = h->len;

		if (host_credit(c) < len || !tx_room())
			return;
		c->held_head = vs.held_next[b];
		if (c->held_head == NONE)
			c->held_tail = NONE;
		c->fwd_cnt += len;	/* echoed: room again for as much */
		c->tx_cnt += len;
		fill(h, c, c->local, c->peer, VIRTIO_VSOCK_OP_RW, len);
		c->fwd_sent = c->fwd_cnt;
		tx_send(h, HDR + len);
	}
	if (c->shut) {
		conn_ctl(c, VIRTIO_VSOCK_OP_RST, 0);
		conn_free(c);
	}
}

/* ---- packets from the host ---- */

static void on_data(struct conn *c, uint8_t *buf, const struct virtio_vsock_hdr *h)
{
	uint16_t b = (uint16_t)((buf - vs.rx_bufs) / BUF);

	vs.bytes += h->len;
	if (vs.port && vs.sink) {
		c->fwd_cnt += h->len;
		post_rx(buf);
		if (c->fwd_cnt - c->fwd_sent >= BUF_ALLOC / 2)
			conn_ctl(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
		return;
	}
	if (!vs.port) {		/* vsock-connect: check the bytes come back as sent */
		if (memcmp(buf + HDR, vs.pattern + c->got % PATTERN, h->len))
			c->bad = true;
		c->got += h->len;
		c->fwd_cnt += h->len;
		post_rx(buf);
		if (c->fwd_cnt - c->fwd_sent >= BUF_ALLOC / 2)
			conn_ctl(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
		return;
	}
	vs.held_next[b] = NONE;
	if (c->held_tail == NONE)
		c->held_head = b;
	else
		vs.held_next[c->held_tail] = b;
	c->held_tail = b;
	flush_held(c);
}

static void on_request(const struct virtio_vsock_hdr *h)
{
	struct conn *c = NULL;

	if (vs.deaf)
		return;		/* the host's request waits for an answer that never comes */
	if (vs.port && h->dst_port == vs.port)
		c = conn_new(h->dst_port, h->src_port, S_OPEN);
	if (!c) {
		send_ctl(NULL, h->dst_port, h->src_port, VIRTIO_VSOCK_OP_RST, 0);
		return;
	}
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	vs.accepted++;
	conn_ctl(c, VIRTIO_VSOCK_OP_RESPONSE, 0);
}

/* One received packet; true when its buffer was kept (echo) or already given back. */
static bool on_packet(uint8_t *buf, uint32_t used)
{
	const struct virtio_vsock_hdr *h = (const void *)buf;
	struct conn *c;

	if (used < HDR || h->len > used - HDR || h->dst_cid != vs.cid) {
		serial_printf("probe: vsock bad packet used=%u len=%u\n", used, h->len);
		return false;
	}
	c = find(h->dst_port, h->src_port);
	if (c && c->reset)
		return false;	/* vsock-connect keeps a finished connection for its report */
	if (h->op == VIRTIO_VSOCK_OP_REQUEST) {
		on_request(h);
		return false;
	}
	if (!c) {
		if (h->op == VIRTIO_VSOCK_OP_RST)
			vs.stray_rsts++;
		else
			send_ctl(NULL, h->dst_port, h->src_port, VIRTIO_VSOCK_OP_RST, 0);
		return false;
	}
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c->state == S_CONNECTING)
			c->state = S_OPEN;
		break;
	case VIRTIO_VSOCK_OP_RW:
		if (c->state == S_OPEN && h->len) {
			on_data(c, buf, h);
			return true;
		}
		break;
	case VIRTIO_VSOCK_OP_RST:
		if (c->state == S_CONNECTING)
			c->refused = true;
		c->reset = true;
		vs.resets++;
		if (vs.port && vs.resets <= 4)
			serial_printf("probe: vsock reset by host port=%u bytes=%lu\n", c->peer,
				      vs.bytes);
		if (vs.port)
			conn_free(c);
		return false;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (vs.port) {
			c->shut = true;
			flush_held(c);
			return false;
		}
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		conn_ctl(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
		break;
	}
	if (vs.port && c->state == S_OPEN)
		flush_held(c);
	return false;
}

static void transport_reset(void)
{
	unsigned int dropped = 0, i;

	for (i = 0; i < VS_MAX_CONNS; i++) {
		if (vs.conns[i].state == S_FREE || vs.conns[i].reset)
			continue;
		vs.conns[i].reset = true;
		if (vs.port)
			conn_free(&vs.conns[i]);
		dropped++;
	}
	vs.transport_resets++;
	serial_printf("probe: vsock transport reset dropped=%u\n", dropped);
}

/* Everything the device finished: transmits, received packets, events. */
static void poll_once(void)
{
	uint32_t len;
	uint8_t *buf;
	uint32_t *ev;
	bool reposted = false;

	tx_reclaim();
	while ((buf = virtq_get(&vs.rx, &len))) {
		if (!on_packet(buf, len))
			post_rx(buf);
		reposted = true;
	}
	while ((ev = virtq_get(&vs.ev, &len))) {
		struct vbuf b = { mem_addr(ev), sizeof(*ev), true };

		if (len >= sizeof(*ev) && *ev == VIRTIO_VSOCK_EVENT_TRANSPORT_RESET)
			transport_reset();
		virtq_add(&vs.ev, &b, 1, ev);
		virtq_kick(&vs.ev);
	}
	if (reposted)
		virtq_kick(&vs.rx);
	tx_kick();
}

/* ---- bring-up ---- */

static int vs_open(void)
{
	unsigned int i;

	vs.dev = virtio_find(VIRTIO_ID_VSOCK, "vsock");
	if (!vs.dev || virtio_start(vs.dev, 0) || virtq_init(&vs.rx, vs.dev, RXQ, QSIZE) ||
	    virtq_init(&vs.tx, vs.dev, TXQ, QSIZE) || virtq_init(&vs.ev, vs.dev, EVQ, EV_BUFS))
		return -1;
	vs.cid = virtio_config64(vs.dev, 0);
	vs.rx_bufs = mem_alloc((uint64_t)vs.rx.num * BUF, 4096);
	vs.ctl = mem_alloc((uint64_t)QSIZE * HDR, 64);
	vs.ev_bufs = mem_zalloc(sizeof(uint32_t) * EV_BUFS, 8);
	vs.conns = mem_zalloc(sizeof(struct conn) * VS_MAX_CONNS, 64);
	for (i = 0; i < HASH; i++)
		vs.hash[i] = NONE;
	for (i = 0; i < QSIZE; i++)
		vs.ctl_free[i] = (uint16_t)i;
	vs.nr_ctl_free = QSIZE;
	virtio_driver_ok(vs.dev);
	for (i = 0; i < vs.rx.num; i++)
		post_rx(vs.rx_bufs + (size_t)i * BUF);
	for (i = 0; i < EV_BUFS; i++) {
		struct vbuf b = { mem_addr(&vs.ev_bufs[i]), sizeof(uint32_t), true };

		virtq_add(&vs.ev, &b, 1, &vs.ev_bufs[i]);
	}
	virtq_kick(&vs.rx);
	virtq_kick(&vs.ev);
	return 0;
}

void vsock_echo_action(void)
{
	vs.port = (uint32_t)cmdline_num("probe.port=", 1234);
	vs.sink = cmdline_num("probe.vsock_sink=", 0);
	vs.deaf = cmdline_num("probe.vsock_deaf=", 0);
	if (vs_open())
		return;
	serial_printf("probe: vsock %s ready cid=%lu port=%u\n", vs.sink ? "sink" : "echo",
		      vs.cid, vs.port);
	for (;;)
		poll_once();
}

/* ---- vsock-connect, vsock-hostile ---- */

static void data_bufs(void)
{
	unsigned int i;

	vs.data = mem_alloc((uint64_t)QSIZE * BUF, 4096);
	for (i = 0; i < QSIZE; i++)
		vs.data_free[i] = (uint16_t)i;
	vs.nr_data_free = QSIZE;
	vs.pattern = mem_alloc(PATTERN + BUF, 64);
	for (i = 0; i < PATTERN + BUF; i++)
		vs.pattern[i] = (uint8_t)(i % PATTERN);
}

/* One RW packet of the pattern at c's offset; credit says how much unless ignored. */
static uint32_t send_chunk(struct conn *c, uint64_t left, bool ignore_credit)
{
	uint32_t len = (uint32_t)MIN(PAYLOAD, left);
	struct virtio_vsock_hdr *h;
	uint8_t *buf;

	if (!ignore_credit)
		len = MIN(len, host_credit(c));
	if (!len || !vs.nr_data_free || !tx_room())
		return 0;
	buf = vs.data + (size_t)vs.data_free[--vs.nr_data_free] * BUF;
	h = (struct virtio_vsock_hdr *)buf;
	fill(h, c, c->local, c->peer, VIRTIO_VSOCK_OP_RW, len);
	memcpy(buf + HDR, vs.pattern + c->sent % PATTERN, len);
	c->fwd_sent = c->fwd_cnt;
	c->tx_cnt += len;
	c->sent += len;
	tx_send(buf, HDR + len);
	return len;
}

static struct conn *open_conn(uint32_t local, uint32_t port)
{
	struct conn *c = conn_new(local, port, S_CONNECTING);

	if (c)
		conn_ctl(c, VIRTIO_VSOCK_OP_REQUEST, 0);
	return c;
}

/* Until c is open or reset; false on timeout or refusal. */
static bool wait_open(struct conn *c)
{
	uint64_t deadline = time_deadline(VIRTIO_TIMEOUT_MS);

	while (c->state == S_CONNECTING && !c->reset && !time_passed(deadline))
		poll_once();
	return c->state == S_OPEN && !c->reset;
}

/* vsock-connect close: no credit for STALL_MS, our last bytes wait in the device. */
static bool stalled(struct conn *c)
{
	if (!vs.close_on_stall || host_credit(c)) {
		c->stall_end = 0;
		return false;
	}
	if (!c->stall_end)
		c->stall_end = time_deadline(STALL_MS);
	return time_passed(c->stall_end);
}

/* A connection is done once the host reset it (after our SHUTDOWN, or refusing it). */
static bool step(struct conn *c, uint64_t total, bool echo)
{
	if (c->reset)
		return true;
	if (c->state != S_OPEN)
		return false;
	while (c->sent < total && send_chunk(c, total - c->sent, false))
		;
	tx_kick();
	if (!c->shut && ((c->sent == total && (!echo || c->got >= total)) || stalled(c))) {
		conn_ctl(c, VIRTIO_VSOCK_OP_SHUTDOWN,
			 VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
		c->shut = true;
	}
	return false;
}

static void connect_report(unsigned int n, uint64_t total, bool echo, uint64_t cycles)
{
	unsigned int ok = 0, refused = 0, bad = 0, i;
	uint64_t moved = 0, rate;

	for (i = 0; i < n; i++) {
		struct conn *c = &vs.conns[i];

		refused += c->refused;
		bad += c->bad || (!c->refused && echo && c->got != total);
		ok += !c->refused && !c->bad && c->sent == total && (!echo || c->got == total);
		moved += echo ? c->got : c->sent;
	}
	rate = time_rate(moved * 10, cycles, 1);
	serial_printf("probe: vsock connect conns=%u ok=%u refused=%u bad=%u bytes=%lu "
		      "MBps=%lu.%lu\n", n, ok, refused, bad, moved, rate / 10, rate % 10);
}

void vsock_connect_action(void)
{
	uint32_t port = (uint32_t)cmdline_num("probe.port=", 1234);
	uint64_t total = cmdline_num("probe.vsock_bytes=", 65536);
	unsigned int n = (unsigned int)MIN(cmdline_num("probe.vsock_conns=", 1), VS_MAX_CONNS);
	uint64_t deadline;
	const char *mode;
	size_t mode_len;
	bool named = cmdline_value("probe.vsock_mode=", &mode, &mode_len);
	bool echo = !(named && (str_eq(mode, mode_len, "send") || str_eq(mode, mode_len, "close")));
	unsigned int done = 0, i;
	uint64_t start;

	vs.close_on_stall = named && str_eq(mode, mode_len, "close");
	if (vs_open())
		return;
	data_bufs();
	deadline = time_deadline(cmdline_num("probe.vsock_timeout_ms=", 60000));
	start = rdtsc();
	for (i = 0; i < n; i++)
		open_conn(FIRST_PORT + i, port);
	while (done < n && !time_passed(deadline)) {
		poll_once();
		for (done = 0, i = 0; i < n; i++)
			done += step(&vs.conns[i], total, echo);
	}
	if (done < n)
		serial_printf("probe: vsock connect timeout done=%u\n", done);
	connect_report(n, total, echo, rdtsc() - start);
}

/* A packet no driver sends: its header as given, a chain of len bytes. */
static void send_raw(uint64_t src_cid, uint64_t dst_cid, uint16_t type, uint16_t op,
		     uint32_t hdr_len, uint32_t chain)
{
	struct virtio_vsock_hdr *h;

	if (!vs.nr_ctl_free)
		return;
	h = (struct virtio_vsock_hdr *)(vs.ctl + vs.ctl_free[--vs.nr_ctl_free] * HDR);
	fill(h, NULL, 5000, 6000, op, hdr_len);
	h->src_cid = src_cid;
	h->dst_cid = dst_cid;
	h->type = type;
	tx_send(h, chain);
}

static void settle_ms(uint64_t ms)
{
	uint64_t deadline = time_deadline(ms);

	while (!time_passed(deadline))
		poll_once();
}

void vsock_hostile_action(void)
{
	uint32_t port = (uint32_t)cmdline_num("probe.port=", 1234);
	uint64_t limit = cmdline_num("probe.vsock_bytes=", 16 << 20);
	struct conn *c;

	if (vs_open())
		return;
	data_bufs();
	send_raw(vs.cid + 1, HOST_CID, 1, VIRTIO_VSOCK_OP_REQUEST, 0, HDR);	/* not our cid */
	send_raw(vs.cid, 7, 1, VIRTIO_VSOCK_OP_REQUEST, 0, HDR);		/* not the host */
	send_raw(vs.cid, HOST_CID, 1, 99, 0, HDR);				/* no such op */
	send_raw(vs.cid, HOST_CID, 2, VIRTIO_VSOCK_OP_REQUEST, 0, HDR);	/* seqpacket */
	send_raw(vs.cid, HOST_CID, 1, VIRTIO_VSOCK_OP_RW, 1000, HDR);	/* len beyond the chain */
	send_raw(vs.cid, HOST_CID, 1, VIRTIO_VSOCK_OP_RW, 0, 10);		/* half a header */
	settle_ms(300);
	serial_printf("probe: vsock hostile strays=%u\n", vs.stray_rsts);

	c = open_conn(FIRST_PORT, port);
	if (!c || !wait_open(c)) {
		serial_puts("probe: vsock hostile cannot connect\n");
		return;
	}
	while (!c->reset && c->sent < limit) {
		send_chunk(c, limit - c->sent, true);
		tx_kick();
		poll_once();
	}
	settle_ms(300);
	serial_printf("probe: vsock hostile credit reset=%u after=%lu\n", c->reset, c->sent);

	c = open_conn(FIRST_PORT + 1, port);
	serial_printf("probe: vsock hostile alive=%u\n", c && wait_open(c));
}
