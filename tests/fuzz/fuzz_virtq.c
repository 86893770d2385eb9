// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: a split virtqueue over guest memory the input fills.
 * The input is a header (queue size, ring addresses, indexes) and then the
 * bytes of two RAM regions; the device pops until the ring is empty or
 * malformed, writes every writable byte it was given and pushes it back.
 */
#include <stdlib.h>
#include <string.h>

#include <petrel/virtio.h>

#define REGION_SIZE	0x2000
#define REGION1_GPA	0x10000		/* a hole between the regions */
#define RING_SPAN	0x13000		/* ring addresses land in or near RAM */

struct header {
	uint8_t size_log2;
	uint8_t event_idx;
	uint16_t last_avail;
	uint16_t used_idx;
	uint32_t desc_gpa;
	uint32_t avail_gpa;
	uint32_t used_gpa;
} __attribute__((packed));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(const struct guest_mem *mem, const struct iovec *iov)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const uint8_t *p = iov->iov_base, *host = mem->regions[i].host;

		if (p >= host && iov->iov_len <= mem->regions[i].size &&
		    (size_t)(p - host) <= mem->regions[i].size - iov->iov_len)
			return true;
	}
	return false;
}

/* What pop promises: segments inside RAM, readable ones first, lengths that add up. */
static void check(const struct guest_mem *mem, const struct virtq *vq,
		  const struct virtq_elem *e)
{
	uint64_t out = 0, in = 0;
	unsigned int i;

	if (e->head >= vq->size || e->nr_out + e->nr_in > VIRTQ_MAX_SEGS)
		abort();
	for (i = 0; i < e->nr_out + e->nr_in; i++) {
		if (!inside(mem, &e->iov[i]) || !e->iov[i].iov_len)
			abort();
		*(i < e->nr_out ? &out : &in) += e->iov[i].iov_len;
	}
	if (out != e->out_len || in != e->in_len)
		abort();
	for (i = e->nr_out; i < e->nr_out + e->nr_in; i++)
		memset(e->iov[i].iov_base, 0xa5, e->iov[i].iov_len);
}

static void run(const struct guest_mem *mem, struct virtq *vq)
{
	static struct virtq_elem elem;
	const char *why = NULL;
	int ret;

	for (unsigned int n = 0; n < 4 * VIRTQ_MAX_SIZE; n++) {
		ret = virtq_pop(vq, mem, &elem, &why);
		if (ret < 0 && !why)
			abort();
		if (ret <= 0)
			break;
		check(mem, vq, &elem);
		virtq_push(vq, mem, elem.head, elem.in_len);
		virtq_should_notify(vq, mem);
		virtq_set_avail_event(vq, mem);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem mem = { .nr_regions = 2, .memfd = -1 };
	struct virtq vq = { .kick_fd = -1 };
	struct header h;
	size_t n;

	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	data += sizeof(h);
	size -= sizeof(h);
	/* Exactly-sized regions, so that the sanitizer sees any stray access. */
	mem.regions[0] = (struct guest_region){ 0, REGION_SIZE, calloc(1, REGION_SIZE) };
	mem.regions[1] = (struct guest_region){ REGION1_GPA, REGION_SIZE, calloc(1, REGION_SIZE) };
	for (unsigned int i = 0; i < 2 && size; i++) {
		n = size < REGION_SIZE ? size : REGION_SIZE;
		memcpy(mem.regions[i].host, data, n);
		data += n;
		size -= n;
	}
	vq = (struct virtq){ .size = 1u << (h.size_log2 % 10), .ready = true,
			     .desc_gpa = h.desc_gpa % RING_SPAN,
			     .avail_gpa = h.avail_gpa % RING_SPAN,
			     .used_gpa = h.used_gpa % RING_SPAN, .last_avail = h.last_avail,
			     .used_idx = h.used_idx, .event_idx = h.event_idx & 1, .kick_fd = -1 };
	run(&mem, &vq);
	free(mem.regions[0].host);
	free(mem.regions[1].host);
	return 0;
}
