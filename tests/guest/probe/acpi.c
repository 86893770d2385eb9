// SPDX-License-Identifier: MIT
/*
 * RSDP -> XSDT (or RSDT) -> MADT, FADT -> DSDT. Every table is checked
 * (mapped, long enough, checksum) before it is read.
 */
#include "acpi.h"
#include "io.h"
#include "lib.h"

#define BIOS_AREA_START	0xe0000
#define BIOS_AREA_END	0x100000
#define RSDP_ALIGN	16
#define RSDP_V1_LEN	20

#define GAS_SYSTEM_MEMORY	0
#define GAS_SYSTEM_IO		1

#define FADT_RESET_REG_SUP	(1u << 10)

#define MADT_LAPIC	0
#define MADT_X2APIC	9
#define MADT_ENABLED	(1u << 0)

#define SLP_TYP_SHIFT	2	/* hardware-reduced sleep control register */
#define SLP_EN		(1u << 5)
#define PM1_SLP_TYP_SHIFT 10	/* legacy PM1 control block */
#define PM1_SLP_EN	(1u << 13)

#define AML_ZERO_OP	0x00
#define AML_ONE_OP	0x01
#define AML_NAME_OP	0x08
#define AML_BYTE_PREFIX	0x0a
#define AML_PACKAGE_OP	0x12
#define AML_QWORD_PREFIX 0x0e
#define AML_METHOD_OP	0x14
#define AML_RETURN_OP	0xa4
#define AML_ROOT_CHAR	'\\'
#define AML_WORD_PREFIX	0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_BUFFER_OP	0x11

#define RES_LARGE		0x80
#define RES_SMALL_TYPE(tag)	(((tag) >> 3) & 0x0f)
#define RES_SMALL_LEN(tag)	((tag) & 0x07)
#define RES_SMALL_IRQ		0x04
#define RES_SMALL_END		0x0f
#define RES_MEMORY32_FIXED	0x86
#define RES_EXT_IRQ		0x89

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;		/* revision >= 2 */
	uint64_t xsdt_address;
	uint8_t extended_checksum;
	uint8_t reserved[3];
} __packed;
static_assert(sizeof(struct acpi_rsdp) == 36, "ACPI RSDP");

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	uint32_t creator_id;
	uint32_t creator_revision;
} __packed;
static_assert(sizeof(struct acpi_header) == 36, "ACPI table header");

struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __packed;
static_assert(sizeof(struct acpi_gas) == 12, "ACPI generic address");

struct acpi_madt {
	struct acpi_header header;
	uint32_t lapic_address;
	uint32_t flags;
} __packed;
static_assert(sizeof(struct acpi_madt) == 44, "ACPI MADT");

struct madt_entry {
	uint8_t type;
	uint8_t length;
} __packed;

struct madt_lapic {
	struct madt_entry entry;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} __packed;
static_assert(sizeof(struct madt_lapic) == 8, "MADT processor local APIC");

struct madt_x2apic {
	struct madt_entry entry;
	uint16_t reserved;
	uint32_t x2apic_id;
	uint32_t flags;
	uint32_t processor_uid;
} __packed;
static_assert(sizeof(struct madt_x2apic) == 16, "MADT processor local x2APIC");

/* ACPI 6.x FADT; older revisions are shorter, so check length first. */
struct acpi_fadt {
	struct acpi_header header;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __packed;
static_assert(sizeof(struct acpi_fadt) == 276, "ACPI FADT");
static_assert(offsetof(struct acpi_fadt, dsdt) == 40, "FADT DSDT");
static_assert(offsetof(struct acpi_fadt, pm1a_cnt_blk) == 64, "FADT PM1a_CNT_BLK");
static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT");
static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "FADT SLEEP_CONTROL_REG");
static_assert(offsetof(struct acpi_fadt, sleep_status_reg) == 256, "FADT SLEEP_STATUS_REG");

/* Does the table's length cover this field? */
#define TABLE_HAS(t, field) \
	((t)->header.length >= offsetof(typeof(*(t)), field) + sizeof((t)->field))

static const struct acpi_rsdp *rsdp;

static bool checksum_ok(const void *p, uint32_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return sum == 0;
}

static const struct acpi_rsdp *rsdp_at(uint64_t pa)
{
	const struct acpi_rsdp *r = phys_ptr(pa, sizeof(*r));

	if (!r || memcmp(r->signature, "RSD PTR ", 8) ||
	    !checksum_ok(r, RSDP_V1_LEN))
		return NULL;
	if (r->revision >= 2 &&
	    (r->length < sizeof(*r) || !phys_ptr(pa, r->length) ||
	     !checksum_ok(r, r->length)))
		return NULL;
	return r;
}

int acpi_init(uint64_t rsdp_hint)
{
	uint64_t pa;

	rsdp = rsdp_at(rsdp_hint);
	for (pa = BIOS_AREA_START; !rsdp && pa < BIOS_AREA_END; pa += RSDP_ALIGN)
		rsdp = rsdp_at(pa);
	return rsdp ? 0 : -1;
}

/* The table at pa if it is mapped, whole, and sums to zero. */
static const struct acpi_header *table_at(uint64_t pa, const char *sig)
{
	const struct acpi_header *h = phys_ptr(pa, sizeof(*h));

	if (!h || h->length < sizeof(*h) || !phys_ptr(pa, h->length))
		return NULL;
	if ((sig && memcmp(h->signature, sig, 4)) || !checksum_ok(h, h->length))
		return NULL;
	return h;
}

static const struct acpi_header *find_table(const char *sig)
{
	const struct acpi_header *root, *t;
	bool xsdt = rsdp->revision >= 2 && rsdp->xsdt_address;
	uint32_t size = xsdt ? 8 : 4;
	const uint8_t *entry;
	uint32_t i, n;

	root = xsdt ? table_at(rsdp->xsdt_address, "XSDT") :
		      table_at(rsdp->rsdt_address, "RSDT");
	if (!root)
		return NULL;
	entry = (const uint8_t *)(root + 1);
	n = (root->length - sizeof(*root)) / size;
	for (i = 0; i < n; i++, entry += size) {
		uint64_t pa = 0;

		memcpy(&pa, entry, size);	/* XSDT entries are unaligned */
		t = table_at(pa, sig);
		if (t)
			return t;
	}
	return NULL;
}

static bool madt_cpu_enabled(const struct madt_entry *e)
{
	if (e->type == MADT_LAPIC && e->length >= sizeof(struct madt_lapic))
		return ((const struct madt_lapic *)e)->flags & MADT_ENABLED;
	if (e->type == MADT_X2APIC && e->length >= sizeof(struct madt_x2apic))
		return ((const struct madt_x2apic *)e)->flags & MADT_ENABLED;
	return false;
}

uint32_t acpi_cpu_count(void)
{
	const struct acpi_madt *madt;
	const uint8_t *p, *end;
	uint32_t n = 0;

	madt = rsdp ? (const void *)find_table("APIC") : NULL;
	if (!madt || madt->header.length < sizeof(*madt))
		return 0;
	p = (const uint8_t *)(madt + 1);
	end = (const uint8_t *)madt + madt->header.length;
	while (end - p >= (long)sizeof(struct madt_entry)) {
		const struct madt_entry *e = (const void *)p;

		if (e->length < sizeof(*e) || e->length > end - p)
			break;
		n += madt_cpu_enabled(e);
		p += e->length;
	}
	return n;
}

/* The first element of the package at aml: ZeroOp, OneOp or a byte. */
static int package_first_int(const uint8_t *aml, uint32_t len)
{
	uint32_t i;

	if (len < 2 || aml[0] != AML_PACKAGE_OP)
		return -1;
	i = 1 + 1 + (aml[1] >> 6);	/* PkgLength: lead byte plus 0..3 */
	if (i + 1 >= len || aml[i] == 0)	/* NumElements */
		return -1;
	i++;
	switch (aml[i]) {
	case AML_ZERO_OP:
		return 0;
	case AML_ONE_OP:
		return 1;
	case AML_BYTE_PREFIX:
		return i + 1 < len ? aml[i + 1] : -1;
	}
	return -1;
}

/* SLP_TYP for S5 from Name (_S5, Package () { typ, ... }) in the DSDT. */
static int s5_sleep_type(const struct acpi_header *dsdt)
{
	const uint8_t *aml = (const uint8_t *)(dsdt + 1);
	uint32_t len = dsdt->length - sizeof(*dsdt);
	uint32_t i;

	for (i = 1; i + 4 <= len; i++) {
		if (memcmp(aml + i, "_S5_", 4))
			continue;
		if (aml[i - 1] == AML_NAME_OP ||
		    (aml[i - 1] == AML_ROOT_CHAR && i >= 2 &&
		     aml[i - 2] == AML_NAME_OP))
			return package_first_int(aml + i + 4, len - i - 4);
	}
	return -1;
}

static const struct acpi_header *fadt_dsdt(const struct acpi_fadt *fadt)
{
	if (TABLE_HAS(fadt, x_dsdt) && fadt->x_dsdt)
		return table_at(fadt->x_dsdt, "DSDT");
	return table_at(fadt->dsdt, "DSDT");
}

static void gas_write8(const struct acpi_gas *gas, uint8_t val)
{
	if (gas->space_id == GAS_SYSTEM_MEMORY && phys_ptr(gas->address, 1))
		mmio_write8(gas->address, val);
	else if (gas->space_id == GAS_SYSTEM_IO && gas->address &&
		 gas->address <= 0xffff)
		outb((uint16_t)gas->address, val);
}

static const struct acpi_fadt *find_fadt(void)
{
	const struct acpi_fadt *fadt;

	fadt = rsdp ? (const void *)find_table("FACP") : NULL;
	if (!fadt || !TABLE_HAS(fadt, dsdt))
		return NULL;
	return fadt;
}

void acpi_poweroff(void)
{
	const struct acpi_fadt *fadt = find_fadt();
	const struct acpi_header *dsdt;
	int typ;

	if (!fadt)
		return;
	dsdt = fadt_dsdt(fadt);
	typ = dsdt ? s5_sleep_type(dsdt) : -1;
	if (typ < 0)
		return;
	if (fadt->header.revision >= 5 && TABLE_HAS(fadt, sleep_control_reg) &&
	    fadt->sleep_control_reg.address) {
		gas_write8(&fadt->sleep_control_reg,
			   ((typ & 7) << SLP_TYP_SHIFT) | SLP_EN);
		settle();
	}
	if (TABLE_HAS(fadt, pm1a_cnt_blk) && fadt->pm1a_cnt_blk &&
	    fadt->pm1a_cnt_blk <= 0xffff) {
		outw((uint16_t)fadt->pm1a_cnt_blk,
		     (uint16_t)(((typ & 7) << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN));
		settle();
	}
}

void acpi_reset(void)
{
	const struct acpi_fadt *fadt = find_fadt();

	if (!fadt || !TABLE_HAS(fadt, reset_value) ||
	    !(fadt->flags & FADT_RESET_REG_SUP))
		return;
	gas_write8(&fadt->reset_reg, fadt->reset_value);
	settle();
}

/* A PkgLength: its value in *len; the bytes it takes, or 0 if cut short. */
static uint32_t pkg_length(const uint8_t *aml, uint32_t avail, uint32_t *len)
{
	uint32_t extra, i;

	if (!avail)
		return 0;
	extra = aml[0] >> 6;
	if (avail < 1 + extra)
		return 0;
	if (!extra) {
		*len = aml[0] & 0x3f;
		return 1;
	}
	*len = aml[0] & 0x0f;
	for (i = 0; i < extra; i++)
		*len |= (uint32_t)aml[1 + i] << (4 + 8 * i);
	return 1 + extra;
}

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The Memory32Fixed range and first interrupt of a resource template. */
static bool crs_parse(const uint8_t *r, uint32_t len, struct acpi_mmio_dev *dev)
{
	bool found = false;
	uint32_t i = 0;

	dev->gsi = ACPI_NO_GSI;
	while (i < len) {
		uint8_t tag = r[i];
		uint32_t hdr = 1, size = RES_SMALL_LEN(tag);
		const uint8_t *body;

		if (tag & RES_LARGE) {
			if (len - i < 3)
				break;
			hdr = 3;
			size = r[i + 1] | (uint32_t)r[i + 2] << 8;
		} else if (RES_SMALL_TYPE(tag) == RES_SMALL_END) {
			break;
		}
		if (size > len - i - hdr)
			break;
		body = r + i + hdr;
		if (tag == RES_MEMORY32_FIXED && size >= 9) {
			dev->base = le32(body + 1);
			dev->size = le32(body + 5);
			found = true;
		} else if (tag == RES_EXT_IRQ && size >= 6 && body[1] &&
			   dev->gsi == ACPI_NO_GSI) {
			dev->gsi = le32(body + 2);
		} else if (!(tag & RES_LARGE) && RES_SMALL_TYPE(tag) == RES_SMALL_IRQ &&
			   size >= 2 && dev->gsi == ACPI_NO_GSI && (body[0] | body[1])) {
			dev->gsi = (uint32_t)__builtin_ctz(body[0] | body[1] << 8);
		}
		i += hdr + size;
	}
	return found;
}

/* Name (_CRS, Buffer) at aml[0..len): the buffer's bytes. */
static bool crs_buffer(const uint8_t *aml, uint32_t len, const uint8_t **res,
		       uint32_t *res_len)
{
	uint32_t pkg, used, at;

	if (len < 2 || aml[0] != AML_BUFFER_OP)
		return false;
	used = pkg_length(aml + 1, len - 1, &pkg);
	if (!used || pkg < used || pkg > len - 1)
		return false;
	at = 1 + used;		/* BufferSize: a byte, word or dword constant */
	if (at >= 1 + pkg)
		return false;
	switch (aml[at]) {
	case AML_BYTE_PREFIX:
		at += 2;
		break;
	case AML_WORD_PREFIX:
		at += 3;
		break;
	case AML_DWORD_PREFIX:
		at += 5;
		break;
	default:
		return false;
	}
	if (at > 1 + pkg)
		return false;
	*res = aml + at;
	*res_len = 1 + pkg - at;
	return true;
}

/* Is aml[i..i+4) a name defined here by Name (NAME, ...)? */
static bool name_op_at(const uint8_t *aml, uint32_t len, uint32_t i, const char *name)
{
	return i >= 1 && i + 4 <= len && aml[i - 1] == AML_NAME_OP &&
	       !memcmp(aml + i, name, 4);
}

static uint32_t next_name(const uint8_t *aml, uint32_t len, uint32_t from,
			  const char *name)
{
	uint32_t i;

	for (i = from; i + 4 <= len; i++) {
		if (name_op_at(aml, len, i, name))
			return i;
	}
	return len;
}

/* Is the string at s (len bytes left) the AML String "want"? */
static bool aml_string_is(const uint8_t *s, uint32_t len, const char *want)
{
	uint32_t n = strnlen(want, 16);

	return len >= n + 2 && s[0] == AML_STRING_PREFIX && !memcmp(s + 1, want, n) &&
	       s[1 + n] == 0;
}

static const uint8_t *dsdt_aml(uint32_t *len)
{
	const struct acpi_fadt *fadt = find_fadt();
	const struct acpi_header *dsdt = fadt ? fadt_dsdt(fadt) : NULL;

	if (!dsdt)
		return NULL;
	*len = dsdt->length - sizeof(*dsdt);
	return (const uint8_t *)(dsdt + 1);
}

/*
 * The next device from *from on whose Name (_HID, "hid") matches: its
 * objects are [*start, *end), up to the next _HID. false when none is left.
 */
static bool next_device(const uint8_t *aml, uint32_t len, const char *hid, uint32_t *from,
			uint32_t *start, uint32_t *end)
{
	uint32_t i;

	for (i = next_name(aml, len, *from, "_HID"); i < len; i = *end) {
		*end = next_name(aml, len, i + 4, "_HID");
		if (aml_string_is(aml + i + 4, *end - i - 4, hid)) {
			*start = i + 4;
			*from = *end;
			return true;
		}
	}
	*from = len;
	return false;
}

/* Resource template of the device's Name (_CRS, ...) into dev; false without one. */
static bool device_crs(const uint8_t *aml, uint32_t start, uint32_t end,
		       struct acpi_mmio_dev *dev)
{
	uint32_t crs = next_name(aml, end, start, "_CRS"), res_len;
	const uint8_t *res;

	return crs < end && crs_buffer(aml + crs + 4, end - crs - 4, &res, &res_len) &&
	       crs_parse(res, res_len, dev);
}

/* Not an AML interpreter: _CRS is the Name (_CRS, ResourceTemplate) after the _HID. */
int acpi_find_mmio_devices(const char *hid, struct acpi_mmio_dev *out, int max)
{
	uint32_t len, from = 0, start, end;
	const uint8_t *aml = dsdt_aml(&len);
	int n = 0;

	if (!aml)
		return -1;
	while (n < max && next_device(aml, len, hid, &from, &start, &end))
		n += device_crs(aml, start, end, &out[n]);
	return n;
}

/* An integer constant at aml[*at]: Zero, One or a Byte..QWord; *at moves past it. */
static bool aml_integer(const uint8_t *aml, uint32_t len, uint32_t *at, uint64_t *v)
{
	static const uint8_t sizes[] = {
		[AML_BYTE_PREFIX] = 1, [AML_WORD_PREFIX] = 2, [AML_DWORD_PREFIX] = 4,
		[AML_QWORD_PREFIX] = 8,
	};
	uint8_t op, n;

	if (*at >= len)
		return false;
	op = aml[(*at)++];
	if (op == AML_ZERO_OP || op == AML_ONE_OP) {
		*v = op;
		return true;
	}
	n = op < sizeof(sizes) ? sizes[op] : 0;
	if (!n || len - *at < n)
		return false;
	*v = 0;
	memcpy(v, aml + *at, n);
	*at += n;
	return true;
}

/* Method (ADDR) { Return (Package (2) { low, high }) } at aml[i] (the name). */
static bool addr_method(const uint8_t *aml, uint32_t len, uint32_t i, uint64_t *addr)
{
	uint32_t k, at = i + 4 + 1, pkg;	/* past the name and MethodFlags */
	uint64_t lo, hi;

	for (k = 1; k <= 4 && k < i; k++)	/* MethodOp, then a k-byte PkgLength */
		if (aml[i - 1 - k] == AML_METHOD_OP && (uint32_t)(aml[i - k] >> 6) + 1 == k)
			break;
	if (k > 4 || k >= i || at + 2 > len || memcmp(aml + i, "ADDR", 4))
		return false;
	if (aml[at++] != AML_RETURN_OP || aml[at++] != AML_PACKAGE_OP)
		return false;
	k = pkg_length(aml + at, len - at, &pkg);
	if (!k || at + k + 1 > len || aml[at + k] != 2)
		return false;
	at += k + 1;
	if (!aml_integer(aml, len, &at, &lo) || !aml_integer(aml, len, &at, &hi))
		return false;
	*addr = (lo & 0xffffffff) | hi << 32;
	return true;
}

int acpi_find_vmgenid(uint64_t *addr, uint32_t *gsi)
{
	uint32_t len, from = 0, start, end, i;
	const uint8_t *aml = dsdt_aml(&len);
	struct acpi_mmio_dev ged = { .gsi = ACPI_NO_GSI };
	bool found = false;

	if (!aml || !next_device(aml, len, "VMGENCTR", &from, &start, &end))
		return -1;
	for (i = start; i + 4 <= end && !found; i++)
		found = addr_method(aml, end, i, addr);
	if (!found)
		return -1;
	from = 0;
	if (next_device(aml, len, "ACPI0013", &from, &start, &end))
		device_crs(aml, start, end, &ged);	/* no range: only the GSI counts */
	*gsi = ged.gsi;
	return 0;
}
