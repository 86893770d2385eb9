// SPDX-License-Identifier: Apache-2.0
/*
 * The configuration model: Firecracker-shaped JSON in, struct vm_config out,
 * and back. Every parser fills a copy and commits it only when the whole
 * input is valid, so a rejected file or request changes nothing.
 *
 * Invariant kept for the builder: the root drive, if any, is drives[0]
 * (it becomes /dev/vda), as in Firecracker.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/config.h>
#include <petrel/util.h>

#include "config/config_priv.h"
#include "config/ratelimit.h"

#define CONFIG_FILE_MAX		MiB(1)
#define MEM_MAX_MIB		(1024u * 1024)	/* 1 TiB */
#define STRING_MAX		4096		/* paths, boot_args, ids */
#define ID_MAX			64
#define IFNAME_MAX		15		/* IFNAMSIZ - 1 */
#define ID_CHARS		"abcdefghijklmnopqrstuvwxyz" \
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
#define MTU_MIN			68
#define MTU_MAX			65535

/* Field flags for the getters. */
#define F_REQUIRED		1u
#define F_NONEMPTY		2u

static const char *const huge_pages_names[] = {
	[HUGE_PAGES_NONE] = "None",
	[HUGE_PAGES_TRANSPARENT] = "Transparent",
	[HUGE_PAGES_2M] = "2M",
};
int config_huge_pages_from_name(const char *name, enum huge_pages *hp)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(huge_pages_names); i++) {
		if (!strcmp(name, huge_pages_names[i])) {
			*hp = i;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *const cache_names[] = {
	[CACHE_UNSAFE] = "Unsafe",
	[CACHE_WRITEBACK] = "Writeback",
};
static const char *const engine_names[] = {
	[IO_ENGINE_SYNC] = "Sync",
	[IO_ENGINE_ASYNC] = "Async",
};

/* ---- errors ---- */

static int fail(struct ctx *c, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int vfail(struct ctx *c, const char *field, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static int vfail(struct ctx *c, const char *field, const char *fmt, va_list ap)
{
	int n = 0;

	if (!c->errlen)
		return -EINVAL;
	if (*c->where && field)
		n = snprintf(c->err, c->errlen, "%s.%s: ", c->where, field);
	else if (*c->where || field)
		n = snprintf(c->err, c->errlen, "%s: ", field ? field : c->where);
	else
		c->err[0] = '\0';
	if (n >= 0 && (size_t)n < c->errlen)
		vsnprintf(c->err + n, c->errlen - n, fmt, ap);
	return -EINVAL;
}

/* Write "<where>.<field>: <message>" and return -EINVAL. */
static int fail(struct ctx *c, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(c, field, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int missing(struct ctx *c, const char *field)
{
	return fail(c, NULL, "missing required field \"%s\"", field);
}

static int oom(struct ctx *c)
{
	fail(c, NULL, "out of memory");
	return -ENOMEM;
}

static const char *type_name(const json_t *v)
{
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* ---- field getters: a null value counts as absent ---- */

static json_t *member(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);

	return json_is_null(v) ? NULL : v;
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++) {
		if (!strcmp(s, *list))
			return true;
	}
	return false;
}

/* The value must be an object whose keys are all in known (NULL-terminated). */
static int check_object(struct ctx *c, json_t *obj, const char *const *known)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return fail(c, NULL, "expected an object, got %s", type_name(obj));
	json_object_foreach(obj, key, v) {
		if (!in_list(key, known))
			return fail(c, NULL, "unknown field \"%s\"", key);
	}
	return 0;
}

static int require(struct ctx *c, json_t *obj, const char *name)
{
	return member(obj, name) ? 0 : missing(c, name);
}

/* A string field without copying it; *out is NULL when absent. */
static int peek_str(struct ctx *c, json_t *obj, const char *name, unsigned int flags,
		    const char **out)
{
	json_t *v = member(obj, name);

	*out = NULL;
	if (!v)
		return flags & F_REQUIRED ? missing(c, name) : 0;
	if (!json_is_string(v))
		return fail(c, name, "expected a string, got %s", type_name(v));
	if ((flags & F_NONEMPTY) && !json_string_length(v))
		return fail(c, name, "expected a non-empty string");
	if (json_string_length(v) > STRING_MAX)
		return fail(c, name, "expected at most %d bytes, got %zu",
			    STRING_MAX, json_string_length(v));
	*out = json_string_value(v);
	return 0;
}

/* A string field copied into *out (NULL when absent); the caller frees it. */
static int get_str(struct ctx *c, json_t *obj, const char *name, unsigned int flags,
		   char **out)
{
	const char *s;
	int ret;

	*out = NULL;
	ret = peek_str(c, obj, name, flags, &s);
	if (ret || !s)
		return ret;
	*out = strdup(s);
	return *out ? 0 : oom(c);
}

/* A boolean field; *out keeps its value when absent. */
static int get_bool(struct ctx *c, json_t *obj, const char *name, unsigned int flags,
		    bool *out)
{
	json_t *v = member(obj, name);

	if (!v)
		return flags & F_REQUIRED ? missing(c, name) : 0;
	if (!json_is_boolean(v))
		return fail(c, name, "expected a boolean, got %s", type_name(v));
	*out = json_is_true(v);
	return 0;
}

/* An integer field in min..max; *out keeps its value when absent. */
static int get_uint(struct ctx *c, json_t *obj, const char *name, unsigned int min,
		    unsigned int max, unsigned int *out)
{
	json_t *v = member(obj, name);
	json_int_t x;

	if (!v)
		return 0;
	if (!json_is_integer(v))
		return fail(c, name, "expected an integer %u..%u, got %s", min, max, type_name(v));
	x = json_integer_value(v);
	if (x < min || x > max)
		return fail(c, name, "expected an integer %u..%u, got %lld", min, max,
			    (long long)x);
	*out = x;
	return 0;
}

static void join_names(const char *const *names, size_t n, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++)
		len += snprintf(buf + len, size - len, "%s\"%s\"", i ? ", " : "", names[i]);
}

/* One of names[] (case-sensitive, as serde is); *out keeps its value when absent. */
static int get_enum(struct ctx *c, json_t *obj, const char *name,
		    const char *const *names, size_t n, int *out)
{
	char expected[128];
	const char *s;
	int ret;

	ret = peek_str(c, obj, name, 0, &s);
	if (ret || !s)
		return ret;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	}
	join_names(names, n, expected, sizeof(expected));
	return fail(c, name, "expected one of %s, got \"%s\"", expected, s);
}

/* Accept a field only when absent or null. */
static int reject(struct ctx *c, json_t *obj, const char *name, const char *why)
{
	return member(obj, name) ? fail(c, name, "%s", why) : 0;
}

/* A field named "<where>.<name>" in errors, for the parsers of nested objects. */
static void nested(struct ctx *c, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", c->where, *c->where ? "." : "", name);
}

/* A RateLimiter field ({"bandwidth", "ops"}); absent or null: none. */
static int get_limiter(struct ctx *c, json_t *obj, const char *name, struct rl_config *out)
{
	char where[160];

	nested(c, name, where, sizeof(where));
	return config_rate_limiter_parse(member(obj, name), where, out, c->err, c->errlen);
}

/* Drive and interface ids: 1..64 of [A-Za-z0-9_], as Firecracker's API. */
static int check_id(struct ctx *c, const char *name, const char *id)
{
	size_t len = strlen(id);

	if (len && len <= ID_MAX && strspn(id, ID_CHARS) == len)
		return 0;
	return fail(c, name, "expected 1..%d letters, digits or '_', got \"%s\"", ID_MAX, id);
}

/* ---- boot-source ---- */

static const char *const boot_keys[] = {
	"kernel_image_path", "boot_args", "initrd_path", NULL
};

static int boot_from_json(struct ctx *c, struct vm_config *cfg, json_t *obj)
{
	char *kernel = NULL, *args = NULL, *initrd = NULL;
	int ret;

	ret = check_object(c, obj, boot_keys) ?:
	      get_str(c, obj, "kernel_image_path", F_REQUIRED | F_NONEMPTY, &kernel) ?:
	      get_str(c, obj, "boot_args", 0, &args) ?:
	      get_str(c, obj, "initrd_path", F_NONEMPTY, &initrd);
	if (ret) {
		free(kernel);
		free(args);
		free(initrd);
		return ret;
	}
	free(cfg->boot.kernel_image_path);
	free(cfg->boot.boot_args);
	free(cfg->boot.initrd_path);
	cfg->boot.kernel_image_path = kernel;
	cfg->boot.boot_args = args;
	cfg->boot.initrd_path = initrd;
	return 0;
}

/* ---- machine-config ---- */

static const char *const machine_keys[] = {
	"vcpu_count", "mem_size_mib", "smt", "huge_pages", "track_dirty_pages",
	"cpu_template", NULL
};

static void machine_defaults(struct vm_config *cfg)
{
	cfg->machine.vcpu_count = 1;
	cfg->machine.mem_size_mib = 128;
	cfg->machine.smt = false;
	cfg->machine.huge_pages = HUGE_PAGES_NONE;
	cfg->machine.track_dirty_pages = false;
}

/* Rules across fields, checked after a PUT/PATCH and again by config_validate. */
static int machine_check(struct ctx *c, const struct vm_config *cfg)
{
	unsigned int vcpus = cfg->machine.vcpu_count, mem = cfg->machine.mem_size_mib;

	if (!vcpus || vcpus > CONFIG_MAX_VCPUS)
		return fail(c, "vcpu_count", "expected an integer 1..%d, got %u",
			    CONFIG_MAX_VCPUS, vcpus);
	if (cfg->machine.smt && vcpus > 1 && vcpus % 2)
		return fail(c, "vcpu_count", "must be 1 or even when smt is enabled, got %u",
			    vcpus);
	if (!mem || mem > MEM_MAX_MIB)
		return fail(c, "mem_size_mib", "expected an integer 1..%u, got %u",
			    MEM_MAX_MIB, mem);
	if (cfg->machine.huge_pages == HUGE_PAGES_2M && mem % 2)
		return fail(c, "mem_size_mib",
			    "must be a multiple of 2 with huge_pages \"2M\", got %u", mem);
	return 0;
}

/* Only "None": CPU templates are a Firecracker feature petrel does not carry. */
static int check_cpu_template(struct ctx *c, json_t *obj)
{
	const char *s;
	int ret;

	ret = peek_str(c, obj, "cpu_template", 0, &s);
	if (ret || !s || !strcmp(s, "None"))
		return ret;
	return fail(c, "cpu_template", "CPU templates are not supported, expected \"None\", got \"%s\"",
		    s);
}

static int machine_fields(struct ctx *c, struct vm_config *m, json_t *obj)
{
	int hp = m->machine.huge_pages, ret;

	ret = get_uint(c, obj, "vcpu_count", 1, CONFIG_MAX_VCPUS, &m->machine.vcpu_count) ?:
	      get_uint(c, obj, "mem_size_mib", 1, MEM_MAX_MIB, &m->machine.mem_size_mib) ?:
	      get_bool(c, obj, "smt", 0, &m->machine.smt) ?:
	      get_enum(c, obj, "huge_pages", huge_pages_names, ARRAY_SIZE(huge_pages_names), &hp) ?:
	      get_bool(c, obj, "track_dirty_pages", 0, &m->machine.track_dirty_pages) ?:
	      check_cpu_template(c, obj);
	m->machine.huge_pages = hp;
	return ret;
}

static int machine_from_json(struct ctx *c, struct vm_config *cfg, json_t *obj, bool partial)
{
	struct vm_config tmp = *cfg;	/* only tmp.machine is written */
	int ret;

	ret = check_object(c, obj, machine_keys);
	if (ret)
		return ret;
	if (partial && !json_object_size(obj))
		return fail(c, NULL, "nothing to update");
	if (!partial) {
		machine_defaults(&tmp);
		ret = require(c, obj, "vcpu_count") ?: require(c, obj, "mem_size_mib");
	}
	ret = ret ?: machine_fields(c, &tmp, obj) ?: machine_check(c, &tmp);
	if (!ret)
		cfg->machine = tmp.machine;
	return ret;
}

static int machine_put(struct ctx *c, struct vm_config *cfg, json_t *obj)
{
	return machine_from_json(c, cfg, obj, false);
}

/* ---- drives ---- */

static const char *const drive_keys[] = {
	"drive_id", "path_on_host", "is_root_device", "partuuid", "is_read_only",
	"cache_type", "io_engine", "rate_limiter", "socket", NULL
};

static void drive_free(struct drive_config *d)
{
	free(d->drive_id);
	free(d->path_on_host);
	free(d->partuuid);
	memset(d, 0, sizeof(*d));
}

static int drive_parse(struct ctx *c, json_t *obj, struct drive_config *d)
{
	int cache = CACHE_UNSAFE, engine = IO_ENGINE_SYNC, ret;

	memset(d, 0, sizeof(*d));
	ret = check_object(c, obj, drive_keys) ?:
	      reject(c, obj, "socket", "vhost-user block devices are not supported by petrel") ?:
	      get_str(c, obj, "drive_id", F_REQUIRED, &d->drive_id) ?:
	      check_id(c, "drive_id", d->drive_id) ?:
	      get_str(c, obj, "path_on_host", F_REQUIRED | F_NONEMPTY, &d->path_on_host) ?:
	      get_bool(c, obj, "is_root_device", F_REQUIRED, &d->is_root_device) ?:
	      get_str(c, obj, "partuuid", F_NONEMPTY, &d->partuuid) ?:
	      get_bool(c, obj, "is_read_only", 0, &d->is_read_only) ?:
	      get_enum(c, obj, "cache_type", cache_names, ARRAY_SIZE(cache_names), &cache) ?:
	      get_enum(c, obj, "io_engine", engine_names, ARRAY_SIZE(engine_names), &engine) ?:
	      get_limiter(c, obj, "rate_limiter", &d->rate_limiter);
	d->cache_type = cache;
	d->io_engine = engine;
	if (ret)
		drive_free(d);
	return ret;
}

static int drive_find(const struct vm_config *cfg, const char *id)
{
	for (unsigned int i = 0; i < cfg->nr_drives; i++) {
		if (!strcmp(cfg->drives[i].drive_id, id))
			return i;
	}
	return -1;
}

static int drive_root(const struct vm_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nr_drives; i++) {
		if (cfg->drives[i].is_root_device)
			return i;
	}
	return -1;
}

/* Add d, or replace the drive with its id; on success cfg owns d's strings. */
static int drive_put(struct ctx *c, struct vm_config *cfg, struct drive_config *d, bool replace)
{
	int idx = drive_find(cfg, d->drive_id), root = drive_root(cfg);

	if (idx >= 0 && !replace)
		return fail(c, "drive_id", "duplicate id \"%s\"", d->drive_id);
	if (d->is_root_device && root >= 0 && root != idx)
		return fail(c, "is_root_device", "a root device is already configured (\"%s\")",
			    cfg->drives[root].drive_id);
	if (idx < 0 && cfg->nr_drives == CONFIG_MAX_DRIVES)
		return fail(c, NULL, "too many drives, at most %d", CONFIG_MAX_DRIVES);
	if (idx >= 0)
		drive_free(&cfg->drives[idx]);
	else
		idx = cfg->nr_drives++;
	cfg->drives[idx] = *d;
	if (d->is_root_device && idx) {
		struct drive_config moved = cfg->drives[idx];

		memmove(&cfg->drives[1], &cfg->drives[0], idx * sizeof(moved));
		cfg->drives[0] = moved;
	}
	return 0;
}

static int drive_from_json(struct ctx *c, struct vm_config *cfg, json_t *obj, bool replace)
{
	struct drive_config d;
	int ret;

	ret = drive_parse(c, obj, &d) ?: drive_put(c, cfg, &d, replace);
	if (ret)
		drive_free(&d);
	return ret;
}

static int drive_add(struct ctx *c, struct vm_config *cfg, json_t *obj)
{
	return drive_from_json(c, cfg, obj, false);
}

/* ---- network-interfaces ---- */

static const char *const net_keys[] = {
	"iface_id", "host_dev_name", "guest_mac", "mtu", "rx_rate_limiter", "tx_rate_limiter",
	NULL
};

static void net_free(struct net_config *n)
{
	free(n->iface_id);
	free(n->host_dev_name);
	memset(n, 0, sizeof(*n));
}

static int hexval(char ch)
{
	return isdigit((unsigned char)ch) ? ch - '0' : tolower((unsigned char)ch) - 'a' + 10;
}

/* Exactly "xx:xx:xx:xx:xx:xx", hex digits in either case. */
static int mac_parse(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++, s += 3) {
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
			return -EINVAL;
		if (s[2] != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		mac[i] = hexval(s[0]) << 4 | hexval(s[1]);
	}
	return 0;
}

static int get_mac(struct ctx *c, json_t *obj, struct net_config *n)
{
	const char *s;
	int ret;

	ret = peek_str(c, obj, "guest_mac", 0, &s);
	if (ret || !s)
		return ret;
	if (mac_parse(s, n->guest_mac))
		return fail(c, "guest_mac", "expected a MAC address like \"06:00:ac:10:00:02\", got \"%s\"",
			    s);
	n->has_guest_mac = true;
	return 0;
}

/* A tap name the kernel accepts: 1..15 bytes, no '/', ':' or white space. */
static int check_ifname(struct ctx *c, const char *name)
{
	size_t len = strlen(name);
	bool ok = len && len <= IFNAME_MAX && strcmp(name, ".") && strcmp(name, "..");

	for (size_t i = 0; ok && i < len; i++)
		ok = name[i] != '/' && name[i] != ':' && !isspace((unsigned char)name[i]);
	if (ok)
		return 0;
	return fail(c, "host_dev_name",
		    "expected an interface name of 1..%d bytes without '/', ':' or spaces, got \"%s\"",
		    IFNAME_MAX, name);
}

static int net_parse(struct ctx *c, json_t *obj, struct net_config *n)
{
	int ret;

	memset(n, 0, sizeof(*n));
	ret = check_object(c, obj, net_keys) ?:
	      get_str(c, obj, "iface_id", F_REQUIRED, &n->iface_id) ?:
	      check_id(c, "iface_id", n->iface_id) ?:
	      get_str(c, obj, "host_dev_name", F_REQUIRED, &n->host_dev_name) ?:
	      check_ifname(c, n->host_dev_name) ?:
	      get_mac(c, obj, n) ?:
	      get_uint(c, obj, "mtu", MTU_MIN, MTU_MAX, &n->mtu) ?:
	      get_limiter(c, obj, "rx_rate_limiter", &n->rx_rate_limiter) ?:
	      get_limiter(c, obj, "tx_rate_limiter", &n->tx_rate_limiter);
	if (ret)
		net_free(n);
	return ret;
}

/* Another interface (not the one with n's id) already holds n's tap or MAC. */
static int net_conflict(struct ctx *c, const struct vm_config *cfg, const struct net_config *n)
{
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		const struct net_config *o = &cfg->nets[i];

		if (!strcmp(o->iface_id, n->iface_id))
			continue;
		if (!strcmp(o->host_dev_name, n->host_dev_name))
			return fail(c, "host_dev_name", "\"%s\" is already used by interface \"%s\"",
				    n->host_dev_name, o->iface_id);
		if (n->has_guest_mac && o->has_guest_mac &&
		    !memcmp(o->guest_mac, n->guest_mac, sizeof(n->guest_mac)))
			return fail(c, "guest_mac", "already used by interface \"%s\"", o->iface_id);
	}
	return 0;
}

static int net_find(const struct vm_config *cfg, const char *id)
{
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		if (!strcmp(cfg->nets[i].iface_id, id))
			return i;
	}
	return -1;
}

static int net_put(struct ctx *c, struct vm_config *cfg, struct net_config *n, bool replace)
{
	int idx = net_find(cfg, n->iface_id), ret;

	if (idx >= 0 && !replace)
		return fail(c, "iface_id", "duplicate id \"%s\"", n->iface_id);
	if (idx < 0 && cfg->nr_nets == CONFIG_MAX_NETS)
		return fail(c, NULL, "too many network interfaces, at most %d", CONFIG_MAX_NETS);
	ret = net_conflict(c, cfg, n);
	if (ret)
		return ret;
	if (idx >= 0)
		net_free(&cfg->nets[idx]);
	else
		idx = cfg->nr_nets++;
	cfg->nets[idx] = *n;
	return 0;
}

static int net_from_json(struct ctx *c, struct vm_config *cfg, json_t *obj, bool replace)
{
	struct net_config n;
	int ret;

	ret = net_parse(c, obj, &n) ?: net_put(c, cfg, &n, replace);
	if (ret)
		net_free(&n);
	return ret;
}

static int net_add(struct ctx *c, struct vm_config *cfg, json_t *obj)
{
	return net_from_json(c, cfg, obj, false);
}

/* ---- entropy, serial, logger, metrics ---- */

static int entropy_from_json(struct ctx *c, struct vm_config *cfg, json_t *obj)
{
	static const char *const keys[] = { "rate_limiter", NULL };
	struct rl_config rl;
	int ret;

	ret = check_object(c, obj, keys) ?: get_limiter(c, obj, "rate_limiter", &rl);
	if (!ret) {
		cfg->entropy = true;
		cfg->entropy_rate_limiter = rl;
	}
	return ret;
}

/* ---- vsock ---- */

/* "<uds_path>_<port>" must fit a sockaddr_un too: 107 bytes less "_4294967295". */
#define VSOCK_PATH_MAX		96
#define VSOCK_CID_MAX		0xfffffffeu	/* 0xffffffff is VMADDR_CID_ANY */

static void vsock_free(struct vsock_config *v)
{
	free(v->uds_path);
	free(v->vsock_id);
	memset(v, 0, sizeof(*v));
}

static int vsock_path(struct ctx *c, const char *path)
{
	if (strlen(path) <= VSOCK_PATH_MAX)
		return 0;
	return fail(c, "uds_path", "expected at most %d bytes (a Unix socket path, with room "
		    "for \"_<port>\"), got %zu", VSOCK_PATH_MAX, strlen(path));
}

/* As Firecracker: PUT again before start replaces the device. */
static int vsock_from_json(struct ctx *c, struct vm_config *cfg, json_t *obj)
{
	static const char *const keys[] = { "vsock_id", "guest_cid", "uds_path", NULL };
	struct vsock_config v = { 0 };
	int ret;

	ret = check_object(c, obj, keys) ?:
	      require(c, obj, "guest_cid") ?:
	      get_uint(c, obj, "guest_cid", 3, VSOCK_CID_MAX, &v.guest_cid) ?:
	      get_str(c, obj, "uds_path", F_REQUIRED | F_NONEMPTY, &v.uds_path) ?:
	      vsock_path(c, v.uds_path) ?:
	      get_str(c, obj, "vsock_id", 0, &v.vsock_id);
	if (ret) {
		vsock_free(&v);
		return ret;
	}
	vsock_free(&cfg->vsock);
	cfg->vsock = v;
	return 0;
}

static json_t *vsock_to_json(const struct vsock_config *v)
{
	return json_pack("{s:s*, s:I, s:s}", "vsock_id", v->vsock_id,
			 "guest_cid", (json_int_t)v->guest_cid, "uds_path", v->uds_path);
}

/* Like Firecracker's: the rate limiter here is one TokenBucket, of console bytes. */
static int serial_from_json(struct ctx *c, struct vm_config *cfg, json_t *obj)
{
	static const char *const keys[] = { "serial_out_path", "rate_limiter", NULL };
	struct rl_bucket_config bucket;
	char where[160], *path = NULL;
	int ret;

	nested(c, "rate_limiter", where, sizeof(where));
	ret = check_object(c, obj, keys) ?:
	      get_str(c, obj, "serial_out_path", F_NONEMPTY, &path) ?:
	      config_token_bucket_parse(member(obj, "rate_limiter"), where, &bucket, c->err,
					c->errlen);
	if (ret) {
		free(path);
		return ret;
	}
	free(cfg->serial.serial_out_path);
	cfg->serial.serial_out_path = path;
	cfg->serial.rate_limiter = bucket;
	cfg->serial.present = true;
	return 0;
}

static const char *const logger_keys[] = {
	"log_path", "level", "show_level", "show_log_origin", "module", NULL
};

/* Case-insensitive, as Firecracker's logger. */
static int get_level(struct ctx *c, json_t *obj, enum log_level *level)
{
	const char *s;
	int ret;

	ret = peek_str(c, obj, "level", 0, &s);
	if (ret || !s || !log_level_parse(s, level))
		return ret;
	return fail(c, "level", "expected one of Off, Error, Warning, Info, Debug, Trace, got \"%s\"",
		    s);
}

/* A prefix of the source path beneath src/ ("virtio", "api/server"); "" is every line. */
static int get_module(struct ctx *c, json_t *obj, char **module)
{
	int ret = get_str(c, obj, "module", 0, module);

	if (ret || !*module || strlen(*module) <= LOG_MODULE_MAX)
		return ret;
	free(*module);
	*module = NULL;
	return fail(c, "module", "expected at most %d bytes", LOG_MODULE_MAX);
}

/* Like Firecracker's logger update: fields not given keep their value. */
static int logger_from_json(struct ctx *c, struct vm_config *cfg, json_t *obj)
{
	struct logger_config l = cfg->logger;
	char *path = NULL, *module = NULL;
	int ret;

	ret = check_object(c, obj, logger_keys) ?:
	      get_str(c, obj, "log_path", F_NONEMPTY, &path) ?:
	      get_level(c, obj, &l.level) ?:
	      get_bool(c, obj, "show_level", 0, &l.show_level) ?:
	      get_bool(c, obj, "show_log_origin", 0, &l.show_log_origin) ?:
	      get_module(c, obj, &module);
	if (ret) {
		free(path);
		free(module);
		return ret;
	}
	if (path) {
		free(cfg->logger.log_path);
		l.log_path = path;
	}
	if (module) {
		free(cfg->logger.module);
		l.module = module;
	}
	l.present = true;
	cfg->logger = l;
	return 0;
}

#define PROPERTIES_MAX	64

/* "properties": an object of strings (Firecracker's map of string to string). */
static int get_properties(struct ctx *c, json_t *obj, json_t **out)
{
	json_t *props = member(obj, "properties"), *v;
	const char *key;

	*out = NULL;
	if (!props)
		return 0;
	if (!json_is_object(props))
		return fail(c, "properties", "expected an object of strings, got %s",
			    type_name(props));
	if (json_object_size(props) > PROPERTIES_MAX)
		return fail(c, "properties", "expected at most %d entries, got %zu",
			    PROPERTIES_MAX, json_object_size(props));
	json_object_foreach(props, key, v) {
		if (!json_is_string(v))
			return fail(c, "properties", "\"%s\": expected a string, got %s", key,
				    type_name(v));
	}
	*out = json_deep_copy(props);
	return *out ? 0 : oom(c);
}

static int metrics_from_json(struct ctx *c, struct vm_config *cfg, json_t *obj)
{
	static const char *const keys[] = { "metrics_path", "emit_id", "properties", NULL };
	bool emit_id = false;
	json_t *props;
	char *path;
	int ret;

	ret = check_object(c, obj, keys) ?:
	      get_bool(c, obj, "emit_id", 0, &emit_id) ?:
	      get_properties(c, obj, &props);
	if (ret)
		return ret;
	ret = get_str(c, obj, "metrics_path", F_REQUIRED | F_NONEMPTY, &path);
	if (ret) {
		json_decref(props);
		return ret;
	}
	free(cfg->metrics.metrics_path);
	json_decref(cfg->metrics.properties);
	cfg->metrics.metrics_path = path;
	cfg->metrics.emit_id = emit_id;
	cfg->metrics.properties = props;
	cfg->metrics.present = true;
	return 0;
}

/* ---- the whole document ---- */

static int array_from_json(struct ctx *c, struct vm_config *cfg, json_t *arr, parse_fn elem)
{
	char where[48];
	struct ctx ec = { .err = c->err, .errlen = c->errlen, .where = where };
	size_t i;
	json_t *v;
	int ret;

	if (!json_is_array(arr))
		return fail(c, NULL, "expected an array, got %s", type_name(arr));
	json_array_foreach(arr, i, v) {
		snprintf(where, sizeof(where), "%s[%zu]", c->where, i);
		ret = elem(&ec, cfg, v);
		if (ret)
			return ret;
	}
	return 0;
}

static int drives_from_json(struct ctx *c, struct vm_config *cfg, json_t *arr)
{
	return array_from_json(c, cfg, arr, drive_add);
}

static int nets_from_json(struct ctx *c, struct vm_config *cfg, json_t *arr)
{
	return array_from_json(c, cfg, arr, net_add);
}

static int mmds_from_json(struct ctx *c, struct vm_config *cfg, json_t *obj)
{
	return config_mmds_from_json(cfg, obj, c->err, c->errlen);
}

static const struct {
	const char *name;
	parse_fn parse;		/* NULL: a Firecracker section petrel lacks */
} sections[] = {
	{ "boot-source", boot_from_json },
	{ "machine-config", machine_put },
	{ "drives", drives_from_json },
	{ "network-interfaces", nets_from_json },
	{ "entropy", entropy_from_json },
	{ "serial", serial_from_json },
	{ "logger", logger_from_json },
	{ "metrics", metrics_from_json },
	{ "vsock", vsock_from_json },
	{ "balloon", config_balloon_section },
	{ "mmds-config", mmds_from_json },
	{ "cpu-config", NULL },
};

static int check_top_keys(struct ctx *c, json_t *root)
{
	const char *key;
	json_t *v;
	size_t i;

	if (!json_is_object(root))
		return fail(c, NULL, "expected a JSON object, got %s", type_name(root));
	json_object_foreach(root, key, v) {
		for (i = 0; i < ARRAY_SIZE(sections); i++) {
			if (!strcmp(key, sections[i].name))
				break;
		}
		if (i == ARRAY_SIZE(sections))
			return fail(c, NULL, "unknown field \"%s\"", key);
		if (!sections[i].parse && !json_is_null(v))
			return fail(c, key, "not supported by petrel");
	}
	return 0;
}

static int doc_from_json(struct ctx *c, struct vm_config *cfg, json_t *root)
{
	struct ctx sc = *c;
	json_t *v;
	int ret;

	ret = check_top_keys(c, root) ?: require(c, root, "boot-source");
	for (size_t i = 0; !ret && i < ARRAY_SIZE(sections); i++) {
		v = member(root, sections[i].name);
		if (!v || !sections[i].parse)
			continue;
		sc.where = sections[i].name;
		ret = sections[i].parse(&sc, cfg, v);
	}
	return ret;
}

/* ---- public interface ---- */

void config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	machine_defaults(cfg);
	cfg->logger.level = LOG_INFO;	/* Firecracker's default level */
}

void config_free(struct vm_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		drive_free(&cfg->drives[i]);
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		net_free(&cfg->nets[i]);
	vsock_free(&cfg->vsock);
	free(cfg->boot.kernel_image_path);
	free(cfg->boot.boot_args);
	free(cfg->boot.initrd_path);
	free(cfg->logger.log_path);
	free(cfg->logger.module);
	free(cfg->metrics.metrics_path);
	json_decref(cfg->metrics.properties);
	config_mmds_free(&cfg->mmds);
	free(cfg->serial.serial_out_path);
	config_init(cfg);
}

int config_parse_string(const char *json, size_t len, struct vm_config *cfg,
			char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen, .where = "" };
	struct vm_config tmp;
	json_error_t jerr;
	json_t *root;
	int ret;

	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(&c, NULL, "invalid JSON at line %d, column %d: %s",
			    jerr.line, jerr.column, jerr.text);
	config_init(&tmp);
	ret = doc_from_json(&c, &tmp, root) ?: config_validate(&tmp, err, errlen);
	json_decref(root);
	if (ret) {
		config_free(&tmp);
		return ret;
	}
	config_free(cfg);
	*cfg = tmp;
	return 0;
}

int config_parse_file(const char *path, struct vm_config *cfg, char *err, size_t errlen)
{
	char msg[1024];
	uint8_t *data;
	size_t size;
	int ret;

	/* A FIFO too: bash's <(...) */
	ret = util_read_file(path, CONFIG_FILE_MAX, UTIL_FILE_REG | UTIL_FILE_FIFO, &data, &size,
			     msg, sizeof(msg));
	if (ret) {
		snprintf(err, errlen, "config file %s", msg);
		return ret;
	}
	ret = config_parse_string((const char *)data, size, cfg, msg, sizeof(msg));
	free(data);
	if (ret)
		snprintf(err, errlen, "config file %s: %s", path, msg);
	return ret;
}

int config_boot_source_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen, .where = "boot-source" };

	return boot_from_json(&c, cfg, obj);
}

int config_machine_from_json(struct vm_config *cfg, json_t *obj, bool partial,
			     char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen, .where = "machine-config" };

	return machine_from_json(&c, cfg, obj, partial);
}

int config_drive_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen, .where = "drive" };

	return drive_from_json(&c, cfg, obj, true);
}

int config_net_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen, .where = "network-interface" };

	return net_from_json(&c, cfg, obj, true);
}

int config_entropy_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen, .where = "entropy" };

	return entropy_from_json(&c, cfg, obj);
}

int config_vsock_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen, .where = "vsock" };

	return vsock_from_json(&c, cfg, obj);
}

int config_vsock_override(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	static const char *const keys[] = { "uds_path", NULL };
	struct ctx c = { .err = err, .errlen = errlen, .where = "vsock_override" };
	char *path;
	int ret;

	ret = check_object(&c, obj, keys) ?:
	      get_str(&c, obj, "uds_path", F_REQUIRED | F_NONEMPTY, &path);
	if (ret)
		return ret;
	ret = vsock_path(&c, path);
	if (!ret && !cfg->vsock.guest_cid)
		ret = fail(&c, NULL, "the snapshot has no vsock device");
	if (ret) {
		free(path);
		return ret;
	}
	free(cfg->vsock.uds_path);
	cfg->vsock.uds_path = path;
	return 0;
}

int config_drive_patch_check(json_t *obj, const char **path_on_host, struct rl_config *rl,
			     char *err, size_t errlen)
{
	static const char *const keys[] = { "drive_id", "path_on_host", "rate_limiter", NULL };
	struct ctx c = { .err = err, .errlen = errlen, .where = "drive" };
	const char *id;

	return check_object(&c, obj, keys) ?:
	       peek_str(&c, obj, "drive_id", F_REQUIRED, &id) ?:
	       check_id(&c, "drive_id", id) ?:
	       peek_str(&c, obj, "path_on_host", F_NONEMPTY, path_on_host) ?:
	       get_limiter(&c, obj, "rate_limiter", rl);
}

int config_net_patch_check(json_t *obj, struct rl_config *rx, struct rl_config *tx, char *err,
			   size_t errlen)
{
	static const char *const keys[] = {
		"iface_id", "rx_rate_limiter", "tx_rate_limiter", NULL
	};
	struct ctx c = { .err = err, .errlen = errlen, .where = "network-interface" };
	const char *id;

	return check_object(&c, obj, keys) ?:
	       peek_str(&c, obj, "iface_id", F_REQUIRED, &id) ?:
	       check_id(&c, "iface_id", id) ?:
	       get_limiter(&c, obj, "rx_rate_limiter", rx) ?:
	       get_limiter(&c, obj, "tx_rate_limiter", tx);
}

int config_serial_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen, .where = "serial" };

	return serial_from_json(&c, cfg, obj);
}

int config_logger_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen, .where = "logger" };

	return logger_from_json(&c, cfg, obj);
}

int config_metrics_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen, .where = "metrics" };

	return metrics_from_json(&c, cfg, obj);
}

/* ---- back to JSON ---- */

static json_t *drive_to_json(const struct vm_config *cfg, unsigned int i)
{
	const struct drive_config *d = &cfg->drives[i];

	return json_pack("{s:s, s:s, s:b, s:s*, s:b, s:s, s:s, s:o*}",
			 "drive_id", d->drive_id,
			 "path_on_host", d->path_on_host,
			 "is_root_device", d->is_root_device,
			 "partuuid", d->partuuid,
			 "is_read_only", d->is_read_only,
			 "cache_type", cache_names[d->cache_type],
			 "io_engine", engine_names[d->io_engine],
			 "rate_limiter", config_rate_limiter_json(&d->rate_limiter));
}

static json_t *net_to_json(const struct vm_config *cfg, unsigned int i)
{
	const struct net_config *n = &cfg->nets[i];
	const uint8_t *m = n->guest_mac;
	char mac[18];
	json_t *j;

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
		 m[0], m[1], m[2], m[3], m[4], m[5]);
	j = json_pack("{s:s, s:s, s:s*, s:o*, s:o*}",
		      "iface_id", n->iface_id,
		      "host_dev_name", n->host_dev_name,
		      "guest_mac", n->has_guest_mac ? mac : NULL,
		      "rx_rate_limiter", config_rate_limiter_json(&n->rx_rate_limiter),
		      "tx_rate_limiter", config_rate_limiter_json(&n->tx_rate_limiter));
	if (j && n->mtu && json_object_set_new(j, "mtu", json_integer(n->mtu))) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *array_to_json(const struct vm_config *cfg, unsigned int n,
			     json_t *(*one)(const struct vm_config *cfg, unsigned int i))
{
	json_t *arr = json_array();

	for (unsigned int i = 0; arr && i < n; i++) {
		if (json_array_append_new(arr, one(cfg, i))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *logger_to_json(const struct logger_config *l)
{
	return json_pack("{s:s*, s:s, s:b, s:b, s:s*}",
			 "log_path", l->log_path,
			 "level", log_level_name(l->level),
			 "show_level", l->show_level,
			 "show_log_origin", l->show_log_origin,
			 "module", l->module);
}

static json_t *metrics_to_json(const struct metrics_config *m)
{
	return json_pack("{s:s, s:b, s:O*}", "metrics_path", m->metrics_path,
			 "emit_id", m->emit_id, "properties", m->properties);
}

static json_t *serial_to_json(const struct serial_config *s)
{
	return json_pack("{s:s*, s:o*}", "serial_out_path", s->serial_out_path,
			 "rate_limiter", config_token_bucket_json(&s->rate_limiter));
}

/* Sections are added one by one: json_object_set_new() frees a value it drops. */
json_t *config_to_json(const struct vm_config *cfg)
{
	const struct metrics_config *mt = &cfg->metrics;
	json_t *root;

	root = json_pack("{s:{s:s*, s:s*, s:s*}, s:{s:i, s:i, s:b, s:s, s:b}}",
			 "boot-source",
			 "kernel_image_path", cfg->boot.kernel_image_path,
			 "boot_args", cfg->boot.boot_args,
			 "initrd_path", cfg->boot.initrd_path,
			 "machine-config",
			 "vcpu_count", (int)cfg->machine.vcpu_count,
			 "mem_size_mib", (int)cfg->machine.mem_size_mib,
			 "smt", cfg->machine.smt,
			 "huge_pages", huge_pages_names[cfg->machine.huge_pages],
			 "track_dirty_pages", cfg->machine.track_dirty_pages);
	if (!root)
		return NULL;
	if (json_object_set_new(root, "drives",
				array_to_json(cfg, cfg->nr_drives, drive_to_json)) ||
	    json_object_set_new(root, "network-interfaces",
				array_to_json(cfg, cfg->nr_nets, net_to_json)) ||
	    (cfg->entropy && json_object_set_new(root, "entropy", json_pack("{s:o*}",
		"rate_limiter", config_rate_limiter_json(&cfg->entropy_rate_limiter)))) ||
	    (cfg->vsock.guest_cid &&
	     json_object_set_new(root, "vsock", vsock_to_json(&cfg->vsock))) ||
	    (cfg->serial.present && json_object_set_new(root, "serial", serial_to_json(&cfg->serial))) ||
	    (cfg->logger.present &&
	     json_object_set_new(root, "logger", logger_to_json(&cfg->logger))) ||
	    (mt->present && json_object_set_new(root, "metrics", metrics_to_json(mt))) ||
	    (cfg->balloon.present &&
	     json_object_set_new(root, "balloon", config_balloon_to_json(&cfg->balloon))) ||
	    (cfg->mmds.present &&
	     json_object_set_new(root, "mmds-config", config_mmds_to_json(&cfg->mmds)))) {
		json_decref(root);
		return NULL;
	}
	return root;
}

int config_validate(const struct vm_config *cfg, char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen, .where = "boot-source" };
	unsigned int roots = 0;
	int ret;

	if (!cfg->boot.kernel_image_path)
		return fail(&c, "kernel_image_path", "required to boot, and not set");
	c.where = "machine-config";
	ret = machine_check(&c, cfg);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		roots += cfg->drives[i].is_root_device;
	c.where = "drives";
	if (roots > 1)
		return fail(&c, NULL, "%u drives have is_root_device set, at most one may", roots);
	c.where = "balloon";
	ret = config_balloon_check(&c, cfg);
	if (ret)
		return ret;
	return config_mmds_check_ifaces(cfg, err, errlen);
}

/* ---- for the section parsers under config/ ---- */

int config_fail(struct ctx *c, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(c, field, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int config_check_object(struct ctx *c, json_t *obj, const char *const *known)
{
	return check_object(c, obj, known);
}

int config_require(struct ctx *c, json_t *obj, const char *name)
{
	return require(c, obj, name);
}

int config_get_bool(struct ctx *c, json_t *obj, const char *name, unsigned int flags,
		    bool *out)
{
	return get_bool(c, obj, name, flags, out);
}

int config_get_uint(struct ctx *c, json_t *obj, const char *name, unsigned int min,
		    unsigned int max, unsigned int *out)
{
	return get_uint(c, obj, name, min, max, out);
}
