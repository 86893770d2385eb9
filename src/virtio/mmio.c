// SPDX-License-Identifier: Apache-2.0
/*
 * The virtio-mmio transport, version 2 (virtio 1.2, section 4.2). Register
 * accesses come from vCPU threads; queue kicks arrive as ioeventfds on the
 * vmm thread. Anything a driver does out of order is logged (rate-limited),
 * counted in register_errors and ignored.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <petrel/log.h>
#include <petrel/snapshot.h>
#include <petrel/util.h>
#include <petrel/virtio.h>

#include "transport.h"

#define MMIO_MAGIC		0x74726976	/* "virt" */
#define MMIO_VERSION		2
#define MMIO_VENDOR_ID		0x52544550	/* "PETR" */
#define TRANSPORT_FEATURES	((1ULL << VIRTIO_F_VERSION_1) | \
				 (1ULL << VIRTIO_RING_F_EVENT_IDX) | \
				 (1ULL << VIRTIO_RING_F_INDIRECT_DESC))
#define DRIVER_STATUS_BITS	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
				 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK | \
				 VIRTIO_CONFIG_S_FAILED)

/* What a kick callback needs: the device and which queue. */
struct kick {
	struct virtio_dev *dev;
	unsigned int q;
};

struct mmio {
	struct irq_line irq;
	int vm_fd;
	uint64_t base;
	uint64_t offered;		/* device features plus TRANSPORT_FEATURES */
	uint32_t status;		/* driver's bits; NEEDS_RESET is dev->broken */
	uint32_t isr;
	uint32_t config_gen;
	uint32_t dev_features_sel;
	uint32_t drv_features_sel;
	uint32_t queue_sel;
	uint32_t ioeventfds;		/* queues with a KVM ioeventfd */
	bool resetting;			/* Status 0 written, the device not yet quiet */
	struct kick kicks[VIRTIO_MAX_QUEUES];
};

static struct mmio *to_mmio(const struct virtio_dev *dev)
{
	return dev->transport;
}

static void bad_access(struct virtio_dev *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void bad_access(struct virtio_dev *dev, const char *fmt, ...)
{
	uint64_t n = ++dev->metrics.register_errors;
	char msg[160];
	va_list ap;

	if (!virtio_log_nth(n))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_warn("virtio %s: ignored %s (bad register access %" PRIu64 ")", dev->id, msg, n);
}

void virtio_mmio_signal(struct virtio_dev *dev, uint32_t isr)
{
	struct mmio *m = to_mmio(dev);

	if (!m)
		return;
	if (isr & VIRTIO_MMIO_INT_CONFIG)
		m->config_gen++;
	if (!(m->status & VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	m->isr |= isr;
	irq_line_pulse(&m->irq);
	dev->metrics.interrupts++;
}

static bool driver_ok(const struct mmio *m)
{
	return m->status & VIRTIO_CONFIG_S_DRIVER_OK;
}

/* The driver kicked queue q; dev->lock held. */
static void serve_queue(struct virtio_dev *dev, unsigned int q)
{
	struct mmio *m = to_mmio(dev);

	if (dev->broken || !driver_ok(m) || m->resetting || !dev->queues[q].ready)
		return;
	dev->ops->queue_notify(dev, q);
}

static void on_kick(void *opaque, uint32_t events)
{
	struct kick *k = opaque;
	struct virtio_dev *dev = k->dev;
	uint64_t n;

	if (read(dev->queues[k->q].kick_fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&dev->lock);
	serve_queue(dev, k->q);
	pthread_mutex_unlock(&dev->lock);
}

/* Hand a kick to the vmm thread, or serve it here when there is no event loop. */
static void kick(struct virtio_dev *dev, unsigned int q)
{
	uint64_t one = 1;

	if (dev->queues[q].kick_fd < 0)
		serve_queue(dev, q);
	else if (write(dev->queues[q].kick_fd, &one, sizeof(one)) < 0) {
		/* The counter is already non-zero: a kick is pending. */
	}
}

static struct virtq *selected_queue(struct virtio_dev *dev, const struct mmio *m)
{
	return m->queue_sel < dev->nr_queues ? &dev->queues[m->queue_sel] : NULL;
}

static uint32_t queue_read(struct virtio_dev *dev, struct mmio *m, uint64_t off)
{
	struct virtq *vq = selected_queue(dev, m);

	/* A queue the device does not have reads as absent (QueueNumMax 0). */
	if (off == VIRTIO_MMIO_QUEUE_NUM_MAX)
		return vq ? VIRTQ_MAX_SIZE : 0;
	return vq && vq->ready;
}

static uint32_t reg_read(struct virtio_dev *dev, struct mmio *m, uint64_t off)
{
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return dev->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return MMIO_VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return m->dev_features_sel < 2 ? m->offered >> (32 * m->dev_features_sel) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
	case VIRTIO_MMIO_QUEUE_READY:
		return queue_read(dev, m, off);
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return m->isr;
	case VIRTIO_MMIO_STATUS:
		return m->status | (dev->broken ? VIRTIO_CONFIG_S_NEEDS_RESET : 0);
	case VIRTIO_MMIO_SHM_LEN_LOW ... VIRTIO_MMIO_SHM_BASE_HIGH:
		return UINT32_MAX;	/* no shared memory regions: length and base -1 */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return m->config_gen;
	}
	bad_access(dev, "read of register 0x%03" PRIx64, off);
	return 0;
}

static void driver_features_write(struct virtio_dev *dev, struct mmio *m, uint32_t v)
{
	unsigned int shift = 32 * m->drv_features_sel;

	if ((m->status & VIRTIO_CONFIG_S_FEATURES_OK) || !(m->status & VIRTIO_CONFIG_S_DRIVER)) {
		bad_access(dev, "DriverFeatures write in status 0x%x", m->status);
	} else if (m->drv_features_sel < 2) {
		dev->driver_features &= ~(0xffffffffULL << shift);
		dev->driver_features |= (uint64_t)v << shift;
	} else if (v) {
		bad_access(dev, "DriverFeatures 0x%x in word %u", v, m->drv_features_sel);
	}
}

/* Between FEATURES_OK and DRIVER_OK, with the queue not yet live. */
static bool queue_setup_allowed(const struct mmio *m, const struct virtq *vq)
{
	return (m->status & VIRTIO_CONFIG_S_FEATURES_OK) && !driver_ok(m) && !vq->ready;
}

static void set_half(uint64_t *gpa, uint64_t off, uint32_t v)
{
	unsigned int shift = off & 4 ? 32 : 0;

	*gpa = (*gpa & ~(0xffffffffULL << shift)) | ((uint64_t)v << shift);
}

static void queue_ready(struct virtio_dev *dev, struct mmio *m, struct virtq *vq, uint32_t v)
{
	if (!v) {
		vq->ready = false;	/* the driver stops using the queue */
		return;
	}
	if (v != 1 || !queue_setup_allowed(m, vq)) {
		bad_access(dev, "QueueReady %u for queue %u in status 0x%x", v, m->queue_sel,
			   m->status);
		return;
	}
	vq->last_avail = vq->used_idx = 0;
	vq->signalled_valid = false;
	vq->event_idx = virtio_dev_has_feature(dev, VIRTIO_RING_F_EVENT_IDX);
	vq->ready = true;
}

static void queue_write(struct virtio_dev *dev, struct mmio *m, uint64_t off, uint32_t v)
{
	struct virtq *vq = selected_queue(dev, m);

	if (!vq)
		bad_access(dev, "write to 0x%03" PRIx64 " for absent queue %u", off, m->queue_sel);
	else if (off == VIRTIO_MMIO_QUEUE_READY)
		queue_ready(dev, m, vq, v);
	else if (!queue_setup_allowed(m, vq))
		bad_access(dev, "queue %u setup (0x%03" PRIx64 ") in status 0x%x%s", m->queue_sel,
			   off, m->status, vq->ready ? ", queue ready" : "");
	else if (off == VIRTIO_MMIO_QUEUE_NUM && (!v || v > VIRTQ_MAX_SIZE || (v & (v - 1))))
		bad_access(dev, "QueueNum %u", v);
	else if (off == VIRTIO_MMIO_QUEUE_NUM)
		vq->size = v;
	else if (off <= VIRTIO_MMIO_QUEUE_DESC_HIGH)
		set_half(&vq->desc_gpa, off, v);
	else if (off <= VIRTIO_MMIO_QUEUE_AVAIL_HIGH)
		set_half(&vq->avail_gpa, off, v);
	else
		set_half(&vq->used_gpa, off, v);
}

static void finish_reset(struct virtio_dev *dev, struct mmio *m)
{
	m->resetting = false;
	if (dev->ops->reset)
		dev->ops->reset(dev);
	for (unsigned int q = 0; q < dev->nr_queues; q++)
		virtq_reset(&dev->queues[q]);
	dev->driver_features = 0;
	dev->broken = false;
	m->status = m->isr = 0;
	m->dev_features_sel = m->drv_features_sel = m->queue_sel = 0;
}

/*
 * Status 0. A device whose I/O still uses guest memory finishes the reset
 * later (virtio_dev_reset_done, on the vmm thread); until then Status reads
 * non-zero, which the spec asks drivers to poll for, and the vCPU goes back
 * to the guest at once instead of waiting for the I/O.
 */
static void reset(struct virtio_dev *dev, struct mmio *m)
{
	if (m->resetting)
		return;
	if (dev->ops->quiesce && !dev->ops->quiesce(dev)) {
		m->resetting = true;
		return;
	}
	finish_reset(dev, m);
}

void virtio_mmio_reset_done(struct virtio_dev *dev)
{
	struct mmio *m = to_mmio(dev);

	if (m && m->resetting)
		finish_reset(dev, m);
}

static bool features_ok(struct virtio_dev *dev, const struct mmio *m)
{
	uint64_t f = dev->driver_features;

	if (!(f & ~m->offered) && (f & (1ULL << VIRTIO_F_VERSION_1)))
		return true;
	bad_access(dev, "FEATURES_OK with features 0x%" PRIx64 " (offered 0x%" PRIx64 ")", f,
		   m->offered);
	return false;
}

static void activate(struct virtio_dev *dev)
{
	int ret = dev->ops->activate ? dev->ops->activate(dev) : 0;
	uint64_t one = 1;

	if (ret) {
		virtio_dev_fail(dev, "cannot start: %s", strerror(-ret));
		return;
	}
	/* Serve what the driver made available before DRIVER_OK, on the vmm thread. */
	for (unsigned int q = 0; q < dev->nr_queues; q++)
		if (dev->queues[q].ready && dev->queues[q].kick_fd >= 0 &&
		    write(dev->queues[q].kick_fd, &one, sizeof(one)) < 0) {
			/* A kick is already pending. */
		}
}

/* The negotiation state machine; v has no NEEDS_RESET bit and is not 0. */
static void status_write(struct virtio_dev *dev, struct mmio *m, uint32_t v)
{
	uint32_t add = v & ~m->status;

	if ((m->status & ~v) || (add & ~DRIVER_STATUS_BITS) ||
	    ((v & VIRTIO_CONFIG_S_DRIVER) && !(v & VIRTIO_CONFIG_S_ACKNOWLEDGE)) ||
	    ((v & VIRTIO_CONFIG_S_FEATURES_OK) && !(v & VIRTIO_CONFIG_S_DRIVER)) ||
	    ((add & VIRTIO_CONFIG_S_DRIVER_OK) && !(m->status & VIRTIO_CONFIG_S_FEATURES_OK))) {
		bad_access(dev, "Status 0x%x after 0x%x", v, m->status);
		return;
	}
	/* Refused features: FEATURES_OK stays clear, which the driver reads back. */
	if ((add & VIRTIO_CONFIG_S_FEATURES_OK) && !features_ok(dev, m))
		v &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	m->status = v;
	if (add & VIRTIO_CONFIG_S_DRIVER_OK)
		activate(dev);
}

static void reg_write(struct virtio_dev *dev, struct mmio *m, uint64_t off, uint32_t v)
{
	/* Until the reset is done the driver may only read Status (or write 0 again). */
	if (m->resetting && !(off == VIRTIO_MMIO_STATUS && !v)) {
		bad_access(dev, "write of 0x%x to register 0x%03" PRIx64 " during a reset", v, off);
		return;
	}
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		m->dev_features_sel = v;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		m->drv_features_sel = v;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		driver_features_write(dev, m, v);
		return;
	case VIRTIO_MMIO_QUEUE_SEL:
		m->queue_sel = v;	/* any index: an absent queue reads QueueNumMax 0 */
		return;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW ... VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW ... VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW ... VIRTIO_MMIO_QUEUE_USED_HIGH:
		queue_write(dev, m, off, v);
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (v < dev->nr_queues)
			kick(dev, v);
		else
			bad_access(dev, "QueueNotify %u", v);
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		m->isr &= ~v;
		return;
	case VIRTIO_MMIO_STATUS:
		v &= ~VIRTIO_CONFIG_S_NEEDS_RESET;	/* drivers write back what they read */
		if (v)
			status_write(dev, m, v);
		else
			reset(dev, m);
		return;
	case VIRTIO_MMIO_SHM_SEL:
		return;
	}
	bad_access(dev, "write of 0x%x to register 0x%03" PRIx64, v, off);
}

/* Device configuration space: any width, bounded by the device's size. */
static bool config_range_ok(struct virtio_dev *dev, uint64_t off, uint32_t len, bool write)
{
	const struct virtio_dev_ops *ops = dev->ops;

	bool handled = write ? ops->config_write != NULL : ops->config_read != NULL;

	if (handled && len <= ops->config_size && off <= ops->config_size - len)
		return true;
	bad_access(dev, "config %s of %u bytes at 0x%" PRIx64, write ? "write" : "read", len,
		   off);
	return false;
}

static void mmio_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_dev *dev = opaque;
	uint32_t v;

	memset(data, 0, len);
	pthread_mutex_lock(&dev->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		off -= VIRTIO_MMIO_CONFIG;
		if (config_range_ok(dev, off, len, false))
			dev->ops->config_read(dev, off, data, len);
	} else if (len != 4 || off % 4) {
		bad_access(dev, "%u-byte read at 0x%03" PRIx64, len, off);
	} else {
		v = htole32(reg_read(dev, to_mmio(dev), off));
		memcpy(data, &v, sizeof(v));
	}
	pthread_mutex_unlock(&dev->lock);
}

static void mmio_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct virtio_dev *dev = opaque;
	uint32_t v;

	pthread_mutex_lock(&dev->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		off -= VIRTIO_MMIO_CONFIG;
		if (config_range_ok(dev, off, len, true))
			dev->ops->config_write(dev, off, data, len);
	} else if (len != 4 || off % 4) {
		bad_access(dev, "%u-byte write at 0x%03" PRIx64, len, off);
	} else {
		memcpy(&v, data, sizeof(v));
		reg_write(dev, to_mmio(dev), off, le32toh(v));
	}
	pthread_mutex_unlock(&dev->lock);
}

const struct bus_ops virtio_mmio_bus_ops = { .read = mmio_read, .write = mmio_write };

static int ioeventfd(const struct mmio *m, int fd, unsigned int q, uint32_t flags)
{
	struct kvm_ioeventfd io = {
		.datamatch = q, .addr = m->base + VIRTIO_MMIO_QUEUE_NOTIFY, .len = 4, .fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | flags,
	};

	return ioctl(m->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

/* A kick eventfd for queue q, watched by the vmm loop and, if KVM can, bound to QueueNotify. */
static int add_kick(struct virtio_dev *dev, struct mmio *m, unsigned int q)
{
	struct virtq *vq = &dev->queues[q];
	int ret;

	vq->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vq->kick_fd < 0)
		return -errno;
	m->kicks[q] = (struct kick){ dev, q };
	ret = event_loop_add(dev->loop, vq->kick_fd, EPOLLIN, on_kick, &m->kicks[q]);
	if (ret) {
		close(vq->kick_fd);
		vq->kick_fd = -1;
		return ret;
	}
	if (m->vm_fd < 0)
		return 0;
	ret = ioeventfd(m, vq->kick_fd, q, 0);
	if (ret)
		pr_warn("virtio %s: KVM_IOEVENTFD for queue %u: %s; its kicks exit to petrel",
			dev->id, q, strerror(-ret));
	else
		m->ioeventfds |= 1u << q;
	return 0;
}

static void del_kick(struct virtio_dev *dev, struct mmio *m, unsigned int q)
{
	struct virtq *vq = &dev->queues[q];

	if (vq->kick_fd < 0)
		return;
	if (m->ioeventfds & (1u << q))
		ioeventfd(m, vq->kick_fd, q, KVM_IOEVENTFD_FLAG_DEASSIGN);
	event_loop_del(dev->loop, vq->kick_fd);
	close(vq->kick_fd);
	vq->kick_fd = -1;
}

static int init_lock(pthread_mutex_t *lock)
{
	pthread_mutexattr_t attr;
	int ret;

	ret = pthread_mutexattr_init(&attr);
	ret = ret ?: pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	ret = ret ?: pthread_mutex_init(lock, &attr);
	pthread_mutexattr_destroy(&attr);
	return -ret;
}

static void init_dev(const struct virtio_host *host, struct virtio_dev *dev, struct mmio *m)
{
	dev->mem = host->mem;
	dev->loop = host->loop;
	dev->driver_features = 0;
	dev->broken = false;
	dev->transport = m;
	for (unsigned int q = 0; q < dev->nr_queues; q++) {
		dev->queues[q].kick_fd = -1;
		virtq_reset(&dev->queues[q]);
	}
}

/*
 * host->loop NULL: no kick eventfds, QueueNotify is served on the writing
 * thread; host->vm_fd < 0: no ioeventfds; host->mmio NULL: not on a bus.
 * The last two serve unit tests and fuzzing.
 */
int virtio_mmio_attach(const struct virtio_host *host, struct virtio_dev *dev, uint64_t base,
		       struct irq_line irq)
{
	uint64_t features = dev->ops->features ? dev->ops->features(dev) : 0;
	struct mmio *m;
	unsigned int q;
	int ret;

	if (!dev->nr_queues || dev->nr_queues > VIRTIO_MAX_QUEUES || !dev->ops->queue_notify)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	*m = (struct mmio){ .irq = irq, .vm_fd = host->vm_fd, .base = base,
			    .offered = features | TRANSPORT_FEATURES };
	ret = init_lock(&dev->lock);
	if (ret)
		goto err_free;
	init_dev(host, dev, m);
	for (q = 0; host->loop && q < dev->nr_queues && !ret; q++)
		ret = add_kick(dev, m, q);
	if (!ret && host->mmio)
		ret = bus_register(host->mmio, base, MEM_VIRTIO_MMIO_SLOT, &virtio_mmio_bus_ops,
				   dev);
	if (ret)
		goto err_kicks;
	return 0;

err_kicks:
	for (q = 0; q < dev->nr_queues; q++)
		del_kick(dev, m, q);
	pthread_mutex_destroy(&dev->lock);
err_free:
	dev->transport = NULL;
	free(m);
	pr_err("virtio %s: cannot attach at 0x%" PRIx64 ": %s", dev->id, base, strerror(-ret));
	return ret;
}

/* After the vCPUs have stopped; the bus range stays until the bus goes. */
void virtio_mmio_detach(struct virtio_dev *dev)
{
	struct mmio *m = to_mmio(dev);

	if (!m)
		return;
	for (unsigned int q = 0; q < dev->nr_queues; q++)
		del_kick(dev, m, q);
	pthread_mutex_destroy(&dev->lock);
	dev->transport = NULL;
	free(m);
}

/* ---- snapshots ---- */


static void save_queue(struct snap_buf *out, const struct virtq *vq)
{
	snap_put_u16(out, vq->size);
	snap_put_u8(out, vq->ready);
	snap_put_u8(out, vq->event_idx);
	snap_put_u64(out, vq->desc_gpa);
	snap_put_u64(out, vq->avail_gpa);
	snap_put_u64(out, vq->used_gpa);
	snap_put_u16(out, vq->last_avail);
	snap_put_u16(out, vq->used_idx);
	snap_put_u16(out, vq->signalled_used);
	snap_put_u8(out, vq->signalled_valid);
	snap_put_u8(out, 0);
}

static int save_locked(struct virtio_dev *dev, struct mmio *m, struct snap_buf *out)
{
	struct snap_buf own;
	int ret = 0;

	snap_buf_init(&own);
	/* The device's save finishes its I/O, and with it a reset that waited for the I/O. */
	if (dev->ops->save)
		ret = dev->ops->save(dev, &own);
	if (!ret && m->resetting)
		ret = -EBUSY;
	if (!ret) {
		snap_put_u32(out, dev->ops->device_id);
		snap_put_u64(out, m->offered);
		snap_put_u64(out, dev->driver_features);
		snap_put_u32(out, m->status);
		snap_put_u32(out, m->isr);
		snap_put_u32(out, m->config_gen);
		snap_put_u32(out, m->dev_features_sel);
		snap_put_u32(out, m->drv_features_sel);
		snap_put_u32(out, m->queue_sel);
		snap_put_u8(out, dev->broken);
		snap_put_u8(out, dev->nr_queues);
		for (unsigned int q = 0; q < dev->nr_queues; q++)
			save_queue(out, &dev->queues[q]);
		snap_put_u32(out, own.len);
		snap_put_bytes(out, own.data, own.len);
		ret = snap_buf_error(&own) ?: snap_buf_error(out);
	}
	snap_buf_free(&own);
	return ret;
}

int virtio_mmio_save(struct virtio_dev *dev, struct snap_buf *out, char *err, size_t errlen)
{
	struct mmio *m = to_mmio(dev);
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = save_locked(dev, m, out);
	pthread_mutex_unlock(&dev->lock);
	if (ret == -EBUSY)
		snprintf(err, errlen, "virtio %s: the I/O under way did not finish in time (its "
			 "storage does not answer); try again", dev->id);
	else if (ret)
		snprintf(err, errlen, "virtio %s: cannot save its state: %s", dev->id,
			 strerror(-ret));
	return ret;
}

struct mmio_state {
	uint64_t offered, features;
	uint32_t device_id, status, isr, config_gen, dev_sel, drv_sel, queue_sel;
	uint8_t broken, nr_queues;
	struct virtq queues[VIRTIO_MAX_QUEUES];
	const uint8_t *own;
	uint32_t own_len;
};

static bool parse_queue(struct snap_cursor *c, struct virtq *vq)
{
	vq->size = snap_get_u16(c);
	vq->ready = snap_get_u8(c);
	vq->event_idx = snap_get_u8(c);
	vq->desc_gpa = snap_get_u64(c);
	vq->avail_gpa = snap_get_u64(c);
	vq->used_gpa = snap_get_u64(c);
	vq->last_avail = snap_get_u16(c);
	vq->used_idx = snap_get_u16(c);
	vq->signalled_used = snap_get_u16(c);
	vq->signalled_valid = snap_get_u8(c);
	snap_get_u8(c);
	/* Addresses are checked on every use; the size must be one the driver could set. */
	return vq->size <= VIRTQ_MAX_SIZE && !(vq->size & (vq->size - 1)) &&
	       (!vq->ready || vq->size);
}

static const char *parse_mmio(struct snap_cursor *c, struct mmio_state *s)
{
	s->device_id = snap_get_u32(c);
	s->offered = snap_get_u64(c);
	s->features = snap_get_u64(c);
	s->status = snap_get_u32(c);
	s->isr = snap_get_u32(c);
	s->config_gen = snap_get_u32(c);
	s->dev_sel = snap_get_u32(c);
	s->drv_sel = snap_get_u32(c);
	s->queue_sel = snap_get_u32(c);
	s->broken = snap_get_u8(c);
	s->nr_queues = snap_get_u8(c);
	if (s->nr_queues > VIRTIO_MAX_QUEUES)
		return "too many queues";
	for (unsigned int q = 0; q < s->nr_queues; q++)
		if (!parse_queue(c, &s->queues[q]))
			return "a queue size no driver can set";
	s->own_len = snap_get_u32(c);
	if (s->own_len > snap_cursor_left(c))
		return "truncated";
	s->own = c->data + c->off;
	c->off += s->own_len;
	if (snap_cursor_end(c))
		return "lengths do not add up";
	if ((s->status & ~DRIVER_STATUS_BITS) || s->broken > 1)
		return "status bits no driver can set";
	return NULL;
}

static const char *check_fits(struct virtio_dev *dev, const struct mmio *m,
			      const struct mmio_state *s)
{
	if (s->device_id != dev->ops->device_id)
		return "saved from another type of device";
	if (s->nr_queues != dev->nr_queues)
		return "saved with another number of queues";
	if (s->features & ~m->offered)
		return "the driver had features this device does not offer";
	return NULL;
}

static void apply_mmio(struct virtio_dev *dev, struct mmio *m, const struct mmio_state *s)
{
	m->status = s->status;
	m->isr = s->isr;
	m->config_gen = s->config_gen;
	m->dev_features_sel = s->dev_sel;
	m->drv_features_sel = s->drv_sel;
	m->queue_sel = s->queue_sel;
	dev->driver_features = s->features;
	dev->broken = s->broken;
	for (unsigned int q = 0; q < dev->nr_queues; q++) {
		struct virtq *vq = &dev->queues[q];
		int kick_fd = vq->kick_fd;

		*vq = s->queues[q];
		vq->kick_fd = kick_fd;
	}
}

int virtio_mmio_restore(struct virtio_dev *dev, const void *data, size_t len, char *err,
			size_t errlen)
{
	struct mmio *m = to_mmio(dev);
	struct mmio_state s = { 0 };
	struct snap_cursor c;
	const char *why;

	snap_cursor_init(&c, data, len);
	why = parse_mmio(&c, &s) ?: check_fits(dev, m, &s);
	if (!why && dev->ops->restore && dev->ops->restore(dev, s.own, s.own_len))
		why = "its device state does not fit";
	if (!why && !dev->ops->restore && s.own_len)
		why = "device state this device does not have";
	if (why) {
		snprintf(err, errlen, "virtio %s: %s", dev->id, why);
		return -EINVAL;
	}
	pthread_mutex_lock(&dev->lock);
	apply_mmio(dev, m, &s);
	/* A running driver's device serves again: a tap is watched, pending buffers are taken. */
	if (driver_ok(m) && !dev->broken)
		activate(dev);
	pthread_mutex_unlock(&dev->lock);
	return 0;
}
