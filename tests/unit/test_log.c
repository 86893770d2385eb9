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

/*
 * A FIFO nobody reads yet is taken (as Firecracker opens it); once full, a
 * line is lost and counted and the caller goes on; a reader that comes
 * later gets what fitted, then new lines.
 */
START_TEST(full_fifo_counts)
{
	uint64_t missed = metrics_get(M_LOGGER_MISSED_LOG_COUNT);
	char dir[] = "/tmp/petrel-test-XXXXXX", fifo[64], junk[4096] = { 0 };
	static char buf[1 << 20];
	int rd, wr;
	ssize_t n;

	signal(SIGPIPE, SIG_IGN);	/* as petrel's main() does */
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/log", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_int_eq(log_set_path(fifo), 0);
	pr_info("waits in the FIFO");
	ck_assert_uint_eq(metrics_get(M_LOGGER_MISSED_LOG_COUNT), missed);
	wr = open(fifo, O_WRONLY | O_NONBLOCK);
	ck_assert_int_ge(wr, 0);
	while (write(wr, junk, sizeof(junk)) > 0)
		;
	pr_info("lost");
	pr_warn("lost too");
	ck_assert_uint_eq(metrics_get(M_LOGGER_MISSED_LOG_COUNT), missed + 2);
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(rd, 0);
	n = read(rd, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert(strstr(buf, "] waits in the FIFO\n"));
	while (read(rd, buf, sizeof(buf)) > 0)
		;
	pr_info("after the reader came");
	n = read(rd, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert(strstr(buf, "] after the reader came\n"));
	log_set_path(NULL);
	close(wr);
	close(rd);
	unlink(fifo);
	rmdir(dir);
}
END_TEST

/* The module filter: a prefix of where a line comes from; "" lets all through. */
START_TEST(module_filter)
{
	char buf[4096];
	ssize_t n;
	int fd;

	log_capture_start();
	fd = open(log_capture_path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	log_msg(LOG_INFO, "/x/src/virtio/blk.c", 1, "from blk");
	log_set_module("virtio");
	log_msg(LOG_INFO, "/x/src/virtio/net.c", 2, "from net");
	log_msg(LOG_INFO, "/x/src/api/server.c", 3, "from the api");
	log_msg(LOG_INFO, "/x/virtio/elsewhere.c", 4, "not beneath src");
	log_set_module("virtio/blk");
	log_msg(LOG_INFO, "/x/src/virtio/net.c", 5, "from net again");
	log_msg(LOG_INFO, "/x/src/virtio/blk.c", 6, "from blk again");
	log_set_module("");
	log_msg(LOG_INFO, "/x/src/api/server.c", 7, "from the api again");
	log_set_show(false, true);
	log_msg(LOG_INFO, "/x/src/vmm/vmm.c", 8, "with its origin");
	log_set_show(false, false);
	log_set_module(NULL);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert(strstr(buf, "] from blk\n"));
	ck_assert(strstr(buf, "] from net\n"));
	ck_assert(!strstr(buf, "from the api\n"));
	ck_assert(!strstr(buf, "not beneath src"));
	ck_assert(!strstr(buf, "from net again"));
	ck_assert(strstr(buf, "] from blk again\n"));
	ck_assert(strstr(buf, "] from the api again\n"));
	ck_assert_msg(strstr(buf, ":vmm/vmm.c:8] with its origin\n"), "%s", buf);
	/* This test runs on the main thread, the vmm thread's place in petrel. */
	ck_assert_msg(strstr(buf, " [anonymous-instance:main] from blk\n"), "%s", buf);
	close(fd);
	log_capture_stop();
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
	tcase_add_test(tc, full_fifo_counts);
	tcase_add_test(tc, module_filter);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
