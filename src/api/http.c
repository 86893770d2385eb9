// SPDX-License-Identifier: Apache-2.0
/*
 * HTTP/1.1 request heads: the request line and the headers petrel acts on
 * (Content-Length, Transfer-Encoding, Connection, Expect); others are
 * checked for shape and ignored. Bodies come with a Content-Length only:
 * a chunked one is refused with 501.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <petrel/api.h>
#include <petrel/util.h>

#define LENGTH_DIGITS_MAX	15	/* far above any payload limit, far below overflow */

/* What the headers said, before it becomes struct http_request. */
struct head_state {
	bool http11;
	bool conn_close;
	bool conn_keep_alive;
	bool chunked;			/* any Transfer-Encoding */
};

static int fail(char *err, size_t errlen, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int status, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -status;
}

/* The line at p: its end without a CR before the LF, and the next line's start. */
static bool next_line(const char *p, const char *end, const char **eol, const char **next)
{
	const char *lf = memchr(p, '\n', end - p);

	if (!lf)
		return false;
	*next = lf + 1;
	*eol = lf > p && lf[-1] == '\r' ? lf - 1 : lf;
	return true;
}

static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool all_tchars(const char *p, const char *end)
{
	for (; p < end; p++) {
		if (!is_tchar(*p))
			return false;
	}
	return true;
}

/* Control characters never; in a target, no spaces or bytes above 0x7e either. */
static bool bad_chars(const char *p, const char *end, bool in_target)
{
	for (; p < end; p++) {
		unsigned char c = *p;

		if (c == 0x7f || (c < ' ' && c != '\t') || (in_target && (c <= ' ' || c > 0x7e)))
			return true;
	}
	return false;
}

static bool same_word(const char *p, const char *end, const char *word)
{
	size_t len = strlen(word);

	return (size_t)(end - p) == len && !strncasecmp(p, word, len);
}

static int parse_method(const char *p, const char *end, struct http_request *req,
			char *err, size_t errlen)
{
	static const char *const names[] = { [HTTP_GET] = "GET", [HTTP_PUT] = "PUT",
					     [HTTP_PATCH] = "PATCH" };
	size_t len = end - p;

	if (!len || len >= sizeof(req->method_name) || !all_tchars(p, end))
		return fail(err, errlen, 400, "malformed request method");
	memcpy(req->method_name, p, len);
	req->method_name[len] = '\0';
	req->method = HTTP_OTHER;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(req->method_name, names[i]))
			req->method = i;
	}
	return 0;
}

/* Origin form only ("/path?query"); the query is dropped. */
static int parse_target(const char *p, const char *end, struct http_request *req,
			char *err, size_t errlen)
{
	size_t len = 0;

	if (p == end || *p != '/')
		return fail(err, errlen, 400, "the request target must start with '/'");
	if (bad_chars(p, end, true))
		return fail(err, errlen, 400, "invalid character in the request target");
	while (p + len < end && p[len] != '?' && p[len] != '#')
		len++;
	if (len >= sizeof(req->path))
		return fail(err, errlen, 400, "request path longer than %zu bytes",
			    sizeof(req->path) - 1);
	memcpy(req->path, p, len);
	req->path[len] = '\0';
	return 0;
}

static int parse_version(const char *p, const char *end, struct head_state *st,
			 char *err, size_t errlen)
{
	size_t len = end - p;

	if (len == 8 && !memcmp(p, "HTTP/1.1", 8)) {
		st->http11 = true;
		return 0;
	}
	if (len == 8 && !memcmp(p, "HTTP/1.0", 8))
		return 0;
	if (len == 8 && !strncmp(p, "HTTP/", 5) && p[5] >= '0' && p[5] <= '9' && p[6] == '.' &&
	    p[7] >= '0' && p[7] <= '9')
		return fail(err, errlen, 505, "HTTP version %.3s is not supported (1.0, 1.1)", p + 5);
	return fail(err, errlen, 400, "malformed HTTP version in the request line");
}

static int parse_request_line(const char *p, const char *eol, struct http_request *req,
			      struct head_state *st, char *err, size_t errlen)
{
	const char *sp1 = memchr(p, ' ', eol - p), *sp2;

	sp2 = sp1 ? memchr(sp1 + 1, ' ', eol - sp1 - 1) : NULL;
	if (!sp2)
		return fail(err, errlen, 400, "malformed request line");
	return parse_method(p, sp1, req, err, errlen) ?:
	       parse_target(sp1 + 1, sp2, req, err, errlen) ?:
	       parse_version(sp2 + 1, eol, st, err, errlen);
}

static int parse_length(const char *v, const char *end, struct http_request *req,
			char *err, size_t errlen)
{
	uint64_t n = 0;

	if (v == end || end - v > LENGTH_DIGITS_MAX)
		return fail(err, errlen, 400, "invalid Content-Length");
	for (const char *p = v; p < end; p++) {
		if (*p < '0' || *p > '9')
			return fail(err, errlen, 400, "invalid Content-Length");
		n = n * 10 + (*p - '0');
	}
	if (req->has_length && req->content_length != n)
		return fail(err, errlen, 400, "conflicting Content-Length headers");
	req->has_length = true;
	req->content_length = n;
	return 0;
}

/* A comma-separated list of tokens: close and keep-alive matter. */
static void parse_connection(const char *v, const char *end, struct head_state *st)
{
	while (v < end) {
		const char *comma = memchr(v, ',', end - v), *e = comma ? comma : end;
		const char *s = v;

		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		st->conn_close |= same_word(s, e, "close");
		st->conn_keep_alive |= same_word(s, e, "keep-alive");
		v = comma ? comma + 1 : end;
	}
}

static int header_value(const char *name, const char *nend, const char *v, const char *end,
			struct http_request *req, struct head_state *st, char *err, size_t errlen)
{
	if (same_word(name, nend, "Content-Length"))
		return parse_length(v, end, req, err, errlen);
	if (same_word(name, nend, "Transfer-Encoding"))
		st->chunked = true;
	else if (same_word(name, nend, "Connection"))
		parse_connection(v, end, st);
	else if (same_word(name, nend, "Expect"))
		req->expect_continue = same_word(v, end, "100-continue");
	return 0;
}

static int parse_header(const char *p, const char *eol, struct http_request *req,
			struct head_state *st, char *err, size_t errlen)
{
	const char *colon = memchr(p, ':', eol - p), *v, *end = eol;

	if (*p == ' ' || *p == '\t')
		return fail(err, errlen, 400, "folded header lines are not supported");
	if (!colon || colon == p || !all_tchars(p, colon))
		return fail(err, errlen, 400, "malformed header line");
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (bad_chars(v, end, false))
		return fail(err, errlen, 400, "invalid character in header %.*s",
			    (int)MIN(colon - p, 64), p);
	return header_value(p, colon, v, end, req, st, err, errlen);
}

/* The whole head is there: [p, end) holds the request line and the headers. */
static int parse_lines(const char *p, const char *end, struct http_request *req,
		       struct head_state *st, char *err, size_t errlen)
{
	const char *eol, *next;
	int ret;

	if (!next_line(p, end, &eol, &next))
		return fail(err, errlen, 400, "malformed request head");
	ret = parse_request_line(p, eol, req, st, err, errlen);
	for (p = next; !ret && next_line(p, end, &eol, &next) && eol != p; p = next)
		ret = parse_header(p, eol, req, st, err, errlen);
	return ret;
}

/* Where the head ends (after its empty line); 0 when it has not ended yet. */
static size_t head_end(const char *buf, size_t len, size_t *start)
{
	const char *p = buf, *end = buf + len, *eol, *next;

	/* Empty lines before the request line are skipped (RFC 9112 2.2). */
	while (next_line(p, end, &eol, &next) && eol == p)
		p = next;
	*start = p - buf;
	if (!next_line(p, end, &eol, &next))
		return 0;
	for (p = next; next_line(p, end, &eol, &next); p = next) {
		if (eol == p)
			return next - buf;
	}
	return 0;
}

static int finish(struct http_request *req, const struct head_state *st, char *err,
		  size_t errlen)
{
	if (st->chunked)
		return fail(err, errlen, 501,
			    "Transfer-Encoding is not supported: send the body with a Content-Length");
	if ((req->method == HTTP_PUT || req->method == HTTP_PATCH) && !req->has_length)
		return fail(err, errlen, 411, "%s requests need a Content-Length header",
			    req->method_name);
	req->keep_alive = !st->conn_close && (st->http11 || st->conn_keep_alive);
	return 0;
}

int http_parse_head(const char *buf, size_t len, struct http_request *req,
		    char *err, size_t errlen)
{
	struct head_state st = { 0 };
	size_t start, n = head_end(buf, len, &start);
	int ret;

	memset(req, 0, sizeof(*req));
	if (!n || n > HTTP_HEAD_MAX) {
		if (len < HTTP_HEAD_MAX && !n)
			return 0;
		return fail(err, errlen, 400, "request head larger than %d bytes", HTTP_HEAD_MAX);
	}
	ret = parse_lines(buf + start, buf + n, req, &st, err, errlen) ?:
	      finish(req, &st, err, errlen);
	return ret ?: (int)n;
}

const char *http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

char *http_response(int status, const char *type, const char *body, bool keep_alive,
		    size_t *len)
{
	size_t blen = body ? strlen(body) : 0;
	char head[256], *out;
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n", status, http_reason(status));
	/* An interim answer is the status line alone. */
	if (status >= 200)
		n += snprintf(head + n, sizeof(head) - n, "Server: petrel\r\nConnection: %s\r\n",
			      keep_alive ? "keep-alive" : "close");
	if (body)
		n += snprintf(head + n, sizeof(head) - n,
			      "Content-Type: %s\r\nContent-Length: %zu\r\n", type, blen);
	else if (status >= 200 && status != 204)
		n += snprintf(head + n, sizeof(head) - n, "Content-Length: 0\r\n");
	n += snprintf(head + n, sizeof(head) - n, "\r\n");
	out = malloc(n + blen);
	if (!out)
		return NULL;
	memcpy(out, head, n);
	if (blen)
		memcpy(out + n, body, blen);
	*len = n + blen;
	return out;
}
