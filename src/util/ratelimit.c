// SPDX-License-Identifier: Apache-2.0
/*
 * Token buckets. A bucket's budget is kept in tokens times refill_ns, so
 * that a refill of elapsed ns adds exactly elapsed * size and no fraction
 * of a token is ever lost to rounding, however slow the rate.
 */
#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <petrel/ratelimit.h>
#include <petrel/util.h>

#define NS_PER_MS	1000000ull

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static __int128 full(const struct rl_bucket *b)
{
	return (__int128)b->size * b->refill_ns;
}

void rl_bucket_init(struct rl_bucket *b, const struct rl_bucket_config *c, uint64_t now)
{
	memset(b, 0, sizeof(*b));
	if (!c || !c->size || !c->refill_time)
		return;		/* no limit, as Firecracker */
	b->size = c->size;
	b->refill_ns = MIN(c->refill_time, RL_REFILL_TIME_MAX) * NS_PER_MS;
	b->burst = c->one_time_burst;
	b->budget = full(b);
	b->last_ns = now;
}

/* The constant rate: size tokens per refill_ns, up to full. */
static void refill(struct rl_bucket *b, uint64_t now)
{
	uint64_t elapsed = now > b->last_ns ? now - b->last_ns : 0;
	__int128 missing = full(b) - b->budget;

	b->last_ns = MAX(now, b->last_ns);
	if (missing <= 0)
		return;
	/* Compared first: elapsed * size could exceed what the budget holds. */
	if ((__int128)elapsed >= (missing + b->size - 1) / b->size)
		b->budget = full(b);
	else
		b->budget += (__int128)elapsed * b->size;
}

/* What n tokens beyond the burst cost: a request larger than the bucket needs it full. */
static __int128 need(const struct rl_bucket *b, uint64_t n)
{
	uint64_t rest = n > b->burst ? n - b->burst : 0;

	return rest > b->size ? full(b) : (__int128)rest * b->refill_ns;
}

bool rl_bucket_ready(struct rl_bucket *b, uint64_t n, uint64_t now, uint64_t *wait_ns)
{
	__int128 short_by;

	if (!b->size)
		return true;
	refill(b, now);
	short_by = need(b, MIN(n, RL_TOKENS_MAX)) - b->budget;
	if (short_by <= 0)
		return true;
	*wait_ns = (uint64_t)((short_by + b->size - 1) / b->size);
	return false;
}

void rl_bucket_take(struct rl_bucket *b, uint64_t n)
{
	uint64_t from_burst;

	if (!b->size)
		return;
	n = MIN(n, RL_TOKENS_MAX);
	from_burst = MIN(n, b->burst);
	b->burst -= from_burst;
	b->budget -= (__int128)(n - from_burst) * b->refill_ns;
}

int64_t rl_bucket_tokens(struct rl_bucket *b, uint64_t now)
{
	if (!b->size)
		return INT64_MAX;
	refill(b, now);
	return (int64_t)b->burst + (int64_t)(b->budget / b->refill_ns);
}

int ratelimit_init(struct ratelimit *rl, const struct rl_config *cfg)
{
	uint64_t now = now_ns();

	rl_bucket_init(&rl->bw, cfg ? &cfg->bandwidth : NULL, now);
	rl_bucket_init(&rl->ops, cfg ? &cfg->ops : NULL, now);
	rl->blocked = false;
	rl->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	return rl->timer_fd < 0 ? -errno : 0;
}

void ratelimit_destroy(struct ratelimit *rl)
{
	if (rl->timer_fd >= 0)
		close(rl->timer_fd);
	rl->timer_fd = -1;
}

static int arm(struct ratelimit *rl, uint64_t ns)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull },
	};

	if (rl->timer_fd < 0)
		return -EBADF;
	return timerfd_settime(rl->timer_fd, 0, &its, NULL) ? -errno : 0;
}

bool ratelimit_update(struct ratelimit *rl, const struct rl_config *cfg)
{
	uint64_t now = now_ns();
	bool was_blocked = rl->blocked;

	if (cfg->bandwidth.present)
		rl_bucket_init(&rl->bw, &cfg->bandwidth, now);
	if (cfg->ops.present)
		rl_bucket_init(&rl->ops, &cfg->ops, now);
	if (was_blocked)
		arm(rl, 0);	/* disarmed: the owner tries again now */
	rl->blocked = false;
	return was_blocked;
}

bool ratelimit_consume_at(struct ratelimit *rl, uint64_t bytes, uint64_t ops, uint64_t now,
			  uint64_t *wait_ns)
{
	uint64_t wait_bw = 0, wait_ops = 0;
	bool ok_bw = rl_bucket_ready(&rl->bw, bytes, now, &wait_bw);
	bool ok_ops = rl_bucket_ready(&rl->ops, ops, now, &wait_ops);

	if (!ok_bw || !ok_ops) {
		*wait_ns = MAX(wait_bw, wait_ops);
		return false;
	}
	rl_bucket_take(&rl->bw, bytes);
	rl_bucket_take(&rl->ops, ops);
	return true;
}

bool ratelimit_consume(struct ratelimit *rl, uint64_t bytes, uint64_t ops)
{
	uint64_t wait;

	if (!ratelimit_limits(rl))
		return true;
	if (rl->blocked)
		return false;
	if (ratelimit_consume_at(rl, bytes, ops, now_ns(), &wait))
		return true;
	if (arm(rl, wait))
		return true;
	rl->blocked = true;
	return false;
}

void ratelimit_timer_done(struct ratelimit *rl)
{
	uint64_t expirations;

	if (read(rl->timer_fd, &expirations, sizeof(expirations)) < 0) {
		/* EAGAIN: already read; the timer is not armed either way. */
	}
	rl->blocked = false;
}

void rl_bucket_export(const struct rl_bucket *b, uint64_t now, struct rl_bucket_state *s)
{
	__int128 tokens, frac;

	memset(s, 0, sizeof(*s));
	if (!b->size)
		return;
	/* Floor division: a debt of half a token is -1 token and half a token refilled. */
	tokens = b->budget / b->refill_ns;
	frac = b->budget % b->refill_ns;
	if (frac < 0) {
		tokens--;
		frac += b->refill_ns;
	}
	s->size = b->size;
	s->refill_ns = b->refill_ns;
	s->burst = b->burst;
	s->tokens = (int64_t)tokens;
	s->frac = (uint64_t)frac;
	s->elapsed_ns = now > b->last_ns ? now - b->last_ns : 0;
}

const char *rl_bucket_check(const struct rl_bucket *b, const struct rl_bucket_state *s)
{
	if (s->size != b->size || s->refill_ns != b->refill_ns)
		return "a rate limiter bucket's size or refill_time differs from the configuration";
	if (!b->size)
		return s->burst || s->tokens || s->frac || s->elapsed_ns ?
			"tokens for a bucket that does not limit" : NULL;
	if (s->burst > b->burst)
		return "a rate limiter bucket's one_time_burst left exceeds the configuration";
	/* A debt is at most one request of RL_TOKENS_MAX that found the bucket full. */
	if (s->tokens > (int64_t)s->size || s->tokens < (int64_t)s->size - (int64_t)RL_TOKENS_MAX ||
	    (s->tokens == (int64_t)s->size && s->frac) || s->frac >= s->refill_ns)
		return "a rate limiter bucket's tokens are out of range";
	return NULL;
}

void rl_bucket_import(struct rl_bucket *b, const struct rl_bucket_state *s, uint64_t now)
{
	if (!b->size)
		return;
	b->burst = s->burst;
	b->budget = (__int128)s->tokens * b->refill_ns + s->frac;
	b->last_ns = now > s->elapsed_ns ? now - s->elapsed_ns : 0;
}

void ratelimit_export(const struct ratelimit *rl, struct rl_bucket_state s[2])
{
	uint64_t now = now_ns();

	rl_bucket_export(&rl->bw, now, &s[0]);
	rl_bucket_export(&rl->ops, now, &s[1]);
}

void ratelimit_import(struct ratelimit *rl, const struct rl_bucket_state s[2])
{
	uint64_t now = now_ns();

	rl_bucket_import(&rl->bw, &s[0], now);
	rl_bucket_import(&rl->ops, &s[1], now);
}
