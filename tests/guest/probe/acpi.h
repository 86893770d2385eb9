/* SPDX-License-Identifier: MIT */
/* Just enough ACPI to count CPUs and to power off. */
#ifndef PROBE_ACPI_H
#define PROBE_ACPI_H

#include <stdint.h>

/* Find the RSDP (at rsdp_hint if non-zero, else in the BIOS area). */
int acpi_init(uint64_t rsdp_hint);
/* Enabled LAPIC and x2APIC entries in the MADT; 0 without one. */
uint32_t acpi_cpu_count(void);
#define ACPI_NO_GSI	UINT32_MAX

struct acpi_mmio_dev {
	uint64_t base;
	uint64_t size;
	uint32_t gsi;		/* ACPI_NO_GSI if the _CRS has no interrupt */
};

/*
 * Up to max DSDT devices whose _HID is the string hid and whose _CRS has a
 * Memory32Fixed range; -1 without a DSDT.
 */
int acpi_find_mmio_devices(const char *hid, struct acpi_mmio_dev *out, int max);
/*
 * The VMGenID device (_HID "VMGENCTR"): the id's address from its ADDR
 * method, and the GSI of the Generic Event Device (ACPI0013) that notifies
 * it (ACPI_NO_GSI without one). -1 when there is no such device.
 */
int acpi_find_vmgenid(uint64_t *addr, uint32_t *gsi);
/* Enter S5; returns only if the platform ignored every request. */
void acpi_poweroff(void);
/* Write the FADT reset register; returns only if that did nothing. */
void acpi_reset(void);

#endif
