// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: the jailer's command line. The input is split at NUL
 * bytes into the arguments after "jail"; what the parser accepts must hold
 * the properties the jailer then relies on to build paths and cgroups.
 */
#include <stdlib.h>
#include <string.h>

#include <petrel/jail.h>
#include <petrel/util.h>

#define MAX_ARGS	64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* No absolute path, no "." or ".." part, no empty part: it stays under the cgroup root. */
static bool plain_relative(const char *p)
{
	const char *s = p;

	if (!*p || *p == '/' || p[strlen(p) - 1] == '/')
		return false;
	while (*s) {
		size_t n = strcspn(s, "/");

		if (!n || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s += n + (s[n] == '/');
	}
	return true;
}

static void check(const struct jailer_args *a, int argc, char **argv)
{
	if (!a->id || !util_valid_id(a->id) || a->uid == (uid_t)-1 || a->gid == (gid_t)-1 ||
	    !a->chroot_base || a->chroot_base[0] != '/' || strlen(a->chroot_base) >= 1024 ||
	    (a->cgroup_version != 1 && a->cgroup_version != 2) ||
	    (a->exec_file && !a->exec_file[0]) || (a->netns && !a->netns[0]) ||
	    (a->parent_cgroup && !plain_relative(a->parent_cgroup)) ||
	    a->nr_cgroups > JAILER_MAX_CGROUPS || a->fsize < -1 || a->no_file < 0 ||
	    a->nr_exec_args < 0 || a->exec_args < argv ||
	    a->exec_args + a->nr_exec_args != argv + argc)
		abort();
	for (unsigned int i = 0; i < a->nr_cgroups; i++) {
		const struct jailer_cgroup *c = &a->cgroups[i];

		if (!c->file[0] || c->file[0] == '.' || strchr(c->file, '/') ||
		    !strchr(c->file, '.') || !c->value[0] || strchr(c->value, '\n'))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), **argv = calloc(MAX_ARGS + 2, sizeof(*argv));
	struct jailer_args a;
	char err[256] = "";
	int argc = 0, ret;

	if (!buf || !argv)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = "jail";
	for (char *p = buf; p <= buf + size && argc <= MAX_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	ret = jailer_parse_args(argc, argv, &a, err, sizeof(err));
	if (ret == 0)
		check(&a, argc, argv);
	else if (ret != 1 && (ret >= 0 || !err[0] || !memchr(err, '\0', sizeof(err))))
		abort();	/* a refusal says why */
	free(argv);
	free(buf);
	return 0;
}
