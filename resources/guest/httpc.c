// SPDX-License-Identifier: Apache-2.0
/*
 * httpc: the smallest HTTP/1.1 client the Linux test guests need beyond
 * busybox wget, which can neither PUT nor send headers of its own (the
 * MMDS's V2 tokens need both). Built static into the test root filesystem.
 *
 *   httpc [-X METHOD] [-H 'Name: value']... http://IPV4[:PORT]/PATH
 *
 * Prints the status code on the first line, then the body as received. Exit
 * status: 0 for a 2xx answer, 1 for any other answer, 2 when there is none
 * (bad arguments, no connection, a malformed or missing status line).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define HEADERS_MAX	16
#define REQUEST_MAX	4096
#define ANSWER_MAX	(1 << 20)
#define TIMEOUT_S	10	/* a lost server ends the test, not the guest */

struct url {
	struct sockaddr_in addr;
	const char *path;
};

static int usage(void)
{
	fprintf(stderr, "usage: httpc [-X METHOD] [-H 'Name: value']... "
		"http://IPV4[:PORT]/PATH\n");
	return 2;
}

/* Only numeric IPv4 hosts: the guests have no resolver. */
static int url_parse(const char *s, struct url *u)
{
	char host[16];
	const char *p, *colon;
	size_t n;
	long port = 80;

	if (strncmp(s, "http://", 7))
		return -1;
	s += 7;
	p = strchr(s, '/');
	u->path = p ? p : "/";
	n = p ? (size_t)(p - s) : strlen(s);
	colon = memchr(s, ':', n);
	if (colon) {
		char *end;

		port = strtol(colon + 1, &end, 10);
		if (end != s + n || port < 1 || port > 65535)
			return -1;
		n = colon - s;
	}
	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(&u->addr, 0, sizeof(u->addr));
	u->addr.sin_family = AF_INET;
	u->addr.sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &u->addr.sin_addr) == 1 ? 0 : -1;
}

static int connect_to(const struct url *u)
{
	struct timeval tv = { .tv_sec = TIMEOUT_S };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	/* SO_SNDTIMEO bounds connect() too. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (const struct sockaddr *)&u->addr, sizeof(u->addr))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The whole answer: the request says Connection: close, so it ends at EOF. */
static char *read_all(int fd, size_t *len)
{
	char *buf = malloc(ANSWER_MAX + 1);
	ssize_t n;

	*len = 0;
	if (!buf)
		return NULL;
	while (*len < ANSWER_MAX) {
		n = read(fd, buf + *len, ANSWER_MAX - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	buf[*len] = '\0';
	return buf;
}

/* Prints the status and body of the answer; the exit status for it. */
static int answer_print(const char *buf, size_t len)
{
	const char *body = strstr(buf, "\r\n\r\n");
	int status;

	if (sscanf(buf, "HTTP/1.%*1[01] %3d ", &status) != 1 || status < 100 || !body) {
		fprintf(stderr, "httpc: no HTTP answer (%zu bytes)\n", len);
		return 2;
	}
	body += 4;
	printf("%d\n", status);
	fwrite(body, 1, len - (size_t)(body - buf), stdout);
	return status / 100 == 2 ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *method = "GET", *headers[HEADERS_MAX];
	char req[REQUEST_MAX], *ans;
	unsigned int nh = 0;
	struct url u;
	size_t alen;
	int opt, fd, n, ret;

	while ((opt = getopt(argc, argv, "X:H:")) != -1) {
		if (opt == 'X')
			method = optarg;
		else if (opt == 'H' && nh < HEADERS_MAX)
			headers[nh++] = optarg;
		else
			return usage();
	}
	if (optind != argc - 1 || url_parse(argv[optind], &u))
		return usage();
	n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n",
		     method, u.path, inet_ntoa(u.addr.sin_addr));
	for (unsigned int i = 0; i < nh && n > 0 && (size_t)n < sizeof(req); i++)
		n += snprintf(req + n, sizeof(req) - (size_t)n, "%s\r\n", headers[i]);
	if (n > 0 && (size_t)n < sizeof(req))
		n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
	if (n <= 0 || (size_t)n >= sizeof(req)) {
		fprintf(stderr, "httpc: request longer than %d bytes\n", REQUEST_MAX);
		return 2;
	}
	fd = connect_to(&u);
	if (fd < 0) {
		fprintf(stderr, "httpc: cannot connect to %s: %s\n", argv[optind], strerror(errno));
		return 2;
	}
	ans = write_all(fd, req, (size_t)n) ? NULL : read_all(fd, &alen);
	if (!ans) {
		fprintf(stderr, "httpc: %s: %s\n", argv[optind], strerror(errno));
		close(fd);
		return 2;
	}
	close(fd);
	ret = answer_print(ans, alen);
	free(ans);
	return ret;
}
