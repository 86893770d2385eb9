/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_MMDS_PRIV_H
#define PETREL_MMDS_PRIV_H

#include <petrel/mmds.h>

#define MMDS_TOKENS_MAX		64

struct mmds_token {
	char value[MMDS_TOKEN_LEN];
	uint64_t expires_ms;		/* monotonic; 0: a free slot */
};

struct mmds {
	json_t *data;
	size_t limit;
	enum mmds_version version;
	uint32_t ipv4;
	bool imds_compat;
	struct mmds_token tokens[MMDS_TOKENS_MAX];
};

/* Exposed for unit tests, which set the clock themselves. */
int mmds_token_new(struct mmds *m, unsigned int ttl, uint64_t now_ms,
		   char out[MMDS_TOKEN_LEN + 1]);
bool mmds_token_valid(const struct mmds *m, const char *token, uint64_t now_ms);
char *mmds_respond_at(struct mmds *m, const struct mmds_request *req, uint64_t now_ms,
		      size_t *len);

#endif
