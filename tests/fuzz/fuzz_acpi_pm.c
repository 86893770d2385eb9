// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the ACPI sleep and reset registers through the port
 * I/O bus. A guest powers off only by S5 with SLP_EN in the sleep control
 * register and resets only by the reset value in the reset register; any
 * other access does nothing, and reads give zeros.
 */
#include <stdlib.h>

#include <petrel/acpi.h>
#include <petrel/log.h>

#include "fuzz_pio.h"

#define WINDOW_LO	(ACPI_SLEEP_CTL_PORT - 4)
#define WINDOW_SPAN	12
#define NR_PORTS	(ACPI_RESET_PORT - ACPI_SLEEP_CTL_PORT + 1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct {
	uint16_t port;
	uint8_t byte;
	unsigned int poweroffs, resets;
} now;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_OFF);
	return 0;
}

static void on_poweroff(void *opaque)
{
	if (now.port != ACPI_SLEEP_CTL_PORT || !(now.byte & ACPI_SLP_EN) ||
	    ((now.byte >> 2) & 7) != ACPI_S5_SLP_TYP)
		abort();
	now.poweroffs++;
}

static void on_reset(void *opaque)
{
	if (now.port != ACPI_RESET_PORT || now.byte != ACPI_RESET_VALUE)
		abort();
	now.resets++;
}

static void in(const struct bus *bus, uint16_t port, uint32_t len)
{
	uint8_t data[4] = { 0xcc, 0xcc, 0xcc, 0xcc };
	bool ours = port >= ACPI_SLEEP_CTL_PORT && port + len <= ACPI_SLEEP_CTL_PORT + NR_PORTS;

	bus_read(bus, port, data, len);
	for (uint32_t i = 0; i < len; i++)
		if (data[i] != (ours ? 0 : 0xff))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acpi_pm pm = { on_poweroff, on_reset, NULL };
	struct bus bus = { .nr = 0 };
	struct pio_op op;

	if (bus_register(&bus, ACPI_SLEEP_CTL_PORT, NR_PORTS, &acpi_pm_bus_ops, &pm))
		abort();
	while (pio_next(&data, &size, &op)) {
		unsigned int before = now.poweroffs + now.resets;
		bool out = op.kind % PIO_NR_OPS == PIO_OUT;

		now.port = (uint16_t)(WINDOW_LO + op.port % WINDOW_SPAN);
		now.byte = (uint8_t)op.val;
		if (out)
			pio_step(&bus, WINDOW_LO, WINDOW_SPAN, &op, true);
		else
			in(&bus, now.port, 1u << (op.size_log2 % 3));
		if (!out && now.poweroffs + now.resets != before)
			abort();
	}
	return 0;
}
