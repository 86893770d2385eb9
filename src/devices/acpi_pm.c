// SPDX-License-Identifier: Apache-2.0
/* The hardware-reduced ACPI sleep and reset registers the FADT points at. */
#include <string.h>

#include <petrel/acpi.h>
#include <petrel/devices.h>

static void acpi_pm_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	const struct acpi_pm *pm = opaque;
	uint8_t v = data[0];

	if (offset == ACPI_SLEEP_CTL_PORT - ACPI_SLEEP_CTL_PORT && (v & ACPI_SLP_EN) &&
	    ((v >> 2) & 7) == ACPI_S5_SLP_TYP)
		pm->on_poweroff(pm->opaque);
	else if (offset == ACPI_RESET_PORT - ACPI_SLEEP_CTL_PORT && v == ACPI_RESET_VALUE)
		pm->on_reset(pm->opaque);
}

static void acpi_pm_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	memset(data, 0, len);	/* no wake status to report */
}

const struct bus_ops acpi_pm_bus_ops = { .read = acpi_pm_read, .write = acpi_pm_write };
