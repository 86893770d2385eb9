// SPDX-License-Identifier: Apache-2.0
/*
 * The API server: the fc_api thread serves every client connection on
 * its own epoll loop. Each connection has its input buffer, the request it
 * is reading, at most one request at the vmm thread and one response going
 * out, and a deadline: a request must arrive whole, and a response be taken,
 * within CLIENT_TIMEOUT_MS. Routed requests queue for the vmm thread, which
 * applies them one at a time in arrival order and hands them back through
 * api_queue; nothing here blocks but epoll_wait, so no client can stall
 * another, and the vmm thread never waits on a client.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
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

#define CLIENT_TIMEOUT_US	5000000	/* to finish a request once begun, or to take a response */
#define DRAIN_MAX		MiB(64)	/* an oversized body is read and dropped up to this */
#define MAX_CONNS		256	/* beyond, clients wait in the listen backlog */
#define LISTEN_BACKLOG		1024
#define ACCEPT_RETRY_US		100000	/* out of fds: try accepting again after this */
#define EVENTS_PER_WAIT		64

#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

struct conn;

struct api_server {
	char *path;
	int listen_fd;
	int stop_efd;			/* -> api thread: stop */
	int epfd;
	struct api_queue *queue;
	size_t max_payload;
	pthread_t thread;
	bool started;
	bool listening;			/* the listening socket is watched */
	uint64_t accept_retry_us;	/* when to watch it again after running out of fds */
	unsigned int nr_conns;
	struct conn *oldest, *newest;	/* by last activity: the longest idle first */
	struct conn *dead;		/* closed in this batch of events, freed after it */
};

enum conn_state {
	C_HEAD,				/* reading a request head (or idle, with nothing read) */
	C_BODY,				/* reading its body */
	C_DRAIN,			/* dropping an oversized body */
};

/* A request at the vmm thread; its connection may go away meanwhile. */
struct job {
	struct api_request req;
	struct conn *conn;		/* NULL once closed */
};

struct conn {
	int fd;				/* -1 once closed */
	uint32_t events;		/* what epoll watches for now */
	struct conn *prev, *next;
	enum conn_state state;
	uint64_t deadline_us;		/* 0: none (idle, or waiting on the vmm thread) */
	bool eof;			/* the client sends no more */
	bool close_after;		/* close once the response is out */
	struct job *job;
	struct http_request http;	/* the current request's head */
	char *body;
	size_t body_have;
	uint64_t drain_left;
	char *out;			/* the response going out */
	size_t out_len, out_sent;
	size_t len;			/* bytes in buf */
	char buf[HTTP_HEAD_MAX];
};

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

	/* Non-blocking: the loop accepts until none is left. */
	srv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
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

static int watch(struct api_server *srv, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	return epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* The loop's own fds; each is told apart by its tag, a pointer no connection has. */
static int watch_all(struct api_server *srv, char *err, size_t errlen)
{
	int ret = watch(srv, srv->stop_efd, &srv->stop_efd) ?:
		  watch(srv, api_queue_done_fd(srv->queue), srv->queue) ?:
		  watch(srv, srv->listen_fd, &srv->listen_fd);

	if (ret) {
		snprintf(err, errlen, "API server: epoll: %s", strerror(-ret));
		unlink(srv->path);
		return ret;
	}
	srv->listening = true;
	return 0;
}

static void free_server(struct api_server *srv)
{
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->stop_efd >= 0)
		close(srv->stop_efd);
	if (srv->epfd >= 0)
		close(srv->epfd);
	api_queue_destroy(srv->queue);
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
	srv->path = strdup(path);
	srv->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	ret = api_queue_create(&srv->queue);
	if (!srv->path || srv->stop_efd < 0 || srv->epfd < 0 || ret) {
		ret = -ENOMEM;
		snprintf(err, errlen, "API server: cannot allocate");
		goto err;
	}
	ret = open_socket(srv, err, errlen) ?: watch_all(srv, err, errlen);
	if (ret)
		goto err;
	*out = srv;
	return 0;
err:
	free_server(srv);
	return ret;
}

/* ---- the vmm thread's side ---- */

int api_server_request_fd(const struct api_server *srv)
{
	return api_queue_todo_fd(srv->queue);
}

struct api_request *api_server_take(struct api_server *srv)
{
	return api_queue_take(srv->queue);
}

void api_server_complete(struct api_server *srv, struct api_request *req)
{
	api_queue_complete(srv->queue, req);
}

/* ---- connections, the longest idle first ---- */

static void unlink_conn(struct api_server *srv, struct conn *c)
{
	*(c->prev ? &c->prev->next : &srv->oldest) = c->next;
	*(c->next ? &c->next->prev : &srv->newest) = c->prev;
	c->prev = c->next = NULL;
}

static void append_conn(struct api_server *srv, struct conn *c)
{
	c->prev = srv->newest;
	c->next = NULL;
	*(srv->newest ? &srv->newest->next : &srv->oldest) = c;
	srv->newest = c;
}

/* c did something: it goes to the back of the line for being closed when idle. */
static void touch(struct api_server *srv, struct conn *c)
{
	if (srv->newest != c) {
		unlink_conn(srv, c);
		append_conn(srv, c);
	}
}

/* Between requests, nothing read, nothing to send or wait for. */
static bool conn_idle(const struct conn *c)
{
	return c->state == C_HEAD && !c->len && !c->job && !c->out;
}

static void set_listening(struct api_server *srv, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.ptr = &srv->listen_fd };

	if (on != srv->listening && !epoll_ctl(srv->epfd, EPOLL_CTL_MOD, srv->listen_fd, &ev))
		srv->listening = on;
}

/* A connection closed or went idle: a waiting client may get its place. */
static void resume_listening(struct api_server *srv)
{
	if (!srv->accept_retry_us)
		set_listening(srv, true);
}

/* Closed now, freed after this batch of events (a later event may name it). */
static void conn_close(struct api_server *srv, struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	if (c->job)
		c->job->conn = NULL;	/* the vmm thread applies it all the same */
	free(c->body);
	free(c->out);
	unlink_conn(srv, c);
	c->next = srv->dead;
	srv->dead = c;
	srv->nr_conns--;
	resume_listening(srv);
}

static void free_dead(struct api_server *srv)
{
	while (srv->dead) {
		struct conn *c = srv->dead;

		srv->dead = c->next;
		free(c);
	}
}

static void consume(struct conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* ---- responses ---- */

/*
 * Queue a response; conn_run() sends it. It must be taken within the
 * request's deadline, or its own when the request is done.
 */
static void respond(struct conn *c, int status, const char *body, const char *type,
		    bool keep_alive)
{
	c->out = http_response(status, type, body, keep_alive, &c->out_len);
	c->out_sent = 0;
	if (!keep_alive || !c->out)
		c->close_after = true;
	if (!c->deadline_us)
		c->deadline_us = util_now_us() + CLIENT_TIMEOUT_US;
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

static void respond_fault(struct conn *c, int status, const char *msg, bool keep_alive)
{
	char *body = fault_json(msg);

	pr_warn("API: %d %s", status, msg);
	respond(c, status, body ? body : "{}", "application/json", keep_alive);
	free(body);
}

static void answer(struct conn *c, const struct api_request *req)
{
	bool keep_alive = c->http.keep_alive;

	c->deadline_us = 0;	/* the request is in: the response gets its own time */
	if (req->status >= 400)
		respond_fault(c, req->status, req->fault, keep_alive);
	else if (req->status == 204 || !req->reply)
		respond(c, 204, NULL, NULL, keep_alive);
	else
		respond(c, 200, req->reply,
			req->reply_text ? "text/plain; version=0.0.4" : "application/json",
			keep_alive);
}

/* Send what the socket takes: 1 when all is out, 0 when it is full, -1 when the client is gone. */
static int flush(struct api_server *srv, struct conn *c)
{
	while (c->out_sent < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
				 MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		c->out_sent += n;
	}
	free(c->out);
	c->out = NULL;
	touch(srv, c);
	if (c->state == C_HEAD)
		c->deadline_us = 0;	/* not after a 100 Continue: the body is still due */
	return 1;
}

/* ---- requests ---- */

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
	[API_PATCH_NET] = { M_PATCH_NETWORK_COUNT, M_PATCH_NETWORK_FAILS },
	[API_PUT_SERIAL] = { -1, -1 },
	[API_PUT_ENTROPY] = { -1, -1 },
	[API_PUT_LOGGER] = { M_PUT_LOGGER_COUNT, M_PUT_LOGGER_FAILS },
	[API_PUT_METRICS] = { M_PUT_METRICS_COUNT, M_PUT_METRICS_FAILS },
	[API_INSTANCE_START] = { M_PUT_ACTIONS_COUNT, M_PUT_ACTIONS_FAILS },
	[API_SEND_CTRL_ALT_DEL] = { M_PUT_ACTIONS_COUNT, M_PUT_ACTIONS_FAILS },
	[API_FLUSH_METRICS] = { M_PUT_ACTIONS_COUNT, M_PUT_ACTIONS_FAILS },
	[API_PAUSE] = { M_PATCH_VM_COUNT, M_PATCH_VM_FAILS },
	[API_RESUME] = { M_PATCH_VM_COUNT, M_PATCH_VM_FAILS },
	[API_SNAPSHOT_CREATE] = { M_PUT_SNAPSHOT_COUNT, M_PUT_SNAPSHOT_FAILS },
	[API_SNAPSHOT_LOAD] = { M_PUT_SNAPSHOT_COUNT, M_PUT_SNAPSHOT_FAILS },
	[API_PUT_BALLOON ... API_BALLOON_HINT_STOP] = { -1, -1 },
	[API_PUT_VSOCK] = { M_PUT_VSOCK_COUNT, M_PUT_VSOCK_FAILS },
	[API_PUT_MMDS] = { M_PUT_MMDS_COUNT, M_PUT_MMDS_FAILS },
	[API_PUT_MMDS_CONFIG] = { M_PUT_MMDS_COUNT, M_PUT_MMDS_FAILS },
	[API_PATCH_MMDS] = { M_PATCH_MMDS_COUNT, M_PATCH_MMDS_FAILS },
	[API_GET_MMDS] = { M_GET_MMDS_COUNT, -1 },
};

static void count_request(const struct api_request *req)
{
	const struct op_metrics *m;

	if (req->op >= API_NR_OPS)
		return;
	/* Index 0 is a gauge, never a request counter: an op left out of the table counts nothing. */
	static_assert(M_API_PROCESS_STARTUP_TIME_US == 0, "metric 0 is the startup gauge");
	m = &op_metrics[req->op];
	if (m->count > 0)
		metrics_inc(m->count);
	if (m->fails > 0 && req->status >= 400)
		metrics_inc(m->fails);
}

/* req is answered: count it, and answer its client if it is still there. */
static void deliver(struct conn *c, struct api_request *req)
{
	count_request(req);
	if (c) {
		pr_debug("API: %s %s: %d", c->http.method_name, c->http.path, req->status);
		answer(c, req);
	}
	api_request_free(req);
}

/* A whole request is in: answer it here, or queue it for the vmm thread. */
static void dispatch(struct api_server *srv, struct conn *c)
{
	struct job *job = calloc(1, sizeof(*job));

	c->state = C_HEAD;
	if (!job) {
		c->deadline_us = 0;
		respond_fault(c, 500, "petrel is out of memory", false);
		goto out;
	}
	if (api_route(&c->http, c->body, c->http.content_length, &job->req)) {
		if (!api_queue_push(srv->queue, &job->req)) {
			job->conn = c;
			c->job = job;
			c->deadline_us = 0;	/* the vmm thread's time is not the client's */
			goto out;
		}
		api_reply_fault(&job->req, "petrel is shutting down");
		job->req.status = 503;
	}
	deliver(c, &job->req);
	free(job);
out:
	free(c->body);
	c->body = NULL;
}

/* Refused unread: the body is dropped as it comes, or the connection ends. */
static void refuse_oversized(struct api_server *srv, struct conn *c)
{
	const struct http_request *http = &c->http;
	/* With Expect: 100-continue the body may never come. */
	bool drain = !http->expect_continue && http->content_length <= DRAIN_MAX;
	char msg[160];

	snprintf(msg, sizeof(msg), "Request payload with size %llu is larger than the limit of "
		 "%zu allowed by server.", (unsigned long long)http->content_length,
		 srv->max_payload);
	respond_fault(c, 400, msg, drain && http->keep_alive);
	if (drain) {
		c->state = C_DRAIN;
		c->drain_left = http->content_length;
	}
}

static void start_body(struct conn *c)
{
	size_t len = c->http.content_length, have = MIN(c->len, len);

	c->body = malloc(len + 1);
	if (!c->body) {
		respond_fault(c, 500, "petrel is out of memory", false);
		return;
	}
	memcpy(c->body, c->buf, have);
	consume(c, have);
	c->body[len] = '\0';
	c->body_have = have;
	c->state = C_BODY;
	if (c->http.expect_continue && have < len)
		respond(c, 100, NULL, NULL, true);
}

enum step { STEP_ON, STEP_WAIT };	/* moved on, or needs more input */

static enum step read_head(struct api_server *srv, struct conn *c)
{
	char err[256];
	int ret;

	if (!c->len)
		return STEP_WAIT;	/* idle: no deadline */
	if (!c->deadline_us)
		c->deadline_us = util_now_us() + CLIENT_TIMEOUT_US;
	ret = http_parse_head(c->buf, c->len, &c->http, err, sizeof(err));
	if (!ret)
		return STEP_WAIT;
	if (ret < 0) {
		respond_fault(c, -ret, err, false);
		return STEP_ON;
	}
	consume(c, ret);
	if (c->http.content_length > srv->max_payload)
		refuse_oversized(srv, c);
	else if (c->http.content_length)
		start_body(c);
	else
		dispatch(srv, c);
	return STEP_ON;
}

static enum step drain(struct conn *c)
{
	size_t n = MIN(c->len, c->drain_left);

	consume(c, n);
	c->drain_left -= n;
	if (c->drain_left)
		return STEP_WAIT;
	c->state = C_HEAD;
	c->deadline_us = 0;
	return STEP_ON;
}

/* Use the input there is. */
static enum step step(struct api_server *srv, struct conn *c)
{
	switch (c->state) {
	case C_HEAD:
		return read_head(srv, c);
	case C_BODY:
		if (c->body_have < c->http.content_length)
			return STEP_WAIT;
		dispatch(srv, c);
		return STEP_ON;
	case C_DRAIN:
		return drain(c);
	}
	return STEP_WAIT;
}

/* Watch for what c waits on: room to send, input, or (at the vmm) nothing. */
static void update_events(struct api_server *srv, struct conn *c)
{
	uint32_t want = c->out ? EPOLLOUT : c->job ? 0 : EPOLLIN;
	struct epoll_event ev = { .events = want, .data.ptr = c };

	if (want != c->events && !epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev))
		c->events = want;
	if (srv->nr_conns >= MAX_CONNS && conn_idle(c))
		resume_listening(srv);
}

/*
 * Move c on as far as it goes without waiting: send its response, then
 * take the next request from its input. A response not yet taken stops
 * the reading (pipelined requests wait in the socket): back-pressure on
 * this client alone.
 */
static void conn_run(struct api_server *srv, struct conn *c)
{
	int ret;

	while (!c->job) {
		if (c->out) {
			ret = flush(srv, c);
			if (ret < 0)
				goto close;
			if (!ret)
				break;
		}
		if (c->close_after && c->state == C_HEAD)
			goto close;
		if (step(srv, c) == STEP_WAIT) {
			if (c->eof)
				goto close;
			break;
		}
	}
	update_events(srv, c);
	return;
close:
	conn_close(srv, c);
}

static void conn_read(struct api_server *srv, struct conn *c)
{
	char *dst = c->buf + c->len;
	size_t room = sizeof(c->buf) - c->len;
	ssize_t n;

	if (c->state == C_BODY) {
		dst = c->body + c->body_have;
		room = c->http.content_length - c->body_have;
	}
	if (!room)
		return;
	n = recv(c->fd, dst, room, 0);
	if (n > 0) {
		*(c->state == C_BODY ? &c->body_have : &c->len) += n;
		touch(srv, c);
	} else if (!n || (errno != EAGAIN && errno != EINTR)) {
		c->eof = true;	/* what came is still served, if the client reads */
	}
}

static void on_conn(struct api_server *srv, struct conn *c, uint32_t events)
{
	/* Gone while at the vmm: nothing would ever read the answer. */
	if ((events & EPOLLERR) || ((events & EPOLLHUP) && c->job)) {
		conn_close(srv, c);
		return;
	}
	if (events & EPOLLIN)
		conn_read(srv, c);
	conn_run(srv, c);
}

static void on_answers(struct api_server *srv)
{
	struct api_request *req;

	while ((req = api_queue_answered(srv->queue))) {
		struct job *job = container_of(req, struct job, req);
		struct conn *c = job->conn;

		if (c)
			c->job = NULL;
		deliver(c, req);
		free(job);
		if (c)
			conn_run(srv, c);
	}
}

/* ---- the loop ---- */

/* Make room by closing the client idle the longest; false when none is idle. */
static bool evict_idle(struct api_server *srv)
{
	for (struct conn *c = srv->oldest; c; c = c->next) {
		if (conn_idle(c)) {
			pr_debug("API: %d connections: closing the longest idle one", MAX_CONNS);
			conn_close(srv, c);
			return true;
		}
	}
	return false;
}

static void add_conn(struct api_server *srv, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	if (!c || epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		free(c);
		close(fd);
		return;
	}
	c->fd = fd;
	c->events = EPOLLIN;
	append_conn(srv, c);
	srv->nr_conns++;
	/* What it sent already is read now: until then it would look idle, fit for closing. */
	on_conn(srv, c, EPOLLIN);
}

static void accept_clients(struct api_server *srv)
{
	int fd;

	for (int i = 0; i < EVENTS_PER_WAIT; i++) {
		/* The socket woke us, so someone waits: on the first round only. */
		if (srv->nr_conns >= MAX_CONNS && (i || !evict_idle(srv))) {
			if (!i)
				set_listening(srv, false);	/* the rest wait in the backlog */
			return;
		}
		fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0) {
			add_conn(srv, fd);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS) {
			pr_warn("API: cannot accept a client: %s; trying again shortly",
				strerror(errno));
			set_listening(srv, false);
			srv->accept_retry_us = util_now_us() + ACCEPT_RETRY_US;
		}
		return;		/* EAGAIN: none left */
	}
}

/* epoll_wait's timeout: until the nearest deadline, or forever. */
static int next_timeout(const struct api_server *srv)
{
	uint64_t first = srv->accept_retry_us ?: UINT64_MAX, now;

	for (const struct conn *c = srv->oldest; c; c = c->next) {
		if (c->deadline_us && c->deadline_us < first)
			first = c->deadline_us;
	}
	if (first == UINT64_MAX)
		return -1;
	now = util_now_us();
	return first <= now ? 0 : (int)MIN((first - now + 999) / 1000, (uint64_t)INT32_MAX);
}

static void expire(struct api_server *srv)
{
	uint64_t now = util_now_us();
	struct conn *c, *next;

	if (srv->accept_retry_us && now >= srv->accept_retry_us) {
		srv->accept_retry_us = 0;
		set_listening(srv, true);
	}
	for (c = srv->oldest; c; c = next) {
		next = c->next;
		if (c->deadline_us && now >= c->deadline_us) {
			pr_info("API: a client took over %d s to send a request or take a response; "
				"closing it", CLIENT_TIMEOUT_US / 1000000);
			conn_close(srv, c);
		}
	}
}

static void dispatch_event(struct api_server *srv, void *tag, uint32_t events, bool *stop)
{
	struct conn *c = tag;

	if (tag == &srv->stop_efd)
		*stop = true;
	else if (tag == &srv->listen_fd)
		accept_clients(srv);
	else if (tag == srv->queue)
		on_answers(srv);
	else if (c->fd >= 0)	/* not closed earlier in this batch */
		on_conn(srv, c, events);
}

static void serve(struct api_server *srv)
{
	struct epoll_event evs[EVENTS_PER_WAIT];
	bool stop = false;
	int n;

	while (!stop) {
		n = epoll_wait(srv->epfd, evs, EVENTS_PER_WAIT, next_timeout(srv));
		if (n < 0 && errno != EINTR) {
			pr_err("API: epoll_wait: %s", strerror(errno));
			return;
		}
		for (int i = 0; i < n; i++)
			dispatch_event(srv, evs[i].data.ptr, evs[i].events, &stop);
		expire(srv);
		free_dead(srv);
	}
}

/* petrel is stopping: answer what is left (503 if never applied), close every client. */
static void shut_down(struct api_server *srv)
{
	struct api_request *req, *next;

	on_answers(srv);
	for (req = api_queue_close(srv->queue); req; req = next) {
		struct job *job = container_of(req, struct job, req);
		struct conn *c = job->conn;

		next = req->next;
		api_reply_fault(req, "petrel is shutting down");
		req->status = 503;
		if (c)
			c->job = NULL;
		deliver(c, req);
		free(job);
	}
	while (srv->oldest) {
		struct conn *c = srv->oldest;

		if (c->out)
			flush(srv, c);	/* what the socket takes now */
		conn_close(srv, c);
	}
	free_dead(srv);
}

static void *api_thread(void *arg)
{
	struct api_server *srv = arg;

	pthread_setname_np(pthread_self(), LOG_THREAD_API);
	jail_seccomp_enter(JAIL_API);
	serve(srv);
	shut_down(srv);
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
	if (write(srv->stop_efd, &one, sizeof(one)) < 0) {
		/* Already signalled. */
	}
	if (srv->started)
		pthread_join(srv->thread, NULL);
	unlink(srv->path);
	free_server(srv);
}
