// SPDX-License-Identifier: Apache-2.0
/*
 * linetime MARKER CMD [ARGS...]: run CMD, print the microseconds from its
 * exec until a line of its stdout contains MARKER, then wait for it
 * to end (killing it after 60 s; at once with LINETIME_KILL set, for
 * monitors whose guest cannot power off). Exit status: 0 when the marker
 * was seen.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t child;

/* After 60 s the command is killed (not linetime: an orphaned VM would stay). */
static void on_alarm(int sig)
{
	(void)sig;
	kill(child, SIGKILL);
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	long long start, seen = -1;
	char line[4096];
	int pfd[2], status;
	pid_t pid;
	FILE *in;

	if (argc < 3 || pipe(pfd) < 0)
		return 2;
	start = now_us();
	pid = fork();
	if (pid == 0) {
		/* stdout only: the guest console; log lines on stderr could split it. */
		dup2(pfd[1], 1);
		if (!getenv("LINETIME_ECHO")) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 2);
		}
		close(pfd[0]);
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	close(pfd[1]);
	child = pid;
	signal(SIGALRM, on_alarm);
	alarm(60);
	in = fdopen(pfd[0], "r");
	while (fgets(line, sizeof(line), in)) {
		if (seen < 0 && strstr(line, argv[1])) {
			seen = now_us() - start;
			if (getenv("LINETIME_KILL"))
				kill(pid, SIGKILL);
		}
		if (getenv("LINETIME_ECHO"))
			fputs(line, stderr);
	}
	waitpid(pid, &status, 0);
	if (seen < 0)
		return 1;
	printf("%lld\n", seen);
	return 0;
}
