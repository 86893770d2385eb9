/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_DEVICES_H
#define PETREL_DEVICES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The I/O buses: vCPU exits for port I/O and MMIO are dispatched to the
 * device whose range holds the address. Ranges are registered while the VM
 * is built and only looked up afterwards, so lookups need no lock; each
 * device serializes its own state.
 */
struct bus_ops {
	void (*read)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len);
	void (*write)(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len);
};

#define BUS_MAX_RANGES 64

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *opaque;
};

struct bus {
	struct bus_range ranges[BUS_MAX_RANGES];
	unsigned int nr;
};

/* -EEXIST when the range overlaps one already there, -ENOSPC when full. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque);
/* false when nothing is there (reads then return all ones). */
bool bus_read(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len);
bool bus_write(const struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len);

/* Raises an edge on a GSI (an irqfd underneath). */
struct irq_line {
	int fd;
};
void irq_line_pulse(const struct irq_line *irq);

/* 8250 UART (COM1: port 0x3f8, GSI 4). */
#define SERIAL_COM1_PORT 0x3f8
#define SERIAL_COM1_GSI 4
struct serial;
/*
 * Guest output goes to out_fd (-1: nowhere), which must never block: a
 * non-blocking description, a regular file, or a socket (sent to with
 * MSG_DONTWAIT). What it has no room for waits in a buffer of
 * SERIAL_TX_BUF_SIZE bytes; beyond that, or when the reader is gone, output
 * is lost and counted (uart.missed_write_count). notify_fd (an eventfd, may
 * be -1) is signalled when input room frees and when output starts waiting.
 */
#define SERIAL_TX_BUF_SIZE 65536
struct serial *serial_create(struct irq_line irq, int out_fd, int notify_fd);
void serial_destroy(struct serial *s);
/* Output bytes beyond this bucket are dropped, counted (uart.rate_limiter_dropped_bytes). */
struct rl_bucket_config;
void serial_set_rate_limit(struct serial *s, const struct rl_bucket_config *c);
/* Write what waits, as much as out_fd takes now; returns how many bytes still wait. */
size_t serial_flush_output(struct serial *s);
/* Lose what waits (counted): for an out_fd nothing can wait on. */
void serial_drop_output(struct serial *s);
extern const struct bus_ops serial_bus_ops;
/* Queue host input for the guest; returns how many bytes were taken. */
size_t serial_enqueue_input(struct serial *s, const uint8_t *buf, size_t len);
size_t serial_input_room(struct serial *s);
/* Snapshots: registers, the input FIFO and the interrupt's state; -EINVAL for bytes that do not fit. */
struct snap_buf;
void serial_save(struct serial *s, struct snap_buf *out);
int serial_restore(struct serial *s, const void *data, size_t len);

/* i8042 keyboard controller (ports 0x60 and 0x64, GSI 1). */
#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64
#define I8042_KBD_GSI 1
struct i8042;
/* on_reset runs (on a vCPU thread) when the guest pulses the reset line. */
struct i8042 *i8042_create(struct irq_line irq, void (*on_reset)(void *), void *opaque);
void i8042_destroy(struct i8042 *k);
extern const struct bus_ops i8042_data_bus_ops;
extern const struct bus_ops i8042_cmd_bus_ops;
/* Press and release Ctrl-Alt-Del as the guest's keyboard. -EBUSY when the buffer is full. */
int i8042_send_ctrl_alt_del(struct i8042 *k);
void i8042_save(struct i8042 *k, struct snap_buf *out);
int i8042_restore(struct i8042 *k, const void *data, size_t len);

/* Boot timer: the byte 123 written to MEM_BOOT_TIMER_ADDR or port 0x3f0. */
#define BOOT_TIMER_PORT 0x3f0
#define BOOT_TIMER_MAGIC 123
struct boot_timer {
	uint64_t start_us;
	bool enabled;
	bool fired;
};
extern const struct bus_ops boot_timer_bus_ops;

/*
 * VMGenID: a 16-byte generation id in a guest page that ACPI (a
 * "VM_Gen_Counter" device, _HID "VMGENCTR", ADDR method) points the guest to,
 * and a notification (ACPI Notify 0x80 through the GED's interrupt, GSI 3:
 * free, ISA's COM2 line) when it changes.
 */
#define VMGENID_SIZE 16
#define VMGENID_GSI 3
struct guest_mem;
struct vmgenid;
/* Writes a first random id at gpa (which must be guest RAM); NULL on failure, logged. */
struct vmgenid *vmgenid_create(struct guest_mem *mem, uint64_t gpa, struct irq_line irq);
void vmgenid_destroy(struct vmgenid *g);
/*
 * A new random generation id written to the guest page, and the guest
 * notified. Uses getrandom(): call it on the vmm thread, whose filter allows
 * that, not on a vCPU thread.
 */
int vmgenid_regenerate(struct vmgenid *g);

/* ACPI sleep control/status and reset registers (ports 0x3c0..0x3c2, see acpi.h). */
struct acpi_pm {
	void (*on_poweroff)(void *opaque);	/* S5 with SLP_EN in sleep control */
	void (*on_reset)(void *opaque);		/* the reset value in the reset register */
	void *opaque;
};
extern const struct bus_ops acpi_pm_bus_ops;

#endif
