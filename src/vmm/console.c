// SPDX-License-Identifier: Apache-2.0
/*
 * The serial console on the vmm thread: stdin fed to the UART, the
 * guest's output the console had no room for written out when it has, and
 * log lines that wait for the console's line to end let out in time.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
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

static void on_output_room(void *opaque, uint32_t events);

/* EPOLLOUT on the output only while the UART holds bytes for it. */
static void drain_output(struct vm *vm)
{
	bool waiting = serial_flush_output(vm->serial) > 0;

	if (waiting == vm->out_watched)
		return;
	if (!waiting) {
		event_loop_del(vm->loop, vm->out_fd);
	} else if (event_loop_add(vm->loop, vm->out_fd, EPOLLOUT, on_output_room, vm) < 0) {
		/* Nothing can wait on it, so nothing would ever write them. */
		serial_drop_output(vm->serial);
		return;
	}
	vm->out_watched = waiting;
}

static void on_output_room(void *opaque, uint32_t events)
{
	drain_output(opaque);
}

/* The UART's eventfd: input room freed, or output started waiting. */
static void on_serial_event(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t v;

	if (read(vm->serial_efd, &v, sizeof(v)) < 0)
		return;
	if (vm->opts.console_in_fd >= 0 && serial_input_room(vm->serial))
		watch_stdin(vm, true);
	drain_output(vm);
}

/*
 * A terminal goes raw so keys (Ctrl-C too) reach the guest, as on a serial
 * line; vm_console_detach(), or the SIGSYS handler, puts it back.
 */
static void make_raw(struct vm *vm)
{
	int fd = vm->opts.console_in_fd;
	struct termios t;

	if (!isatty(fd) || tcgetattr(fd, &t) < 0 || util_tty_save(fd))
		return;
	cfmakeraw(&t);
	t.c_oflag |= OPOST | ONLCR;
	tcsetattr(fd, TCSANOW, &t);
}

/*
 * A pipe, FIFO or terminal is used through a non-blocking description of
 * petrel's own, opened anew through /proc: O_NONBLOCK on the inherited one
 * would change it for the shell sharing it, even after petrel exits. Other
 * files are used as they are: a regular file or /dev/null never blocks, and
 * a socket is sent to with MSG_DONTWAIT (serial.c). Before the filters.
 */
static int own_description(int fd, int mode)
{
	char path[32];
	struct stat st;
	int own;

	if (fd < 0 || fstat(fd, &st) < 0 || !(S_ISFIFO(st.st_mode) || isatty(fd)))
		return fd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	own = open(path, mode | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (own >= 0)
		return own;
	pr_warn("console: cannot open %s non-blocking (%s): fd %d is used as it is, and a "
		"stalled reader will stall the guest", path, strerror(errno), fd);
	return fd;
}

static void on_log_held(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct itimerspec its = { .it_value.tv_nsec = LOG_HOLD_MS * 1000000L };
	uint64_t v;

	static_assert(LOG_HOLD_MS < 1000, "tv_nsec holds less than a second");
	if (read(vm->log_efd, &v, sizeof(v)) < 0)
		return;
	timerfd_settime(vm->log_timer, 0, &its, NULL);
}

static void on_log_timer(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t v;

	if (read(vm->log_timer, &v, sizeof(v)) < 0)
		return;
	log_release();
}

/* A guest that never ends its line holds the log LOG_HOLD_MS at most (log.h). */
static int watch_log(struct vm *vm)
{
	int ret;

	vm->log_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->log_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (vm->log_efd < 0 || vm->log_timer < 0)
		return -errno;
	ret = event_loop_add(vm->loop, vm->log_efd, EPOLLIN, on_log_held, vm);
	ret = ret ?: event_loop_add(vm->loop, vm->log_timer, EPOLLIN, on_log_timer, vm);
	if (ret)
		return ret;
	log_console_set(vm->out_fd, vm->log_efd);
	return 0;
}

int vm_console_attach(struct vm *vm)
{
	int in, ret;

	ret = vm->out_fd >= 0 ? watch_log(vm) : 0;
	if (ret || vm->opts.console_in_fd < 0)
		return ret;
	/* On the inherited fd: a terminal's mode is the terminal's, whatever the description. */
	make_raw(vm);
	in = own_description(vm->opts.console_in_fd, O_RDONLY);
	if (in != vm->opts.console_in_fd)
		vm->own_in_fd = vm->opts.console_in_fd = in;
	watch_stdin(vm, true);
	if (!vm->stdin_watched) {
		/* e.g. /dev/null or a regular file: epoll refuses it, so no input. */
		pr_debug("console input is not pollable; the guest gets no input");
		vm->opts.console_in_fd = -1;
	}
	return event_loop_add(vm->loop, vm->serial_efd, EPOLLIN, on_serial_event, vm);
}

/* Under the vmm filter, whose TCSETS rule is for this. */
void vm_console_detach(struct vm *vm)
{
	log_console_set(-1, -1);
	if (vm->loop && vm->log_efd >= 0)
		event_loop_del(vm->loop, vm->log_efd);
	if (vm->loop && vm->log_timer >= 0)
		event_loop_del(vm->loop, vm->log_timer);
	util_tty_restore();
}

void vm_console_open_output(struct vm *vm)
{
	vm->out_fd = own_description(vm->opts.console_out_fd, O_WRONLY);
	vm->own_out_fd = vm->out_fd != vm->opts.console_out_fd;
}

int vm_console_open_file(struct vm *vm, const char *path)
{
	char msg[PATH_MAX + 96];
	int fd;

	/* As Firecracker's: read-write, so a FIFO needs no reader yet; never blocking. */
	fd = util_open_file(path, O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK,
			    UTIL_FILE_REG | UTIL_FILE_FIFO | UTIL_FILE_CHR, msg, sizeof(msg));
	if (fd < 0) {
		pr_err("serial.serial_out_path: %s", msg);
		return fd;
	}
	vm->out_fd = fd;
	vm->own_out_fd = true;
	vm->opts.console_in_fd = -1;
	return 0;
}

#define FLUSH_AT_END_MS	1000

/* A reader still reading gets the guest's last words; one that stopped costs a second. */
void vm_console_flush(struct vm *vm)
{
	struct pollfd pfd = { .fd = vm->out_fd, .events = POLLOUT };
	uint64_t end = util_now_us() + FLUSH_AT_END_MS * 1000, now;

	while (serial_flush_output(vm->serial) && (now = util_now_us()) < end) {
		if (poll(&pfd, 1, (end - now + 999) / 1000) < 0 && errno != EINTR)
			break;
	}
	serial_drop_output(vm->serial);
}

void vm_console_close(struct vm *vm)
{
	if (vm->own_out_fd)
		close(vm->out_fd);
	if (vm->own_in_fd >= 0)
		close(vm->own_in_fd);
	if (vm->log_efd >= 0)
		close(vm->log_efd);
	if (vm->log_timer >= 0)
		close(vm->log_timer);
	vm->own_out_fd = false;
	vm->out_fd = vm->own_in_fd = vm->log_efd = vm->log_timer = -1;
}
