// SPDX-License-Identifier: Apache-2.0
/*
 * petrel jail: Firecracker's jailer, in the same binary. Steps, in order:
 * close inherited fds and clear the environment; make the chroot
 * (<base>/<exec name>/<id>/root) and copy the binary in; join the network
 * namespace; set the resource limits; create and join the cgroups; a new
 * mount namespace with the chroot as its root (pivot_root); the device
 * nodes petrel needs; daemonize and a new pid namespace when asked; drop
 * every capability and the bounding set; become uid:gid; exec the binary.
 * A failing step says which and why, and undoes what the jail made (the
 * chroot folder, the cgroups), so a retry with the same id works. The undo
 * runs with the privileges that made the change: until the exec, the
 * process keeps the two capabilities it needs (after the exec it has none),
 * and when a fork put a new process in charge (a new pid namespace, or
 * daemonizing a group leader), the parent, still privileged, waits for the
 * exec, undoes if it failed, and exits with the failure.
 */
#include <cap-ng.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <petrel/util.h>

#include "jailer_priv.h"

#define OLD_ROOT	"old_root"

struct device {
	const char *path;	/* on the host, and in the jail */
	dev_t rdev;
};

/* /dev/userfaultfd only when a snapshot restore will use it: none yet. */
static struct device devices[] = {
	{ .path = "/dev/kvm" }, { .path = "/dev/net/tun" }, { .path = "/dev/urandom" },
};

/* After a fork, the child's failures go to the parent, which undoes and reports. */
static int report_fd = -1;

int jail_fail(const char *step, int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (report_fd < 0) {
		fprintf(stderr, "petrel jail: step '%s' failed: %s%s%s\n", step, msg,
			err ? ": " : "", err ? strerror(err) : "");
		return err ? -err : -EINVAL;
	}
	n = dprintf(report_fd, "petrel jail: step '%s' failed: %s%s%s\n", step, msg,
		    err ? ": " : "", err ? strerror(err) : "");
	if (n < 0)
		_exit(1);	/* the parent sees a failure without words */
	return err ? -err : -EINVAL;
}

int jail_made(struct jail *j, int dirfd, const char *path, bool dir)
{
	struct made *m;

	if (j->nr_made == UNDO_MAX)
		return -ENOSPC;
	m = &j->made[j->nr_made++];
	m->dirfd = dirfd;
	m->dir = dir;
	snprintf(m->path, sizeof(m->path), "%s", path);
	return 0;
}

/* Leave our cgroups, then remove what was made, newest first. */
static void undo(struct jail *j)
{
	char pid[24];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	for (unsigned int i = 0; i < j->nr_back; i++) {
		if (write(j->back_fd[i], pid, strlen(pid)) < 0)
			fprintf(stderr, "petrel jail: undo: cannot leave a cgroup: %s\n",
				strerror(errno));
	}
	while (j->nr_made) {
		struct made *m = &j->made[--j->nr_made];

		if (unlinkat(m->dirfd, m->path, m->dir ? AT_REMOVEDIR : 0) && errno != ENOENT)
			fprintf(stderr, "petrel jail: undo: cannot remove %s: %s\n", m->path,
				strerror(errno));
	}
}

/* A path inside the chroot, relative to the anchor (for the undo list). */
static const char *in_root(const struct jail *j, const char *sub, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s%s%s", j->root + j->anchor_len, *sub == '/' ? "" : "/",
		     sub) >= (int)len)
		buf[0] = '\0';	/* root's length is bounded: this cannot happen */
	return *buf == '/' ? buf + 1 : buf;
}

/* ---- step: the exec file (checked before anything is made) ---- */

/* The chroot holds this one file: it must run alone, a static ELF executable. */
static int check_static(const char *path, int fd)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	if (pread(fd, &eh, sizeof(eh), 0) < 2)
		return jail_fail("exec file", 0, "%s is not an executable (too short)", path);
	if (!memcmp(&eh, "#!", 2))
		return jail_fail("exec file", 0, "%s is a script: the jail would hold it without "
				 "its interpreter; give a statically linked executable", path);
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_machine != EM_X86_64 || (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
	    eh.e_phentsize != sizeof(ph))
		return jail_fail("exec file", 0, "%s is not an x86_64 ELF executable", path);
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph)) != sizeof(ph))
			return jail_fail("exec file", 0, "%s: truncated ELF program headers", path);
		if (ph.p_type == PT_INTERP)
			return jail_fail("exec file", 0, "%s is dynamically linked: the jail would "
					 "hold it without its loader and libraries; give a "
					 "statically linked executable", path);
	}
	return 0;
}

static int step_exec_file(struct jail *j)
{
	const char *file = j->args->exec_file ? j->args->exec_file : "/proc/self/exe";
	struct stat st;
	int fd, ret;

	if (!realpath(file, j->exec_path))
		return jail_fail("exec file", errno, "%s", file);
	if (stat(j->exec_path, &st) || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		return jail_fail("exec file", 0, "%s is not an executable file", j->exec_path);
	fd = open(j->exec_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return jail_fail("exec file", errno, "%s", j->exec_path);
	ret = check_static(j->exec_path, fd);
	close(fd);
	j->exec_name = basename(j->exec_path);
	return ret;
}

/* ---- step: a clean process ---- */

static int step_sanitize(struct jail *j)
{
	if (syscall(SYS_close_range, 3, ~0U, 0) < 0)
		return jail_fail("close fds", errno, "close_range");
	if (clearenv())
		return jail_fail("clear environment", 0, "clearenv");
	return 0;
}

/* ---- step: the chroot folder and the binary in it ---- */

/* The deepest ancestor of root that exists is the anchor; each level below it is made. */
static int make_root(struct jail *j)
{
	char path[PATH_MAX];
	size_t len = strlen(j->root);

	snprintf(path, sizeof(path), "%s", j->root);
	while ((j->anchor_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			return jail_fail("chroot", errno, "%s", path);
		*strrchr(path, '/') = '\0';
		if (!*path)
			strcpy(path, "/");
	}
	j->anchor_len = strcmp(path, "/") ? strlen(path) : 0;
	if (j->anchor_len == len)
		return jail_fail("chroot", EEXIST, "%s: is a jail with this id running?", j->root);
	for (size_t i = j->anchor_len + 1; i <= len; i++) {
		const char *rel = j->root + j->anchor_len + 1;

		if (j->root[i] && j->root[i] != '/')
			continue;
		snprintf(path, sizeof(path), "%.*s", (int)(j->root + i - rel), rel);
		if (mkdirat(j->anchor_fd, path, 0755))
			return jail_fail("chroot", errno, "mkdir %.*s", (int)i, j->root);
		jail_made(j, j->anchor_fd, path, true);
	}
	return 0;
}

static int copy_fd(int in, int out)
{
	struct stat st;
	off_t off = 0;

	if (fstat(in, &st))
		return -errno;
	while (off < st.st_size) {
		ssize_t n = sendfile(out, in, &off, st.st_size - off);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
	}
	return 0;
}

static int copy_binary(struct jail *j)
{
	char rel[PATH_MAX];
	int in = open(j->exec_path, O_RDONLY | O_CLOEXEC), out, ret;

	if (in < 0)
		return jail_fail("copy binary", errno, "%s", j->exec_path);
	const char *path = in_root(j, j->exec_name, rel, sizeof(rel));

	out = openat(j->anchor_fd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (out < 0) {
		ret = jail_fail("copy binary", errno, "%s/%s", j->root, j->exec_name);
		close(in);
		return ret;
	}
	jail_made(j, j->anchor_fd, path, false);
	ret = copy_fd(in, out);
	if (!ret && fchmod(out, 0755))
		ret = -errno;
	close(in);
	close(out);
	return ret ? jail_fail("copy binary", -ret, "%s", j->exec_path) : 0;
}

/* /dev and /dev/net for the nodes, /run (the jail's own) for the API socket. */
static int make_dirs(struct jail *j)
{
	static const char *const dirs[] = { "dev", "dev/net", "run" };
	const struct jailer_args *a = j->args;
	char buf[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		const char *rel = in_root(j, dirs[i], buf, sizeof(buf));

		if (mkdirat(j->anchor_fd, rel, 0755))
			return jail_fail("chroot", errno, "mkdir %s/%s", j->root, dirs[i]);
		jail_made(j, j->anchor_fd, rel, true);
	}
	if (fchownat(j->anchor_fd, in_root(j, "run", buf, sizeof(buf)), a->uid, a->gid, 0))
		return jail_fail("chroot", errno, "chown %s/run", j->root);
	return 0;
}

static int step_chroot(struct jail *j)
{
	const struct jailer_args *a = j->args;

	if (snprintf(j->root, sizeof(j->root), "%s/%s/%s/root", a->chroot_base, j->exec_name,
		     a->id) >= (int)sizeof(j->root))
		return jail_fail("chroot", ENAMETOOLONG, "%s", a->chroot_base);
	return make_root(j) ?: copy_binary(j) ?: make_dirs(j);
}

/* ---- steps: network namespace, resource limits ---- */

static int step_netns(struct jail *j)
{
	int fd;

	if (!j->args->netns)
		return 0;
	fd = open(j->args->netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return jail_fail("netns", errno, "%s", j->args->netns);
	if (setns(fd, CLONE_NEWNET)) {
		close(fd);
		return jail_fail("netns", errno, "setns %s", j->args->netns);
	}
	close(fd);
	return 0;
}

static int set_limit(int resource, const char *name, int64_t v)
{
	struct rlimit rl = { .rlim_cur = v, .rlim_max = v };

	if (v >= 0 && setrlimit(resource, &rl))
		return jail_fail("resource limits", errno, "%s=%lld", name, (long long)v);
	return 0;
}

static int step_rlimits(struct jail *j)
{
	return set_limit(RLIMIT_FSIZE, "fsize", j->args->fsize) ?:
	       set_limit(RLIMIT_NOFILE, "no-file", j->args->no_file);
}

/* ---- step: the mount namespace ---- */

/* What the jail takes from the host before it is out of reach. */
static int take_from_host(struct jail *j)
{
	struct stat st;

	for (size_t i = 0; i < ARRAY_SIZE(devices); i++) {
		if (stat(devices[i].path, &st) || !S_ISCHR(st.st_mode))
			return jail_fail("devices", errno ?: ENODEV, "%s on the host", devices[i].path);
		devices[i].rdev = st.st_rdev;
	}
	j->devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (j->devnull_fd < 0)
		return jail_fail("daemonize", errno, "/dev/null");
	return 0;
}

static int pivot(struct jail *j)
{
	char buf[PATH_MAX];

	if (mount(j->root, j->root, NULL, MS_BIND | MS_REC, NULL))
		return jail_fail("mount namespace", errno, "bind %s onto itself", j->root);
	if (chdir(j->root))
		return jail_fail("mount namespace", errno, "chdir %s", j->root);
	if (mkdir(OLD_ROOT, 0700))
		return jail_fail("mount namespace", errno, "mkdir %s/" OLD_ROOT, j->root);
	jail_made(j, j->anchor_fd, in_root(j, OLD_ROOT, buf, sizeof(buf)), true);
	if (syscall(SYS_pivot_root, ".", OLD_ROOT))
		return jail_fail("mount namespace", errno, "pivot_root");
	if (chdir("/"))
		return jail_fail("mount namespace", errno, "chdir /");
	if (umount2("/" OLD_ROOT, MNT_DETACH))
		return jail_fail("mount namespace", errno, "umount the old root");
	if (rmdir("/" OLD_ROOT))
		return jail_fail("mount namespace", errno, "rmdir /" OLD_ROOT);
	j->nr_made--;	/* old_root is gone */
	return 0;
}

static int step_mount_ns(struct jail *j)
{
	int ret = take_from_host(j);

	if (ret)
		return ret;
	if (unshare(CLONE_NEWNS))
		return jail_fail("mount namespace", errno, "unshare");
	/* Nothing done here may reach the host's mounts. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return jail_fail("mount namespace", errno, "make / private");
	return pivot(j);
}

/* ---- step: device nodes, owned by the jail's user ---- */

static int step_devices(struct jail *j)
{
	const struct jailer_args *a = j->args;
	char buf[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(devices); i++) {
		const struct device *d = &devices[i];

		if (mknod(d->path, S_IFCHR | 0600, d->rdev))
			return jail_fail("devices", errno, "mknod %s (%u:%u)", d->path,
					 major(d->rdev), minor(d->rdev));
		jail_made(j, j->anchor_fd, in_root(j, d->path, buf, sizeof(buf)), false);
		if (chown(d->path, a->uid, a->gid))
			return jail_fail("devices", errno, "chown %s", d->path);
	}
	return 0;
}

/* ---- step: daemonize, pid namespace ---- */

/* "<exec name>.pid" in the jail's root: the host pid of what becomes petrel. */
static int write_pid_file(struct jail *j, pid_t pid)
{
	char name[PATH_MAX], buf[PATH_MAX], text[24];
	int fd, len = snprintf(text, sizeof(text), "%d\n", (int)pid);

	snprintf(name, sizeof(name), "/%s.pid", j->exec_name);
	fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return jail_fail("pid file", errno, "%s", name);
	jail_made(j, j->anchor_fd, in_root(j, name, buf, sizeof(buf)), false);
	if (write(fd, text, len) != len) {
		close(fd);
		return jail_fail("pid file", errno, "%s", name);
	}
	close(fd);
	return 0;
}

/*
 * The parent, still privileged, writes the child's pid file and waits for
 * the child's exec: the end of a close-on-exec pipe. Words on it instead are
 * the child's failure: the parent shows them, undoes, and exits with it.
 */
static void watch_child(struct jail *j, pid_t pid, int fd)
{
	bool failed = write_pid_file(j, pid) != 0;
	char buf[1024];
	ssize_t n;

	if (failed)
		kill(pid, SIGKILL);
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
		if (n > 0) {
			failed = true;
			if (write(STDERR_FILENO, buf, n) < 0) {
				/* the exit code still says it */
			}
		}
	}
	if (!failed)
		_exit(0);	/* exec'd: petrel runs */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	undo(j);
	_exit(1);
}

static int fork_away(struct jail *j)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return jail_fail("fork", errno, "pipe");
	pid = fork();
	if (pid < 0)
		return jail_fail("fork", errno, "fork");
	if (pid > 0) {
		close(fds[1]);
		watch_child(j, pid, fds[0]);
	}
	close(fds[0]);
	report_fd = fds[1];
	return 0;
}

static int step_processes(struct jail *j)
{
	const struct jailer_args *a = j->args;
	/* setsid() fails for a group leader: then a child does it. */
	bool must_fork = a->new_pid_ns || (a->daemonize && getpgrp() == getpid());
	int ret;

	if (a->new_pid_ns && unshare(CLONE_NEWPID))
		return jail_fail("pid namespace", errno, "unshare");
	ret = must_fork ? fork_away(j) : write_pid_file(j, getpid());
	if (ret || !a->daemonize)
		return ret;
	if (setsid() < 0)
		return jail_fail("daemonize", errno, "setsid");
	for (int fd = 0; fd < 3; fd++) {
		if (dup2(j->devnull_fd, fd) < 0)
			return jail_fail("daemonize", errno, "stdio to /dev/null");
	}
	return 0;
}

/* ---- step: privileges ---- */

/*
 * Until the exec, the undo needs to remove what root made (the chroot's
 * folders, the nodes, the cgroups): those two capabilities stay, effective
 * and permitted only. The exec of a file without capabilities, by a process
 * with no bounding set, inheritable or ambient ones, clears them.
 */
static bool kept(int cap)
{
	return cap == CAP_DAC_OVERRIDE || cap == CAP_FOWNER;
}

static int step_privileges(struct jail *j)
{
	const struct jailer_args *a = j->args;
	int ret;

	capng_clear(CAPNG_SELECT_ALL);
	capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_DAC_OVERRIDE, CAP_FOWNER,
		      -1);
	ret = capng_change_id(a->uid, a->gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
	if (ret)
		return jail_fail("drop privileges", errno, "capng_change_id(%u, %u) returned %d",
				 a->uid, a->gid, ret);
	capng_get_caps_process();
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
		if (!kept(cap) && (capng_have_capability(CAPNG_EFFECTIVE, cap) ||
				   capng_have_capability(CAPNG_PERMITTED, cap)))
			ret = -EPERM;
		if (capng_have_capability(CAPNG_INHERITABLE, cap))
			ret = -EPERM;
	}
	if (ret || capng_have_capabilities(CAPNG_SELECT_BOUNDS) != CAPNG_NONE ||
	    getuid() != a->uid || getgid() != a->gid)
		return jail_fail("drop privileges", 0, "capabilities or ids left after the change");
	return 0;
}

/* ---- step: exec ---- */

static int step_exec(struct jail *j)
{
	const struct jailer_args *a = j->args;
	char path[PATH_MAX], start[24];
	char *argv[a->nr_exec_args + 7];
	char *envp[] = { NULL };
	int n = 0;

	snprintf(path, sizeof(path), "/%s", j->exec_name);
	snprintf(start, sizeof(start), "%llu", (unsigned long long)util_now_us());
	argv[n++] = (char *)j->exec_name;
	argv[n++] = "--id";
	argv[n++] = (char *)a->id;
	argv[n++] = "--start-time-us";
	argv[n++] = start;
	argv[n++] = "--jailed";	/* snapshots may be made beneath the chroot's root */
	for (int i = 0; i < a->nr_exec_args; i++)
		argv[n++] = a->exec_args[i];
	argv[n] = NULL;
	execve(path, argv, envp);
	return jail_fail("exec", errno, "%s", path);
}

static const struct {
	int (*run)(struct jail *j);
} steps[] = {
	{ step_exec_file }, { step_sanitize }, { step_chroot }, { step_netns },
	{ step_rlimits }, { jail_cgroups }, { step_mount_ns }, { step_devices },
	{ step_processes }, { step_privileges }, { step_exec },
};

int jailer_main(int argc, char **argv)
{
	struct jailer_args a;
	struct jail j = { .args = &a, .anchor_fd = -1, .devnull_fd = -1 };
	char err[512];
	int ret = jailer_parse_args(argc, argv, &a, err, sizeof(err));

	if (ret > 0) {
		jailer_usage(stdout);
		return 0;
	}
	if (ret) {
		fprintf(stderr, "petrel jail: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(steps) && !ret; i++)
		ret = steps[i].run(&j);
	/* Only a failure gets here: exec does not return. A watching parent undoes. */
	if (report_fd >= 0)
		_exit(1);
	undo(&j);
	return 1;
}
