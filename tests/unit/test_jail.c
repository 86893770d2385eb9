// SPDX-License-Identifier: Apache-2.0
/* The sandbox's parsers: seccomp policies in JSON, the built-in allowlists, the jailer's flags. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <petrel/jail.h>
#include <petrel/util.h>

static char err[512];

/* A filter body every thread can take. */
#define OK_FILTER "{\"default_action\": \"trap\", \"filter\": [{\"syscall\": \"read\"}]}"
/* A policy with api and vcpu fine and vmm as given. */
#define WITH_VMM(vmm) "{\"api\": " OK_FILTER ", \"vcpu\": " OK_FILTER ", \"vmm\": " vmm "}"
#define VMM_RULE(rule) WITH_VMM("{\"default_action\": \"trap\", \"filter\": [" rule "]}")

static int parse(const char *json, struct jail_policy *p)
{
	err[0] = '\0';
	return jail_policy_parse(json, strlen(json), p, err, sizeof(err));
}

static const struct jail_rule *find(const struct jail_filter *f, int nr, unsigned int skip)
{
	for (unsigned int i = 0; i < f->nr_rules; i++) {
		if (f->rules[i].nr == nr && !skip--)
			return &f->rules[i];
	}
	return NULL;
}

/* The rule letting ioctl(fd, req) through, by its request number. */
static const struct jail_rule *find_ioctl(const struct jail_filter *f, uint64_t req)
{
	const struct jail_rule *r;

	for (int i = 0; (r = find(f, SYS_ioctl, i)); i++) {
		if (r->nr_conds == 1 && r->conds[0].index == 1 && r->conds[0].op == JAIL_EQ &&
		    r->conds[0].val == req)
			return r;
	}
	return NULL;
}

/* ---- the built-in allowlists ---- */

START_TEST(test_builtin)
{
	struct jail_policy p;

	ck_assert_int_eq(jail_policy_builtin(&p), 0);
	for (int t = 0; t < JAIL_NR_THREADS; t++) {
		const struct jail_filter *f = &p.thread[t];

		ck_assert(f->present);
		ck_assert_uint_eq(f->default_action, SCMP_ACT_TRAP);
		ck_assert_uint_eq(f->filter_action, SCMP_ACT_ALLOW);
		/* Every name is the syscall its number says, and the handler needs these. */
		for (unsigned int i = 0; i < f->nr_rules; i++)
			ck_assert_int_eq(seccomp_syscall_resolve_name(f->rules[i].name),
					 f->rules[i].nr);
		ck_assert_ptr_nonnull(find(f, SYS_write, 0));
		ck_assert_ptr_nonnull(find(f, SYS_exit_group, 0));
		ck_assert_ptr_nonnull(find_ioctl(f, TCSETS));	/* the terminal put back */
		/* Nothing starts a program or opens a network socket (vsock: AF_UNIX only). */
		ck_assert_ptr_null(find(f, SYS_execve, 0));
		ck_assert_ptr_null(find(f, SYS_execveat, 0));
		if (t == JAIL_VMM) {
			const struct jail_rule *r = find(f, SYS_socket, 0);

			ck_assert_ptr_nonnull(r);
			ck_assert(r->nr_conds == 3 && r->conds[0].index == 0 &&
				  r->conds[0].op == JAIL_EQ && r->conds[0].val == AF_UNIX);
			ck_assert_ptr_null(find(f, SYS_socket, 1));
		} else {
			ck_assert_ptr_null(find(f, SYS_socket, 0));
		}
		ck_assert_ptr_null(find(f, SYS_fork, 0));
		if (JAIL_ASAN)
			continue;
		/* Nor a thread, nor a debugger (LeakSanitizer needs both). */
		ck_assert_ptr_null(find(f, SYS_clone, 0));
		ck_assert_ptr_null(find(f, SYS_clone3, 0));
		ck_assert_ptr_null(find(f, SYS_ptrace, 0));
	}
	/* KVM_RUN: the vcpu's, by its ioctl number. */
	ck_assert_ptr_nonnull(find_ioctl(&p.thread[JAIL_VCPU], 0xae80));
	ck_assert_ptr_null(find_ioctl(&p.thread[JAIL_API], 0xae80));
	ck_assert_ptr_null(find(&p.thread[JAIL_API], SYS_ioctl, 1));	/* TCSETS only */
	if (!JAIL_ASAN) {
		/* Only the vmm thread opens files, and never makes one. */
		ck_assert_ptr_null(find(&p.thread[JAIL_API], SYS_openat, 0));
		ck_assert_ptr_null(find(&p.thread[JAIL_VCPU], SYS_openat, 0));
		ck_assert_ptr_null(find(&p.thread[JAIL_VMM], SYS_unlink, 0));
		ck_assert_ptr_null(find(&p.thread[JAIL_VMM], SYS_open, 0));
		ck_assert_uint_eq(jail_filter_nr_syscalls(&p.thread[JAIL_VCPU]) + 3,
				  p.thread[JAIL_VCPU].nr_rules);	/* ioctl four times */
	}
	jail_policy_free(&p);
}
END_TEST

/*
 * The vmm thread opens relative to the cwd, reading or reading and writing;
 * the one open that creates (snapshot files) is O_EXCL: it truncates or
 * writes into no file that exists.
 */
START_TEST(test_builtin_open)
{
	const unsigned int bad = O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_PATH | __O_TMPFILE |
				 O_DIRECTORY | O_NOFOLLOW;
	const struct jail_rule *r;
	struct jail_policy p;
	unsigned int n = 0, creating = 0;

	ck_assert_int_eq(jail_policy_builtin(&p), 0);
	if (JAIL_ASAN) {
		jail_policy_free(&p);
		return;
	}
	while ((r = find(&p.thread[JAIL_VMM], SYS_openat, n++))) {
		ck_assert_uint_eq(r->nr_conds, 2);
		ck_assert_uint_eq(r->conds[0].index, 0);
		ck_assert_uint_eq(r->conds[0].val, (uint32_t)AT_FDCWD);
		ck_assert_uint_eq(r->conds[1].index, 2);
		ck_assert_int_eq(r->conds[1].op, JAIL_EQ);
		ck_assert_uint_eq(r->conds[1].val & O_CLOEXEC, O_CLOEXEC);
		if (r->conds[1].val == (O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC)) {
			creating++;
			continue;
		}
		ck_assert_uint_eq(r->conds[1].val & bad, 0);
	}
	ck_assert_uint_eq(creating, 1);
	ck_assert_uint_eq(n, 6);	/* five rules, then none */
	jail_policy_free(&p);
}
END_TEST

/* The one unlink: of the API socket's path string, by its address. */
START_TEST(test_allow_unlink)
{
	static const char path[] = "/run/petrel.socket";
	const struct jail_rule *r;
	struct jail_policy p;

	ck_assert_int_eq(jail_policy_builtin(&p), 0);
	ck_assert_int_eq(jail_policy_allow_unlink(&p, path), 0);
	r = find(&p.thread[JAIL_VMM], SYS_unlink, 0);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->nr_conds, 1);
	ck_assert(r->conds[0].qword);
	ck_assert_int_eq(r->conds[0].op, JAIL_EQ);
	ck_assert_uint_eq(r->conds[0].val, (uintptr_t)path);
	ck_assert_ptr_null(find(&p.thread[JAIL_API], SYS_unlink, 0));
	jail_policy_free(&p);
}
END_TEST

START_TEST(test_print)
{
	struct jail_policy p;
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	ck_assert_int_eq(jail_policy_builtin(&p), 0);
	jail_policy_print(&p, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "api: "));
	ck_assert_ptr_nonnull(strstr(text, "vmm: "));
	ck_assert_ptr_nonnull(strstr(text, "vcpu: "));
	ck_assert_ptr_nonnull(strstr(text, "  ioctl if arg1 eq 0xae80 (dword)\n"));
	ck_assert_ptr_nonnull(strstr(text, "default trap, on match allow"));
	free(text);
	jail_policy_free(&p);
}
END_TEST

/* ---- the JSON form ---- */

START_TEST(test_parse_full)
{
	static const char json[] =
		"{\"vmm\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", \"filter\": ["
		"  {\"syscall\": \"read\", \"comment\": \"why\"},"
		"  {\"syscall\": \"ioctl\", \"args\": [{\"index\": 1, \"type\": \"dword\","
		"   \"op\": \"eq\", \"val\": 44672, \"comment\": \"KVM_RUN\"}]},"
		"  {\"syscall\": \"mmap\", \"args\": [{\"index\": 3, \"type\": \"qword\","
		"   \"op\": {\"masked_eq\": 34}, \"val\": 34}, {\"index\": 2, \"type\": \"dword\","
		"   \"op\": \"le\", \"val\": -1}]}]},"
		" \"api\": {\"default_action\": {\"errno\": 1}, \"filter\": [{\"syscall\": \"poll\"}]},"
		" \"vcpu\": {\"default_action\": \"kill_process\", \"filter_action\": \"log\","
		"  \"filter\": []}}";
	struct jail_policy p;
	const struct jail_rule *r;

	ck_assert_msg(!parse(json, &p), "%s", err);
	ck_assert_uint_eq(p.thread[JAIL_VMM].nr_rules, 3);
	r = find(&p.thread[JAIL_VMM], SYS_ioctl, 0);
	ck_assert_uint_eq(r->nr_conds, 1);
	ck_assert_uint_eq(r->conds[0].index, 1);
	ck_assert(!r->conds[0].qword);
	ck_assert_int_eq(r->conds[0].op, JAIL_EQ);
	ck_assert_uint_eq(r->conds[0].val, 44672);
	r = find(&p.thread[JAIL_VMM], SYS_mmap, 0);
	ck_assert_int_eq(r->conds[0].op, JAIL_MASKED_EQ);
	ck_assert_uint_eq(r->conds[0].mask, 34);
	ck_assert(r->conds[0].qword);
	ck_assert_uint_eq(r->conds[1].val, 0xffffffffu);	/* a dword -1 */
	ck_assert_uint_eq(p.thread[JAIL_API].default_action, SCMP_ACT_ERRNO(1));
	ck_assert_uint_eq(p.thread[JAIL_API].filter_action, SCMP_ACT_ALLOW);
	ck_assert_uint_eq(p.thread[JAIL_VCPU].default_action, SCMP_ACT_KILL_PROCESS);
	ck_assert_uint_eq(p.thread[JAIL_VCPU].filter_action, SCMP_ACT_LOG);
	ck_assert_uint_eq(p.thread[JAIL_VCPU].nr_rules, 0);
	jail_policy_free(&p);
}
END_TEST

static const struct {
	const char *json;
	const char *error;
} bad[] = {
	{ "[]", "expected an object with api, vmm and vcpu" },
	{ "{\"api\": " OK_FILTER ", \"vmm\": " OK_FILTER "}", "vcpu: missing" },
	{ "{\"api\": " OK_FILTER ", \"vmm\": " OK_FILTER ", \"vcpu\": " OK_FILTER
	  ", \"jailer\": {}}", "jailer: unknown field" },
	{ "{\"api\": 1, \"vmm\": 1, \"vcpu\": 1}", "api: expected an object" },
	{ WITH_VMM("{\"filter\": []}"), "vmm.default_action: missing" },
	{ WITH_VMM("{\"default_action\": \"trap\"}"), "vmm.filter: missing" },
	{ WITH_VMM("{\"default_action\": \"trap\", \"filter\": [], \"extra\": 1}"),
	  "vmm.extra: unknown field" },
	{ WITH_VMM("{\"default_action\": \"deny\", \"filter\": []}"),
	  "vmm.default_action: unknown action \"deny\"" },
	{ WITH_VMM("{\"default_action\": {\"errno\": 70000}, \"filter\": []}"),
	  "vmm.default_action: errno: expected an integer 0..65535" },
	{ WITH_VMM("{\"default_action\": {\"signal\": 1}, \"filter\": []}"),
	  "vmm.default_action: unknown action \"signal\"" },
	{ WITH_VMM("{\"default_action\": \"allow\", \"filter_action\": \"allow\", "
		   "\"filter\": [{\"syscall\": \"read\"}]}"), "vmm.filter_action: the same" },
	{ WITH_VMM("{\"default_action\": \"trap\", \"filter\": {}}"),
	  "vmm.filter: expected an array" },
	{ VMM_RULE("\"read\""), "vmm.filter[0]: expected an object" },
	{ VMM_RULE("{\"syscall\": \"read\"}, {\"syscal\": \"write\"}"),
	  "vmm.filter[1].syscal: unknown field" },
	{ VMM_RULE("{\"syscall\": \"no_such_call\"}"),
	  "vmm.filter[0].syscall: unknown syscall \"no_such_call\"" },
	{ VMM_RULE("{\"syscall\": 0}"), "vmm.filter[0].syscall: expected a syscall name" },
	{ VMM_RULE("{\"syscall\": \"ioctl\", \"args\": {}}"),
	  "vmm.filter[0].args: expected an array of at most 6" },
	{ VMM_RULE("{\"syscall\": \"ioctl\", \"args\": [{}, {}, {}, {}, {}, {}, {}]}"),
	  "vmm.filter[0].args: expected an array of at most 6" },
	{ VMM_RULE("{\"syscall\": \"ioctl\", \"args\": [{\"index\": 6, \"type\": \"dword\", "
		   "\"op\": \"eq\", \"val\": 1}]}"), "vmm.filter[0].args[0].index: expected" },
	{ VMM_RULE("{\"syscall\": \"ioctl\", \"args\": [{\"index\": 1, \"type\": \"word\", "
		   "\"op\": \"eq\", \"val\": 1}]}"), "vmm.filter[0].args[0].type: expected" },
	{ VMM_RULE("{\"syscall\": \"ioctl\", \"args\": [{\"index\": 1, \"type\": \"dword\", "
		   "\"op\": \"like\", \"val\": 1}]}"), "vmm.filter[0].args[0].op: expected eq" },
	{ VMM_RULE("{\"syscall\": \"ioctl\", \"args\": [{\"index\": 1, \"type\": \"dword\", "
		   "\"op\": {\"masked_eq\": \"x\"}, \"val\": 1}]}"),
	  "vmm.filter[0].args[0].op: expected {\"masked_eq\": MASK}" },
	{ VMM_RULE("{\"syscall\": \"ioctl\", \"args\": [{\"index\": 1, \"type\": \"dword\", "
		   "\"op\": \"eq\", \"val\": \"1\"}]}"), "vmm.filter[0].args[0].val: expected an "
							    "integer" },
	{ VMM_RULE("{\"syscall\": \"ioctl\", \"args\": [{\"index\": 1, \"type\": \"dword\", "
		   "\"op\": \"eq\", \"val\": 4294967296}]}"),
	  "vmm.filter[0].args[0].val: 4294967296 does not fit a dword" },
	{ VMM_RULE("{\"syscall\": \"ioctl\", \"args\": [{\"index\": 1, \"type\": \"dword\", "
		   "\"op\": \"eq\", \"val\": 1, \"note\": 1}]}"),
	  "vmm.filter[0].args[0].note: unknown field" },
	{ "{\"api\": {", "invalid JSON at line 1" },
	{ "{\"api\": " OK_FILTER ", \"api\": " OK_FILTER "}", "invalid JSON" },
};

START_TEST(test_parse_bad)
{
	struct jail_policy p;

	ck_assert_int_eq(parse(bad[_i].json, &p), -EINVAL);
	ck_assert_msg(strstr(err, bad[_i].error), "case %d: '%s' lacks '%s'", _i, err,
		      bad[_i].error);
	for (int t = 0; t < JAIL_NR_THREADS; t++)
		ck_assert_ptr_null(p.thread[t].rules);	/* nothing kept, nothing leaked */
}
END_TEST

START_TEST(test_load_file)
{
	struct jail_policy p;

	ck_assert_int_eq(jail_policy_load("/nonexistent/filter.json", &p, err, sizeof(err)),
			 -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/filter.json"));
}
END_TEST

/* ---- the jailer's flags ---- */

static struct jailer_args args;
/* Copies of the arguments (--cgroup's are cut at '='), freed by the next parse. */
static char *copies[2 * JAILER_MAX_CGROUPS + 16];
static unsigned int nr_copies;

static char *copy(const char *s)
{
	ck_assert_uint_lt(nr_copies, ARRAY_SIZE(copies));
	return copies[nr_copies++] = strdup(s);
}

static void free_copies(void)
{
	while (nr_copies)
		free(copies[--nr_copies]);
}

/* Parse a NULL-terminated list after "jail". */
static int jparse(const char *first, ...)
{
	static char *argv[64] = { "jail" };	/* args.exec_args points into it */
	int argc = 1;
	va_list ap;

	free_copies();
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		argv[argc++] = copy(s);
	va_end(ap);
	err[0] = '\0';
	return jailer_parse_args(argc, argv, &args, err, sizeof(err));
}

#define BASIC "--id", "vm-1", "--uid", "123", "--gid", "456"

/* Each flag petrel jail --help lists is one the parser knows, and --help is one. */
START_TEST(test_jailer_help_lists_accepted_flags)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	unsigned int listed = 0;

	ck_assert_ptr_nonnull(f);
	jailer_usage(f);
	fclose(f);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char flag[64];

		if (sscanf(line, "  %63[-a-z]", flag) != 1 || strncmp(flag, "--", 2))
			continue;
		listed++;
		jparse(BASIC, flag, "1", NULL);
		ck_assert_msg(!strstr(err, "unknown option"), "%s: %s", flag, err);
	}
	ck_assert_uint_ge(listed, 13);
	ck_assert_int_eq(jparse(BASIC, "--help", NULL), 1);
	ck_assert_int_eq(jparse(BASIC, "--no-such-flag", NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "unknown option"));
	free(text);
}
END_TEST

START_TEST(test_jailer_defaults)
{
	ck_assert_msg(!jparse(BASIC, NULL), "%s", err);
	ck_assert_str_eq(args.id, "vm-1");
	ck_assert_uint_eq(args.uid, 123);
	ck_assert_uint_eq(args.gid, 456);
	ck_assert_ptr_null(args.exec_file);
	ck_assert_str_eq(args.chroot_base, "/srv/jailer");
	ck_assert_int_eq(args.cgroup_version, 1);
	ck_assert_ptr_null(args.parent_cgroup);
	ck_assert_ptr_null(args.netns);
	ck_assert_int_eq(args.fsize, -1);
	ck_assert_int_eq(args.no_file, 2048);
	ck_assert(!args.daemonize && !args.new_pid_ns);
	ck_assert_int_eq(args.nr_exec_args, 0);
	ck_assert_int_eq(args.nr_cgroups, 0);
}
END_TEST

START_TEST(test_jailer_all)
{
	ck_assert_msg(!jparse(BASIC, "--exec-file", "/usr/bin/petrel", "--chroot-base-dir",
			      "/var/jail", "--netns", "/var/run/netns/a", "--cgroup-version", "2",
			      "--cgroup", "memory.max=256M", "--cgroup", "cpu.max=50000 100000",
			      "--parent-cgroup", "vms/fast", "--resource-limit", "fsize=1024",
			      "--resource-limit", "no-file=64", "--daemonize", "--new-pid-ns",
			      "--", "--api-sock", "/run/p.sock", "--level", "Debug", NULL), "%s", err);
	ck_assert_str_eq(args.exec_file, "/usr/bin/petrel");
	ck_assert_str_eq(args.chroot_base, "/var/jail");
	ck_assert_str_eq(args.netns, "/var/run/netns/a");
	ck_assert_int_eq(args.cgroup_version, 2);
	ck_assert_int_eq(args.nr_cgroups, 2);
	ck_assert_str_eq(args.cgroups[0].file, "memory.max");
	ck_assert_str_eq(args.cgroups[0].value, "256M");
	ck_assert_str_eq(args.cgroups[1].file, "cpu.max");
	ck_assert_str_eq(args.cgroups[1].value, "50000 100000");
	ck_assert_str_eq(args.parent_cgroup, "vms/fast");
	ck_assert_int_eq(args.fsize, 1024);
	ck_assert_int_eq(args.no_file, 64);
	ck_assert(args.daemonize && args.new_pid_ns);
	ck_assert_int_eq(args.nr_exec_args, 4);
	ck_assert_str_eq(args.exec_args[0], "--api-sock");
	ck_assert_str_eq(args.exec_args[3], "Debug");
}
END_TEST

static const struct {
	const char *flag, *value, *error;
} jbad[] = {
	{ "--id", "a/b", "--id: 'a/b' must be 1..64 letters, digits or '-'" },
	{ "--id", "", "--id: '' must be" },
	{ "--id", "under_score", "--id: 'under_score'" },
	{ "--id", "01234567890123456789012345678901234567890123456789012345678901234",
	  "must be 1..64" },
	{ "--uid", "ten", "--uid: expected a number" },
	{ "--uid", "-1", "--uid: expected a number" },
	{ "--gid", "4294967295", "--gid: expected a number 0..4294967294" },
	{ "--gid", "12x", "--gid: expected a number" },
	{ "--cgroup", "memory.max", "--cgroup: expected FILE=VALUE" },
	{ "--cgroup", "memory.max=", "--cgroup: expected FILE=VALUE" },
	{ "--cgroup", "../memory.max=1", "--cgroup: '../memory.max' is not a cgroup file" },
	{ "--cgroup", "tasks=1", "--cgroup: 'tasks' is not a cgroup file" },
	{ "--cgroup-version", "3", "--cgroup-version: expected 1 or 2" },
	{ "--resource-limit", "fsize", "--resource-limit: expected fsize=N or no-file=N" },
	{ "--resource-limit", "cores=1", "--resource-limit: unknown resource" },
	{ "--resource-limit", "fsize=-1", "--resource-limit: expected" },
	{ "--parent-cgroup", "/abs", "--parent-cgroup: '/abs' must be a relative path" },
	{ "--parent-cgroup", "a/../b", "--parent-cgroup: 'a/../b'" },
	{ "--parent-cgroup", "a//b", "--parent-cgroup" },
	{ "--chroot-base-dir", "relative", "--chroot-base-dir: 'relative' is not an absolute" },
	{ "--exec-file", "", "--exec-file: empty path" },
	{ "--bogus", "1", "unknown option" },
};

START_TEST(test_jailer_bad)
{
	ck_assert_int_eq(jparse(BASIC, jbad[_i].flag, jbad[_i].value, NULL), -EINVAL);
	ck_assert_msg(strstr(err, jbad[_i].error), "case %d: '%s' lacks '%s'", _i, err,
		      jbad[_i].error);
}
END_TEST

START_TEST(test_jailer_required)
{
	ck_assert_int_eq(jparse("--uid", "1", "--gid", "1", NULL), -EINVAL);
	ck_assert_str_eq(err, "--id is required");
	ck_assert_int_eq(jparse("--id", "a", "--gid", "1", NULL), -EINVAL);
	ck_assert_str_eq(err, "--uid and --gid are required");
	ck_assert_int_eq(jparse(BASIC, "stray", NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "unexpected argument 'stray'"));
	ck_assert_int_eq(jparse("--help", NULL), 1);
}
END_TEST

START_TEST(test_jailer_cgroup_limit)
{
	char *argv[2 * JAILER_MAX_CGROUPS + 10] = { "jail", BASIC };
	int argc = 7;

	free_copies();
	for (int i = 0; i <= JAILER_MAX_CGROUPS; i++) {
		argv[argc++] = "--cgroup";
		argv[argc++] = copy("pids.max=10");
	}
	ck_assert_int_eq(jailer_parse_args(argc, argv, &args, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--cgroup: at most"));
}
END_TEST

static Suite *jail_suite(void)
{
	Suite *s = suite_create("jail");
	TCase *tc = tcase_create("seccomp");

	tcase_add_test(tc, test_builtin);
	tcase_add_test(tc, test_builtin_open);
	tcase_add_test(tc, test_allow_unlink);
	tcase_add_test(tc, test_print);
	tcase_add_test(tc, test_parse_full);
	tcase_add_loop_test(tc, test_parse_bad, 0, ARRAY_SIZE(bad));
	tcase_add_test(tc, test_load_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("jailer");
	tcase_add_test(tc, test_jailer_defaults);
	tcase_add_test(tc, test_jailer_help_lists_accepted_flags);
	tcase_add_test(tc, test_jailer_all);
	tcase_add_loop_test(tc, test_jailer_bad, 0, ARRAY_SIZE(jbad));
	tcase_add_test(tc, test_jailer_required);
	tcase_add_test(tc, test_jailer_cgroup_limit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jail_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
