/* SPDX-License-Identifier: MIT */
/* The few C library routines the probe needs (and GCC may call). */
#ifndef PROBE_LIB_H
#define PROBE_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t len);
void *memmove(void *dst, const void *src, size_t len);
void *memset(void *dst, int c, size_t len);
int memcmp(const void *a, const void *b, size_t len);

/* n 64-bit words at dst set to val. */
void memset64(void *dst, uint64_t val, size_t n);
/* How many of the n words at p equal val before the first that does not. */
size_t span64(const void *p, uint64_t val, size_t n);
/* The index of the first of the n words at p that equals val, or n. */
size_t find64(const void *p, uint64_t val, size_t n);

size_t strnlen(const char *s, size_t max);
bool str_eq(const char *s, size_t len, const char *word);
bool parse_num(const char **s, const char *end, uint64_t *out);

#endif
