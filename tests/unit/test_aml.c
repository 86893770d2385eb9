// SPDX-License-Identifier: Apache-2.0
/* The AML encoder: exact byte sequences, as iasl would emit them. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/aml.h>
#include <petrel/util.h>

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static void expect(const struct aml *a, const uint8_t *want, size_t len)
{
	size_t i;

	ck_assert_int_eq(a->error, 0);
	ck_assert_uint_eq(a->len, len);
	for (i = 0; i < len; i++)
		ck_assert_msg(a->buf[i] == want[i], "byte %zu: got %02x, want %02x",
			      i, a->buf[i], want[i]);
}

/* Decode a PkgLength (ACPI 6.5, 20.2.4): its value and how many bytes it took. */
static size_t decode_pkglen(const uint8_t *p, size_t *nbytes)
{
	size_t n = (p[0] >> 6) + 1, v, i;

	if (n == 1) {
		*nbytes = 1;
		return p[0] & 0x3f;
	}
	ck_assert_int_eq(p[0] & 0x30, 0);
	v = p[0] & 0x0f;
	for (i = 1; i < n; i++)
		v |= (size_t)p[i] << (4 + 8 * (i - 1));
	*nbytes = n;
	return v;
}

START_TEST(name_integer)
{
	struct aml a;

	aml_init(&a);
	aml_name_integer(&a, "FOO", 0x1234);
	expect(&a, BYTES(0x08, 'F', 'O', 'O', '_', 0x0b, 0x34, 0x12));
	aml_free(&a);
}
END_TEST

START_TEST(integers)
{
	static const struct {
		uint64_t v;
		uint8_t bytes[9];
		size_t len;
	} cases[] = {
		{ 0, { 0x00 }, 1 },
		{ 1, { 0x01 }, 1 },
		{ 2, { 0x0a, 0x02 }, 2 },
		{ 0xff, { 0x0a, 0xff }, 2 },
		{ 0x100, { 0x0b, 0x00, 0x01 }, 3 },
		{ 0xffff, { 0x0b, 0xff, 0xff }, 3 },
		{ 0x10000, { 0x0c, 0x00, 0x00, 0x01, 0x00 }, 5 },
		{ 0xfec00000, { 0x0c, 0x00, 0x00, 0xc0, 0xfe }, 5 },
		{ 0x100000000ULL, { 0x0e, 0, 0, 0, 0, 1, 0, 0, 0 }, 9 },
		{ UINT64_MAX, { 0x0e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 9 },
	};
	struct aml a;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		aml_init(&a);
		aml_integer(&a, cases[i].v);
		expect(&a, cases[i].bytes, cases[i].len);
		aml_free(&a);
	}
}
END_TEST

START_TEST(string)
{
	struct aml a;

	aml_init(&a);
	aml_name_string(&a, "_HID", "LNRO0005");
	expect(&a, BYTES(0x08, '_', 'H', 'I', 'D', 0x0d,
			 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00));
	aml_free(&a);

	aml_init(&a);
	aml_string(&a, "caf\xc3\xa9");
	ck_assert_int_eq(a.error, -EINVAL);
	aml_free(&a);
}
END_TEST

START_TEST(eisaid)
{
	struct aml a;

	aml_init(&a);
	aml_eisaid(&a, "PNP0501");
	aml_eisaid(&a, "PNP0303");
	aml_eisaid(&a, "PNP0000");	/* still a DWord */
	expect(&a, BYTES(0x0c, 0x41, 0xd0, 0x05, 0x01,
			 0x0c, 0x41, 0xd0, 0x03, 0x03,
			 0x0c, 0x41, 0xd0, 0x00, 0x00));
	aml_free(&a);
}
END_TEST

START_TEST(eisaid_invalid)
{
	static const char *const bad[] = { "pnp0501", "PNP05G1", "PNP050", "PNP05011", "P1P0501", "" };
	struct aml a;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		aml_init(&a);
		aml_eisaid(&a, bad[i]);
		ck_assert_msg(a.error == -EINVAL, "%s", bad[i]);
		aml_free(&a);
	}
}
END_TEST

START_TEST(names)
{
	struct aml a;

	aml_init(&a);
	aml_name(&a, "_SB");
	aml_name(&a, "\\_SB_");
	aml_name(&a, "\\_SB_.COM1");
	aml_name(&a, "A.B.C");
	aml_name(&a, "^X1");
	aml_name(&a, "\\");
	expect(&a, BYTES(0x08, '_', 'S', 'B', '_',
			 0x08, '\\', '_', 'S', 'B', '_',
			 0x08, '\\', 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1',
			 0x08, 0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_',
			 0x08, '^', 'X', '1', '_', '_',
			 0x08, '\\', 0x00));
	aml_free(&a);
}
END_TEST

START_TEST(names_invalid)
{
	static const char *const bad[] = {
		"", "1ABC", "ABCDE", "com1", "A-B", "A..B", "A.", ".A", "\\^A", "\\\\A", "^^^^^^^^^A",
		"A.B.C.D.E.F.G.H.I",
	};
	struct aml a;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		aml_init(&a);
		aml_name(&a, bad[i]);
		ck_assert_msg(a.error == -EINVAL, "name \"%s\" accepted", bad[i]);
		aml_free(&a);
	}
}
END_TEST

START_TEST(scope_device_package)
{
	struct aml a;

	aml_init(&a);
	aml_scope_begin(&a, "\\_SB_");
	aml_device_begin(&a, "COM1");
	aml_name_integer(&a, "_UID", 0);
	aml_end(&a);
	aml_end(&a);
	aml_name(&a, "_S5_");
	aml_package_begin(&a, 4);
	aml_integer(&a, 5);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_end(&a);
	expect(&a, BYTES(0x10, 0x13, '\\', '_', 'S', 'B', '_',
			 0x5b, 0x82, 0x0b, 'C', 'O', 'M', '1',
			 0x08, '_', 'U', 'I', 'D', 0x00,
			 0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00));
	ck_assert_uint_eq(a.depth, 0);
	aml_free(&a);
}
END_TEST

START_TEST(resources)
{
	struct aml a;

	aml_init(&a);
	aml_resources_begin(&a);
	aml_res_io(&a, 0x3f8, 8);
	aml_res_irq(&a, 4, 0, 0, 0);
	aml_end(&a);
	expect(&a, BYTES(0x11, 0x16, 0x0a, 0x13,
			 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,
			 0x89, 0x06, 0x00, 0x03, 0x01, 0x04, 0x00, 0x00, 0x00,
			 0x79, 0x00));
	aml_free(&a);

	aml_init(&a);
	aml_resources_begin(&a);
	aml_res_memory32_fixed(&a, 0xc0001000, 0x1000, 1);
	aml_res_irq(&a, 5, 1, 0, 0);
	aml_res_irq(&a, 6, 1, 1, 1);
	aml_end(&a);
	expect(&a, BYTES(0x11, 0x23, 0x0a, 0x20,
			 0x86, 0x09, 0x00, 0x01, 0x00, 0x10, 0x00, 0xc0, 0x00, 0x10, 0x00, 0x00,
			 0x89, 0x06, 0x00, 0x01, 0x01, 0x05, 0x00, 0x00, 0x00,
			 0x89, 0x06, 0x00, 0x0d, 0x01, 0x06, 0x00, 0x00, 0x00,
			 0x79, 0x00));
	aml_free(&a);
}
END_TEST

START_TEST(resources_empty)
{
	struct aml a;

	aml_init(&a);
	aml_resources_begin(&a);
	aml_end(&a);
	expect(&a, BYTES(0x11, 0x05, 0x0a, 0x02, 0x79, 0x00));
	aml_free(&a);
}
END_TEST

/* A package whose contents take exactly len bytes: NumElements and one string. */
static void package_of(struct aml *a, size_t len)
{
	char *s = malloc(len - 2);

	ck_assert_ptr_nonnull(s);
	memset(s, 'x', len - 3);
	s[len - 3] = '\0';
	aml_init(a);
	aml_package_begin(a, 1);
	aml_string(a, s);
	aml_end(a);
	free(s);
}

START_TEST(pkglen_boundaries)
{
	static const struct {
		size_t content;
		size_t nbytes;
	} cases[] = {
		{ 4, 1 }, { 62, 1 }, { 63, 2 }, { 64, 2 }, { 4093, 2 }, { 4094, 3 }, { 4095, 3 },
		{ 4096, 3 }, { 0xffffc, 3 }, { 0xffffd, 4 }, { 0x100000, 4 },
	};
	size_t i, n, v;
	struct aml a;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		package_of(&a, cases[i].content);
		ck_assert_int_eq(a.error, 0);
		ck_assert_uint_eq(a.buf[0], 0x12);
		v = decode_pkglen(a.buf + 1, &n);
		ck_assert_msg(n == cases[i].nbytes, "content %zu: %zu bytes", cases[i].content, n);
		ck_assert_uint_eq(v, cases[i].content + n);
		ck_assert_uint_eq(a.len, 1 + v);
		ck_assert_uint_eq(a.buf[1 + n], 1);	/* NumElements right after */
		aml_free(&a);
	}
}
END_TEST

START_TEST(pkglen_bytes)
{
	struct aml a;

	package_of(&a, 62);
	ck_assert_uint_eq(a.buf[1], 0x3f);		/* 63 */
	aml_free(&a);
	package_of(&a, 63);
	ck_assert_uint_eq(a.buf[1], 0x41);		/* 65 = 0x041 */
	ck_assert_uint_eq(a.buf[2], 0x04);
	aml_free(&a);
	package_of(&a, 4093);
	ck_assert_uint_eq(a.buf[1], 0x4f);		/* 4095 = 0xfff */
	ck_assert_uint_eq(a.buf[2], 0xff);
	aml_free(&a);
	package_of(&a, 4094);
	ck_assert_uint_eq(a.buf[1], 0x81);		/* 4097 = 0x01001 */
	ck_assert_uint_eq(a.buf[2], 0x00);
	ck_assert_uint_eq(a.buf[3], 0x01);
	aml_free(&a);
}
END_TEST

/* A resource buffer whose size crosses from BytePrefix to WordPrefix. */
START_TEST(resources_large)
{
	struct aml a;
	size_t i, n, v;

	aml_init(&a);
	aml_resources_begin(&a);
	for (i = 0; i < 40; i++)
		aml_res_io(&a, 0x100 + i, 1);
	aml_end(&a);
	ck_assert_int_eq(a.error, 0);
	v = decode_pkglen(a.buf + 1, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(a.len, 1 + v);
	ck_assert_uint_eq(a.buf[1 + n], 0x0b);		/* WordPrefix: 322 */
	ck_assert_uint_eq(a.buf[2 + n] | a.buf[3 + n] << 8, 40 * 8 + 2);
	ck_assert_uint_eq(a.buf[a.len - 2], 0x79);
	aml_free(&a);
}
END_TEST

START_TEST(misuse)
{
	struct aml a;
	unsigned int i;
	size_t len;

	aml_init(&a);
	aml_end(&a);				/* nothing open */
	ck_assert_int_eq(a.error, -EINVAL);
	aml_free(&a);

	aml_init(&a);
	aml_res_io(&a, 0x60, 1);		/* outside a ResourceTemplate */
	ck_assert_int_eq(a.error, -EINVAL);
	aml_free(&a);

	aml_init(&a);
	aml_device_begin(&a, "DEV0");
	aml_res_irq(&a, 5, 1, 0, 0);		/* in a Device, not its _CRS */
	ck_assert_int_eq(a.error, -EINVAL);
	aml_free(&a);

	aml_init(&a);
	for (i = 0; i <= AML_MAX_DEPTH; i++)
		aml_package_begin(&a, 1);
	ck_assert_int_eq(a.error, -EINVAL);
	aml_free(&a);

	/* Sticky: nothing is written after the first error. */
	aml_init(&a);
	aml_name(&a, "bad!");
	len = a.len;
	aml_name_integer(&a, "GOOD", 7);
	aml_scope_begin(&a, "\\_SB_");
	aml_end(&a);
	ck_assert_int_eq(a.error, -EINVAL);
	ck_assert_uint_eq(a.len, len);
	aml_free(&a);
	ck_assert_ptr_null(a.buf);
}
END_TEST

START_TEST(max_depth)
{
	struct aml a;
	unsigned int i;

	aml_init(&a);
	for (i = 0; i < AML_MAX_DEPTH; i++)
		aml_package_begin(&a, 1);
	for (i = 0; i < AML_MAX_DEPTH; i++)
		aml_end(&a);
	ck_assert_int_eq(a.error, 0);
	ck_assert_uint_eq(a.depth, 0);
	ck_assert_uint_eq(a.len, 3 * AML_MAX_DEPTH);
	aml_free(&a);
}
END_TEST

/* Method (ADDR) { Return (Package (2) { 0xFF000, 0 }) }, as iasl emits it. */
START_TEST(method_return)
{
	struct aml a;

	aml_init(&a);
	aml_method_begin(&a, "ADDR", 0);
	aml_return(&a);
	aml_package_begin(&a, 2);
	aml_integer(&a, 0xff000);
	aml_integer(&a, 0);
	aml_end(&a);
	aml_end(&a);
	expect(&a, BYTES(0x14, 0x10, 'A', 'D', 'D', 'R', 0x00,
			 0xa4, 0x12, 0x08, 0x02, 0x0c, 0x00, 0xf0, 0x0f, 0x00, 0x00));
	aml_free(&a);
}
END_TEST

/* Method (_EVT, 1) { If (Arg0 == 3) { Notify (\_SB_.VGEN, 0x80) } } */
START_TEST(method_if_notify)
{
	struct aml a;

	aml_init(&a);
	aml_method_begin(&a, "_EVT", 1);
	aml_if_begin(&a);
	aml_lequal(&a);
	aml_arg(&a, 0);
	aml_integer(&a, 3);
	aml_notify(&a, "\\_SB_.VGEN", 0x80);
	aml_end(&a);
	aml_end(&a);
	expect(&a, BYTES(0x14, 0x19, '_', 'E', 'V', 'T', 0x01,
			 0xa0, 0x12, 0x93, 0x68, 0x0a, 0x03,
			 0x86, '\\', 0x2e, '_', 'S', 'B', '_', 'V', 'G', 'E', 'N', 0x0a, 0x80));
	aml_free(&a);
}
END_TEST

START_TEST(method_invalid)
{
	struct aml a;

	aml_init(&a);
	aml_method_begin(&a, "FOO", 8);			/* at most 7 arguments */
	ck_assert_int_eq(a.error, -EINVAL);
	aml_free(&a);
	aml_init(&a);
	aml_arg(&a, 7);					/* Arg0..Arg6 */
	ck_assert_int_eq(a.error, -EINVAL);
	aml_free(&a);
	aml_init(&a);
	aml_notify(&a, "1BAD", 0x80);
	ck_assert_int_eq(a.error, -EINVAL);
	aml_free(&a);
	aml_init(&a);
	aml_method_begin(&a, "FOO", 0);
	aml_res_io(&a, 0x3f8, 8);			/* a method is not a resource template */
	ck_assert_int_eq(a.error, -EINVAL);
	aml_free(&a);
}
END_TEST

static Suite *aml_suite(void)
{
	Suite *s = suite_create("aml");
	TCase *tc = tcase_create("encode");

	tcase_add_test(tc, name_integer);
	tcase_add_test(tc, integers);
	tcase_add_test(tc, string);
	tcase_add_test(tc, eisaid);
	tcase_add_test(tc, eisaid_invalid);
	tcase_add_test(tc, names);
	tcase_add_test(tc, names_invalid);
	tcase_add_test(tc, scope_device_package);
	tcase_add_test(tc, resources);
	tcase_add_test(tc, resources_empty);
	tcase_add_test(tc, pkglen_boundaries);
	tcase_add_test(tc, pkglen_bytes);
	tcase_add_test(tc, resources_large);
	tcase_add_test(tc, misuse);
	tcase_add_test(tc, max_depth);
	tcase_add_test(tc, method_return);
	tcase_add_test(tc, method_if_notify);
	tcase_add_test(tc, method_invalid);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(aml_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
