// SPDX-License-Identifier: MIT
/*
 * Free descriptors are linked through their own next fields, so a chain
 * handed out is already linked; a finished chain goes back on the front.
 */
#include "io.h"
#include "mem.h"
#include "serial.h"
#include "time.h"
#include "virtq.h"

#define RING_ALIGN	4096

static void set_addr(struct virtio_dev *d, uint32_t low, const volatile void *p)
{
	virtio_write(d, low, (uint32_t)mem_addr(p));
	virtio_write(d, low + 4, (uint32_t)(mem_addr(p) >> 32));
}

int virtq_init(struct virtq *q, struct virtio_dev *d, uint16_t index, uint16_t want)
{
	uint32_t max, num = 1;
	uint16_t i;

	virtio_write(d, VIRTIO_MMIO_QUEUE_SEL, index);
	max = virtio_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (!max || virtio_read(d, VIRTIO_MMIO_QUEUE_READY)) {
		serial_printf("probe: %s queue %u unavailable\n", d->name, index);
		return -1;
	}
	while (num * 2 <= MIN(max, want))
		num *= 2;
	q->dev = d;
	q->index = index;
	q->num = (uint16_t)num;
	q->desc = mem_zalloc(sizeof(*q->desc) * num, RING_ALIGN);
	q->avail = mem_zalloc(sizeof(*q->avail) + sizeof(q->avail->ring[0]) * (num + 1),
			      RING_ALIGN);
	q->used = mem_zalloc(sizeof(*q->used) + sizeof(q->used->ring[0]) * num +
			     sizeof(uint16_t), RING_ALIGN);
	q->tokens = mem_zalloc(sizeof(*q->tokens) * num, 8);
	for (i = 0; i < num; i++)
		q->desc[i].next = (uint16_t)(i + 1);
	q->free_head = 0;
	q->nr_free = (uint16_t)num;
	q->avail_idx = 0;
	q->last_used = 0;

	virtio_write(d, VIRTIO_MMIO_QUEUE_NUM, num);
	set_addr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, q->desc);
	set_addr(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, q->avail);
	set_addr(d, VIRTIO_MMIO_QUEUE_USED_LOW, q->used);
	virtio_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	return 0;
}

void virtq_publish(struct virtq *q, uint16_t head)
{
	q->avail->ring[q->avail_idx % q->num] = head;
	barrier();
	q->avail->idx = ++q->avail_idx;
}

int virtq_add(struct virtq *q, const struct vbuf *bufs, unsigned int n, void *token)
{
	uint16_t head = q->free_head, i = head;
	unsigned int k;

	if (!n || n > q->nr_free || !token)
		return -1;
	for (k = 0; k < n; k++) {
		struct vring_desc *d = &q->desc[i];

		d->addr = bufs[k].addr;
		d->len = bufs[k].len;
		d->flags = (bufs[k].write ? VRING_DESC_F_WRITE : 0) |
			   (k + 1 < n ? VRING_DESC_F_NEXT : 0);
		i = d->next;
	}
	q->free_head = i;
	q->nr_free = (uint16_t)(q->nr_free - n);
	q->tokens[head] = token;
	virtq_publish(q, head);
	return head;
}

void virtq_kick(struct virtq *q)
{
	barrier();
	virtio_write(q->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);
}

static void free_chain(struct virtq *q, uint16_t head)
{
	uint16_t i = head, n = 1;

	while ((q->desc[i].flags & VRING_DESC_F_NEXT) && n < q->num) {
		i = q->desc[i].next % q->num;
		n++;
	}
	q->desc[i].next = q->free_head;
	q->free_head = head;
	q->nr_free = (uint16_t)(q->nr_free + n);
}

void *virtq_get(struct virtq *q, uint32_t *len)
{
	uint32_t id, used_len;
	void *token;

	if (q->used->idx == q->last_used)
		return NULL;
	barrier();
	id = q->used->ring[q->last_used % q->num].id;
	used_len = q->used->ring[q->last_used % q->num].len;
	q->last_used++;
	token = id < q->num ? q->tokens[id] : NULL;
	if (!token) {
		serial_printf("probe: %s used bad id %u\n", q->dev->name, id);
		return NULL;
	}
	q->tokens[id] = NULL;
	free_chain(q, (uint16_t)id);
	if (len)
		*len = used_len;
	return token;
}

/* The interrupt is acknowledged only when we had to wait for it. */
void *virtq_poll(struct virtq *q, uint32_t *len, uint64_t deadline)
{
	void *token = virtq_get(q, len);

	if (token)
		return token;
	while (q->used->idx == q->last_used) {
		if (time_passed(deadline))
			return NULL;
	}
	virtio_ack(q->dev);
	return virtq_get(q, len);
}

void *virtq_wait(struct virtq *q, uint32_t *len)
{
	void *token = virtq_poll(q, len, time_deadline(VIRTIO_TIMEOUT_MS));

	if (!token)
		serial_printf("probe: %s timeout\n", q->dev->name);
	return token;
}
