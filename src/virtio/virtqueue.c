// SPDX-License-Identifier: Apache-2.0
/*
 * Split virtqueues (virtio 1.2, section 2.7), device side. The guest owns
 * every byte of the rings and may rewrite them at any time: each address,
 * index and length is checked before use, descriptors are copied before they
 * are checked, and anything malformed is -EINVAL with a static reason.
 *
 * Zero-length descriptors: the spec does not forbid them, so they are
 * accepted and skipped (no iovec, address unchecked), but they still count
 * towards the chain bound and the readable-before-writable rule.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_ring.h>
#include <string.h>

#include <petrel/util.h>
#include <petrel/virtio.h>

static_assert(sizeof(struct vring_desc) == 16, "virtq descriptor");
static_assert(sizeof(struct vring_avail) == 4, "avail ring header");
static_assert(sizeof(struct vring_used) == 4, "used ring header");
static_assert(sizeof(struct vring_used_elem) == 8, "used ring element");

struct chain {
	struct virtq_elem *elem;
	const struct guest_mem *mem;
	bool writable;			/* a device-writable descriptor was seen */
	const char **why;
};

static int bad(const char **why, const char *reason)
{
	*why = reason;
	return -EINVAL;
}

static bool size_ok(uint16_t size)
{
	return size && size <= VIRTQ_MAX_SIZE && !(size & (size - 1));
}

/* Host pointer for a ring part: aligned, and wholly inside guest RAM. */
static void *ring_part(const struct guest_mem *mem, uint64_t gpa, uint64_t len,
		       uint64_t align)
{
	if (gpa & (align - 1))
		return NULL;
	return guest_mem_ptr(mem, gpa, len);
}

/* Each part with the event word at its end (used_event, avail_event). */
static struct vring_desc *desc_table(const struct virtq *vq, const struct guest_mem *mem)
{
	return ring_part(mem, vq->desc_gpa, sizeof(struct vring_desc) * vq->size,
			 VRING_DESC_ALIGN_SIZE);
}

static struct vring_avail *avail_ring(const struct virtq *vq, const struct guest_mem *mem)
{
	if (!size_ok(vq->size))
		return NULL;
	return ring_part(mem, vq->avail_gpa,
			 sizeof(struct vring_avail) + sizeof(__virtio16) * (vq->size + 1),
			 VRING_AVAIL_ALIGN_SIZE);
}

static struct vring_used *used_ring(const struct virtq *vq, const struct guest_mem *mem)
{
	if (!size_ok(vq->size))
		return NULL;
	return ring_part(mem, vq->used_gpa,
			 sizeof(struct vring_used) + sizeof(struct vring_used_elem) * vq->size +
			 sizeof(__virtio16), VRING_USED_ALIGN_SIZE);
}

/* Copy one descriptor out of guest memory (any alignment) and use only the copy. */
static void read_desc(const void *src, struct vring_desc *d)
{
	memcpy(d, src, sizeof(*d));
	/* Compiler barrier: no re-reading the guest's copy after the checks. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

static int add_seg(struct chain *c, const struct vring_desc *d)
{
	struct virtq_elem *e = c->elem;
	bool write = d->flags & VRING_DESC_F_WRITE;
	void *p;

	if (!write && c->writable)
		return bad(c->why, "device-readable descriptor after a writable one");
	c->writable |= write;
	if (!d->len)
		return 0;
	p = guest_mem_ptr(c->mem, d->addr, d->len);
	if (!p)
		return bad(c->why, "buffer outside guest RAM");
	if ((uint64_t)e->out_len + e->in_len + d->len > UINT32_MAX)
		return bad(c->why, "chain longer than 4 GiB");
	if (e->nr_out + e->nr_in == VIRTQ_MAX_SEGS)
		return bad(c->why, "too many segments");
	e->iov[e->nr_out + e->nr_in] = (struct iovec){ p, d->len };
	if (write) {
		e->nr_in++;
		e->in_len += d->len;
	} else {
		e->nr_out++;
		e->out_len += d->len;
	}
	return 0;
}

static const uint8_t *indirect_table(struct chain *c, const struct vring_desc *ind)
{
	const uint8_t *table;

	if (ind->flags & VRING_DESC_F_NEXT) {
		bad(c->why, "indirect descriptor with NEXT");
		return NULL;
	}
	if (!ind->len || ind->len % sizeof(struct vring_desc)) {
		bad(c->why, "indirect table length not a non-zero multiple of 16");
		return NULL;
	}
	if (ind->len / sizeof(struct vring_desc) > VIRTQ_MAX_SIZE) {
		bad(c->why, "indirect table longer than 256 descriptors");
		return NULL;
	}
	table = guest_mem_ptr(c->mem, ind->addr, ind->len);
	if (!table)
		bad(c->why, "indirect table outside guest RAM");
	return table;
}

/* The chain ends in an indirect table: walk it, at most its length in steps. */
static int walk_indirect(struct chain *c, const struct vring_desc *ind)
{
	const uint8_t *table = indirect_table(c, ind);
	uint32_t n = ind->len / sizeof(struct vring_desc), i = 0, steps = 0;
	struct vring_desc d;
	int ret;

	if (!table)
		return -EINVAL;
	for (;;) {
		if (steps++ == n)
			return bad(c->why, "indirect chain loops");
		read_desc(table + (size_t)i * sizeof(d), &d);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return bad(c->why, "indirect descriptor inside an indirect table");
		ret = add_seg(c, &d);
		if (ret || !(d.flags & VRING_DESC_F_NEXT))
			return ret;
		i = d.next;
		if (i >= n)
			return bad(c->why, "indirect next index out of range");
	}
}

/* Direct descriptors (at most size of them), possibly ending in one indirect table. */
static int walk_chain(struct chain *c, const struct vring_desc *table, uint16_t size,
		      uint16_t head)
{
	unsigned int steps = 0;
	struct vring_desc d;
	uint16_t i = head;
	int ret;

	for (;;) {
		if (steps++ == size)
			return bad(c->why, "descriptor chain loops or is longer than the queue");
		read_desc(&table[i], &d);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return walk_indirect(c, &d);
		ret = add_seg(c, &d);
		if (ret || !(d.flags & VRING_DESC_F_NEXT))
			return ret;
		i = d.next;
		if (i >= size)
			return bad(c->why, "next index out of range");
	}
}

static int map_rings(const struct virtq *vq, const struct guest_mem *mem,
		     struct vring_desc **desc, struct vring_avail **avail, const char **why)
{
	if (!size_ok(vq->size))
		return bad(why, "queue size is not a power of 2 up to 256");
	*desc = desc_table(vq, mem);
	*avail = avail_ring(vq, mem);
	if (!*desc)
		return bad(why, "descriptor table misaligned or outside guest RAM");
	if (!*avail)
		return bad(why, "available ring misaligned or outside guest RAM");
	if (!used_ring(vq, mem))
		return bad(why, "used ring misaligned or outside guest RAM");
	return 0;
}

int virtq_pop(struct virtq *vq, const struct guest_mem *mem, struct virtq_elem *elem,
	      const char **why)
{
	struct chain c = { .elem = elem, .mem = mem, .why = why };
	struct vring_avail *avail;
	struct vring_desc *desc;
	uint16_t idx, head;
	int ret;

	if (!vq->ready)
		return 0;
	ret = map_rings(vq, mem, &desc, &avail, why);
	if (ret)
		return ret;
	/* Acquire: the ring entry and the descriptors are read after the index. */
	idx = le16toh(__atomic_load_n(&avail->idx, __ATOMIC_ACQUIRE));
	if (idx == vq->last_avail)
		return 0;
	if ((uint16_t)(idx - vq->last_avail) > vq->size)
		return bad(why, "available index more than the queue size ahead");
	head = le16toh(__atomic_load_n(&avail->ring[vq->last_avail & (vq->size - 1)],
				       __ATOMIC_RELAXED));
	if (head >= vq->size)
		return bad(why, "head index out of range");
	elem->head = head;
	elem->nr_out = elem->nr_in = 0;
	elem->out_len = elem->in_len = 0;
	ret = walk_chain(&c, desc, vq->size, head);
	if (ret)
		return ret;
	vq->last_avail++;
	return 1;
}

int virtq_fill(struct virtq *vq, const struct guest_mem *mem, unsigned int offset,
	       uint16_t head, uint32_t len)
{
	struct vring_used *used = used_ring(vq, mem);
	struct vring_used_elem *e;

	if (!vq->ready || !used || head >= vq->size || offset >= vq->size)
		return -EINVAL;
	e = &used->ring[(uint16_t)(vq->used_idx + offset) & (vq->size - 1)];
	e->id = htole32(head);
	e->len = htole32(len);
	return 0;
}

int virtq_flush(struct virtq *vq, const struct guest_mem *mem, unsigned int count)
{
	struct vring_used *used = used_ring(vq, mem);

	if (!vq->ready || !used || count > vq->size)
		return -EINVAL;
	vq->used_idx += count;
	/* Release: the elements are visible before the index that publishes them. */
	__atomic_store_n(&used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
	return 0;
}

int virtq_push(struct virtq *vq, const struct guest_mem *mem, uint16_t head, uint32_t len)
{
	return virtq_fill(vq, mem, 0, head, len) ?: virtq_flush(vq, mem, 1);
}

bool virtq_should_notify(struct virtq *vq, const struct guest_mem *mem)
{
	struct vring_avail *avail = avail_ring(vq, mem);
	uint16_t old = vq->signalled_used, event;
	bool valid = vq->signalled_valid;

	if (!avail)
		return true;	/* cannot tell: a spurious interrupt is harmless */
	/* Full barrier: used->idx is visible before the driver's wishes are read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(le16toh(__atomic_load_n(&avail->flags, __ATOMIC_RELAXED)) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	event = le16toh(__atomic_load_n(&avail->ring[vq->size], __ATOMIC_RELAXED));
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = true;
	return !valid || vring_need_event(event, vq->used_idx, old);
}

void virtq_set_avail_event(struct virtq *vq, const struct guest_mem *mem)
{
	struct vring_used *used = used_ring(vq, mem);
	__virtio16 *event;

	if (!vq->ready || !vq->event_idx || !used)
		return;
	event = (__virtio16 *)&used->ring[vq->size];
	__atomic_store_n(event, htole16(vq->last_avail), __ATOMIC_RELAXED);
	/* Full barrier: avail_event is visible before avail->idx is read again. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Back to the state after a device reset; QueueNum reads as its maximum. */
void virtq_reset(struct virtq *vq)
{
	int kick_fd = vq->kick_fd;

	*vq = (struct virtq){ .size = VIRTQ_MAX_SIZE, .kick_fd = kick_fd };
}
