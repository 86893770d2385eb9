// SPDX-License-Identifier: Apache-2.0
/* Metrics: the JSON lines a user reads from metrics_path, and GET /metrics' text. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <petrel/metrics.h>
#include <petrel/util.h>

/* A device's counters as the virtio devices keep them. */
struct dev_counters {
	uint64_t requests;
	uint64_t bytes_read;
};

static const struct metrics_field dev_fields[] = {
	{ "requests", offsetof(struct dev_counters, requests) },
	{ "bytes_read", offsetof(struct dev_counters, bytes_read) },
};
static const struct metrics_schema block_schema = {
	"block", "drive", dev_fields, ARRAY_SIZE(dev_fields),
};
static const struct metrics_schema entropy_schema = {
	"entropy", NULL, dev_fields, ARRAY_SIZE(dev_fields),
};

static char path[64];

static void use_tmp_file(void)
{
	char err[256];
	int fd;

	strcpy(path, "/tmp/petrel-test-metrics-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(metrics_set_path(path, err, sizeof(err)), 0);
}

/* Line n (from 0) of the metrics file, parsed; fails the test if absent or not JSON. */
static json_t *line(unsigned int n)
{
	char buf[16384];
	FILE *f = fopen(path, "r");
	json_error_t jerr;
	json_t *j;

	ck_assert_ptr_nonnull(f);
	for (unsigned int i = 0; i <= n; i++)
		ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert(strchr(buf, '\n'));
	j = json_loads(buf, 0, &jerr);
	ck_assert_msg(j, "line %u is not JSON: %s", n, jerr.text);
	return j;
}

static off_t file_size(const char *p)
{
	struct stat st;

	ck_assert_int_eq(stat(p, &st), 0);
	return st.st_size;
}

static long long field(json_t *j, const char *group, const char *name)
{
	json_t *v = json_object_get(json_object_get(j, group), name);

	ck_assert_msg(json_is_integer(v), "%s.%s missing", group, name);
	return json_integer_value(v);
}

START_TEST(counters_are_deltas)
{
	json_t *a, *b;

	use_tmp_file();
	metrics_add(M_VCPU_EXIT_IO_IN, 3);
	metrics_inc(M_VCPU_EXIT_MMIO_WRITE);
	ck_assert_int_eq(metrics_flush(), 0);
	metrics_add(M_VCPU_EXIT_IO_IN, 2);
	ck_assert_int_eq(metrics_flush(), 0);
	a = line(0);
	b = line(1);
	ck_assert_int_eq(field(a, "vcpu", "exit_io_in"), 3);
	ck_assert_int_eq(field(a, "vcpu", "exit_mmio_write"), 1);
	ck_assert_int_eq(field(b, "vcpu", "exit_io_in"), 2);
	ck_assert_int_eq(field(b, "vcpu", "exit_mmio_write"), 0);
	/* Absolute values are still there for GET /metrics. */
	ck_assert_uint_eq(metrics_get(M_VCPU_EXIT_IO_IN), 5);
	json_decref(a);
	json_decref(b);
	unlink(path);
}
END_TEST

START_TEST(gauges_are_values)
{
	json_t *a, *b;

	use_tmp_file();
	metrics_set(M_API_PROCESS_STARTUP_TIME_US, 4200);
	metrics_flush();
	metrics_flush();
	a = line(0);
	b = line(1);
	ck_assert_int_eq(field(a, "api_server", "process_startup_time_us"), 4200);
	ck_assert_int_eq(field(b, "api_server", "process_startup_time_us"), 4200);
	json_decref(a);
	json_decref(b);
	unlink(path);
}
END_TEST

/* Every fixed metric appears once, in the groups Firecracker's users read. */
START_TEST(line_has_groups)
{
	static const char *const groups[] = {
		"api_server", "get_api_requests", "put_api_requests", "patch_api_requests",
		"latencies_us", "logger", "seccomp", "signals", "uart", "vcpu", "vmm",
	};
	/* Besides them, petrel's boot_timeline (tests/unit/test_timeline.c). */
	const size_t nr_extra = 1;
	size_t nr_fields = 0;
	long long now_ms = time(NULL) * 1000LL;
	json_t *j;

	use_tmp_file();
	metrics_flush();
	j = line(0);
	ck_assert_int_ge(json_integer_value(json_object_get(j, "utc_timestamp_ms")), now_ms);
	ck_assert_int_lt(json_integer_value(json_object_get(j, "utc_timestamp_ms")),
			 now_ms + 60000);
	for (size_t i = 0; i < ARRAY_SIZE(groups); i++) {
		ck_assert_msg(json_is_object(json_object_get(j, groups[i])), "no %s", groups[i]);
		nr_fields += json_object_size(json_object_get(j, groups[i]));
	}
	ck_assert_uint_eq(json_object_size(j), ARRAY_SIZE(groups) + nr_extra + 1);
	ck_assert(json_is_object(json_object_get(j, "boot_timeline")));
	ck_assert_uint_eq(nr_fields, M_NR_METRICS);
	ck_assert_int_eq(field(j, "seccomp", "num_faults"), 0);
	ck_assert_int_eq(field(j, "signals", "sigsegv"), 0);
	json_decref(j);
	unlink(path);
}
END_TEST

START_TEST(device_source)
{
	struct dev_counters root = { .requests = 7 }, rng = { 0 };
	json_t *a, *b, *c;

	use_tmp_file();
	ck_assert_int_eq(metrics_source_add(&block_schema, "rootfs", &root), 0);
	ck_assert_int_eq(metrics_source_add(&entropy_schema, NULL, &rng), 0);
	ck_assert_int_eq(metrics_source_add(&block_schema, "again", &root), -EEXIST);
	/* What was counted before registration is not reported. */
	root.requests += 2;
	root.bytes_read += 4096;
	rng.requests = 1;
	metrics_flush();
	root.requests++;
	metrics_flush();
	metrics_source_remove(&root);
	metrics_source_remove(&root);
	metrics_flush();
	a = line(0);
	b = line(1);
	c = line(2);
	ck_assert_int_eq(field(a, "block_rootfs", "requests"), 2);
	ck_assert_int_eq(field(a, "block_rootfs", "bytes_read"), 4096);
	ck_assert_int_eq(field(a, "entropy", "requests"), 1);
	ck_assert_int_eq(field(b, "block_rootfs", "requests"), 1);
	ck_assert_int_eq(field(b, "block_rootfs", "bytes_read"), 0);
	ck_assert_ptr_null(json_object_get(c, "block_rootfs"));
	ck_assert_ptr_nonnull(json_object_get(c, "entropy"));
	json_decref(a);
	json_decref(b);
	json_decref(c);
	unlink(path);
}
END_TEST

START_TEST(no_path_no_line)
{
	metrics_inc(M_VCPU_FAILURES);
	ck_assert_int_eq(metrics_flush(), 0);
	ck_assert_uint_eq(metrics_get(M_LOGGER_MISSED_METRICS_COUNT), 0);
}
END_TEST

static char fifo_dir[64], fifo[80];

static void make_fifo(void)
{
	strcpy(fifo_dir, "/tmp/petrel-test-metrics-fifo-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fifo_dir));
	snprintf(fifo, sizeof(fifo), "%s/m", fifo_dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
}

static void remove_fifo(void)
{
	unlink(fifo);
	rmdir(fifo_dir);
}

/* Taken with no reader yet, as Firecracker: a reader that comes later gets the line. */
START_TEST(fifo_without_reader)
{
	char err[256] = "", buf[65536];
	ssize_t n;
	int rd;

	make_fifo();
	ck_assert_int_eq(metrics_set_path(fifo, err, sizeof(err)), 0);
	metrics_add(M_VCPU_EXIT_IO_IN, 3);
	ck_assert_int_eq(metrics_flush(), 0);
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(rd, 0);
	n = read(rd, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_msg(strstr(buf, "\"exit_io_in\":3"), "%s", buf);
	close(rd);
	ck_assert_int_eq(metrics_set_path("/nonexistent/dir/m", err, sizeof(err)), -ENOENT);
	ck_assert(strstr(err, "/nonexistent/dir/m"));
	remove_fifo();
}
END_TEST

/* emit_id and properties: top-level fields of every line, right after the time. */
START_TEST(id_and_properties)
{
	char err[256], buf[65536];
	json_t *props = json_pack("{s:s, s:s}", "bundle_id", "fn-abc", "customer_id", "1234");
	ssize_t n;
	int rd;

	make_fifo();
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_eq(metrics_set_path(fifo, err, sizeof(err)), 0);
	ck_assert_int_eq(metrics_set_fields("vm-7", props), 0);
	json_decref(props);
	ck_assert_int_eq(metrics_flush(), 0);
	metrics_flush_signal_safe(M_SECCOMP_NUM_FAULTS);
	ck_assert_int_eq(metrics_set_fields(NULL, NULL), 0);
	ck_assert_int_eq(metrics_flush(), 0);
	n = read(rd, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_msg(strstr(buf, ",\"id\":\"vm-7\",\"properties\":{\"bundle_id\":\"fn-abc\","
			      "\"customer_id\":\"1234\"},\"api_server\":"), "%s", buf);
	ck_assert_msg(strstr(buf, ",\"id\":\"vm-7\",\"properties\":{\"bundle_id\":\"fn-abc\","
			      "\"customer_id\":\"1234\"},\"seccomp\":"), "%s", buf);
	/* The last line has neither. */
	buf[n - 1] = '\0';
	ck_assert_ptr_nonnull(strrchr(buf, '\n'));
	ck_assert_msg(!strstr(strrchr(buf, '\n'), "\"id\""), "%s", buf);
	close(rd);
	remove_fifo();
}
END_TEST

/* A reader that never reads: lines are lost and counted, the flusher never waits. */
START_TEST(full_fifo_loses_lines)
{
	char err[256], junk[4096] = { 0 }, buf[65536];
	int rd, wr, writes = 0;
	uint64_t t0;

	make_fifo();
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(rd, 0);
	ck_assert_int_eq(metrics_set_path(fifo, err, sizeof(err)), 0);
	wr = open(fifo, O_WRONLY | O_NONBLOCK);
	while (write(wr, junk, sizeof(junk)) > 0)
		writes++;
	ck_assert_int_eq(errno, EAGAIN);
	metrics_add(M_VCPU_EXIT_IO_OUT, 5);
	t0 = util_now_us();
	ck_assert_int_eq(metrics_flush(), -EAGAIN);
	ck_assert_int_eq(metrics_flush(), -EAGAIN);
	ck_assert_uint_lt(util_now_us() - t0, 1000000);
	ck_assert_uint_eq(metrics_get(M_LOGGER_MISSED_METRICS_COUNT), 2);
	/* Once drained, the next line carries what the lost ones did not report. */
	while (read(rd, buf, sizeof(buf)) > 0)
		;
	ck_assert_int_eq(metrics_flush(), 0);
	ck_assert_int_gt(read(rd, buf, sizeof(buf) - 1), 0);
	ck_assert(strstr(buf, "\"exit_io_out\":5"));
	ck_assert(strstr(buf, "\"missed_metrics_count\":2"));
	close(wr);
	close(rd);
	remove_fifo();
}
END_TEST

/* A line longer than PIPE_BUF goes into a FIFO whole or not at all. */
START_TEST(long_line_never_split)
{
	char err[256], id[16];
	static struct dev_counters devs[100];
	static char junk[65536], buf[65536];
	int rd, wr, size;
	ssize_t n, got = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(devs); i++) {
		snprintf(id, sizeof(id), "d%u", i);
		ck_assert_int_eq(metrics_source_add(&block_schema, id, &devs[i]), 0);
	}
	make_fifo();
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_eq(metrics_set_path(fifo, err, sizeof(err)), 0);
	wr = open(fifo, O_WRONLY | O_NONBLOCK);
	size = fcntl(wr, F_GETPIPE_SZ);
	ck_assert_int_gt(size, 4096);
	/* Leave one free page: part of the line would fit. */
	ck_assert_int_eq(write(wr, junk, size - 4096), size - 4096);
	ck_assert_int_eq(metrics_flush(), -EAGAIN);
	ck_assert_uint_eq(metrics_get(M_LOGGER_MISSED_METRICS_COUNT), 1);
	while ((n = read(rd, buf, sizeof(buf))) > 0)
		got += n;
	ck_assert_int_eq(got, size - 4096);	/* nothing but the junk */
	ck_assert_int_eq(metrics_flush(), 0);
	n = read(rd, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, PIPE_BUF);
	ck_assert_int_eq(buf[n - 1], '\n');
	close(wr);
	close(rd);
	remove_fifo();
}
END_TEST

START_TEST(prometheus_text)
{
	struct dev_counters root = { 0 }, data = { 0 }, rng = { 0 };
	char *text;

	metrics_add(M_VCPU_EXIT_IO_IN, 123);
	metrics_set(M_API_PROCESS_STARTUP_TIME_US, 9);
	metrics_source_add(&block_schema, "rootfs", &root);
	metrics_source_add(&entropy_schema, NULL, &rng);
	metrics_source_add(&block_schema, "da\"ta", &data);
	root.bytes_read = 4096;
	data.bytes_read = 512;
	rng.requests = 3;
	text = metrics_prometheus();
	ck_assert_ptr_nonnull(text);
	ck_assert(strstr(text, "# TYPE petrel_vcpu_exit_io_in counter\n"
			       "petrel_vcpu_exit_io_in 123\n"));
	ck_assert(strstr(text, "# TYPE petrel_api_server_process_startup_time_us gauge\n"
			       "petrel_api_server_process_startup_time_us 9\n"));
	ck_assert(strstr(text, "# TYPE petrel_block_bytes_read counter\n"
			       "petrel_block_bytes_read{drive=\"rootfs\"} 4096\n"
			       "petrel_block_bytes_read{drive=\"da\\\"ta\"} 512\n"));
	ck_assert(strstr(text, "petrel_entropy_requests 3\n"));
	/* One TYPE line per metric name. */
	ck_assert_ptr_eq(strstr(strstr(text, "# TYPE petrel_block_requests ") + 1,
				"# TYPE petrel_block_requests "), NULL);
	ck_assert_int_eq(text[strlen(text) - 1], '\n');
	free(text);
	metrics_source_remove(&root);
	metrics_source_remove(&data);
	metrics_source_remove(&rng);
}
END_TEST

START_TEST(timer_armed_by_path)
{
	struct itimerspec its;
	int fd = metrics_timer_fd();

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(metrics_timer_fd(), fd);
	ck_assert_int_eq(timerfd_gettime(fd, &its), 0);
	ck_assert_int_eq(its.it_interval.tv_sec, 0);	/* no path: nothing to flush */
	use_tmp_file();
	ck_assert_int_eq(timerfd_gettime(fd, &its), 0);
	ck_assert_int_eq(its.it_interval.tv_sec, METRICS_FLUSH_INTERVAL_S);
	ck_assert_int_gt(its.it_value.tv_sec, 0);
	metrics_on_timer();	/* not expired: no line, no waiting */
	ck_assert_int_eq(file_size(path), 0);
	its.it_value.tv_sec = 0;
	its.it_value.tv_nsec = 1000;
	ck_assert_int_eq(timerfd_settime(fd, 0, &its, NULL), 0);
	usleep(10000);
	metrics_on_timer();
	json_decref(line(0));
	metrics_close();
	unlink(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, counters_are_deltas);
	tcase_add_test(tc, gauges_are_values);
	tcase_add_test(tc, line_has_groups);
	tcase_add_test(tc, device_source);
	tcase_add_test(tc, no_path_no_line);
	tcase_add_test(tc, fifo_without_reader);
	tcase_add_test(tc, id_and_properties);
	tcase_add_test(tc, full_fifo_loses_lines);
	tcase_add_test(tc, long_line_never_split);
	tcase_add_test(tc, prometheus_text);
	tcase_add_test(tc, timer_armed_by_path);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
