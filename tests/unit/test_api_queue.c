// SPDX-License-Identifier: Apache-2.0
/* The queue between the api and vmm threads: order, the eventfds, shutdown. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>

#include <petrel/api.h>

#define N 64

static struct api_queue *q;
static struct api_request reqs[N];

static void setup(void)
{
	ck_assert_int_eq(api_queue_create(&q), 0);
	for (int i = 0; i < N; i++)
		reqs[i] = (struct api_request){ .op = API_GET_INFO, .status = i };
}

static void teardown(void)
{
	api_queue_destroy(q);
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

START_TEST(test_fifo)
{
	ck_assert(!readable(api_queue_todo_fd(q)));
	ck_assert_ptr_null(api_queue_take(q));
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(api_queue_push(q, &reqs[i]), 0);
	/* Readable until the last one is taken: one per wakeup is enough. */
	for (int i = 0; i < 3; i++) {
		ck_assert(readable(api_queue_todo_fd(q)));
		ck_assert_ptr_eq(api_queue_take(q), &reqs[i]);
	}
	ck_assert(!readable(api_queue_todo_fd(q)));
	ck_assert_ptr_null(api_queue_take(q));
}
END_TEST

START_TEST(test_answers)
{
	ck_assert(!readable(api_queue_done_fd(q)));
	ck_assert_ptr_null(api_queue_answered(q));
	api_queue_complete(q, &reqs[1]);
	api_queue_complete(q, &reqs[0]);
	ck_assert(readable(api_queue_done_fd(q)));
	ck_assert_ptr_eq(api_queue_answered(q), &reqs[1]);
	ck_assert(readable(api_queue_done_fd(q)));
	ck_assert_ptr_eq(api_queue_answered(q), &reqs[0]);
	ck_assert(!readable(api_queue_done_fd(q)));
	ck_assert_ptr_null(api_queue_answered(q));
}
END_TEST

START_TEST(test_close)
{
	struct api_request *left;

	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(api_queue_push(q, &reqs[i]), 0);
	ck_assert_ptr_eq(api_queue_take(q), &reqs[0]);
	left = api_queue_close(q);
	/* The three never taken come back in order, and nothing more goes in. */
	for (int i = 1; i < 4; i++, left = left->next)
		ck_assert_ptr_eq(left, &reqs[i]);
	ck_assert_ptr_null(left);
	ck_assert(!readable(api_queue_todo_fd(q)));
	ck_assert_int_eq(api_queue_push(q, &reqs[4]), -ESHUTDOWN);
	ck_assert_ptr_null(api_queue_take(q));
	/* The one being applied still comes back. */
	api_queue_complete(q, &reqs[0]);
	ck_assert_ptr_eq(api_queue_answered(q), &reqs[0]);
}
END_TEST

/* The vmm side: wait on the todo fd, apply one request per wakeup. */
static void *vmm(void *arg)
{
	struct pollfd p = { .fd = api_queue_todo_fd(q), .events = POLLIN };
	struct api_request *req;

	for (int n = 0; n < N; n++) {
		while (!(req = api_queue_take(q)))
			ck_assert_int_eq(poll(&p, 1, 5000), 1);
		req->status = 200 + n;	/* the order it was applied in */
		api_queue_complete(q, req);
	}
	return NULL;
}

START_TEST(test_threads)
{
	struct pollfd p = { .fd = api_queue_done_fd(q), .events = POLLIN };
	struct api_request *req;
	pthread_t t;
	int got = 0;

	ck_assert_int_eq(pthread_create(&t, NULL, vmm, NULL), 0);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(api_queue_push(q, &reqs[i]), 0);
	while (got < N) {
		ck_assert_int_eq(poll(&p, 1, 5000), 1);
		while ((req = api_queue_answered(q))) {
			ck_assert_ptr_eq(req, &reqs[got]);
			ck_assert_int_eq(req->status, 200 + got);
			got++;
		}
	}
	pthread_join(t, NULL);
	ck_assert(!readable(api_queue_todo_fd(q)));
	ck_assert(!readable(api_queue_done_fd(q)));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api_queue");
	TCase *tc = tcase_create("queue");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fifo);
	tcase_add_test(tc, test_answers);
	tcase_add_test(tc, test_close);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
