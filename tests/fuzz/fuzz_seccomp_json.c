// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: any bytes as a --seccomp-filter policy. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/jail.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the parser accepted must hold the bounds the compiler relies on. */
static void check(const struct jail_policy *p)
{
	for (int t = 0; t < JAIL_NR_THREADS; t++) {
		const struct jail_filter *f = &p->thread[t];

		if (!f->present || (f->nr_rules && !f->rules))
			abort();
		for (unsigned int i = 0; i < f->nr_rules; i++) {
			const struct jail_rule *r = &f->rules[i];

			if (r->nr < 0 || r->nr_conds > JAIL_MAX_CONDS ||
			    !memchr(r->name, '\0', sizeof(r->name)))
				abort();
			for (unsigned int j = 0; j < r->nr_conds; j++) {
				if (r->conds[j].index >= JAIL_MAX_CONDS ||
				    r->conds[j].op > JAIL_MASKED_EQ ||
				    (!r->conds[j].qword && r->conds[j].val > UINT32_MAX))
					abort();
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jail_policy p;
	char err[256];
	FILE *null;

	if (jail_policy_parse((const char *)data, size, &p, err, sizeof(err)))
		return 0;
	check(&p);
	null = fopen("/dev/null", "w");
	if (null) {
		jail_policy_print(&p, null);
		fclose(null);
	}
	jail_policy_free(&p);
	return 0;
}
