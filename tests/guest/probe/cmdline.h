/* SPDX-License-Identifier: MIT */
/* The kernel command line: words separated by spaces, later words win. */
#ifndef PROBE_CMDLINE_H
#define PROBE_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CMDLINE_MAX	4096

/* s may be NULL (no command line); at most CMDLINE_MAX bytes are read. */
void cmdline_init(const char *s);
/* The word at or after *pos (start at 0); false when there are no more. */
bool cmdline_next(size_t *pos, const char **word, size_t *len);
/* If word starts with key, the rest of it. */
bool cmdline_match(const char *word, size_t len, const char *key,
		   const char **val, size_t *val_len);
/* The value of the last word starting with key (such as "probe.action="). */
bool cmdline_value(const char *key, const char **val, size_t *len);
/* A number from the last such word; def if absent or malformed. */
uint64_t cmdline_num(const char *key, uint64_t def);

#endif
