// SPDX-License-Identifier: Apache-2.0
/*
 * The jailer's cgroups: <mount>/<parent-cgroup or exec name>/<id> in the
 * hierarchy of each file's controller (v1) or in the unified one (v2, with
 * the controllers enabled on the way down), the values written, then this
 * process moved in. An unknown file is an error, and everything made here
 * is undone by the caller's list.
 */
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <petrel/util.h>

#include "jailer_priv.h"

/* A v1 mount's options list the controller as one comma-separated word. */
static bool has_option(const char *opts, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = opts; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		if (!strncmp(p, word, len) && (p[len] == ',' || !p[len]))
			return true;
	}
	return false;
}

static int find_mount(int version, const char *controller, char *out, size_t len)
{
	FILE *f = setmntent("/proc/mounts", "re");
	struct mntent *m;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (ret && (m = getmntent(f))) {
		if ((version == 2 && !strcmp(m->mnt_type, "cgroup2")) ||
		    (version == 1 && !strcmp(m->mnt_type, "cgroup") &&
		     has_option(m->mnt_opts, controller)))
			ret = snprintf(out, len, "%s", m->mnt_dir) < (int)len ? 0 : -ENAMETOOLONG;
	}
	endmntent(f);
	return ret;
}

/* Our own cgroup in a hierarchy, from /proc/self/cgroup ("4:memory:/a/b", "0::/a"). */
static int own_cgroup(int version, const char *controller, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[512];
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (ret && fgets(line, sizeof(line), f)) {
		char *ctrl = strchr(line, ':'), *path = ctrl ? strchr(ctrl + 1, ':') : NULL;

		if (!path)
			continue;
		*path++ = '\0';
		path[strcspn(path, "\n")] = '\0';
		if ((version == 2 && !strcmp(ctrl + 1, "")) ||
		    (version == 1 && has_option(ctrl + 1, controller)))
			ret = snprintf(out, len, "%s", path) < (int)len ? 0 : -ENAMETOOLONG;
	}
	fclose(f);
	return ret;
}

static int write_file(int dirfd, const char *path, const char *value)
{
	int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC), ret = 0;
	size_t len = strlen(value);

	if (fd < 0)
		return -errno;
	if (write(fd, value, len) != (ssize_t)len)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

static int read_file(int dirfd, const char *path, char *buf, size_t len)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/* Call fn on "", then each prefix of rel ending at a '/', then rel itself. */
static int each_level(int mfd, const char *rel, const char *arg,
		      int (*fn)(int mfd, const char *dir, const char *arg))
{
	char dir[PATH_MAX];
	size_t i = 0;
	int ret = fn(mfd, "", arg);

	while (!ret && rel[i]) {
		i += strcspn(rel + i, "/");
		snprintf(dir, sizeof(dir), "%.*s", (int)i, rel);
		ret = fn(mfd, dir, arg);
		if (rel[i])
			i++;
	}
	return ret;
}

/* dir/file, or file at the top ("" dir); a path too long comes out empty. */
static void join_path(char *out, size_t len, const char *dir, const char *file)
{
	if (snprintf(out, len, "%s%s%s", dir, *dir ? "/" : "", file) >= (int)len)
		out[0] = '\0';
}

/* v2: a controller is usable in a cgroup once its parent enables it for children. */
static int enable_controller(int mfd, const char *dir, const char *controller)
{
	char path[PATH_MAX], cur[1024], word[80];
	int ret;

	join_path(path, sizeof(path), dir, "cgroup.subtree_control");
	ret = read_file(mfd, path, cur, sizeof(cur));
	if (ret)
		return ret;
	for (char *w = strtok(cur, " \n"); w; w = strtok(NULL, " \n")) {
		if (!strcmp(w, controller))
			return 0;
	}
	snprintf(word, sizeof(word), "+%s", controller);
	return write_file(mfd, path, word);
}

/* Space separated, as cgroup.controllers lists them. */
static bool listed(char *list, const char *word)
{
	for (char *w = strtok(list, " \n"); w; w = strtok(NULL, " \n")) {
		if (!strcmp(w, word))
			return true;
	}
	return false;
}

/* v1 cpuset: a new cgroup has no CPUs or memory nodes until given its parent's. */
static int inherit_cpuset(int mfd, const char *dir, const char *unused)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char path[PATH_MAX], parent[PATH_MAX], val[1024];
	const char *slash = strrchr(dir, '/');
	int ret = 0;

	if (!*dir)
		return 0;
	snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - dir) : 0, dir);
	for (size_t i = 0; !ret && i < ARRAY_SIZE(files); i++) {
		join_path(path, sizeof(path), dir, files[i]);
		ret = read_file(mfd, path, val, sizeof(val));
		if (ret || val[0] != '\n')
			continue;	/* already set */
		join_path(path, sizeof(path), parent, files[i]);
		ret = read_file(mfd, path, val, sizeof(val));
		join_path(path, sizeof(path), dir, files[i]);
		if (!ret)
			ret = write_file(mfd, path, val);
	}
	return ret;
}

/* mkdir -p rel under mfd, recording each level made. */
static int make_dirs(struct jail *j, int mfd, const char *rel)
{
	char path[PATH_MAX];
	size_t i = 0;

	while (rel[i]) {
		i += strcspn(rel + i, "/");
		snprintf(path, sizeof(path), "%.*s", (int)i, rel);
		if (mkdirat(mfd, path, 0755) == 0) {
			if (jail_made(j, mfd, path, true))
				return -ENOSPC;
		} else if (errno != EEXIST) {
			return -errno;
		}
		if (rel[i])
			i++;
	}
	return 0;
}

struct hierarchy {
	char mount[PATH_MAX];
	int mfd;
	char controller[64];
	char rel[PATH_MAX];	/* the new cgroup, relative to the mount */
	bool joined;
};

static int open_hierarchy(struct jail *j, int version, const char *controller,
			  struct hierarchy *h)
{
	const struct jailer_args *a = j->args;
	int ret = find_mount(version, controller, h->mount, sizeof(h->mount));

	if (ret)
		return jail_fail("cgroup", -ret, "no cgroup v%d hierarchy%s%s is mounted",
				 version, version == 1 ? " for " : "", version == 1 ? controller : "");
	if (j->nr_cg_mounts == CG_MAX)
		return jail_fail("cgroup", E2BIG, "too many cgroup hierarchies");
	h->mfd = open(h->mount, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (h->mfd < 0)
		return jail_fail("cgroup", errno, "%s", h->mount);
	j->cg_mount_fd[j->nr_cg_mounts++] = h->mfd;
	snprintf(h->controller, sizeof(h->controller), "%s", controller);
	snprintf(h->rel, sizeof(h->rel), "%s/%s",
		 a->parent_cgroup ? a->parent_cgroup : j->exec_name, a->id);
	return 0;
}

/* v2: the controller must be on offer at the root, then enabled down to the parent. */
static int use_v2_controller(struct jail *j, struct hierarchy *h, const char *controller)
{
	const char *parent = j->args->parent_cgroup ? j->args->parent_cgroup : j->exec_name;
	char ctrls[1024];
	int ret = read_file(h->mfd, "cgroup.controllers", ctrls, sizeof(ctrls));

	if (ret || !listed(ctrls, controller))
		return jail_fail("cgroup", ret ? -ret : ENOENT, "controller %s is not available "
				 "in %s", controller, h->mount);
	ret = each_level(h->mfd, parent, controller, enable_controller);
	if (ret)
		return jail_fail("cgroup", -ret, "cannot enable %s under %s/%s", controller,
				 h->mount, parent);
	return 0;
}

static int create_cgroup(struct jail *j, int version, struct hierarchy *h)
{
	struct stat st;
	int ret;

	if (!fstatat(h->mfd, h->rel, &st, 0))
		return jail_fail("cgroup", EEXIST, "%s/%s exists: is a jail with this id "
				 "running?", h->mount, h->rel);
	ret = make_dirs(j, h->mfd, h->rel);
	if (ret)
		return jail_fail("cgroup", -ret, "cannot create %s/%s", h->mount, h->rel);
	if (version == 2)	/* cgroup.* files are the core's: nothing to enable */
		return strcmp(h->controller, "cgroup") ? use_v2_controller(j, h, h->controller) : 0;
	if (!strcmp(h->controller, "cpuset") &&
	    (ret = each_level(h->mfd, h->rel, NULL, inherit_cpuset)))
		return jail_fail("cgroup", -ret, "cpuset: cannot give %s/%s its parent's cpus "
				 "and mems", h->mount, h->rel);
	return 0;
}

/* Open our original cgroup.procs first: the undo writes our pid back to it. */
static int join(struct jail *j, int version, struct hierarchy *h)
{
	char own[PATH_MAX], path[PATH_MAX + 16], pid[24];
	int fd, ret;

	ret = own_cgroup(version, h->controller, own, sizeof(own));
	if (ret)
		return jail_fail("cgroup", -ret, "cannot tell our own %s cgroup", h->controller);
	snprintf(path, sizeof(path), "%s/cgroup.procs", own[1] ? own + 1 : ".");
	fd = openat(h->mfd, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return jail_fail("cgroup", errno, "%s/%s", h->mount, path);
	j->back_fd[j->nr_back++] = fd;
	snprintf(path, sizeof(path), "%s/cgroup.procs", h->rel);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	ret = write_file(h->mfd, path, pid);
	if (ret)
		return jail_fail("cgroup", -ret, "cannot move into %s/%s", h->mount, h->rel);
	h->joined = true;
	return 0;
}

static int set_value(int version, struct hierarchy *h, const struct jailer_cgroup *c)
{
	char path[PATH_MAX + 80];
	int ret;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", h->rel, c->file) >= sizeof(path))
		return jail_fail("cgroup", ENAMETOOLONG, "%s/%s", h->rel, c->file);
	ret = write_file(h->mfd, path, c->value);
	if (ret == -ENOENT)
		return jail_fail("cgroup", 0, "%s: no such cgroup file in %s/%s (cgroup v%d)",
				 c->file, h->mount, h->rel, version);
	if (ret)
		return jail_fail("cgroup", -ret, "%s=%s", c->file, c->value);
	return 0;
}

/* The hierarchy of c's controller, opened and made the first time. */
static struct hierarchy *hierarchy_for(struct jail *j, struct hierarchy *hs, unsigned int *nr,
				       const struct jailer_cgroup *c, int *ret)
{
	int version = j->args->cgroup_version;
	char controller[64];

	snprintf(controller, sizeof(controller), "%.*s", (int)strcspn(c->file, "."), c->file);
	for (unsigned int i = 0; i < *nr; i++) {
		if (version == 1 && !strcmp(hs[i].controller, controller))
			return &hs[i];
		if (version == 2) {
			*ret = strcmp(controller, "cgroup") ?
			       use_v2_controller(j, &hs[i], controller) : 0;
			return *ret ? NULL : &hs[i];
		}
	}
	if (*nr == CG_MAX) {
		*ret = jail_fail("cgroup", E2BIG, "too many cgroup controllers");
		return NULL;
	}
	*ret = open_hierarchy(j, version, controller, &hs[*nr]) ?:
	       create_cgroup(j, version, &hs[*nr]);
	return *ret ? NULL : &hs[(*nr)++];
}

int jail_cgroups(struct jail *j)
{
	const struct jailer_args *a = j->args;
	struct hierarchy hs[CG_MAX];
	unsigned int nr = 0;
	int ret = 0;

	for (unsigned int i = 0; i < a->nr_cgroups && !ret; i++) {
		struct hierarchy *h = hierarchy_for(j, hs, &nr, &a->cgroups[i], &ret);

		if (h && !ret)
			ret = set_value(a->cgroup_version, h, &a->cgroups[i]);
	}
	for (unsigned int i = 0; i < nr && !ret; i++)
		ret = join(j, a->cgroup_version, &hs[i]);
	return ret;
}
