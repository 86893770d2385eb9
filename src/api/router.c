// SPDX-License-Identifier: Apache-2.0
/*
 * The router: a method and a path become an api_op, and the body is checked
 * (JSON, known fields, types, the id in the path) before the vmm thread
 * sees it. Sections of the configuration are checked by the config parsers
 * on a scratch config, so the vmm thread is left with the checks that need
 * the real one (a second root drive, a tap already in use). Messages follow
 * Firecracker's where it has one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/api.h>
#include <petrel/config.h>
#include <petrel/util.h>

#define ID_MAX		64
#define ID_CHARS	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

typedef int (*check_fn)(struct api_request *req, json_t *body);

struct route {
	enum http_method method;
	const char *resource;		/* the first path segment */
	const char *sub;		/* the second, if it is this word */
	bool id;			/* the second is an id: /drives/{drive_id} */
	enum api_op op;			/* PUT /actions and PATCH /vm: the body picks it */
	check_fn check;			/* NULL: the request takes no body */
};

static const char *const op_names[API_NR_OPS] = {
	[API_GET_INFO] = "GET /",
	[API_GET_VERSION] = "GET /version",
	[API_GET_MACHINE] = "GET /machine-config",
	[API_GET_VM_CONFIG] = "GET /vm/config",
	[API_GET_METRICS] = "GET /metrics",
	[API_PUT_BOOT_SOURCE] = "PUT /boot-source",
	[API_PUT_MACHINE] = "PUT /machine-config",
	[API_PATCH_MACHINE] = "PATCH /machine-config",
	[API_PUT_DRIVE] = "PUT /drives",
	[API_PATCH_DRIVE] = "PATCH /drives",
	[API_PUT_NET] = "PUT /network-interfaces",
	[API_PUT_ENTROPY] = "PUT /entropy",
	[API_PUT_LOGGER] = "PUT /logger",
	[API_PUT_METRICS] = "PUT /metrics",
	[API_INSTANCE_START] = "InstanceStart",
	[API_SEND_CTRL_ALT_DEL] = "SendCtrlAltDel",
	[API_FLUSH_METRICS] = "FlushMetrics",
	[API_PAUSE] = "PATCH /vm Paused",
	[API_RESUME] = "PATCH /vm Resumed",
};

const char *api_op_name(enum api_op op)
{
	return op < API_NR_OPS ? op_names[op] : "?";
}

/* ---- answers ---- */

void api_reply_ok(struct api_request *req)
{
	req->status = 204;
}

void api_reply_fault(struct api_request *req, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(req->fault, sizeof(req->fault), fmt, ap);
	va_end(ap);
	req->status = 400;
}

void api_reply_json(struct api_request *req, json_t *v)
{
	char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;

	json_decref(v);
	if (!text) {
		api_reply_fault(req, "out of memory");
		return;
	}
	free(req->reply);
	req->reply = text;
	req->reply_text = false;
	req->status = 200;
}

void api_reply_text(struct api_request *req, char *text)
{
	if (!text) {
		api_reply_fault(req, "out of memory");
		return;
	}
	free(req->reply);
	req->reply = text;
	req->reply_text = true;
	req->status = 200;
}

void api_request_free(struct api_request *req)
{
	json_decref(req->body);
	free(req->reply);
	req->body = NULL;
	req->reply = NULL;
}

/* ---- body checks ---- */

typedef int (*section_fn)(struct vm_config *cfg, json_t *obj, char *err, size_t errlen);

/* Run a config section parser on a scratch config: shape and types only. */
static int check_section(struct api_request *req, json_t *body, section_fn parse)
{
	struct vm_config scratch;
	int ret;

	config_init(&scratch);
	ret = parse(&scratch, body, req->fault, sizeof(req->fault));
	config_free(&scratch);
	return ret;
}

static int match_id(struct api_request *req, json_t *body, const char *field)
{
	const char *id = json_string_value(json_object_get(body, field));

	if (id && !strcmp(id, req->id))
		return 0;
	api_reply_fault(req, "The id from the path does not match the id from the body: "
			"path \"%s\", %s \"%s\".", req->id, field, id ? id : "");
	return -1;
}

static int check_boot_source(struct api_request *req, json_t *body)
{
	return check_section(req, body, config_boot_source_from_json);
}

static int machine_put(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	return config_machine_from_json(cfg, obj, false, err, errlen);
}

static int machine_patch(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	return config_machine_from_json(cfg, obj, true, err, errlen);
}

static int check_machine_put(struct api_request *req, json_t *body)
{
	return check_section(req, body, machine_put);
}

static int check_machine_patch(struct api_request *req, json_t *body)
{
	return check_section(req, body, machine_patch);
}

static int check_drive_put(struct api_request *req, json_t *body)
{
	return check_section(req, body, config_drive_from_json) ?:
	       match_id(req, body, "drive_id");
}

static int check_drive_patch(struct api_request *req, json_t *body)
{
	return config_drive_patch_check(body, &req->path_on_host, req->fault,
					sizeof(req->fault)) ?:
	       match_id(req, body, "drive_id");
}

static int check_net_put(struct api_request *req, json_t *body)
{
	return check_section(req, body, config_net_from_json) ?:
	       match_id(req, body, "iface_id");
}

static int check_entropy(struct api_request *req, json_t *body)
{
	return check_section(req, body, config_entropy_from_json);
}

static int check_logger(struct api_request *req, json_t *body)
{
	return check_section(req, body, config_logger_from_json);
}

static int check_metrics(struct api_request *req, json_t *body)
{
	return check_section(req, body, config_metrics_from_json);
}

static void join_names(const char *const *names, size_t n, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++)
		len += snprintf(buf + len, size - len, "%s\"%s\"", i ? ", " : "", names[i]);
}

/* A body of exactly one string field, one of names[]: its index. */
static int one_of(struct api_request *req, json_t *body, const char *where, const char *field,
		  const char *const *names, size_t n)
{
	const char *key, *s;
	char expected[128];
	json_t *v;

	json_object_foreach(body, key, v) {
		if (strcmp(key, field)) {
			api_reply_fault(req, "%s: unknown field \"%s\"", where, key);
			return -1;
		}
	}
	v = json_object_get(body, field);
	if (!v || json_is_null(v)) {
		api_reply_fault(req, "%s: missing required field \"%s\"", where, field);
		return -1;
	}
	s = json_string_value(v);
	for (size_t i = 0; s && i < n; i++) {
		if (!strcmp(s, names[i]))
			return i;
	}
	join_names(names, n, expected, sizeof(expected));
	if (s)
		api_reply_fault(req, "%s.%s: expected one of %s, got \"%s\"", where, field, expected, s);
	else
		api_reply_fault(req, "%s.%s: expected a string, one of %s", where, field, expected);
	return -1;
}

static int check_action(struct api_request *req, json_t *body)
{
	static const char *const names[] = { "InstanceStart", "SendCtrlAltDel", "FlushMetrics" };
	static const enum api_op ops[] = { API_INSTANCE_START, API_SEND_CTRL_ALT_DEL,
					   API_FLUSH_METRICS };
	int i = one_of(req, body, "actions", "action_type", names, ARRAY_SIZE(names));

	if (i < 0)
		return i;
	req->op = ops[i];
	return 0;
}

static int check_vm_state(struct api_request *req, json_t *body)
{
	static const char *const names[] = { "Paused", "Resumed" };
	int i = one_of(req, body, "vm", "state", names, ARRAY_SIZE(names));

	if (i < 0)
		return i;
	req->op = i ? API_RESUME : API_PAUSE;
	return 0;
}

/* ---- routing ---- */

static const struct route routes[] = {
	{ HTTP_GET, "", NULL, false, API_GET_INFO, NULL },
	{ HTTP_GET, "version", NULL, false, API_GET_VERSION, NULL },
	{ HTTP_GET, "machine-config", NULL, false, API_GET_MACHINE, NULL },
	{ HTTP_GET, "vm", "config", false, API_GET_VM_CONFIG, NULL },
	{ HTTP_GET, "metrics", NULL, false, API_GET_METRICS, NULL },
	{ HTTP_PUT, "actions", NULL, false, API_INSTANCE_START, check_action },
	{ HTTP_PUT, "boot-source", NULL, false, API_PUT_BOOT_SOURCE, check_boot_source },
	{ HTTP_PUT, "machine-config", NULL, false, API_PUT_MACHINE, check_machine_put },
	{ HTTP_PATCH, "machine-config", NULL, false, API_PATCH_MACHINE, check_machine_patch },
	{ HTTP_PUT, "drives", NULL, true, API_PUT_DRIVE, check_drive_put },
	{ HTTP_PATCH, "drives", NULL, true, API_PATCH_DRIVE, check_drive_patch },
	{ HTTP_PUT, "network-interfaces", NULL, true, API_PUT_NET, check_net_put },
	{ HTTP_PUT, "entropy", NULL, false, API_PUT_ENTROPY, check_entropy },
	{ HTTP_PUT, "logger", NULL, false, API_PUT_LOGGER, check_logger },
	{ HTTP_PUT, "metrics", NULL, false, API_PUT_METRICS, check_metrics },
	{ HTTP_PATCH, "vm", NULL, false, API_PAUSE, check_vm_state },
};

/* "/drives/rootfs/" -> "drives", "rootfs", ""; a trailing '/' is ignored. */
struct segments {
	char first[HTTP_PATH_MAX];
	char second[HTTP_PATH_MAX];
	bool more;			/* a third segment */
};

static void split_path(const char *path, struct segments *s)
{
	const char *p = path + strspn(path, "/");
	size_t n = strcspn(p, "/");

	snprintf(s->first, sizeof(s->first), "%.*s", (int)n, p);
	p += n + (p[n] == '/');
	n = strcspn(p, "/");
	snprintf(s->second, sizeof(s->second), "%.*s", (int)n, p);
	p += n + (p[n] == '/');
	s->more = *p != '\0';
}

static const struct route *find_route(enum http_method method, const struct segments *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		const struct route *r = &routes[i];

		if (r->method != method || strcmp(r->resource, s->first) || s->more)
			continue;
		if (r->id || (!r->sub && !*s->second) || (r->sub && !strcmp(r->sub, s->second)))
			return r;
	}
	return NULL;
}

static int check_path_id(struct api_request *req, const char *id)
{
	size_t len = strlen(id);

	if (!len) {
		api_reply_fault(req, "The ID cannot be empty.");
		return -1;
	}
	if (strspn(id, ID_CHARS) != len || len > ID_MAX) {
		api_reply_fault(req, "API Resource IDs can only contain alphanumeric characters "
				"and underscores, at most %d of them.", ID_MAX);
		return -1;
	}
	snprintf(req->id, sizeof(req->id), "%s", id);
	return 0;
}

/* Firecracker's checks on the body's presence, before its contents. */
static int body_presence(const struct http_request *http, size_t len, const struct route *r,
			 struct api_request *req)
{
	if (!r->check && len) {
		api_reply_fault(req, "%s request cannot have a body.", http->method_name);
		return -1;
	}
	if (r->check && !len) {
		api_reply_fault(req, "Empty %s request.", http->method_name);
		return -1;
	}
	return 0;
}

static int parse_body(const char *body, size_t len, struct api_request *req)
{
	json_error_t jerr;

	req->body = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req->body)
		return 0;
	api_reply_fault(req, "An error occurred when deserializing the json body of a request: "
			"%s at line %d, column %d.", jerr.text, jerr.line, jerr.column);
	return -1;
}

static void reply_version(struct api_request *req)
{
	api_reply_json(req, json_pack("{s:s, s:s}", "firecracker_version", PETREL_FC_API_VERSION,
				      "petrel_version", PETREL_VERSION));
}

/* The body's presence, the id in the path, then the body itself. */
static int check_request(const struct http_request *http, const char *body, size_t len,
			 const struct route *r, const struct segments *s, struct api_request *req)
{
	if (body_presence(http, len, r, req))
		return -1;
	if (r->id && check_path_id(req, s->second))
		return -1;
	if (!r->check)
		return 0;
	if (parse_body(body, len, req))
		return -1;
	if (r->check(req, req->body)) {
		req->status = 400;	/* a config parser may have written the fault */
		return -1;
	}
	return 0;
}

int api_route(const struct http_request *http, const char *body, size_t len,
	      struct api_request *req)
{
	const struct route *r;
	struct segments s;

	memset(req, 0, sizeof(*req));
	req->op = API_NR_OPS;
	split_path(http->path, &s);
	r = find_route(http->method, &s);
	if (!r) {
		api_reply_fault(req, "Invalid request method and/or path: %s %s.",
				http->method_name, http->path);
		return 0;
	}
	req->op = r->op;
	if (check_request(http, body, len, r, &s, req))
		return 0;
	if (req->op == API_GET_VERSION) {
		reply_version(req);
		return 0;
	}
	return 1;
}
