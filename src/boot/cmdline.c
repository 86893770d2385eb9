// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <petrel/boot.h>
#include <petrel/util.h>

void cmdline_init(struct cmdline *cl, size_t max)
{
	cl->max = MIN(MAX(max, (size_t)1), sizeof(cl->buf));
	cl->len = 0;
	cl->buf[0] = '\0';
}

int cmdline_append(struct cmdline *cl, const char *words)
{
	size_t n, sep;

	words += strspn(words, " ");
	n = strlen(words);
	while (n && words[n - 1] == ' ')
		n--;
	if (!n)
		return 0;
	sep = cl->len ? 1 : 0;
	if (cl->len + sep >= cl->max || n > cl->max - 1 - cl->len - sep)
		return -E2BIG;
	if (sep)
		cl->buf[cl->len++] = ' ';
	memcpy(cl->buf + cl->len, words, n);
	cl->len += n;
	cl->buf[cl->len] = '\0';
	return 0;
}

int cmdline_appendf(struct cmdline *cl, const char *fmt, ...)
{
	char words[sizeof(cl->buf)];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(words, sizeof(words), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(words))
		return -E2BIG;
	return cmdline_append(cl, words);
}

/* Length of the word at p: up to a space outside double quotes. */
static size_t word_len(const char *p)
{
	bool quoted = false;
	size_t n;

	for (n = 0; p[n] && (quoted || p[n] != ' '); n++)
		if (p[n] == '"')
			quoted = !quoted;
	return n;
}

static bool word_has_key(const char *word, size_t len, const char *key, size_t klen)
{
	if (len < klen || strncmp(word, key, klen))
		return false;
	/* "root=" matches by prefix; "quiet" matches "quiet" and "quiet=..." */
	return key[klen - 1] == '=' || len == klen || word[klen] == '=';
}

int cmdline_has_key(const struct cmdline *cl, const char *key)
{
	size_t klen = strlen(key), n;
	const char *p = cl->buf;

	if (!klen)
		return 0;
	while (*p) {
		p += strspn(p, " ");
		n = word_len(p);
		if (n && word_has_key(p, n, key, klen))
			return 1;
		p += n;
	}
	return 0;
}
