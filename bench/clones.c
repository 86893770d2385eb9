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
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TAIL 128	/* bytes kept between reads, so a marker cut in two is still found */

struct clone {
	pid_t pid;
	int out;
	int marked;
	long pss_kib;
	size_t len;
	char buf[1024];
};

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int launch(struct clone *c, char **argv)
{
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	c->pid = fork();
	if (c->pid == 0) {
		dup2(pfd[1], 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	c->out = pfd[0];
	fcntl(c->out, F_SETFL, O_NONBLOCK);
	return c->pid < 0 ? -1 : 0;
}

/* Connect to path once it accepts (10 s at most): the fd, or -1. */
static int connect_when_up(const char *path, pid_t pid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long deadline = now_us() + 10000000;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path));
	while (now_us() < deadline) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		usleep(200);
	}
	return -1;
}

static int send_load(int fd, const char *state, const char *mem)
{
	char body[2048], req[2560];
	int n = snprintf(body, sizeof(body), "{\"snapshot_path\": \"%s\", \"mem_backend\": "
			 "{\"backend_type\": \"File\", \"backend_path\": \"%s\"}, "
			 "\"resume_vm\": true}", state, mem);
	int m = snprintf(req, sizeof(req), "PUT /snapshot/load HTTP/1.1\r\nContent-Length: %d"
			 "\r\n\r\n%s", n, body);

	return m > 0 && write(fd, req, m) == m ? 0 : -1;
}

/* The status of the one answer on fd (the load's answer has no body). */
static int read_status(int fd)
{
	char buf[512];
	size_t len = 0;

	while (len < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (r <= 0)
			return -1;
		len += r;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			return strncmp(buf, "HTTP/1.1 ", 9) ? -1 : atoi(buf + 9);
	}
	return -1;
}

/* Each copy's load, sent as its socket accepts; then every answer. */
static int load_all(struct clone *c, int n, const char *dir, const char *state, const char *mem)
{
	int *fds = calloc(n, sizeof(int)), ok = 0;
	char path[256];

	if (!fds)
		return 0;
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/c%d.sock", dir, i);
		fds[i] = c[i].pid > 0 ? connect_when_up(path, c[i].pid) : -1;
		if (fds[i] >= 0 && send_load(fds[i], state, mem)) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	for (int i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		ok += read_status(fds[i]) == 204;
		close(fds[i]);
	}
	free(fds);
	return ok;
}

/* Read what each copy printed until all have printed marker or the deadline passes. */
static int watch(struct clone *c, int n, const char *marker, long long deadline)
{
	struct pollfd *p = calloc(n, sizeof(*p));
	int marked = 0;

	if (!p)
		return 0;
	while (marked < n && now_us() < deadline) {
		int k = 0;

		for (int i = 0; i < n; i++)
			p[i] = (struct pollfd){ .fd = c[i].marked ? -1 : c[i].out, .events = POLLIN };
		if (poll(p, n, 100) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			ssize_t r;

			if (!(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			r = read(c[i].out, c[i].buf + c[i].len, sizeof(c[i].buf) - 1 - c[i].len);
			if (r <= 0) {
				if (r == 0 || errno != EAGAIN)
					c[i].marked = -1;	/* ended without it */
				continue;
			}
			c[i].len += r;
			c[i].buf[c[i].len] = '\0';
			if (strstr(c[i].buf, marker)) {
				c[i].marked = 1;
				k++;
			} else if (c[i].len > sizeof(c[i].buf) - TAIL) {
				memmove(c[i].buf, c[i].buf + c[i].len - TAIL, TAIL);
				c[i].len = TAIL;
			}
		}
		marked += k;
		for (int i = 0, gone = 0; i < n; i++)
			if (c[i].marked < 0 && ++gone + marked == n)
				deadline = 0;
	}
	free(p);
	return marked;
}

static long pss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Pss: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static long mem_available_kib(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* SIGTERM to all, then wait (SIGKILL after 30 s); how many marked and exited with 0. */
static int stop_all(struct clone *c, int n)
{
	long long deadline = now_us() + 30000000;
	int left = 0, clean = 0, status;

	for (int i = 0; i < n; i++)
		if (c[i].pid > 0 && kill(c[i].pid, SIGTERM) == 0)
			left++;
	while (left > 0) {
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid > 0) {
			left--;
			for (int i = 0; i < n; i++)
				if (c[i].pid == pid && c[i].marked == 1 && WIFEXITED(status) &&
				    !WEXITSTATUS(status))
					clean++;
			continue;
		}
		if (pid < 0)
			break;
		if (now_us() > deadline) {
			for (int i = 0; i < n; i++)
				kill(c[i].pid, SIGKILL);
			deadline = now_us() + 30000000;
		}
		usleep(10000);
	}
	return clean;
}

int main(int argc, char **argv)
{
	int n, started = 0, loaded, marked, argc_cmd;
	const char *marker, *dir, *state, *mem;
	long long t0, all = -1, last = 0;
	long before, at;
	struct clone *c;
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
	before = mem_available_kib();
	t0 = now_us();
	for (int i = 0; i < n; i++)
		started += launch(&c[i], args[i]) == 0;
	loaded = strcmp(state, "-") ? load_all(c, n, dir, state, mem) : n;
	marked = watch(c, n, marker, t0 + 120000000);
	last = now_us();
	at = mem_available_kib();
	if (marked == n)
		all = last - t0;
	for (int i = 0; i < n; i++)
		pss[i] = c[i].pid > 0 ? pss_kib(c[i].pid) : -1;
	qsort(pss, n, sizeof(*pss), cmp_long);
	printf("%lld %d %d %d %d %ld %ld %ld\n", all, started, loaded, marked, stop_all(c, n),
	       pss[n / 2], pss[n - 1], before - at);
	return marked == n ? 0 : 1;
}
