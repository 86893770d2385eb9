/* SPDX-License-Identifier: MIT */
/* Polled 8250 UART on COM1: the probe's only console. */
#ifndef PROBE_SERIAL_H
#define PROBE_SERIAL_H

#include <stddef.h>
#include <stdint.h>

void serial_init(void);
void serial_putc(char c);
void serial_write(const char *s, size_t len);
void serial_puts(const char *s);
void serial_putu(uint32_t val);
/* A printf subset: %s %.*s %c %d %u %x %%, a 0 flag, a width, l and z. */
void serial_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char serial_getc(void);

#endif
