// SPDX-License-Identifier: MIT
/*
 * Plain loops; build.sh passes -fno-tree-loop-distribute-patterns so GCC
 * does not turn them back into calls to themselves.
 */
#include "lib.h"

void *memcpy(void *dst, const void *src, size_t len)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (len--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t len)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s)
		return memcpy(dst, src, len);
	while (len--)
		d[len] = s[len];
	return dst;
}

void *memset(void *dst, int c, size_t len)
{
	unsigned char *d = dst;

	while (len--)
		*d++ = (unsigned char)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t len)
{
	const unsigned char *x = a, *y = b;

	for (; len; len--, x++, y++) {
		if (*x != *y)
			return *x - *y;
	}
	return 0;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

/* Is s[0..len) exactly the NUL-terminated word? */
bool str_eq(const char *s, size_t len, const char *word)
{
	return strnlen(word, len + 1) == len && !memcmp(s, word, len);
}
