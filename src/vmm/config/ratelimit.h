/* SPDX-License-Identifier: Apache-2.0 */
/* Rate limiters in the configuration (private to src/vmm): shared by drives, nets, entropy, serial. */
#ifndef PETREL_CONFIG_RATELIMIT_H
#define PETREL_CONFIG_RATELIMIT_H

#include <jansson.h>
#include <stddef.h>

#include <petrel/ratelimit.h>

/*
 * A RateLimiter ({"bandwidth", "ops"}) or a TokenBucket ({"size",
 * "one_time_burst", "refill_time"}) at where (e.g. "drives[0].rate_limiter");
 * null is absent. -EINVAL with err naming the field ("<where>.bandwidth.size:
 * ..."), *out unchanged, on anything else.
 */
int config_rate_limiter_parse(json_t *v, const char *where, struct rl_config *out, char *err,
			      size_t errlen);
int config_token_bucket_parse(json_t *v, const char *where, struct rl_bucket_config *out,
			      char *err, size_t errlen);
/* Back to JSON as given; NULL when absent (json_pack's "o*" then leaves the key out). */
json_t *config_rate_limiter_json(const struct rl_config *rl);
json_t *config_token_bucket_json(const struct rl_bucket_config *b);

#endif
