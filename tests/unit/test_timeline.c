// SPDX-License-Identifier: Apache-2.0
/* The boot timeline: first mark wins, InstanceStart gates the VM's phases, what metrics show. */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/metrics.h>
#include <petrel/timeline.h>
#include <petrel/util.h>

static void reset(void)
{
	timeline_clear_from(BOOT_PROCESS_START);
}

START_TEST(first_mark_wins)
{
	reset();
	timeline_mark_at(BOOT_PROCESS_START, 1000);
	timeline_mark_at(BOOT_PROCESS_START, 2000);
	ck_assert_uint_eq(timeline_get(BOOT_PROCESS_START), 1000);
	timeline_mark(BOOT_API_SOCKET_READY);
	ck_assert_uint_ge(timeline_get(BOOT_API_SOCKET_READY), 1000);
	ck_assert_uint_le(timeline_get(BOOT_API_SOCKET_READY), util_now_us());
}
END_TEST

/* A restore marks no InstanceStart: its memory, its KVM_RUN are no boot's. */
START_TEST(vm_phases_need_instance_start)
{
	reset();
	timeline_mark_at(BOOT_PROCESS_START, 1000);
	timeline_mark_at(BOOT_MEMORY_MAPPED, 1500);
	timeline_mark(BOOT_FIRST_KVM_RUN);
	ck_assert_uint_eq(timeline_get(BOOT_MEMORY_MAPPED), 0);
	ck_assert_uint_eq(timeline_get(BOOT_FIRST_KVM_RUN), 0);
	timeline_mark_at(BOOT_INSTANCE_START, 1400);
	timeline_mark_at(BOOT_MEMORY_MAPPED, 1500);
	ck_assert_uint_eq(timeline_get(BOOT_MEMORY_MAPPED), 1500);
}
END_TEST

/* A failed InstanceStart forgets its phases; the next try records its own. */
START_TEST(clear_from_a_failed_start)
{
	reset();
	timeline_mark_at(BOOT_PROCESS_START, 1000);
	timeline_mark_at(BOOT_API_SOCKET_READY, 1100);
	timeline_mark_at(BOOT_INSTANCE_START, 1200);
	timeline_mark_at(BOOT_MEMORY_MAPPED, 1300);
	timeline_clear_from(BOOT_INSTANCE_START);
	ck_assert_uint_eq(timeline_get(BOOT_API_SOCKET_READY), 1100);
	ck_assert_uint_eq(timeline_get(BOOT_INSTANCE_START), 0);
	ck_assert_uint_eq(timeline_get(BOOT_MEMORY_MAPPED), 0);
	timeline_mark_at(BOOT_INSTANCE_START, 5000);
	timeline_mark_at(BOOT_MEMORY_MAPPED, 5100);
	ck_assert_uint_eq(timeline_get(BOOT_MEMORY_MAPPED), 5100);
}
END_TEST

static void mark_all(void)
{
	reset();
	timeline_mark_at(BOOT_PROCESS_START, 1000);
	timeline_mark_at(BOOT_API_SOCKET_READY, 1800);
	timeline_mark_at(BOOT_INSTANCE_START, 3000);
	timeline_mark_at(BOOT_KERNEL_LOADED, 3250);
}

START_TEST(format_names_both_bases)
{
	char text[512];

	mark_all();
	timeline_format(text, sizeof(text));
	ck_assert_str_eq(text, "process_start 0, api_socket_ready 800, instance_start 2000 (0), "
			 "kernel_loaded 2250 (250)");
	/* Cut short, still a string. */
	timeline_format(text, 20);
	ck_assert_uint_eq(strlen(text), 19);
}
END_TEST

START_TEST(json_has_phases_reached)
{
	json_t *root = json_object(), *tl, *start, *since_is;

	mark_all();
	ck_assert_int_eq(timeline_json(root), 0);
	tl = json_object_get(root, "boot_timeline");
	start = json_object_get(tl, "since_start_us");
	since_is = json_object_get(tl, "since_instance_start_us");
	ck_assert_int_eq(json_integer_value(json_object_get(start, "api_socket_ready")), 800);
	ck_assert_int_eq(json_integer_value(json_object_get(start, "kernel_loaded")), 2250);
	ck_assert_int_eq(json_integer_value(json_object_get(since_is, "kernel_loaded")), 250);
	/* Before InstanceStart: not in the second; not reached: in neither. */
	ck_assert_ptr_null(json_object_get(since_is, "api_socket_ready"));
	ck_assert_ptr_null(json_object_get(start, "boot_timer"));
	json_decref(root);
}
END_TEST

START_TEST(prometheus_gauges)
{
	char *text;

	mark_all();
	text = metrics_prometheus();
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "# TYPE petrel_boot_timeline_since_start_us gauge\n"));
	ck_assert_ptr_nonnull(strstr(text,
		"petrel_boot_timeline_since_start_us{phase=\"kernel_loaded\"} 2250\n"));
	ck_assert_ptr_nonnull(strstr(text,
		"petrel_boot_timeline_since_instance_start_us{phase=\"kernel_loaded\"} 250\n"));
	ck_assert_ptr_null(strstr(text, "phase=\"boot_timer\""));
	free(text);
}
END_TEST

static void *mark_run(void *arg)
{
	timeline_mark(BOOT_FIRST_KVM_RUN);
	return arg;
}

/* Every vCPU marks its first KVM_RUN: one time stays, taken by one of them. */
START_TEST(racing_threads)
{
	pthread_t th[8];
	uint64_t before;

	reset();
	timeline_mark(BOOT_PROCESS_START);
	timeline_mark(BOOT_INSTANCE_START);
	before = util_now_us();
	for (size_t i = 0; i < ARRAY_SIZE(th); i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, mark_run, NULL), 0);
	for (size_t i = 0; i < ARRAY_SIZE(th); i++)
		pthread_join(th[i], NULL);
	ck_assert_uint_ge(timeline_get(BOOT_FIRST_KVM_RUN), before);
	ck_assert_uint_le(timeline_get(BOOT_FIRST_KVM_RUN), util_now_us());
}
END_TEST

static Suite *timeline_suite(void)
{
	Suite *s = suite_create("timeline");
	TCase *tc = tcase_create("timeline");

	tcase_add_test(tc, first_mark_wins);
	tcase_add_test(tc, vm_phases_need_instance_start);
	tcase_add_test(tc, clear_from_a_failed_start);
	tcase_add_test(tc, format_names_both_bases);
	tcase_add_test(tc, json_has_phases_reached);
	tcase_add_test(tc, prometheus_gauges);
	tcase_add_test(tc, racing_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(timeline_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
