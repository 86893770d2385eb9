// SPDX-License-Identifier: Apache-2.0
/*
 * The metadata store and the V2 session tokens. The store is one jansson
 * object whose JSON text stays within the size limit: a PUT or PATCH is
 * made on a copy, measured, and only then swapped in. Tokens are random
 * (getrandom), kept in a small table with their expiry on the monotonic
 * clock; none survives a restart, a restore or a new configuration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <petrel/log.h>
#include <petrel/mmds.h>
#include <petrel/util.h>

#include "mmds_priv.h"

#define DEFAULT_IPV4	0xa9fea9feu	/* 169.254.169.254 */

struct mmds *mmds_create(size_t size_limit)
{
	struct mmds *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->data = json_null();	/* not initialized until the first PUT, as Firecracker */
	m->limit = size_limit;
	m->ipv4 = DEFAULT_IPV4;
	return m;
}

void mmds_destroy(struct mmds *m)
{
	if (!m)
		return;
	json_decref(m->data);
	free(m);
}

size_t mmds_size_limit(const struct mmds *m)
{
	return m->limit;
}

json_t *mmds_data(const struct mmds *m)
{
	return m->data;
}

uint32_t mmds_ipv4(const struct mmds *m)
{
	return m->ipv4;
}

void mmds_configure(struct mmds *m, const struct mmds_config *cfg)
{
	m->version = cfg->version;
	m->ipv4 = cfg->ipv4;
	m->imds_compat = cfg->imds_compat;
	memset(m->tokens, 0, sizeof(m->tokens));
}

/* Swap in a new store if its text fits the limit; takes the reference to data. */
static int replace(struct mmds *m, json_t *data)
{
	size_t size;

	if (!data)
		return -ENOMEM;
	size = json_dumpb(data, NULL, 0, JSON_COMPACT);
	if (size > m->limit) {
		json_decref(data);
		return -E2BIG;
	}
	json_decref(m->data);
	m->data = data;
	return 0;
}

int mmds_put(struct mmds *m, json_t *data)
{
	if (!json_is_object(data))
		return -EINVAL;
	return replace(m, json_deep_copy(data));
}

/* RFC 7396: objects merge key by key, null removes a key, anything else replaces. */
static json_t *merge(json_t *target, json_t *patch)
{
	const char *key;
	json_t *v;

	if (!json_is_object(patch)) {
		json_decref(target);
		return json_deep_copy(patch);
	}
	if (!json_is_object(target)) {
		json_decref(target);
		target = json_object();
		if (!target)
			return NULL;
	}
	json_object_foreach(patch, key, v) {
		json_t *old, *merged;

		if (json_is_null(v)) {
			json_object_del(target, key);
			continue;
		}
		old = json_object_get(target, key);
		merged = merge(json_incref(old), v);
		if (!merged || json_object_set_new(target, key, merged)) {
			json_decref(target);
			return NULL;
		}
	}
	return target;
}

int mmds_patch(struct mmds *m, json_t *patch)
{
	if (!json_is_object(patch))
		return -EINVAL;
	if (json_is_null(m->data))
		return -ENODATA;
	return replace(m, merge(json_deep_copy(m->data), patch));
}

int mmds_load_file(struct mmds *m, const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *data;
	int ret;

	data = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!data) {
		snprintf(err, errlen, "metadata file %s: %s (line %d, column %d)", path, jerr.text,
			 jerr.line, jerr.column);
		return -EINVAL;
	}
	ret = mmds_put(m, data);
	json_decref(data);
	if (ret == -EINVAL)
		snprintf(err, errlen, "metadata file %s: expected a JSON object", path);
	else if (ret == -E2BIG)
		snprintf(err, errlen, "metadata file %s: larger than the MMDS size limit of %zu "
			 "bytes", path, m->limit);
	else if (ret)
		snprintf(err, errlen, "metadata file %s: %s", path, strerror(-ret));
	return ret;
}

/* ---- V2 tokens ---- */

static const char hex[] = "0123456789abcdef";

/* A new token valid for ttl seconds; -errno when no randomness is to be had. */
int mmds_token_new(struct mmds *m, unsigned int ttl, uint64_t now_ms, char out[MMDS_TOKEN_LEN + 1])
{
	struct mmds_token *slot = &m->tokens[0];
	uint8_t raw[MMDS_TOKEN_LEN / 2];

	if (getrandom(raw, sizeof(raw), GRND_NONBLOCK) != sizeof(raw))
		return -errno ?: -EIO;
	/* The table is full of live tokens: the one that ends first gives way. */
	for (unsigned int i = 0; i < MMDS_TOKENS_MAX; i++) {
		if (m->tokens[i].expires_ms <= now_ms) {
			slot = &m->tokens[i];
			break;
		}
		if (m->tokens[i].expires_ms < slot->expires_ms)
			slot = &m->tokens[i];
	}
	for (unsigned int i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[MMDS_TOKEN_LEN] = '\0';
	memcpy(slot->value, out, MMDS_TOKEN_LEN);
	slot->expires_ms = now_ms + (uint64_t)ttl * 1000;
	return 0;
}

bool mmds_token_valid(const struct mmds *m, const char *token, uint64_t now_ms)
{
	if (strlen(token) != MMDS_TOKEN_LEN)
		return false;
	for (unsigned int i = 0; i < MMDS_TOKENS_MAX; i++) {
		const struct mmds_token *t = &m->tokens[i];

		if (t->expires_ms > now_ms && !memcmp(t->value, token, MMDS_TOKEN_LEN))
			return true;
	}
	return false;
}
