// SPDX-License-Identifier: Apache-2.0
/* i8042 keyboard controller: what Linux's i8042/atkbd drivers probe, plus reset. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/devices.h>
#include <petrel/log.h>
#include <petrel/snapshot.h>

#define STS_OBF		0x01	/* output buffer full */
#define STS_SYS		0x04	/* self-test passed */
#define STS_CMD		0x08	/* last write was a command */
#define STS_UNLOCKED	0x10	/* keyboard not inhibited by the keylock */
#define CTR_KBD_INT	0x01
#define CTR_XLATE	0x40
#define OUT_BUF_SIZE	16

#define CMD_READ_CTR	0x20
#define CMD_WRITE_CTR	0x60
#define CMD_AUX_DISABLE	0xa7
#define CMD_AUX_ENABLE	0xa8
#define CMD_AUX_TEST	0xa9
#define CMD_SELF_TEST	0xaa
#define CMD_KBD_TEST	0xab
#define CMD_KBD_DISABLE	0xad
#define CMD_KBD_ENABLE	0xae
#define CMD_READ_OUTP	0xd0
#define CMD_WRITE_OUTP	0xd1
#define CMD_WRITE_AUX	0xd4
#define CMD_PULSE_RESET	0xfe

#define KBD_ACK		0xfa

struct i8042 {
	pthread_mutex_t lock;
	struct irq_line irq;
	void (*on_reset)(void *);
	void *opaque;
	uint8_t status, ctr, outp;
	uint8_t pending_cmd;		/* controller command waiting for its data byte */
	uint8_t pending_kbd;		/* keyboard command waiting for its argument */
	uint8_t buf[OUT_BUF_SIZE];
	unsigned int head, len;
};

struct i8042 *i8042_create(struct irq_line irq, void (*on_reset)(void *), void *opaque)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	pthread_mutex_init(&k->lock, NULL);
	k->irq = irq;
	k->on_reset = on_reset;
	k->opaque = opaque;
	k->status = STS_SYS | STS_UNLOCKED;
	k->ctr = CTR_KBD_INT | CTR_XLATE;
	k->outp = 0x01;
	return k;
}

void i8042_destroy(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static int push(struct i8042 *k, uint8_t byte)
{
	if (k->len == OUT_BUF_SIZE)
		return -EBUSY;
	k->buf[(k->head + k->len++) % OUT_BUF_SIZE] = byte;
	k->status |= STS_OBF;
	if (k->ctr & CTR_KBD_INT)
		irq_line_pulse(&k->irq);
	return 0;
}

static uint8_t pop(struct i8042 *k)
{
	uint8_t byte;

	if (!k->len)
		return 0;
	byte = k->buf[k->head];
	k->head = (k->head + 1) % OUT_BUF_SIZE;
	if (--k->len == 0)
		k->status &= ~STS_OBF;
	else if (k->ctr & CTR_KBD_INT)
		irq_line_pulse(&k->irq);	/* the next byte is a new interrupt */
	return byte;
}

static void keyboard_command(struct i8042 *k, uint8_t cmd)
{
	if (k->pending_kbd) {
		/* Argument of SET_LEDS, SET_REP, SCANCODE_SET: acknowledge it. */
		k->pending_kbd = 0;
		push(k, KBD_ACK);
		return;
	}
	switch (cmd) {
	case 0xed: case 0xf3: case 0xf0:
		k->pending_kbd = cmd;
		push(k, KBD_ACK);
		break;
	case 0xf2:			/* identify: an MF2 keyboard */
		push(k, KBD_ACK);
		push(k, 0xab);
		push(k, 0x83);
		break;
	case 0xff:			/* reset: ack, then BAT passed */
		push(k, KBD_ACK);
		push(k, 0xaa);
		break;
	default:
		push(k, KBD_ACK);
		break;
	}
}

static void controller_command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case CMD_READ_CTR:
		push(k, k->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
	case CMD_WRITE_AUX:
		k->pending_cmd = cmd;
		break;
	case CMD_SELF_TEST:
		push(k, 0x55);
		break;
	case CMD_KBD_TEST:
		push(k, 0x00);
		break;
	case CMD_AUX_TEST:
		push(k, 0xff);		/* no mouse: the aux line is stuck */
		break;
	case CMD_READ_OUTP:
		push(k, k->outp);
		break;
	case CMD_PULSE_RESET:
		if (k->on_reset)
			k->on_reset(k->opaque);
		break;
	default:
		break;			/* enable/disable and the rest need no answer */
	}
}

static void data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending_cmd;

	k->pending_cmd = 0;
	switch (cmd) {
	case CMD_WRITE_CTR:
		k->ctr = v;
		break;
	case CMD_WRITE_OUTP:
		k->outp = v;
		if (!(v & 0x01) && k->on_reset)	/* bit 0 low holds the CPU in reset */
			k->on_reset(k->opaque);
		break;
	case CMD_WRITE_AUX:
		break;			/* no mouse to talk to */
	default:
		keyboard_command(k, v);
		break;
	}
}

static void data_read_op(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct i8042 *k = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&k->lock);
	data[0] = pop(k);
	pthread_mutex_unlock(&k->lock);
}

static void data_write_op(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct i8042 *k = opaque;

	pthread_mutex_lock(&k->lock);
	k->status &= ~STS_CMD;
	data_write(k, data[0]);
	pthread_mutex_unlock(&k->lock);
}

static void cmd_read_op(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct i8042 *k = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&k->lock);
	data[0] = k->status;
	pthread_mutex_unlock(&k->lock);
}

static void cmd_write_op(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct i8042 *k = opaque;

	pthread_mutex_lock(&k->lock);
	k->status |= STS_CMD;
	controller_command(k, data[0]);
	pthread_mutex_unlock(&k->lock);
}

const struct bus_ops i8042_data_bus_ops = { .read = data_read_op, .write = data_write_op };
const struct bus_ops i8042_cmd_bus_ops = { .read = cmd_read_op, .write = cmd_write_op };

int i8042_send_ctrl_alt_del(struct i8042 *k)
{
	/* Scancode set 1 when the controller translates (Linux's default), else set 2. */
	static const uint8_t set1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
	static const uint8_t set2[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71,
					0xf0, 0x11, 0xf0, 0x14 };
	const uint8_t *seq;
	size_t n;
	int ret = 0;

	pthread_mutex_lock(&k->lock);
	seq = (k->ctr & CTR_XLATE) ? set1 : set2;
	n = (k->ctr & CTR_XLATE) ? sizeof(set1) : sizeof(set2);
	if (OUT_BUF_SIZE - k->len < n)
		ret = -EBUSY;
	for (size_t i = 0; !ret && i < n; i++)
		push(k, seq[i]);
	pthread_mutex_unlock(&k->lock);
	return ret;
}

/* ---- snapshots: controller registers, pending commands, the output buffer in order ---- */

void i8042_save(struct i8042 *k, struct snap_buf *out)
{
	pthread_mutex_lock(&k->lock);
	snap_put_u8(out, k->status);
	snap_put_u8(out, k->ctr);
	snap_put_u8(out, k->outp);
	snap_put_u8(out, k->pending_cmd);
	snap_put_u8(out, k->pending_kbd);
	snap_put_u8(out, k->len);
	for (unsigned int i = 0; i < k->len; i++)
		snap_put_u8(out, k->buf[(k->head + i) % OUT_BUF_SIZE]);
	pthread_mutex_unlock(&k->lock);
}

int i8042_restore(struct i8042 *k, const void *data, size_t len)
{
	uint8_t regs[5], buf[OUT_BUF_SIZE], n;
	struct snap_cursor c;

	snap_cursor_init(&c, data, len);
	snap_get_bytes(&c, regs, sizeof(regs));
	n = snap_get_u8(&c);
	if (n > OUT_BUF_SIZE)
		return -EINVAL;
	snap_get_bytes(&c, buf, n);
	if (snap_cursor_end(&c))
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	k->status = regs[0];
	k->ctr = regs[1];
	k->outp = regs[2];
	k->pending_cmd = regs[3];
	k->pending_kbd = regs[4];
	memcpy(k->buf, buf, n);
	k->head = 0;
	k->len = n;
	pthread_mutex_unlock(&k->lock);
	return 0;
}
