// SPDX-License-Identifier: Apache-2.0
/* RateLimiter and TokenBucket objects, as Firecracker's API has them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <petrel/util.h>

#include "ratelimit.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool known(const char *key, const char *const *keys)
{
	for (; *keys; keys++) {
		if (!strcmp(key, *keys))
			return true;
	}
	return false;
}

static int check_keys(json_t *v, const char *where, const char *const *keys, char *err,
		      size_t errlen)
{
	const char *key;
	json_t *m;

	if (!json_is_object(v))
		return fail(err, errlen, "%s: expected an object", where);
	json_object_foreach(v, key, m) {
		if (!known(key, keys))
			return fail(err, errlen, "%s: unknown field \"%s\"", where, key);
	}
	return 0;
}

static const char *kind(const json_t *v)
{
	if (json_is_string(v))
		return "a string";
	if (json_is_real(v))
		return "a number with a fraction";
	if (json_is_boolean(v))
		return "a boolean";
	return json_is_array(v) ? "an array" : "an object";
}

/* A non-negative integer up to max; absent (or null) keeps *out unless required. */
static int get_count(json_t *obj, const char *where, const char *name, bool required,
		     uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, name);
	json_int_t x;

	if (!v || json_is_null(v))
		return required ? fail(err, errlen, "%s: missing required field \"%s\"", where,
				       name) : 0;
	if (!json_is_integer(v))
		return fail(err, errlen, "%s.%s: expected an integer 0..%llu, got %s", where, name,
			    (unsigned long long)max, kind(v));
	x = json_integer_value(v);
	if (x < 0 || (uint64_t)x > max)
		return fail(err, errlen, "%s.%s: expected an integer 0..%llu, got %lld", where,
			    name, (unsigned long long)max, (long long)x);
	*out = (uint64_t)x;
	return 0;
}

int config_token_bucket_parse(json_t *v, const char *where, struct rl_bucket_config *out,
			      char *err, size_t errlen)
{
	static const char *const keys[] = { "size", "one_time_burst", "refill_time", NULL };
	struct rl_bucket_config b = { .present = true };
	int ret;

	if (!v || json_is_null(v)) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	ret = check_keys(v, where, keys, err, errlen) ?:
	      get_count(v, where, "size", true, INT64_MAX, &b.size, err, errlen) ?:
	      get_count(v, where, "one_time_burst", false, INT64_MAX, &b.one_time_burst, err,
			errlen) ?:
	      get_count(v, where, "refill_time", true, RL_REFILL_TIME_MAX, &b.refill_time, err,
			errlen);
	if (!ret)
		*out = b;
	return ret;
}

int config_rate_limiter_parse(json_t *v, const char *where, struct rl_config *out, char *err,
			      size_t errlen)
{
	static const char *const keys[] = { "bandwidth", "ops", NULL };
	struct rl_config rl = { .present = true };
	char sub[256];
	int ret;

	if (!v || json_is_null(v)) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	ret = check_keys(v, where, keys, err, errlen);
	if (ret)
		return ret;
	snprintf(sub, sizeof(sub), "%s.bandwidth", where);
	ret = config_token_bucket_parse(json_object_get(v, "bandwidth"), sub, &rl.bandwidth, err,
					errlen);
	snprintf(sub, sizeof(sub), "%s.ops", where);
	ret = ret ?: config_token_bucket_parse(json_object_get(v, "ops"), sub, &rl.ops, err,
					       errlen);
	if (!ret)
		*out = rl;
	return ret;
}

json_t *config_token_bucket_json(const struct rl_bucket_config *b)
{
	if (!b->present)
		return NULL;
	return json_pack("{s:I, s:I, s:I}", "size", (json_int_t)b->size,
			 "one_time_burst", (json_int_t)b->one_time_burst,
			 "refill_time", (json_int_t)b->refill_time);
}

json_t *config_rate_limiter_json(const struct rl_config *rl)
{
	if (!rl->present)
		return NULL;
	return json_pack("{s:o*, s:o*}", "bandwidth", config_token_bucket_json(&rl->bandwidth),
			 "ops", config_token_bucket_json(&rl->ops));
}
