// SPDX-License-Identifier: Apache-2.0
/*
 * ACPI tables as a guest reads them: checksums, the RSDP -> XSDT -> FADT,
 * MADT -> DSDT chain inside the region, the FADT's registers, one LAPIC per
 * vCPU, and the DSDT's devices byte for byte. When iasl is installed, the
 * tables are also disassembled, and the DSDT recompiled to the same AML.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <petrel/acpi.h>
#include <petrel/util.h>

#define REGION_SIZE	(MEM_ACPI_END - MEM_ACPI_START)
#define HDR_SIZE	36
#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

struct built {
	uint8_t buf[REGION_SIZE];
	uint64_t rsdp;
	const uint8_t *xsdt, *fadt, *madt, *dsdt;
};

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

static void add(struct acpi_config *cfg, const struct acpi_device *d)
{
	ck_assert_int_eq(acpi_add_device(cfg, d), 0);
}

/* What the builder adds: COM1, the i8042, then virtio-mmio devices. */
static void config(struct acpi_config *cfg, unsigned int nr_cpus, unsigned int nr_virtio)
{
	const struct acpi_device com1 = {
		.name = "COM1", .hid = "PNP0501", .io_base = 0x3f8, .io_size = 8, .gsi = 4,
	};
	const struct acpi_device ps2 = {
		.name = "PS2K", .hid = "PNP0303", .io_base = 0x60, .io_size = 1,
		.io_base2 = 0x64, .io_size2 = 1, .gsi = 1,
	};
	struct acpi_device v = { .hid = "LNRO0005", .mmio_size = 0x1000, .gsi_level = 1 };
	unsigned int i;

	memset(cfg, 0, sizeof(*cfg));
	cfg->nr_cpus = nr_cpus;
	add(cfg, &com1);
	add(cfg, &ps2);
	for (i = 0; i < nr_virtio; i++) {
		snprintf(v.name, sizeof(v.name), "V%03u", i % 1000);
		v.uid = i;
		v.mmio_base = MEM_VIRTIO_MMIO_BASE + i * MEM_VIRTIO_MMIO_SLOT;
		v.gsi = 5 + i % 19;	/* GSIs 5..23 */
		add(cfg, &v);
	}
}

/* A table the guest reaches through gpa: inside the region, checksum 0. */
static const uint8_t *table(const struct built *b, uint64_t gpa, const char *sig)
{
	const uint8_t *t;
	uint32_t len;

	ck_assert_uint_ge(gpa, MEM_ACPI_START);
	ck_assert_uint_le(gpa + HDR_SIZE, MEM_ACPI_END);
	t = b->buf + (gpa - MEM_ACPI_START);
	len = rd32(t + 4);
	ck_assert_uint_ge(len, HDR_SIZE);
	ck_assert_uint_le(gpa + len, MEM_ACPI_END);
	ck_assert_msg(!memcmp(t, sig, 4), "%.4s at %#lx, want %s", t, (unsigned long)gpa, sig);
	ck_assert_msg(sum(t, len) == 0, "%s checksum", sig);
	ck_assert(!memcmp(t + 10, "PETREL", 6));
	ck_assert(!memcmp(t + 16, "PETRELVM", 8));
	return t;
}

static const uint8_t *xsdt_find(const struct built *b, const char *sig)
{
	uint32_t len = rd32(b->xsdt + 4);
	const uint8_t *t;
	size_t off;

	for (off = HDR_SIZE; off + 8 <= len; off += 8) {
		t = b->buf + (rd64(b->xsdt + off) - MEM_ACPI_START);
		if (!memcmp(t, sig, 4))
			return table(b, rd64(b->xsdt + off), sig);
	}
	ck_abort_msg("%s not in the XSDT", sig);
	return NULL;
}

static struct built *build(const struct acpi_config *cfg)
{
	struct built *b = malloc(sizeof(*b));
	const uint8_t *rsdp;

	ck_assert_ptr_nonnull(b);
	memset(b->buf, 0xa5, sizeof(b->buf));
	ck_assert_int_eq(acpi_build_into(b->buf, MEM_ACPI_START, sizeof(b->buf), cfg, &b->rsdp), 0);
	ck_assert_uint_eq(b->rsdp, MEM_ACPI_START);
	rsdp = b->buf;
	ck_assert(!memcmp(rsdp, "RSD PTR ", 8));
	ck_assert_uint_eq(sum(rsdp, 20), 0);
	ck_assert_uint_eq(sum(rsdp, 36), 0);
	ck_assert_uint_eq(rsdp[15], 2);			/* revision */
	ck_assert_uint_eq(rd32(rsdp + 20), 36);		/* length */
	ck_assert(!memcmp(rsdp + 9, "PETREL", 6));
	b->xsdt = table(b, rd64(rsdp + 24), "XSDT");
	ck_assert_uint_eq(rd32(b->xsdt + 4), HDR_SIZE + 2 * 8);
	b->fadt = xsdt_find(b, "FACP");
	b->madt = xsdt_find(b, "APIC");
	b->dsdt = table(b, rd64(b->fadt + 140), "DSDT");
	return b;
}

static const uint8_t *find(const uint8_t *hay, size_t len, const uint8_t *needle, size_t n)
{
	return memmem(hay, len, needle, n);
}

#define ck_assert_contains(t, ...) \
	ck_assert_msg(find((t), rd32((t) + 4), BYTES(__VA_ARGS__)), "bytes not found")

START_TEST(rsdp_chain)
{
	struct acpi_config cfg;
	struct built *b;

	config(&cfg, 1, 0);
	b = build(&cfg);
	ck_assert_uint_eq(b->rsdp % 16, 0);		/* the legacy scan's alignment */
	ck_assert_uint_eq(b->xsdt[8], 1);
	ck_assert_uint_eq(b->dsdt[8], 2);		/* 64-bit integers */
	free(b);
}
END_TEST

START_TEST(fadt)
{
	struct acpi_config cfg;
	const uint8_t *f;
	struct built *b;

	config(&cfg, 2, 1);
	b = build(&cfg);
	f = b->fadt;
	ck_assert_uint_eq(rd32(f + 4), 276);
	ck_assert_uint_eq(f[8], 6);				/* revision */
	ck_assert_uint_eq(f[131], 3);				/* minor version */
	ck_assert_uint_eq(rd32(f + 112), (1u << 20) | (1u << 10) | (1u << 5) | (1u << 4));
	ck_assert_uint_eq(rd16(f + 109), (1u << 1) | (1u << 2) | (1u << 5));
	ck_assert_uint_eq(rd16(f + 46), 9);			/* SCI_INT, as the MADT override */
	ck_assert_uint_eq(rd32(f + 40), rd64(f + 140));		/* DSDT == X_DSDT */
	ck_assert_uint_eq(rd32(f + 36), 0);			/* no FACS */
	/* RESET_REG, RESET_VALUE, SLEEP_CONTROL_REG, SLEEP_STATUS_REG */
	ck_assert(!memcmp(f + 116, BYTES(1, 8, 0, 1, 0xc2, 0x03, 0, 0, 0, 0, 0, 0)));
	ck_assert_uint_eq(f[128], ACPI_RESET_VALUE);
	ck_assert(!memcmp(f + 244, BYTES(1, 8, 0, 1, 0xc0, 0x03, 0, 0, 0, 0, 0, 0)));
	ck_assert(!memcmp(f + 256, BYTES(1, 8, 0, 1, 0xc1, 0x03, 0, 0, 0, 0, 0, 0)));
	ck_assert(!memcmp(f + 268, "PETREL\0\0", 8));
	free(b);
}
END_TEST

struct madt_counts {
	unsigned int lapic, ioapic, iso, nmi;
};

static void madt_entry(const uint8_t *e, unsigned int nr_cpus, struct madt_counts *c)
{
	switch (e[0]) {
	case 0:
		ck_assert_uint_eq(e[1], 8);
		ck_assert_uint_eq(e[2], c->lapic);		/* processor uid */
		ck_assert_uint_eq(e[3], c->lapic);		/* APIC id */
		ck_assert_uint_eq(rd32(e + 4), 1);		/* enabled */
		c->lapic++;
		break;
	case 1:
		ck_assert_uint_eq(e[1], 12);
		ck_assert_uint_eq(e[2], nr_cpus);		/* clashes with no APIC id */
		ck_assert_uint_eq(rd32(e + 4), MEM_IOAPIC_ADDR);
		ck_assert_uint_eq(rd32(e + 8), 0);
		c->ioapic++;
		break;
	case 2:
		ck_assert_uint_eq(e[1], 10);
		ck_assert_uint_eq(e[2], 0);			/* ISA */
		ck_assert_uint_eq(e[3], 9);			/* the SCI ... */
		ck_assert_uint_eq(rd32(e + 4), 9);		/* ... stays on GSI 9 */
		ck_assert_uint_eq(rd16(e + 8), 0xd);		/* level, active high */
		c->iso++;
		break;
	case 4:
		ck_assert_uint_eq(e[1], 6);
		ck_assert_uint_eq(e[2], 0xff);
		ck_assert_uint_eq(e[5], 1);			/* LINT1 */
		c->nmi++;
		break;
	default:
		ck_abort_msg("unexpected MADT entry type %u", e[0]);
	}
}

static void check_madt(unsigned int nr_cpus)
{
	struct madt_counts c = { 0 };
	struct acpi_config cfg;
	const uint8_t *m;
	struct built *b;
	uint32_t len, off;

	config(&cfg, nr_cpus, 3);
	b = build(&cfg);
	m = b->madt;
	len = rd32(m + 4);
	ck_assert_uint_eq(rd32(m + 36), MEM_LAPIC_ADDR);
	ck_assert_uint_eq(rd32(m + 40), 1);			/* PCAT_COMPAT */
	for (off = 44; off < len; off += m[off + 1]) {
		ck_assert_uint_ge(m[off + 1], 2);
		ck_assert_uint_le(off + m[off + 1], len);
		madt_entry(m + off, nr_cpus, &c);
	}
	ck_assert_uint_eq(off, len);
	ck_assert_uint_eq(c.lapic, nr_cpus);
	ck_assert_uint_eq(c.ioapic, 1);
	ck_assert_uint_eq(c.iso, 1);
	ck_assert_uint_eq(c.nmi, 1);
	free(b);
}

START_TEST(madt)
{
	static const unsigned int nr[] = { 1, 2, 8, 32 };

	check_madt(nr[_i]);
}
END_TEST

START_TEST(dsdt_s5_and_scope)
{
	struct acpi_config cfg;
	const uint8_t *d, *sb;
	struct built *b;
	uint32_t len;

	config(&cfg, 1, 1);
	b = build(&cfg);
	d = b->dsdt;
	len = rd32(d + 4);
	ck_assert_contains(d, 0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0a, 0x05, 0, 0, 0);
	/* \_SB_ is the last object: its PkgLength reaches the table's end. */
	sb = find(d, len, BYTES('\\', '_', 'S', 'B', '_'));
	ck_assert_ptr_nonnull(sb);
	ck_assert_uint_eq(sb[-3], 0x10);
	ck_assert_uint_eq(sb[-2] >> 6, 1);
	ck_assert_uint_eq((sb[-2] & 0xf) | sb[-1] << 4, d + len - (sb - 2));
	free(b);
}
END_TEST

START_TEST(dsdt_devices)
{
	struct acpi_config cfg;
	struct built *b;

	config(&cfg, 1, 2);
	b = build(&cfg);
	/* Device(COM1): EisaId("PNP0501"), IO 0x3f8/8, Interrupt(Edge) {4} */
	ck_assert_contains(b->dsdt, 0x5b, 0x82, 0x31, 'C', 'O', 'M', '1',
		0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01,
		0x08, '_', 'U', 'I', 'D', 0x00,
		0x08, '_', 'C', 'R', 'S', 0x11, 0x16, 0x0a, 0x13,
		0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,
		0x89, 0x06, 0x00, 0x03, 0x01, 0x04, 0x00, 0x00, 0x00, 0x79, 0x00);
	/* The i8042: EisaId("PNP0303"), ports 0x60 and 0x64, edge GSI 1 */
	ck_assert_contains(b->dsdt, 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x03, 0x03);
	ck_assert_contains(b->dsdt, 0x11, 0x1e, 0x0a, 0x1b,
		0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01, 0x01,
		0x47, 0x01, 0x64, 0x00, 0x64, 0x00, 0x01, 0x01,
		0x89, 0x06, 0x00, 0x03, 0x01, 0x01, 0x00, 0x00, 0x00, 0x79, 0x00);
	/* Device(V001): "LNRO0005" as a string, 4 KiB at slot 1, level GSI 6 */
	ck_assert_contains(b->dsdt, 0x5b, 0x82, 0x3a, 'V', '0', '0', '1',
		0x08, '_', 'H', 'I', 'D', 0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00,
		0x08, '_', 'U', 'I', 'D', 0x01,
		0x08, '_', 'C', 'R', 'S', 0x11, 0x1a, 0x0a, 0x17,
		0x86, 0x09, 0x00, 0x01, 0x00, 0x20, 0x00, 0xc0, 0x00, 0x10, 0x00, 0x00,
		0x89, 0x06, 0x00, 0x01, 0x01, 0x06, 0x00, 0x00, 0x00, 0x79, 0x00);
	free(b);
}
END_TEST

/* VGEN: the strings Linux matches, ADDR's package; GED_: ACPI0013, edge GSI 3, _EVT. */
START_TEST(dsdt_vmgenid)
{
	struct acpi_config cfg;
	struct built *b;

	config(&cfg, 1, 1);
	ck_assert_int_eq(acpi_add_vmgenid(&cfg, ACPI_VMGENID_ADDR, 3), 0);
	b = build(&cfg);
	ck_assert_contains(b->dsdt, 0x08, '_', 'H', 'I', 'D', 0x0d,
		'V', 'M', 'G', 'E', 'N', 'C', 'T', 'R', 0x00);
	ck_assert_contains(b->dsdt, 0x08, '_', 'C', 'I', 'D', 0x0d,
		'V', 'M', '_', 'G', 'e', 'n', '_', 'C', 'o', 'u', 'n', 't', 'e', 'r', 0x00);
	/* Method (ADDR) { Return (Package (2) { 0xFF000, 0 }) } */
	ck_assert_contains(b->dsdt, 0x14, 0x10, 'A', 'D', 'D', 'R', 0x00,
		0xa4, 0x12, 0x08, 0x02, 0x0c, 0x00, 0xf0, 0x0f, 0x00, 0x00);
	ck_assert_contains(b->dsdt, 0x08, '_', 'H', 'I', 'D', 0x0d,
		'A', 'C', 'P', 'I', '0', '0', '1', '3', 0x00);
	/* Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) {3} */
	ck_assert_contains(b->dsdt, 0x89, 0x06, 0x00, 0x03, 0x01, 0x03, 0x00, 0x00, 0x00);
	/* Method (_EVT, 1) { If (Arg0 == 3) { Notify (\_SB.VGEN, 0x80) } } */
	ck_assert_contains(b->dsdt, 0x14, 0x19, '_', 'E', 'V', 'T', 0x01,
		0xa0, 0x12, 0x93, 0x68, 0x0a, 0x03,
		0x86, '\\', 0x2e, '_', 'S', 'B', '_', 'V', 'G', 'E', 'N', 0x0a, 0x80);
	free(b);
	/* Without it, neither device. */
	config(&cfg, 1, 1);
	b = build(&cfg);
	ck_assert(!find(b->dsdt, rd32(b->dsdt + 4), BYTES('V', 'G', 'E', 'N')));
	ck_assert(!find(b->dsdt, rd32(b->dsdt + 4), BYTES('G', 'E', 'D', '_')));
	free(b);
}
END_TEST

START_TEST(add_vmgenid_invalid)
{
	struct acpi_config cfg;

	config(&cfg, 1, 0);
	ck_assert_int_eq(acpi_add_vmgenid(&cfg, 0, 3), -EINVAL);
	ck_assert_int_eq(acpi_add_vmgenid(&cfg, ACPI_VMGENID_ADDR + 4, 3), -EINVAL);
	ck_assert_int_eq(acpi_add_vmgenid(&cfg, ACPI_VMGENID_ADDR + 0xff8, 3), -EINVAL);
	ck_assert_int_eq(acpi_add_vmgenid(&cfg, ACPI_VMGENID_ADDR, 24), -EINVAL);
	ck_assert_uint_eq(cfg.vmgenid_addr, 0);		/* nothing changed */
	ck_assert_int_eq(acpi_add_vmgenid(&cfg, 0x1234500000ULL, 23), 0);
	ck_assert_uint_eq(cfg.vmgenid_addr, 0x1234500000ULL);
}
END_TEST

START_TEST(many_devices)
{
	struct acpi_config cfg;
	struct built *b;

	config(&cfg, 32, ACPI_MAX_DEVICES - 2);
	b = build(&cfg);
	ck_assert_contains(b->dsdt, 0x5b, 0x82);
	ck_assert_uint_gt(rd32(b->dsdt + 4), 50 * (unsigned int)ACPI_MAX_DEVICES);
	free(b);
}
END_TEST

START_TEST(add_device_invalid)
{
	static const struct acpi_device bad[] = {
		{ .name = "com1", .hid = "PNP0501", .gsi = -1 },
		{ .name = "1COM", .hid = "PNP0501", .gsi = -1 },
		{ .name = "COM1", .hid = NULL, .gsi = -1 },
		{ .name = "COM1", .hid = "PNPX501", .gsi = -1 },
		{ .name = "COM1", .hid = "PNP0501", .gsi = 24 },
		{ .name = "COM1", .hid = "PNP0501", .gsi = -2 },
		{ .name = "COM1", .hid = "PNP0501", .gsi = -1, .io_size = 256 },
		{ .name = "V000", .hid = "LNRO0005", .gsi = 5, .mmio_base = 0xfffff000,
		  .mmio_size = 0x2000 },
		{ .name = "V000", .hid = "LNRO0005", .gsi = 5, .mmio_base = 1ULL << 40,
		  .mmio_size = 0x1000 },
	};
	struct acpi_config cfg = { .nr_cpus = 1 };
	struct acpi_device d = { .name = "DEVX", .hid = "PNP0501", .gsi = -1 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(acpi_add_device(&cfg, &bad[i]) == -EINVAL, "bad[%u] accepted", i);
	ck_assert_uint_eq(cfg.nr_devices, 0);
	for (i = 0; i < ACPI_MAX_DEVICES; i++)
		ck_assert_int_eq(acpi_add_device(&cfg, &d), 0);
	ck_assert_int_eq(acpi_add_device(&cfg, &d), -ENOSPC);
}
END_TEST

START_TEST(bad_cpus)
{
	static uint8_t buf[REGION_SIZE];
	struct acpi_config cfg;
	uint64_t rsdp;

	config(&cfg, 0, 0);
	ck_assert_int_eq(acpi_build_into(buf, MEM_ACPI_START, sizeof(buf), &cfg, &rsdp), -EINVAL);
	cfg.nr_cpus = ACPI_MAX_CPUS + 1;
	ck_assert_int_eq(acpi_build_into(buf, MEM_ACPI_START, sizeof(buf), &cfg, &rsdp), -EINVAL);
}
END_TEST

/* Too small a region: -ENOSPC, and not a byte written past its end. */
START_TEST(no_space)
{
	static uint8_t buf[2048];
	struct acpi_config cfg;
	uint64_t rsdp = 0;
	size_t size, i;

	config(&cfg, 32, 8);
	for (size = 0; size < 1024; size += 37) {
		memset(buf, 0x5a, sizeof(buf));
		ck_assert_int_eq(acpi_build_into(buf, MEM_ACPI_START, size, &cfg, &rsdp), -ENOSPC);
		for (i = size; i < sizeof(buf); i++)
			ck_assert_msg(buf[i] == 0x5a, "size %zu: byte %zu written", size, i);
	}
	ck_assert_int_eq(acpi_build_into(buf, MEM_ACPI_START, sizeof(buf), &cfg, &rsdp), 0);
}
END_TEST

static int run(const char *dir, const char *cmd, const char *log)
{
	char line[512];

	snprintf(line, sizeof(line), "cd %s && %s >%s 2>&1", dir, cmd, log);
	return system(line);
}

static char *slurp(const char *path, size_t *len)
{
	uint8_t *data = NULL;
	FILE *f = fopen(path, "rb");
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	data = malloc(n + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_eq(fread(data, 1, n, f), (size_t)n);
	data[n] = 0;
	fclose(f);
	*len = n;
	return (char *)data;
}

static void spit(const char *dir, const char *name, const uint8_t *t)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(t, 1, rd32(t + 4), f), rd32(t + 4));
	fclose(f);
}

static void check_log_clean(const char *dir, const char *log)
{
	char path[256];
	size_t len;
	char *text;

	snprintf(path, sizeof(path), "%s/%s", dir, log);
	text = slurp(path, &len);
	ck_assert_msg(!strstr(text, "Error") && !strstr(text, "Warning") &&
		      !strstr(text, "Invalid"), "%s:\n%s", log, text);
	free(text);
}

/*
 * iasl -d decodes every table cleanly; the DSDT recompiles to the same AML
 * (-on: iasl would otherwise shorten \_SB_ to _SB_ at the root; -vw 6035:
 * "VMGENCTR", the _HID Linux's vmgenid driver matches, is not a valid ACPI
 * id, its suffix not being hex, and iasl would refuse to compile it).
 */
START_TEST(iasl_roundtrip)
{
	char dir[] = "/tmp/petrel-acpi-XXXXXX", path[256];
	struct acpi_config cfg;
	struct built *b;
	size_t len;
	char *text;

	if (system("command -v iasl >/dev/null 2>&1")) {
		fprintf(stderr, "iasl not installed (acpica-tools): round trip skipped\n");
		return;
	}
	config(&cfg, 4, 3);
	ck_assert_int_eq(acpi_add_vmgenid(&cfg, ACPI_VMGENID_ADDR, 3), 0);
	b = build(&cfg);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	spit(dir, "dsdt.dat", b->dsdt);
	spit(dir, "facp.dat", b->fadt);
	spit(dir, "apic.dat", b->madt);
	spit(dir, "xsdt.dat", b->xsdt);
	ck_assert_int_eq(run(dir, "iasl -d dsdt.dat facp.dat apic.dat xsdt.dat", "d.log"), 0);
	check_log_clean(dir, "d.log");
	snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
	text = slurp(path, &len);
	ck_assert_ptr_nonnull(strstr(text, "EisaId (\"PNP0501\")"));
	ck_assert_ptr_nonnull(strstr(text, "\"LNRO0005\""));
	ck_assert_ptr_nonnull(strstr(text, "Name (_S5, Package (0x04)"));
	ck_assert_ptr_nonnull(strstr(text, "Name (_CID, \"VM_Gen_Counter\")"));
	ck_assert_ptr_nonnull(strstr(text, "Method (ADDR, 0, NotSerialized)"));
	ck_assert_ptr_nonnull(strstr(text, "Name (_HID, \"ACPI0013\""));
	ck_assert_ptr_nonnull(strstr(text, "Method (_EVT, 1, NotSerialized)"));
	ck_assert_ptr_nonnull(strstr(text, "Notify (\\_SB.VGEN, 0x80)"));
	free(text);
	ck_assert_int_eq(run(dir, "iasl -vw 6035 -on -p re dsdt.dsl", "c.log"), 0);
	snprintf(path, sizeof(path), "%s/re.aml", dir);
	text = slurp(path, &len);
	ck_assert_uint_eq(len, rd32(b->dsdt + 4));
	ck_assert(!memcmp(text + HDR_SIZE, b->dsdt + HDR_SIZE, len - HDR_SIZE));
	free(text);
	if (!getenv("PETREL_KEEP_ACPI"))
		run(dir, "rm -f *.dat *.dsl *.aml *.log", "/dev/null");
	if (!getenv("PETREL_KEEP_ACPI"))
		ck_assert_int_eq(rmdir(dir), 0);
	else
		fprintf(stderr, "ACPI tables kept in %s\n", dir);
	free(b);
}
END_TEST

static Suite *acpi_suite(void)
{
	Suite *s = suite_create("acpi");
	TCase *tc = tcase_create("tables");

	tcase_add_test(tc, rsdp_chain);
	tcase_add_test(tc, fadt);
	tcase_add_loop_test(tc, madt, 0, 4);
	tcase_add_test(tc, dsdt_s5_and_scope);
	tcase_add_test(tc, dsdt_devices);
	tcase_add_test(tc, dsdt_vmgenid);
	tcase_add_test(tc, add_vmgenid_invalid);
	tcase_add_test(tc, many_devices);
	tcase_add_test(tc, add_device_invalid);
	tcase_add_test(tc, bad_cpus);
	tcase_add_test(tc, no_space);
	tcase_add_test(tc, iasl_roundtrip);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(acpi_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
