// SPDX-License-Identifier: Apache-2.0
/* The log line: its time, and what happens when the line cannot be written. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <petrel/log.h>
#include <petrel/metrics.h>

#include "log_capture.h"

/* The first line in the capture file, read through fd (opened beforehand). */
static void first_line(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	if (strchr(buf, '\n'))
		*strchr(buf, '\n') = '\0';
}

/* A thread on which any open kills the process logs its first line. */
static void *log_under_filter(void *arg)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(openat), 0), 0);
	ck_assert_int_eq(seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(open), 0), 0);
	ck_assert_int_eq(seccomp_load(ctx), 0);
	seccomp_release(ctx);
	pr_info("first line");
	return NULL;
}

/*
 * No file is opened to write a line, whichever thread logs first under its
 * filter (the others, sanitizers' included, stay free to open files).
 */
START_TEST(time_needs_no_file)
{
	char buf[512];
	pthread_t th;
	regex_t re;
	int fd;

	setenv("TZ", "America/New_York", 1);	/* would be read by a time zone lookup */
	log_capture_start();
	fd = open(log_capture_path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pthread_create(&th, NULL, log_under_filter, NULL), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	first_line(fd, buf, sizeof(buf));
	ck_assert_int_eq(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
				 "\\.[0-9]{9}Z \\[anonymous-instance:[^]]+\\] first line$",
				 REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(!regexec(&re, buf, 0, NULL, 0), "line: %s", buf);
	regfree(&re);
	close(fd);
	log_capture_stop();
}
END_TEST

/* The time is UTC, today's date (checked against the C library, now that it may). */
START_TEST(time_is_utc)
{
	char buf[512], want[32];
	struct tm tm;
	struct timespec before, after;
	int fd;

	log_capture_start();
	fd = open(log_capture_path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	/* Not time(): its coarse clock may lag the one the log reads by a tick. */
	clock_gettime(CLOCK_REALTIME, &before);
	pr_info("now");
	clock_gettime(CLOCK_REALTIME, &after);
	first_line(fd, buf, sizeof(buf));
	gmtime_r(&before.tv_sec, &tm);
	strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
	if (strncmp(buf, want, strlen(want))) {
		gmtime_r(&after.tv_sec, &tm);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
	}
	ck_assert_msg(!strncmp(buf, want, strlen(want)), "line %s, expected %s", buf, want);
	close(fd);
	log_capture_stop();
}
END_TEST

/* A reader that went away: the line is lost and counted, the caller goes on. */
START_TEST(reader_gone_counts)
{
	uint64_t missed = metrics_get(M_LOGGER_MISSED_LOG_COUNT);
	char dir[] = "/tmp/petrel-test-XXXXXX", fifo[64];
	int rd;

	signal(SIGPIPE, SIG_IGN);	/* as petrel's main() does */
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/log", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(rd, 0);
	ck_assert_int_eq(log_set_path(fifo), 0);
	pr_info("read");
	ck_assert_uint_eq(metrics_get(M_LOGGER_MISSED_LOG_COUNT), missed);
	close(rd);
	pr_info("lost");
	pr_warn("lost too");
	ck_assert_uint_eq(metrics_get(M_LOGGER_MISSED_LOG_COUNT), missed + 2);
	log_set_path(NULL);
	unlink(fifo);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, time_needs_no_file);
	tcase_add_test(tc, time_is_utc);
	tcase_add_test(tc, reader_gone_counts);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
