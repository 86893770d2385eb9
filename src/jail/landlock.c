// SPDX-License-Identifier: Apache-2.0
/*
 * Landlock: where a thread may still change the filesystem, the part a
 * seccomp filter cannot see. To a filter, open(O_RDWR) of a drive image,
 * of /proc/self/mem and of any host file are the same call; Landlock looks
 * at the path. Each thread restricts itself (the ruleset binds the caller):
 *   vmm        may write the writable drives' images and files beside them
 *              (PATCH /drives swaps an image within its directory), may
 *              remove files beneath the API socket's directory (the socket,
 *              at exit), may create new files (snapshots: the seccomp filter
 *              allows only an O_EXCL creating open) beneath that directory,
 *              each --snapshot-dir and, in the jailer's chroot, its root,
 *              and may truncate, link, rename or execute nothing else.
 *              Reads stay free: PATCH opens a read-only image wherever it is.
 *   api, vcpu  nothing by path at all, reads included: they open nothing.
 * A grant "beneath a directory" is never made for the root directory (an
 * image or the socket right in /, as in a jail's root): that would cover
 * /proc/self/mem. Such an image is granted as one file; a block device is
 * too (beside it are the host's other disks). The one exception is the
 * jail's root, and only where /proc cannot be reached from it.
 * Without Landlock in the kernel (before 5.13, or built without it), one
 * warning says which protection is missing and the seccomp filters stand
 * alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/landlock.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <petrel/jail.h>
#include <petrel/log.h>
#include <petrel/util.h>

/* Newer than the UAPI header this builds against: the values are ABI. */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)	/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)	/* ABI 5 */
#endif

#define FS(x)		LANDLOCK_ACCESS_FS_##x
#define READS		(FS(READ_FILE) | FS(READ_DIR))

/* One place the vmm thread may write: a directory (and beneath), or one file. */
struct grant {
	dev_t dev;
	ino_t ino;
	bool dir;
	char path[PATH_MAX];
};

/* The places new files may be made: the socket's directory, --snapshot-dir, the jail. */
#define MAX_CREATE	(JAIL_FS_MAX_CREATE + 2)

#define CREATE_RIGHTS	(FS(MAKE_REG) | FS(WRITE_FILE) | FS(TRUNCATE))

static struct {
	bool confined;			/* the vmm thread's writes are confined */
	unsigned int nr;
	struct grant write[JAIL_FS_MAX_WRITE];
	unsigned int nr_create;
	struct grant create[MAX_CREATE];
} vmm_fs;

/* Every right this kernel's Landlock can refuse. */
static uint64_t handled(int abi)
{
	uint64_t fs = (FS(MAKE_SYM) << 1) - 1;	/* ABI 1: EXECUTE .. MAKE_SYM */

	if (abi >= 2)
		fs |= FS(REFER);
	if (abi >= 3)
		fs |= FS(TRUNCATE);
	if (abi >= 5)
		fs |= FS(IOCTL_DEV);
	return fs;
}

static void warn_unavailable(int err)
{
	static atomic_flag warned = ATOMIC_FLAG_INIT;

	if (atomic_flag_test_and_set(&warned))
		return;
	pr_warn("landlock: not available in this kernel (%s): the vmm thread's file writes "
		"are not confined to the writable drives, nor its removals to the API socket's "
		"directory, nor its new files to the snapshot directories; only the seccomp "
		"filters' open flags apply", strerror(err));
}

/* The device and inode of path's directory (".": a bare name), and that directory. */
static int parent_of(const char *path, char *dir, size_t len, struct stat *st)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
	return stat(dir, st) ? -errno : 0;
}

static bool is_root(const struct stat *st)
{
	struct stat root;

	return !stat("/", &root) && root.st_dev == st->st_dev && root.st_ino == st->st_ino;
}

/* Grant rights on path (a directory: beneath it too). */
static int add_rule(int ruleset, const char *path, uint64_t rights)
{
	struct landlock_path_beneath_attr pb = { .allowed_access = rights };
	int ret = 0;

	pb.parent_fd = open(path, O_PATH | O_CLOEXEC);
	if (pb.parent_fd < 0)
		return -errno;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0))
		ret = -errno;
	close(pb.parent_fd);
	return ret;
}

/* Where a writable image lets the vmm thread write: its directory, or itself alone. */
static int plan_write(const char *image, struct grant *g)
{
	struct stat st, dir;
	int ret;

	if (stat(image, &st))
		return -errno;
	ret = parent_of(image, g->path, sizeof(g->path), &dir);
	if (ret)
		return ret;
	g->dir = S_ISREG(st.st_mode) && !is_root(&dir);
	if (!g->dir)
		snprintf(g->path, sizeof(g->path), "%s", image);
	g->dev = g->dir ? dir.st_dev : st.st_dev;
	g->ino = g->dir ? dir.st_ino : st.st_ino;
	return 0;
}

static int plan_dir(const char *path, bool root_ok, struct grant *g)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (!root_ok && is_root(&st))
		return -EPERM;
	snprintf(g->path, sizeof(g->path), "%s", path);
	g->dir = true;
	g->dev = st.st_dev;
	g->ino = st.st_ino;
	return 0;
}

/*
 * The jailer's chroot: its root holds no /proc (nor anything of the host's
 * but the device nodes it made), so beneath it is no /proc/self/mem.
 * A flag alone could be given by anyone: /proc must be out of reach too.
 */
static bool jail_root_safe(void)
{
	if (!access("/proc/self/exe", F_OK) || errno != ENOENT) {
		pr_warn("landlock: --jailed, but /proc is reachable from /: snapshots may not "
			"be created beneath /");
		return false;
	}
	return true;
}

static int plan_create(const struct jail_fs *fs)
{
	char dir[PATH_MAX];
	struct stat st;
	int ret;

	vmm_fs.nr_create = 0;
	if (fs->remove && !parent_of(fs->remove, dir, sizeof(dir), &st) && !is_root(&st) &&
	    !plan_dir(dir, false, &vmm_fs.create[vmm_fs.nr_create]))
		vmm_fs.nr_create++;
	for (unsigned int i = 0; i < fs->nr_create && i < JAIL_FS_MAX_CREATE; i++) {
		ret = plan_dir(fs->create[i], false, &vmm_fs.create[vmm_fs.nr_create]);
		if (ret) {
			pr_err("landlock: --snapshot-dir %s: %s", fs->create[i],
			       ret == -EPERM ? "the root directory" : strerror(-ret));
			return ret;
		}
		vmm_fs.nr_create++;
	}
	if (fs->jail_root && jail_root_safe() &&
	    !plan_dir("/", true, &vmm_fs.create[vmm_fs.nr_create]))
		vmm_fs.nr_create++;
	return 0;
}

static int plan(const struct jail_fs *fs)
{
	int ret = plan_create(fs);

	if (ret)
		return ret;
	vmm_fs.nr = 0;
	for (unsigned int i = 0; i < fs->nr_write && i < JAIL_FS_MAX_WRITE; i++) {
		ret = plan_write(fs->write[i], &vmm_fs.write[vmm_fs.nr]);

		if (ret) {
			pr_err("landlock: writable drive %s: %s", fs->write[i], strerror(-ret));
			return ret;
		}
		vmm_fs.nr++;
	}
	vmm_fs.confined = true;
	return 0;
}

/* The socket's directory, unless it is the root: then the socket stays at exit. */
static int add_remove(int ruleset, const char *socket, int abi)
{
	char dir[PATH_MAX];
	struct stat st;
	int ret = parent_of(socket, dir, sizeof(dir), &st);

	if (ret)
		return ret;
	if (is_root(&st)) {
		pr_info("landlock: the API socket %s is in /, beneath which nothing may be "
			"removed: it stays at exit", socket);
		return 0;
	}
	return add_rule(ruleset, dir, FS(REMOVE_FILE) & handled(abi));
}

/* Snapshots: new files only (the vmm filter's one creating open is O_EXCL). */
static int add_create(int ruleset, int abi)
{
	int ret = 0;

	for (unsigned int i = 0; i < vmm_fs.nr_create && !ret; i++) {
		ret = add_rule(ruleset, vmm_fs.create[i].path, CREATE_RIGHTS & handled(abi));
		if (ret)
			pr_err("landlock: %s: %s", vmm_fs.create[i].path, strerror(-ret));
	}
	return ret;
}

static int add_vmm_rules(int ruleset, const struct jail_fs *fs, int abi)
{
	int ret = 0;

	for (unsigned int i = 0; i < vmm_fs.nr && !ret; i++) {
		ret = add_rule(ruleset, vmm_fs.write[i].path, FS(WRITE_FILE));
		if (ret)
			pr_err("landlock: %s: %s", vmm_fs.write[i].path, strerror(-ret));
	}
	if (!ret && fs->remove && (ret = add_remove(ruleset, fs->remove, abi)))
		pr_err("landlock: the API socket's directory: %s", strerror(-ret));
	return ret ?: add_create(ruleset, abi);
}

static int restrict_self(enum jail_thread t, const struct jail_fs *fs, int abi)
{
	struct landlock_ruleset_attr attr = { .handled_access_fs = handled(abi) };
	int ruleset, ret = 0;

	/* The vmm thread reads freely; JAIL_ASAN: the sanitizer reads /proc on any thread. */
	if (t == JAIL_VMM || JAIL_ASAN)
		attr.handled_access_fs &= ~READS;
	ruleset = syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (ruleset < 0)
		return -errno;
	if (t == JAIL_VMM && fs)
		ret = add_vmm_rules(ruleset, fs, abi);
	if (!ret && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		ret = -errno;
	if (!ret && syscall(SYS_landlock_restrict_self, ruleset, 0))
		ret = -errno;
	close(ruleset);
	return ret;
}

void jail_landlock_enter(enum jail_thread t, const struct jail_fs *fs)
{
	int abi, ret;

	if (!jail_seccomp_enabled() || t >= JAIL_NR_THREADS)
		return;
	if (t == JAIL_VMM && fs && plan(fs))
		_exit(1);
	abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0) {
		if (errno != ENOSYS && errno != EOPNOTSUPP) {
			pr_err("landlock: cannot ask the kernel's version: %s", strerror(errno));
			_exit(1);
		}
		warn_unavailable(errno);
		return;
	}
	ret = restrict_self(t, fs, abi);
	if (ret) {
		pr_err("landlock: cannot restrict the %s thread: %s", jail_thread_name(t),
		       strerror(-ret));
		_exit(1);
	}
	pr_debug("landlock: %s thread restricted (ABI %d)", jail_thread_name(t), abi);
}

static bool granted(const struct stat *st, bool dir)
{
	for (unsigned int i = 0; i < vmm_fs.nr; i++) {
		const struct grant *g = &vmm_fs.write[i];

		if (g->dir == dir && g->dev == st->st_dev && g->ino == st->st_ino)
			return true;
	}
	return false;
}

static void list_grants(char *err, size_t errlen, size_t n)
{
	for (unsigned int i = 0; i < vmm_fs.nr && n < errlen; i++)
		n += snprintf(err + n, errlen - n, "%s%s%s", i ? ", " : "",
			      vmm_fs.write[i].path, vmm_fs.write[i].dir ? "/" : "");
	if (!vmm_fs.nr && n < errlen)
		snprintf(err + n, errlen - n, "none: no drive was writable at start");
}

int jail_landlock_check_write(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct stat st;
	int n;

	if (!vmm_fs.confined)
		return 0;
	if (!stat(path, &st) && granted(&st, false))
		return 0;
	if (!parent_of(path, dir, sizeof(dir), &st) && granted(&st, true))
		return 0;
	n = snprintf(err, errlen, "%s: not beside a writable drive's image at start, and the "
		     "sandbox lets petrel write only there (", path);
	if (n > 0 && (size_t)n < errlen)
		list_grants(err, errlen, n);
	n = strlen(err);
	if ((size_t)n + 1 < errlen)
		snprintf(err + n, errlen - n, ")");
	return -EACCES;
}

/* Is dir, or a directory above it, one where new files may be made? */
static bool beneath_create(const char *dir)
{
	char up[PATH_MAX];
	struct stat st;
	size_t n = (size_t)snprintf(up, sizeof(up), "%s", dir);

	/* ".." is resolved by the kernel as Landlock sees it: after symlinks, across mounts. */
	while (n + 3 < sizeof(up) && !stat(up, &st)) {
		for (unsigned int i = 0; i < vmm_fs.nr_create; i++) {
			if (vmm_fs.create[i].dev == st.st_dev && vmm_fs.create[i].ino == st.st_ino)
				return true;
		}
		if (is_root(&st))
			return false;
		n += snprintf(up + n, sizeof(up) - n, "/..");
	}
	return false;
}

static void list_create(char *err, size_t errlen, size_t n)
{
	for (unsigned int i = 0; i < vmm_fs.nr_create && n < errlen; i++) {
		const char *p = vmm_fs.create[i].path;

		n += snprintf(err + n, errlen - n, "%s%s%s", i ? ", " : "", p,
			      strcmp(p, "/") ? "/" : "");
	}
	if (!vmm_fs.nr_create && n < errlen)
		n += snprintf(err + n, errlen - n, "none");
	if (n < errlen)
		snprintf(err + n, errlen - n, "); start petrel with --snapshot-dir DIR to allow "
			 "another");
}

int jail_landlock_check_create(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct stat st;
	int n;

	if (!vmm_fs.confined)
		return 0;
	/* A directory that is not there: the open names it, whatever the sandbox says. */
	if (parent_of(path, dir, sizeof(dir), &st) || beneath_create(dir))
		return 0;
	n = snprintf(err, errlen, "%s: not in a directory where the sandbox lets petrel create "
		     "files (", path);
	if (n > 0 && (size_t)n < errlen)
		list_create(err, errlen, n);
	return -EACCES;
}
