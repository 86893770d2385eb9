// SPDX-License-Identifier: Apache-2.0
/* Files a user names: opened without blocking, refused by kind, FIFOs read to their end. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <petrel/util.h>

static char dir[64], fifo[96];

static void setup(void)
{
	strcpy(dir, "/tmp/petrel-test-util-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
}

static void teardown(void)
{
	unlink(fifo);
	rmdir(dir);
}

/* A child writes len bytes of 'x' into the FIFO (after a moment, so the reader waits). */
static pid_t feed(size_t len)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (!pid) {
		char buf[4096];
		int fd;

		usleep(100000);
		fd = open(fifo, O_WRONLY);
		memset(buf, 'x', sizeof(buf));
		while (fd >= 0 && len) {
			ssize_t n = write(fd, buf, len < sizeof(buf) ? len : sizeof(buf));

			if (n <= 0)
				break;
			len -= n;
		}
		_exit(0);
	}
	return pid;
}

/* The open returns at once (no writer), and says what the file is. */
START_TEST(fifo_refused_where_a_file_is_needed)
{
	char err[256];
	uint8_t *data;
	size_t size;

	ck_assert_int_eq(util_read_file(fifo, 1024, UTIL_FILE_REG, &data, &size, err,
					sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, fifo) && strstr(err, "is a FIFO, not a regular file"), "%s", err);
	ck_assert_int_eq(util_open_file(dir, O_RDONLY, UTIL_FILE_REG | UTIL_FILE_BLK, err,
					sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "is a directory, not a regular file or a block device"),
		      "%s", err);
}
END_TEST

START_TEST(fifo_without_reader)
{
	char err[256];

	ck_assert_int_eq(util_open_file(fifo, O_WRONLY, UTIL_FILE_REG | UTIL_FILE_FIFO, err,
					sizeof(err)), -ENXIO);
	ck_assert_msg(strstr(err, fifo) && strstr(err, "a FIFO with no reader"), "%s", err);
	ck_assert_int_eq(util_open_file(fifo, O_WRONLY, UTIL_FILE_REG, err, sizeof(err)),
			 -ENXIO);
	ck_assert_msg(strstr(err, "is a FIFO, not a regular file"), "%s", err);
}
END_TEST

/* As bash's <(...): the writer comes late and writes more than a pipe holds. */
START_TEST(fifo_read_to_its_end)
{
	char err[256];
	uint8_t *data = NULL;
	size_t size = 0;
	pid_t pid = feed(200000);
	int status;

	ck_assert_int_eq(util_read_file(fifo, 200000, UTIL_FILE_REG | UTIL_FILE_FIFO, &data,
					&size, err, sizeof(err)), 0);
	ck_assert_uint_eq(size, 200000);
	ck_assert(data[0] == 'x' && data[size - 1] == 'x');
	free(data);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}
END_TEST

START_TEST(fifo_too_large)
{
	char err[256];
	uint8_t *data = NULL;
	size_t size = 0;
	pid_t pid = feed(5000);

	ck_assert_int_eq(util_read_file(fifo, 4999, UTIL_FILE_REG | UTIL_FILE_FIFO, &data,
					&size, err, sizeof(err)), -EFBIG);
	ck_assert_msg(strstr(err, "larger than the 4999 byte limit"), "%s", err);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
END_TEST

/* A kept file blocks again as asked: O_NONBLOCK was only for the open. */
START_TEST(nonblock_only_for_the_open)
{
	char err[256], path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/file", dir);
	fd = util_open_file(path, O_WRONLY | O_CREAT, UTIL_FILE_REG, err, sizeof(err));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	close(fd);
	fd = util_open_file(path, O_RDONLY | O_NONBLOCK, UTIL_FILE_REG, err, sizeof(err));
	ck_assert_int_ne(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	unlink(path);
}
END_TEST

static const struct util_flag flags[] = {
	{ "api-sock", "PATH", "serve the API here" },
	{ "no-api", NULL, "serve no API" },
	{ "a-rather-long-flag-name-here", "VALUE", "still one line" },
};

START_TEST(flags_to_getopt)
{
	struct option opts[ARRAY_SIZE(flags) + 1];
	char *argv[] = { "petrel", "--no-api", "--api-sock", "/s", "--a-rather-long-flag-name-here=v",
			 NULL };
	int c, seen = 0;

	memset(opts, 0xff, sizeof(opts));
	util_flags_options(flags, ARRAY_SIZE(flags), 300, opts);
	ck_assert_int_eq(opts[0].has_arg, required_argument);
	ck_assert_int_eq(opts[1].has_arg, no_argument);
	ck_assert_ptr_null(opts[3].name);
	optind = 0;
	while ((c = getopt_long(5, argv, "", opts, NULL)) != -1) {
		ck_assert_int_eq(c, 300 + (seen == 0 ? 1 : seen == 1 ? 0 : 2));
		if (c == 300)
			ck_assert_str_eq(optarg, "/s");
		seen++;
	}
	ck_assert_int_eq(seen, 3);
}
END_TEST

START_TEST(flags_usage_one_line_each)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	util_flags_usage(f, flags, ARRAY_SIZE(flags));
	fclose(f);
	ck_assert_str_eq(text,
		"  --api-sock PATH                     serve the API here\n"
		"  --no-api                            serve no API\n"
		"  --a-rather-long-flag-name-here VALUE still one line\n");
	free(text);
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("files");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, fifo_refused_where_a_file_is_needed);
	tcase_add_test(tc, fifo_without_reader);
	tcase_add_test(tc, fifo_read_to_its_end);
	tcase_add_test(tc, fifo_too_large);
	tcase_add_test(tc, nonblock_only_for_the_open);
	tcase_add_test(tc, flags_to_getopt);
	tcase_add_test(tc, flags_usage_one_line_each);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(util_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
