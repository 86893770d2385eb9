// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <petrel/devices.h>

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque)
{
	unsigned int i;

	if (!len || base + len < base)
		return -EINVAL;
	if (bus->nr == BUS_MAX_RANGES)
		return -ENOSPC;
	for (i = 0; i < bus->nr; i++) {
		const struct bus_range *r = &bus->ranges[i];

		if (base < r->base + r->len && r->base < base + len)
			return -EEXIST;
	}
	/* Keep ranges sorted so lookups can binary-search. */
	for (i = bus->nr; i > 0 && bus->ranges[i - 1].base > base; i--)
		bus->ranges[i] = bus->ranges[i - 1];
	bus->ranges[i] = (struct bus_range){ base, len, ops, opaque };
	bus->nr++;
	return 0;
}

static const struct bus_range *lookup(const struct bus *bus, uint64_t addr, uint32_t len)
{
	unsigned int lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return len <= r->len - (addr - r->base) ? r : NULL;
	}
	return NULL;
}

bool bus_read(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len)
{
	const struct bus_range *r = lookup(bus, addr, len);

	if (!r || !r->ops->read) {
		memset(data, 0xff, len);
		return r != NULL;
	}
	r->ops->read(r->opaque, addr - r->base, data, len);
	return true;
}

bool bus_write(const struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len)
{
	const struct bus_range *r = lookup(bus, addr, len);

	if (!r)
		return false;
	if (r->ops->write)
		r->ops->write(r->opaque, addr - r->base, data, len);
	return true;
}

void irq_line_pulse(const struct irq_line *irq)
{
	uint64_t one = 1;

	if (irq->fd >= 0 && write(irq->fd, &one, sizeof(one)) < 0) {
		/* The counter saturating means an interrupt is already pending. */
	}
}
