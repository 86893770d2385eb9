/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the section parsers under src/vmm/config/ share with config.c: where
 * the parser stands (for the message) and the field getters. Each getter
 * returns 0 or -EINVAL with "<where>.<field>: ..." written to the error.
 */
#ifndef PETREL_CONFIG_PRIV_H
#define PETREL_CONFIG_PRIV_H

#include <petrel/config.h>

/* Where a parser stands in the document, for the error message. */
struct ctx {
	char *err;
	size_t errlen;
	const char *where;	/* "machine-config", "drives[1]"; "" at the top */
};

typedef int (*parse_fn)(struct ctx *c, struct vm_config *cfg, json_t *obj);

/* Write "<where>.<field>: <message>" and return -EINVAL. */
int config_fail(struct ctx *c, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The value must be an object whose keys are all in known (NULL-terminated). */
int config_check_object(struct ctx *c, json_t *obj, const char *const *known);
int config_require(struct ctx *c, json_t *obj, const char *name);
/* A boolean field; *out keeps its value when absent. */
int config_get_bool(struct ctx *c, json_t *obj, const char *name, unsigned int flags,
		    bool *out);
/* An integer field in min..max; *out keeps its value when absent. */
int config_get_uint(struct ctx *c, json_t *obj, const char *name, unsigned int min,
		    unsigned int max, unsigned int *out);

/* balloon.c: the "balloon" section and its checks against the machine. */
int config_balloon_section(struct ctx *c, struct vm_config *cfg, json_t *obj);
int config_balloon_check(struct ctx *c, const struct vm_config *cfg);

#endif
