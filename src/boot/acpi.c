// SPDX-License-Identifier: Apache-2.0
/*
 * ACPI tables of a hardware-reduced x86 machine (ACPI 6.3): RSDP, XSDT,
 * FADT, MADT and a DSDT naming COM1, the i8042, the virtio-mmio devices
 * and the VMGenID device with the Generic Event Device that notifies it.
 * Linux finds the vCPUs, the IOAPIC and (in distribution kernels) the
 * virtio devices only through these.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/acpi.h>
#include <petrel/aml.h>
#include <petrel/log.h>
#include <petrel/memory.h>
#include <petrel/util.h>

#include "tables.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ACPI tables are little-endian");

static_assert(ACPI_VMGENID_ADDR >= MEM_ACPI_START && ACPI_VMGENID_ADDR + 4096 <= MEM_ACPI_END,
	      "the VMGenID page lies in the ACPI area, reserved in the e820 map");

#define OEM_ID		"PETREL"
#define OEM_TABLE_ID	"PETRELVM"
#define CREATOR_ID	"PTRL"
#define CREATOR_REV	1
#define TABLE_ALIGN	16

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;		/* over the first 20 bytes (ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_addr;
	uint32_t length;
	uint64_t xsdt_addr;
	uint8_t ext_checksum;		/* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));
static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");

#define RSDP_V1_SIZE	20

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
static_assert(sizeof(struct acpi_header) == 36, "system description table header");

/* Generic Address Structure. */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));
static_assert(sizeof(struct acpi_gas) == 12, "GAS");

#define GAS_SYSTEM_IO	1
#define GAS_ACCESS_BYTE	1

struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t pm_profile;
	uint16_t sci_int;
	uint8_t fixed_hw[61];		/* SMI_CMD .. CENTURY: no fixed hardware */
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_fixed_hw[8];	/* X_PM1a_EVT_BLK .. X_GPE1_BLK */
	struct acpi_gas sleep_control;
	struct acpi_gas sleep_status;
	char hypervisor_id[8];
} __attribute__((packed));
static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6");
static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT IAPC_BOOT_ARCH");
static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT");
static_assert(offsetof(struct acpi_fadt, sleep_control) == 244, "FADT SLEEP_CONTROL_REG");

#define FADT_REVISION		6
#define FADT_MINOR_VERSION	3
#define FADT_PWR_BUTTON		(1u << 4)	/* no fixed-feature power button */
#define FADT_SLP_BUTTON		(1u << 5)	/* no fixed-feature sleep button */
#define FADT_RESET_REG_SUP	(1u << 10)
#define FADT_HW_REDUCED_ACPI	(1u << 20)
#define BOOT_ARCH_8042		(1u << 1)
#define BOOT_ARCH_VGA_NOT_PRESENT (1u << 2)
#define BOOT_ARCH_CMOS_RTC_NOT_PRESENT (1u << 5)

struct acpi_madt {
	struct acpi_header h;
	uint32_t lapic_addr;
	uint32_t flags;
} __attribute__((packed));
static_assert(sizeof(struct acpi_madt) == 44, "MADT");

struct madt_lapic {
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));
static_assert(sizeof(struct madt_lapic) == 8, "MADT Processor Local APIC");

struct madt_ioapic {
	uint8_t type;
	uint8_t length;
	uint8_t id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));
static_assert(sizeof(struct madt_ioapic) == 12, "MADT I/O APIC");

struct madt_iso {
	uint8_t type;
	uint8_t length;
	uint8_t bus;
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));
static_assert(sizeof(struct madt_iso) == 10, "MADT Interrupt Source Override");

struct madt_lapic_nmi {
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));
static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT Local APIC NMI");

#define MADT_REVISION		5
#define MADT_PCAT_COMPAT	(1u << 0)	/* KVM's in-kernel irqchip has the 8259s */
#define MADT_LAPIC		0
#define MADT_IOAPIC		1
#define MADT_ISO		2
#define MADT_LAPIC_NMI		4
#define MADT_LAPIC_ENABLED	(1u << 0)
#define MADT_ALL_PROCESSORS	0xff
#define MPS_ACTIVE_HIGH		0x1
#define MPS_LEVEL		(0x3 << 2)

#define DSDT_REVISION		2	/* 64-bit integers */
#define XSDT_ENTRIES		2	/* FADT, MADT */
#define IOAPIC_PINS		24

/* Where the tables go: a buffer standing for guest memory at base. */
struct region {
	uint8_t *buf;
	uint64_t base;
	size_t size;
	size_t used;
};

struct tables {
	struct acpi_rsdp *rsdp;
	struct acpi_header *xsdt;
	struct acpi_fadt *fadt;
	struct acpi_madt *madt;
	struct acpi_header *dsdt;
	uint64_t rsdp_gpa, xsdt_gpa, fadt_gpa, madt_gpa, dsdt_gpa;
};

uint8_t boot_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return -sum;
}

static void header_init(struct acpi_header *h, const char *sig, size_t len, uint8_t rev)
{
	memcpy(h->signature, sig, sizeof(h->signature));
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, OEM_ID, sizeof(h->oem_id));
	memcpy(h->oem_table_id, OEM_TABLE_ID, sizeof(h->oem_table_id));
	h->oem_revision = 1;
	memcpy(h->creator_id, CREATOR_ID, sizeof(h->creator_id));
	h->creator_revision = CREATOR_REV;
}

static void header_seal(struct acpi_header *h)
{
	h->checksum = 0;
	h->checksum = boot_checksum(h, h->length);
}

/* A zeroed, 16-byte aligned slot of len bytes in the region (padding zeroed too), or NULL. */
static void *place(struct region *r, size_t len, uint64_t *gpa)
{
	size_t off = ALIGN_UP(r->base + r->used, TABLE_ALIGN) - r->base;

	if (off > r->size || len > r->size - off)
		return NULL;
	memset(r->buf + r->used, 0, off + len - r->used);
	r->used = off + len;
	*gpa = r->base + off;
	return r->buf + off;
}

static bool is_eisaid(const char *hid)
{
	return strlen(hid) == 7;	/* "PNP0501"; ACPI ids such as "LNRO0005" have 8 */
}

static void dsdt_resources(struct aml *a, const struct acpi_device *d)
{
	aml_name(a, "_CRS");
	aml_resources_begin(a);
	if (d->mmio_size)
		aml_res_memory32_fixed(a, d->mmio_base, d->mmio_size, 1);
	if (d->io_size)
		aml_res_io(a, d->io_base, d->io_size);
	if (d->io_size2)
		aml_res_io(a, d->io_base2, d->io_size2);
	if (d->gsi >= 0)
		aml_res_irq(a, d->gsi, d->gsi_level, 0, 0);
	aml_end(a);
}

static void dsdt_device(struct aml *a, const struct acpi_device *d)
{
	aml_device_begin(a, d->name);
	if (is_eisaid(d->hid)) {
		aml_name(a, "_HID");
		aml_eisaid(a, d->hid);
	} else {
		aml_name_string(a, "_HID", d->hid);
	}
	aml_name_integer(a, "_UID", d->uid);
	dsdt_resources(a, d);
	aml_end(a);
}

#define VMGENID_CHANGED	0x80	/* the Notify value the VMGenID spec gives */

static void dsdt_vmgenid(struct aml *a, uint64_t addr)
{
	aml_device_begin(a, "VGEN");
	aml_name_string(a, "_HID", "VMGENCTR");
	aml_name_string(a, "_CID", "VM_Gen_Counter");
	aml_name_string(a, "_DDN", "VM_Gen_Counter");
	aml_method_begin(a, "ADDR", 0);
	aml_return(a);
	aml_package_begin(a, 2);
	aml_integer(a, addr & UINT32_MAX);
	aml_integer(a, addr >> 32);
	aml_end(a);
	aml_end(a);
	aml_end(a);
}

/* Hardware-reduced ACPI has no GPE block: a GED turns the GSI into the Notify. */
static void dsdt_ged(struct aml *a, unsigned int gsi)
{
	const struct acpi_device ged = { .gsi = gsi, .gsi_level = 0 };

	aml_device_begin(a, "GED_");
	aml_name_string(a, "_HID", "ACPI0013");
	aml_name_integer(a, "_UID", 0);
	dsdt_resources(a, &ged);
	aml_method_begin(a, "_EVT", 1);
	aml_if_begin(a);
	aml_lequal(a);
	aml_arg(a, 0);
	aml_integer(a, gsi);
	aml_notify(a, "\\_SB_.VGEN", VMGENID_CHANGED);
	aml_end(a);
	aml_end(a);
	aml_end(a);
}

static int dsdt_build(struct aml *a, const struct acpi_config *cfg)
{
	unsigned int i;

	/* Hardware-reduced S5: SLP_TYPa for the sleep control register. */
	aml_name(a, "_S5_");
	aml_package_begin(a, 4);
	aml_integer(a, ACPI_S5_SLP_TYP);
	for (i = 1; i < 4; i++)
		aml_integer(a, 0);
	aml_end(a);

	aml_scope_begin(a, "\\_SB_");
	for (i = 0; i < cfg->nr_devices; i++)
		dsdt_device(a, &cfg->devices[i]);
	if (cfg->vmgenid_addr) {
		dsdt_vmgenid(a, cfg->vmgenid_addr);
		dsdt_ged(a, cfg->vmgenid_gsi);
	}
	aml_end(a);
	if (!a->error && a->depth)
		a->error = -EINVAL;
	return a->error;
}

/* A device is valid when its fields are in range and its AML encodes. */
static int check_device(const struct acpi_device *d)
{
	struct aml a;
	int ret;

	if (!d->hid || strnlen(d->name, sizeof(d->name)) == sizeof(d->name))
		return -EINVAL;
	if (d->io_size > UINT8_MAX || d->io_size2 > UINT8_MAX)
		return -EINVAL;
	if (d->mmio_base > MEM_HOLE_END || d->mmio_base + d->mmio_size > MEM_HOLE_END)
		return -EINVAL;
	if (d->gsi < -1 || d->gsi >= IOAPIC_PINS)
		return -EINVAL;
	aml_init(&a);
	dsdt_device(&a, d);
	ret = a.error;
	aml_free(&a);
	return ret;
}

int acpi_add_device(struct acpi_config *cfg, const struct acpi_device *dev)
{
	int ret;

	if (cfg->nr_devices >= ACPI_MAX_DEVICES)
		return -ENOSPC;
	ret = check_device(dev);
	if (ret)
		return ret;
	cfg->devices[cfg->nr_devices++] = *dev;
	return 0;
}

int acpi_add_vmgenid(struct acpi_config *cfg, uint64_t addr, unsigned int gsi)
{
	/* The spec asks for an 8-byte aligned id; the guest maps it, so no page split. */
	if (!addr || addr % 8 || addr % 4096 > 4096 - 16 || gsi >= IOAPIC_PINS)
		return -EINVAL;
	cfg->vmgenid_addr = addr;
	cfg->vmgenid_gsi = gsi;
	return 0;
}

static size_t madt_size(unsigned int nr_cpus)
{
	return sizeof(struct acpi_madt) + nr_cpus * sizeof(struct madt_lapic) +
	       sizeof(struct madt_ioapic) + sizeof(struct madt_iso) +
	       sizeof(struct madt_lapic_nmi);
}

static int place_tables(struct region *r, struct tables *t, unsigned int nr_cpus,
			size_t dsdt_aml_len)
{
	t->rsdp = place(r, sizeof(*t->rsdp), &t->rsdp_gpa);
	t->xsdt = place(r, sizeof(*t->xsdt) + XSDT_ENTRIES * sizeof(uint64_t), &t->xsdt_gpa);
	t->fadt = place(r, sizeof(*t->fadt), &t->fadt_gpa);
	t->madt = place(r, madt_size(nr_cpus), &t->madt_gpa);
	t->dsdt = place(r, sizeof(*t->dsdt) + dsdt_aml_len, &t->dsdt_gpa);
	if (!t->rsdp || !t->xsdt || !t->fadt || !t->madt || !t->dsdt)
		return -ENOSPC;
	return 0;
}

static void fill_rsdp(struct acpi_rsdp *rsdp, uint64_t xsdt_gpa)
{
	memcpy(rsdp->signature, "RSD PTR ", sizeof(rsdp->signature));
	memcpy(rsdp->oem_id, OEM_ID, sizeof(rsdp->oem_id));
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_addr = xsdt_gpa;
	rsdp->checksum = boot_checksum(rsdp, RSDP_V1_SIZE);
	rsdp->ext_checksum = boot_checksum(rsdp, sizeof(*rsdp));
}

static void fill_xsdt(const struct tables *t)
{
	const uint64_t entries[XSDT_ENTRIES] = { t->fadt_gpa, t->madt_gpa };

	header_init(t->xsdt, "XSDT", sizeof(*t->xsdt) + sizeof(entries), 1);
	memcpy(t->xsdt + 1, entries, sizeof(entries));
	header_seal(t->xsdt);
}

static struct acpi_gas io_gas(uint16_t port)
{
	return (struct acpi_gas){
		.space_id = GAS_SYSTEM_IO,
		.bit_width = 8,
		.access_size = GAS_ACCESS_BYTE,
		.address = port,
	};
}

static void fill_fadt(struct acpi_fadt *f, uint64_t dsdt_gpa)
{
	header_init(&f->h, "FACP", sizeof(*f), FADT_REVISION);
	f->minor_version = FADT_MINOR_VERSION;
	f->dsdt = dsdt_gpa;
	f->x_dsdt = dsdt_gpa;
	/* Unused in hardware-reduced mode, but must match the MADT's override. */
	f->sci_int = ACPI_SCI_IRQ;
	f->flags = FADT_HW_REDUCED_ACPI | FADT_PWR_BUTTON | FADT_SLP_BUTTON |
		   FADT_RESET_REG_SUP;
	f->iapc_boot_arch = BOOT_ARCH_8042 | BOOT_ARCH_VGA_NOT_PRESENT |
			    BOOT_ARCH_CMOS_RTC_NOT_PRESENT;
	f->reset_reg = io_gas(ACPI_RESET_PORT);
	f->reset_value = ACPI_RESET_VALUE;
	f->sleep_control = io_gas(ACPI_SLEEP_CTL_PORT);
	f->sleep_status = io_gas(ACPI_SLEEP_STS_PORT);
	memcpy(f->hypervisor_id, OEM_ID "\0", sizeof(f->hypervisor_id));
	header_seal(&f->h);
}

static uint8_t *madt_lapics(uint8_t *p, unsigned int nr_cpus)
{
	struct madt_lapic lapic = {
		.type = MADT_LAPIC,
		.length = sizeof(lapic),
		.flags = MADT_LAPIC_ENABLED,
	};
	unsigned int i;

	for (i = 0; i < nr_cpus; i++, p += sizeof(lapic)) {
		lapic.processor_uid = i;
		lapic.apic_id = i;
		memcpy(p, &lapic, sizeof(lapic));
	}
	return p;
}

/*
 * ISA IRQs map to GSIs one to one, as KVM's default routing does (the PIT
 * on GSI 0, not 2), so the only override is the SCI's level trigger.
 */
static void fill_madt(struct acpi_madt *m, unsigned int nr_cpus)
{
	const struct madt_ioapic ioapic = {
		.type = MADT_IOAPIC,
		.length = sizeof(ioapic),
		.id = ACPI_IOAPIC_ID(nr_cpus),
		.address = MEM_IOAPIC_ADDR,
	};
	const struct madt_iso sci = {
		.type = MADT_ISO,
		.length = sizeof(sci),
		.source = ACPI_SCI_IRQ,
		.gsi = ACPI_SCI_IRQ,
		.flags = MPS_ACTIVE_HIGH | MPS_LEVEL,
	};
	const struct madt_lapic_nmi nmi = {
		.type = MADT_LAPIC_NMI,
		.length = sizeof(nmi),
		.processor_uid = MADT_ALL_PROCESSORS,
		.lint = 1,
	};
	uint8_t *p = madt_lapics((uint8_t *)(m + 1), nr_cpus);

	header_init(&m->h, "APIC", madt_size(nr_cpus), MADT_REVISION);
	m->lapic_addr = MEM_LAPIC_ADDR;
	m->flags = MADT_PCAT_COMPAT;
	memcpy(p, &ioapic, sizeof(ioapic));
	p += sizeof(ioapic);
	memcpy(p, &sci, sizeof(sci));
	p += sizeof(sci);
	memcpy(p, &nmi, sizeof(nmi));
	header_seal(&m->h);
}

static void fill_dsdt(struct acpi_header *h, const struct aml *a)
{
	header_init(h, "DSDT", sizeof(*h) + a->len, DSDT_REVISION);
	memcpy(h + 1, a->buf, a->len);
	header_seal(h);
}

static int build(struct region *r, const struct acpi_config *cfg, uint64_t *rsdp_addr)
{
	struct tables t = { 0 };
	struct aml dsdt;
	int ret;

	if (!cfg->nr_cpus || cfg->nr_cpus > ACPI_MAX_CPUS || cfg->nr_devices > ACPI_MAX_DEVICES)
		return -EINVAL;
	aml_init(&dsdt);
	ret = dsdt_build(&dsdt, cfg);
	if (!ret)
		ret = place_tables(r, &t, cfg->nr_cpus, dsdt.len);
	if (!ret) {
		fill_dsdt(t.dsdt, &dsdt);
		fill_madt(t.madt, cfg->nr_cpus);
		fill_fadt(t.fadt, t.dsdt_gpa);
		fill_xsdt(&t);
		fill_rsdp(t.rsdp, t.xsdt_gpa);
		*rsdp_addr = t.rsdp_gpa;
	}
	aml_free(&dsdt);
	return ret;
}

int acpi_build_into(uint8_t *buf, uint64_t base, size_t size, const struct acpi_config *cfg,
		    uint64_t *rsdp_addr)
{
	struct region r = { .buf = buf, .base = base, .size = size };

	return build(&r, cfg, rsdp_addr);
}

int acpi_build_tables(struct guest_mem *mem, const struct acpi_config *cfg, uint64_t *rsdp_addr)
{
	struct region r = { .base = MEM_ACPI_START, .size = ACPI_TABLES_END - MEM_ACPI_START };
	int ret;

	r.buf = malloc(r.size);
	if (!r.buf)
		return -ENOMEM;
	ret = build(&r, cfg, rsdp_addr);
	if (!ret)
		ret = guest_mem_write(mem, r.base, r.buf, r.used);
	if (ret)
		pr_err("ACPI tables: %s", strerror(-ret));
	free(r.buf);
	return ret;
}
