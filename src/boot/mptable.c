// SPDX-License-Identifier: Apache-2.0
/*
 * The Intel MultiProcessor table (spec 1.4) for kernels built without ACPI:
 * the floating pointer at the start of the EBDA, where Linux looks first,
 * then the configuration table with the vCPUs, the ISA bus, the IOAPIC and
 * its 24 pins mapped one to one, as KVM's default GSI routing does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/acpi.h>
#include <petrel/log.h>
#include <petrel/memory.h>
#include <petrel/util.h>

#include "tables.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "MP tables are little-endian");

#define EBDA_SIZE	1024
#define IOAPIC_PINS	24

struct mpf {
	char signature[4];
	uint32_t config_addr;
	uint8_t length;			/* in 16-byte units */
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t feature[5];		/* all 0: config table present, no IMCR */
} __attribute__((packed));
static_assert(sizeof(struct mpf) == 16, "MP floating pointer");

struct mpc_header {
	char signature[4];
	uint16_t length;
	uint8_t spec_rev;
	uint8_t checksum;
	char oem_id[8];
	char product_id[12];
	uint32_t oem_table_addr;
	uint16_t oem_table_size;
	uint16_t count;
	uint32_t lapic_addr;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));
static_assert(sizeof(struct mpc_header) == 44, "MP configuration table header");

struct mpc_cpu {
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t flags;
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));
static_assert(sizeof(struct mpc_cpu) == 20, "MP processor entry");

struct mpc_bus {
	uint8_t type;
	uint8_t bus_id;
	char bus_type[6];
} __attribute__((packed));
static_assert(sizeof(struct mpc_bus) == 8, "MP bus entry");

struct mpc_ioapic {
	uint8_t type;
	uint8_t id;
	uint8_t version;
	uint8_t flags;
	uint32_t address;
} __attribute__((packed));
static_assert(sizeof(struct mpc_ioapic) == 8, "MP I/O APIC entry");

/* I/O and local interrupt assignment entries share one layout. */
struct mpc_irq {
	uint8_t type;
	uint8_t irq_type;
	uint16_t flags;			/* 0: conforms to the bus (ISA: edge, high) */
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_apic;
	uint8_t dst_pin;		/* IOAPIC INTIN or LAPIC LINTIN */
} __attribute__((packed));
static_assert(sizeof(struct mpc_irq) == 8, "MP interrupt entry");

#define MP_SPEC_REV		4	/* 1.4 */
#define MP_CPU			0
#define MP_BUS			1
#define MP_IOAPIC		2
#define MP_INTSRC		3
#define MP_LINTSRC		4
#define MP_CPU_ENABLED		(1 << 0)
#define MP_CPU_BSP		(1 << 1)
#define MP_IOAPIC_ENABLED	(1 << 0)
#define MP_INT			0
#define MP_NMI			1
#define MP_EXTINT		3
#define MP_ALL_LAPICS		0xff
#define ISA_BUS_ID		0
#define LAPIC_VERSION		0x14	/* integrated xAPIC, as KVM's */
#define IOAPIC_VERSION		0x11
#define CPU_SIGNATURE		0x600	/* family 6, model 0, stepping 0 */
#define CPU_FEATURES		((1u << 0) | (1u << 9))	/* FPU, APIC */

#define MP_NR_LINTS		2
#define MP_FIXED_SIZE	(sizeof(struct mpf) + sizeof(struct mpc_header) + \
			 sizeof(struct mpc_bus) + sizeof(struct mpc_ioapic) + \
			 (IOAPIC_PINS + MP_NR_LINTS) * sizeof(struct mpc_irq))

static uint8_t *put(uint8_t *p, const void *entry, size_t len)
{
	memcpy(p, entry, len);
	return p + len;
}

static uint8_t *put_cpus(uint8_t *p, unsigned int nr_cpus)
{
	struct mpc_cpu cpu = {
		.type = MP_CPU,
		.apic_version = LAPIC_VERSION,
		.signature = CPU_SIGNATURE,
		.features = CPU_FEATURES,
	};
	unsigned int i;

	for (i = 0; i < nr_cpus; i++) {
		cpu.apic_id = i;
		cpu.flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0);
		p = put(p, &cpu, sizeof(cpu));
	}
	return p;
}

static uint8_t *put_ioapic(uint8_t *p, uint8_t ioapic_id)
{
	const struct mpc_bus bus = { .type = MP_BUS, .bus_id = ISA_BUS_ID, .bus_type = "ISA   " };
	const struct mpc_ioapic ioapic = {
		.type = MP_IOAPIC,
		.id = ioapic_id,
		.version = IOAPIC_VERSION,
		.flags = MP_IOAPIC_ENABLED,
		.address = MEM_IOAPIC_ADDR,
	};
	struct mpc_irq irq = { .type = MP_INTSRC, .irq_type = MP_INT, .src_bus = ISA_BUS_ID,
			       .dst_apic = ioapic_id };
	unsigned int pin;

	p = put(p, &bus, sizeof(bus));
	p = put(p, &ioapic, sizeof(ioapic));
	for (pin = 0; pin < IOAPIC_PINS; pin++) {
		irq.src_irq = pin;
		irq.dst_pin = pin;
		p = put(p, &irq, sizeof(irq));
	}
	return p;
}

/* Virtual wire mode: the 8259s through LINT0, NMI on LINT1, on every CPU. */
static uint8_t *put_lints(uint8_t *p)
{
	struct mpc_irq lint = { .type = MP_LINTSRC, .src_bus = ISA_BUS_ID,
				.dst_apic = MP_ALL_LAPICS };

	lint.irq_type = MP_EXTINT;
	lint.dst_pin = 0;
	p = put(p, &lint, sizeof(lint));
	lint.irq_type = MP_NMI;
	lint.dst_pin = 1;
	return put(p, &lint, sizeof(lint));
}

static void fill_header(struct mpc_header *h, size_t len, unsigned int nr_cpus)
{
	memcpy(h->signature, "PCMP", sizeof(h->signature));
	h->length = len;
	h->spec_rev = MP_SPEC_REV;
	memcpy(h->oem_id, "PETREL  ", sizeof(h->oem_id));
	memcpy(h->product_id, "PETRELVM    ", sizeof(h->product_id));
	h->count = nr_cpus + 2 + IOAPIC_PINS + MP_NR_LINTS;
	h->lapic_addr = MEM_LAPIC_ADDR;
	h->checksum = 0;
	h->checksum = boot_checksum(h, len);
}

static int build(uint8_t *buf, uint64_t base, size_t size, unsigned int nr_cpus, size_t *used)
{
	struct mpf *mpf = (struct mpf *)buf;
	struct mpc_header *h = (struct mpc_header *)(mpf + 1);
	uint8_t *p;

	if (!nr_cpus || nr_cpus > ACPI_MAX_CPUS || base % 16 || base + 16 > UINT32_MAX)
		return -EINVAL;
	*used = MP_FIXED_SIZE + nr_cpus * sizeof(struct mpc_cpu);
	if (*used > MIN(size, (size_t)EBDA_SIZE))
		return -ENOSPC;
	memset(buf, 0, *used);
	p = put_cpus((uint8_t *)(h + 1), nr_cpus);
	p = put_ioapic(p, ACPI_IOAPIC_ID(nr_cpus));
	p = put_lints(p);
	fill_header(h, p - (uint8_t *)h, nr_cpus);

	memcpy(mpf->signature, "_MP_", sizeof(mpf->signature));
	mpf->config_addr = base + sizeof(*mpf);
	mpf->length = sizeof(*mpf) / 16;
	mpf->spec_rev = MP_SPEC_REV;
	mpf->checksum = boot_checksum(mpf, sizeof(*mpf));
	return 0;
}

int mptable_build_into(uint8_t *buf, uint64_t base, size_t size, unsigned int nr_cpus)
{
	size_t used;

	return build(buf, base, size, nr_cpus, &used);
}

int mptable_build(struct guest_mem *mem, unsigned int nr_cpus)
{
	uint8_t buf[EBDA_SIZE];
	size_t used;
	int ret;

	ret = build(buf, MEM_EBDA_START, sizeof(buf), nr_cpus, &used);
	if (!ret)
		ret = guest_mem_write(mem, MEM_EBDA_START, buf, used);
	if (ret)
		pr_err("MP table for %u vCPUs: %s", nr_cpus, strerror(-ret));
	return ret;
}
