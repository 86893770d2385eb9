// SPDX-License-Identifier: Apache-2.0
/*
 * Seccomp at run time. Every thread kind's filter is compiled to BPF once,
 * at startup, with libseccomp; a thread then installs its own with two
 * syscalls and no allocation (jail_seccomp_enter). Where each goes in:
 *   api   the fc_api thread, before its first accept;
 *   vcpu  each "fc_vcpu N" thread, before its first KVM_RUN;
 *   vmm   the vmm (main) thread, once the VM is built and its vCPU threads
 *         started, before the event loop serves it (after its Landlock
 *         rules, src/jail/landlock.c). With the API that is
 *         InstanceStart: the boot-time requests (files to open, memory to
 *         map, threads to start) run before it, unfiltered, as Firecracker
 *         does; every thread is filtered from InstanceStart on.
 * Filters stack on the threads a filtered thread starts, so the api thread
 * and the vCPU threads are started before the vmm filter goes in.
 * A forbidden call traps (SIGSYS): the handler logs the syscall and the
 * thread, counts seccomp.num_faults, and petrel exits with 148.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <malloc.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <petrel/jail.h>
#include <petrel/log.h>
#include <petrel/metrics.h>
#include <petrel/util.h>

#include "syscall_names.h"

static struct {
	bool enabled;
	struct sock_fprog prog[JAIL_NR_THREADS];
	bool tty_ok[JAIL_NR_THREADS];	/* the filter lets util_tty_restore() through */
} sc;

/* The calling thread's name and kind, for the SIGSYS handler. */
static __thread char thread_name[16] = "?";
static __thread const char *thread_kind = "unfiltered";
static __thread bool thread_tty_ok = true;

/* ---- compiling ---- */

static struct scmp_arg_cmp to_scmp(const struct jail_cond *k)
{
	static const enum scmp_compare ops[] = {
		[JAIL_EQ] = SCMP_CMP_EQ, [JAIL_NE] = SCMP_CMP_NE, [JAIL_LT] = SCMP_CMP_LT,
		[JAIL_LE] = SCMP_CMP_LE, [JAIL_GT] = SCMP_CMP_GT, [JAIL_GE] = SCMP_CMP_GE,
		[JAIL_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
	};
	struct scmp_arg_cmp c = { .arg = k->index, .op = ops[k->op], .datum_a = k->val };

	/* A dword equality ignores the upper half, which the kernel does too. */
	if (k->op == JAIL_MASKED_EQ || (!k->qword && k->op == JAIL_EQ)) {
		c.op = SCMP_CMP_MASKED_EQ;
		c.datum_a = k->op == JAIL_MASKED_EQ ? k->mask : 0xffffffffu;
		c.datum_b = k->val;
	}
	return c;
}

static int add_rules(scmp_filter_ctx ctx, const struct jail_filter *f, const char *kind,
		     char *err, size_t errlen)
{
	for (unsigned int i = 0; i < f->nr_rules; i++) {
		const struct jail_rule *r = &f->rules[i];
		struct scmp_arg_cmp cmp[JAIL_MAX_CONDS];
		int ret;

		for (unsigned int j = 0; j < r->nr_conds; j++)
			cmp[j] = to_scmp(&r->conds[j]);
		ret = seccomp_rule_add_array(ctx, f->filter_action, r->nr, r->nr_conds, cmp);
		if (ret) {
			snprintf(err, errlen, "seccomp: %s filter, rule %u (%s): %s", kind, i,
				 r->name, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* libseccomp 2.5 exports BPF only to a file: a memfd, read back. */
static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	int fd = memfd_create("petrel-seccomp", MFD_CLOEXEC), ret;
	struct stat st;
	void *buf = NULL;

	if (fd < 0)
		return -errno;
	ret = seccomp_export_bpf(ctx, fd);
	if (!ret && fstat(fd, &st) < 0)
		ret = -errno;
	if (!ret && (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
		     st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS))
		ret = -E2BIG;
	if (!ret && !(buf = malloc(st.st_size)))
		ret = -ENOMEM;
	if (!ret && pread(fd, buf, st.st_size, 0) != st.st_size)
		ret = -EIO;
	close(fd);
	if (ret) {
		free(buf);
		return ret;
	}
	prog->filter = buf;
	prog->len = st.st_size / sizeof(struct sock_filter);
	return 0;
}

static int compile(const struct jail_filter *f, const char *kind, struct sock_fprog *prog,
		   char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(f->default_action);
	int ret;

	if (!ctx) {
		snprintf(err, errlen, "seccomp: %s filter: cannot start one", kind);
		return -ENOMEM;
	}
	/* no_new_privs is set by jail_seccomp_enter(); another arch is never allowed. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) ?:
	      seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (!ret)
		ret = add_rules(ctx, f, kind, err, errlen);
	if (!ret) {
		ret = export_bpf(ctx, prog);
		if (ret)
			snprintf(err, errlen, "seccomp: %s filter: cannot compile: %s", kind,
				 strerror(-ret));
	}
	seccomp_release(ctx);
	return ret;
}

/* ---- the SIGSYS handler ---- */

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	unsigned int nr = si->si_syscall;
	char msg[200];
	size_t n = 0;

	metrics_inc(M_SECCOMP_NUM_FAULTS);
	util_append_str(msg, sizeof(msg), &n, "seccomp: the ");
	util_append_str(msg, sizeof(msg), &n, thread_kind);
	util_append_str(msg, sizeof(msg), &n, " thread made a forbidden syscall ");
	util_append_u64(msg, sizeof(msg), &n, nr, 1);
	util_append_str(msg, sizeof(msg), &n, " (");
	util_append_str(msg, sizeof(msg), &n, nr < ARRAY_SIZE(syscall_names) &&
			syscall_names[nr] ? syscall_names[nr] : "unknown");
	util_append_str(msg, sizeof(msg), &n, "); exiting");
	log_signal_safe(thread_name, msg);
	metrics_flush_signal_safe(M_SECCOMP_NUM_FAULTS);
	/* A call the filter traps here would kill petrel by SIGSYS, not end it with 148. */
	if (thread_tty_ok)
		util_tty_restore();
	_exit(JAIL_EXIT_BAD_SYSCALL);
}

static int install_handler(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };

	/* Every other signal waits: the handler ends the process. */
	sigfillset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL) ? -errno : 0;
}

/* ---- SIGBUS and SIGSEGV ---- */

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
	bool bus = sig == SIGBUS;
	enum metric m = bus ? M_SIGNALS_SIGBUS : M_SIGNALS_SIGSEGV;
	char msg[120];
	size_t n = 0;

	metrics_inc(m);
	util_append_str(msg, sizeof(msg), &n, bus ? "SIGBUS" : "SIGSEGV");
	util_append_str(msg, sizeof(msg), &n, " on the ");
	util_append_str(msg, sizeof(msg), &n, thread_kind);
	util_append_str(msg, sizeof(msg), &n, " thread; exiting");
	log_signal_safe(thread_name, msg);
	metrics_flush_signal_safe(m);
	if (thread_tty_ok)
		util_tty_restore();
	_exit(bus ? JAIL_EXIT_SIGBUS : JAIL_EXIT_SIGSEGV);
}

int jail_fatal_signals_install(void)
{
	struct sigaction sa = { .sa_sigaction = on_fatal, .sa_flags = SA_SIGINFO };

	sigfillset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) || sigaction(SIGSEGV, &sa, NULL))
		return -errno;
	return 0;
}

/* ---- setup and entry ---- */

static int compile_all(const struct jail_policy *p, char *err, size_t errlen)
{
	for (int t = 0; t < JAIL_NR_THREADS; t++) {
		int ret = compile(&p->thread[t], jail_thread_name(t), &sc.prog[t], err, errlen);

		if (ret)
			return ret;
	}
	return 0;
}

/*
 * A user's filter may lack the built-in rule for ioctl(TCSETS): the SIGSYS
 * handler then leaves the terminal as it is rather than trap again.
 */
static bool allows_tcsets(const struct jail_filter *f)
{
	if (f->default_action == SCMP_ACT_ALLOW)
		return true;
	if (f->filter_action != SCMP_ACT_ALLOW)
		return false;
	for (unsigned int i = 0; i < f->nr_rules; i++) {
		const struct jail_rule *r = &f->rules[i];
		const struct jail_cond *c = &r->conds[0];

		if (r->nr != SCMP_SYS(ioctl))
			continue;
		if (!r->nr_conds || (r->nr_conds == 1 && c->index == 1 && c->op == JAIL_EQ &&
				     c->val == TCSETS))
			return true;
	}
	return false;
}

static void free_progs(void)
{
	for (int t = 0; t < JAIL_NR_THREADS; t++) {
		free(sc.prog[t].filter);
		sc.prog[t] = (struct sock_fprog){ 0 };
	}
}

/* The built-in policy, and the vmm thread's unlink of the API socket. */
static int builtin_policy(struct jail_policy *p, const char *socket_path)
{
	int ret = jail_policy_builtin(p);

	if (!ret && socket_path && (ret = jail_policy_allow_unlink(p, socket_path)))
		jail_policy_free(p);
	return ret;
}

int jail_seccomp_setup(const char *policy_file, bool disabled, const char *socket_path,
		       char *err, size_t errlen)
{
	uint64_t start = util_now_us();
	struct jail_policy p;
	int ret;

	sc.enabled = false;
	if (disabled)
		return 0;
	/* jansson seeds its hashes from /dev/urandom on first use: before any filter. */
	json_object_seed(0);
	/*
	 * glibc reads /proc/sys/vm/overcommit_memory the first time it shrinks
	 * a thread's own arena (the API thread's, after a burst of clients):
	 * every thread allocates from the main arena, which shrinks with brk.
	 */
	mallopt(M_ARENA_MAX, 1);
	if (policy_file)
		ret = jail_policy_load(policy_file, &p, err, errlen);
	else if ((ret = builtin_policy(&p, socket_path)))
		snprintf(err, errlen, "seccomp: %s", strerror(-ret));
	if (ret)
		return ret;
	ret = compile_all(&p, err, errlen);
	for (int t = 0; t < JAIL_NR_THREADS; t++)
		sc.tty_ok[t] = allows_tcsets(&p.thread[t]);
	jail_policy_free(&p);
	if (!ret && (ret = install_handler()))
		snprintf(err, errlen, "seccomp: SIGSYS handler: %s", strerror(-ret));
	if (ret) {
		free_progs();
		return ret;
	}
	sc.enabled = true;
	pr_debug("seccomp: filters compiled in %llu us (api %u, vmm %u, vcpu %u instructions)",
		 (unsigned long long)(util_now_us() - start), sc.prog[JAIL_API].len,
		 sc.prog[JAIL_VMM].len, sc.prog[JAIL_VCPU].len);
	return 0;
}

bool jail_seccomp_enabled(void)
{
	return sc.enabled;
}

static int load(const struct sock_fprog *prog)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0)
		return -errno;
	return 0;
}

void jail_seccomp_enter(enum jail_thread t)
{
	int ret;

	if (!sc.enabled || t >= JAIL_NR_THREADS)
		return;
	log_thread_name(thread_name);
	thread_kind = jail_thread_name(t);
	thread_tty_ok = sc.tty_ok[t];
	/* The vmm thread's Landlock rules name its files: vmm.c passes them. */
	if (t != JAIL_VMM)
		jail_landlock_enter(t, NULL);
	ret = load(&sc.prog[t]);
	if (ret) {
		pr_err("seccomp: cannot install the %s filter: %s", thread_kind, strerror(-ret));
		util_tty_restore();
		_exit(1);
	}
	pr_debug("seccomp: %s filter installed (%u instructions)", thread_kind,
		 sc.prog[t].len);
}

/* ---- petrel --seccomp-selftest KIND[:CALL] ---- */

struct selftest {
	enum jail_thread kind;
	const char *call;
	char path[64];		/* the new file for "open", named before any filter */
};

/* Returns only when the call was let through: the filter failed. */
static void forbidden_call(const char *call, const char *path)
{
	char *const argv[] = { "true", NULL };
	int fd;

	if (!strcmp(call, "execve")) {
		syscall(SYS_execve, "/nonexistent/petrel-selftest", argv, argv + 1);
	} else if (!strcmp(call, "socket")) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0)
			close(fd);
	} else {
		/*
		 * A new file (its name is this process's), opened as one that may
		 * exist and be truncated: forbidden on every thread (the vmm
		 * thread creates snapshot files with O_EXCL only).
		 */
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
	}
	fprintf(stderr, "petrel: seccomp selftest: %s was allowed on the %s thread\n", call,
		thread_kind);
}

static void *selftest_thread(void *arg)
{
	const struct selftest *st = arg;

	pthread_setname_np(pthread_self(), st->kind == JAIL_API ? LOG_THREAD_API : "fc_vcpu 0");
	jail_seccomp_enter(st->kind);
	forbidden_call(st->call, st->path);
	return NULL;
}

static int parse_selftest(const char *what, struct selftest *st)
{
	const char *colon = strchr(what, ':');
	size_t len = colon ? (size_t)(colon - what) : strlen(what);

	st->call = colon ? colon + 1 : "execve";
	if (strcmp(st->call, "execve") && strcmp(st->call, "socket") && strcmp(st->call, "open"))
		return -EINVAL;
	for (int t = 0; t < JAIL_NR_THREADS; t++) {
		if (strlen(jail_thread_name(t)) == len && !strncmp(what, jail_thread_name(t), len)) {
			st->kind = t;
			return 0;
		}
	}
	return -EINVAL;
}

int jail_seccomp_selftest(const char *what)
{
	struct selftest st;
	pthread_t th;

	if (parse_selftest(what, &st)) {
		fprintf(stderr, "petrel: --seccomp-selftest: expected api, vmm or vcpu, then "
			"optionally :execve, :socket or :open; got '%s'\n", what);
		return 1;
	}
	snprintf(st.path, sizeof(st.path), "/tmp/petrel-selftest-%d", (int)getpid());
	if (st.kind == JAIL_VMM) {
		jail_seccomp_enter(JAIL_VMM);
		forbidden_call(st.call, st.path);
		return 1;
	}
	if (pthread_create(&th, NULL, selftest_thread, &st))
		return 1;
	pthread_join(th, NULL);
	return 1;
}
