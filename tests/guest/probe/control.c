// SPDX-License-Identifier: MIT
/*
 * Actions for the control API's tests. probe.action=count prints
 * "probe: tick N" every 100 ms (the wait restarts after each line, so a
 * paused VM misses no numbers), probe.ticks of them (0: forever).
 * probe.action=cad polls the i8042 for Ctrl-Alt-Del as Linux would see
 * it with translation on (scancode set 1: 1d 38 e0 53) and returns,
 * which powers off. probe.action=spew prints numbered 100-byte lines as
 * fast as COM1 takes them, forever, for a console nobody reads.
 */
#include "actions.h"
#include "cmdline.h"
#include "io.h"
#include "serial.h"
#include "time.h"

#define TICK_MS			100
#define I8042_DATA		0x60
#define I8042_STATUS		0x64
#define I8042_OBF		0x01	/* a byte waits in the data port */
#define POLL_CYCLES		1000000ULL	/* well under a millisecond between polls */

void count_action(void)
{
	uint64_t ticks = cmdline_num("probe.ticks=", 0), deadline;

	time_init();
	for (uint64_t n = 1; !ticks || n <= ticks; n++) {
		deadline = time_deadline(TICK_MS);
		while (!time_passed(deadline))
			;
		serial_printf("probe: tick %lu\n", (unsigned long)n);
	}
}

#define SPEW_CHECK_MUL		2654435761ULL
#define SPEW_CHECK_MOD		1000000000ULL

/* "probe: spew N C " and filler to 99 bytes: C = N * 2654435761 mod 10^9, so a torn line shows. */
void spew_action(void)
{
	static const char filler[] = "abcdefghijklmnopqrstuvwxyz"
				     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcde";

	for (uint64_t n = 1;; n++) {
		serial_printf("probe: spew %09lu %09lu %.*s\n", (unsigned long)n,
			      (unsigned long)(n * SPEW_CHECK_MUL % SPEW_CHECK_MOD), 67, filler);
	}
}

static uint8_t next_key(void)
{
	uint64_t start;

	while (!(inb(I8042_STATUS) & I8042_OBF)) {
		for (start = rdtsc(); rdtsc() - start < POLL_CYCLES;)
			;
	}
	return inb(I8042_DATA);
}

void cad_action(void)
{
	static const uint8_t cad[] = { 0x1d, 0x38, 0xe0, 0x53 };
	size_t got = 0;

	serial_puts("probe: cad ready\n");
	while (got < sizeof(cad)) {
		uint8_t key = next_key();

		got = key == cad[got] ? got + 1 : key == cad[0];
	}
	serial_puts("probe: cad received\n");
}
