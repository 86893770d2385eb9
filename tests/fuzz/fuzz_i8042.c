// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the i8042 controller through the port I/O bus, with
 * Ctrl-Alt-Del sent from the host in between. Checked as a guest sees it:
 * the CPU is reset only by an OUT of the reset command (0xfe to 0x64) or of
 * an output port value with bit 0 low (0x60 after 0xd1), and the output
 * buffer empties within its 16 bytes of reads.
 */
#include <errno.h>
#include <stdlib.h>

#include <petrel/log.h>

#include "fuzz_pio.h"

#define WINDOW_LO	(I8042_DATA_PORT - 2)
#define WINDOW_SPAN	(I8042_CMD_PORT - I8042_DATA_PORT + 5)
#define OUT_BUF_SIZE	16
#define STS_OBF		0x01

enum { OP_CTRL_ALT_DEL = PIO_NR_OPS, OP_DRAIN, NR_OPS };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The OUT being served, so that on_reset can tell whether a reset may come from it. */
static struct {
	bool out;
	uint16_t port;
	uint8_t byte;
} now;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_OFF);
	return 0;
}

static void on_reset(void *opaque)
{
	if (!now.out || (now.port == I8042_CMD_PORT && now.byte != 0xfe) ||
	    (now.port == I8042_DATA_PORT && (now.byte & 1)))
		abort();
}

static uint8_t inb(const struct bus *bus, uint16_t port)
{
	uint8_t v = 0xcc;

	bus_read(bus, port, &v, 1);
	return v;
}

/* What a driver's flush does: read data while the status says there is some. */
static void drain(const struct bus *bus)
{
	for (unsigned int i = 0; inb(bus, I8042_CMD_PORT) & STS_OBF; i++) {
		if (i == OUT_BUF_SIZE)
			abort();	/* more than the buffer holds */
		inb(bus, I8042_DATA_PORT);
	}
}

static void step(const struct bus *bus, struct i8042 *k, const struct pio_op *op)
{
	unsigned int kind = op->kind % NR_OPS;
	int ret;

	switch (kind) {
	case OP_CTRL_ALT_DEL:
		ret = i8042_send_ctrl_alt_del(k);
		if (ret && ret != -EBUSY)
			abort();
		break;
	case OP_DRAIN:
		drain(bus);
		break;
	default:
		now.out = kind == PIO_OUT;
		now.port = (uint16_t)(WINDOW_LO + op->port % WINDOW_SPAN);
		now.byte = (uint8_t)op->val;
		pio_step(bus, WINDOW_LO, WINDOW_SPAN, op, now.out);
		now.out = false;
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct i8042 *k = i8042_create((struct irq_line){ -1 }, on_reset, NULL);
	struct bus bus = { .nr = 0 };
	struct pio_op op;

	if (!k || bus_register(&bus, I8042_DATA_PORT, 1, &i8042_data_bus_ops, k) ||
	    bus_register(&bus, I8042_CMD_PORT, 1, &i8042_cmd_bus_ops, k))
		abort();
	while (pio_next(&data, &size, &op))
		step(&bus, k, &op);
	i8042_destroy(k);
	return 0;
}
