// SPDX-License-Identifier: Apache-2.0
/* The serial console's input side: the vmm thread feeds stdin to the UART. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

#include <petrel/log.h>
#include <petrel/util.h>

#include "vm_priv.h"

static void on_stdin(void *opaque, uint32_t events);

static void watch_stdin(struct vm *vm, bool on)
{
	if (on == vm->stdin_watched)
		return;
	if (on && event_loop_add(vm->loop, vm->opts.console_in_fd, EPOLLIN, on_stdin, vm) < 0)
		return;
	if (!on)
		event_loop_del(vm->loop, vm->opts.console_in_fd);
	vm->stdin_watched = on;
}

static void on_stdin(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint8_t buf[256];
	size_t room = serial_input_room(vm->serial);
	ssize_t n;

	if (!room) {
		/* Wait for the guest to drain the FIFO (on_rx_space) rather than drop input. */
		watch_stdin(vm, false);
		return;
	}
	n = read(vm->opts.console_in_fd, buf, MIN(room, sizeof(buf)));
	if (n > 0) {
		serial_enqueue_input(vm->serial, buf, n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* End of input: the console stays as an output. */
	watch_stdin(vm, false);
	vm->opts.console_in_fd = -1;
}

static void on_rx_space(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t v;

	if (read(vm->rx_space_efd, &v, sizeof(v)) < 0)
		return;
	if (vm->opts.console_in_fd >= 0)
		watch_stdin(vm, true);
}

/* A terminal goes raw so keys (Ctrl-C too) reach the guest, as on a serial line. */
static void make_raw(struct vm *vm)
{
	struct termios t;

	if (!isatty(vm->opts.console_in_fd) || tcgetattr(vm->opts.console_in_fd, &t) < 0)
		return;
	vm->saved_tty = t;
	cfmakeraw(&t);
	t.c_oflag |= OPOST | ONLCR;
	if (tcsetattr(vm->opts.console_in_fd, TCSANOW, &t) == 0) {
		vm->tty_raw = true;
		vm->tty_fd = vm->opts.console_in_fd;
	}
}

int vm_console_attach(struct vm *vm)
{
	int flags;

	if (vm->opts.console_in_fd < 0)
		return 0;
	flags = fcntl(vm->opts.console_in_fd, F_GETFL);
	if (flags >= 0)
		fcntl(vm->opts.console_in_fd, F_SETFL, flags | O_NONBLOCK);
	make_raw(vm);
	watch_stdin(vm, true);
	if (!vm->stdin_watched) {
		/* e.g. /dev/null or a regular file: epoll refuses it, so no input. */
		pr_debug("console input is not pollable; the guest gets no input");
		vm->opts.console_in_fd = -1;
	}
	return event_loop_add(vm->loop, vm->rx_space_efd, EPOLLIN, on_rx_space, vm);
}

void vm_console_detach(struct vm *vm)
{
	if (vm->tty_raw)
		tcsetattr(vm->tty_fd, TCSANOW, &vm->saved_tty);
	vm->tty_raw = false;
}
