/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the jailer: what a step made, so a failing step can undo it all. */
#ifndef PETREL_JAILER_PRIV_H
#define PETREL_JAILER_PRIV_H

#include <limits.h>
#include <stdbool.h>

#include <petrel/jail.h>

#define UNDO_MAX	64
#define CG_MAX		8	/* hierarchies one jail may touch */

/*
 * Every path made is kept relative to a directory fd opened before the
 * mount namespace changes, so the undo still reaches it after pivot_root.
 */
struct made {
	int dirfd;
	char path[PATH_MAX];
	bool dir;
};

struct jail {
	const struct jailer_args *args;
	const char *exec_name;		/* the exec file's base name */
	char exec_path[PATH_MAX];	/* resolved exec file */
	char root[PATH_MAX];		/* <base>/<exec_name>/<id>/root */
	int anchor_fd;			/* deepest existing ancestor of root, O_PATH */
	size_t anchor_len;		/* its path's length within root */
	int devnull_fd;
	unsigned int nr_made;
	struct made made[UNDO_MAX];
	unsigned int nr_back;		/* cgroups joined: write our pid back */
	int back_fd[CG_MAX];		/* the original cgroup.procs of each */
	int cg_mount_fd[CG_MAX];	/* O_PATH fds of the cgroup mounts used */
	unsigned int nr_cg_mounts;
};

/* Report which step failed and why; returns -err (or -EINVAL when err is 0). */
int jail_fail(const char *step, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Record a path made relative to dirfd, for the undo. */
int jail_made(struct jail *j, int dirfd, const char *path, bool dir);
/* Create the cgroup(s), write the values, move this process in. */
int jail_cgroups(struct jail *j);

#endif
