/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_ACPI_H
#define PETREL_ACPI_H

#include <stdint.h>
#include <petrel/memory.h>

/* I/O ports of the hardware-reduced ACPI sleep and reset registers. */
#define ACPI_SLEEP_CTL_PORT	0x3c0
#define ACPI_SLEEP_STS_PORT	0x3c1
#define ACPI_RESET_PORT		0x3c2
#define ACPI_RESET_VALUE	0x01
#define ACPI_S5_SLP_TYP		5	/* \_S5 sleep type: poweroff */
#define ACPI_SLP_EN		(1 << 5)
#define ACPI_MAX_DEVICES	32
#define ACPI_MAX_CPUS		254	/* APIC ids 0..253; the IOAPIC takes the next */
#define ACPI_SCI_IRQ		9

/*
 * The last page of the ACPI area (reserved in the e820 map) holds the
 * VMGenID's generation id; the tables end before it.
 */
#define ACPI_VMGENID_ADDR	(MEM_ACPI_END - 0x1000)
#define ACPI_TABLES_END		ACPI_VMGENID_ADDR

/* The IOAPIC's id (MADT and MP table): the first after the vCPUs' APIC ids. */
#define ACPI_IOAPIC_ID(nr_cpus)	((uint8_t)(nr_cpus))

/* One device of the DSDT: its _HID and resources (zero-sized ones are left out). */
struct acpi_device {
	char name[5];		/* 4-character ACPI name, e.g. "COM1", "V000" */
	const char *hid;	/* "PNP0501" (EISA id) or "LNRO0005" (string) */
	uint32_t uid;
	uint64_t mmio_base;
	uint32_t mmio_size;
	uint16_t io_base;
	uint16_t io_size;
	uint16_t io_base2;	/* a second port range (i8042: 0x60, then 0x64) */
	uint16_t io_size2;
	int gsi;		/* -1: none */
	/*
	 * 1: level-triggered, active high; 0: edge. Level only when the line
	 * stays up until the guest acks (irqfd with KVM_IRQFD_FLAG_RESAMPLE):
	 * a plain irqfd pulses, and the IOAPIC drops a pulse that comes while
	 * the previous level interrupt awaits its EOI.
	 */
	int gsi_level;
};

struct acpi_config {
	unsigned int nr_cpus;
	struct acpi_device devices[ACPI_MAX_DEVICES];
	unsigned int nr_devices;
	uint64_t vmgenid_addr;	/* 0: no VMGenID device */
	unsigned int vmgenid_gsi;
};

/* Add a device to the DSDT (in call order). -ENOSPC when full. */
int acpi_add_device(struct acpi_config *cfg, const struct acpi_device *dev);
/*
 * Add the VMGenID device (\_SB.VGEN: _HID "VMGENCTR", _CID "VM_Gen_Counter",
 * ADDR returning the id's address as Package { low 32 bits, high 32 bits })
 * and the Generic Event Device (\_SB.GED_, ACPI0013) whose _EVT, on an
 * edge on gsi, does Notify (VGEN, 0x80). -EINVAL for an address that is 0
 * or not 8-byte aligned, or a GSI past the IOAPIC's pins.
 */
int acpi_add_vmgenid(struct acpi_config *cfg, uint64_t addr, unsigned int gsi);
/*
 * Write RSDP (at MEM_ACPI_START), XSDT, FADT (hardware-reduced, sleep
 * control/status and reset registers), MADT (one LAPIC per vCPU, the IOAPIC,
 * interrupt overrides) and the DSDT into [MEM_ACPI_START, ACPI_TABLES_END).
 * *rsdp_addr receives the RSDP's address.
 */
int acpi_build_tables(struct guest_mem *mem, const struct acpi_config *cfg, uint64_t *rsdp_addr);
/* Same, into a plain buffer that stands for guest memory at base (unit tests). */
int acpi_build_into(uint8_t *buf, uint64_t base, size_t size, const struct acpi_config *cfg,
		    uint64_t *rsdp_addr);

/* The MP table (floating pointer + config table) at MEM_EBDA_START, for kernels without ACPI. */
int mptable_build(struct guest_mem *mem, unsigned int nr_cpus);
int mptable_build_into(uint8_t *buf, uint64_t base, size_t size, unsigned int nr_cpus);

#endif
