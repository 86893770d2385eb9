// SPDX-License-Identifier: Apache-2.0
/*
 * The control API's two numbers, measured from outside:
 *   apiclient startup SOCK PETREL [ARGS...]
 *	fork and exec PETREL, connect to SOCK until it accepts and a GET /
 *	is answered; print microseconds from just before exec to the connect,
 *	and to the answer; then SIGTERM petrel.
 *   apiclient rate SOCK N
 *	N GET / over one keep-alive connection; print requests per second.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char get[] = "GET / HTTP/1.1\r\n\r\n";

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int try_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* One GET / and its whole answer (headers, then Content-Length bytes). */
static int get_root(int fd)
{
	char buf[4096];
	size_t len = 0;
	char *end, *cl;

	if (write(fd, get, sizeof(get) - 1) != sizeof(get) - 1)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			return -1;
		len += n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		cl = strstr(buf, "Content-Length: ");
		if (end && cl && len >= (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10))
			return strncmp(buf, "HTTP/1.1 200", 12) ? -1 : 0;
	}
}

static int startup(const char *sock, char **argv)
{
	long long start, connected, answered;
	pid_t pid;
	int fd;

	unlink(sock);
	start = now_us();
	pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	while ((fd = try_connect(sock)) < 0) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return 1;
	}
	connected = now_us();
	if (get_root(fd))
		return 1;
	answered = now_us();
	printf("%lld %lld\n", connected - start, answered - start);
	close(fd);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return 0;
}

static int rate(const char *sock, long n)
{
	int fd = try_connect(sock);
	long long start;

	if (fd < 0)
		return 1;
	start = now_us();
	for (long i = 0; i < n; i++) {
		if (get_root(fd))
			return 1;
	}
	printf("%.0f\n", n * 1e6 / (now_us() - start));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "startup"))
		return startup(argv[2], argv + 3);
	if (argc == 4 && !strcmp(argv[1], "rate"))
		return rate(argv[2], atol(argv[3]));
	fprintf(stderr, "usage: apiclient startup SOCK PETREL [ARGS...] | rate SOCK N\n");
	return 2;
}
