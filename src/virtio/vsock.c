// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-vsock (virtio 1.2, section 5.10): stream sockets between the guest
 * and Unix sockets on the host, as Firecracker's host side has them.
 * Receive queue 0 (to the guest), transmit queue 1, event queue 2.
 *
 * A host process connects to uds_path and writes "CONNECT <port>\n"; once
 * the guest accepts, it reads "OK <host_port>\n" and bytes flow. A guest
 * connecting to host port P is connected to "<uds_path>_<P>". Every host
 * socket is non-blocking, edge-triggered in one epoll set of the device's
 * own (one watch in the vmm loop, however many connections there are).
 *
 * Flow control is the spec's credit: bytes from the host socket go straight
 * into the guest's receive buffers, never more than the guest's buf_alloc
 * allows (a full guest stops the reading, nothing is buffered); bytes from
 * the guest go straight to the host socket, and what it cannot take yet
 * waits in a buffer of at most VSOCK_BUF_ALLOC, the credit we give. A guest
 * that sends beyond it is reset.
 *
 * No connection waits for ever on a peer gone quiet: a host connection the
 * guest has not accepted within 2 s, and a guest's close whose last bytes
 * the host has not read within 2 s, are reset (Firecracker's timeouts).
 *
 * Connections live on the vmm thread. Register accesses (activate, reset)
 * come from vCPU threads and only set flags; the vmm thread does the rest.
 * A connection killed while events for it may still be in hand is freed at
 * the end of the handler (reap).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <petrel/log.h>
#include <petrel/metrics.h>
#include <petrel/snapshot.h>
#include <petrel/util.h>
#include <petrel/virtio.h>

#include "dev_util.h"
#include "transport.h"

#define RXQ			0
#define TXQ			1
#define EVQ			2
#define HOST_CID		2
#define HDR_LEN			sizeof(struct virtio_vsock_hdr)
#define VSOCK_BUF_ALLOC		KiB(64)		/* what a guest may send ahead, per connection */
#define PKT_MAX			KiB(64)		/* the largest payload taken or given */
#define MAX_CONNS		4096
#define HASH_SIZE		1024
#define LINE_MAX		32		/* "CONNECT 4294967295\n" and some */
#define EVENTS			64
#define STRAY_MAX		256		/* resets owed for packets of no connection */
#define FIRST_LOCAL_PORT	(1u << 30)	/* host ports of host-initiated connections */
#define NOFILE_WANT		(MAX_CONNS + 1024)
/* A REQUEST the guest leaves unanswered, a close waiting on a host that does not read. */
#define CONN_TIMEOUT_NS		(2000 * 1000000ull)

static_assert(sizeof(struct virtio_vsock_hdr) == 44, "virtio-vsock header");
static_assert(sizeof(struct virtio_vsock_event) == 4, "virtio-vsock event");

/* Control packets a connection owes the guest, sent before anything else of it. */
enum {
	P_RST = 1, P_REQUEST = 2, P_RESPONSE = 4, P_SHUTDOWN = 8, P_CREDIT_UPDATE = 16,
	P_CREDIT_REQUEST = 32,
};

enum conn_state {
	C_HANDSHAKE,		/* host connected: reading its "CONNECT <port>\n" */
	C_REQUEST,		/* REQUEST owed or sent to the guest, no RESPONSE yet */
	C_OPEN,
	C_RESET,		/* host socket closed, the RST to the guest still owed */
	C_DEAD,			/* waiting to be freed (reap) */
};

struct conn {
	struct conn *hnext;			/* hash chain by ports */
	struct conn *rx_next;			/* queue of connections with a packet for the guest */
	struct conn *prev, *next;		/* every connection */
	struct conn *dead_next;
	int fd;
	enum conn_state state;
	bool hashed, in_rx;
	uint32_t local_port, peer_port;	/* host side, guest side */
	unsigned int send;			/* P_* */
	uint32_t shut_flags;			/* the SHUTDOWN owed */
	bool readable;				/* the host socket may have bytes (no EAGAIN since) */
	bool host_hup;				/* the host end is gone */
	bool host_eof;				/* read 0: the host sends no more */
	bool guest_no_rcv, guest_no_send;	/* the guest's SHUTDOWN flags */
	bool stalled;				/* readable, the guest out of credit (counted once) */
	uint32_t peer_buf_alloc, peer_fwd_cnt;	/* the guest's credit, as it last said */
	uint32_t tx_cnt;			/* bytes given to the guest */
	uint32_t fwd_cnt, fwd_sent;		/* bytes written to the host; as last told */
	uint8_t *buf;				/* guest bytes the host socket had no room for */
	uint32_t buf_head, buf_len;
	char line[LINE_MAX];
	uint8_t line_len;
	uint64_t expiry;			/* CLOCK_MONOTONIC ns when it is reset; 0: never */
};

struct vsock_metrics {
	uint64_t conns_added;
	uint64_t conns_removed;
	uint64_t resets_sent;		/* RSTs to the guest: refused, vanished, misbehaving */
	uint64_t resets_received;
	uint64_t rx_bytes_count;	/* to the guest */
	uint64_t tx_bytes_count;	/* from the guest */
	uint64_t rx_packets_count;
	uint64_t tx_packets_count;
	uint64_t credit_stalls;		/* a host socket left unread: the guest had no room */
	uint64_t credit_violations;	/* a guest sent beyond the credit given (reset) */
	uint64_t malformed_packets;	/* bad header, cid, type, op or length (dropped or reset) */
	uint64_t host_handshake_fails;	/* a host connection without a good CONNECT line */
	uint64_t conn_timeouts;		/* reset: REQUEST unanswered, or a close stuck on the host */
};

struct vsock {
	struct virtio_dev dev;		/* first: the transport sees only this */
	uint32_t cid;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd, epfd, wake_fd, timer_fd;
	bool watched;			/* epfd is in the vmm loop */
	bool listening;			/* listen_fd is in epfd */
	bool accept_paused;		/* out of fds: wait for a connection to end */
	bool active;			/* DRIVER_OK and not reset since */
	bool reset_event;		/* restored: the driver must hear of it */
	bool rx_stalled;		/* no receive buffer: wait for the guest's kick */
	uint64_t timer_at;		/* when timer_fd fires; 0: disarmed */
	uint32_t next_port;
	unsigned int nr_conns;
	struct conn *hash[HASH_SIZE];
	struct conn *all;
	struct conn *rx_head, *rx_tail;
	struct conn *dead;
	struct { uint32_t local, peer; } stray[STRAY_MAX];
	unsigned int stray_head, stray_len;
	struct virtq_elem elem;
	struct iovec iov[VIRTQ_MAX_SEGS];
	char listen_tag, wake_tag, timer_tag;	/* epoll data of the fds that are not connections */
	struct vsock_metrics m;
};

#define VSOCK_FIELD(f)	{ #f, offsetof(struct vsock, m.f) }
static const struct metrics_field vsock_fields[] = {
	VSOCK_FIELD(conns_added), VSOCK_FIELD(conns_removed), VSOCK_FIELD(resets_sent),
	VSOCK_FIELD(resets_received), VSOCK_FIELD(rx_bytes_count), VSOCK_FIELD(tx_bytes_count),
	VSOCK_FIELD(rx_packets_count), VSOCK_FIELD(tx_packets_count), VSOCK_FIELD(credit_stalls),
	VSOCK_FIELD(credit_violations), VSOCK_FIELD(malformed_packets),
	VSOCK_FIELD(host_handshake_fails), VSOCK_FIELD(conn_timeouts),
	{ "queue_errors", offsetof(struct vsock, dev.metrics.queue_errors) },
	{ "interrupts", offsetof(struct vsock, dev.metrics.interrupts) },
};
static const struct metrics_schema vsock_schema = {
	"vsock", NULL, vsock_fields, ARRAY_SIZE(vsock_fields) };

static struct vsock *to_vsock(struct virtio_dev *dev)
{
	return (struct vsock *)dev;
}

/* ---- packets and credit (pure: unit tests and the fuzzer call these) ---- */

int vsock_pkt_parse(const struct iovec *iov, unsigned int n, uint32_t out_len,
		    uint32_t max_payload, struct vsock_pkt *pkt, const char **why)
{
	struct virtio_vsock_hdr h;

	if (out_len < HDR_LEN || iov_to_buf(iov, n, 0, &h, HDR_LEN) != HDR_LEN) {
		*why = "chain shorter than the packet header";
		return -EINVAL;
	}
	*pkt = (struct vsock_pkt){
		.src_cid = le64toh(h.src_cid), .dst_cid = le64toh(h.dst_cid),
		.src_port = le32toh(h.src_port), .dst_port = le32toh(h.dst_port),
		.len = le32toh(h.len), .type = le16toh(h.type), .op = le16toh(h.op),
		.flags = le32toh(h.flags), .buf_alloc = le32toh(h.buf_alloc),
		.fwd_cnt = le32toh(h.fwd_cnt),
	};
	if (pkt->len > out_len - HDR_LEN) {
		*why = "len longer than the chain";
		return -EINVAL;
	}
	if (pkt->len > max_payload) {
		*why = "len larger than a packet may be";
		return -EINVAL;
	}
	return 0;
}

uint32_t vsock_peer_credit(uint32_t buf_alloc, uint32_t fwd_cnt, uint32_t tx_cnt)
{
	uint32_t in_flight = tx_cnt - fwd_cnt;

	return in_flight > buf_alloc ? 0 : buf_alloc - in_flight;
}

static uint32_t credit(const struct conn *c)
{
	return vsock_peer_credit(c->peer_buf_alloc, c->peer_fwd_cnt, c->tx_cnt);
}

/* ---- connections ---- */

static unsigned int hash_of(uint32_t local, uint32_t peer)
{
	return (local * 2654435761u ^ peer) % HASH_SIZE;
}

static struct conn *lookup(struct vsock *v, uint32_t local, uint32_t peer)
{
	struct conn *c = v->hash[hash_of(local, peer)];

	while (c && (c->local_port != local || c->peer_port != peer))
		c = c->hnext;
	return c;
}

static void hash_add(struct vsock *v, struct conn *c)
{
	struct conn **head = &v->hash[hash_of(c->local_port, c->peer_port)];

	c->hnext = *head;
	*head = c;
	c->hashed = true;
}

static void hash_del(struct vsock *v, struct conn *c)
{
	struct conn **p = &v->hash[hash_of(c->local_port, c->peer_port)];

	while (*p && *p != c)
		p = &(*p)->hnext;
	if (*p)
		*p = c->hnext;
	c->hashed = false;
}

static void update_listen(struct vsock *v);

/* A host socket in the device's epoll set: edge-triggered, so no watch ever changes. */
static struct conn *conn_new(struct vsock *v, int fd, enum conn_state state)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->state = state;
	ev.data.ptr = c;
	if (epoll_ctl(v->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		pr_warn("vsock: cannot watch a connection: %s", strerror(errno));
		close(fd);
		free(c);
		return NULL;
	}
	c->next = v->all;
	if (v->all)
		v->all->prev = c;
	v->all = c;
	v->nr_conns++;
	v->m.conns_added++;
	return c;
}

static void close_host(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->buf_len = 0;
}

/* Forget c; freed at the end of the handler (events for it may still be in hand). */
static void conn_kill(struct vsock *v, struct conn *c)
{
	if (c->state == C_DEAD)
		return;
	close_host(c);
	if (c->hashed)
		hash_del(v, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		v->all = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->state = C_DEAD;
	c->send = 0;
	v->nr_conns--;
	v->m.conns_removed++;
	if (!c->in_rx) {
		c->dead_next = v->dead;
		v->dead = c;
	}
	if (v->accept_paused) {
		v->accept_paused = false;
		update_listen(v);
	}
}

/* Close the host end now, tell the guest with an RST, then forget it. */
static void conn_reset(struct vsock *v, struct conn *c)
{
	if (c->state == C_DEAD || c->state == C_RESET)
		return;
	if (c->state == C_HANDSHAKE || (c->state == C_REQUEST && (c->send & P_REQUEST))) {
		conn_kill(v, c);	/* the guest never heard of it */
		return;
	}
	close_host(c);
	c->state = C_RESET;
	c->send = P_RST;
}

/* ---- timeouts: no connection waits for ever on a peer gone quiet ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A relative time: the vmm filter's timerfd rule. */
static void timer_set(struct vsock *v, uint64_t at, uint64_t now)
{
	uint64_t in = at > now ? at - now : 1;
	struct itimerspec its = {
		.it_value = { .tv_sec = in / 1000000000ull, .tv_nsec = in % 1000000000ull },
	};

	if (timerfd_settime(v->timer_fd, 0, &its, NULL))
		pr_warn("vsock: cannot arm the connection timer: %s", strerror(errno));
	else
		v->timer_at = at;
}

/* Reset c CONN_TIMEOUT_NS from now, unless it moves on first (expiry cleared). */
static void deadline(struct vsock *v, struct conn *c)
{
	uint64_t now;

	if (c->expiry)
		return;
	now = now_ns();
	c->expiry = now + CONN_TIMEOUT_NS;
	if (!v->timer_at)	/* one timeout for all: an armed timer is sooner */
		timer_set(v, c->expiry, now);
}

static void rx_want(struct vsock *v, struct conn *c);

static void time_out(struct vsock *v, struct conn *c)
{
	c->expiry = 0;
	if (c->state != C_REQUEST && c->state != C_OPEN)
		return;
	v->m.conn_timeouts++;
	pr_debug("vsock: host port %u, guest port %u: %s; connection reset", c->local_port,
		 c->peer_port, c->state == C_REQUEST ? "the guest did not answer the request" :
		 "the host did not read the guest's last bytes");
	conn_reset(v, c);
	rx_want(v, c);
}

/* The timer fired: reset what is due, wait for the next. */
static void expire(struct vsock *v)
{
	uint64_t now = now_ns(), next = 0, count;
	struct conn *c, *n;

	if (read(v->timer_fd, &count, sizeof(count)) < 0) {
		/* Not due yet (re-armed since): the scan finds nothing. */
	}
	v->timer_at = 0;
	for (c = v->all; c; c = n) {
		n = c->next;	/* c may leave the list */
		if (c->expiry && c->expiry <= now)
			time_out(v, c);
		else if (c->expiry && (!next || c->expiry < next))
			next = c->expiry;
	}
	if (next)
		timer_set(v, next, now);
}

static void rx_push(struct vsock *v, struct conn *c)
{
	c->rx_next = NULL;
	if (v->rx_tail)
		v->rx_tail->rx_next = c;
	else
		v->rx_head = c;
	v->rx_tail = c;
	c->in_rx = true;
}

static struct conn *rx_pop(struct vsock *v)
{
	struct conn *c = v->rx_head;

	if (!c)
		return NULL;
	v->rx_head = c->rx_next;
	if (!v->rx_head)
		v->rx_tail = NULL;
	c->in_rx = false;
	return c;
}

/* Host bytes the guest can take now. */
static bool data_due(const struct conn *c)
{
	return c->state == C_OPEN && c->readable && !c->host_eof && !c->guest_no_rcv &&
	       credit(c);
}

/* Queue c for the receive queue if it owes the guest a packet. */
static void rx_want(struct vsock *v, struct conn *c)
{
	if (c->state == C_DEAD || c->in_rx)
		return;
	if (c->state == C_OPEN && c->readable && !c->host_eof && !c->guest_no_rcv &&
	    !credit(c) && !c->stalled) {
		c->stalled = true;
		v->m.credit_stalls++;
		c->send |= P_CREDIT_REQUEST;
	}
	if (c->send || data_due(c))
		rx_push(v, c);
}

static void stray_rst(struct vsock *v, uint32_t local, uint32_t peer)
{
	unsigned int i = (v->stray_head + v->stray_len) % STRAY_MAX;

	if (v->stray_len == STRAY_MAX)
		return;		/* a guest flooding us with strays gets some of its RSTs */
	v->stray[i].local = local;
	v->stray[i].peer = peer;
	v->stray_len++;
}

static void reap(struct vsock *v)
{
	while (v->dead) {
		struct conn *c = v->dead;

		v->dead = c->dead_next;
		free(c);
	}
}

/* The driver went away (reset, or the device failed): every connection goes. */
static void teardown(struct vsock *v)
{
	struct conn *c;

	while (v->all)
		conn_kill(v, v->all);
	while ((c = rx_pop(v))) {
		if (c->state == C_DEAD) {
			c->dead_next = v->dead;
			v->dead = c;
		}
	}
	v->stray_len = 0;
}

/* ---- the host side: guest bytes to the host socket ---- */

/* A peer gone is EPIPE, never SIGPIPE, whatever the process does with the signal. */
static ssize_t to_host(int fd, const struct iovec *iov, unsigned int n)
{
	struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n };
	ssize_t w;

	do
		w = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	return w;
}

/* Write from the front of the buffer; false when the host end is gone. */
static bool flush_buf(struct conn *c)
{
	while (c->buf_len) {
		uint32_t first = MIN(c->buf_len, VSOCK_BUF_ALLOC - c->buf_head);
		struct iovec iov[2] = {
			{ c->buf + c->buf_head, first },
			{ c->buf, c->buf_len - first },
		};
		ssize_t n = to_host(c->fd, iov, c->buf_len > first ? 2 : 1);

		if (n < 0)
			return errno == EAGAIN;
		c->buf_head = (c->buf_head + n) % VSOCK_BUF_ALLOC;
		c->buf_len -= n;
		c->fwd_cnt += n;
	}
	free(c->buf);
	c->buf = NULL;
	c->buf_head = 0;
	return true;
}

/* After bytes reached the host: give the guest credit back, finish a shutdown. */
static void after_forward(struct vsock *v, struct conn *c)
{
	if (c->fwd_cnt - c->fwd_sent >= VSOCK_BUF_ALLOC / 2)
		c->send |= P_CREDIT_UPDATE;
	if (!c->guest_no_send)
		return;
	if (c->buf_len) {
		if (c->guest_no_rcv || c->host_eof)
			deadline(v, c);	/* only the host's reading is left */
		return;
	}
	if (c->guest_no_rcv || c->host_eof)
		conn_reset(v, c);	/* both ways done: RST is the spec's close */
	else
		shutdown(c->fd, SHUT_WR);
}

static void flush(struct vsock *v, struct conn *c)
{
	if (c->state != C_OPEN)
		return;
	if (!flush_buf(c)) {
		conn_reset(v, c);
		return;
	}
	after_forward(v, c);
}

/* Keep what the host socket did not take, behind what already waits. */
static void buffer(struct conn *c, const struct iovec *iov, unsigned int n, size_t skip,
		   uint32_t len)
{
	uint32_t tail = (c->buf_head + c->buf_len) % VSOCK_BUF_ALLOC;
	uint32_t first = MIN(len, VSOCK_BUF_ALLOC - tail);

	iov_to_buf(iov, n, skip, c->buf + tail, first);
	iov_to_buf(iov, n, skip + first, c->buf, len - first);
	c->buf_len += len;
}

/* An RW packet's payload (iov, n: len bytes) for the host. */
static void forward(struct vsock *v, struct conn *c, struct iovec *iov, unsigned int n,
		    uint32_t len)
{
	ssize_t w = 0;

	if (c->buf_len + len > VSOCK_BUF_ALLOC) {
		v->m.credit_violations++;
		if (virtio_log_nth(v->m.credit_violations))
			pr_warn("vsock: guest port %u sent %u bytes beyond the credit given; "
				"connection reset", c->peer_port, c->buf_len + len - (uint32_t)VSOCK_BUF_ALLOC);
		conn_reset(v, c);
		return;
	}
	v->m.tx_bytes_count += len;
	if (!c->buf_len) {
		w = to_host(c->fd, iov, n);
		if (w < 0 && errno != EAGAIN) {
			conn_reset(v, c);
			return;
		}
		w = MAX(w, 0);
		c->fwd_cnt += w;
	}
	if ((uint32_t)w < len) {
		if (!c->buf && !(c->buf = malloc(VSOCK_BUF_ALLOC))) {
			conn_reset(v, c);
			return;
		}
		buffer(c, iov, n, w, len - w);
	}
	after_forward(v, c);
}

/* ---- packets to the guest ---- */

static void fill_hdr(struct vsock *v, struct virtio_vsock_hdr *h, uint32_t local, uint32_t peer,
		     uint16_t op)
{
	*h = (struct virtio_vsock_hdr){
		.src_cid = htole64(HOST_CID), .dst_cid = htole64(v->cid),
		.src_port = htole32(local), .dst_port = htole32(peer),
		.type = htole16(VIRTIO_VSOCK_TYPE_STREAM), .op = htole16(op),
	};
}

static void conn_hdr(struct vsock *v, struct conn *c, struct virtio_vsock_hdr *h, uint16_t op)
{
	fill_hdr(v, h, c->local_port, c->peer_port, op);
	h->buf_alloc = htole32(VSOCK_BUF_ALLOC);
	h->fwd_cnt = htole32(c->fwd_cnt);
	c->fwd_sent = c->fwd_cnt;
}

/* A receive buffer into v->elem: 1, 0 when none (wait for a kick), <0 the device failed. */
static int take_rx(struct vsock *v)
{
	int ret = dev_pop(&v->dev, RXQ, &v->elem);

	if (ret == 0)
		v->rx_stalled = true;
	if (ret <= 0)
		return ret;
	if (v->elem.nr_out || v->elem.in_len < HDR_LEN) {
		virtio_dev_fail(&v->dev, "queue 0: rx buffer %s", v->elem.nr_out ?
				"not device-writable" : "shorter than the packet header");
		return -EINVAL;
	}
	return 1;
}

static bool put_rx(struct vsock *v, const struct virtio_vsock_hdr *h, uint32_t payload)
{
	iov_from_buf(v->elem.iov, v->elem.nr_in, 0, h, HDR_LEN);
	if (virtq_push(&v->dev.queues[RXQ], v->dev.mem, v->elem.head, HDR_LEN + payload)) {
		virtio_dev_fail(&v->dev, "queue 0: used ring not writable");
		return false;
	}
	v->m.rx_packets_count++;
	return true;
}

/* Host bytes straight into the buffer taken: 1 sent, 0 none (EAGAIN, EOF, error). */
static int send_data(struct vsock *v, struct conn *c)
{
	uint32_t max = MIN(MIN(v->elem.in_len - (uint32_t)HDR_LEN, credit(c)), PKT_MAX);
	struct iovec *iov = v->iov;
	unsigned int n = v->elem.nr_in;
	struct virtio_vsock_hdr h;
	ssize_t r;

	memcpy(iov, v->elem.iov, n * sizeof(*iov));
	iov_pull(&iov, &n, HDR_LEN);
	iov_trim(iov, &n, v->elem.in_len - HDR_LEN - max);
	do
		r = readv(c->fd, iov, n);
	while (r < 0 && errno == EINTR);
	if (r > 0) {
		conn_hdr(v, c, &h, VIRTIO_VSOCK_OP_RW);
		h.len = htole32((uint32_t)r);
		c->tx_cnt += r;
		c->stalled = false;
		v->m.rx_bytes_count += r;
		return put_rx(v, &h, r) ? 1 : -EINVAL;
	}
	c->readable = false;
	if (r < 0 && errno == EAGAIN)
		return 0;
	if (r < 0 || c->host_hup) {
		conn_reset(v, c);	/* the host end vanished */
		return 0;
	}
	c->host_eof = true;		/* half-closed: the guest may still send */
	c->send |= P_SHUTDOWN;
	c->shut_flags = VIRTIO_VSOCK_SHUTDOWN_SEND;
	if (c->guest_no_send && !c->buf_len)
		conn_reset(v, c);
	else if (c->guest_no_send)
		deadline(v, c);	/* only the host's reading is left */
	return 0;
}

/* The next control packet c owes, its op; 0 for none. */
static uint16_t next_control(struct conn *c)
{
	static const struct { unsigned int bit; uint16_t op; } order[] = {
		{ P_RST, VIRTIO_VSOCK_OP_RST },
		{ P_REQUEST, VIRTIO_VSOCK_OP_REQUEST },
		{ P_RESPONSE, VIRTIO_VSOCK_OP_RESPONSE },
		{ P_SHUTDOWN, VIRTIO_VSOCK_OP_SHUTDOWN },
		{ P_CREDIT_UPDATE, VIRTIO_VSOCK_OP_CREDIT_UPDATE },
		{ P_CREDIT_REQUEST, VIRTIO_VSOCK_OP_CREDIT_REQUEST },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(order); i++) {
		if (c->send & order[i].bit) {
			c->send &= ~order[i].bit;
			return order[i].op;
		}
	}
	return 0;
}

static int send_control(struct vsock *v, struct conn *c, uint16_t op)
{
	struct virtio_vsock_hdr h;

	conn_hdr(v, c, &h, op);
	if (op == VIRTIO_VSOCK_OP_SHUTDOWN)
		h.flags = htole32(c->shut_flags);
	if (op == VIRTIO_VSOCK_OP_RST) {
		v->m.resets_sent++;
		conn_kill(v, c);
	}
	return put_rx(v, &h, 0) ? 1 : -EINVAL;
}

/*
 * One packet of c's into the buffer taken: 1 sent, 0 nothing owed (the
 * buffer given back), <0 the device failed. Data goes before a SHUTDOWN
 * or a credit message, never before the RST, REQUEST or RESPONSE.
 */
static int serve_conn(struct vsock *v, struct conn *c)
{
	uint16_t op;
	int ret;

	for (;;) {
		if (c->send & (P_RST | P_REQUEST | P_RESPONSE))
			return send_control(v, c, next_control(c));
		if (data_due(c)) {
			ret = send_data(v, c);
			if (ret)
				return ret;
			continue;	/* no bytes after all: maybe a control packet now */
		}
		op = next_control(c);
		if (op)
			return send_control(v, c, op);
		dev_unpop(&v->dev, RXQ, 1);
		return 0;
	}
}

static int send_stray(struct vsock *v)
{
	struct virtio_vsock_hdr h;

	fill_hdr(v, &h, v->stray[v->stray_head].local, v->stray[v->stray_head].peer,
		 VIRTIO_VSOCK_OP_RST);
	v->stray_head = (v->stray_head + 1) % STRAY_MAX;
	v->stray_len--;
	v->m.resets_sent++;
	return put_rx(v, &h, 0) ? 1 : -EINVAL;
}

/* Fill the guest's receive buffers, one packet per connection in turn. */
static void process_rx(struct vsock *v)
{
	unsigned int budget = v->dev.queues[RXQ].size;
	bool pushed = false;
	struct conn *c;
	int ret = 0;

	while (!v->dev.broken && v->active && !v->rx_stalled && (v->stray_len || v->rx_head)) {
		if (!budget--) {
			dev_requeue(&v->dev, RXQ);	/* other fds first, then more */
			break;
		}
		ret = take_rx(v);
		if (ret <= 0)
			break;
		if (v->stray_len) {
			ret = send_stray(v);
		} else {
			c = rx_pop(v);
			if (c->state == C_DEAD) {
				/* Killed while queued: conn_kill left its freeing to us. */
				dev_unpop(&v->dev, RXQ, 1);
				c->dead_next = v->dead;
				v->dead = c;
				ret = 0;
			} else {
				ret = serve_conn(v, c);
				rx_want(v, c);
			}
		}
		if (ret < 0)
			break;
		pushed |= ret > 0;
	}
	if (pushed)
		virtio_dev_notify(&v->dev, &v->dev.queues[RXQ]);
}

/* ---- packets from the guest ---- */

static void malformed(struct vsock *v, const char *why, const struct vsock_pkt *p)
{
	v->m.malformed_packets++;
	if (virtio_log_nth(v->m.malformed_packets))
		pr_warn("vsock: guest packet (op %u, port %u -> %u): %s", p->op, p->src_port,
			p->dst_port, why);
}

/* The guest connects to host port P: "<uds_path>_<P>", or an RST. */
static void guest_connect(struct vsock *v, const struct vsock_pkt *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct conn *c;
	int fd = -1;

	/* The config keeps uds_path short enough for every port. */
	if (v->nr_conns < MAX_CONNS &&
	    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->path, p->dst_port) <
	    (int)sizeof(sa.sun_path))
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		pr_debug("vsock: guest port %u -> host port %u: %s: %s", p->src_port,
			 p->dst_port, sa.sun_path, strerror(errno));
		close(fd);
		fd = -1;
	}
	c = fd >= 0 ? conn_new(v, fd, C_OPEN) : NULL;
	if (!c) {
		stray_rst(v, p->dst_port, p->src_port);
		return;
	}
	c->local_port = p->dst_port;
	c->peer_port = p->src_port;
	c->readable = true;
	c->send = P_RESPONSE;
	hash_add(v, c);
}

/* The guest accepted a host connection: tell the host, which may then send. */
static void accepted(struct vsock *v, struct conn *c)
{
	char ok[24];
	struct iovec iov = { ok, snprintf(ok, sizeof(ok), "OK %u\n", c->local_port) };

	c->state = C_OPEN;
	c->readable = true;
	c->expiry = 0;
	/* A new socket's send buffer is empty: the short line always fits. */
	if (to_host(c->fd, &iov, 1) != (ssize_t)iov.iov_len)
		conn_reset(v, c);
}

static void guest_shutdown(struct vsock *v, struct conn *c, uint32_t flags)
{
	c->guest_no_rcv |= flags & VIRTIO_VSOCK_SHUTDOWN_RCV;
	c->guest_no_send |= !!(flags & VIRTIO_VSOCK_SHUTDOWN_SEND);
	if (c->state == C_OPEN)
		after_forward(v, c);
}

static void on_conn_packet(struct vsock *v, struct conn *c, const struct vsock_pkt *p,
			   struct iovec *iov, unsigned int n)
{
	c->peer_buf_alloc = p->buf_alloc;
	c->peer_fwd_cnt = p->fwd_cnt;
	switch (p->op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c->state == C_REQUEST && !(c->send & P_REQUEST))
			accepted(v, c);
		else
			conn_reset(v, c);
		break;
	case VIRTIO_VSOCK_OP_RST:
		v->m.resets_received++;
		conn_kill(v, c);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		guest_shutdown(v, c, p->flags);
		break;
	case VIRTIO_VSOCK_OP_RW:
		if (c->state == C_OPEN && !c->guest_no_send)
			forward(v, c, iov, n, p->len);
		else
			conn_reset(v, c);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->send |= P_CREDIT_UPDATE;
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break;
	default:	/* REQUEST on an open connection, or an op that does not exist */
		malformed(v, "unexpected op", p);
		conn_reset(v, c);
	}
	if (c->state == C_OPEN && credit(c))
		c->stalled = false;
	rx_want(v, c);
}

static void on_packet(struct vsock *v, const struct vsock_pkt *p, struct iovec *iov,
		      unsigned int n)
{
	struct conn *c;

	v->m.tx_packets_count++;
	if (p->src_cid != v->cid || p->dst_cid != HOST_CID) {
		malformed(v, p->src_cid != v->cid ? "src_cid is not the guest's" :
			  "dst_cid is not the host's", p);
		return;		/* not ours to answer */
	}
	c = lookup(v, p->dst_port, p->src_port);
	if (p->type != VIRTIO_VSOCK_TYPE_STREAM || p->op == VIRTIO_VSOCK_OP_INVALID ||
	    p->op > VIRTIO_VSOCK_OP_CREDIT_REQUEST) {
		malformed(v, p->type != VIRTIO_VSOCK_TYPE_STREAM ? "not a stream" : "unknown op",
			  p);
		if (c)
			conn_reset(v, c);
		else
			stray_rst(v, p->dst_port, p->src_port);
		return;
	}
	if (c) {
		on_conn_packet(v, c, p, iov, n);
		return;
	}
	if (p->op == VIRTIO_VSOCK_OP_REQUEST)
		guest_connect(v, p);
	else if (p->op != VIRTIO_VSOCK_OP_RST)
		stray_rst(v, p->dst_port, p->src_port);
	c = lookup(v, p->dst_port, p->src_port);
	if (c) {
		c->peer_buf_alloc = p->buf_alloc;
		c->peer_fwd_cnt = p->fwd_cnt;
		rx_want(v, c);
	}
}

/* One transmit chain; false when the device failed. */
static bool tx_one(struct vsock *v)
{
	struct virtq_elem *e = &v->elem;
	struct iovec *iov = v->iov;
	unsigned int n = e->nr_out;
	const char *why;
	struct vsock_pkt p = { 0 };

	if (e->nr_in) {
		virtio_dev_fail(&v->dev, "queue 1: tx chain has device-writable buffers");
		return false;
	}
	if (vsock_pkt_parse(e->iov, e->nr_out, e->out_len, PKT_MAX, &p, &why)) {
		v->m.tx_packets_count++;
		malformed(v, why, &p);
	} else {
		memcpy(iov, e->iov, n * sizeof(*iov));
		iov_pull(&iov, &n, HDR_LEN);
		iov_trim(iov, &n, e->out_len - HDR_LEN - p.len);
		on_packet(v, &p, iov, n);
	}
	if (virtq_push(&v->dev.queues[TXQ], v->dev.mem, e->head, 0)) {
		virtio_dev_fail(&v->dev, "queue 1: used ring not writable");
		return false;
	}
	return true;
}

static void process_tx(struct vsock *v)
{
	unsigned int budget = v->dev.queues[TXQ].size;
	bool pushed = false;

	while (!v->dev.broken && dev_pop(&v->dev, TXQ, &v->elem) > 0) {
		if (!tx_one(v))
			break;
		pushed = true;
		if (!--budget) {
			dev_requeue(&v->dev, TXQ);
			break;
		}
	}
	if (pushed)
		virtio_dev_notify(&v->dev, &v->dev.queues[TXQ]);
}

/* After a restore: the guest's connections are gone, and it must be told. */
static void send_reset_event(struct vsock *v)
{
	struct virtio_vsock_event ev = { .id = htole32(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET) };
	int ret;

	if (!v->reset_event || (ret = dev_pop(&v->dev, EVQ, &v->elem)) <= 0)
		return;
	if (v->elem.nr_out || v->elem.in_len < sizeof(ev)) {
		virtio_dev_fail(&v->dev, "queue 2: event buffer %s", v->elem.nr_out ?
				"not device-writable" : "shorter than an event");
		return;
	}
	iov_from_buf(v->elem.iov, v->elem.nr_in, 0, &ev, sizeof(ev));
	if (virtq_push(&v->dev.queues[EVQ], v->dev.mem, v->elem.head, sizeof(ev))) {
		virtio_dev_fail(&v->dev, "queue 2: used ring not writable");
		return;
	}
	v->reset_event = false;
	virtio_dev_notify(&v->dev, &v->dev.queues[EVQ]);
	pr_debug("vsock: transport reset sent to the guest");
}

/* ---- the host side: the listener and the CONNECT line ---- */

/* "CONNECT <port>\n", the port a decimal u32. */
static bool parse_connect(const char *line, size_t len, uint32_t *port)
{
	uint64_t p = 0;
	size_t i = 8;

	if (len < 10 || memcmp(line, "CONNECT ", 8) || line[len - 1] != '\n')
		return false;
	for (; i < len - 1; i++) {
		if (line[i] < '0' || line[i] > '9' || (p = p * 10 + line[i] - '0') > UINT32_MAX)
			return false;
	}
	*port = (uint32_t)p;
	return true;
}

static uint32_t free_local_port(struct vsock *v, uint32_t peer)
{
	while (v->next_port < FIRST_LOCAL_PORT || lookup(v, v->next_port, peer))
		v->next_port = v->next_port < FIRST_LOCAL_PORT ? FIRST_LOCAL_PORT :
			       v->next_port + 1;
	return v->next_port++;
}

static void handshake_done(struct vsock *v, struct conn *c)
{
	uint32_t port;

	if (!parse_connect(c->line, c->line_len, &port)) {
		v->m.host_handshake_fails++;
		pr_debug("vsock: a host connection sent %.*s instead of \"CONNECT <port>\\n\"",
			 (int)c->line_len, c->line);
		conn_kill(v, c);
		return;
	}
	c->peer_port = port;
	c->local_port = free_local_port(v, port);
	c->state = C_REQUEST;
	c->send = P_REQUEST;
	hash_add(v, c);
	deadline(v, c);		/* a guest that never answers must not hold the host */
	rx_want(v, c);
}

/* Byte by byte: what the host sends after the line is the connection's. */
static void read_line(struct vsock *v, struct conn *c)
{
	while (c->line_len < LINE_MAX) {
		ssize_t n = read(c->fd, &c->line[c->line_len], 1);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (errno == EAGAIN)
				return;
			continue;
		}
		if (n <= 0) {
			conn_kill(v, c);	/* gone before it said where to */
			return;
		}
		if (c->line[c->line_len++] == '\n') {
			handshake_done(v, c);
			return;
		}
	}
	v->m.host_handshake_fails++;
	conn_kill(v, c);
}

static void accept_some(struct vsock *v)
{
	for (unsigned int i = 0; i < EVENTS && v->listening; i++) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				pr_warn("vsock: cannot accept on %s: %s; waiting for a connection "
					"to end", v->path, strerror(errno));
				v->accept_paused = true;
				update_listen(v);
			}
			return;
		}
		if (!conn_new(v, fd, C_HANDSHAKE))
			return;
		if (v->nr_conns >= MAX_CONNS)
			update_listen(v);
	}
}

/* Accept while the driver is up and there is room; else the backlog waits. */
static void update_listen(struct vsock *v)
{
	bool want = v->active && !v->dev.broken && !v->accept_paused &&
		    v->nr_conns < MAX_CONNS;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &v->listen_tag };

	if (want == v->listening)
		return;
	if (epoll_ctl(v->epfd, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, v->listen_fd, &ev) == 0)
		v->listening = want;
}

static void conn_event(struct vsock *v, struct conn *c, uint32_t events)
{
	if (c->state == C_DEAD || c->state == C_RESET)
		return;
	if (c->state == C_HANDSHAKE) {
		read_line(v, c);
		return;
	}
	if (events & (EPOLLHUP | EPOLLERR))
		c->host_hup = true;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->readable = true;
	if (c->host_hup && (c->state == C_REQUEST || c->host_eof || c->guest_no_rcv)) {
		conn_reset(v, c);	/* nothing left to read that would tell us */
	} else if (events & EPOLLOUT) {
		flush(v, c);
	}
	rx_want(v, c);
}

/* ---- the vmm thread's entry points ---- */

static bool serving(const struct vsock *v)
{
	return v->active && !v->dev.broken;
}

static void on_events(void *opaque, uint32_t events)
{
	struct vsock *v = opaque;
	struct epoll_event ev[EVENTS];
	uint64_t count;
	int n;

	pthread_mutex_lock(&v->dev.lock);
	n = epoll_wait(v->epfd, ev, EVENTS, 0);
	if (!serving(v))
		teardown(v);
	update_listen(v);
	for (int i = 0; i < n; i++) {
		void *p = ev[i].data.ptr;

		if (p == &v->wake_tag) {
			if (read(v->wake_fd, &count, sizeof(count)) < 0) {
				/* Nothing pending: another wakeup took it. */
			}
		} else if (p == &v->listen_tag) {
			if (v->listening)
				accept_some(v);
		} else if (p == &v->timer_tag) {
			expire(v);
		} else if (serving(v)) {
			conn_event(v, p, ev[i].events);
		}
	}
	process_rx(v);
	reap(v);
	pthread_mutex_unlock(&v->dev.lock);
}

static void watch(struct vsock *v)
{
	int ret;

	if (v->watched)
		return;
	ret = event_loop_add(v->dev.loop, v->epfd, EPOLLIN, on_events, v);
	if (ret)
		virtio_dev_fail(&v->dev, "cannot watch its sockets: %s", strerror(-ret));
	else
		v->watched = true;
}

static void vsock_queue_notify(struct virtio_dev *dev, unsigned int q)
{
	struct vsock *v = to_vsock(dev);

	watch(v);
	if (!serving(v))
		return;
	update_listen(v);
	if (q == TXQ)
		process_tx(v);
	else if (q == RXQ)
		v->rx_stalled = false;
	else if (q == EVQ)
		send_reset_event(v);
	if (!serving(v))
		teardown(v);
	process_rx(v);
	reap(v);
}

/* ---- the transport's callbacks ---- */

static uint64_t vsock_features(struct virtio_dev *dev)
{
	return 0;	/* streams only: no SEQPACKET */
}

static void vsock_config_read(struct virtio_dev *dev, uint32_t offset, uint8_t *data,
			      uint32_t len)
{
	struct virtio_vsock_config cfg = { .guest_cid = htole64(to_vsock(dev)->cid) };

	dev_config_read(&cfg, sizeof(cfg), offset, data, len);
}

static void vsock_config_write(struct virtio_dev *dev, uint32_t offset, const uint8_t *data,
			       uint32_t len)
{
	/* guest_cid is read-only. */
}

/* A vCPU thread (or the restore): the queues are kicked next, on the vmm thread. */
static int vsock_activate(struct virtio_dev *dev)
{
	struct vsock *v = to_vsock(dev);

	v->active = true;
	v->rx_stalled = false;
	return 0;
}

/* A vCPU thread: the vmm thread closes the connections when the wakeup reaches it. */
static void vsock_reset(struct virtio_dev *dev)
{
	struct vsock *v = to_vsock(dev);
	uint64_t one = 1;

	v->active = false;
	v->reset_event = false;
	if (write(v->wake_fd, &one, sizeof(one)) < 0) {
		/* A wakeup is already pending. */
	}
}

#define STATE_VERSION	1

/* The cid, for a check: connections are not saved (they are reset on restore). */
static int vsock_save(struct virtio_dev *dev, struct snap_buf *out)
{
	snap_put_u32(out, STATE_VERSION);
	snap_put_u64(out, to_vsock(dev)->cid);
	return snap_buf_error(out);
}

static int vsock_restore(struct virtio_dev *dev, const void *data, size_t len)
{
	struct vsock *v = to_vsock(dev);
	struct snap_cursor c;

	snap_cursor_init(&c, data, len);
	if (snap_get_u32(&c) != STATE_VERSION || snap_get_u64(&c) != v->cid ||
	    snap_cursor_end(&c))
		return -EINVAL;
	v->reset_event = true;
	return 0;
}

static void vsock_destroy(struct virtio_dev *dev)
{
	struct vsock *v = to_vsock(dev);

	metrics_source_remove(v);
	teardown(v);
	reap(v);
	if (v->watched)
		event_loop_del(v->dev.loop, v->epfd);
	if (v->listen_fd >= 0)
		close(v->listen_fd);
	if (v->epfd >= 0)
		close(v->epfd);
	if (v->wake_fd >= 0)
		close(v->wake_fd);
	if (v->timer_fd >= 0)
		close(v->timer_fd);
	free(v);
}

static const struct virtio_dev_ops vsock_ops = {
	.device_id = VIRTIO_ID_VSOCK,
	.features = vsock_features,
	.config_size = sizeof(struct virtio_vsock_config),
	.config_read = vsock_config_read,
	.config_write = vsock_config_write,
	.activate = vsock_activate,
	.queue_notify = vsock_queue_notify,
	.reset = vsock_reset,
	.destroy = vsock_destroy,
	.save = vsock_save,
	.restore = vsock_restore,
};

/* ---- creation ---- */

/* A connection is an fd: make room for MAX_CONNS of them if the hard limit allows. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= NOFILE_WANT)
		return;
	rl.rlim_cur = MIN(rl.rlim_max, (rlim_t)NOFILE_WANT);
	if (setrlimit(RLIMIT_NOFILE, &rl))
		pr_warn("vsock: cannot raise the open file limit: %s", strerror(errno));
	if (rl.rlim_cur < NOFILE_WANT)
		pr_warn("vsock: the open file limit is %llu: fewer than %d connections may be "
			"open at once", (unsigned long long)rl.rlim_cur, MAX_CONNS);
}

/* A socket file nobody answers on is stale (a petrel that ended): replace it. */
static int replace_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, ret;

	if (lstat(sa->sun_path, &st) || !S_ISSOCK(st.st_mode))
		return -EADDRINUSE;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? errno : 0;
	close(fd);
	if (ret != ECONNREFUSED)
		return -EADDRINUSE;
	return unlink(sa->sun_path) ? -errno : 0;
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	if (err == -EADDRINUSE && !(err = replace_stale(&sa)))
		err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	if (!err && listen(fd, SOMAXCONN))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static int open_fds(struct vsock *v)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &v->wake_tag };
	struct epoll_event tev = { .events = EPOLLIN, .data.ptr = &v->timer_tag };
	int ret;

	ret = listen_on(v->path);
	if (ret < 0) {
		pr_err("vsock: uds_path %s: cannot listen there: %s", v->path,
		       ret == -EADDRINUSE ? "in use (another process answers there, or it is "
		       "not a socket)" : strerror(-ret));
		return ret;
	}
	v->listen_fd = ret;
	v->epfd = epoll_create1(EPOLL_CLOEXEC);
	v->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	v->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (v->epfd < 0 || v->wake_fd < 0 || v->timer_fd < 0 ||
	    epoll_ctl(v->epfd, EPOLL_CTL_ADD, v->wake_fd, &ev) ||
	    epoll_ctl(v->epfd, EPOLL_CTL_ADD, v->timer_fd, &tev)) {
		ret = -errno;
		pr_err("vsock: cannot set up its event set: %s", strerror(errno));
		return ret;
	}
	return 0;
}

struct virtio_dev *virtio_vsock_create(const struct vsock_config *cfg)
{
	struct vsock *v = calloc(1, sizeof(*v));

	if (!v) {
		pr_err("vsock: cannot allocate the device");
		return NULL;
	}
	v->dev.ops = &vsock_ops;
	v->dev.nr_queues = 3;
	snprintf(v->dev.id, sizeof(v->dev.id), "vsock");
	v->cid = cfg->guest_cid;
	snprintf(v->path, sizeof(v->path), "%s", cfg->uds_path);
	v->listen_fd = v->epfd = v->wake_fd = v->timer_fd = -1;
	raise_nofile();
	if (open_fds(v) || metrics_source_add(&vsock_schema, NULL, v)) {
		vsock_destroy(&v->dev);
		return NULL;
	}
	pr_debug("vsock: guest cid %u, host side at %s", v->cid, v->path);
	return &v->dev;
}
