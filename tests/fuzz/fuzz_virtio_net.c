// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: virtio-net on the MMIO transport with the vmm's event
 * loop (no threads: the input says when it runs), and a datagram socket
 * pair standing in for the tap. The input is a sequence of actions: guest
 * register accesses and stores, a driver's bring-up with the features it
 * picks, transmit and receive chains built in guest memory (split, tiny,
 * empty, indirect, pointing the wrong way), kicks, frames the host sends,
 * and the driver and the host taking what the device gave them.
 *
 * While the driver has only done what a driver may (no raw register write
 * or store since its bring-up), what it takes back is checked: only chains
 * it posted, each once; nothing written into a transmit chain; a receive
 * chain never said to hold more than it has; a frame's num_buffers telling
 * how many chains it fills (1 without MRG_RXBUF). And what reaches the tap
 * carries at least the virtio header.
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <sys/socket.h>
#include <unistd.h>

#include <petrel/log.h>

#include "fuzz_virtio.h"

#define BUF_LO		0x4000
#define BUF_SPACE	0x10000
/* Per queue and head, a table of MAX_SEGS descriptors. */
#define INDIRECT(q, h)	(BUF_LO + BUF_SPACE + ((q) * VIRTQ_MAX_SIZE + (h)) * 16 * MAX_SEGS)
#define RAM_SIZE	INDIRECT(2, 0)
#define MAX_SEGS	8
#define HDR_LEN		sizeof(struct virtio_net_hdr_v1)
#define FRAME_MAX	0x1ffff
#define RXQ		0
#define TXQ		1
#define F(bit)		(1u << (bit))

enum op_kind {
	OP_READ = VIO_READ, OP_WRITE = VIO_WRITE, OP_STORE = VIO_STORE,
	OP_BRING_UP, OP_CHAIN, OP_KICK, OP_LOOP, OP_TAP_SEND, OP_TAP_RECV, OP_USED, NR_OPS
};

/* A chain the driver posted and has not had back. */
struct posted {
	bool live;
	uint8_t nr_descs;		/* in the ring's table (1 when indirect) */
	uint8_t nr_segs;
	uint64_t gpa[MAX_SEGS];
	uint32_t len[MAX_SEGS];
	uint32_t writable;		/* bytes the device may write */
};

/* The driver's side of a queue, as a real driver keeps it. */
struct drv_queue {
	uint16_t size;
	uint16_t next_desc;
	uint16_t in_flight;		/* descriptors the device holds */
	uint16_t avail_idx;
	uint16_t last_used;
	uint16_t frame_left;		/* rx: chains still to come of a merged frame */
	struct posted chain[VIRTQ_MAX_SIZE];
};

struct fuzz {
	struct virtio_dev *dev;
	struct event_loop *loop;
	uint8_t *ram;
	struct guest_mem mem;
	int host;			/* the tap's far end */
	bool up;			/* brought up, and nothing raw done since */
	bool mrg;
	struct drv_queue q[2];
};

static uint8_t frame[FRAME_MAX + 1];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(getenv("PETREL_FUZZ_LOG") ? LOG_DEBUG : LOG_OFF);
	return 0;
}

static void put(struct fuzz *f, uint64_t gpa, const void *p, size_t len)
{
	memcpy(f->ram + gpa, p, len);
}

static void get(struct fuzz *f, uint64_t gpa, void *p, size_t len)
{
	memcpy(p, f->ram + gpa, len);
}

/* The usual driver steps; features and queue sizes as v and arg say. */
static void bring_up(struct fuzz *f, uint8_t arg, uint32_t v)
{
	static const uint32_t offered = F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
		F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_MRG_RXBUF) |
		F(VIRTIO_NET_F_STATUS) | F(VIRTIO_RING_F_INDIRECT_DESC) |
		F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_NET_F_CTRL_VQ);

	memset(f->q, 0, sizeof(f->q));
	memset(f->ram, 0, BUF_LO);
	f->q[RXQ].size = 1u << ((arg & 0xf) % 9);
	f->q[TXQ].size = 1u << ((arg >> 4) % 9);
	vio_negotiate(f->dev, v & offered);	/* CTRL_VQ: refused */
	for (unsigned int q = 0; q < 2; q++)
		vio_queue_at_rings(f->dev, q, f->q[q].size);
	vio_wr32(f->dev, VIRTIO_MMIO_STATUS, 0xf);
	f->up = true;
	f->mrg = (v & offered & ~F(VIRTIO_NET_F_CTRL_VQ)) == (v & offered) &&
		 (v & F(VIRTIO_NET_F_MRG_RXBUF));
}

/*
 * The segments of a chain, from the op: transmit buffers anywhere in the
 * buffer space; receive buffers in the head's own slot of it, so that no
 * frame lands on another chain's header before the driver reads it.
 */
static void segments(const struct drv_queue *dq, unsigned int q, uint16_t head,
		     const struct vio_op *op, struct posted *p)
{
	uint32_t each = (op->val & FRAME_MAX) / p->nr_segs, slot = BUF_SPACE / dq->size;
	uint64_t at = BUF_LO + (uint64_t)head * slot;

	for (unsigned int i = 0; i < p->nr_segs; i++) {
		uint32_t len = op->arg & 0x80 ? (op->val >> (4 * i)) & 0xf : each;	/* tiny, 0 too */

		if (q == TXQ) {
			len = len < BUF_SPACE ? len : BUF_SPACE;
			at = BUF_LO + ((uint64_t)op->off * 16 + (uint64_t)i * len) %
			     (BUF_SPACE - len + 1);
		} else {
			len = len < slot ? len : slot;
			slot -= len;
		}
		p->gpa[i] = at;
		p->len[i] = len;
		at += len;
	}
}

static void write_desc(struct fuzz *f, uint64_t table, uint16_t i, uint64_t gpa, uint32_t len,
		       uint16_t flags, uint16_t next)
{
	struct vring_desc d = { htole64(gpa), htole32(len), htole16(flags), htole16(next) };

	put(f, table + 16 * i, &d, sizeof(d));
}

/*
 * A chain on queue arg & 1: (arg >> 1 & 7) + 1 segments, device-writable
 * on rx and readable on tx, except the last when arg & 0x10; through an
 * indirect table when arg & 0x20; kicked when arg & 0x40.
 */
static void add_chain(struct fuzz *f, const struct vio_op *op)
{
	unsigned int q = op->arg & 1, nr = ((op->arg >> 1) & 7) + 1;
	bool indirect = op->arg & 0x20;
	struct drv_queue *dq = &f->q[q];
	uint16_t head = dq->next_desc, need = indirect ? 1 : nr;
	uint64_t table = RINGS(q);
	struct posted *p = &dq->chain[head];

	if (!f->up || !dq->size || dq->size - dq->in_flight < need)
		return;
	*p = (struct posted){ .live = true, .nr_descs = need, .nr_segs = nr };
	if (indirect)
		table = INDIRECT(q, head);
	segments(dq, q, head, op, p);
	for (unsigned int i = 0; i < nr; i++) {
		bool write = (q == RXQ) != ((op->arg & 0x10) && i == nr - 1);
		uint16_t at = indirect ? i : (head + i) % dq->size;
		uint16_t next = indirect ? i + 1 : (head + i + 1) % dq->size;

		write_desc(f, table, at, p->gpa[i], p->len[i],
			   (write ? VRING_DESC_F_WRITE : 0) | (i + 1 < nr ? VRING_DESC_F_NEXT : 0),
			   next);
		p->writable += write ? p->len[i] : 0;
	}
	if (indirect)
		write_desc(f, RINGS(q), head, table, 16 * nr, VRING_DESC_F_INDIRECT, 0);
	dq->next_desc = (head + need) % dq->size;
	dq->in_flight += need;
	vio_publish(f->ram, q, dq->size, &dq->avail_idx, head);
	if (op->arg & 0x40)
		vio_wr32(f->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* The header's num_buffers, gathered from the chain's first bytes. */
static uint16_t num_buffers(struct fuzz *f, const struct posted *p)
{
	uint8_t hdr[HDR_LEN];
	size_t got = 0;
	uint16_t nb;

	for (unsigned int i = 0; i < p->nr_segs && got < sizeof(hdr); i++) {
		size_t n = p->len[i] < sizeof(hdr) - got ? p->len[i] : sizeof(hdr) - got;

		get(f, p->gpa[i], hdr + got, n);
		got += n;
	}
	if (got < sizeof(hdr))
		abort();	/* a chain too short for the header came back full */
	memcpy(&nb, hdr + offsetof(struct virtio_net_hdr_v1, num_buffers), sizeof(nb));
	return le16toh(nb);
}

/* One used element of queue q, with 'left' more published after it. */
static void take_used(struct fuzz *f, unsigned int q, const struct vring_used_elem *e,
		      uint16_t left)
{
	struct drv_queue *dq = &f->q[q];
	uint32_t id = e->id, len = e->len;
	struct posted *p = id < dq->size ? &dq->chain[id] : NULL;
	uint16_t nb;

	if (!p || !p->live || (q == TXQ && len) || len > p->writable)
		abort();
	if (q == RXQ && !dq->frame_left) {
		nb = num_buffers(f, p);
		if (!nb || nb - 1 > left || (!f->mrg && nb != 1))
			abort();
		dq->frame_left = nb;
	}
	if (q == RXQ)
		dq->frame_left--;
	p->live = false;
	dq->in_flight -= p->nr_descs;
}

/* The driver's interrupt handler for queue q. */
static void reap(struct fuzz *f, unsigned int q)
{
	struct drv_queue *dq = &f->q[q];
	struct vring_used_elem e;

	if (!f->up || !dq->size)
		return;
	for (uint16_t n = vio_used_new(f->ram, q, dq->size, dq->last_used); n; n--, dq->last_used++) {
		vio_used_elem(f->ram, q, dq->size, dq->last_used, &e);
		take_used(f, q, &e, n - 1);
	}
}

/* The host sends a frame of v bytes (header included); EAGAIN: the tap is full. */
static void tap_send(struct fuzz *f, uint8_t arg, uint32_t v)
{
	size_t len = v & FRAME_MAX;

	memset(frame, arg, len);
	memcpy(frame, &v, len < sizeof(v) ? len : sizeof(v));
	if (send(f->host, frame, len, MSG_DONTWAIT) < 0 && errno != EAGAIN &&
	    errno != EMSGSIZE && errno != ENOBUFS)
		abort();
}

/* The host takes what the guest sent: each at least a header. */
static void tap_recv(struct fuzz *f)
{
	ssize_t n;

	while ((n = recv(f->host, frame, sizeof(frame), MSG_DONTWAIT)) >= 0)
		if ((size_t)n < HDR_LEN)
			abort();
}

static void step(struct fuzz *f, const struct vio_op *op)
{
	switch (op->kind % NR_OPS) {
	case OP_READ:
	case OP_WRITE:
	case OP_STORE:
		f->up = vio_raw(f->dev, f->ram, RAM_SIZE, op->kind % NR_OPS, op) && f->up;
		break;
	case OP_BRING_UP:
		bring_up(f, op->arg, op->val);
		break;
	case OP_CHAIN:
		add_chain(f, op);
		break;
	case OP_KICK:
		vio_wr32(f->dev, VIRTIO_MMIO_QUEUE_NOTIFY, op->arg & 1);
		break;
	case OP_LOOP:
		if (event_loop_run_once(f->loop, 0))
			abort();
		break;
	case OP_TAP_SEND:
		tap_send(f, op->arg, op->val);
		break;
	case OP_TAP_RECV:
		tap_recv(f);
		break;
	case OP_USED:
		reap(f, op->arg & 1);
		break;
	}
}

static void setup(struct fuzz *f)
{
	struct net_config cfg = { .iface_id = "eth0", .has_guest_mac = true,
				  .guest_mac = { 0x06, 0, 0, 0, 0, 1 } };
	struct virtio_host host = { .vm_fd = -1, .mem = &f->mem };
	int sv[2];

	f->ram = calloc(1, RAM_SIZE);	/* exactly sized: the sanitizer sees any stray access */
	vio_mem(&f->mem, f->ram, RAM_SIZE);
	f->loop = event_loop_create();
	if (!f->ram || !f->loop ||
	    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		abort();
	f->host = sv[0];
	f->dev = virtio_net_create_on_fd(&cfg, sv[1]);
	host.loop = f->loop;
	if (!f->dev || virtio_mmio_attach(&host, f->dev, 0, (struct irq_line){ -1 }))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz f;
	struct vio_op op;

	memset(&f, 0, sizeof(f));
	setup(&f);
	while (vio_next(&data, &size, &op))
		step(&f, &op);
	virtio_dev_destroy(f.dev);
	event_loop_destroy(f.loop);
	close(f.host);
	free(f.ram);
	return 0;
}
