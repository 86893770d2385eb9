// SPDX-License-Identifier: MIT
/* Word lookups on the command line the loader passed in start_info. */
#include "cmdline.h"
#include "lib.h"

static const char *cmdline;
static size_t cmdline_len;

void cmdline_init(const char *s)
{
	cmdline = s;
	cmdline_len = s ? strnlen(s, CMDLINE_MAX) : 0;
}

bool cmdline_next(size_t *pos, const char **word, size_t *len)
{
	size_t i = *pos, start;

	while (i < cmdline_len && cmdline[i] == ' ')
		i++;
	start = i;
	while (i < cmdline_len && cmdline[i] != ' ')
		i++;
	*pos = i;
	*word = cmdline + start;
	*len = i - start;
	return i > start;
}

bool cmdline_match(const char *word, size_t len, const char *key,
		   const char **val, size_t *val_len)
{
	size_t klen = strnlen(key, len + 1);

	if (klen > len || memcmp(word, key, klen))
		return false;
	*val = word + klen;
	*val_len = len - klen;
	return true;
}

bool cmdline_value(const char *key, const char **val, size_t *len)
{
	const char *word;
	size_t pos = 0, wlen;
	bool found = false;

	while (cmdline_next(&pos, &word, &wlen))
		found |= cmdline_match(word, wlen, key, val, len);
	return found;
}

uint64_t cmdline_num(const char *key, uint64_t def)
{
	const char *val, *p;
	uint64_t num;
	size_t len;

	if (!cmdline_value(key, &val, &len))
		return def;
	p = val;
	if (!parse_num(&p, val + len, &num) || p != val + len)
		return def;
	return num;
}
