/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tiny virtio-mmio driver for unit tests: guest RAM is a malloc'd region
 * at gpa 0, the device is attached with a real event loop (no KVM), set up
 * through its registers, and its queues are split rings the test fills.
 */
#ifndef PETREL_TEST_VIRTIO_DRIVER_H
#define PETREL_TEST_VIRTIO_DRIVER_H

#include <check.h>
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include <petrel/util.h>
#include <petrel/virtio.h>

#define VD_RAM_SIZE	MiB(8)
#define VD_RINGS	0x1000ULL	/* queue q's rings: 16 KiB each from here */
#define VD_BUFS		0x100000ULL	/* buffers are bump-allocated from here */

struct vd_queue {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t next_desc;
	uint16_t avail_idx;
	uint16_t kicked_idx;		/* avail_idx at the last kick */
	uint16_t last_used;
};

struct vdrv {
	struct guest_mem mem;
	struct event_loop *loop;
	struct virtio_dev *dev;
	struct irq_line irq;
	uint64_t features;		/* accepted */
	uint64_t next_buf;
	struct vd_queue q[VIRTIO_MAX_QUEUES];
};

/* A buffer in a chain: device-readable unless write. */
struct vd_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

static inline void *vd_ptr(struct vdrv *d, uint64_t gpa)
{
	return d->mem.regions[0].host + gpa;
}

static inline uint32_t vd_read32(struct vdrv *d, uint64_t off)
{
	uint32_t v;

	virtio_mmio_bus_ops.read(d->dev, off, (uint8_t *)&v, 4);
	return le32toh(v);
}

static inline void vd_write32(struct vdrv *d, uint64_t off, uint32_t v)
{
	v = htole32(v);
	virtio_mmio_bus_ops.write(d->dev, off, (const uint8_t *)&v, 4);
}

static inline void vd_config(struct vdrv *d, uint32_t off, void *buf, uint32_t len)
{
	virtio_mmio_bus_ops.read(d->dev, VIRTIO_MMIO_CONFIG + off, buf, len);
}

static inline uint64_t vd_device_features(struct vdrv *d)
{
	uint64_t f;

	vd_write32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f = (uint64_t)vd_read32(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	vd_write32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return f | vd_read32(d, VIRTIO_MMIO_DEVICE_FEATURES);
}

static inline void vd_setup_queue(struct vdrv *d, unsigned int q, uint16_t size)
{
	struct vd_queue *vq = &d->q[q];
	uint64_t base = VD_RINGS + q * KiB(16);

	*vq = (struct vd_queue){ .size = size, .desc = base, .avail = base + KiB(4),
				 .used = base + KiB(8) };
	memset(vd_ptr(d, base), 0, KiB(16));
	vd_write32(d, VIRTIO_MMIO_QUEUE_SEL, q);
	vd_write32(d, VIRTIO_MMIO_QUEUE_NUM, size);
	vd_write32(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)vq->desc);
	vd_write32(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)vq->avail);
	vd_write32(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)vq->used);
	vd_write32(d, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* The handshake on a reset device: accept offered & want (plus VERSION_1), every queue, DRIVER_OK. */
static inline void vd_start(struct vdrv *d, uint64_t want)
{
	vd_write32(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vd_write32(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	d->features = vd_device_features(d) & (want | 1ULL << VIRTIO_F_VERSION_1);
	vd_write32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vd_write32(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(d->features >> 32));
	vd_write32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vd_write32(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)d->features);
	vd_write32(d, VIRTIO_MMIO_STATUS, 0xb);	/* ACKNOWLEDGE | DRIVER | FEATURES_OK */
	ck_assert_uint_eq(vd_read32(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK,
			  VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int q = 0; q < d->dev->nr_queues; q++)
		vd_setup_queue(d, q, VIRTQ_MAX_SIZE);
	vd_write32(d, VIRTIO_MMIO_STATUS, 0xf);	/* ... | DRIVER_OK */
}

/* Attach dev as a guest would find it, before its driver. */
static inline void vd_attach(struct vdrv *d, struct virtio_dev *dev)
{
	struct virtio_host host = { .vm_fd = -1 };
	uint8_t *ram = aligned_alloc(4096, VD_RAM_SIZE);

	ck_assert_ptr_nonnull(dev);
	ck_assert_ptr_nonnull(ram);
	memset(ram, 0, VD_RAM_SIZE);
	*d = (struct vdrv){ .dev = dev, .next_buf = VD_BUFS };
	d->mem = (struct guest_mem){ .regions = { { 0, VD_RAM_SIZE, ram } }, .nr_regions = 1,
				     .ram_size = VD_RAM_SIZE, .memfd = -1 };
	d->loop = event_loop_create();
	d->irq.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ck_assert_ptr_nonnull(d->loop);
	host.loop = d->loop;
	host.mem = &d->mem;
	ck_assert_int_eq(virtio_mmio_attach(&host, dev, 0, d->irq), 0);
}

/* Attach dev and start it (vd_start). */
static inline void vd_init(struct vdrv *d, struct virtio_dev *dev, uint64_t want)
{
	vd_attach(d, dev);
	vd_start(d, want);
}

static inline void vd_fini(struct vdrv *d)
{
	virtio_dev_destroy(d->dev);
	event_loop_destroy(d->loop);
	close(d->irq.fd);
	free(d->mem.regions[0].host);
}

/* A zeroed guest buffer of len bytes. */
static inline uint64_t vd_alloc(struct vdrv *d, uint32_t len)
{
	uint64_t gpa = d->next_buf;

	d->next_buf = ALIGN_UP(gpa + len, 64);
	ck_assert_uint_le(d->next_buf, VD_RAM_SIZE);
	memset(vd_ptr(d, gpa), 0, len);
	return gpa;
}

/* Put a chain on the avail ring (not kicked yet); its head. */
static inline uint16_t vd_add(struct vdrv *d, unsigned int q, const struct vd_seg *s,
			      unsigned int n)
{
	struct vd_queue *vq = &d->q[q];
	struct vring_desc *desc = vd_ptr(d, vq->desc);
	struct vring_avail *avail = vd_ptr(d, vq->avail);
	uint16_t head = vq->next_desc;

	for (unsigned int i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % vq->size);

		desc[idx].addr = htole64(s[i].gpa);
		desc[idx].len = htole32(s[i].len);
		desc[idx].flags = htole16((s[i].write ? VRING_DESC_F_WRITE : 0) |
					  (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		desc[idx].next = htole16((uint16_t)((idx + 1) % vq->size));
	}
	vq->next_desc = (uint16_t)((head + n) % vq->size);
	avail->ring[vq->avail_idx % vq->size] = htole16(head);
	__atomic_store_n(&avail->idx, htole16(++vq->avail_idx), __ATOMIC_RELEASE);
	return head;
}

/* Kick, or with EVENT_IDX only when the device asked to be (avail_event). */
static inline void vd_kick(struct vdrv *d, unsigned int q)
{
	struct vd_queue *vq = &d->q[q];
	uint16_t event;

	/* avail_event: the word after the used ring's last element. */
	memcpy(&event, (uint8_t *)vd_ptr(d, vq->used) + sizeof(struct vring_used) +
	       vq->size * sizeof(struct vring_used_elem), sizeof(event));
	event = le16toh(event);

	if (!(d->features & 1ULL << VIRTIO_RING_F_EVENT_IDX) ||
	    vring_need_event(event, vq->avail_idx, vq->kicked_idx))
		vd_write32(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	vq->kicked_idx = vq->avail_idx;
}

/* Take the next used entry: true with *head and *len, false when none. */
static inline bool vd_used(struct vdrv *d, unsigned int q, uint16_t *head, uint32_t *len)
{
	struct vd_queue *vq = &d->q[q];
	struct vring_used *used = vd_ptr(d, vq->used);
	struct vring_used_elem *e;

	if (le16toh(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE)) == vq->last_used)
		return false;
	e = &used->ring[vq->last_used++ % vq->size];
	*head = (uint16_t)le32toh(e->id);
	*len = le32toh(e->len);
	return true;
}

static inline uint16_t vd_used_idx(struct vdrv *d, unsigned int q)
{
	struct vring_used *used = vd_ptr(d, d->q[q].used);

	return le16toh(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE));
}

/* Run the event loop until queue q has count more used entries than the driver took, or timeout. */
static inline bool vd_wait_used(struct vdrv *d, unsigned int q, uint16_t count, int timeout_ms)
{
	uint64_t end = util_now_us() + (uint64_t)timeout_ms * 1000;

	while ((uint16_t)(vd_used_idx(d, q) - d->q[q].last_used) < count) {
		if (util_now_us() >= end)
			return false;
		ck_assert_int_eq(event_loop_run_once(d->loop, 10), 0);
	}
	return true;
}

static inline bool vd_needs_reset(struct vdrv *d)
{
	return vd_read32(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

#endif
