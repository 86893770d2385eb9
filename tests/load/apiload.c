// SPDX-License-Identifier: Apache-2.0
/*
 * A load client for petrel's API: CLIENTS threads send REQUESTS requests in
 * all over the Unix socket SOCK and check every answer.
 *   apiload [-c CLIENTS] [-n REQUESTS] [-k keep|close|mixed] [-m get|all] [-a] SOCK
 *	-k keep: each client holds one keep-alive connection; close: a
 *	   connection per request (Connection: close); mixed: half and half
 *	-m get: GET / only; all: GET /, /machine-config, /vm/config, /metrics,
 *	   PATCH /vm Paused and Resumed (204, or 400 before the VM runs), and
 *	   requests petrel refuses (400)
 *	-a: the clients take turns, one request at a time, round robin
 * An answer must be whole and well formed (status line, Content-Length and
 * that many bytes, a JSON fault_message on 4xx) and have a status its
 * request allows; a keep-alive connection the server closes without saying
 * so ("server closed idle connection") is an error. Prints the counts per
 * status, requests per second and latency percentiles (microseconds); exits
 * 1 unless every request was answered as allowed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* built by bench/lib.sh's plain gcc too */
#endif
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define IO_TIMEOUT_S	30	/* no answer by then is a lost request, not a hang */
#define BUF_MAX		65536
#define FAILURES_SHOWN	10	/* of each kind, on stderr */

struct kind {
	const char *method, *path, *body;
	int ok[2];			/* allowed statuses (0: none) */
};

static const struct kind get_mix[] = {
	{ "GET", "/", NULL, { 200 } },
};

static const struct kind all_mix[] = {
	{ "GET", "/", NULL, { 200 } },
	{ "GET", "/machine-config", NULL, { 200 } },
	{ "GET", "/vm/config", NULL, { 200 } },
	{ "GET", "/metrics", NULL, { 200 } },
	{ "PATCH", "/vm", "{\"state\": \"Paused\"}", { 204, 400 } },
	{ "GET", "/", NULL, { 200 } },
	{ "PATCH", "/vm", "{\"state\": \"Resumed\"}", { 204, 400 } },
	{ "GET", "/no-such-path", NULL, { 400 } },
	{ "PUT", "/machine-config", "{\"vcpu_count\": \"two\"}", { 400 } },
	{ "GET", "/", "{}", { 400 } },	/* a GET with a body */
};

enum failure { F_LOST, F_MALFORMED, F_UNEXPECTED, F_IDLE_CLOSED, F_NR };
static const char *const failure_names[F_NR] = {
	"lost", "malformed", "unexpected", "idle_closed",
};

static const char *sock_path;
static const struct kind *mix = get_mix;
static size_t nr_kinds = 1;
static int nr_clients = 1, total = 1000;
static char keep_mode = 'k';
static bool take_turns;

static atomic_int statuses[600];
static atomic_int failures[F_NR];
static atomic_int connections;
static long long *latency_us;		/* one slot per request */

static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_cond = PTHREAD_COND_INITIALIZER;
static int turn;			/* with -a: whose turn it is */

struct client {
	int id;
	int first, count;		/* its share of the requests */
	bool keep_alive;
	int fd;
};

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int open_conn(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	atomic_fetch_add(&connections, 1);
	return fd;
}

static int send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* The value of header name in the head [head, end), or NULL. */
static const char *header(const char *head, const char *end, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p && p + 2 < end; p = strstr(p + 2, "\r\n")) {
		if (!strncasecmp(p + 2, name, nlen) && p[2 + nlen] == ':') {
			for (p += 3 + nlen; *p == ' '; p++)
				;
			return p;
		}
	}
	return NULL;
}

struct answer {
	int status;
	bool closes;			/* Connection: close */
};

/* Read one whole answer; a failure, or -1 when it is fine. */
static int read_answer(int fd, const struct kind *k, struct answer *a, bool reused)
{
	static _Thread_local char buf[BUF_MAX + 1];
	size_t len = 0, head_len = 0, body_len = 0;
	const char *end = NULL, *cl, *conn;
	ssize_t n;

	while (!end || len < head_len + body_len) {
		if (len == BUF_MAX)
			return F_MALFORMED;
		n = recv(fd, buf + len, BUF_MAX - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)	/* a reused connection closed before a byte came back */
			return !n && !len && reused ? F_IDLE_CLOSED : F_LOST;
		len += n;
		buf[len] = '\0';
		if (end)
			continue;
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		head_len = end + 4 - buf;
		if (sscanf(buf, "HTTP/1.1 %3d ", &a->status) != 1 || a->status < 200 ||
		    a->status >= 600)
			return F_MALFORMED;
		cl = header(buf, end, "Content-Length");
		conn = header(buf, end, "Connection");
		if (!conn || (!cl && a->status != 204))
			return F_MALFORMED;
		a->closes = !strncasecmp(conn, "close", 5);
		body_len = cl ? strtoul(cl, NULL, 10) : 0;
	}
	if (len != head_len + body_len)
		return F_MALFORMED;	/* bytes after the answer: nothing was pipelined */
	if (a->status >= 400 && strncmp(buf + head_len, "{\"fault_message\":\"", 18))
		return F_MALFORMED;
	if (a->status == 200 && strcmp(k->path, "/metrics") && buf[head_len] != '{')
		return F_MALFORMED;
	if (a->status != k->ok[0] && a->status != k->ok[1])
		return F_UNEXPECTED;
	return -1;
}

/* One request on c's connection (opened as needed): a failure, or -1. */
static int one_request(struct client *c, const struct kind *k, struct answer *a)
{
	char req[1024];
	size_t blen = k->body ? strlen(k->body) : 0;
	bool reused = c->fd >= 0;
	int n, ret;

	if (c->fd < 0 && (c->fd = open_conn()) < 0)
		return F_LOST;
	n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\n%s%s%zu\r\n\r\n%s",
		     k->method, k->path, c->keep_alive ? "" : "Connection: close\r\n",
		     k->body ? "Content-Type: application/json\r\nContent-Length: " :
			       "Content-Length: ", blen, k->body ? k->body : "");
	ret = send_all(c->fd, req, n) ? F_LOST : read_answer(c->fd, k, a, reused);
	if (ret >= 0 || a->closes || !c->keep_alive) {
		close(c->fd);
		c->fd = -1;
	}
	if (ret < 0 && c->keep_alive && a->closes)
		ret = F_UNEXPECTED;	/* a keep-alive request answered with a close */
	return ret;
}

static void wait_turn(int id)
{
	pthread_mutex_lock(&turn_lock);
	while (turn % nr_clients != id)
		pthread_cond_wait(&turn_cond, &turn_lock);
	pthread_mutex_unlock(&turn_lock);
}

static void pass_turn(void)
{
	pthread_mutex_lock(&turn_lock);
	turn++;
	pthread_cond_broadcast(&turn_cond);
	pthread_mutex_unlock(&turn_lock);
}

static void *client_main(void *arg)
{
	struct client *c = arg;

	for (int i = 0; i < c->count; i++) {
		const struct kind *k = &mix[(c->id + i) % nr_kinds];
		struct answer a = { 0 };
		long long start;
		int ret;

		if (take_turns)
			wait_turn(c->id);
		start = now_us();
		ret = one_request(c, k, &a);
		latency_us[c->first + i] = now_us() - start;
		if (ret >= 0 && atomic_fetch_add(&failures[ret], 1) < FAILURES_SHOWN) {
			fprintf(stderr, "apiload: client %d: %s %s: %s (status %d)\n", c->id,
				k->method, k->path, failure_names[ret], a.status);
		} else if (ret < 0) {
			atomic_fetch_add(&statuses[a.status], 1);
		}
		if (take_turns)
			pass_turn();
	}
	if (c->fd >= 0)
		close(c->fd);
	return NULL;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static int report(long long elapsed_us)
{
	int answered = 0, failed = 0;

	for (int s = 0; s < 600; s++) {
		if (statuses[s])
			printf("status %d %d\n", s, statuses[s]);
		answered += statuses[s];
	}
	for (int f = 0; f < F_NR; f++) {
		printf("%s %d\n", failure_names[f], failures[f]);
		failed += failures[f];
	}
	qsort(latency_us, total, sizeof(*latency_us), cmp_ll);
	printf("requests %d answered %d connections %d clients %d\n", total, answered,
	       atomic_load(&connections), nr_clients);
	printf("rps %.0f p50_us %lld p99_us %lld max_us %lld\n",
	       total * 1e6 / (elapsed_us ? elapsed_us : 1), latency_us[total / 2],
	       latency_us[(int)(total * 0.99)], latency_us[total - 1]);
	return failed || answered != total;
}

static int usage(void)
{
	fprintf(stderr, "usage: apiload [-c CLIENTS] [-n REQUESTS] [-k keep|close|mixed] "
		"[-m get|all] [-a] SOCK\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct client *clients;
	pthread_t *threads;
	long long start;
	int opt, ret;

	while ((opt = getopt(argc, argv, "c:n:k:m:a")) != -1) {
		switch (opt) {
		case 'c': nr_clients = atoi(optarg); break;
		case 'n': total = atoi(optarg); break;
		case 'k': keep_mode = optarg[0]; break;
		case 'a': take_turns = true; break;
		case 'm':
			if (!strcmp(optarg, "all")) {
				mix = all_mix;
				nr_kinds = sizeof(all_mix) / sizeof(all_mix[0]);
			}
			break;
		default: return usage();
		}
	}
	/* Taking turns, every client makes the same number of requests. */
	if (optind != argc - 1 || nr_clients < 1 || total < nr_clients ||
	    !strchr("kcm", keep_mode) || (take_turns && total % nr_clients))
		return usage();
	sock_path = argv[optind];
	clients = calloc(nr_clients, sizeof(*clients));
	threads = calloc(nr_clients, sizeof(*threads));
	latency_us = calloc(total, sizeof(*latency_us));
	if (!clients || !threads || !latency_us)
		return 1;
	start = now_us();
	for (int i = 0, first = 0; i < nr_clients; i++) {
		struct client *c = &clients[i];

		*c = (struct client){ .id = i, .first = first, .fd = -1,
				      .count = total / nr_clients + (i < total % nr_clients),
				      .keep_alive = keep_mode == 'k' || (keep_mode == 'm' && i % 2) };
		first += c->count;
		if (pthread_create(&threads[i], NULL, client_main, c))
			return 1;
	}
	for (int i = 0; i < nr_clients; i++)
		pthread_join(threads[i], NULL);
	ret = report(now_us() - start);
	free(clients);
	free(threads);
	free(latency_us);
	return ret;
}
