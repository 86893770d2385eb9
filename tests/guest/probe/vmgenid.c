// SPDX-License-Identifier: MIT
/*
 * VMGenID: at boot, "probe: vmgenid <32 hex>" (the 16 bytes in memory order)
 * when the DSDT has the device. probe.action=vmgenid-wait routes the GED's
 * GSI through the IOAPIC to a vector, prints "probe: vmgenid waiting", and
 * when that vector turns up pending in the LAPIC's IRR prints
 * "probe: vmgenid notified <32 hex>". Interrupts stay off and there is no
 * IDT: the vector is only ever seen pending, never taken.
 */
#include "acpi.h"
#include "actions.h"
#include "io.h"
#include "lib.h"
#include "serial.h"

#define VMGENID_SIZE		16

#define LAPIC_BASE		0xfee00000ULL
#define LAPIC_ID		0x20
#define LAPIC_SVR		0xf0
#define LAPIC_SVR_ENABLE	(1u << 8)
#define LAPIC_IRR		0x200	/* 8 registers of 32 vectors, 16 bytes apart */
#define SPURIOUS_VECTOR		0xff

#define IOAPIC_BASE		0xfec00000ULL
#define IOAPIC_INDEX		0x00
#define IOAPIC_DATA		0x10
#define IOAPIC_REDTBL(pin)	(0x10 + 2 * (pin))
#define IOAPIC_PINS		24

#define VMGENID_VECTOR		0x40	/* fixed, physical, edge, active high, unmasked */

static void print_id(const char *what, uint64_t addr)
{
	const volatile uint8_t *id = phys_ptr(addr, VMGENID_SIZE);

	serial_printf("probe: vmgenid %s", what);
	for (int i = 0; i < VMGENID_SIZE; i++)
		serial_printf("%02x", id[i]);
	serial_puts("\n");
}

static bool find(uint64_t *addr, uint32_t *gsi)
{
	return !acpi_find_vmgenid(addr, gsi) && phys_ptr(*addr, VMGENID_SIZE);
}

void vmgenid_report(void)
{
	uint32_t gsi;
	uint64_t addr;

	if (find(&addr, &gsi))
		print_id("", addr);
}

static void ioapic_write(uint32_t reg, uint32_t val)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_INDEX, reg);
	mmio_write32(IOAPIC_BASE + IOAPIC_DATA, val);
}

static bool vector_pending(uint8_t v)
{
	return mmio_read32(LAPIC_BASE + LAPIC_IRR + 0x10 * (v / 32)) & (1u << (v % 32));
}

void vmgenid_wait_action(void)
{
	uint32_t gsi, apic_id;
	uint64_t addr;

	if (!find(&addr, &gsi) || gsi >= IOAPIC_PINS) {
		serial_puts("probe: vmgenid not found\n");
		return;
	}
	apic_id = mmio_read32(LAPIC_BASE + LAPIC_ID) >> 24;
	mmio_write32(LAPIC_BASE + LAPIC_SVR, LAPIC_SVR_ENABLE | SPURIOUS_VECTOR);
	ioapic_write(IOAPIC_REDTBL(gsi) + 1, apic_id << 24);
	ioapic_write(IOAPIC_REDTBL(gsi), VMGENID_VECTOR);
	serial_printf("probe: vmgenid waiting gsi=%u\n", gsi);
	while (!vector_pending(VMGENID_VECTOR))
		asm volatile("pause");
	print_id("notified ", addr);
}
