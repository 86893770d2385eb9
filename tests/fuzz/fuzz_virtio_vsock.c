// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: virtio-vsock on the MMIO transport with the vmm's event
 * loop (no threads: the input says when it runs), its host side on Unix
 * sockets in a temporary folder. The input is a sequence of actions: guest
 * register accesses and stores, the driver's bring-up, receive and event
 * buffers, transmit packets whose header the input writes (any op, type,
 * cid, port and length, answering the last REQUEST the device sent when
 * asked), kicks, and the host's side: connecting to uds_path with a CONNECT
 * line (or not), writing, reading, half-closing and closing, listening at
 * "<uds_path>_<port>" for the guest's connections.
 *
 * While the driver has only done what a driver may (no raw register write
 * or store since its bring-up), what it takes back is checked: only chains
 * it posted, each once; nothing written into a transmit chain; a receive
 * buffer never said to hold more than it has, and holding a whole packet
 * from the host's cid to the guest's whose len is what follows the header.
 */
#include <errno.h>
#include <linux/virtio_vsock.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <petrel/config.h>
#include <petrel/log.h>

#include "fuzz_virtio.h"

#define NQ		3
#define RXQ		0
#define TXQ		1
#define EVQ		2
#define QSIZE		16
#define BUF_LO		0x8000
#define SLOT		0x1000				/* per queue and head */
#define RAM_SIZE	(BUF_LO + NQ * QSIZE * SLOT)
#define HDR		sizeof(struct virtio_vsock_hdr)
#define CID		3
#define HOSTS		8

enum op_kind {
	OP_READ = VIO_READ, OP_WRITE = VIO_WRITE, OP_STORE = VIO_STORE,
	OP_BRING_UP, OP_BUF, OP_TX, OP_KICK, OP_LOOP, OP_USED,
	OP_HOST_CONNECT, OP_HOST_WRITE, OP_HOST_READ, OP_HOST_SHUT, OP_HOST_CLOSE, OP_LISTEN,
	OP_ACCEPT, NR_OPS
};

struct drv_queue {
	uint16_t avail_idx;
	uint16_t last_used;
	bool live[QSIZE];
	uint32_t len[QSIZE];		/* the chain's one buffer */
};

struct fuzz {
	struct virtio_dev *dev;
	struct event_loop *loop;
	uint8_t *ram;
	struct guest_mem mem;
	char dir[64];
	char path[128];
	bool up;
	struct drv_queue q[NQ];
	uint32_t req_src, req_dst;	/* the last REQUEST the device sent */
	int host[HOSTS];
	int listener[2];
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(getenv("PETREL_FUZZ_LOG") ? LOG_DEBUG : LOG_OFF);
	return 0;
}

static uint64_t slot(unsigned int q, unsigned int head)
{
	return BUF_LO + ((uint64_t)q * QSIZE + head) * SLOT;
}

static void bring_up(struct fuzz *f)
{
	memset(f->q, 0, sizeof(f->q));
	memset(f->ram, 0, BUF_LO);
	vio_negotiate(f->dev, 0);
	for (unsigned int q = 0; q < NQ; q++)
		vio_queue_at_rings(f->dev, q, QSIZE);
	vio_wr32(f->dev, VIRTIO_MMIO_STATUS, 0xf);
	f->up = true;
}

/* One buffer of len bytes on queue q (writable unless q is the transmit queue). */
static void post(struct fuzz *f, unsigned int q, uint32_t len, bool kick)
{
	struct drv_queue *dq = &f->q[q];
	uint16_t head = dq->avail_idx % QSIZE;
	struct vring_desc d;

	if (!f->up || dq->live[head])
		return;
	len = len > SLOT ? SLOT : len;
	d = (struct vring_desc){ htole64(slot(q, head)), htole32(len),
				 htole16(q == TXQ ? 0 : VRING_DESC_F_WRITE), 0 };
	memcpy(f->ram + RINGS(q) + 16 * head, &d, sizeof(d));
	dq->live[head] = true;
	dq->len[head] = len;
	vio_publish(f->ram, q, QSIZE, &dq->avail_idx, head);
	if (kick)
		vio_wr32(f->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/*
 * A packet: op arg & 7, type (arg >> 3 & 3), another cid if arg & 0x20, the
 * ports of the last REQUEST answered if arg & 0x40, else small ones from
 * off; payload len from val, the chain cut short if arg & 0x80.
 */
static void tx(struct fuzz *f, const struct vio_op *op)
{
	uint16_t head = f->q[TXQ].avail_idx % QSIZE;
	uint32_t len = op->val & 0xfff, chain = HDR + (len > SLOT - HDR ? SLOT - HDR : len);
	struct virtio_vsock_hdr h = {
		.src_cid = htole64(op->arg & 0x20 ? CID + 1 : CID), .dst_cid = htole64(2),
		.src_port = htole32(op->arg & 0x40 ? f->req_dst : 1000 + (op->off & 3)),
		.dst_port = htole32(op->arg & 0x40 ? f->req_src : 2000 + ((op->off >> 2) & 1)),
		.len = htole32(len), .type = htole16((op->arg >> 3) & 3),
		.op = htole16(op->arg & 7), .flags = htole32(op->off >> 8),
		.buf_alloc = htole32(op->val >> 12), .fwd_cnt = htole32(0),
	};

	if (!f->up || f->q[TXQ].live[head])
		return;
	memcpy(f->ram + slot(TXQ, head), &h, sizeof(h));
	if (op->arg & 0x80)
		chain = (op->val >> 24) % chain;
	post(f, TXQ, chain, true);
}

/* A receive buffer came back: a whole packet from the host to this guest. */
static void check_rx(struct fuzz *f, uint16_t id, uint32_t len)
{
	struct virtio_vsock_hdr h;

	if (len < HDR)
		abort();
	memcpy(&h, f->ram + slot(RXQ, id), sizeof(h));
	if (le64toh(h.src_cid) != 2 || le64toh(h.dst_cid) != CID ||
	    le32toh(h.len) != len - HDR || le16toh(h.type) != VIRTIO_VSOCK_TYPE_STREAM)
		abort();
	if (le16toh(h.op) == VIRTIO_VSOCK_OP_REQUEST) {
		f->req_src = le32toh(h.src_port);
		f->req_dst = le32toh(h.dst_port);
	}
}

static void reap(struct fuzz *f, unsigned int q)
{
	struct drv_queue *dq = &f->q[q];
	struct vring_used_elem e;

	if (!f->up)
		return;
	for (uint16_t n = vio_used_new(f->ram, q, QSIZE, dq->last_used); n; n--, dq->last_used++) {
		vio_used_elem(f->ram, q, QSIZE, dq->last_used, &e);
		if (e.id >= QSIZE || !dq->live[e.id] || e.len > dq->len[e.id] ||
		    (q == TXQ && e.len))
			abort();
		if (q == RXQ)
			check_rx(f, (uint16_t)e.id, e.len);
		if (q == EVQ && e.len != sizeof(struct virtio_vsock_event))
			abort();
		dq->live[e.id] = false;
	}
}

static int unix_socket(const char *path, bool listen_there)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0)
		abort();
	if (listen_there ? bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8) :
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void host_connect(struct fuzz *f, const struct vio_op *op)
{
	int *fd = &f->host[op->arg % HOSTS];
	char line[32];
	int n;

	if (*fd >= 0)
		close(*fd);
	*fd = unix_socket(f->path, false);
	if (*fd < 0)
		return;
	n = op->off & 1 ? snprintf(line, sizeof(line), "CONNECT %u\n", 1000 + (op->val & 3)) :
	    snprintf(line, sizeof(line), "%.*s", (int)(op->val & 15), "CONNECT 1000x\n\n\n\n");
	if (send(*fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN)
		abort();
}

static void host_io(struct fuzz *f, const struct vio_op *op)
{
	static uint8_t buf[0x10000];
	int fd = f->host[op->arg % HOSTS];

	if (fd < 0)
		return;
	if (op->kind % NR_OPS == OP_HOST_WRITE) {
		memset(buf, op->arg, sizeof(buf));
		(void)send(fd, buf, op->val % sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
	} else if (op->kind % NR_OPS == OP_HOST_READ) {
		(void)recv(fd, buf, op->val % sizeof(buf), MSG_DONTWAIT);
	} else if (op->kind % NR_OPS == OP_HOST_SHUT) {
		shutdown(fd, SHUT_WR);
	} else {
		close(fd);
		f->host[op->arg % HOSTS] = -1;
	}
}

/* A host listener at "<uds_path>_2000" or "_2001", or a connection it accepts. */
static void host_listen(struct fuzz *f, const struct vio_op *op)
{
	char path[160];
	int *l = &f->listener[op->arg & 1], *fd = &f->host[op->off % HOSTS];

	if (op->kind % NR_OPS == OP_LISTEN) {
		if (*l >= 0)
			return;
		snprintf(path, sizeof(path), "%s_%u", f->path, 2000 + (op->arg & 1));
		*l = unix_socket(path, true);
		return;
	}
	if (*l < 0)
		return;
	if (*fd >= 0)
		close(*fd);
	*fd = accept4(*l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
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
		bring_up(f);
		break;
	case OP_BUF:
		post(f, op->arg & 1 ? EVQ : RXQ, op->val, op->arg & 2);
		break;
	case OP_TX:
		tx(f, op);
		break;
	case OP_KICK:
		vio_wr32(f->dev, VIRTIO_MMIO_QUEUE_NOTIFY, op->arg % NQ);
		break;
	case OP_LOOP:
		if (event_loop_run_once(f->loop, 0))
			abort();
		break;
	case OP_USED:
		reap(f, op->arg % NQ);
		break;
	case OP_HOST_CONNECT:
		host_connect(f, op);
		break;
	case OP_LISTEN:
	case OP_ACCEPT:
		host_listen(f, op);
		break;
	default:
		host_io(f, op);
	}
}

static void setup(struct fuzz *f)
{
	struct virtio_host host = { .vm_fd = -1, .mem = &f->mem };
	struct vsock_config cfg = { .guest_cid = CID };

	snprintf(f->dir, sizeof(f->dir), "/tmp/fuzz-vsock.XXXXXX");
	if (!mkdtemp(f->dir))
		abort();
	snprintf(f->path, sizeof(f->path), "%s/v", f->dir);
	cfg.uds_path = f->path;
	f->ram = calloc(1, RAM_SIZE);	/* exactly sized: the sanitizer sees any stray access */
	vio_mem(&f->mem, f->ram, RAM_SIZE);
	f->loop = event_loop_create();
	f->dev = virtio_vsock_create(&cfg);
	host.loop = f->loop;
	if (!f->ram || !f->loop || !f->dev ||
	    virtio_mmio_attach(&host, f->dev, 0, (struct irq_line){ -1 }))
		abort();
	for (unsigned int i = 0; i < HOSTS; i++)
		f->host[i] = -1;
	f->listener[0] = f->listener[1] = -1;
}

static void cleanup(struct fuzz *f)
{
	char path[160];

	virtio_dev_destroy(f->dev);
	event_loop_destroy(f->loop);
	for (unsigned int i = 0; i < HOSTS; i++)
		if (f->host[i] >= 0)
			close(f->host[i]);
	for (unsigned int i = 0; i < 2; i++) {
		if (f->listener[i] >= 0)
			close(f->listener[i]);
		snprintf(path, sizeof(path), "%s_%u", f->path, 2000 + i);
		unlink(path);
	}
	unlink(f->path);
	rmdir(f->dir);
	free(f->ram);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz f;
	struct vio_op op;

	memset(&f, 0, sizeof(f));
	setup(&f);
	while (vio_next(&data, &size, &op))
		step(&f, &op);
	cleanup(&f);
	return 0;
}
