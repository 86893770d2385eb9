/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Port I/O for the legacy device targets, as a vCPU's KVM_EXIT_IO hands it
 * to the bus: an input is a sequence of 8-byte operations, each an IN or
 * OUT of 1, 2 or 4 bytes at a port in a window around the device's ports
 * (so accesses that straddle or miss its range are tried too), or one of
 * the target's own operations (host input, a key press...).
 */
#ifndef PETREL_FUZZ_PIO_H
#define PETREL_FUZZ_PIO_H

#include <stdint.h>
#include <string.h>

#include <petrel/devices.h>

struct pio_op {
	uint8_t kind;		/* % (PIO_NR_OPS + the target's own) */
	uint8_t size_log2;	/* % 3: 1, 2 or 4 bytes */
	uint16_t port;		/* % the window */
	uint32_t val;		/* what an OUT writes; an argument for the target's own */
} __attribute__((packed));

enum { PIO_IN, PIO_OUT, PIO_NR_OPS };

/* The access op describes (an OUT when out), at a port in [lo, lo + span). */
static inline void pio_step(const struct bus *bus, uint16_t lo, uint16_t span,
			    const struct pio_op *op, bool out)
{
	uint32_t len = 1u << (op->size_log2 % 3);
	uint16_t port = (uint16_t)(lo + op->port % span);
	uint8_t data[4];

	if (!out) {
		memset(data, 0xcc, sizeof(data));
		bus_read(bus, port, data, len);
		return;
	}
	memcpy(data, &op->val, sizeof(data));
	bus_write(bus, port, data, len);
}

/* The next operation of the input, false at its end (a partial tail is ignored). */
static inline bool pio_next(const uint8_t **data, size_t *size, struct pio_op *op)
{
	if (*size < sizeof(*op))
		return false;
	memcpy(op, *data, sizeof(*op));
	*data += sizeof(*op);
	*size -= sizeof(*op);
	return true;
}

#endif
