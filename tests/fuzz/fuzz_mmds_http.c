// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: any bytes as a guest's request to the metadata service,
 * parsed and answered from a small store (V2 when the first byte is odd, so
 * both versions are reached). A request's length is within what it was
 * given and what any request may be; the answer is a whole HTTP response.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/mmds.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mmds *store(void)
{
	static struct mmds *m;
	json_t *v;

	if (m)
		return m;
	m = mmds_create(51200);
	v = json_loads("{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-1\", \"n\": 1,"
		       " \"a~b/c\": {\"x\": [1, \"y\"]}}}}", 0, NULL);
	if (!m || !v || mmds_put(m, v))
		abort();
	json_decref(v);
	return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mmds_config cfg = { .present = true, .ipv4 = 0xa9fea9fe };
	struct mmds *m = store();
	struct mmds_request req;
	char *out;
	size_t len = 0;
	int n;

	cfg.version = size && (data[0] & 1) ? MMDS_V2 : MMDS_V1;
	mmds_configure(m, &cfg);
	n = mmds_request_parse((const char *)data, size, &req);
	if (n > 0 && ((size_t)n > size || n > MMDS_REQUEST_MAX || req.path[0] != '/' ||
		      strlen(req.path) >= sizeof(req.path)))
		abort();
	if (n < 0 && n != -400 && n != -413 && n != -501 && n != -505)
		abort();
	if (n == 0 && size >= MMDS_REQUEST_MAX)
		abort();	/* a full buffer must be refused, not waited on */
	if (n == 0)
		return 0;
	out = n > 0 ? mmds_respond(m, &req, &len) : mmds_respond_error(-n, &len);
	if (out && (len < 12 || memcmp(out, "HTTP/1.1 ", 9)))
		abort();
	free(out);
	return 0;
}
