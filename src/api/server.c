// SPDX-License-Identifier: Apache-2.0
/*
 * The API server: the petrel_api thread accepts clients on a Unix socket
 * one after another and serves their HTTP/1.1 requests one at a time (keep-
 * alive, pipelining). A routed request goes to the vmm thread through a
 * one-slot queue and an eventfd, and is answered once applied. The vmm
 * thread never waits on a client: a client that stalls or vanishes only
 * holds up this thread, for CLIENT_TIMEOUT_MS at most per request.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <petrel/api.h>
#include <petrel/jail.h>
#include <petrel/log.h>
#include <petrel/metrics.h>
#include <petrel/util.h>

#define CLIENT_TIMEOUT_MS	5000	/* to finish a request once begun, or to take a response */
#define DRAIN_MAX		MiB(64)	/* an oversized body is read and dropped up to this */
#define LISTEN_BACKLOG		64
#define ACCEPT_BACKOFF_US	10000

struct api_server {
	char *path;
	int listen_fd;
	int stop_efd;			/* -> api thread: stop */
	int request_efd;		/* -> vmm thread: a request waits in the slot */
	size_t max_payload;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;		/* guards the slot */
	pthread_cond_t cond;
	struct api_request *pending;
	bool answered;
	bool stopping;
};

struct conn {
	int fd;
	uint64_t deadline_us;		/* the current request must be in by then */
	size_t len;			/* bytes in buf */
	char buf[HTTP_HEAD_MAX];
};

enum wait_result { WAIT_READY, WAIT_GIVE_UP };

/* ---- the socket ---- */

static void set_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, strlen(path) + 1);
}

static int bind_path(int fd, const char *path)
{
	struct sockaddr_un sa;

	set_addr(&sa, path);
	return bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
}

/* A full backlog (EAGAIN) also means someone listens there. */
static bool server_answers(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa;
	bool yes;

	if (fd < 0)
		return false;
	set_addr(&sa, path);
	yes = !connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || errno == EAGAIN;
	close(fd);
	return yes;
}

/* Bind path; a socket nobody answers on is left over from a dead process. */
static int claim_path(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int ret = bind_path(fd, path);

	if (ret != -EADDRINUSE)
		goto out;
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "API socket %s: exists and is not a socket", path);
		return -EEXIST;
	}
	if (server_answers(path)) {
		snprintf(err, errlen, "API socket %s: another server answers there; "
			 "refusing to start (is another petrel running?)", path);
		return -EADDRINUSE;
	}
	pr_info("API socket %s: replacing a stale socket", path);
	unlink(path);
	ret = bind_path(fd, path);
out:
	if (ret)
		snprintf(err, errlen, "API socket %s: %s", path, strerror(-ret));
	return ret;
}

static int open_socket(struct api_server *srv, char *err, size_t errlen)
{
	int ret;

	srv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (srv->listen_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "API socket: %s", strerror(errno));
		return ret;
	}
	ret = claim_path(srv->listen_fd, srv->path, err, errlen);
	if (ret)
		return ret;
	if (listen(srv->listen_fd, LISTEN_BACKLOG) < 0) {
		ret = -errno;
		snprintf(err, errlen, "API socket %s: listen: %s", srv->path, strerror(errno));
		unlink(srv->path);
		return ret;
	}
	return 0;
}

static void free_server(struct api_server *srv)
{
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->stop_efd >= 0)
		close(srv->stop_efd);
	if (srv->request_efd >= 0)
		close(srv->request_efd);
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
	free(srv->path);
	free(srv);
}

int api_server_create(const char *path, size_t max_payload, struct api_server **out,
		      char *err, size_t errlen)
{
	struct api_server *srv;
	int ret;

	if (!*path || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errlen, "API socket %s: the path must be 1..%zu bytes", path,
			 sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		return -ENAMETOOLONG;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->max_payload = max_payload;
	srv->listen_fd = -1;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	srv->path = strdup(path);
	srv->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	srv->request_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!srv->path || srv->stop_efd < 0 || srv->request_efd < 0) {
		ret = -ENOMEM;
		snprintf(err, errlen, "API server: cannot allocate");
		goto err;
	}
	ret = open_socket(srv, err, errlen);
	if (ret)
		goto err;
	*out = srv;
	return 0;
err:
	free_server(srv);
	return ret;
}

/* ---- the slot between the threads ---- */

int api_server_request_fd(const struct api_server *srv)
{
	return srv->request_efd;
}

struct api_request *api_server_take(struct api_server *srv)
{
	struct api_request *req;
	uint64_t v;

	if (read(srv->request_efd, &v, sizeof(v)) < 0) {
		/* Nothing signalled: the slot tells. */
	}
	pthread_mutex_lock(&srv->lock);
	req = srv->answered ? NULL : srv->pending;
	pthread_mutex_unlock(&srv->lock);
	return req;
}

void api_server_complete(struct api_server *srv, struct api_request *req)
{
	pthread_mutex_lock(&srv->lock);
	if (srv->pending == req) {
		srv->answered = true;
		pthread_cond_broadcast(&srv->cond);
	}
	pthread_mutex_unlock(&srv->lock);
}

/* Hand req to the vmm thread and wait for its answer; -ESHUTDOWN when stopping. */
static int submit(struct api_server *srv, struct api_request *req)
{
	uint64_t one = 1;
	int ret = 0;

	pthread_mutex_lock(&srv->lock);
	if (srv->stopping) {
		pthread_mutex_unlock(&srv->lock);
		return -ESHUTDOWN;
	}
	srv->pending = req;
	srv->answered = false;
	pthread_mutex_unlock(&srv->lock);
	if (write(srv->request_efd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow with one request at a time. */
	}
	pthread_mutex_lock(&srv->lock);
	while (!srv->answered && !srv->stopping)
		pthread_cond_wait(&srv->cond, &srv->lock);
	if (!srv->answered)
		ret = -ESHUTDOWN;
	srv->pending = NULL;
	pthread_mutex_unlock(&srv->lock);
	return ret;
}

/* ---- responses ---- */

static int send_all(int fd, struct iovec *iov, int cnt)
{
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = cnt };

	while (msg.msg_iovlen) {
		ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;	/* gone, or SO_SNDTIMEO: nobody reads */
		while (msg.msg_iovlen && (size_t)n >= msg.msg_iov->iov_len) {
			n -= msg.msg_iov->iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen) {
			msg.msg_iov->iov_base = (char *)msg.msg_iov->iov_base + n;
			msg.msg_iov->iov_len -= n;
		}
	}
	return 0;
}

static int send_response(struct conn *c, int status, const char *body, const char *type,
			 bool keep_alive)
{
	char head[256];
	struct iovec iov[2];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nServer: petrel\r\nConnection: %s\r\n",
		     status, http_reason(status), keep_alive ? "keep-alive" : "close");
	if (body)
		n += snprintf(head + n, sizeof(head) - n,
			      "Content-Type: %s\r\nContent-Length: %zu\r\n", type, strlen(body));
	else if (status != 204)
		n += snprintf(head + n, sizeof(head) - n, "Content-Length: 0\r\n");
	n += snprintf(head + n, sizeof(head) - n, "\r\n");
	iov[0] = (struct iovec){ head, n };
	iov[1] = (struct iovec){ (void *)body, body ? strlen(body) : 0 };
	return send_all(c->fd, iov, body ? 2 : 1);
}

/* {"fault_message": msg}; bytes that are not UTF-8 (a cut message) become '?'. */
static char *fault_json(const char *msg)
{
	json_t *v = json_pack("{s:s}", "fault_message", msg);
	char *text, *safe;

	if (!v && (safe = strdup(msg))) {
		for (char *p = safe; *p; p++)
			*p = (unsigned char)*p >= 0x80 ? '?' : *p;
		v = json_pack("{s:s}", "fault_message", safe);
		free(safe);
	}
	text = v ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	return text;
}

static int send_fault(struct conn *c, int status, const char *msg, bool keep_alive)
{
	char *body = fault_json(msg);
	int ret;

	pr_warn("API: %d %s", status, msg);
	ret = send_response(c, status, body ? body : "{}", "application/json", keep_alive);
	free(body);
	return ret;
}

static int send_answer(struct conn *c, const struct api_request *req, bool keep_alive)
{
	if (req->status >= 400)
		return send_fault(c, req->status, req->fault, keep_alive);
	if (req->status == 204 || !req->reply)
		return send_response(c, 204, NULL, NULL, keep_alive);
	return send_response(c, 200, req->reply,
			     req->reply_text ? "text/plain; version=0.0.4" : "application/json",
			     keep_alive);
}

/* ---- reading a request ---- */

static int remaining_ms(const struct conn *c)
{
	uint64_t now = util_now_us();

	return now >= c->deadline_us ? 0 : (int)((c->deadline_us - now + 999) / 1000);
}

/*
 * Wait for bytes from the client. Between requests (idle) it may wait
 * forever, unless another client is waiting to connect: then this one,
 * idle, makes way. Mid-request it waits until the request's deadline.
 */
static enum wait_result wait_input(struct api_server *srv, struct conn *c, bool idle)
{
	struct pollfd p[3] = {
		{ .fd = c->fd, .events = POLLIN }, { .fd = srv->stop_efd, .events = POLLIN },
		{ .fd = srv->listen_fd, .events = POLLIN },
	};
	int n;

	do {
		n = poll(p, idle ? 3 : 2, idle ? -1 : remaining_ms(c));
	} while (n < 0 && errno == EINTR);
	if (n <= 0 || p[1].revents)
		return WAIT_GIVE_UP;	/* timed out, failed, or petrel is stopping */
	return p[0].revents ? WAIT_READY : WAIT_GIVE_UP;
}

static ssize_t recv_some(struct api_server *srv, struct conn *c, void *buf, size_t len,
			 bool idle)
{
	ssize_t n;

	if (wait_input(srv, c, idle) != WAIT_READY)
		return -1;
	do {
		n = recv(c->fd, buf, len, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n > 0 && idle)
		c->deadline_us = util_now_us() + CLIENT_TIMEOUT_MS * 1000ull;
	return n > 0 ? n : -1;
}

static void consume(struct conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* The head's length, or -1 when the connection is done (an error answered). */
static int read_head(struct api_server *srv, struct conn *c, struct http_request *http)
{
	char err[256];
	ssize_t n;
	int ret;

	for (;;) {
		ret = c->len ? http_parse_head(c->buf, c->len, http, err, sizeof(err)) : 0;
		if (ret > 0)
			return ret;
		if (ret < 0) {
			send_fault(c, -ret, err, false);
			return -1;
		}
		n = recv_some(srv, c, c->buf + c->len, sizeof(c->buf) - c->len, c->len == 0);
		if (n < 0)
			return -1;
		c->len += n;
	}
}

/* The body (NUL-terminated) after a head of head_len bytes; NULL when it never came. */
static char *read_body(struct api_server *srv, struct conn *c, size_t head_len, size_t len)
{
	size_t have = MIN(c->len - head_len, len);
	char *body = malloc(len + 1);
	ssize_t n;

	if (!body)
		return NULL;
	memcpy(body, c->buf + head_len, have);
	consume(c, head_len + have);
	for (; have < len; have += n) {
		n = recv_some(srv, c, body + have, len - have, false);
		if (n < 0) {
			free(body);
			return NULL;
		}
	}
	body[len] = '\0';
	return body;
}

/* Read and drop an oversized body; true if all of it came (the stream is in step). */
static bool drain_body(struct api_server *srv, struct conn *c, size_t head_len, uint64_t len)
{
	size_t have = MIN(c->len - head_len, len);
	char scratch[4096];
	ssize_t n;

	consume(c, head_len + have);
	if (len > DRAIN_MAX)
		return false;
	for (; have < len; have += n) {
		n = recv_some(srv, c, scratch, MIN(sizeof(scratch), len - have), false);
		if (n < 0)
			return false;
	}
	return true;
}

/* ---- serving ---- */

struct op_metrics {
	int count;
	int fails;			/* -1: none */
};

/* Firecracker's request counters; requests that match no path are not counted. */
static const struct op_metrics op_metrics[API_NR_OPS] = {
	[API_GET_INFO] = { M_GET_INSTANCE_INFO_COUNT, -1 },
	[API_GET_VERSION] = { M_GET_VMM_VERSION_COUNT, -1 },
	[API_GET_MACHINE] = { M_GET_MACHINE_CFG_COUNT, -1 },
	[API_GET_VM_CONFIG] = { -1, -1 },
	[API_GET_METRICS] = { M_GET_METRICS_COUNT, -1 },
	[API_PUT_BOOT_SOURCE] = { M_PUT_BOOT_SOURCE_COUNT, M_PUT_BOOT_SOURCE_FAILS },
	[API_PUT_MACHINE] = { M_PUT_MACHINE_CFG_COUNT, M_PUT_MACHINE_CFG_FAILS },
	[API_PATCH_MACHINE] = { M_PATCH_MACHINE_CFG_COUNT, M_PATCH_MACHINE_CFG_FAILS },
	[API_PUT_DRIVE] = { M_PUT_DRIVE_COUNT, M_PUT_DRIVE_FAILS },
	[API_PATCH_DRIVE] = { M_PATCH_DRIVE_COUNT, M_PATCH_DRIVE_FAILS },
	[API_PUT_NET] = { M_PUT_NETWORK_COUNT, M_PUT_NETWORK_FAILS },
	[API_PUT_ENTROPY] = { -1, -1 },
	[API_PUT_LOGGER] = { M_PUT_LOGGER_COUNT, M_PUT_LOGGER_FAILS },
	[API_PUT_METRICS] = { M_PUT_METRICS_COUNT, M_PUT_METRICS_FAILS },
	[API_INSTANCE_START] = { M_PUT_ACTIONS_COUNT, M_PUT_ACTIONS_FAILS },
	[API_SEND_CTRL_ALT_DEL] = { M_PUT_ACTIONS_COUNT, M_PUT_ACTIONS_FAILS },
	[API_FLUSH_METRICS] = { M_PUT_ACTIONS_COUNT, M_PUT_ACTIONS_FAILS },
	[API_PAUSE] = { M_PATCH_VM_COUNT, M_PATCH_VM_FAILS },
	[API_RESUME] = { M_PATCH_VM_COUNT, M_PATCH_VM_FAILS },
};

static void count_request(const struct api_request *req)
{
	const struct op_metrics *m;

	if (req->op >= API_NR_OPS)
		return;
	m = &op_metrics[req->op];
	if (m->count >= 0)
		metrics_inc(m->count);
	if (m->fails >= 0 && req->status >= 400)
		metrics_inc(m->fails);
}

static int handle(struct api_server *srv, struct conn *c, const struct http_request *http,
		  const char *body, size_t len)
{
	struct api_request req;
	int ret;

	if (api_route(http, body, len, &req) && submit(srv, &req)) {
		api_reply_fault(&req, "petrel is shutting down");
		req.status = 503;
	}
	count_request(&req);
	pr_debug("API: %s %s: %d", http->method_name, http->path, req.status);
	ret = send_answer(c, &req, http->keep_alive);
	api_request_free(&req);
	return ret;
}

static int refuse_oversized(struct api_server *srv, struct conn *c,
			    const struct http_request *http, size_t head_len)
{
	char msg[160];
	bool in_step;

	snprintf(msg, sizeof(msg), "Request payload with size %llu is larger than the limit of "
		 "%zu allowed by server.", (unsigned long long)http->content_length,
		 srv->max_payload);
	/* With Expect: 100-continue the body may never come: the connection ends. */
	if (send_fault(c, 400, msg, http->keep_alive && !http->expect_continue) ||
	    http->expect_continue)
		return -1;
	in_step = drain_body(srv, c, head_len, http->content_length);
	return in_step && http->keep_alive ? 0 : -1;
}

static int send_continue(struct conn *c, const struct http_request *http, size_t head_len)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct iovec iov = { (void *)cont, sizeof(cont) - 1 };

	if (!http->expect_continue || c->len - head_len >= http->content_length)
		return 0;
	return send_all(c->fd, &iov, 1);
}

/* One request: 0 to go on with this connection, -1 to close it. */
static int serve_one(struct api_server *srv, struct conn *c)
{
	struct http_request http;
	char *body = NULL;
	int head_len, ret;

	if (c->len)
		c->deadline_us = util_now_us() + CLIENT_TIMEOUT_MS * 1000ull;
	head_len = read_head(srv, c, &http);
	if (head_len < 0)
		return -1;
	if (http.content_length > srv->max_payload)
		return refuse_oversized(srv, c, &http, head_len);
	if (send_continue(c, &http, head_len))
		return -1;
	if (http.content_length) {
		body = read_body(srv, c, head_len, http.content_length);
		if (!body)
			return -1;	/* the client left or stalled mid-body */
	} else {
		consume(c, head_len);
	}
	ret = handle(srv, c, &http, body, http.content_length);
	free(body);
	return ret || !http.keep_alive ? -1 : 0;
}

static void serve(struct api_server *srv, int fd)
{
	struct conn *c = malloc(sizeof(*c));
	struct timeval tv = { .tv_sec = CLIENT_TIMEOUT_MS / 1000 };

	if (!c)
		return;
	c->fd = fd;
	c->len = 0;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (!serve_one(srv, c))
		;
	free(c);
}

static bool stopping(struct api_server *srv)
{
	bool yes;

	pthread_mutex_lock(&srv->lock);
	yes = srv->stopping;
	pthread_mutex_unlock(&srv->lock);
	return yes;
}

static int accept_client(struct api_server *srv)
{
	struct pollfd p[2] = {
		{ .fd = srv->listen_fd, .events = POLLIN }, { .fd = srv->stop_efd, .events = POLLIN },
	};
	int fd;

	if (poll(p, 2, -1) <= 0 || p[1].revents)
		return -1;
	fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOMEM))
		usleep(ACCEPT_BACKOFF_US);	/* out of fds: do not spin */
	return fd;
}

static void *api_thread(void *arg)
{
	struct api_server *srv = arg;
	int fd;

	pthread_setname_np(pthread_self(), "petrel_api");
	jail_seccomp_enter(JAIL_API);
	while (!stopping(srv)) {
		fd = accept_client(srv);
		if (fd < 0)
			continue;
		serve(srv, fd);
		close(fd);
	}
	return NULL;
}

int api_server_start(struct api_server *srv)
{
	int ret = pthread_create(&srv->thread, NULL, api_thread, srv);

	if (ret)
		return -ret;
	srv->started = true;
	return 0;
}

const char *api_server_path(const struct api_server *srv)
{
	return srv->path;
}

void api_server_destroy(struct api_server *srv)
{
	uint64_t one = 1;

	if (!srv)
		return;
	pthread_mutex_lock(&srv->lock);
	srv->stopping = true;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	if (write(srv->stop_efd, &one, sizeof(one)) < 0) {
		/* Already signalled. */
	}
	if (srv->started)
		pthread_join(srv->thread, NULL);
	unlink(srv->path);
	free_server(srv);
}
