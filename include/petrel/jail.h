/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_JAIL_H
#define PETREL_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/*
 * JAIL_ASAN: 1 in an AddressSanitizer build (-DPETREL_SANITIZE=ON, for the
 * tests only), whose runtime needs more syscalls than the built-in lists give.
 */
#if defined(__SANITIZE_ADDRESS__)
#define JAIL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JAIL_ASAN 1
#endif
#endif
#ifndef JAIL_ASAN
#define JAIL_ASAN 0
#endif

/*
 * The sandbox: one seccomp filter per thread kind, and the jailer that
 * puts petrel in a chroot, namespaces and cgroups before it runs.
 */

/* ---- seccomp policies: what each thread kind may call ---- */

enum jail_thread { JAIL_API, JAIL_VMM, JAIL_VCPU, JAIL_NR_THREADS };

enum jail_cmp { JAIL_EQ, JAIL_NE, JAIL_LT, JAIL_LE, JAIL_GT, JAIL_GE, JAIL_MASKED_EQ };

#define JAIL_MAX_CONDS		6	/* one per syscall argument */
#define JAIL_SYSCALL_NAME_MAX	32

/* One argument check: (arg[index] & mask) <op> val; a dword looks at the low 32 bits. */
struct jail_cond {
	uint8_t index;
	bool qword;
	enum jail_cmp op;
	uint64_t val;
	uint64_t mask;		/* JAIL_MASKED_EQ only */
};

/* A syscall allowed when every condition holds (none: always). */
struct jail_rule {
	int nr;
	char name[JAIL_SYSCALL_NAME_MAX];
	unsigned int nr_conds;
	struct jail_cond conds[JAIL_MAX_CONDS];
};

/* Actions are libseccomp's SCMP_ACT_* values. */
struct jail_filter {
	bool present;
	uint32_t default_action;
	uint32_t filter_action;
	unsigned int nr_rules;
	struct jail_rule *rules;
};

struct jail_policy {
	struct jail_filter thread[JAIL_NR_THREADS];
};

const char *jail_thread_name(enum jail_thread t);
/* The built-in allowlists (src/jail/filters.c). */
int jail_policy_builtin(struct jail_policy *p);
/*
 * A user policy in Firecracker's JSON shape: {"vmm": {"default_action":
 * "trap", "filter_action": "allow", "filter": [{"syscall": "read"}, ...]},
 * "api": ..., "vcpu": ...}; every thread kind must be there. Errors name the
 * field ("vcpu.filter[3].args[0].op: ...").
 */
int jail_policy_parse(const char *text, size_t len, struct jail_policy *p,
		      char *err, size_t errlen);
int jail_policy_load(const char *path, struct jail_policy *p, char *err, size_t errlen);
void jail_policy_free(struct jail_policy *p);
/*
 * The built-in vmm filter's one unlink: of the string at path (the API
 * socket's, which petrel removes at exit), compared by address, as seccomp
 * cannot read the name; Landlock holds the place (jail_landlock_enter()).
 */
int jail_policy_allow_unlink(struct jail_policy *p, const char *path);
/* Every thread's filter: actions, syscall names and argument rules. */
void jail_policy_print(const struct jail_policy *p, FILE *out);
/* A filter's distinct syscalls. */
unsigned int jail_filter_nr_syscalls(const struct jail_filter *f);

/* ---- seccomp at run time ---- */

/* Firecracker's exit codes where petrel has the same cause (docs/api.md#exit-codes). */
#define JAIL_EXIT_BAD_SYSCALL	148	/* a syscall the thread's filter forbids */
#define JAIL_EXIT_SIGBUS	149	/* e.g. a memory file cut short under the guest */
#define JAIL_EXIT_SIGSEGV	150

/*
 * SIGBUS and SIGSEGV end petrel with the exit codes above, after a log line,
 * the signal's counter and a last metrics line, and the terminal restored.
 * Call once, before any thread starts.
 */
int jail_fatal_signals_install(void);

/*
 * Compile every thread's filter (policy_file NULL: the built-in ones) and
 * install the SIGSYS handler; with disabled, jail_seccomp_enter() does
 * nothing. Call once, before any thread starts.
 */
int jail_seccomp_setup(const char *policy_file, bool disabled, const char *socket_path,
		       char *err, size_t errlen);
/* The sandbox is on: not --no-seccomp. */
bool jail_seccomp_enabled(void);
/*
 * Put the calling thread under its kind's filter, with no_new_privs; the
 * api and vcpu threads first get a Landlock ruleset that allows them no
 * file at all. On failure it logs and ends the process: a thread meant to
 * be filtered never runs unfiltered.
 */
void jail_seccomp_enter(enum jail_thread t);
/*
 * petrel --seccomp-selftest KIND[:CALL]: a thread of that kind under its
 * filter makes a call it must not (CALL: execve, socket or open; default
 * execve). Does not return when the filter works.
 */
int jail_seccomp_selftest(const char *what);

/* ---- Landlock: where the vmm thread may still change files ---- */

#define JAIL_FS_MAX_WRITE	16
#define JAIL_FS_MAX_CREATE	16

struct jail_fs {
	const char *write[JAIL_FS_MAX_WRITE];	/* the writable drives' images */
	unsigned int nr_write;
	const char *remove;			/* the API socket (NULL: none) */
	const char *create[JAIL_FS_MAX_CREATE];	/* --snapshot-dir: directories */
	unsigned int nr_create;
	bool jail_root;				/* --jailed: in the jailer's chroot */
};

/*
 * Restrict the calling thread with Landlock (src/jail/landlock.c), before
 * its seccomp filter: the vmm thread (fs) writes only its writable images
 * and files beside them, removes only beneath the socket's directory,
 * creates new files only beneath that directory, fs->create and (jail_root,
 * when / reaches no /proc) the jail's root; api and vcpu (fs NULL) touch no
 * file. Nothing when the sandbox is off; one warning when the kernel has no
 * Landlock. On failure it logs and ends the process.
 */
void jail_landlock_enter(enum jail_thread t, const struct jail_fs *fs);
/*
 * PATCH /drives on a writable drive: may the vmm thread write path? 0, or
 * -EACCES with err naming the file and where it may write instead.
 */
int jail_landlock_check_write(const char *path, char *err, size_t errlen);
/*
 * PUT /snapshot/create: may the vmm thread create path? 0, or -EACCES with
 * err naming the file, the directories where it may, and how to add one.
 */
int jail_landlock_check_create(const char *path, char *err, size_t errlen);

/* ---- the jailer: petrel jail [options] -- [petrel options] ---- */

#define JAILER_DEFAULT_BASE	"/srv/jailer"
#define JAILER_MAX_CGROUPS	32

struct jailer_cgroup {
	const char *file;	/* "memory.max" */
	const char *value;
};

struct jailer_args {
	const char *id;
	const char *exec_file;		/* NULL: /proc/self/exe */
	uid_t uid;
	gid_t gid;
	const char *chroot_base;
	const char *netns;
	int cgroup_version;		/* 1 or 2 */
	const char *parent_cgroup;	/* NULL: the exec file's name */
	unsigned int nr_cgroups;
	struct jailer_cgroup cgroups[JAILER_MAX_CGROUPS];
	int64_t fsize;			/* -1: unchanged */
	int64_t no_file;
	bool daemonize;
	bool new_pid_ns;
	int nr_exec_args;		/* after "--" */
	char **exec_args;
};

/* argv[0] is "jail"; errors name the flag. 1: --help was asked for. */
int jailer_parse_args(int argc, char **argv, struct jailer_args *a, char *err, size_t errlen);
/* The jailer's help: one line per flag jailer_parse_args() accepts. */
void jailer_usage(FILE *out);
/* Run the jailer; returns only on failure (an exit code). */
int jailer_main(int argc, char **argv);

#endif
