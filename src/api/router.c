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
	[API_SNAPSHOT_CREATE] = "PUT /snapshot/create",
	[API_SNAPSHOT_LOAD] = "PUT /snapshot/load",
	[API_PUT_BALLOON] = "PUT /balloon",
	[API_PATCH_BALLOON] = "PATCH /balloon",
	[API_GET_BALLOON] = "GET /balloon",
	[API_GET_BALLOON_STATS] = "GET /balloon/statistics",
	[API_PATCH_BALLOON_STATS] = "PATCH /balloon/statistics",
	[API_BALLOON_HINT_START] = "PATCH /balloon/hinting/start",
	[API_BALLOON_HINT_STATUS] = "GET /balloon/hinting/status",
	[API_BALLOON_HINT_STOP] = "PATCH /balloon/hinting/stop",
	[API_PUT_MMDS] = "PUT /mmds",
	[API_PATCH_MMDS] = "PATCH /mmds",
	[API_GET_MMDS] = "GET /mmds",
	[API_PUT_MMDS_CONFIG] = "PUT /mmds/config",
	[API_PUT_VSOCK] = "PUT /vsock",
	[API_PATCH_NET] = "PATCH /network-interfaces",
	[API_PUT_SERIAL] = "PUT /serial",
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
	char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

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
	struct rl_config rl;

	return config_drive_patch_check(body, &req->path_on_host, &rl, req->fault,
					sizeof(req->fault)) ?:
	       match_id(req, body, "drive_id");
}

static int check_net_patch(struct api_request *req, json_t *body)
{
	struct rl_config rx, tx;

	return config_net_patch_check(body, &rx, &tx, req->fault, sizeof(req->fault)) ?:
	       match_id(req, body, "iface_id");
}

static int check_serial(struct api_request *req, json_t *body)
{
	return check_section(req, body, config_serial_from_json);
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

static int check_vsock(struct api_request *req, json_t *body)
{
	return check_section(req, body, config_vsock_from_json);
}

static int check_logger(struct api_request *req, json_t *body)
{
	return check_section(req, body, config_logger_from_json);
}

static int check_metrics(struct api_request *req, json_t *body)
{
	return check_section(req, body, config_metrics_from_json);
}

/*
 * The balloon's bodies, on a scratch config with a balloon and all the
 * memory there may be: the target against the real machine is the vmm's check.
 */
static int check_balloon(struct api_request *req, json_t *body, section_fn parse)
{
	struct vm_config scratch;
	int ret;

	config_init(&scratch);
	scratch.balloon.present = true;
	scratch.machine.mem_size_mib = UINT32_MAX;
	ret = parse(&scratch, body, req->fault, sizeof(req->fault));
	config_free(&scratch);
	return ret;
}

static int check_balloon_put(struct api_request *req, json_t *body)
{
	return check_balloon(req, body, config_balloon_from_json);
}

static int check_balloon_patch(struct api_request *req, json_t *body)
{
	return check_balloon(req, body, config_balloon_patch);
}

static int check_balloon_stats(struct api_request *req, json_t *body)
{
	return check_balloon(req, body, config_balloon_stats_patch);
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

/* ---- snapshots: the shape here, the files and the VM on the vmm thread ---- */

/* Every key of obj is in known[], and each of them has the JSON type wanted. */
static int check_fields(struct api_request *req, json_t *obj, const char *where,
			const char *const *known, const json_type *types, size_t n)
{
	const char *key;
	json_t *v;
	size_t i;

	if (!json_is_object(obj)) {
		api_reply_fault(req, "%s: expected an object", where);
		return -1;
	}
	json_object_foreach(obj, key, v) {
		for (i = 0; i < n && strcmp(key, known[i]); i++)
			;
		if (i == n) {
			api_reply_fault(req, "%s: unknown field \"%s\"", where, key);
			return -1;
		}
		if (json_typeof(v) != types[i] &&
		    !(types[i] == JSON_TRUE && json_is_boolean(v))) {
			api_reply_fault(req, "%s.%s: wrong type", where, key);
			return -1;
		}
	}
	return 0;
}

static int need_string(struct api_request *req, json_t *obj, const char *where, const char *f)
{
	const char *s = json_string_value(json_object_get(obj, f));

	if (s && *s)
		return 0;
	api_reply_fault(req, "%s: missing required field \"%s\"", where, f);
	return -1;
}

static int check_snapshot_create(struct api_request *req, json_t *body)
{
	static const char *const known[] = { "snapshot_path", "mem_file_path", "snapshot_type" };
	static const json_type types[] = { JSON_STRING, JSON_STRING, JSON_STRING };
	const char *type;

	if (check_fields(req, body, "snapshot/create", known, types, ARRAY_SIZE(known)) ||
	    need_string(req, body, "snapshot/create", "snapshot_path") ||
	    need_string(req, body, "snapshot/create", "mem_file_path"))
		return -1;
	type = json_string_value(json_object_get(body, "snapshot_type"));
	if (type && strcmp(type, "Full") && strcmp(type, "Diff")) {
		api_reply_fault(req, "snapshot/create.snapshot_type: expected one of \"Full\", "
				"\"Diff\", got \"%s\"", type);
		return -1;
	}
	return 0;
}

static int check_mem_backend(struct api_request *req, json_t *mb)
{
	static const char *const known[] = { "backend_type", "backend_path" };
	static const json_type types[] = { JSON_STRING, JSON_STRING };
	const char *where = "snapshot/load.mem_backend";
	const char *type;

	if (check_fields(req, mb, where, known, types, ARRAY_SIZE(known)) ||
	    need_string(req, mb, where, "backend_type") ||
	    need_string(req, mb, where, "backend_path"))
		return -1;
	type = json_string_value(json_object_get(mb, "backend_type"));
	if (strcmp(type, "File") && strcmp(type, "Uffd")) {
		api_reply_fault(req, "%s.backend_type: expected one of \"File\", \"Uffd\", got "
				"\"%s\"", where, type);
		return -1;
	}
	return 0;
}

static int check_overrides(struct api_request *req, json_t *arr)
{
	static const char *const known[] = { "iface_id", "host_dev_name" };
	static const json_type types[] = { JSON_STRING, JSON_STRING };
	const char *where = "snapshot/load.network_overrides[]";
	json_t *o;
	size_t i;

	json_array_foreach(arr, i, o) {
		if (check_fields(req, o, where, known, types, ARRAY_SIZE(known)) ||
		    need_string(req, o, where, "iface_id") ||
		    need_string(req, o, where, "host_dev_name"))
			return -1;
	}
	return 0;
}

/* Its shape here; whether the snapshot has a vsock device, on the vmm thread. */
static int check_vsock_override(struct api_request *req, json_t *o)
{
	static const char *const known[] = { "uds_path" };
	static const json_type types[] = { JSON_STRING };
	const char *where = "snapshot/load.vsock_override";

	if (!o)
		return 0;
	return check_fields(req, o, where, known, types, ARRAY_SIZE(known)) ||
	       need_string(req, o, where, "uds_path") ? -1 : 0;
}

static int check_snapshot_load(struct api_request *req, json_t *body)
{
	static const char *const known[] = {
		"snapshot_path", "mem_file_path", "mem_backend", "enable_diff_snapshots",
		"track_dirty_pages", "resume_vm", "network_overrides", "vsock_override",
		"clock_realtime", "huge_pages",
	};
	static const json_type types[] = {
		JSON_STRING, JSON_STRING, JSON_OBJECT, JSON_TRUE, JSON_TRUE, JSON_TRUE, JSON_ARRAY,
		JSON_OBJECT, JSON_TRUE, JSON_STRING,
	};
	json_t *mb = json_object_get(body, "mem_backend");
	const char *hp = json_string_value(json_object_get(body, "huge_pages"));
	enum huge_pages unused;

	if (check_fields(req, body, "snapshot/load", known, types, ARRAY_SIZE(known)) ||
	    need_string(req, body, "snapshot/load", "snapshot_path"))
		return -1;
	if (!mb == !json_object_get(body, "mem_file_path")) {
		api_reply_fault(req, "snapshot/load: exactly one of \"mem_backend\" and "
				"\"mem_file_path\" (deprecated) is needed");
		return -1;
	}
	if (check_vsock_override(req, json_object_get(body, "vsock_override")))
		return -1;
	if (hp && strcmp(hp, "Snapshot") && config_huge_pages_from_name(hp, &unused)) {
		api_reply_fault(req, "snapshot/load.huge_pages: \"%s\" is not one of Snapshot, "
				"None, Transparent, 2M", hp);
		return -1;
	}
	if (mb && check_mem_backend(req, mb))
		return -1;
	if (!mb && need_string(req, body, "snapshot/load", "mem_file_path"))
		return -1;
	return check_overrides(req, json_object_get(body, "network_overrides"));
}

/* PATCH /balloon/hinting/start: {"acknowledge_on_stop"} or no body; stop: {} or none. */
static int check_hint_start(struct api_request *req, json_t *body)
{
	static const char *const known[] = { "acknowledge_on_stop" };
	static const json_type types[] = { JSON_TRUE };

	return check_fields(req, body, "balloon/hinting/start", known, types,
			    ARRAY_SIZE(known));
}

static int check_hint_stop(struct api_request *req, json_t *body)
{
	return check_fields(req, body, "balloon/hinting/stop", NULL, NULL, 0);
}

/* ---- the metadata service ---- */

static int check_mmds(struct api_request *req, json_t *body)
{
	if (json_is_object(body))
		return 0;
	api_reply_fault(req, "mmds: expected a JSON object as the data store");
	return -1;
}

static int check_mmds_config(struct api_request *req, json_t *body)
{
	return check_section(req, body, config_mmds_from_json);
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
	{ HTTP_PATCH, "network-interfaces", NULL, true, API_PATCH_NET, check_net_patch },
	{ HTTP_PUT, "serial", NULL, false, API_PUT_SERIAL, check_serial },
	{ HTTP_PUT, "entropy", NULL, false, API_PUT_ENTROPY, check_entropy },
	{ HTTP_PUT, "vsock", NULL, false, API_PUT_VSOCK, check_vsock },
	{ HTTP_PUT, "logger", NULL, false, API_PUT_LOGGER, check_logger },
	{ HTTP_PUT, "metrics", NULL, false, API_PUT_METRICS, check_metrics },
	{ HTTP_PATCH, "vm", NULL, false, API_PAUSE, check_vm_state },
	{ HTTP_PUT, "snapshot", "create", false, API_SNAPSHOT_CREATE, check_snapshot_create },
	{ HTTP_PUT, "snapshot", "load", false, API_SNAPSHOT_LOAD, check_snapshot_load },
	{ HTTP_PUT, "balloon", NULL, false, API_PUT_BALLOON, check_balloon_put },
	{ HTTP_PATCH, "balloon", NULL, false, API_PATCH_BALLOON, check_balloon_patch },
	{ HTTP_GET, "balloon", NULL, false, API_GET_BALLOON, NULL },
	{ HTTP_GET, "balloon", "statistics", false, API_GET_BALLOON_STATS, NULL },
	{ HTTP_PATCH, "balloon", "statistics", false, API_PATCH_BALLOON_STATS,
	  check_balloon_stats },
	{ HTTP_PATCH, "balloon", "hinting/start", false, API_BALLOON_HINT_START,
	  check_hint_start },
	{ HTTP_GET, "balloon", "hinting/status", false, API_BALLOON_HINT_STATUS, NULL },
	{ HTTP_PATCH, "balloon", "hinting/stop", false, API_BALLOON_HINT_STOP,
	  check_hint_stop },
	{ HTTP_PUT, "mmds", NULL, false, API_PUT_MMDS, check_mmds },
	{ HTTP_PATCH, "mmds", NULL, false, API_PATCH_MMDS, check_mmds },
	{ HTTP_GET, "mmds", NULL, false, API_GET_MMDS, NULL },
	{ HTTP_PUT, "mmds", "config", false, API_PUT_MMDS_CONFIG, check_mmds_config },
};

/* Firecracker's resources petrel does not have: refused by name, any method. */
static const struct {
	const char *resource;
	const char *what;
} unsupported[] = {
	{ "cpu-config", "CPU templates (cpu-config) are" },
	{ "pmem", "virtio-pmem devices (pmem) are" },
	{ "hotplug", "memory hotplug (hotplug/memory) is" },
};

/* "/drives/rootfs/" -> "drives", "rootfs", ""; a trailing '/' is ignored. */
struct segments {
	char first[HTTP_PATH_MAX];
	char second[HTTP_PATH_MAX];
	char rest[HTTP_PATH_MAX];	/* all after the first: "hinting/start" */
	bool more;			/* a third segment */
};

static void split_path(const char *path, struct segments *s)
{
	const char *p = path + strspn(path, "/");
	size_t n = strcspn(p, "/");

	snprintf(s->first, sizeof(s->first), "%.*s", (int)n, p);
	p += n + (p[n] == '/');
	snprintf(s->rest, sizeof(s->rest), "%s", p);
	n = strlen(s->rest);
	while (n && s->rest[n - 1] == '/')
		s->rest[--n] = '\0';
	n = strcspn(p, "/");
	snprintf(s->second, sizeof(s->second), "%.*s", (int)n, p);
	p += n + (p[n] == '/');
	s->more = *p != '\0';
}

static const struct route *find_route(enum http_method method, const struct segments *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		const struct route *r = &routes[i];

		if (r->method != method || strcmp(r->resource, s->first))
			continue;
		/* A route of three segments names the last two at once. */
		if (r->sub && strchr(r->sub, '/')) {
			if (!strcmp(r->sub, s->rest))
				return r;
			continue;
		}
		if (s->more)
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

/* Bodies a request may go without: the check runs on one if it is sent. */
static bool body_optional(enum api_op op)
{
	return op == API_BALLOON_HINT_START || op == API_BALLOON_HINT_STOP;
}

/* Firecracker's checks on the body's presence, before its contents. */
static int body_presence(const struct http_request *http, size_t len, const struct route *r,
			 struct api_request *req)
{
	if (!r->check && len) {
		api_reply_fault(req, "%s request cannot have a body.", http->method_name);
		return -1;
	}
	if (r->check && !len && !body_optional(r->op)) {
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
	if (!r->check || !len)
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
	for (size_t i = 0; !r && i < ARRAY_SIZE(unsupported); i++) {
		if (!strcmp(s.first, unsupported[i].resource)) {
			api_reply_fault(req, "%s %s: %s not supported by petrel.",
					http->method_name, http->path, unsupported[i].what);
			return 0;
		}
	}
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
