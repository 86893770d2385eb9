// SPDX-License-Identifier: Apache-2.0
/*
 * The "balloon" section: PUT /balloon, the config file's "balloon", and the
 * two PATCHes that change it (the target, the statistics interval). Each
 * fills a copy and commits it only when valid, as the other sections do.
 */
#include <errno.h>
#include <string.h>

#include "config_priv.h"

/* Firecracker keeps the interval in 16 bits. */
#define STATS_INTERVAL_MAX	65535u
/* A target beyond any machine-config.mem_size_mib is refused by the check below. */
#define AMOUNT_MAX		(1024u * 1024)

static const char *const balloon_keys[] = {
	"amount_mib", "deflate_on_oom", "stats_polling_interval_s", "free_page_hinting",
	"free_page_reporting", NULL
};

/* The balloon can hold at most the guest's memory. */
int config_balloon_check(struct ctx *c, const struct vm_config *cfg)
{
	const struct balloon_config *b = &cfg->balloon;

	if (b->present && b->amount_mib > cfg->machine.mem_size_mib)
		return config_fail(c, "amount_mib", "%u MiB is more than the guest's memory "
				   "(machine-config.mem_size_mib %u)", b->amount_mib,
				   cfg->machine.mem_size_mib);
	return 0;
}

int config_balloon_section(struct ctx *c, struct vm_config *cfg, json_t *obj)
{
	struct vm_config tmp = *cfg;	/* only tmp.balloon is written */
	struct balloon_config *b = &tmp.balloon;
	int ret;

	memset(b, 0, sizeof(*b));
	ret = config_check_object(c, obj, balloon_keys) ?:
	      config_require(c, obj, "amount_mib") ?:
	      config_require(c, obj, "deflate_on_oom") ?:
	      config_get_uint(c, obj, "amount_mib", 0, AMOUNT_MAX, &b->amount_mib) ?:
	      config_get_bool(c, obj, "deflate_on_oom", 0, &b->deflate_on_oom) ?:
	      config_get_uint(c, obj, "stats_polling_interval_s", 0, STATS_INTERVAL_MAX,
			      &b->stats_polling_interval_s) ?:
	      config_get_bool(c, obj, "free_page_hinting", 0, &b->free_page_hinting) ?:
	      config_get_bool(c, obj, "free_page_reporting", 0, &b->free_page_reporting);
	b->present = true;
	ret = ret ?: config_balloon_check(c, &tmp);
	if (!ret)
		cfg->balloon = *b;
	return ret;
}

static int not_configured(struct ctx *c)
{
	return config_fail(c, NULL, "no balloon device is configured (PUT /balloon first)");
}

/* One required integer field, the only one the body may have. */
static int patch_field(struct ctx *c, json_t *obj, const char *name, unsigned int max,
		       unsigned int *out)
{
	const char *const keys[] = { name, NULL };

	return config_check_object(c, obj, keys) ?: config_require(c, obj, name) ?:
	       config_get_uint(c, obj, name, 0, max, out);
}

int config_balloon_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen, .where = "balloon" };

	return config_balloon_section(&c, cfg, obj);
}

int config_balloon_patch(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen, .where = "balloon" };
	struct vm_config tmp = *cfg;
	int ret;

	if (!cfg->balloon.present)
		return not_configured(&c);
	ret = patch_field(&c, obj, "amount_mib", AMOUNT_MAX, &tmp.balloon.amount_mib) ?:
	      config_balloon_check(&c, &tmp);
	if (!ret)
		cfg->balloon = tmp.balloon;
	return ret;
}

int config_balloon_stats_patch(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen, .where = "balloon/statistics" };
	unsigned int secs = cfg->balloon.stats_polling_interval_s;
	int ret;

	if (!cfg->balloon.present)
		return not_configured(&c);
	ret = patch_field(&c, obj, "stats_polling_interval_s", STATS_INTERVAL_MAX, &secs);
	if (!ret)
		cfg->balloon.stats_polling_interval_s = secs;
	return ret;
}

json_t *config_balloon_to_json(const struct balloon_config *b)
{
	return json_pack("{s:i, s:b, s:i, s:b, s:b}",
			 "amount_mib", (int)b->amount_mib,
			 "deflate_on_oom", b->deflate_on_oom,
			 "stats_polling_interval_s", (int)b->stats_polling_interval_s,
			 "free_page_hinting", b->free_page_hinting,
			 "free_page_reporting", b->free_page_reporting);
}
