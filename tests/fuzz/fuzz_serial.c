// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the 8250 UART on COM1 through the port I/O bus, with
 * the console's two sides in between: stdin fed in as its reader does, and
 * a console socket that fills up and that the host drains. The reader stops
 * while the FIFO is full and waits for the UART's eventfd: whenever the
 * guest makes room, the wakeup must come, or console input stalls for good.
 */
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <petrel/log.h>
#include <petrel/util.h>

#include "fuzz_pio.h"

#define WINDOW_LO	(SERIAL_COM1_PORT - 2)
#define WINDOW_SPAN	12
#define READ_CHUNK	256	/* what the console's reader takes at once */

enum { OP_HOST_INPUT = PIO_NR_OPS, OP_HOST_DRAIN, NR_OPS };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static int out[2] = { -1, -1 }, notify_fd = -1;	/* out[0]: the UART's end */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int small = 1;	/* the kernel's minimum: a few bytes fill it */

	log_set_level(LOG_OFF);
	notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (notify_fd < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, out) ||
	    setsockopt(out[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)))
		abort();
	return 0;
}

static bool notified(void)
{
	uint64_t n;

	return read(notify_fd, &n, sizeof(n)) == sizeof(n);
}

/* The host reads up to v & 0xffff bytes of output, then the UART writes what waits. */
static void host_drain(struct serial *s, uint32_t v)
{
	uint8_t buf[4096];
	size_t want = v & 0xffff;
	ssize_t n = 1;

	while (want && n > 0) {
		n = read(out[1], buf, MIN(want, sizeof(buf)));
		want -= n > 0 ? (size_t)n : 0;
	}
	if (serial_flush_output(s) > SERIAL_TX_BUF_SIZE)
		abort();
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
	struct serial *s = serial_create((struct irq_line){ -1 }, out[0], notify_fd);
	bool waiting = false;
	struct pio_op op;

	if (!s || bus_register(&bus, SERIAL_COM1_PORT, 8, &serial_bus_ops, s))
		abort();
	notified();		/* nothing left from the previous input */
	host_drain(s, 0xffff);
	while (pio_next(&data, &size, &op)) {
		unsigned int kind = op.kind % NR_OPS;

		if (kind == OP_HOST_INPUT)
			waiting |= host_input(s, op.val);
		else if (kind == OP_HOST_DRAIN)
			host_drain(s, op.val);
		else
			pio_step(&bus, WINDOW_LO, WINDOW_SPAN, &op, kind == PIO_OUT);
		/* The console's eventfd handler: stdin watched again if there is room. */
		if (notified() && serial_input_room(s))
			waiting = false;
		if (waiting && serial_input_room(s))
			abort();	/* room, but the reader was never told */
	}
	serial_destroy(s);
	return 0;
}
