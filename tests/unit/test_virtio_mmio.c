// SPDX-License-Identifier: Apache-2.0
/* The virtio-mmio transport driven through its registers, as a guest driver would. */
#include <check.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <petrel/util.h>
#include <petrel/virtio.h>

#define BASE		0xc0001000ULL
#define RAM_SIZE	0x100000ULL
#define DESC_GPA	0x1000ULL
#define AVAIL_GPA	0x2000ULL
#define USED_GPA	0x3000ULL
#define BUF_GPA		0x10000ULL
#define QSIZE		8
#define TEST_FEATURES	((1ULL << 0) | (1ULL << 5))
#define F_VERSION_1	(1ULL << VIRTIO_F_VERSION_1)

/* A tiny device: two queues, 8 bytes of config, counts what the transport asks of it. */
struct tdev {
	struct virtio_dev dev;
	uint8_t config[8];
	int activations, resets, notifies, activate_ret;
	struct virtq_elem elem;
};

static uint64_t t_features(struct virtio_dev *dev)
{
	return TEST_FEATURES;
}

static void t_config_read(struct virtio_dev *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	memcpy(data, ((struct tdev *)dev)->config + off, len);
}

static void t_config_write(struct virtio_dev *dev, uint32_t off, const uint8_t *data,
			   uint32_t len)
{
	memcpy(((struct tdev *)dev)->config + off, data, len);
}

static int t_activate(struct virtio_dev *dev)
{
	((struct tdev *)dev)->activations++;
	return ((struct tdev *)dev)->activate_ret;
}

static void t_queue_notify(struct virtio_dev *dev, unsigned int q)
{
	struct tdev *t = (struct tdev *)dev;
	const char *why;

	t->notifies++;
	while (virtq_pop(&dev->queues[q], dev->mem, &t->elem, &why) > 0)
		virtq_push(&dev->queues[q], dev->mem, t->elem.head, t->elem.in_len);
	virtio_dev_notify(dev, &dev->queues[q]);
}

static void t_reset(struct virtio_dev *dev)
{
	((struct tdev *)dev)->resets++;
}

static void t_destroy(struct virtio_dev *dev)
{
	free(dev);
}

static const struct virtio_dev_ops t_ops = {
	.device_id = VIRTIO_ID_CONSOLE, .features = t_features, .config_size = 8,
	.config_read = t_config_read, .config_write = t_config_write, .activate = t_activate,
	.queue_notify = t_queue_notify, .reset = t_reset, .destroy = t_destroy,
};

static struct guest_mem mem;
static uint8_t *ram;
static struct bus bus;
static int irq_fd;
static struct virtio_dev *dev;
static struct tdev *td;

static struct virtio_host host(struct event_loop *loop)
{
	return (struct virtio_host){ .vm_fd = -1, .mmio = &bus, .loop = loop, .mem = &mem };
}

static void attach(struct virtio_dev *d, struct event_loop *loop)
{
	struct virtio_host h = host(loop);

	dev = d;
	ck_assert_int_eq(virtio_mmio_attach(&h, dev, BASE, (struct irq_line){ irq_fd }), 0);
}

static void setup(void)
{
	ram = calloc(1, RAM_SIZE);
	mem = (struct guest_mem){ .nr_regions = 1, .ram_size = RAM_SIZE, .memfd = -1 };
	mem.regions[0] = (struct guest_region){ 0, RAM_SIZE, ram };
	bus = (struct bus){ 0 };
	irq_fd = eventfd(0, EFD_NONBLOCK);
	td = calloc(1, sizeof(*td));
	td->dev.ops = &t_ops;
	td->dev.nr_queues = 2;
	strcpy(td->dev.id, "test");
	attach(&td->dev, NULL);
}

static void teardown(void)
{
	virtio_dev_destroy(dev);
	close(irq_fd);
	free(ram);
}

static uint32_t rd(uint64_t off)
{
	uint32_t v;

	ck_assert(bus_read(&bus, BASE + off, (uint8_t *)&v, 4));
	return v;
}

static void wr(uint64_t off, uint32_t v)
{
	ck_assert(bus_write(&bus, BASE + off, (uint8_t *)&v, 4));
}

static uint64_t irqs(void)
{
	uint64_t n = 0;

	if (read(irq_fd, &n, sizeof(n)) < 0)
		return 0;
	return n;
}

static void negotiate(uint64_t features)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, features >> 32);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
	   VIRTIO_CONFIG_S_FEATURES_OK);
}

static void setup_queue(unsigned int q)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, q);
	wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, DESC_GPA);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL_GPA);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, USED_GPA);
	wr(VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

static void driver_ok(void)
{
	wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
}

static void bring_up(uint64_t features)
{
	negotiate(features);
	setup_queue(0);
	driver_ok();
}

static struct vring_avail *avail(void)
{
	return (struct vring_avail *)(ram + AVAIL_GPA);
}

static struct vring_used *used(void)
{
	return (struct vring_used *)(ram + USED_GPA);
}

/* One descriptor as a whole chain, offered on the ring. */
static void offer(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags)
{
	((struct vring_desc *)(ram + DESC_GPA))[i] = (struct vring_desc){ addr, len, flags, 0 };
	avail()->ring[avail()->idx % QSIZE] = i;
	avail()->idx++;
}

START_TEST(identity)
{
	ck_assert_uint_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_VERSION), 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_CONSOLE);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_VENDOR_ID), 0x52544550);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), TEST_FEATURES |
			  (1u << VIRTIO_RING_F_INDIRECT_DESC) | (1u << VIRTIO_RING_F_EVENT_IDX));
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 1);	/* VERSION_1 */
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
	wr(VIRTIO_MMIO_QUEUE_SEL, 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_SHM_LEN_LOW), UINT32_MAX);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	ck_assert_uint_eq(dev->metrics.register_errors, 0);
}
END_TEST

START_TEST(negotiation)
{
	negotiate(TEST_FEATURES | F_VERSION_1 | (1ULL << VIRTIO_RING_F_EVENT_IDX));
	ck_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	setup_queue(0);
	setup_queue(1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	ck_assert_int_eq(td->activations, 0);
	driver_ok();
	ck_assert_int_eq(td->activations, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0xf);
	ck_assert(virtio_dev_has_feature(dev, 5));
	ck_assert(virtio_dev_has_feature(dev, VIRTIO_F_VERSION_1));
	ck_assert(!virtio_dev_has_feature(dev, 1));
	ck_assert(!virtio_dev_has_feature(dev, 200));
	ck_assert(dev->queues[1].ready && dev->queues[1].event_idx);
	ck_assert_uint_eq(dev->queues[1].size, QSIZE);
	ck_assert_uint_eq(dev->queues[1].used_gpa, USED_GPA);
	ck_assert_uint_eq(dev->metrics.register_errors, 0);
}
END_TEST

START_TEST(features_refused)
{
	negotiate(TEST_FEATURES | F_VERSION_1 | (1ULL << 3));	/* 3 was not offered */
	ck_assert(!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK));
	wr(VIRTIO_MMIO_STATUS, 0);
	negotiate(TEST_FEATURES);				/* legacy: no VERSION_1 */
	ck_assert(!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK));
	driver_ok();
	ck_assert_int_eq(td->activations, 0);
	ck_assert_uint_eq(dev->metrics.register_errors, 3);
}
END_TEST

static void expect_ignored(uint64_t *errors)
{
	ck_assert_uint_eq(dev->metrics.register_errors, ++*errors);
}

START_TEST(bad_orders)
{
	uint64_t errors = 0;
	uint16_t half = 0xffff;

	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_DRIVER);		/* before ACKNOWLEDGE */
	expect_ignored(&errors);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);			/* before DRIVER */
	expect_ignored(&errors);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_FEATURES_OK);
	expect_ignored(&errors);
	wr(VIRTIO_MMIO_STATUS, 0x13);				/* a bit drivers do not own */
	expect_ignored(&errors);
	wr(VIRTIO_MMIO_QUEUE_NUM, 4);				/* queue setup before FEATURES_OK */
	expect_ignored(&errors);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
	   VIRTIO_CONFIG_S_DRIVER_OK);				/* DRIVER_OK before FEATURES_OK */
	expect_ignored(&errors);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, 0);
	negotiate(F_VERSION_1);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);	/* clears bits without a reset */
	expect_ignored(&errors);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);			/* after FEATURES_OK */
	expect_ignored(&errors);
	ck_assert(!virtio_dev_has_feature(dev, 0));
	wr(VIRTIO_MMIO_QUEUE_NUM, 6);
	expect_ignored(&errors);
	wr(VIRTIO_MMIO_QUEUE_NUM, 512);
	expect_ignored(&errors);
	wr(VIRTIO_MMIO_QUEUE_SEL, 7);
	wr(VIRTIO_MMIO_QUEUE_NUM, 4);				/* absent queue */
	expect_ignored(&errors);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	expect_ignored(&errors);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 7);
	expect_ignored(&errors);
	setup_queue(0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 4);				/* queue already live */
	expect_ignored(&errors);
	wr(VIRTIO_MMIO_QUEUE_READY, 2);
	expect_ignored(&errors);
	driver_ok();
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, DESC_GPA);		/* setup after DRIVER_OK */
	expect_ignored(&errors);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	expect_ignored(&errors);
	ck_assert(!dev->queues[1].ready);
	ck_assert_uint_eq(dev->queues[0].size, QSIZE);
	wr(VIRTIO_MMIO_MAGIC_VALUE, 0);				/* read-only */
	expect_ignored(&errors);
	rd(VIRTIO_MMIO_QUEUE_DESC_LOW);				/* write-only */
	expect_ignored(&errors);
	rd(0x0f8);						/* nothing there */
	expect_ignored(&errors);
	ck_assert(bus_read(&bus, BASE + VIRTIO_MMIO_STATUS, (uint8_t *)&half, 2));
	ck_assert_uint_eq(half, 0);				/* registers are 32-bit */
	expect_ignored(&errors);
	ck_assert(bus_write(&bus, BASE + VIRTIO_MMIO_STATUS + 2, (uint8_t *)&half, 2));
	expect_ignored(&errors);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0xf);
	ck_assert_int_eq(td->activations, 1);
}
END_TEST

START_TEST(reset)
{
	bring_up(F_VERSION_1);
	virtio_dev_config_changed(dev);
	ck_assert_uint_ne(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert_int_eq(td->resets, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);	/* QueueSel back to 0 */
	ck_assert(!dev->queues[0].ready);
	ck_assert_uint_eq(dev->queues[0].size, VIRTQ_MAX_SIZE);
	ck_assert_uint_eq(dev->driver_features, 0);
	/* A second life after the reset. */
	bring_up(F_VERSION_1 | 1);
	ck_assert_int_eq(td->activations, 2);
	ck_assert(dev->queues[0].ready);
}
END_TEST

START_TEST(config_space)
{
	uint8_t b[8];
	uint64_t q = 0;
	uint16_t h = 0;
	uint32_t gen = rd(VIRTIO_MMIO_CONFIG_GENERATION);

	memcpy(td->config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	ck_assert(bus_read(&bus, BASE + VIRTIO_MMIO_CONFIG + 3, b, 1));
	ck_assert_uint_eq(b[0], 4);
	ck_assert(bus_read(&bus, BASE + VIRTIO_MMIO_CONFIG + 6, (uint8_t *)&h, 2));
	ck_assert_uint_eq(h, 0x0807);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG + 4), 0x08070605);
	ck_assert(bus_read(&bus, BASE + VIRTIO_MMIO_CONFIG, (uint8_t *)&q, 8));
	ck_assert_uint_eq(q, 0x0807060504030201ULL);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG + 6), 0);	/* crosses the end */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG + 0xe00), 0);
	ck_assert_uint_eq(dev->metrics.register_errors, 2);
	wr(VIRTIO_MMIO_CONFIG + 4, 0xdeadbeef);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG + 4), 0xdeadbeef);
	/* A change before DRIVER_OK bumps the generation but raises nothing. */
	virtio_dev_config_changed(dev);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_uint_eq(irqs(), 0);
	bring_up(F_VERSION_1);
	virtio_dev_config_changed(dev);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen + 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	ck_assert_uint_eq(irqs(), 1);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}
END_TEST

START_TEST(used_buffer_interrupt)
{
	bring_up(F_VERSION_1);
	offer(0, BUF_GPA, 64, VRING_DESC_F_WRITE);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_int_eq(td->notifies, 1);
	ck_assert_uint_eq(used()->idx, 1);
	ck_assert_uint_eq(used()->ring[0].len, 64);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	ck_assert_uint_eq(irqs(), 1);
	ck_assert_uint_eq(dev->metrics.interrupts, 1);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* The driver asks for no interrupts: none is raised. */
	avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;
	offer(1, BUF_GPA, 8, VRING_DESC_F_WRITE);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_uint_eq(used()->idx, 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	ck_assert_uint_eq(irqs(), 0);
	/* Kicks for a queue that is not ready are not passed on. */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	ck_assert_int_eq(td->notifies, 2);
}
END_TEST

START_TEST(needs_reset)
{
	bring_up(F_VERSION_1);
	virtio_dev_fail(dev, "test %d", 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0xf | VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	ck_assert_uint_eq(dev->metrics.queue_errors, 1);
	offer(0, BUF_GPA, 8, VRING_DESC_F_WRITE);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_int_eq(td->notifies, 0);			/* broken: not served */
	/* Drivers write back the status they read, NEEDS_RESET included. */
	wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_FAILED);
	ck_assert_uint_eq(dev->metrics.register_errors, 0);
	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	ck_assert(!dev->broken);
}
END_TEST

START_TEST(activate_failure)
{
	td->activate_ret = -EIO;
	bring_up(F_VERSION_1);
	ck_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert(dev->broken);
}
END_TEST

START_TEST(kicks_through_the_loop)
{
	struct event_loop *loop = event_loop_create();

	ck_assert_ptr_nonnull(loop);
	virtio_mmio_detach(dev);
	bus = (struct bus){ 0 };
	attach(dev, loop);
	ck_assert_int_ge(dev->queues[1].kick_fd, 0);
	negotiate(F_VERSION_1);
	setup_queue(0);
	offer(0, BUF_GPA, 8, VRING_DESC_F_WRITE);
	driver_ok();
	/* DRIVER_OK passes buffers offered before it to the vmm thread. */
	ck_assert_int_eq(td->notifies, 0);
	ck_assert_int_eq(event_loop_run_once(loop, 0), 0);
	ck_assert_int_eq(td->notifies, 1);
	ck_assert_uint_eq(used()->idx, 1);
	offer(1, BUF_GPA, 8, VRING_DESC_F_WRITE);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_int_eq(td->notifies, 1);
	ck_assert_int_eq(event_loop_run_once(loop, 0), 0);
	ck_assert_int_eq(td->notifies, 2);
	ck_assert_uint_eq(used()->idx, 2);
	virtio_mmio_detach(dev);
	ck_assert_int_eq(dev->queues[0].kick_fd, -1);
	ck_assert_ptr_null(dev->transport);
	event_loop_destroy(loop);
}
END_TEST

START_TEST(attach_refuses)
{
	struct virtio_host h = host(NULL);
	struct tdev t = { .dev = { .ops = &t_ops, .nr_queues = VIRTIO_MAX_QUEUES + 1 } };

	ck_assert_int_eq(virtio_mmio_attach(&h, &t.dev, BASE + 0x1000, (struct irq_line){ -1 }),
			 -EINVAL);
	ck_assert_ptr_null(t.dev.transport);
	t.dev.nr_queues = 1;
	/* The slot of the fixture's device is taken. */
	ck_assert_int_eq(virtio_mmio_attach(&h, &t.dev, BASE, (struct irq_line){ -1 }), -EEXIST);
	ck_assert_ptr_null(t.dev.transport);
}
END_TEST

/* virtio-rng through the transport. */
static void attach_rng(void)
{
	virtio_dev_destroy(dev);
	bus = (struct bus){ 0 };
	attach(virtio_rng_create(NULL), NULL);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	bring_up(F_VERSION_1 | (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
}

START_TEST(rng_fills_buffers)
{
	static const uint8_t zero[32];

	attach_rng();
	/* One chain of two writable buffers. */
	((struct vring_desc *)(ram + DESC_GPA))[1] = (struct vring_desc){
		BUF_GPA + 0x100, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2 };
	((struct vring_desc *)(ram + DESC_GPA))[2] = (struct vring_desc){
		BUF_GPA + 0x200, 16, VRING_DESC_F_WRITE, 0 };
	avail()->ring[0] = 1;
	avail()->idx = 1;
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_uint_eq(used()->idx, 1);
	ck_assert_uint_eq(used()->ring[0].id, 1);
	ck_assert_uint_eq(used()->ring[0].len, 32);
	ck_assert(memcmp(ram + BUF_GPA + 0x100, zero, 16) ||
		  memcmp(ram + BUF_GPA + 0x200, zero, 16));
	ck_assert_uint_eq(dev->metrics.requests, 1);
	ck_assert_uint_eq(dev->metrics.bytes_written, 32);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
}
END_TEST

START_TEST(rng_refuses_readable_only)
{
	attach_rng();
	offer(0, BUF_GPA, 16, 0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_uint_eq(used()->idx, 0);
	ck_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert_uint_eq(dev->metrics.queue_errors, 1);
	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert(!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET));
}
END_TEST

START_TEST(rng_malformed_ring)
{
	attach_rng();
	offer(0, RAM_SIZE - 4, 16, VRING_DESC_F_WRITE);		/* past the end of RAM */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_uint_eq(used()->idx, 0);
	ck_assert(dev->broken);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio_mmio");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, identity);
	tcase_add_test(tc, negotiation);
	tcase_add_test(tc, features_refused);
	tcase_add_test(tc, bad_orders);
	tcase_add_test(tc, reset);
	tcase_add_test(tc, config_space);
	tcase_add_test(tc, used_buffer_interrupt);
	tcase_add_test(tc, needs_reset);
	tcase_add_test(tc, activate_failure);
	tcase_add_test(tc, kicks_through_the_loop);
	tcase_add_test(tc, attach_refuses);
	tcase_add_test(tc, rng_fills_buffers);
	tcase_add_test(tc, rng_refuses_readable_only);
	tcase_add_test(tc, rng_malformed_ring);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
