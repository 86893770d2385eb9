/* SPDX-License-Identifier: MIT */
/* The few C library routines the probe needs (and GCC may call). */
#ifndef PROBE_LIB_H
#define PROBE_LIB_H

#include <stdbool.h>
#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t len);
void *memmove(void *dst, const void *src, size_t len);
void *memset(void *dst, int c, size_t len);
int memcmp(const void *a, const void *b, size_t len);

size_t strnlen(const char *s, size_t max);
bool str_eq(const char *s, size_t len, const char *word);

#endif
