// SPDX-License-Identifier: MIT
/* COM1 as a polled 8250: no interrupts, so nothing to set up but the UART. */
#include "io.h"
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

void serial_putu(uint32_t val)
{
	char buf[10];
	size_t i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + val % 10);
		val /= 10;
	} while (val);
	serial_write(buf + i, sizeof(buf) - i);
}

char serial_getc(void)
{
	while (!(inb(COM1 + UART_LSR) & LSR_DR))
		;
	return (char)inb(COM1 + UART_RBR);
}
