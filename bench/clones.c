// SPDX-License-Identifier: Apache-2.0
/*
 * clones N MARKER SOCKDIR STATE MEM CMD [ARGS...]: start N copies of CMD at
 * once, each with its stdout on a pipe. With STATE other than "-", each copy
 * gets "--api-sock SOCKDIR/cI.sock" and, as soon as that accepts, a
 * PUT /snapshot/load of STATE and MEM (File backend, resume_vm); with "-"
 * the command restores by itself (QEMU's -incoming). Then wait (120 s at
 * most) until every one has printed a line holding MARKER, read each one's
 * PSS from /proc/PID/smaps_rollup, SIGTERM them all and wait for them to end
 * (SIGKILL after 30 s). Prints one line:
 *   all_us started loaded marked clean pss_median_kib pss_max_kib memavail_drop_kib
 * all_us: from the first fork to the last marker (-1 if some never printed
 * it); loaded: loads answered 204 (N without STATE); clean: how many printed
 * the marker and then ended with exit status 0; memavail_drop_kib:
 * MemAvailable just before the first fork minus at the last marker.
 */
#define _GNU_SOURCE
#include "bench.h"

/* Each copy's load, sent as its socket accepts; then every answer. */
static int load_all(struct bench_vm *c, int n, const char *dir, const char *state, const char *mem)
{
	int *fds = calloc(n, sizeof(int)), ok = 0;
	char path[256], body[2048];

	if (!fds)
		return 0;
	bench_load_body(body, sizeof(body), state, "File", mem);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/c%d.sock", dir, i);
		fds[i] = c[i].pid > 0 ? bench_connect_when_up(path, c[i].pid, 10, 200) : -1;
		if (fds[i] >= 0 && bench_http_send(fds[i], "PUT", "/snapshot/load", body)) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	for (int i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		ok += bench_http_status(fds[i]) == 204;
		close(fds[i]);
	}
	free(fds);
	return ok;
}

static long pss_kib(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	return bench_proc_kib(path, "Pss: %ld kB");
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int n, started = 0, loaded, marked, argc_cmd;
	const char *marker, *dir, *state, *mem;
	long long t0, all = -1, last = 0;
	long before, at;
	struct bench_vm *c;
	long *pss;
	char ***args;

	if (argc < 7 || (n = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: clones N MARKER SOCKDIR STATE|- MEM CMD [ARGS...]\n");
		return 2;
	}
	marker = argv[2], dir = argv[3], state = argv[4], mem = argv[5];
	argc_cmd = argc - 6;
	c = calloc(n, sizeof(*c));
	pss = calloc(n, sizeof(*pss));
	args = calloc(n, sizeof(*args));
	if (!c || !pss || !args)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	/* Every command line made before the first fork, so the starts are back to back. */
	for (int i = 0; i < n; i++) {
		args[i] = calloc(argc_cmd + 3, sizeof(char *));
		memcpy(args[i], argv + 6, argc_cmd * sizeof(char *));
		if (strcmp(state, "-")) {
			args[i][argc_cmd] = "--api-sock";
			if (asprintf(&args[i][argc_cmd + 1], "%s/c%d.sock", dir, i) < 0)
				return 1;
		}
	}
	before = bench_mem_available_kib();
	t0 = bench_now_us();
	for (int i = 0; i < n; i++)
		started += bench_vm_launch(&c[i], args[i]) == 0;
	loaded = strcmp(state, "-") ? load_all(c, n, dir, state, mem) : n;
	marked = bench_vm_watch(c, n, marker, t0 + 120000000);
	last = bench_now_us();
	at = bench_mem_available_kib();
	if (marked == n)
		all = last - t0;
	for (int i = 0; i < n; i++)
		pss[i] = c[i].pid > 0 ? pss_kib(c[i].pid) : -1;
	qsort(pss, n, sizeof(*pss), cmp_long);
	printf("%lld %d %d %d %d %ld %ld %ld\n", all, started, loaded, marked, bench_vm_stop_all(c, n),
	       pss[n / 2], pss[n - 1], before - at);
	return marked == n ? 0 : 1;
}
