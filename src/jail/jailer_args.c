// SPDX-License-Identifier: Apache-2.0
/* The jailer's command line, Firecracker's flags: parsed and checked before anything is made. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/jail.h>
#include <petrel/util.h>

#define DEFAULT_NO_FILE	2048	/* Firecracker's jailer sets this too */

/* One line here (and its case in parse_one) adds a flag; petrel jail --help lists it. */
enum {
	OPT_ID, OPT_EXEC_FILE, OPT_UID, OPT_GID, OPT_CHROOT_BASE, OPT_NETNS,
	OPT_CGROUP_VERSION, OPT_CGROUP, OPT_PARENT_CGROUP, OPT_RLIMIT, OPT_DAEMONIZE,
	OPT_NEW_PID_NS, OPT_HELP, NR_OPTS,
};

static const struct util_flag flags[NR_OPTS] = {
	[OPT_ID] = { "id", "ID", "the jail's name: 1..64 letters, digits or '-' (required)" },
	[OPT_EXEC_FILE] = { "exec-file", "FILE", "the binary to jail (default: this petrel)" },
	[OPT_UID] = { "uid", "UID", "the user it runs as, a number (required)" },
	[OPT_GID] = { "gid", "GID", "the group it runs as, a number (required)" },
	[OPT_CHROOT_BASE] = { "chroot-base-dir", "DIR",
		"the jail is DIR/<exec name>/ID/root (default " JAILER_DEFAULT_BASE ")" },
	[OPT_NETNS] = { "netns", "PATH", "join this network namespace" },
	[OPT_CGROUP_VERSION] = { "cgroup-version", "1|2", "the cgroup hierarchy (default 1)" },
	[OPT_CGROUP] = { "cgroup", "FILE=VALUE", "write VALUE to the jail's cgroup FILE (repeatable)" },
	[OPT_PARENT_CGROUP] = { "parent-cgroup", "PATH",
		"the cgroup is PATH/ID (default <exec name>/ID)" },
	[OPT_RLIMIT] = { "resource-limit", "fsize=N|no-file=N",
		"a resource limit (repeatable; default no-file=2048)" },
	[OPT_DAEMONIZE] = { "daemonize", NULL, "new session, stdio on /dev/null" },
	[OPT_NEW_PID_NS] = { "new-pid-ns", NULL, "run in a new pid namespace" },
	[OPT_HELP] = { "help", NULL, "print this help and exit" },
};

/* getopt_long() answers '?' for an unknown flag: ours start above any character. */
#define FLAG_BASE	256

void jailer_usage(FILE *out)
{
	fprintf(out, "Usage: petrel jail --id ID --uid UID --gid GID [flags] -- [petrel flags]\n\n");
	util_flags_usage(out, flags, NR_OPTS);
}

struct perr {
	char *buf;
	size_t len;
};

static int bad(struct perr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct perr *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->buf, e->len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_id_number(struct perr *e, const char *flag, const char *s, uint32_t *out)
{
	uint64_t v;

	if (parse_u64(s, UINT32_MAX - 1, &v))
		return bad(e, "--%s: expected a number 0..%u, got '%s'", flag, UINT32_MAX - 1, s);
	*out = v;
	return 0;
}

/* A relative path of plain names: no "..", no empty part, nothing absolute. */
static bool plain_relative(const char *p)
{
	if (!*p || *p == '/' || strlen(p) > 255)
		return false;
	for (const char *s = p; *s; s = strchr(s, '/') ? strchr(s, '/') + 1 : s + strlen(s)) {
		if (*s == '/' || !strncmp(s, "../", 3) || !strcmp(s, "..") ||
		    !strncmp(s, "./", 2) || !strcmp(s, "."))
			return false;
	}
	return p[strlen(p) - 1] != '/';
}

/* FILE=VALUE: FILE is "<controller>.<name>", one plain name. */
static int parse_cgroup(struct perr *e, struct jailer_args *a, char *arg)
{
	char *eq = strchr(arg, '=');
	struct jailer_cgroup *c;

	if (!eq || eq == arg || !eq[1])
		return bad(e, "--cgroup: expected FILE=VALUE (memory.max=256M), got '%s'", arg);
	*eq = '\0';
	if (strchr(arg, '/') || !strchr(arg, '.') || *arg == '.' || strlen(arg) > 64)
		return bad(e, "--cgroup: '%s' is not a cgroup file name such as memory.max", arg);
	if (strchr(eq + 1, '\n'))
		return bad(e, "--cgroup: the value of %s has a newline", arg);
	if (a->nr_cgroups == JAILER_MAX_CGROUPS)
		return bad(e, "--cgroup: at most %d", JAILER_MAX_CGROUPS);
	c = &a->cgroups[a->nr_cgroups++];
	c->file = arg;
	c->value = eq + 1;
	return 0;
}

static int parse_rlimit(struct perr *e, struct jailer_args *a, const char *arg)
{
	const char *eq = strchr(arg, '=');
	uint64_t v;

	if (!eq || parse_u64(eq + 1, INT64_MAX, &v))
		return bad(e, "--resource-limit: expected fsize=N or no-file=N, got '%s'", arg);
	if (!strncmp(arg, "fsize=", 6))
		a->fsize = v;
	else if (!strncmp(arg, "no-file=", 8))
		a->no_file = v;
	else
		return bad(e, "--resource-limit: unknown resource in '%s' (fsize, no-file)", arg);
	return 0;
}

static int parse_path_flags(struct perr *e, struct jailer_args *a, int c, char *arg)
{
	switch (c) {
	case OPT_EXEC_FILE:
		a->exec_file = arg;
		return *arg ? 0 : bad(e, "--exec-file: empty path");
	case OPT_CHROOT_BASE:
		a->chroot_base = arg;
		return *arg == '/' && strlen(arg) < 1024 ? 0 :
			bad(e, "--chroot-base-dir: '%s' is not an absolute path", arg);
	case OPT_NETNS:
		a->netns = arg;
		return *arg ? 0 : bad(e, "--netns: empty path");
	default:	/* OPT_PARENT_CGROUP */
		a->parent_cgroup = arg;
		return plain_relative(arg) ? 0 :
			bad(e, "--parent-cgroup: '%s' must be a relative path without '..'", arg);
	}
}

static int parse_one(struct perr *e, struct jailer_args *a, int c, char *arg)
{
	switch (c) {
	case OPT_ID:
		a->id = arg;
		return util_valid_id(arg) ? 0 : bad(e, "--id: '%s' must be 1..%d letters, digits or "
					      "'-'", arg, UTIL_ID_MAX);
	case OPT_UID:
		return parse_id_number(e, "uid", arg, &a->uid);
	case OPT_GID:
		return parse_id_number(e, "gid", arg, &a->gid);
	case OPT_CGROUP_VERSION:
		if (strcmp(arg, "1") && strcmp(arg, "2"))
			return bad(e, "--cgroup-version: expected 1 or 2, got '%s'", arg);
		a->cgroup_version = *arg - '0';
		return 0;
	case OPT_CGROUP:
		return parse_cgroup(e, a, arg);
	case OPT_RLIMIT:
		return parse_rlimit(e, a, arg);
	case OPT_DAEMONIZE:
		a->daemonize = true;
		return 0;
	case OPT_NEW_PID_NS:
		a->new_pid_ns = true;
		return 0;
	case OPT_EXEC_FILE: case OPT_CHROOT_BASE: case OPT_NETNS: case OPT_PARENT_CGROUP:
		return parse_path_flags(e, a, c, arg);
	case OPT_HELP:
		return 1;
	default:
		return bad(e, "unknown option (see petrel jail --help)");
	}
}

static void set_defaults(struct jailer_args *a)
{
	memset(a, 0, sizeof(*a));
	a->uid = a->gid = (uint32_t)-1;
	a->chroot_base = JAILER_DEFAULT_BASE;
	a->cgroup_version = 1;
	a->fsize = -1;
	a->no_file = DEFAULT_NO_FILE;
}

int jailer_parse_args(int argc, char **argv, struct jailer_args *a, char *err, size_t errlen)
{
	struct option options[NR_OPTS + 1];
	struct perr e = { err, errlen };
	int c, ret;

	set_defaults(a);
	optind = 0;	/* glibc: start afresh, also when called again */
	opterr = 0;
	util_flags_options(flags, NR_OPTS, FLAG_BASE, options);
	while ((c = getopt_long(argc, argv, "+", options, NULL)) != -1) {
		ret = parse_one(&e, a, c - FLAG_BASE, optarg);
		if (ret)
			return ret;
	}
	if (optind < argc && strcmp(argv[optind - 1], "--"))
		return bad(&e, "unexpected argument '%s' (petrel's own go after '--')",
			   argv[optind]);
	a->exec_args = argv + optind;
	a->nr_exec_args = argc - optind;
	if (!a->id)
		return bad(&e, "--id is required");
	if (a->uid == (uint32_t)-1 || a->gid == (uint32_t)-1)
		return bad(&e, "--uid and --gid are required");
	return 0;
}
