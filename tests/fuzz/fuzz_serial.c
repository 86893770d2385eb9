// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the 8250 UART on COM1 through the port I/O bus, with
 * host input fed in between as the console's stdin reader does it. That
 * reader stops while the FIFO is full and waits for the UART's "room
 * again" eventfd: whenever the guest makes room, the wakeup must come, or
 * the console's input would stall for good.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <petrel/log.h>
#include <petrel/util.h>

#include "fuzz_pio.h"

#define WINDOW_LO	(SERIAL_COM1_PORT - 2)
#define WINDOW_SPAN	12
#define READ_CHUNK	256	/* what the console's reader takes at once */

enum { OP_HOST_INPUT = PIO_NR_OPS, NR_OPS };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static int out_fd = -1, space_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_OFF);
	out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	space_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (out_fd < 0 || space_fd < 0)
		abort();
	return 0;
}

static bool room_signalled(void)
{
	uint64_t n;

	return read(space_fd, &n, sizeof(n)) == sizeof(n);
}

/* v & 0x1fff bytes arrive on stdin; true when the reader is left waiting for room. */
static bool host_input(struct serial *s, uint32_t v)
{
	size_t pending = v & 0x1fff;
	uint8_t buf[READ_CHUNK];

	while (pending) {
		size_t room = serial_input_room(s), n = MIN(MIN(room, pending), sizeof(buf));

		if (room > 4096)
			abort();
		if (!room)
			return true;
		memset(buf, (int)(v >> 16), n);
		if (serial_enqueue_input(s, buf, n) != n)
			abort();	/* the room it reported */
		pending -= n;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bus bus = { .nr = 0 };
	struct serial *s = serial_create((struct irq_line){ -1 }, out_fd, space_fd);
	bool waiting = false;
	struct pio_op op;

	if (!s || bus_register(&bus, SERIAL_COM1_PORT, 8, &serial_bus_ops, s))
		abort();
	room_signalled();	/* nothing left from the previous input */
	while (pio_next(&data, &size, &op)) {
		unsigned int kind = op.kind % NR_OPS;

		if (kind == OP_HOST_INPUT)
			waiting |= host_input(s, op.val);
		else
			pio_step(&bus, WINDOW_LO, WINDOW_SPAN, &op, kind == PIO_OUT);
		if (waiting && room_signalled())
			waiting = false;
		if (waiting && serial_input_room(s))
			abort();	/* room, but the reader was never told */
	}
	serial_destroy(s);
	return 0;
}
