// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: virtio-blk's request parsing and serving, driven as a
 * guest would. The input is a header (device and queue options) and then
 * guest RAM: a descriptor table at 0, the driver area at 0x1000, the device
 * area at 0x1400 and request buffers anywhere. A Sync drive over a small
 * scratch image is set up through the MMIO registers, kicked (served on
 * this thread: no event loop), optionally reset and kicked again.
 */
#include <stdio.h>
#include <unistd.h>
#include <linux/virtio_blk.h>

#include <petrel/log.h>
#include <petrel/util.h>

#include "fuzz_virtio.h"

#define RAM_SIZE	0x10000
#define DESC_GPA	0x0
#define AVAIL_GPA	0x1000
#define USED_GPA	0x1400
#define IMAGE_SIZE	MiB(1)

enum {
	F_READ_ONLY = 1 << 0,
	F_WRITEBACK = 1 << 1,		/* FLUSH offered */
	F_EVENT_IDX = 1 << 2,
	F_INDIRECT = 1 << 3,
	F_RESET = 1 << 4,		/* Status 0 after the first kick, then start again */
};

struct header {
	uint8_t flags;
	uint8_t size_log2;		/* queue size 2^(n % 9) */
} __attribute__((packed));

static char image[64];

static void unlink_image(void)
{
	unlink(image);
}

static void scratch_image(void)
{
	int fd;

	if (image[0])
		return;
	log_set_level(LOG_OFF);		/* every malformed chain would log */
	snprintf(image, sizeof(image), "%s/petrel-fuzz-blk-XXXXXX",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
	fd = mkstemp(image);
	if (fd < 0 || ftruncate(fd, IMAGE_SIZE))
		abort();
	close(fd);
	atexit(unlink_image);
}

static uint32_t rd(struct virtio_dev *dev, uint64_t off)
{
	uint32_t v;

	virtio_mmio_bus_ops.read(dev, off, (uint8_t *)&v, 4);
	return v;
}

/* The driver's side of the handshake, and a kick of queue 0. */
static void start(struct virtio_dev *dev, const struct header *h)
{
	uint64_t want = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_BLK_F_FLUSH |
			1ULL << VIRTIO_BLK_F_RO | 1ULL << VIRTIO_BLK_F_SEG_MAX;
	uint64_t offered;

	if (h->flags & F_EVENT_IDX)
		want |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (h->flags & F_INDIRECT)
		want |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	vio_wr32(dev, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vio_wr32(dev, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vio_wr32(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered = (uint64_t)rd(dev, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	vio_wr32(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	want &= offered | rd(dev, VIRTIO_MMIO_DEVICE_FEATURES);
	vio_wr32(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vio_wr32(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	vio_wr32(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vio_wr32(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
	vio_wr32(dev, VIRTIO_MMIO_STATUS, 0xb);
	vio_queue(dev, 0, 1u << (h->size_log2 % 9), DESC_GPA, AVAIL_GPA, USED_GPA);
	vio_wr32(dev, VIRTIO_MMIO_STATUS, 0xf);
	vio_wr32(dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drive_config cfg = { .drive_id = "fuzz", .path_on_host = image };
	struct guest_mem mem;
	struct virtio_host host = { .vm_fd = -1, .mem = &mem };
	struct irq_line irq = { .fd = -1 };
	struct virtio_dev *dev;
	struct header h;

	if (size < sizeof(h))
		return 0;
	scratch_image();
	memcpy(&h, data, sizeof(h));
	data += sizeof(h);
	size -= sizeof(h);
	/* Exactly-sized RAM, so that the sanitizer sees any stray access. */
	vio_mem(&mem, calloc(1, RAM_SIZE), RAM_SIZE);
	memcpy(mem.regions[0].host, data, MIN(size, RAM_SIZE));
	cfg.is_read_only = h.flags & F_READ_ONLY;
	cfg.cache_type = h.flags & F_WRITEBACK ? CACHE_WRITEBACK : CACHE_UNSAFE;
	cfg.io_engine = IO_ENGINE_SYNC;
	dev = virtio_blk_create(&cfg);
	if (!dev || virtio_mmio_attach(&host, dev, 0, irq))
		abort();
	start(dev, &h);
	if (!(rd(dev, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK))
		abort();	/* the handshake itself must work */
	if (h.flags & F_RESET) {
		vio_wr32(dev, VIRTIO_MMIO_STATUS, 0);
		if (rd(dev, VIRTIO_MMIO_STATUS))
			abort();	/* nothing is under way on this thread: done at once */
		start(dev, &h);
	}
	virtio_dev_destroy(dev);
	free(mem.regions[0].host);
	return 0;
}
