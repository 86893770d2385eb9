// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the device sections of a snapshot decoded by their
 * owners' restore functions (serial, i8042, the virtio MMIO transport with
 * its queues, on virtio-blk and virtio-rng), then used as a guest would use
 * the restored device: every register read, a few written, each queue
 * kicked over a small guest RAM. The input is a state file (the seeds are
 * real ones) or its sections alone: the header is skipped and the CRC is
 * not checked, so that mutations reach the decoders rather than the
 * framing (fuzz_snapshot_state has that).
 */
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <petrel/devices.h>
#include <petrel/log.h>
#include <petrel/snapshot.h>
#include <petrel/util.h>
#include <petrel/virtio.h>

#define HEADER_LEN	(SNAP_MAGIC_LEN + 8)
#define SECTION_HEAD	12
#define MAX_SECTIONS	16
#define RAM_SIZE	0x20000
#define IMAGE_SIZE	MiB(1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char image[64];

static void unlink_image(void)
{
	unlink(image);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	log_set_level(LOG_OFF);		/* every refused queue would log */
	snprintf(image, sizeof(image), "%s/petrel-fuzz-snap-XXXXXX",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
	fd = mkstemp(image);
	if (fd < 0 || ftruncate(fd, IMAGE_SIZE))
		abort();
	close(fd);
	atexit(unlink_image);
	return 0;
}

static void reset_line(void *opaque)
{
}

static void use_serial(const uint8_t *data, size_t len)
{
	struct serial *s = serial_create((struct irq_line){ -1 }, -1, -1);
	uint8_t b = 'x';

	if (!s)
		abort();
	if (!serial_restore(s, data, len)) {
		for (uint64_t off = 0; off < 8; off++)
			serial_bus_ops.read(s, off, &b, 1);
		serial_bus_ops.write(s, 0, &b, 1);	/* THR, or DLL with DLAB set */
		serial_enqueue_input(s, &b, 1);
		for (uint64_t off = 0; off < 8; off++)
			serial_bus_ops.read(s, off, &b, 1);
		serial_drop_output(s);
	}
	serial_destroy(s);
}

static void use_i8042(const uint8_t *data, size_t len)
{
	struct i8042 *k = i8042_create((struct irq_line){ -1 }, reset_line, NULL);
	uint8_t b;

	if (!k)
		abort();
	if (!i8042_restore(k, data, len)) {
		for (int i = 0; i < 20; i++) {		/* more than the output buffer holds */
			i8042_cmd_bus_ops.read(k, 0, &b, 1);
			i8042_data_bus_ops.read(k, 0, &b, 1);
		}
		i8042_data_bus_ops.write(k, 0, &b, 1);	/* finishes a pending command */
		i8042_send_ctrl_alt_del(k);
	}
	i8042_destroy(k);
}

static void use_virtio(struct virtio_dev *dev, const uint8_t *data, size_t len)
{
	struct guest_mem mem = { .nr_regions = 1, .ram_size = RAM_SIZE, .memfd = -1 };
	struct virtio_host host = { .vm_fd = -1, .mem = &mem };
	char err[256];
	uint32_t v;

	/* Exactly-sized RAM, so that the sanitizer sees any stray access; the input fills it. */
	mem.regions[0] = (struct guest_region){ 0, RAM_SIZE, calloc(1, RAM_SIZE) };
	if (!dev || !mem.regions[0].host || virtio_mmio_attach(&host, dev, 0, (struct irq_line){ -1 }))
		abort();
	memcpy(mem.regions[0].host, data, MIN(len, RAM_SIZE));
	if (!virtio_mmio_restore(dev, data, len, err, sizeof(err))) {
		for (uint64_t off = 0; off < 0x100; off += 4)
			virtio_mmio_bus_ops.read(dev, off, (uint8_t *)&v, 4);
		for (uint32_t q = 0; q < dev->nr_queues + 1; q++)
			virtio_mmio_bus_ops.write(dev, VIRTIO_MMIO_QUEUE_NOTIFY, (uint8_t *)&q, 4);
		v = 0;
		virtio_mmio_bus_ops.write(dev, VIRTIO_MMIO_STATUS, (uint8_t *)&v, 4);
	}
	virtio_dev_destroy(dev);
	free(mem.regions[0].host);
}

static void restore_section(unsigned int id, const uint8_t *data, size_t len)
{
	struct drive_config cfg = { .drive_id = "fuzz", .path_on_host = image,
				    .cache_type = CACHE_UNSAFE, .io_engine = IO_ENGINE_SYNC };
	/* The entropy device with limiters, so that a state's buckets can fit them. */
	struct rl_config rl = { .present = true, .bandwidth = { true, 4096, 512, 100 },
				.ops = { true, 16, 0, 1000 } };

	switch (id) {
	case SNAP_SEC_SERIAL:
		use_serial(data, len);
		break;
	case SNAP_SEC_I8042:
		use_i8042(data, len);
		break;
	case SNAP_SEC_VIRTIO:
		/* Which device a slot holds is the configuration's: try both kinds. */
		use_virtio(virtio_blk_create(&cfg), data, len);
		use_virtio(virtio_rng_create(NULL), data, len);
		use_virtio(virtio_rng_create(&rl), data, len);
		break;
	}
}

static uint32_t le(const uint8_t *p, unsigned int n)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= HEADER_LEN && !memcmp(data, SNAP_MAGIC, SNAP_MAGIC_LEN)) {
		data += HEADER_LEN;
		size -= HEADER_LEN;
	}
	for (int n = 0; n < MAX_SECTIONS && size >= SECTION_HEAD; n++) {
		unsigned int id = le(data, 2);
		size_t len = le(data + 8, 4);

		data += SECTION_HEAD;
		size -= SECTION_HEAD;
		if (id == SNAP_SEC_END || len > size)
			break;
		restore_section(id, data, len);
		data += len;
		size -= len;
	}
	return 0;
}
