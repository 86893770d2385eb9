// SPDX-License-Identifier: Apache-2.0
/* 8250/16550A UART: enough of it for Linux's 8250 driver and the probe. */
#include <errno.h>
#include <linux/serial_reg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <petrel/devices.h>
#include <petrel/log.h>
#include <petrel/snapshot.h>
#include <petrel/metrics.h>
#include <petrel/timeline.h>
#include <petrel/ratelimit.h>
#include <petrel/util.h>

#define RX_FIFO_SIZE 4096
#define DEFAULT_BAUD_DIVISOR 12		/* 9600 baud */

struct serial {
	pthread_mutex_t lock;
	struct irq_line irq;
	int out_fd;
	bool out_socket;		/* send() it, non-blocking per call */
	int notify_fd;
	struct rl_bucket limit;		/* output bytes; size 0: none */
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	bool thr_pending;		/* THR-empty interrupt waiting for an IIR read */
	uint8_t rx[RX_FIFO_SIZE];
	size_t rx_head, rx_len;
	/* Output the console had no room for, in order, until serial_flush_output(). */
	uint8_t tx[SERIAL_TX_BUF_SIZE];
	size_t tx_head, tx_len;
};

struct serial *serial_create(struct irq_line irq, int out_fd, int notify_fd)
{
	struct serial *s = calloc(1, sizeof(*s));
	struct stat st;

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->irq = irq;
	s->out_fd = out_fd;
	s->out_socket = out_fd >= 0 && !fstat(out_fd, &st) && S_ISSOCK(st.st_mode);
	s->notify_fd = notify_fd;
	s->lsr = UART_LSR_TEMT | UART_LSR_THRE;
	s->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	s->dll = DEFAULT_BAUD_DIVISOR;
	s->mcr = UART_MCR_OUT2;
	return s;
}

void serial_set_rate_limit(struct serial *s, const struct rl_bucket_config *c)
{
	pthread_mutex_lock(&s->lock);
	rl_bucket_init(&s->limit, c, util_now_us() * 1000);
	pthread_mutex_unlock(&s->lock);
}

/* Within the rate limit: true; else the byte is dropped, as Firecracker's console does. */
static bool within_limit(struct serial *s)
{
	uint64_t wait;

	if (!rl_bucket_limits(&s->limit))
		return true;
	if (rl_bucket_ready(&s->limit, 1, util_now_us() * 1000, &wait)) {
		rl_bucket_take(&s->limit, 1);
		return true;
	}
	metrics_inc(M_UART_RATE_LIMITER_DROPPED_BYTES);
	return false;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static uint8_t iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & UART_FCR_ENABLE_FIFO) ? 0xc0 : 0;

	if ((s->ier & UART_IER_RDI) && s->rx_len)
		return fifo | UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thr_pending)
		return fifo | UART_IIR_THRI;
	return fifo | UART_IIR_NO_INT;
}

static bool irq_pending(const struct serial *s)
{
	return !(iir(s) & UART_IIR_NO_INT) && (s->mcr & UART_MCR_OUT2);
}

/* The chip's IRQ output is a level; the IOAPIC pin is edge-triggered: pulse on its rise. */
static void update_irq(struct serial *s, bool was_pending)
{
	if (!was_pending && irq_pending(s))
		irq_line_pulse(&s->irq);
}

static void notify(struct serial *s)
{
	uint64_t one = 1;

	if (s->notify_fd >= 0 && write(s->notify_fd, &one, sizeof(one)) < 0) {
		/* Already signalled. */
	}
}

/*
 * The console's description is non-blocking (or a socket): a slow reader
 * gives EAGAIN. The log knows where each write leaves the console's line.
 */
static ssize_t out_write(const struct serial *s, const void *buf, size_t len)
{
	enum log_console_gate g = log_console_begin();
	ssize_t n;

	if (g == LOG_CONSOLE_BUSY) {
		errno = EAGAIN;
		return -1;
	}
	if (s->out_socket)
		n = send(s->out_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	else
		n = write(s->out_fd, buf, len);
	log_console_end(g, buf, n);
	return n;
}

/*
 * On a vCPU thread, which must never wait for the console's reader: straight
 * out while nothing waits in tx, else behind what waits, so no byte overtakes
 * another; what neither takes (tx full, a reader gone) is lost and counted.
 */
static void output(struct serial *s, uint8_t byte)
{
	ssize_t n;

	if (s->out_fd < 0 || !within_limit(s))
		return;
	if (!s->tx_len) {
		n = out_write(s, &byte, 1);
		if (n == 1)
			return;
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			metrics_inc(M_UART_MISSED_WRITE_COUNT);
			return;
		}
	}
	if (s->tx_len == SERIAL_TX_BUF_SIZE) {
		metrics_inc(M_UART_MISSED_WRITE_COUNT);
		return;
	}
	s->tx[(s->tx_head + s->tx_len++) % SERIAL_TX_BUF_SIZE] = byte;
	if (s->tx_len == 1)
		notify(s);
}

static void transmit(struct serial *s, uint8_t byte)
{
	if (s->mcr & UART_MCR_LOOP) {
		if (s->rx_len < RX_FIFO_SIZE)
			s->rx[(s->rx_head + s->rx_len++) % RX_FIFO_SIZE] = byte;
	} else {
		timeline_mark(BOOT_FIRST_CONSOLE_OUTPUT);
		output(s, byte);
	}
	s->thr_pending = true;
}

/*
 * The console's reader stops at a full FIFO, whoever filled it (host input
 * or loopback): wake it whenever room is made, by a read or by a clear.
 */
static void rx_room_made(struct serial *s, bool was_full)
{
	if (was_full)
		notify(s);
}

static uint8_t rx_pop(struct serial *s)
{
	bool was_full = s->rx_len == RX_FIFO_SIZE;
	uint8_t byte;

	if (!s->rx_len)
		return 0;
	byte = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % RX_FIFO_SIZE;
	s->rx_len--;
	rx_room_made(s, was_full);
	return byte;
}

static uint8_t reg_read(struct serial *s, uint64_t reg)
{
	bool dlab = s->lcr & UART_LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case UART_RX:
		return dlab ? s->dll : rx_pop(s);
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR:
		v = iir(s);
		if ((v & 0x0f) == UART_IIR_THRI)
			s->thr_pending = false;
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return s->lsr | (s->rx_len ? UART_LSR_DR : 0);
	case UART_MSR:
		if (s->mcr & UART_MCR_LOOP)	/* loopback wires MCR outputs to MSR inputs */
			return ((s->mcr & 0x0c) << 4) | ((s->mcr & 0x01) << 5) | ((s->mcr & 0x02) << 3);
		return s->msr;
	default:
		return s->scr;
	}
}

static void reg_write(struct serial *s, uint64_t reg, uint8_t v)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_TX:
		if (dlab)
			s->dll = v;
		else
			transmit(s, v);
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
			break;
		}
		/* Enabling THRI with an empty THR raises the interrupt at once, as the chip does. */
		if ((v & UART_IER_THRI) && !(s->ier & UART_IER_THRI))
			s->thr_pending = true;
		s->ier = v & 0x0f;
		break;
	case UART_FCR:
		s->fcr = v;
		if (v & UART_FCR_CLEAR_RCVR) {
			rx_room_made(s, s->rx_len == RX_FIFO_SIZE);
			s->rx_len = 0;
		}
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default:
		break;		/* LSR and MSR are read-only */
	}
}

static void serial_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct serial *s = opaque;

	bool was;

	pthread_mutex_lock(&s->lock);
	was = irq_pending(s);
	data[0] = reg_read(s, offset);
	memset(data + 1, 0, len - 1);
	update_irq(s, was);
	pthread_mutex_unlock(&s->lock);
}

static void serial_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct serial *s = opaque;

	bool was;

	pthread_mutex_lock(&s->lock);
	was = irq_pending(s);
	reg_write(s, offset, data[0]);
	update_irq(s, was);
	pthread_mutex_unlock(&s->lock);
}

const struct bus_ops serial_bus_ops = {
	.read = serial_read,
	.write = serial_write,
};

size_t serial_input_room(struct serial *s)
{
	size_t room;

	pthread_mutex_lock(&s->lock);
	room = RX_FIFO_SIZE - s->rx_len;
	pthread_mutex_unlock(&s->lock);
	return room;
}

size_t serial_enqueue_input(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n;
	bool was;

	pthread_mutex_lock(&s->lock);
	was = irq_pending(s);
	n = MIN(len, RX_FIFO_SIZE - s->rx_len);
	for (size_t i = 0; i < n; i++)
		s->rx[(s->rx_head + s->rx_len++) % RX_FIFO_SIZE] = buf[i];
	update_irq(s, was);
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* A hard error (EPIPE: the reader is gone) loses everything waiting. */
size_t serial_flush_output(struct serial *s)
{
	size_t left;

	pthread_mutex_lock(&s->lock);
	while (s->tx_len) {
		size_t chunk = MIN(s->tx_len, SERIAL_TX_BUF_SIZE - s->tx_head);
		ssize_t n = out_write(s, s->tx + s->tx_head, chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			metrics_add(M_UART_MISSED_WRITE_COUNT, s->tx_len);
			s->tx_len = 0;
			break;
		}
		s->tx_head = (s->tx_head + n) % SERIAL_TX_BUF_SIZE;
		s->tx_len -= n;
	}
	left = s->tx_len;
	pthread_mutex_unlock(&s->lock);
	return left;
}

void serial_drop_output(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	metrics_add(M_UART_MISSED_WRITE_COUNT, s->tx_len);
	s->tx_len = 0;
	pthread_mutex_unlock(&s->lock);
}

/* ---- snapshots: registers, the input FIFO in order, the interrupt's state ---- */

void serial_save(struct serial *s, struct snap_buf *out)
{
	const uint8_t regs[] = { s->ier, s->lcr, s->mcr, s->lsr, s->msr, s->scr, s->dll, s->dlm,
				 s->fcr, s->thr_pending };

	pthread_mutex_lock(&s->lock);
	snap_put_bytes(out, regs, sizeof(regs));
	snap_put_u32(out, s->rx_len);
	for (size_t i = 0; i < s->rx_len; i++)
		snap_put_u8(out, s->rx[(s->rx_head + i) % RX_FIFO_SIZE]);
	pthread_mutex_unlock(&s->lock);
}

int serial_restore(struct serial *s, const void *data, size_t len)
{
	uint8_t regs[10], rx[RX_FIFO_SIZE];
	struct snap_cursor c;
	uint32_t n;

	snap_cursor_init(&c, data, len);
	snap_get_bytes(&c, regs, sizeof(regs));
	n = snap_get_u32(&c);
	if (n > RX_FIFO_SIZE)
		return -EINVAL;
	snap_get_bytes(&c, rx, n);
	if (snap_cursor_end(&c) || regs[9] > 1)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	s->ier = regs[0] & 0x0f;
	s->lcr = regs[1];
	s->mcr = regs[2];
	s->lsr = regs[3];
	s->msr = regs[4];
	s->scr = regs[5];
	s->dll = regs[6];
	s->dlm = regs[7];
	s->fcr = regs[8];
	s->thr_pending = regs[9];
	memcpy(s->rx, rx, n);
	s->rx_head = 0;
	s->rx_len = n;
	pthread_mutex_unlock(&s->lock);
	return 0;
}
