// SPDX-License-Identifier: Apache-2.0
/* The state file's framing: round trip through a pipe, and every way a file can be wrong. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <petrel/snapshot.h>

static char err[512];

/* A state file with a config section and two vCPU sections, in a malloc'd buffer. */
static uint8_t *make_file(size_t *len)
{
	static const char cfg[] = "{\"boot-source\":{}}";
	uint8_t v0[100], v1[7];
	struct snap_writer w;
	int fds[2];
	uint8_t *buf = malloc(4096);
	ssize_t n;

	memset(v0, 0xa5, sizeof(v0));
	memset(v1, 0x5a, sizeof(v1));
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(snap_writer_begin(&w, fds[1], "/t/state", err, sizeof(err)), 0);
	ck_assert_int_eq(snap_writer_section(&w, SNAP_SEC_CONFIG, 0, 1, cfg, strlen(cfg)), 0);
	ck_assert_int_eq(snap_writer_section(&w, SNAP_SEC_VCPU, 0, 1, v0, sizeof(v0)), 0);
	ck_assert_int_eq(snap_writer_section(&w, SNAP_SEC_VCPU, 1, 1, v1, sizeof(v1)), 0);
	ck_assert_int_eq(snap_writer_end(&w), 0);
	close(fds[1]);
	n = read(fds[0], buf, 4096);
	ck_assert_int_gt(n, 0);
	close(fds[0]);
	*len = n;
	return buf;
}

static int parse(const uint8_t *buf, size_t len, struct snap_state *st)
{
	err[0] = 0;
	return snap_state_parse(buf, len, "/t/state", st, err, sizeof(err));
}

START_TEST(round_trip)
{
	struct snap_state st;
	const struct snap_section *s;
	size_t len;
	uint8_t *buf = make_file(&len);

	ck_assert_int_eq(parse(buf, len, &st), 0);
	ck_assert_uint_eq(st.major, SNAP_VERSION_MAJOR);
	ck_assert_uint_eq(st.nr, 3);
	s = snap_state_find(&st, SNAP_SEC_VCPU, 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->len, 7);
	ck_assert_uint_eq(s->data[6], 0x5a);
	ck_assert_ptr_null(snap_state_find(&st, SNAP_SEC_VCPU, 2));
	snap_state_free(&st);
	free(buf);
}
END_TEST

/* Every prefix of the file is refused, and a cut in a body names that section. */
START_TEST(truncated)
{
	struct snap_state st;
	size_t len;
	uint8_t *buf = make_file(&len);

	for (size_t n = 0; n < len; n++)
		ck_assert_int_eq(parse(buf, n, &st), -EINVAL);
	/* header 24, config head 12 + 18 bytes, vcpu[0] head 12, then its body */
	ck_assert_int_eq(parse(buf, 24 + 30 + 12 + 50, &st), -EINVAL);
	ck_assert_str_eq(err, "snapshot /t/state: truncated in section vcpu[0]");
	free(buf);
}
END_TEST

/* Any flipped bit is caught: by the framing's checks or by the CRC. */
START_TEST(corrupt)
{
	struct snap_state st;
	size_t len;
	uint8_t *buf = make_file(&len);

	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x10;
		ck_assert_int_eq(parse(buf, len, &st), -EINVAL);
		buf[i] ^= 0x10;
	}
	buf[24 + 12 + 3] ^= 1;	/* in the config's body: only the CRC can tell */
	ck_assert_int_eq(parse(buf, len, &st), -EINVAL);
	ck_assert_str_eq(err, "snapshot /t/state: CRC mismatch (the file is corrupt)");
	free(buf);
}
END_TEST

START_TEST(foreign_and_versions)
{
	struct snap_state st;
	size_t len;
	uint8_t *buf = make_file(&len);

	ck_assert_int_eq(parse((const uint8_t *)"ELF\x7f whatever it is, not ours", 30, &st),
			 -EINVAL);
	ck_assert_str_eq(err, "snapshot /t/state: not a petrel snapshot");
	buf[SNAP_MAGIC_LEN] = 2;	/* major 2 */
	ck_assert_int_eq(parse(buf, len, &st), -EINVAL);
	ck_assert_str_eq(err, "snapshot /t/state: version 2.0, this petrel reads 1.x");
	free(buf);
}
END_TEST

/* A length beyond the limit is refused before anything is allocated for it. */
START_TEST(huge_length)
{
	struct snap_state st;
	size_t len;
	uint8_t *buf = make_file(&len);

	memcpy(buf + 24 + 8, "\xff\xff\xff\xff", 4);	/* config section's length */
	ck_assert_int_eq(parse(buf, len, &st), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "section config[0]: length 4294967295 is beyond"));
	free(buf);
}
END_TEST

START_TEST(cursor_bounds)
{
	static const uint8_t data[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	struct snap_cursor c;
	struct snap_buf b;

	snap_cursor_init(&c, data, sizeof(data));
	ck_assert_uint_eq(snap_get_u64(&c), 0x0807060504030201ull);
	ck_assert_int_eq(snap_cursor_end(&c), -EINVAL);		/* one byte left over */
	ck_assert_uint_eq(snap_get_u16(&c), 0);		/* past the end: zero, and short */
	ck_assert_uint_eq(snap_cursor_left(&c), 0);
	ck_assert_int_eq(snap_cursor_end(&c), -EINVAL);
	snap_buf_init(&b);
	snap_put_u32(&b, 0xdeadbeef);
	snap_put_u8(&b, 7);
	snap_cursor_init(&c, b.data, b.len);
	ck_assert_uint_eq(snap_get_u32(&c), 0xdeadbeef);
	ck_assert_uint_eq(snap_get_u8(&c), 7);
	ck_assert_int_eq(snap_cursor_end(&c), 0);
	snap_buf_free(&b);
}
END_TEST

static Suite *snapshot_suite(void)
{
	Suite *s = suite_create("snapshot_state");
	TCase *tc = tcase_create("format");

	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, corrupt);
	tcase_add_test(tc, foreign_and_versions);
	tcase_add_test(tc, huge_length);
	tcase_add_test(tc, cursor_bounds);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(snapshot_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
