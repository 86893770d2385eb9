// SPDX-License-Identifier: Apache-2.0
/*
 * fleet N MARKER CMD [ARGS...]: start N copies of CMD at once, each with its
 * stdout on a pipe, and wait (60 s at most) until every one has printed a
 * line holding MARKER, and one second more. Then SIGTERM them all and wait
 * for them to end (SIGKILL after 30 s). Prints one line:
 *   all_us started marked clean memavail_before memavail_at memavail_later
 * all_us: from the first fork to the last marker (-1 if some never printed
 * it); memavail (KiB): MemAvailable just before the first fork, just after
 * the last marker and a second later; clean: how many printed the marker
 * and then ended with exit status 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TAIL 128	/* bytes kept between reads, so a marker cut in two is still found */

struct vm {
	pid_t pid;
	int out;
	int done;	/* printed the marker, or closed its stdout */
	int marked;
	size_t len;
	char buf[1024];
};

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
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

static int launch(struct vm *v, char **argv)
{
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	v->pid = fork();
	if (v->pid == 0) {
		dup2(pfd[1], 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	v->out = pfd[0];
	return v->pid < 0 ? -1 : 0;
}

/*
 * Read what v printed; 1 once its output holds the marker. The pipe stays
 * open (unread) until the end, so what the VM prints later cannot fail.
 */
static int feed(struct vm *v, const char *marker)
{
	ssize_t r = read(v->out, v->buf + v->len, sizeof(v->buf) - 1 - v->len);

	if (r <= 0) {	/* ended without the marker */
		v->done = 1;
		return 0;
	}
	v->len += r;
	v->buf[v->len] = '\0';
	if (strstr(v->buf, marker)) {
		v->done = v->marked = 1;
		return 1;
	}
	if (v->len > TAIL) {
		memmove(v->buf, v->buf + v->len - TAIL, TAIL);
		v->len = TAIL;
	}
	return 0;
}

/* Poll every pipe not yet done until all are, or the deadline; the number of markers seen. */
static int watch(struct vm *vms, int n, const char *marker, long long deadline)
{
	struct pollfd *p = calloc(n, sizeof(*p));
	int marked = 0, left = n;

	while (p && left > 0 && now_us() < deadline) {
		for (int i = 0; i < n; i++)
			p[i] = (struct pollfd){ .fd = vms[i].done ? -1 : vms[i].out, .events = POLLIN };
		if (poll(p, n, 100) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (vms[i].done || !(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			marked += feed(&vms[i], marker);
			left -= vms[i].done;
		}
	}
	free(p);
	return marked;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* SIGTERM all, then reap; the number that printed the marker and exited with status 0. */
static int stop_all(struct vm *vms, int n)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	int ok = 0;

	for (int i = 0; i < n; i++)
		if (vms[i].pid > 0)
			kill(vms[i].pid, SIGTERM);
	sigaction(SIGALRM, &sa, NULL);
	alarm(30);
	for (int i = 0; i < n; i++) {
		int status = -1;

		if (vms[i].pid <= 0)
			continue;
		while (waitpid(vms[i].pid, &status, 0) < 0 && errno == EINTR)
			for (int j = i; j < n; j++)	/* 30 s went by */
				if (vms[j].pid > 0)
					kill(vms[j].pid, SIGKILL);
		ok += vms[i].marked && status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	for (int i = 0; i < n; i++)
		if (vms[i].out >= 0)
			close(vms[i].out);
	alarm(0);
	return ok;
}

int main(int argc, char **argv)
{
	long long t0, all = -1;
	long before, at, later;
	int n, started = 0, marked;
	struct vm *vms;

	if (argc < 4 || (n = atoi(argv[1])) <= 0)
		return 2;
	vms = calloc(n, sizeof(*vms));
	if (!vms)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	before = mem_available_kib();
	t0 = now_us();
	for (int i = 0; i < n; i++) {
		vms[i].out = -1;
		started += launch(&vms[i], argv + 3) == 0;
	}
	marked = watch(vms, n, argv[2], t0 + 60000000);
	if (marked == n)
		all = now_us() - t0;
	at = mem_available_kib();
	sleep(1);
	later = mem_available_kib();
	printf("%lld %d %d %d %ld %ld %ld\n", all, started, marked, stop_all(vms, n), before, at,
	       later);
	return marked == n ? 0 : 1;
}
