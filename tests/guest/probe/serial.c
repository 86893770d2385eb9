// SPDX-License-Identifier: MIT
/* COM1 as a polled 8250: no interrupts, so nothing to set up but the UART. */
#include <stdarg.h>

#include "io.h"
#include "lib.h"
#include "serial.h"

#define COM1		0x3f8

#define UART_THR	0	/* write, DLAB=0 */
#define UART_RBR	0	/* read, DLAB=0 */
#define UART_DLL	0	/* DLAB=1 */
#define UART_IER	1	/* DLAB=0 */
#define UART_DLM	1	/* DLAB=1 */
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5

#define LCR_8N1		0x03
#define LCR_DLAB	0x80
#define FCR_ENABLE	0x01
#define FCR_CLEAR	0x06	/* clear both FIFOs */
#define MCR_DTR_RTS	0x03
#define LSR_DR		0x01
#define LSR_THRE	0x20

/* 1.8432 MHz / 16 / 115200 */
#define DIVISOR_115200	1

void serial_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_DLL, DIVISOR_115200 & 0xff);
	outb(COM1 + UART_DLM, DIVISOR_115200 >> 8);
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_FCR, FCR_ENABLE | FCR_CLEAR);
	outb(COM1 + UART_MCR, MCR_DTR_RTS);
}

void serial_putc(char c)
{
	while (!(inb(COM1 + UART_LSR) & LSR_THRE))
		;
	outb(COM1 + UART_THR, (uint8_t)c);
}

void serial_write(const char *s, size_t len)
{
	while (len--)
		serial_putc(*s++);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

static void put_num(uint64_t val, unsigned int base, unsigned int width, char pad)
{
	char buf[24];
	size_t i = sizeof(buf);

	do {
		buf[--i] = "0123456789abcdef"[val % base];
		val /= base;
	} while (val);
	while (i > 0 && sizeof(buf) - i < width)
		buf[--i] = pad;
	serial_write(buf + i, sizeof(buf) - i);
}

void serial_putu(uint32_t val)
{
	put_num(val, 10, 0, ' ');
}

/* Unsigned arguments promoted to int or taken as long, by the length flag. */
static uint64_t arg_unsigned(va_list *ap, bool wide)
{
	return wide ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned int);
}

/* %s %.*s %c %d %u %x %% with an optional 0, a width and l or z. */
static void vprint(const char *fmt, va_list *ap)
{
	for (; *fmt; fmt++) {
		unsigned int width = 0;
		size_t prec = SIZE_MAX;
		bool wide = false;
		char pad = ' ';

		if (*fmt != '%') {
			serial_putc(*fmt);
			continue;
		}
		if (*++fmt == '0')
			pad = *fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned int)(*fmt++ - '0');
		if (fmt[0] == '.' && fmt[1] == '*') {
			prec = (size_t)va_arg(*ap, int);
			fmt += 2;
		}
		while (*fmt == 'l' || *fmt == 'z') {
			wide = true;
			fmt++;
		}
		switch (*fmt) {
		case 'd': {
			int64_t v = wide ? va_arg(*ap, long) : va_arg(*ap, int);

			if (v < 0)
				serial_putc('-');
			put_num(v < 0 ? -(uint64_t)v : (uint64_t)v, 10, width, pad);
			break;
		}
		case 'u':
		case 'x':
			put_num(arg_unsigned(ap, wide), *fmt == 'u' ? 10 : 16,
				width, pad);
			break;
		case 's': {
			const char *s = va_arg(*ap, const char *);

			serial_write(s, strnlen(s, prec));
			break;
		}
		case 'c':
			serial_putc((char)va_arg(*ap, int));
			break;
		case '%':
			serial_putc('%');
			break;
		default:
			return;
		}
	}
}

void serial_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(fmt, &ap);
	va_end(ap);
}

char serial_getc(void)
{
	while (!(inb(COM1 + UART_LSR) & LSR_DR))
		;
	return (char)inb(COM1 + UART_RBR);
}
