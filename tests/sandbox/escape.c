// SPDX-License-Identifier: Apache-2.0
/*
 * petrel_escape DIR ACTION [FILE]: the vmm thread's sandbox, put on exactly
 * as petrel puts it on at InstanceStart (the built-in filters with the API
 * socket's unlink, then the vmm thread's Landlock rules, then its filter),
 * and one thing a hijacked vmm thread would try. DIR holds rw.img, the
 * writable drive's image, api.sock, the API socket, and snaps, a
 * --snapshot-dir. Actions:
 *   append FILE   open an existing file O_WRONLY | O_APPEND and write to it
 *   procmem       open /proc/self/mem read-write and patch read-only memory
 *   unlink FILE   remove a file
 *   creat FILE    make a new file
 *   create FILE   make a new file as a snapshot is made (O_EXCL, which the
 *                 filter allows): refused outside DIR and DIR/snaps
 *   drive         write the writable image (allowed: petrel serves the guest so)
 *   socket        remove the API socket (allowed: petrel does so at exit)
 *   fallback      as drive, on a kernel without Landlock (the call made to fail)
 * Exit: 148 when the filter killed it, 0 when the action was refused (or,
 * for drive, socket and fallback, done), 1 when it got through, 2 on a
 * usage or setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <petrel/jail.h>

static const char marker[] = "petrel";	/* read-only: .rodata */

static char sock_path[4096];
static char image_path[4096];
static char snap_dir[4096];

static int outcome(const char *what, int ret)
{
	if (ret < 0) {
		printf("refused: %s: %s\n", what, strerror(errno));
		return 0;
	}
	printf("escaped: %s\n", what);
	return 1;
}

static int write_fd(int fd, off_t off)
{
	struct iovec iov = { .iov_base = "escaped\n", .iov_len = 8 };

	return pwritev(fd, &iov, 1, off) == 8 ? 0 : -1;
}

static int append(const char *file)
{
	int fd = open(file, O_WRONLY | O_APPEND | O_CLOEXEC);

	if (fd < 0)
		return outcome("open O_WRONLY | O_APPEND", fd);
	return outcome("appended", write(fd, "escaped\n", 8) == 8 ? 0 : -1);
}

static int procmem(void)
{
	struct iovec iov = { .iov_base = "P", .iov_len = 1 };
	int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return outcome("open /proc/self/mem O_RDWR", fd);
	if (pwritev(fd, &iov, 1, (off_t)(uintptr_t)marker) != 1)
		return outcome("write /proc/self/mem", -1);
	/* The volatile read sees the page, not a constant the compiler kept. */
	return outcome(*(volatile const char *)marker == 'P' ? "patched read-only memory" :
		       "wrote /proc/self/mem", 0);
}

static int drive(void)
{
	int fd = open(image_path, O_RDWR | O_CLOEXEC);

	if (fd < 0 || write_fd(fd, 0)) {
		printf("the writable image cannot be written: %s\n", strerror(errno));
		return 1;
	}
	printf("wrote the writable image\n");
	return 0;
}

static int act(const char *action, const char *file)
{
	if (!strcmp(action, "append") && file)
		return append(file);
	if (!strcmp(action, "procmem"))
		return procmem();
	if (!strcmp(action, "unlink") && file)
		return outcome("unlink", unlink(file));
	if (!strcmp(action, "creat") && file)
		return outcome("creat", creat(file, 0600));
	if (!strcmp(action, "create") && file)
		return outcome("create", open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
	if (!strcmp(action, "drive") || !strcmp(action, "fallback"))
		return drive();
	if (!strcmp(action, "socket")) {
		if (unlink(sock_path)) {
			printf("the API socket cannot be removed: %s\n", strerror(errno));
			return 1;
		}
		printf("removed the API socket\n");
		return 0;
	}
	fprintf(stderr, "petrel_escape: unknown action %s\n", action);
	return 2;
}

/* A kernel without Landlock: its first call fails as on such a kernel. */
static int hide_landlock(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int ret;

	if (!ctx)
		return -ENOMEM;
	ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(landlock_create_ruleset), 0) ?:
	      seccomp_load(ctx);
	seccomp_release(ctx);
	return ret;
}

int main(int argc, char **argv)
{
	struct jail_fs fs = { .write = { image_path }, .nr_write = 1, .remove = sock_path,
			      .create = { snap_dir }, .nr_create = 1 };
	char err[512];

	if (argc < 3) {
		fprintf(stderr, "usage: petrel_escape DIR ACTION [FILE]\n");
		return 2;
	}
	snprintf(sock_path, sizeof(sock_path), "%s/api.sock", argv[1]);
	snprintf(image_path, sizeof(image_path), "%s/rw.img", argv[1]);
	snprintf(snap_dir, sizeof(snap_dir), "%s/snaps", argv[1]);
	if (!strcmp(argv[2], "fallback") && hide_landlock()) {
		fprintf(stderr, "petrel_escape: cannot hide Landlock\n");
		return 2;
	}
	if (jail_seccomp_setup(NULL, false, sock_path, err, sizeof(err))) {
		fprintf(stderr, "petrel_escape: %s\n", err);
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	jail_landlock_enter(JAIL_VMM, &fs);
	jail_seccomp_enter(JAIL_VMM);
	return act(argv[2], argc > 3 ? argv[3] : NULL);
}
