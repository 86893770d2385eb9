// SPDX-License-Identifier: Apache-2.0
/*
 * The vmm thread's waits on a vCPU are bounded: a vCPU thread stuck in a
 * host call (here, a thread blocked in read() that ignores the kick) makes
 * pause and stop fail in bounded time instead of hanging the caller.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <petrel/util.h>

#include "../../src/vcpu/vcpu_priv.h"

static int release[2];

/* Never parks: blocked until the test writes a byte, the kick signal blocked. */
static void *stuck_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	char c;

	if (read(release[0], &c, 1) < 0)
		return NULL;
	pthread_mutex_lock(&vcpu->lock);
	vcpu->exited = true;
	pthread_cond_broadcast(&vcpu->cond);
	pthread_mutex_unlock(&vcpu->lock);
	return NULL;
}

static struct vcpu *stuck_vcpu(void)
{
	static struct vcpu_env env = { .run_size = sizeof(struct kvm_run) };
	struct vcpu *vcpu = calloc(1, sizeof(*vcpu));
	sigset_t set, old;

	ck_assert_int_eq(pipe(release), 0);
	vcpu->env = &env;
	vcpu->run = calloc(1, sizeof(*vcpu->run));
	pthread_mutex_init(&vcpu->lock, NULL);
	pthread_cond_init(&vcpu->cond, NULL);
	sigemptyset(&set);
	sigaddset(&set, vcpu_signal());
	pthread_sigmask(SIG_BLOCK, &set, &old);
	ck_assert_int_eq(pthread_create(&vcpu->thread, NULL, stuck_thread, vcpu), 0);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	vcpu->started = true;
	return vcpu;
}

static void unstick(struct vcpu *vcpu)
{
	ck_assert_int_eq(write(release[1], "x", 1), 1);
	pthread_join(vcpu->thread, NULL);
	close(release[0]);
	close(release[1]);
	free(vcpu->run);
	free(vcpu);
}

START_TEST(pause_is_bounded)
{
	struct vcpu *vcpu = stuck_vcpu();
	uint64_t start = util_now_us(), took;

	ck_assert_int_eq(vcpu_pause(vcpu), -ETIMEDOUT);
	took = util_now_us() - start;
	ck_assert_uint_ge(took, VCPU_PAUSE_TIMEOUT_MS * 1000ull);
	ck_assert_uint_lt(took, VCPU_PAUSE_TIMEOUT_MS * 1000ull + 2000000);	/* no hang */
	ck_assert(atomic_load(&vcpu->pause));
	vcpu_resume(vcpu);		/* what the vmm does: the vCPU runs on */
	ck_assert(!atomic_load(&vcpu->pause));
	ck_assert_int_eq(vcpu->run->immediate_exit, 1);	/* it was kicked */
	unstick(vcpu);
}
END_TEST

START_TEST(stop_is_bounded)
{
	struct vcpu *vcpu = stuck_vcpu();
	uint64_t start = util_now_us(), took;

	ck_assert_int_eq(vcpu_stop(vcpu), -ETIMEDOUT);
	took = util_now_us() - start;
	ck_assert_uint_ge(took, VCPU_STOP_TIMEOUT_MS * 1000ull);
	ck_assert_uint_lt(took, VCPU_STOP_TIMEOUT_MS * 1000ull + 2000000);	/* no hang */
	ck_assert(vcpu->started);	/* not joined: the caller must not free it */
	unstick(vcpu);
}
END_TEST

/* A thread that has ended is neither waited for nor reported. */
START_TEST(ended_thread_answers_at_once)
{
	struct vcpu *vcpu = stuck_vcpu();

	ck_assert_int_eq(write(release[1], "x", 1), 1);
	pthread_mutex_lock(&vcpu->lock);
	while (!vcpu->exited)
		pthread_cond_wait(&vcpu->cond, &vcpu->lock);
	pthread_mutex_unlock(&vcpu->lock);
	ck_assert_int_eq(vcpu_pause(vcpu), 0);
	ck_assert_int_eq(vcpu_stop(vcpu), 0);
	ck_assert(!vcpu->started);
	close(release[0]);
	close(release[1]);
	free(vcpu->run);
	free(vcpu);
}
END_TEST

static Suite *vcpu_suite(void)
{
	Suite *s = suite_create("vcpu");
	TCase *tc = tcase_create("waits");

	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, pause_is_bounded);
	tcase_add_test(tc, stop_is_bounded);
	tcase_add_test(tc, ended_thread_answers_at_once);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(vcpu_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
