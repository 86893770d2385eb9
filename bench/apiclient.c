// SPDX-License-Identifier: Apache-2.0
/*
 * The control API's numbers, measured from outside (times in microseconds):
 *   apiclient startup SOCK PETREL [ARGS...]
 *	fork and exec PETREL, connect to SOCK until it accepts and a GET /
 *	is answered; print the time from just before exec to the connect,
 *	and to the answer; then SIGTERM petrel.
 *   apiclient qmp SOCK QEMU [ARGS...]
 *	the same for QEMU's QMP socket: to the connect, and to its greeting.
 *   apiclient start SOCK KERNEL BOOT_ARGS PETREL [ARGS...]
 *	exec PETREL, PUT /boot-source and /machine-config (1 vCPU, 128 MiB),
 *	then PUT /actions InstanceStart; print the time from just before that
 *	request to its answer, and to the guest's "probe: hello" line on
 *	petrel's stdout; then SIGTERM petrel.
 *   apiclient cont SOCK QEMU [ARGS...]
 *	the same for QEMU started with -S and a QMP socket: the time from
 *	QMP "cont" to its answer, and to the hello line.
 *   apiclient restore SOCK STATE MEM PETREL [ARGS...]
 *	exec PETREL, PUT /snapshot/load (File backend, resume_vm) of a probe
 *	counting ticks; print the time from just before that request to its
 *	answer, from just before exec to the answer, and from just before exec
 *	to the restored guest's next "probe: tick" line; then SIGTERM petrel.
 *   apiclient answer SOCK STATE BACKEND_TYPE BACKEND_PATH PETREL [ARGS...]
 *	exec PETREL, PUT /snapshot/load (resume_vm) of a guest snapshotted at
 *	its shell, then type "echo ready" on its console; print the time from
 *	just before that request to its answer, and to the shell's "ready"
 *	line (60 s at most); then SIGTERM petrel.
 *   apiclient incoming SOCK QEMU [ARGS...]
 *	the same for QEMU started with -incoming defer and a QMP socket:
 *	migrate-incoming, the time from that command until QMP says the guest
 *	runs ("cont" once it is in, as the source was stopped), from exec to
 *	then, and from exec to the next tick line. The URI is the
 *	environment's INCOMING; INCOMING_CAPS, a QMP command sent before.
 *   apiclient rate SOCK N
 *	N GET / over one keep-alive connection; print requests per second.
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

/* One request and its whole answer (head, then Content-Length bytes): the status, or -1. */
static int request(int fd, const char *method, const char *path, const char *body)
{
	char buf[4096];
	size_t len = 0, blen = body ? strlen(body) : 0;
	char *end, *cl;
	int n;

	n = snprintf(buf, sizeof(buf), "%s %s HTTP/1.1\r\nContent-Length: %zu\r\n\r\n%s",
		     method, path, blen, body ? body : "");
	if (n < 0 || n >= (int)sizeof(buf) || write(fd, buf, n) != n)
		return -1;
	for (;;) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (r <= 0)
			return -1;
		len += r;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		cl = strstr(buf, "Content-Length: ");
		if (len >= (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 16, NULL, 10) : 0))
			return strncmp(buf, "HTTP/1.1 ", 9) ? -1 : atoi(buf + 9);
	}
}

/*
 * fork and exec argv; with out_fd, its stdout goes to a pipe whose read end
 * lands there; with in_fd, its stdin comes from a pipe whose write end does.
 */
static pid_t spawn_io(char **argv, int *in_fd, int *out_fd)
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
		execv(argv[0], argv);
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

static pid_t spawn(char **argv, int *out_fd)
{
	return spawn_io(argv, NULL, out_fd);
}

static void stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* Connect to sock as soon as it accepts; -1 if the child ended first. */
static int connect_when_up(const char *sock, pid_t pid)
{
	int fd;

	while ((fd = try_connect(sock)) < 0) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
	}
	return fd;
}

/* QMP greets each connection with one line starting {"QMP". */
static int qmp_greeting(int fd)
{
	char buf[4096];
	size_t len = 0;

	while (len < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (r <= 0)
			return -1;
		len += r;
		buf[len] = '\0';
		if (strchr(buf, '\n'))
			return strncmp(buf, "{\"QMP\"", 6) ? -1 : 0;
	}
	return -1;
}

/* Send a QMP command and read until its answer (events before it are skipped). */
static int qmp_command(int fd, const char *cmd)
{
	char buf[4096];
	size_t len = 0, n = strlen(cmd);

	if (write(fd, cmd, n) != (ssize_t)n)
		return -1;
	for (;;) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (r <= 0)
			return -1;
		len += r;
		buf[len] = '\0';
		if (strstr(buf, "\"error\""))
			return -1;
		if (strstr(buf, "\"return\""))
			return 0;
		if (len > sizeof(buf) / 2) {
			memmove(buf, buf + len - 64, 64);
			len = 64;
		}
	}
}

static int startup(const char *sock, char **argv, int qmp)
{
	long long start, connected, answered;
	pid_t pid;
	int fd;

	unlink(sock);
	start = now_us();
	pid = spawn(argv, NULL);
	if (pid < 0)
		return 1;
	fd = connect_when_up(sock, pid);
	if (fd < 0)
		return 1;
	connected = now_us();
	if (qmp ? qmp_greeting(fd) : request(fd, "GET", "/", NULL) != 200) {
		stop(pid);
		return 1;
	}
	answered = now_us();
	printf("%lld %lld\n", connected - start, answered - start);
	close(fd);
	stop(pid);
	return 0;
}

/* Read the child's stdout until a line holds marker; 0 when seen within secs. */
static int wait_marker_for(int out, const char *marker, int secs)
{
	char buf[8192];
	size_t len = 0;
	long long deadline = now_us() + secs * 1000000LL;
	struct pollfd p = { .fd = out, .events = POLLIN };

	while (now_us() < deadline) {
		ssize_t r;

		if (poll(&p, 1, 100) <= 0)
			continue;
		r = read(out, buf + len, sizeof(buf) - 1 - len);
		if (r <= 0)
			return -1;
		len += r;
		buf[len] = '\0';
		if (strstr(buf, marker))
			return 0;
		if (len > sizeof(buf) / 2) {	/* keep a tail that may hold a cut marker */
			memmove(buf, buf + len - 64, 64);
			len = 64;
		}
	}
	return -1;
}

static int wait_marker(int out, const char *marker)
{
	return wait_marker_for(out, marker, 10);
}

static int wait_hello(int out)
{
	return wait_marker(out, "probe: hello");
}

static int start(const char *sock, const char *kernel, const char *args, char **argv)
{
	char body[2048];
	long long t0, answered, hello;
	int fd, out = -1, ret = 1;
	pid_t pid;

	unlink(sock);
	pid = spawn(argv, &out);
	if (pid < 0)
		return 1;
	fd = connect_when_up(sock, pid);
	if (fd < 0) {
		close(out);
		return 1;
	}
	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\", \"boot_args\": \"%s\"}",
		 kernel, args);
	if (request(fd, "PUT", "/boot-source", body) != 204 ||
	    request(fd, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128}") != 204)
		goto out;
	t0 = now_us();
	if (request(fd, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}") != 204)
		goto out;
	answered = now_us();
	if (wait_hello(out))
		goto out;
	hello = now_us();
	printf("%lld %lld\n", answered - t0, hello - t0);
	ret = 0;
out:
	close(fd);
	close(out);
	stop(pid);
	return ret;
}

/* QEMU started with -S: from QMP "cont" to its answer and to the hello line. */
static int cont(const char *sock, char **argv)
{
	long long t0, answered, hello;
	int fd, out = -1, ret = 1;
	pid_t pid;

	unlink(sock);
	pid = spawn(argv, &out);
	if (pid < 0)
		return 1;
	fd = connect_when_up(sock, pid);
	if (fd < 0) {
		close(out);
		return 1;
	}
	if (qmp_greeting(fd) || qmp_command(fd, "{\"execute\": \"qmp_capabilities\"}\n"))
		goto out;
	t0 = now_us();
	if (qmp_command(fd, "{\"execute\": \"cont\"}\n"))
		goto out;
	answered = now_us();
	if (wait_hello(out))
		goto out;
	hello = now_us();
	printf("%lld %lld\n", answered - t0, hello - t0);
	ret = 0;
out:
	close(fd);
	close(out);
	stop(pid);
	return ret;
}

static int restore(const char *sock, const char *state, const char *mem, char **argv)
{
	char body[2048];
	long long t_exec, t0, answered, tick;
	int fd, out = -1, ret = 1;
	pid_t pid;

	unlink(sock);
	snprintf(body, sizeof(body), "{\"snapshot_path\": \"%s\", \"mem_backend\": "
		 "{\"backend_type\": \"File\", \"backend_path\": \"%s\"}, \"resume_vm\": true}",
		 state, mem);
	t_exec = now_us();
	pid = spawn(argv, &out);
	if (pid < 0)
		return 1;
	fd = connect_when_up(sock, pid);
	if (fd < 0) {
		close(out);
		return 1;
	}
	t0 = now_us();
	if (request(fd, "PUT", "/snapshot/load", body) != 204)
		goto out;
	answered = now_us();
	if (wait_marker(out, "probe: tick"))
		goto out;
	tick = now_us();
	printf("%lld %lld %lld\n", answered - t0, answered - t_exec, tick - t_exec);
	ret = 0;
out:
	close(fd);
	close(out);
	stop(pid);
	return ret;
}

/*
 * A guest snapshotted at its shell: load it, type a command, wait for the
 * shell's answer. The typed line's echo has the word split by quotes, so
 * only the answer holds it.
 */
static int answer(const char *sock, const char *state, const char *type, const char *path,
		  char **argv)
{
	static const char cmd[] = "echo re\"\"ady\n";
	char body[2048];
	long long t0, answered, ready;
	int fd, in = -1, out = -1, ret = 1;
	pid_t pid;

	unlink(sock);
	snprintf(body, sizeof(body), "{\"snapshot_path\": \"%s\", \"mem_backend\": "
		 "{\"backend_type\": \"%s\", \"backend_path\": \"%s\"}, \"resume_vm\": true}",
		 state, type, path);
	pid = spawn_io(argv, &in, &out);
	if (pid < 0)
		return 1;
	fd = connect_when_up(sock, pid);
	if (fd < 0)
		goto out_pipes;
	t0 = now_us();
	if (request(fd, "PUT", "/snapshot/load", body) != 204)
		goto out;
	answered = now_us();
	if (write(in, cmd, sizeof(cmd) - 1) != sizeof(cmd) - 1 ||
	    wait_marker_for(out, "\nready", 60))
		goto out;
	ready = now_us();
	printf("%lld %lld\n", answered - t0, ready - t0);
	ret = 0;
out:
	close(fd);
out_pipes:
	close(in);
	close(out);
	stop(pid);
	return ret;
}

/*
 * Until query-status says the guest runs (10 s at most). A source stopped
 * before its migration leaves the guest paused here: "cont" then, as a
 * user would.
 */
static int qmp_wait_running(int fd)
{
	char buf[4096];
	const char *q = "{\"execute\": \"query-status\"}\n";
	long long deadline = now_us() + 10000000;

	while (now_us() < deadline) {
		size_t len = 0;

		if (write(fd, q, strlen(q)) != (ssize_t)strlen(q))
			return -1;
		for (;;) {
			ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);

			if (r <= 0)
				return -1;
			len += r;
			buf[len] = '\0';
			if (strstr(buf, "\"return\"") || len > sizeof(buf) / 2)
				break;
		}
		if (strstr(buf, "\"status\": \"running\""))
			return 0;
		if (strstr(buf, "\"status\": \"paused\"") &&
		    qmp_command(fd, "{\"execute\": \"cont\"}\n"))
			return -1;
		if (strstr(buf, "\"status\": \"postmigrate\"") ||
		    strstr(buf, "\"status\": \"internal-error\""))
			return -1;
	}
	return -1;
}

static int incoming(const char *sock, char **argv)
{
	char cmd[2048];
	const char *uri = getenv("INCOMING");
	long long t_exec, t0, running, tick;
	int fd, out = -1, ret = 1;
	pid_t pid;

	if (!uri)
		return 2;
	unlink(sock);
	snprintf(cmd, sizeof(cmd), "{\"execute\": \"migrate-incoming\", \"arguments\": "
		 "{\"uri\": \"%s\"}}\n", uri);
	t_exec = now_us();
	pid = spawn(argv, &out);
	if (pid < 0)
		return 1;
	fd = connect_when_up(sock, pid);
	if (fd < 0) {
		close(out);
		return 1;
	}
	if (qmp_greeting(fd) || qmp_command(fd, "{\"execute\": \"qmp_capabilities\"}\n") ||
	    (getenv("INCOMING_CAPS") && qmp_command(fd, getenv("INCOMING_CAPS"))))
		goto out;
	t0 = now_us();
	if (qmp_command(fd, cmd) || qmp_wait_running(fd))
		goto out;
	running = now_us();
	if (wait_marker(out, "probe: tick"))
		goto out;
	tick = now_us();
	printf("%lld %lld %lld\n", running - t0, running - t_exec, tick - t_exec);
	ret = 0;
out:
	close(fd);
	close(out);
	stop(pid);
	return ret;
}

static int rate(const char *sock, long n)
{
	int fd = try_connect(sock);
	long long t0;

	if (fd < 0)
		return 1;
	t0 = now_us();
	for (long i = 0; i < n; i++) {
		if (request(fd, "GET", "/", NULL) != 200)
			return 1;
	}
	printf("%.0f\n", n * 1e6 / (now_us() - t0));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "startup"))
		return startup(argv[2], argv + 3, 0);
	if (argc >= 4 && !strcmp(argv[1], "qmp"))
		return startup(argv[2], argv + 3, 1);
	if (argc >= 6 && !strcmp(argv[1], "start"))
		return start(argv[2], argv[3], argv[4], argv + 5);
	if (argc >= 4 && !strcmp(argv[1], "cont"))
		return cont(argv[2], argv + 3);
	if (argc >= 7 && !strcmp(argv[1], "restore"))
		return restore(argv[2], argv[3], argv[4], argv + 5);
	if (argc >= 8 && !strcmp(argv[1], "answer"))
		return answer(argv[2], argv[3], argv[4], argv[5], argv + 6);
	if (argc >= 4 && !strcmp(argv[1], "incoming"))
		return incoming(argv[2], argv + 3);
	if (argc == 4 && !strcmp(argv[1], "rate"))
		return rate(argv[2], atol(argv[3]));
	fprintf(stderr, "usage: apiclient startup SOCK PETREL [ARGS...] | qmp SOCK QEMU [ARGS...]\n"
		"       | start SOCK KERNEL BOOT_ARGS PETREL [ARGS...] | cont SOCK QEMU [ARGS...]\n"
		"       | restore SOCK STATE MEM PETREL [ARGS...] | incoming SOCK QEMU [ARGS...]\n"
		"       | answer SOCK STATE BACKEND_TYPE BACKEND_PATH PETREL [ARGS...]\n"
		"       | rate SOCK N\n");
	return 2;
}
