// SPDX-License-Identifier: Apache-2.0
/*
 * linetime MARKER CMD [ARGS...]: run CMD, print the microseconds from its
 * exec until a line of its stdout contains MARKER, then wait for it
 * to end (killing it after 60 s; at once with LINETIME_KILL set, for
 * monitors whose guest cannot power off). Exit status: 0 when the marker
 * was seen.
 */
#define _GNU_SOURCE
#include "bench.h"

static pid_t child;

/* After 60 s the command is killed (not linetime: an orphaned VM would stay). */
static void on_alarm(int sig)
{
	(void)sig;
	kill(child, SIGKILL);
}

int main(int argc, char **argv)
{
	long long start, seen = -1;
	char line[4096];
	int out = -1, status;
	pid_t pid;
	FILE *in;

	if (argc < 3)
		return 2;
	/* stdout only: the guest console; log lines on stderr could split it. */
	if (!getenv("LINETIME_ECHO")) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);	/* linetime itself writes there only with LINETIME_ECHO */
		close(null);
	}
	start = bench_now_us();
	pid = bench_spawn(argv + 2, NULL, &out);
	if (pid < 0)
		return out < 0 ? 2 : 1;	/* no pipe as bad arguments; no fork as no marker */
	child = pid;
	signal(SIGALRM, on_alarm);
	alarm(60);
	in = fdopen(out, "r");
	while (fgets(line, sizeof(line), in)) {
		if (seen < 0 && strstr(line, argv[1])) {
			seen = bench_now_us() - start;
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
