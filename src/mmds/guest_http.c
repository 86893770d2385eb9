// SPDX-License-Identifier: Apache-2.0
/*
 * The guest's side of the MMDS: HTTP/1.1 requests parsed from what a guest
 * sent (untrusted: every length bounded, anything odd refused with a status)
 * and the answers: GET a JSON pointer (JSON, or EC2 IMDS text), PUT
 * /latest/api/token for a V2 session token.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <petrel/mmds.h>
#include <petrel/util.h>

#include "mmds_priv.h"

#define TOKEN_PATH	"/latest/api/token"

/* ---- parsing ---- */

/* The head's length through its empty line, 0 if not there yet. */
static size_t head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static bool token_char(char c)
{
	return c > 32 && c < 127 && !strchr("()<>@,;:\\\"/[]?={}", c);
}

static int request_line(const char *p, size_t n, struct mmds_request *req)
{
	const char *sp1 = memchr(p, ' ', n), *sp2, *target, *q;
	size_t mlen, tlen, vlen;

	if (!sp1 || sp1 == p)
		return -400;
	mlen = sp1 - p;
	for (size_t i = 0; i < mlen; i++) {
		if (!token_char(p[i]))
			return -400;
	}
	req->method = mlen == 3 && !memcmp(p, "GET", 3) ? MMDS_GET :
		      mlen == 3 && !memcmp(p, "PUT", 3) ? MMDS_PUT : MMDS_OTHER;
	target = sp1 + 1;
	sp2 = memchr(target, ' ', n - (target - p));
	if (!sp2 || sp2 == target || *target != '/')
		return -400;
	vlen = n - (sp2 + 1 - p);
	if (vlen != 8 || memcmp(sp2 + 1, "HTTP/1.", 7))
		return vlen >= 5 && !memcmp(sp2 + 1, "HTTP/", 5) ? -505 : -400;
	if (sp2[8] != '0' && sp2[8] != '1')
		return -505;
	req->close = sp2[8] == '0';
	for (q = target; q < sp2 && *q != '?' && *q != '#'; q++) {
		if ((unsigned char)*q <= 32 || *q == 127)
			return -400;
	}
	tlen = q - target;
	if (tlen >= sizeof(req->path))
		return -400;
	memcpy(req->path, target, tlen);
	req->path[tlen] = '\0';
	return 0;
}

static bool name_is(const char *name, size_t nlen, const char *want)
{
	return nlen == strlen(want) && !strncasecmp(name, want, nlen);
}

/* A decimal number of at most 9 digits, or -1. */
static long number(const char *v, size_t vlen)
{
	long x = 0;

	if (!vlen || vlen > 9)
		return -1;
	for (size_t i = 0; i < vlen; i++) {
		if (!isdigit((unsigned char)v[i]))
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	return x;
}

static int header(const char *p, size_t n, struct mmds_request *req, long *clen)
{
	const char *colon = memchr(p, ':', n), *v, *end = p + n;
	size_t nlen, vlen;

	if (!colon || colon == p)
		return -400;
	nlen = colon - p;
	for (size_t i = 0; i < nlen; i++) {
		if (!token_char(p[i]))
			return -400;
	}
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	vlen = end - v;
	if (name_is(p, nlen, "Content-Length")) {
		*clen = number(v, vlen);
		if (*clen < 0)
			return -400;
	} else if (name_is(p, nlen, "Transfer-Encoding")) {
		return -501;
	} else if (name_is(p, nlen, "Accept")) {
		req->accept_json = vlen == 16 && !strncasecmp(v, "application/json", 16);
	} else if (name_is(p, nlen, "Connection")) {
		if (vlen == 5 && !strncasecmp(v, "close", 5))
			req->close = true;
		else if (vlen == 10 && !strncasecmp(v, "keep-alive", 10))
			req->close = false;
	} else if (name_is(p, nlen, "X-metadata-token") ||
		   name_is(p, nlen, "X-aws-ec2-metadata-token")) {
		req->has_token = true;
		req->token_bad = vlen != MMDS_TOKEN_LEN;
		if (!req->token_bad)
			memcpy(req->token, v, vlen);
	} else if (name_is(p, nlen, "X-metadata-token-ttl-seconds") ||
		   name_is(p, nlen, "X-aws-ec2-metadata-token-ttl-seconds")) {
		req->has_ttl = true;
		req->ttl = number(v, vlen);
	} else if (name_is(p, nlen, "X-Forwarded-For")) {
		req->forwarded = true;
	}
	return 0;
}

int mmds_request_parse(const char *buf, size_t len, struct mmds_request *req)
{
	size_t head = head_end(buf, MIN(len, (size_t)MMDS_REQUEST_MAX)), off = 0;
	long clen = 0;
	bool first = true;
	int ret;

	memset(req, 0, sizeof(*req));
	if (!head)
		return len >= MMDS_REQUEST_MAX ? -400 : 0;
	while (off < head) {
		const char *p = buf + off, *nl = memchr(p, '\n', head - off);
		size_t n = nl - p;

		off += n + 1;
		if (n && p[n - 1] == '\r')
			n--;
		if (!n)
			break;
		if (memchr(p, '\0', n))
			return -400;
		ret = first ? request_line(p, n, req) : header(p, n, req, &clen);
		if (ret)
			return ret;
		first = false;
	}
	if (first)
		return -400;
	if ((size_t)clen > MMDS_REQUEST_MAX - head)
		return -413;
	return len < head + clen ? 0 : (int)(head + clen);
}

/* ---- answers ---- */

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 501: return "Not Implemented";
	case 505: return "HTTP Version Not Supported";
	default: return "Internal Server Error";
	}
}

static char *response(int status, const char *type, const char *body, bool close, size_t *len)
{
	size_t blen = strlen(body);
	char head[256], *out;
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nServer: petrel\r\n"
		     "Content-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n", status,
		     reason(status), type, blen, status == 405 ? "Allow: GET, PUT\r\n" : "",
		     close ? "Connection: close\r\n" : "");
	out = malloc(n + blen);
	if (!out)
		return NULL;
	memcpy(out, head, n);
	memcpy(out + n, body, blen);
	*len = n + blen;
	return out;
}

static char *text(int status, const char *body, bool close, size_t *len)
{
	return response(status, "text/plain", body, close, len);
}

char *mmds_respond_error(int status, size_t *len)
{
	const char *why = status == 413 ? "Request too large." :
			  status == 501 ? "Unsupported HTTP feature." :
			  status == 505 ? "Unsupported HTTP version." : "Malformed request.";

	return text(status, why, true, len);
}

/* Walk a JSON pointer (RFC 6901: ~1 is '/', ~0 is '~'); empty segments are skipped. */
static json_t *lookup(json_t *v, const char *path)
{
	char seg[MMDS_PATH_MAX];

	while (v && *path) {
		size_t n = strcspn(path, "/"), k = 0;

		for (size_t i = 0; i < n; i++) {
			if (path[i] == '~' && i + 1 < n && (path[i + 1] == '0' || path[i + 1] == '1'))
				seg[k++] = path[++i] == '0' ? '~' : '/';
			else
				seg[k++] = path[i];
		}
		seg[k] = '\0';
		path += n + (path[n] == '/');
		if (!k)
			continue;
		if (json_is_object(v)) {
			v = json_object_get(v, seg);
		} else if (json_is_array(v)) {
			long i = number(seg, k);

			v = i < 0 ? NULL : json_array_get(v, i);
		} else {
			v = NULL;
		}
	}
	return v;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* IMDS: an object lists its keys, one a line, "key/" for an object; sorted as EC2 does. */
static char *imds_listing(json_t *obj)
{
	size_t n = json_object_size(obj), i = 0, size = 1, off = 0;
	const char **keys = calloc(n ? n : 1, sizeof(*keys));
	const char *key;
	char *out;
	json_t *v;

	if (!keys)
		return NULL;
	json_object_foreach(obj, key, v) {
		keys[i++] = key;
		size += strlen(key) + 2;
	}
	qsort(keys, n, sizeof(*keys), cmp_keys);
	out = malloc(size);
	for (i = 0; out && i < n; i++) {
		bool dir = json_is_object(json_object_get(obj, keys[i]));

		off += sprintf(out + off, "%s%s%s", i ? "\n" : "", keys[i], dir ? "/" : "");
	}
	if (out)
		out[off] = '\0';
	free(keys);
	return out;
}

static char *get(struct mmds *m, const struct mmds_request *req, size_t *len)
{
	/* Before the first PUT the store is null: nothing is found. */
	json_t *v = json_is_null(m->data) ? NULL : lookup(m->data, req->path);
	char msg[MMDS_PATH_MAX + 64], *body, *out;
	bool json = req->accept_json && !m->imds_compat;

	if (!v) {
		snprintf(msg, sizeof(msg), "Resource not found: %s.", req->path);
		return text(404, msg, req->close, len);
	}
	if (json)
		body = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
	else if (json_is_string(v))
		body = strdup(json_string_value(v));
	else if (json_is_object(v))
		body = imds_listing(v);
	else
		return text(501, "Cannot retrieve value. The value has an unsupported type.",
			    req->close, len);
	if (!body)
		return NULL;
	out = response(200, json ? "application/json" : "text/plain", body, req->close, len);
	free(body);
	return out;
}

static char *put_token(struct mmds *m, const struct mmds_request *req, uint64_t now_ms,
		       size_t *len)
{
	char token[MMDS_TOKEN_LEN + 1], msg[160];

	if (strcmp(req->path, TOKEN_PATH) && strcmp(req->path, TOKEN_PATH "/")) {
		snprintf(msg, sizeof(msg), "Resource not found: %.100s.", req->path);
		return text(404, msg, req->close, len);
	}
	if (req->forwarded)
		return text(400, "Invalid header. Reason: Unsupported header name. "
			    "Key: X-Forwarded-For", req->close, len);
	if (!req->has_ttl)
		return text(400, "Token time to live value not found. Use "
			    "`X-metadata-token-ttl-seconds` header to specify the token's lifetime.",
			    req->close, len);
	if (req->ttl < 1 || req->ttl > MMDS_TOKEN_TTL_MAX) {
		snprintf(msg, sizeof(msg), "Invalid time to live value provided for token. Please "
			 "provide a value between 1 and %d.", MMDS_TOKEN_TTL_MAX);
		return text(400, msg, req->close, len);
	}
	if (mmds_token_new(m, (unsigned int)req->ttl, now_ms, token))
		return text(500, "Cannot make a token.", req->close, len);
	return text(200, token, req->close, len);
}

char *mmds_respond_at(struct mmds *m, const struct mmds_request *req, uint64_t now_ms,
		      size_t *len)
{
	if (req->method == MMDS_PUT)
		return put_token(m, req, now_ms, len);
	if (req->method != MMDS_GET)
		return text(405, "Not allowed HTTP method.", req->close, len);
	if (m->version == MMDS_V2 && !req->has_token)
		return text(401, "No MMDS token provided. Use `X-metadata-token` header to "
			    "specify the session token.", req->close, len);
	if (m->version == MMDS_V2 &&
	    (req->token_bad || !mmds_token_valid(m, req->token, now_ms)))
		return text(401, "MMDS token not valid.", req->close, len);
	return get(m, req, len);
}

char *mmds_respond(struct mmds *m, const struct mmds_request *req, size_t *len)
{
	return mmds_respond_at(m, req, util_now_us() / 1000, len);
}
