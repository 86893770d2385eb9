// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: virtio-balloon on the MMIO transport with the vmm's
 * event loop (no threads: the input says when it runs). The input is a
 * sequence of actions: guest register accesses and stores (the PFNs, stats
 * and command ids the device reads are whatever was stored), a driver's
 * bring-up with the features it picks, chains on any queue (readable or
 * writable, anywhere in RAM, any length), kicks, the API's calls (target,
 * polling interval, hinting start, stop and status, statistics), a save
 * and restore into a fresh device, and device state straight from the input.
 *
 * Checked: hinted and reported pages are counted among those given back,
 * and a save of a device restored from its own state restores again.
 */
#include <linux/virtio_balloon.h>

#include <petrel/log.h>
#include <petrel/snapshot.h>

#include "fuzz_virtio.h"

#define RAM_SIZE	(1u << 22)			/* 4 MiB: 1024 pages */
#define BUF_LO		(RINGS(VIRTIO_MAX_QUEUES))
#define F(bit)		(1u << (bit))

enum op_kind {
	OP_READ, OP_WRITE, OP_STORE, OP_BRING_UP, OP_CHAIN, OP_KICK, OP_LOOP, OP_API,
	OP_SAVE_RESTORE, OP_RAW_RESTORE, NR_OPS
};

struct fuzz {
	struct virtio_dev *dev;
	struct event_loop *loop;
	uint8_t *ram;
	struct guest_mem mem;
	struct balloon_config cfg;
	uint16_t size[VIRTIO_MAX_QUEUES];
	uint16_t next_desc[VIRTIO_MAX_QUEUES];
	uint16_t avail_idx[VIRTIO_MAX_QUEUES];
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(getenv("PETREL_FUZZ_LOG") ? LOG_DEBUG : LOG_OFF);
	return 0;
}

static int attach(struct fuzz *f)
{
	struct virtio_host host = { .vm_fd = -1, .loop = f->loop, .mem = &f->mem };
	struct irq_line irq = { .fd = -1 };

	f->dev = virtio_balloon_create(&f->cfg);
	if (!f->dev)
		return -1;
	if (virtio_mmio_attach(&host, f->dev, 0, irq)) {
		virtio_dev_destroy(f->dev);
		f->dev = NULL;
		return -1;
	}
	return 0;
}

/* The usual driver steps, every queue the device has, sizes from arg. */
static void bring_up(struct fuzz *f, uint8_t arg, uint32_t features)
{
	memset(f->ram, 0, BUF_LO);
	memset(f->next_desc, 0, sizeof(f->next_desc));
	memset(f->avail_idx, 0, sizeof(f->avail_idx));
	vio_negotiate(f->dev, features & 0x3f);
	for (unsigned int q = 0; q < f->dev->nr_queues; q++) {
		f->size[q] = 1u << ((arg + q) % 9);
		vio_queue_at_rings(f->dev, q, f->size[q]);
	}
	vio_wr32(f->dev, VIRTIO_MMIO_STATUS, 0xf);
}

/*
 * A chain of (arg >> 3 & 3) + 1 segments on queue arg % queues, at off * 16
 * in RAM, val & 0xffff bytes each (val >> 16 & 0xff: which are writable).
 */
static void add_chain(struct fuzz *f, const struct vio_op *op)
{
	unsigned int q = op->arg % f->dev->nr_queues, nr = ((op->arg >> 3) & 3) + 1;
	uint16_t head, size = f->size[q];
	uint64_t at = (uint64_t)op->off * 16;

	if (!size)
		return;
	head = f->next_desc[q];
	for (unsigned int i = 0; i < nr; i++) {
		uint16_t idx = (head + i) % size;
		uint32_t len = op->val & 0xffff;
		struct vring_desc d = {
			htole64(at), htole32(len),
			htole16((op->val >> (16 + i) & 1 ? VRING_DESC_F_WRITE : 0) |
				(i + 1 < nr ? VRING_DESC_F_NEXT : 0)),
			htole16((idx + 1) % size),
		};

		memcpy(f->ram + RINGS(q) + 16 * idx, &d, sizeof(d));
		at += len;
	}
	f->next_desc[q] = (head + nr) % size;
	vio_publish(f->ram, q, size, &f->avail_idx[q], head);
}

static void api(struct fuzz *f, const struct vio_op *op)
{
	struct virtio_balloon_stats st;
	struct virtio_balloon_hint h;

	switch (op->arg % 6) {
	case 0:
		virtio_balloon_set_target(f->dev, op->val % (RAM_SIZE >> 20) + 1);
		break;
	case 1:
		if (f->cfg.stats_polling_interval_s)
			virtio_balloon_set_stats_interval(f->dev, op->val % 4 + 1);
		break;
	case 2:
		virtio_balloon_hint_start(f->dev, op->val & 1);
		break;
	case 3:
		virtio_balloon_hint_stop(f->dev);
		break;
	case 4:
		virtio_balloon_hint_status(f->dev, &h);
		break;
	default:
		virtio_balloon_get_stats(f->dev, &st);
		break;
	}
}

/* A fresh device from the state of this one (or from bytes of the input). */
static void restore(struct fuzz *f, const uint8_t *blob, size_t len)
{
	struct virtio_dev *old = f->dev;
	struct snap_buf b;
	char err[256];

	snap_buf_init(&b);
	if (!blob && virtio_mmio_save(old, &b, err, sizeof(err))) {
		snap_buf_free(&b);
		return;
	}
	if (attach(f)) {
		f->dev = old;
		snap_buf_free(&b);
		return;
	}
	if (virtio_mmio_restore(f->dev, blob ? blob : b.data, blob ? len : b.len, err,
				sizeof(err))) {
		virtio_dev_destroy(f->dev);
		f->dev = old;
	} else {
		virtio_dev_destroy(old);
	}
	snap_buf_free(&b);
}

static void check(struct fuzz *f)
{
	const struct virtio_balloon_metrics *m = virtio_balloon_metrics(f->dev);

	if (m->pages_hinted + m->pages_reported > m->pages_given_back)
		abort();
}

static size_t run(struct fuzz *f, const struct vio_op *op, const uint8_t *rest, size_t left)
{
	uint8_t buf[4] = { 0 };
	size_t used = 0;

	switch (op->kind % NR_OPS) {
	case OP_READ:
		virtio_mmio_bus_ops.read(f->dev, op->off & 0x1ff, buf, 4);
		break;
	case OP_WRITE:
		vio_wr32(f->dev, op->off & 0x1ff, op->val);
		break;
	case OP_STORE:
		memcpy(f->ram + ((uint64_t)op->off * 64 + op->arg) % (RAM_SIZE - 4), &op->val, 4);
		break;
	case OP_BRING_UP:
		bring_up(f, op->arg, op->val);
		break;
	case OP_CHAIN:
		add_chain(f, op);
		break;
	case OP_KICK:
		vio_wr32(f->dev, VIRTIO_MMIO_QUEUE_NOTIFY, op->arg % VIRTIO_MAX_QUEUES);
		break;
	case OP_LOOP:
		event_loop_run_once(f->loop, 0);
		break;
	case OP_API:
		api(f, op);
		break;
	case OP_SAVE_RESTORE:
		restore(f, NULL, 0);
		break;
	default:
		used = op->val % (left + 1);
		restore(f, rest, used);
		break;
	}
	return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz f = { 0 };
	struct vio_op op;

	if (size < 1)
		return 0;
	/* The first byte: which features the device offers, and the stats interval. */
	f.cfg = (struct balloon_config){
		.present = true, .amount_mib = 1, .deflate_on_oom = data[0] & 1,
		.stats_polling_interval_s = data[0] >> 1 & 1, .free_page_hinting = data[0] >> 2 & 1,
		.free_page_reporting = data[0] >> 3 & 1,
	};
	data++;
	size--;
	f.ram = aligned_alloc(4096, RAM_SIZE);
	f.loop = event_loop_create();
	if (!f.ram || !f.loop)
		goto out;
	memset(f.ram, 0, RAM_SIZE);
	vio_mem(&f.mem, f.ram, RAM_SIZE);
	if (attach(&f))
		goto out;
	while (vio_next(&data, &size, &op)) {
		size_t used = run(&f, &op, data, size);

		data += used;
		size -= used;
		check(&f);
	}
	virtio_dev_destroy(f.dev);
out:
	event_loop_destroy(f.loop);
	free(f.ram);
	return 0;
}
