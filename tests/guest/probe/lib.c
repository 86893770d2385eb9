// SPDX-License-Identifier: MIT
/*
 * The bulk routines are single rep string instructions: where the guest's
 * kernel-mode code is emulated one instruction at a time (nested KVM), a
 * rep counts as one. The plain loops rely on build.sh passing
 * -fno-tree-loop-distribute-patterns so GCC does not turn them back into
 * calls to themselves.
 */
#include "lib.h"

void *memcpy(void *dst, const void *src, size_t len)
{
	void *d = dst;
	size_t quads = len / 8;

	asm volatile("rep movsq\n\tmov %3, %%rcx\n\trep movsb"
		     : "+D"(d), "+S"(src), "+c"(quads)
		     : "r"(len % 8) : "memory");
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
	void *d = dst;

	asm volatile("rep stosb" : "+D"(d), "+c"(len) : "a"(c) : "memory");
	return dst;
}

void memset64(void *dst, uint64_t val, size_t n)
{
	asm volatile("rep stosq" : "+D"(dst), "+c"(n) : "a"(val) : "memory");
}

size_t span64(const void *p, uint64_t val, size_t n)
{
	size_t left = n;
	bool equal;

	if (!n)
		return 0;
	asm volatile("repe scasq" : "+D"(p), "+c"(left), "=@ccz"(equal)
		     : "a"(val) : "memory");
	return equal ? n : n - left - 1;
}

size_t find64(const void *p, uint64_t val, size_t n)
{
	size_t left = n;
	bool found;

	if (!n)
		return 0;
	asm volatile("repne scasq" : "+D"(p), "+c"(left), "=@ccz"(found)
		     : "a"(val) : "memory");
	return found ? n - left - 1 : n;
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

/* A decimal or 0x-prefixed hex number at *s (below end); advances *s. */
bool parse_num(const char **s, const char *end, uint64_t *out)
{
	const char *p = *s;
	unsigned int base = 10;
	uint64_t val = 0;

	if (end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	for (; p < end; p++) {
		unsigned int digit;

		if (*p >= '0' && *p <= '9')
			digit = *p - '0';
		else if (base == 16 && (*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
			digit = (*p | 0x20) - 'a' + 10;
		else
			break;
		if (val > (UINT64_MAX - digit) / base)
			return false;
		val = val * base + digit;
	}
	if (p == *s || (base == 16 && p == *s + 2))
		return false;
	*s = p;
	*out = val;
	return true;
}
