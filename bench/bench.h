/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the benchmark programs share: the clock, starting a monitor with its
 * stdout on a pipe, connecting to its API socket, one HTTP answer's status,
 * and watching monitors' output for a marker line. Static inline, so each
 * program stays one file for bench_cc (bench/lib.sh).
 */
#ifndef PETREL_BENCH_H
#define PETREL_BENCH_H

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

#define BENCH_TAIL 128	/* bytes kept between reads, so a marker cut in two is still found */

static inline long long bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/*
 * fork and exec argv (through PATH); with out_fd, its stdout goes to a pipe
 * whose read end lands there; with in_fd, its stdin comes from a pipe whose
 * write end does. The pid, or -1.
 */
static inline pid_t bench_spawn(char **argv, int *in_fd, int *out_fd)
{
	int pfd[2], ifd[2];
	pid_t pid;

	if (out_fd && pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	if (in_fd && pipe2(ifd, O_CLOEXEC) < 0) {
		if (out_fd) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		if (out_fd)
			dup2(pfd[1], 1);
		if (in_fd)
			dup2(ifd[0], 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (out_fd) {
		close(pfd[1]);
		*out_fd = pfd[0];
	}
	if (in_fd) {
		close(ifd[0]);
		*in_fd = ifd[1];
	}
	return pid;
}

/* One connect to the Unix socket at path: the fd, or -1. */
static inline int bench_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/*
 * Connect to path as soon as it accepts: the fd, or -1 once pid has ended or
 * secs have gone by (0: no limit). pause_us between tries; 0 spins, for the
 * startup times, where a pause would be measured too.
 */
static inline int bench_connect_when_up(const char *path, pid_t pid, int secs, int pause_us)
{
	long long deadline = bench_now_us() + secs * 1000000LL;
	int fd;

	while (!secs || bench_now_us() < deadline) {
		fd = bench_connect(path);
		if (fd >= 0)
			return fd;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		if (pause_us)
			usleep(pause_us);
	}
	return -1;
}

/* Send one request with body (NULL: none): 0, or -1. */
static inline int bench_http_send(int fd, const char *method, const char *path, const char *body)
{
	char buf[4096];
	int n = snprintf(buf, sizeof(buf), "%s %s HTTP/1.1\r\nContent-Length: %zu\r\n\r\n%s",
			 method, path, body ? strlen(body) : 0, body ? body : "");

	return n < 0 || n >= (int)sizeof(buf) || write(fd, buf, n) != n ? -1 : 0;
}

/* One read of fd after the len bytes in buf (size in all), kept a string: 0, or -1 at its end. */
static inline int bench_read_more(int fd, char *buf, size_t size, size_t *len)
{
	ssize_t r = read(fd, buf + *len, size - 1 - *len);

	if (r <= 0)
		return -1;
	*len += r;
	buf[*len] = '\0';
	return 0;
}

/* Read one whole answer (head, then Content-Length bytes): its status, or -1. */
static inline int bench_http_status(int fd)
{
	char buf[4096];
	size_t len = 0;
	char *end, *cl;

	for (;;) {
		if (bench_read_more(fd, buf, sizeof(buf), &len))
			return -1;
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		cl = strstr(buf, "Content-Length: ");
		if (len >= (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 16, NULL, 10) : 0))
			return strncmp(buf, "HTTP/1.1 ", 9) ? -1 : atoi(buf + 9);
	}
}

/* One request and its whole answer: the status, or -1. */
static inline int bench_request(int fd, const char *method, const char *path, const char *body)
{
	return bench_http_send(fd, method, path, body) ? -1 : bench_http_status(fd);
}

/* The body of PUT /snapshot/load with resume_vm, memory from backend type at path. */
static inline void bench_load_body(char *buf, size_t size, const char *state, const char *type,
				   const char *path)
{
	snprintf(buf, size, "{\"snapshot_path\": \"%s\", \"mem_backend\": "
		 "{\"backend_type\": \"%s\", \"backend_path\": \"%s\"}, \"resume_vm\": true}",
		 state, type, path);
}

/* The last bytes read from a child's stdout. */
struct bench_tail {
	size_t len;
	char buf[1024];
};

/* One read of fd into t: 1 once t holds marker, 0 not yet, -1 when fd has ended. */
static inline int bench_tail_read(struct bench_tail *t, int fd, const char *marker)
{
	ssize_t r = read(fd, t->buf + t->len, sizeof(t->buf) - 1 - t->len);

	if (r <= 0)
		return r == 0 || errno != EAGAIN ? -1 : 0;
	t->len += r;
	t->buf[t->len] = '\0';
	if (strstr(t->buf, marker))
		return 1;
	if (t->len > sizeof(t->buf) - BENCH_TAIL) {
		memmove(t->buf, t->buf + t->len - BENCH_TAIL, BENCH_TAIL);
		t->len = BENCH_TAIL;
	}
	return 0;
}

/* Read fd until a line holds marker: 0 when seen within secs, else -1. */
static inline int bench_wait_marker(int fd, const char *marker, int secs)
{
	struct bench_tail t = { 0 };
	long long deadline = bench_now_us() + secs * 1000000LL;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (bench_now_us() < deadline) {
		int seen;

		if (poll(&p, 1, 100) <= 0)
			continue;
		seen = bench_tail_read(&t, fd, marker);
		if (seen)
			return seen > 0 ? 0 : -1;
	}
	return -1;
}

/* One of many monitors started at once (bench/fleet, bench/clones). */
struct bench_vm {
	pid_t pid;
	int out;	/* its stdout, non-blocking */
	int marked;	/* 1: printed the marker; -1: ended (or never started) without it */
	struct bench_tail tail;
};

/* Start v running argv with its stdout on a pipe: 0, or -1. */
static inline int bench_vm_launch(struct bench_vm *v, char **argv)
{
	v->out = -1;
	v->pid = bench_spawn(argv, NULL, &v->out);
	if (v->out >= 0)
		fcntl(v->out, F_SETFL, O_NONBLOCK);
	if (v->pid < 0) {
		v->marked = -1;
		return -1;
	}
	return 0;
}

/*
 * Read what each VM prints until every one has printed marker or ended, or
 * the deadline passes: how many printed it. The pipes stay open (unread)
 * until bench_vm_stop_all, so what a VM prints later cannot fail.
 */
static inline int bench_vm_watch(struct bench_vm *v, int n, const char *marker, long long deadline)
{
	struct pollfd *p = calloc(n, sizeof(*p));
	int marked = 0, left = n;

	for (int i = 0; i < n; i++)
		left -= v[i].marked != 0;
	while (p && left > 0 && bench_now_us() < deadline) {
		for (int i = 0; i < n; i++)
			p[i] = (struct pollfd){ .fd = v[i].marked ? -1 : v[i].out, .events = POLLIN };
		if (poll(p, n, 100) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (v[i].marked || !(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			v[i].marked = bench_tail_read(&v[i].tail, v[i].out, marker);
			marked += v[i].marked > 0;
			left -= v[i].marked != 0;
		}
	}
	free(p);
	return marked;
}

/*
 * SIGTERM to all, then reap them (SIGKILL to those left after 30 s, and
 * again every 30 s): how many printed the marker and exited with status 0.
 */
static inline int bench_vm_stop_all(struct bench_vm *v, int n)
{
	long long deadline = bench_now_us() + 30000000;
	int clean = 0;

	for (int i = 0; i < n; i++)
		if (v[i].pid > 0)
			kill(v[i].pid, SIGTERM);
	for (int i = 0; i < n; i++) {
		int status;
		pid_t r;

		if (v[i].pid <= 0)
			continue;
		while ((r = waitpid(v[i].pid, &status, WNOHANG)) == 0) {
			if (bench_now_us() > deadline) {
				for (int j = i; j < n; j++)
					if (v[j].pid > 0)
						kill(v[j].pid, SIGKILL);
				deadline = bench_now_us() + 30000000;
			}
			usleep(10000);
		}
		clean += r == v[i].pid && v[i].marked == 1 && WIFEXITED(status) &&
			 !WEXITSTATUS(status);
	}
	for (int i = 0; i < n; i++)
		if (v[i].out >= 0)
			close(v[i].out);
	return clean;
}

/* The first figure in KiB a line of file at path gives format ("Name: %ld kB"); -1 if none. */
static inline long bench_proc_kib(const char *path, const char *format)
{
	FILE *f = fopen(path, "r");
	char line[256];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, format, &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static inline long bench_mem_available_kib(void)
{
	return bench_proc_kib("/proc/meminfo", "MemAvailable: %ld kB");
}

#endif
