// SPDX-License-Identifier: Apache-2.0
/* Token buckets: refill, burst, requests larger than the bucket, no limit, the time until. */
#include <check.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>

#include <petrel/ratelimit.h>

#define MS	1000000ull
#define T0	(1000 * MS)	/* any start: the buckets only see differences */

static struct rl_bucket bucket(uint64_t size, uint64_t burst, uint64_t refill_ms)
{
	struct rl_bucket_config c = { true, size, burst, refill_ms };
	struct rl_bucket b;

	rl_bucket_init(&b, &c, T0);
	return b;
}

/* Take n at now if the bucket allows it; else the wait it gave. */
static bool take(struct rl_bucket *b, uint64_t n, uint64_t now, uint64_t *wait)
{
	uint64_t w = 0;
	bool ok = rl_bucket_ready(b, n, now, &w);

	if (ok)
		rl_bucket_take(b, n);
	if (wait)
		*wait = ok ? 0 : w;
	return ok;
}

START_TEST(starts_full_then_refills_at_its_rate)
{
	struct rl_bucket b = bucket(1000, 0, 100);	/* 1000 tokens per 100 ms */
	uint64_t wait;

	ck_assert(take(&b, 1000, T0, NULL));
	ck_assert(!take(&b, 1, T0, &wait));
	ck_assert_uint_eq(wait, 100000);		/* one token: 100 us */
	ck_assert_int_eq(rl_bucket_tokens(&b, T0 + 50 * MS), 500);
	ck_assert(!take(&b, 600, T0 + 50 * MS, &wait));
	ck_assert_uint_eq(wait, 10 * MS);		/* 100 more tokens */
	ck_assert(take(&b, 600, T0 + 60 * MS, NULL));
	/* Never more than full, however long it waited. */
	ck_assert_int_eq(rl_bucket_tokens(&b, T0 + 3600000 * MS), 1000);
}
END_TEST

START_TEST(no_fraction_of_a_token_is_lost)
{
	struct rl_bucket b = bucket(3, 0, 1000);	/* one token every 333.3 ms */

	ck_assert(take(&b, 3, T0, NULL));
	for (int i = 1; i <= 30; i++)
		rl_bucket_tokens(&b, T0 + (uint64_t)i * 100 * MS);	/* many small refills */
	ck_assert_int_eq(rl_bucket_tokens(&b, T0 + 3000 * MS), 3);
	ck_assert(take(&b, 3, T0 + 3000 * MS, NULL));
	ck_assert_int_eq(rl_bucket_tokens(&b, T0 + 3999 * MS), 2);
	ck_assert_int_eq(rl_bucket_tokens(&b, T0 + 4000 * MS), 3);
}
END_TEST

START_TEST(one_time_burst_first_and_never_again)
{
	struct rl_bucket b = bucket(100, 500, 1000);

	ck_assert_int_eq(rl_bucket_tokens(&b, T0), 600);
	ck_assert(take(&b, 450, T0, NULL));		/* from the burst: the bucket stays full */
	ck_assert(take(&b, 150, T0, NULL));		/* 50 of burst, 100 of bucket */
	ck_assert_int_eq(rl_bucket_tokens(&b, T0), 0);
	ck_assert_int_eq(rl_bucket_tokens(&b, T0 + 1000 * MS), 100);	/* no burst refilled */
	ck_assert_int_eq(rl_bucket_tokens(&b, T0 + 100000 * MS), 100);
}
END_TEST

START_TEST(larger_than_the_bucket_waits_for_full_then_owes)
{
	struct rl_bucket b = bucket(1000, 0, 1000);	/* 1000 tokens/s */
	uint64_t wait;

	ck_assert(take(&b, 1, T0, NULL));
	ck_assert(!take(&b, 5000, T0, &wait));		/* not full: wait until it is */
	ck_assert_uint_eq(wait, 1 * MS);
	ck_assert(take(&b, 5000, T0 + 1 * MS, NULL));	/* full: through, 4000 owed */
	ck_assert_int_eq(rl_bucket_tokens(&b, T0 + 1 * MS), -4000);
	ck_assert(!take(&b, 1, T0 + 1 * MS, &wait));
	ck_assert_uint_eq(wait, 4001 * MS);		/* the debt, then one token */
	ck_assert(take(&b, 1, T0 + 4002 * MS, NULL));
}
END_TEST

/*
 * A snapshot keeps what a bucket holds, a debt and a part-refilled token
 * included, and the time between save and restore refills nothing.
 */
START_TEST(state_survives_export_and_import)
{
	struct rl_bucket b = bucket(3, 10, 1000), c = bucket(3, 10, 1000);	/* 1 token / 333.3 ms */
	struct rl_bucket_state s;
	uint64_t later = T0 + 3600000 * MS;

	ck_assert(take(&b, 13, T0, NULL));			/* burst and bucket empty */
	ck_assert(!take(&b, 1, T0 + 100 * MS, NULL));		/* refilled 0.3 of a token */
	rl_bucket_export(&b, T0 + 150 * MS, &s);
	ck_assert_int_eq(s.tokens, 0);
	ck_assert_uint_eq(s.frac, 300 * MS);
	ck_assert_uint_eq(s.elapsed_ns, 50 * MS);
	ck_assert_uint_eq(s.burst, 0);
	ck_assert_ptr_null(rl_bucket_check(&c, &s));
	rl_bucket_import(&c, &s, later);
	/* As b was at the save: a token 333.3 ms after its last refill, 183.3 ms after the save. */
	ck_assert_int_eq(rl_bucket_tokens(&c, later + 183 * MS), 0);
	ck_assert_int_eq(rl_bucket_tokens(&c, later + 184 * MS), 1);

	/* A debt: floor division keeps the fraction positive. */
	b = bucket(1000, 0, 1000);
	ck_assert(take(&b, 5000, T0, NULL));			/* 4000 owed */
	rl_bucket_export(&b, T0 + MS / 2, &s);
	ck_assert_int_eq(s.tokens, -4000);
	ck_assert_uint_eq(s.frac, 0);
	rl_bucket_tokens(&b, T0 + MS / 2);			/* half a token refilled */
	rl_bucket_export(&b, T0 + MS / 2, &s);
	ck_assert_int_eq(s.tokens, -4000);
	ck_assert_uint_eq(s.frac, 1000 * MS / 2);
	c = bucket(1000, 0, 1000);
	ck_assert_ptr_null(rl_bucket_check(&c, &s));
	rl_bucket_import(&c, &s, later);
	/* -3999.5 tokens, counted toward zero; a whole token 4000.5 ms on. */
	ck_assert_int_eq(rl_bucket_tokens(&c, later), -3999);
	ck_assert_int_eq(rl_bucket_tokens(&c, later + 4000 * MS), 0);
	ck_assert_int_eq(rl_bucket_tokens(&c, later + 4000 * MS + MS / 2), 1);
}
END_TEST

/* A snapshot file is untrusted: a state that does not fit the configuration is refused. */
START_TEST(import_refuses_what_does_not_fit)
{
	struct rl_bucket b = bucket(1000, 100, 1000), none = bucket(0, 0, 0);
	struct rl_bucket_state good, s;

	rl_bucket_export(&b, T0, &good);
	ck_assert_ptr_null(rl_bucket_check(&b, &good));
	s = good;
	s.size = 999;
	ck_assert_ptr_nonnull(rl_bucket_check(&b, &s));
	s = good;
	s.refill_ns++;
	ck_assert_ptr_nonnull(rl_bucket_check(&b, &s));
	s = good;
	s.burst = 101;
	ck_assert_ptr_nonnull(rl_bucket_check(&b, &s));
	s = good;
	s.tokens = 1001;
	ck_assert_ptr_nonnull(rl_bucket_check(&b, &s));
	s = good;
	s.frac = 1;					/* full and a fraction more */
	ck_assert_ptr_nonnull(rl_bucket_check(&b, &s));
	s = good;
	s.tokens = 0;
	s.frac = 1000 * MS;				/* a whole token as a fraction */
	ck_assert_ptr_nonnull(rl_bucket_check(&b, &s));
	s = good;
	s.tokens = INT64_MIN;
	ck_assert_ptr_nonnull(rl_bucket_check(&b, &s));
	s.tokens = 1000 - (int64_t)RL_TOKENS_MAX;	/* the deepest debt one request leaves */
	ck_assert_ptr_null(rl_bucket_check(&b, &s));
	/* A bucket that does not limit takes only an empty state. */
	rl_bucket_export(&none, T0, &s);
	ck_assert_ptr_null(rl_bucket_check(&none, &s));
	ck_assert_ptr_nonnull(rl_bucket_check(&none, &good));
	s.tokens = 5;
	ck_assert_ptr_nonnull(rl_bucket_check(&none, &s));
}
END_TEST

START_TEST(zero_size_or_refill_is_no_limit)
{
	struct rl_bucket a = bucket(0, 10, 1000), b = bucket(1000, 0, 0);
	struct rl_config none = { 0 };
	struct ratelimit rl;
	uint64_t wait;

	ck_assert(!rl_bucket_limits(&a));
	ck_assert(!rl_bucket_limits(&b));
	ck_assert(take(&a, RL_TOKENS_MAX, T0, NULL));
	ck_assert(take(&b, RL_TOKENS_MAX, T0, NULL));
	ck_assert_int_eq(ratelimit_init(&rl, &none), 0);
	ck_assert(!ratelimit_limits(&rl));
	ck_assert(ratelimit_consume_at(&rl, 1ull << 40, 1ull << 40, T0, &wait));
	ck_assert(ratelimit_consume(&rl, 1ull << 40, 1));
	ratelimit_destroy(&rl);
}
END_TEST

/* Both buckets or neither: a refusal by one takes nothing from the other. */
START_TEST(limiter_takes_both_or_neither)
{
	struct rl_config c = {
		.present = true,
		.bandwidth = { true, 1000, 0, 1000 },
		.ops = { true, 2, 0, 1000 },
	};
	struct ratelimit rl;
	uint64_t wait;

	ck_assert_int_eq(ratelimit_init(&rl, &c), 0);
	ck_assert(ratelimit_consume_at(&rl, 100, 1, T0, &wait));
	ck_assert(ratelimit_consume_at(&rl, 100, 1, T0, &wait));
	ck_assert(!ratelimit_consume_at(&rl, 100, 1, T0, &wait));	/* out of ops */
	ck_assert_uint_eq(wait, 500 * MS);
	ck_assert_int_eq(rl_bucket_tokens(&rl.bw, T0), 800);		/* bytes untouched */
	ck_assert(!ratelimit_consume_at(&rl, 900, 0, T0, &wait));	/* out of bytes */
	ck_assert_uint_eq(wait, 100 * MS);
	ratelimit_destroy(&rl);
}
END_TEST

/* Refused now, the timer fires when the tokens are there; an update replaces the buckets. */
START_TEST(timer_fires_when_tokens_are_there)
{
	struct rl_config c = { .present = true, .bandwidth = { true, 1000, 0, 200 } };
	struct rl_config faster = { .present = true, .bandwidth = { true, 1000000, 0, 20 } };
	struct ratelimit rl;
	struct pollfd pfd;

	ck_assert_int_eq(ratelimit_init(&rl, &c), 0);
	ck_assert(ratelimit_consume(&rl, 1000, 1));
	ck_assert(!ratelimit_consume(&rl, 500, 1));
	ck_assert(rl.blocked);
	ck_assert(!ratelimit_consume(&rl, 1, 1));		/* blocked until the timer */
	pfd = (struct pollfd){ .fd = rl.timer_fd, .events = POLLIN };
	ck_assert_int_eq(poll(&pfd, 1, 5000), 1);		/* 100 ms; 5 s: "does not hang" */
	ratelimit_timer_done(&rl);
	ck_assert(ratelimit_consume(&rl, 500, 1));
	ck_assert(!ratelimit_consume(&rl, 1000, 1));
	ck_assert(ratelimit_update(&rl, &faster));		/* was blocked: try again */
	ck_assert(ratelimit_consume(&rl, 500000, 1));
	ck_assert_int_eq(poll(&pfd, 1, 50), 0);			/* the old timer was disarmed */
	ratelimit_destroy(&rl);
}
END_TEST

/* An update replaces only the buckets it gives. */
START_TEST(update_keeps_buckets_not_given)
{
	struct rl_config c = {
		.present = true, .bandwidth = { true, 1000, 0, 1000 }, .ops = { true, 10, 0, 1000 },
	};
	struct rl_config ops_off = { .present = true, .ops = { true, 0, 0, 0 } };
	struct ratelimit rl;

	ck_assert_int_eq(ratelimit_init(&rl, &c), 0);
	ck_assert(!ratelimit_update(&rl, &ops_off));
	ck_assert(rl_bucket_limits(&rl.bw));
	ck_assert(!rl_bucket_limits(&rl.ops));
	ratelimit_destroy(&rl);
}
END_TEST

static Suite *ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("buckets");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, starts_full_then_refills_at_its_rate);
	tcase_add_test(tc, no_fraction_of_a_token_is_lost);
	tcase_add_test(tc, one_time_burst_first_and_never_again);
	tcase_add_test(tc, larger_than_the_bucket_waits_for_full_then_owes);
	tcase_add_test(tc, state_survives_export_and_import);
	tcase_add_test(tc, import_refuses_what_does_not_fit);
	tcase_add_test(tc, zero_size_or_refill_is_no_limit);
	tcase_add_test(tc, limiter_takes_both_or_neither);
	tcase_add_test(tc, timer_fires_when_tokens_are_there);
	tcase_add_test(tc, update_keeps_buckets_not_given);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ratelimit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
