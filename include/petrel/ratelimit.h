/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_RATELIMIT_H
#define PETREL_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Token buckets, as Firecracker's: a bucket holds up to size tokens (bytes
 * or operations), starts full, and refills from empty to full in
 * refill_time ms, at a constant rate; one_time_burst tokens are spent first
 * and never come back. A bucket with size 0 or refill_time 0 is no limit.
 *
 * A request larger than the bucket is let through once the bucket is full,
 * and leaves it in debt: nothing else passes until the refill has paid for
 * the excess, so the long-run rate is the configured one whatever the
 * request sizes, and every request makes progress.
 */

/* refill_time is in ms; larger values than this are refused by the config. */
#define RL_REFILL_TIME_MAX	0xffffffffull	/* ~49 days */
/* The most tokens one request may ask for at once (4 GiB of block I/O fits). */
#define RL_TOKENS_MAX		(1ull << 48)

struct rl_bucket_config {
	bool present;			/* given in the config (even with zeros) */
	uint64_t size;
	uint64_t one_time_burst;
	uint64_t refill_time;		/* ms */
};

struct rl_config {
	bool present;			/* a rate_limiter object was given */
	struct rl_bucket_config bandwidth;	/* bytes */
	struct rl_bucket_config ops;		/* requests */
};

struct rl_bucket {
	uint64_t size;			/* 0: no limit */
	uint64_t refill_ns;
	uint64_t burst;			/* one_time_burst left */
	__int128 budget;		/* tokens * refill_ns; below 0: debt */
	uint64_t last_ns;		/* when budget was last refilled */
};

/* A bucket from its config, full at now_ns. */
void rl_bucket_init(struct rl_bucket *b, const struct rl_bucket_config *c, uint64_t now_ns);
static inline bool rl_bucket_limits(const struct rl_bucket *b)
{
	return b->size != 0;
}
/*
 * Whether n tokens may be taken at now_ns; if not, *wait_ns is the time
 * until they may (at least 1). Changes nothing but the refill.
 */
bool rl_bucket_ready(struct rl_bucket *b, uint64_t n, uint64_t now_ns, uint64_t *wait_ns);
/* Take n tokens that rl_bucket_ready() allowed at the same now_ns. */
void rl_bucket_take(struct rl_bucket *b, uint64_t n);
/* Tokens available now (burst included), for tests and metrics; negative in debt. */
int64_t rl_bucket_tokens(struct rl_bucket *b, uint64_t now_ns);

/*
 * A device's limiter: a bandwidth and an ops bucket, and a timerfd that
 * fires when the tokens a refused request needs are there. The owner
 * watches timer_fd for EPOLLIN and calls ratelimit_timer_done() then.
 */
struct ratelimit {
	struct rl_bucket bw, ops;
	int timer_fd;			/* made by init, before the sandbox; -1 if it could not be */
	bool blocked;			/* the timer is armed: refuse until it fires */
};

/* Buckets from cfg (NULL: no limit), and the timer: 0 or -errno (no timer, never refuses). */
int ratelimit_init(struct ratelimit *rl, const struct rl_config *cfg);
void ratelimit_destroy(struct ratelimit *rl);
/*
 * Replace the buckets cfg gives (present), full; the others are kept.
 * True if requests were refused until now: the owner tries them again.
 */
bool ratelimit_update(struct ratelimit *rl, const struct rl_config *cfg);
static inline bool ratelimit_limits(const struct ratelimit *rl)
{
	return rl_bucket_limits(&rl->bw) || rl_bucket_limits(&rl->ops);
}
/*
 * Both buckets at once, or neither: true when bytes and ops were taken at
 * now_ns; else *wait_ns is when to try again. For tests: no timer.
 */
bool ratelimit_consume_at(struct ratelimit *rl, uint64_t bytes, uint64_t ops, uint64_t now_ns,
			  uint64_t *wait_ns);
/*
 * The same now, from the device's thread: false (at once while blocked)
 * when refused, with the timer armed for the moment the tokens are there.
 * Without a timer that can be armed the request goes through: a limiter
 * never stalls a device for good.
 */
bool ratelimit_consume(struct ratelimit *rl, uint64_t bytes, uint64_t ops);
/* The timer fired: acknowledge it; requests may be tried again. */
void ratelimit_timer_done(struct ratelimit *rl);

/*
 * A bucket as a snapshot keeps it (as Firecracker does): its shape, the
 * one-time burst left, the tokens left (below 0: debt) and the fraction of
 * a token already refilled (0 <= frac < refill_ns), and how long before the
 * save it last refilled. The time between a save and a restore refills
 * nothing.
 */
struct rl_bucket_state {
	uint64_t size, refill_ns, burst;
	int64_t tokens;
	uint64_t frac, elapsed_ns;
};

void rl_bucket_export(const struct rl_bucket *b, uint64_t now_ns, struct rl_bucket_state *s);
/*
 * Whether s can be put in b: the same size and refill time as b's
 * configuration, no more burst than it gives, tokens and fraction in range.
 * NULL, or what is wrong.
 */
const char *rl_bucket_check(const struct rl_bucket *b, const struct rl_bucket_state *s);
/* Put a checked s in b, as of now_ns. */
void rl_bucket_import(struct rl_bucket *b, const struct rl_bucket_state *s, uint64_t now_ns);
/* Both buckets, at the monotonic clock's now. */
void ratelimit_export(const struct ratelimit *rl, struct rl_bucket_state s[2]);
void ratelimit_import(struct ratelimit *rl, const struct rl_bucket_state s[2]);

#endif
