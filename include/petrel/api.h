/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_API_H
#define PETREL_API_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/*
 * The control API: Firecracker's REST paths over HTTP/1.1 on a Unix socket.
 * The fc_api thread serves every client connection on its own epoll
 * loop, parses and validates each request into a struct api_request and
 * queues it for the vmm thread, which applies one at a time in arrival order
 * and hands it back, answered, through a second queue.
 */

#define API_DEFAULT_SOCKET	"/run/petrel.socket"
#define API_DEFAULT_MAX_PAYLOAD	51200
/* GET /version's firecracker_version: the Firecracker API level petrel follows. */
#define PETREL_FC_API_VERSION	"1.17.0-dev"

/* ---- HTTP request heads (exposed for unit tests and fuzzing) ---- */

#define HTTP_HEAD_MAX		8192	/* request line and headers together */
#define HTTP_PATH_MAX		1024

enum http_method { HTTP_GET, HTTP_PUT, HTTP_PATCH, HTTP_OTHER };

struct http_request {
	enum http_method method;
	char method_name[16];		/* as sent, for messages */
	char path[HTTP_PATH_MAX];	/* the target without its query */
	bool keep_alive;
	bool has_length;		/* a Content-Length header was sent */
	uint64_t content_length;
	bool expect_continue;		/* Expect: 100-continue */
};

/*
 * Parse the request head at the start of buf (leading empty lines are
 * skipped; lines end in CRLF or LF). Returns the head's length through its
 * empty line, 0 when more bytes are needed (and len < HTTP_HEAD_MAX), or a
 * negative HTTP status (-400, -411, -501, -505) with the reason in err.
 */
int http_parse_head(const char *buf, size_t len, struct http_request *req,
		    char *err, size_t errlen);
/* "HTTP/1.1 <status> <reason>": the reason phrase of the statuses petrel sends. */
const char *http_reason(int status);
/*
 * A whole response (head and body) in one malloc'd buffer of *len bytes, or
 * NULL when out of memory. body NULL: none (Content-Length: 0, none at all
 * for 204 and 100).
 */
char *http_response(int status, const char *type, const char *body, bool keep_alive,
		    size_t *len);

/* ---- requests for the vmm thread ---- */

enum api_op {
	API_GET_INFO,
	API_GET_VERSION,
	API_GET_MACHINE,
	API_GET_VM_CONFIG,
	API_GET_METRICS,
	API_PUT_BOOT_SOURCE,
	API_PUT_MACHINE,
	API_PATCH_MACHINE,
	API_PUT_DRIVE,
	API_PATCH_DRIVE,
	API_PUT_NET,
	API_PUT_ENTROPY,
	API_PUT_LOGGER,
	API_PUT_METRICS,
	API_INSTANCE_START,
	API_SEND_CTRL_ALT_DEL,
	API_FLUSH_METRICS,
	API_PAUSE,
	API_RESUME,
	API_SNAPSHOT_CREATE,
	API_SNAPSHOT_LOAD,
	API_PUT_BALLOON,
	API_PATCH_BALLOON,
	API_GET_BALLOON,
	API_GET_BALLOON_STATS,
	API_PATCH_BALLOON_STATS,
	API_BALLOON_HINT_START,
	API_BALLOON_HINT_STATUS,
	API_BALLOON_HINT_STOP,
	API_PUT_MMDS,
	API_PATCH_MMDS,
	API_GET_MMDS,
	API_PUT_MMDS_CONFIG,
	API_PUT_VSOCK,
	API_PATCH_NET,
	API_PUT_SERIAL,
	API_NR_OPS,
};

#define API_FAULT_MAX		1024

/* A validated request, and then its answer. */
struct api_request {
	enum api_op op;
	char id[65];			/* {drive_id} or {iface_id} from the path */
	json_t *body;			/* the validated body; NULL when it has none */
	const char *path_on_host;	/* PATCH /drives: the new file (in body), or NULL */

	int status;			/* 200, 204, 400 or 413 */
	char *reply;			/* 200: the body, malloc'd */
	bool reply_text;		/* the reply is text/plain, not JSON */
	char fault[API_FAULT_MAX];	/* 400: the fault_message */

	struct api_request *next;	/* the queue's link */
	uint64_t queued_us;		/* when the vmm thread was handed it */
};

/*
 * Route one request and validate its body. Returns 1 when req must be
 * applied by the vmm thread, 0 when it is already answered (an error, or
 * something that needs no VM state such as GET /version).
 */
int api_route(const struct http_request *http, const char *body, size_t len,
	      struct api_request *req);
const char *api_op_name(enum api_op op);

void api_reply_ok(struct api_request *req);
/* Takes the reference to v. */
void api_reply_json(struct api_request *req, json_t *v);
/* Takes ownership of text (malloc'd). */
void api_reply_text(struct api_request *req, char *text);
void api_reply_fault(struct api_request *req, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void api_request_free(struct api_request *req);

/* ---- the queue between the api and vmm threads (exposed for unit tests) ---- */

/*
 * Requests wait in arrival order for the vmm thread (todo), and come back
 * answered to the api thread (done). Each list has an eventfd that is
 * readable while the list holds a request, so a level-triggered loop that
 * takes one per wakeup serves its other events between requests.
 */
struct api_queue;

int api_queue_create(struct api_queue **out);
/* The lists must be empty (api_queue_close() and api_queue_answered() drained them). */
void api_queue_destroy(struct api_queue *q);
int api_queue_todo_fd(const struct api_queue *q);
int api_queue_done_fd(const struct api_queue *q);
/* api thread: queue req for the vmm thread; -ESHUTDOWN once closed. */
int api_queue_push(struct api_queue *q, struct api_request *req);
/* vmm thread: the oldest waiting request, or NULL. */
struct api_request *api_queue_take(struct api_queue *q);
/* vmm thread: hand req back, answered. */
void api_queue_complete(struct api_queue *q, struct api_request *req);
/* api thread: the oldest answered request, or NULL. */
struct api_request *api_queue_answered(struct api_queue *q);
/* api thread: refuse further pushes; the requests never taken, linked by next. */
struct api_request *api_queue_close(struct api_queue *q);

/* ---- the server ---- */

struct api_server;

/*
 * Bind and listen on path: refused (-EADDRINUSE) when a server answers
 * there, a stale socket is replaced; the message goes to err.
 */
int api_server_create(const char *path, size_t max_payload, struct api_server **out,
		      char *err, size_t errlen);
/* Start the fc_api thread. */
int api_server_start(struct api_server *srv);
/* The socket's path: the very string api_server_destroy() unlinks. */
const char *api_server_path(const struct api_server *srv);
/* Stop the thread, close the socket and remove its path. */
void api_server_destroy(struct api_server *srv);

/* vmm thread: readable while a request waits to be applied. */
int api_server_request_fd(const struct api_server *srv);
/*
 * vmm thread: the oldest waiting request (NULL if none); answer it with
 * api_server_complete(). Take one per wakeup: the fd stays readable while
 * more wait.
 */
struct api_request *api_server_take(struct api_server *srv);
void api_server_complete(struct api_server *srv, struct api_request *req);

#endif
