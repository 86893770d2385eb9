// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: any bytes as the start of an API request head. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/api.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const struct http_request *req)
{
	if (req->path[0] != '/' || strlen(req->path) >= sizeof(req->path) ||
	    strchr(req->path, '?') || !req->method_name[0] ||
	    (req->method != HTTP_OTHER && req->method > HTTP_PATCH) ||
	    (!req->has_length && req->content_length) ||
	    ((req->method == HTTP_PUT || req->method == HTTP_PATCH) && !req->has_length))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http_request req;
	char err[256];
	int n;

	err[0] = '\0';
	n = http_parse_head(buf, size, &req, err, sizeof(err));
	if (n > 0) {
		if ((size_t)n > size || n > HTTP_HEAD_MAX)
			abort();
		check_request(&req);
		/* The head alone parses the same; one byte less is unfinished. */
		if (http_parse_head(buf, n, &req, err, sizeof(err)) != n ||
		    http_parse_head(buf, n - 1, &req, err, sizeof(err)) != 0)
			abort();
	} else if (n < 0) {
		if ((n != -400 && n != -411 && n != -501 && n != -505) || !err[0] ||
		    strlen(err) >= sizeof(err))
			abort();
	} else if (size >= HTTP_HEAD_MAX) {
		abort();	/* a full buffer must be decided */
	}
	return 0;
}
