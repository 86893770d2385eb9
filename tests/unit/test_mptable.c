// SPDX-License-Identifier: Apache-2.0
/* The MP table as Linux's mpparse reads it from the EBDA. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/acpi.h>
#include <petrel/util.h>

#define EBDA_SIZE 1024

static uint8_t ebda[EBDA_SIZE];

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

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

struct mp_counts {
	unsigned int cpu, bsp, bus, ioapic, intsrc, lint;
	uint8_t ioapic_id;
};

/* One entry; returns its size. */
static size_t mp_entry(const uint8_t *e, struct mp_counts *c)
{
	switch (e[0]) {
	case 0:
		ck_assert_uint_eq(e[1], c->cpu);		/* APIC id */
		ck_assert_uint_eq(e[2], 0x14);
		ck_assert(e[3] & 1);				/* enabled */
		c->bsp += !!(e[3] & 2);
		ck_assert_uint_eq(!!(e[3] & 2), c->cpu == 0);
		c->cpu++;
		return 20;
	case 1:
		ck_assert(!memcmp(e + 2, "ISA   ", 6));
		c->bus++;
		return 8;
	case 2:
		c->ioapic_id = e[1];
		ck_assert_uint_eq(e[2], 0x11);
		ck_assert_uint_eq(e[3], 1);
		ck_assert_uint_eq(rd32(e + 4), MEM_IOAPIC_ADDR);
		c->ioapic++;
		return 8;
	case 3:
		ck_assert_uint_eq(e[1], 0);			/* INT */
		ck_assert_uint_eq(e[4], 0);			/* ISA */
		ck_assert_uint_eq(e[5], c->intsrc);		/* IRQ n ... */
		ck_assert_uint_eq(e[6], c->ioapic_id);
		ck_assert_uint_eq(e[7], c->intsrc);		/* ... on pin n */
		c->intsrc++;
		return 8;
	case 4:
		ck_assert_uint_eq(e[1], c->lint ? 1 : 3);	/* ExtINT, then NMI */
		ck_assert_uint_eq(e[6], 0xff);
		ck_assert_uint_eq(e[7], c->lint);		/* LINT0, LINT1 */
		c->lint++;
		return 8;
	}
	ck_abort_msg("unexpected MP entry type %u", e[0]);
	return 0;
}

static void check(unsigned int nr_cpus)
{
	struct mp_counts c = { 0 };
	const uint8_t *h = ebda + 16, *e;
	unsigned int i, count;

	memset(ebda, 0xa5, sizeof(ebda));
	ck_assert_int_eq(mptable_build_into(ebda, MEM_EBDA_START, sizeof(ebda), nr_cpus), 0);
	ck_assert(!memcmp(ebda, "_MP_", 4));
	ck_assert_uint_eq(sum(ebda, 16), 0);
	ck_assert_uint_eq(rd32(ebda + 4), MEM_EBDA_START + 16);
	ck_assert_uint_eq(ebda[8], 1);				/* 16 bytes */
	ck_assert_uint_eq(ebda[9], 4);				/* spec 1.4 */
	ck_assert_uint_eq(ebda[11], 0);				/* config table present */
	ck_assert_uint_eq(ebda[12], 0);				/* no IMCR: virtual wire */

	ck_assert(!memcmp(h, "PCMP", 4));
	ck_assert_uint_eq(rd16(h + 4), 44 + 20 * nr_cpus + 8 * (1 + 1 + 24 + 2));
	ck_assert_uint_le(16 + rd16(h + 4), EBDA_SIZE);
	ck_assert_uint_eq(sum(h, rd16(h + 4)), 0);
	ck_assert_uint_eq(h[6], 4);
	ck_assert(!memcmp(h + 8, "PETREL  ", 8));
	ck_assert_uint_eq(rd32(h + 36), MEM_LAPIC_ADDR);
	count = rd16(h + 34);
	ck_assert_uint_eq(count, nr_cpus + 28);
	for (i = 0, e = h + 44; i < count; i++)
		e += mp_entry(e, &c);
	ck_assert_uint_eq(e - h, rd16(h + 4));
	ck_assert_uint_eq(c.cpu, nr_cpus);
	ck_assert_uint_eq(c.bsp, 1);
	ck_assert_uint_eq(c.bus, 1);
	ck_assert_uint_eq(c.ioapic, 1);
	ck_assert_uint_eq(c.ioapic_id, ACPI_IOAPIC_ID(nr_cpus));
	ck_assert_uint_eq(c.intsrc, 24);
	ck_assert_uint_eq(c.lint, 2);
}

START_TEST(cpus)
{
	static const unsigned int nr[] = { 1, 2, 8, 32, 37 };

	check(nr[_i]);
}
END_TEST

/* The IOAPIC has the same id here as in the MADT. */
START_TEST(ioapic_matches_madt)
{
	static uint8_t acpi[MEM_ACPI_END - MEM_ACPI_START];
	struct acpi_config cfg = { .nr_cpus = 8 };
	uint64_t rsdp;
	const uint8_t *madt;
	size_t off;

	check(8);
	ck_assert_int_eq(acpi_build_into(acpi, MEM_ACPI_START, sizeof(acpi), &cfg, &rsdp), 0);
	madt = memmem(acpi, sizeof(acpi), "APIC", 4);
	ck_assert_ptr_nonnull(madt);
	for (off = 44; madt[off] != 1; off += madt[off + 1])
		ck_assert_uint_lt(off, rd32(madt + 4));
	ck_assert_uint_eq(madt[off + 2], ebda[16 + 44 + 8 * 20 + 8 + 1]);
}
END_TEST

START_TEST(no_space)
{
	size_t i;

	memset(ebda, 0x5a, sizeof(ebda));
	ck_assert_int_eq(mptable_build_into(ebda, MEM_EBDA_START, sizeof(ebda), 38), -ENOSPC);
	ck_assert_int_eq(mptable_build_into(ebda, MEM_EBDA_START, 500, 32), -ENOSPC);
	for (i = 0; i < sizeof(ebda); i++)
		ck_assert_uint_eq(ebda[i], 0x5a);
	ck_assert_int_eq(mptable_build_into(ebda, MEM_EBDA_START, sizeof(ebda), 0), -EINVAL);
	ck_assert_int_eq(mptable_build_into(ebda, MEM_EBDA_START + 4, sizeof(ebda), 1), -EINVAL);
}
END_TEST

static Suite *mptable_suite(void)
{
	Suite *s = suite_create("mptable");
	TCase *tc = tcase_create("build");

	tcase_add_loop_test(tc, cpus, 0, 5);
	tcase_add_test(tc, ioapic_matches_madt);
	tcase_add_test(tc, no_space);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mptable_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
