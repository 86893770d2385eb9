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
#include "bench.h"

/* A monitor started for one measurement, and its API connection. */
struct run {
	pid_t pid;
	int fd;
	int in;		/* its stdin's write end, or -1 */
	int out;	/* its stdout's read end, or -1 */
	long long t_exec;	/* just before the fork */
};

enum { RUN_OUT = 1, RUN_IN = 2 };

/*
 * Start argv with the pipes io asks for and connect to sock as soon as it
 * accepts: 0, or -1 (the monitor has ended then).
 */
static int run_start(struct run *r, const char *sock, char **argv, int io)
{
	*r = (struct run){ .pid = -1, .fd = -1, .in = -1, .out = -1 };
	unlink(sock);
	r->t_exec = bench_now_us();
	r->pid = bench_spawn(argv, io & RUN_IN ? &r->in : NULL, io & RUN_OUT ? &r->out : NULL);
	if (r->pid > 0)
		r->fd = bench_connect_when_up(sock, r->pid, 0, 0);
	if (r->fd >= 0)
		return 0;
	if (r->in >= 0)
		close(r->in);
	if (r->out >= 0)
		close(r->out);
	return -1;
}

/* Close what run_start opened and SIGTERM the monitor; ret, for the caller's return. */
static int run_end(struct run *r, int ret)
{
	close(r->fd);
	if (r->in >= 0)
		close(r->in);
	if (r->out >= 0)
		close(r->out);
	kill(r->pid, SIGTERM);
	waitpid(r->pid, NULL, 0);
	return ret;
}

/* QMP greets each connection with one line starting {"QMP". */
static int qmp_greeting(int fd)
{
	char buf[4096];
	size_t len = 0;

	while (len < sizeof(buf) - 1) {
		if (bench_read_more(fd, buf, sizeof(buf), &len))
			return -1;
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
		if (bench_read_more(fd, buf, sizeof(buf), &len))
			return -1;
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
	long long connected, answered;
	struct run r;

	if (run_start(&r, sock, argv, 0))
		return 1;
	connected = bench_now_us();
	if (qmp ? qmp_greeting(r.fd) : bench_request(r.fd, "GET", "/", NULL) != 200)
		return run_end(&r, 1);
	answered = bench_now_us();
	printf("%lld %lld\n", connected - r.t_exec, answered - r.t_exec);
	return run_end(&r, 0);
}

static int start(const char *sock, const char *kernel, const char *args, char **argv)
{
	char body[2048];
	long long t0, answered, hello;
	struct run r;

	if (run_start(&r, sock, argv, RUN_OUT))
		return 1;
	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\", \"boot_args\": \"%s\"}",
		 kernel, args);
	if (bench_request(r.fd, "PUT", "/boot-source", body) != 204 ||
	    bench_request(r.fd, "PUT", "/machine-config",
			  "{\"vcpu_count\": 1, \"mem_size_mib\": 128}") != 204)
		return run_end(&r, 1);
	t0 = bench_now_us();
	if (bench_request(r.fd, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}") != 204)
		return run_end(&r, 1);
	answered = bench_now_us();
	if (bench_wait_marker(r.out, "probe: hello", 10))
		return run_end(&r, 1);
	hello = bench_now_us();
	printf("%lld %lld\n", answered - t0, hello - t0);
	return run_end(&r, 0);
}

/* QEMU started with -S: from QMP "cont" to its answer and to the hello line. */
static int cont(const char *sock, char **argv)
{
	long long t0, answered, hello;
	struct run r;

	if (run_start(&r, sock, argv, RUN_OUT))
		return 1;
	if (qmp_greeting(r.fd) || qmp_command(r.fd, "{\"execute\": \"qmp_capabilities\"}\n"))
		return run_end(&r, 1);
	t0 = bench_now_us();
	if (qmp_command(r.fd, "{\"execute\": \"cont\"}\n"))
		return run_end(&r, 1);
	answered = bench_now_us();
	if (bench_wait_marker(r.out, "probe: hello", 10))
		return run_end(&r, 1);
	hello = bench_now_us();
	printf("%lld %lld\n", answered - t0, hello - t0);
	return run_end(&r, 0);
}

static int restore(const char *sock, const char *state, const char *mem, char **argv)
{
	char body[2048];
	long long t0, answered, tick;
	struct run r;

	bench_load_body(body, sizeof(body), state, "File", mem);
	if (run_start(&r, sock, argv, RUN_OUT))
		return 1;
	t0 = bench_now_us();
	if (bench_request(r.fd, "PUT", "/snapshot/load", body) != 204)
		return run_end(&r, 1);
	answered = bench_now_us();
	if (bench_wait_marker(r.out, "probe: tick", 10))
		return run_end(&r, 1);
	tick = bench_now_us();
	printf("%lld %lld %lld\n", answered - t0, answered - r.t_exec, tick - r.t_exec);
	return run_end(&r, 0);
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
	struct run r;

	bench_load_body(body, sizeof(body), state, type, path);
	if (run_start(&r, sock, argv, RUN_IN | RUN_OUT))
		return 1;
	t0 = bench_now_us();
	if (bench_request(r.fd, "PUT", "/snapshot/load", body) != 204)
		return run_end(&r, 1);
	answered = bench_now_us();
	if (write(r.in, cmd, sizeof(cmd) - 1) != sizeof(cmd) - 1 ||
	    bench_wait_marker(r.out, "\nready", 60))
		return run_end(&r, 1);
	ready = bench_now_us();
	printf("%lld %lld\n", answered - t0, ready - t0);
	return run_end(&r, 0);
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
	long long deadline = bench_now_us() + 10000000;

	while (bench_now_us() < deadline) {
		size_t len = 0;

		if (write(fd, q, strlen(q)) != (ssize_t)strlen(q))
			return -1;
		for (;;) {
			if (bench_read_more(fd, buf, sizeof(buf), &len))
				return -1;
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
	long long t0, running, tick;
	struct run r;

	if (!uri)
		return 2;
	snprintf(cmd, sizeof(cmd), "{\"execute\": \"migrate-incoming\", \"arguments\": "
		 "{\"uri\": \"%s\"}}\n", uri);
	if (run_start(&r, sock, argv, RUN_OUT))
		return 1;
	if (qmp_greeting(r.fd) || qmp_command(r.fd, "{\"execute\": \"qmp_capabilities\"}\n") ||
	    (getenv("INCOMING_CAPS") && qmp_command(r.fd, getenv("INCOMING_CAPS"))))
		return run_end(&r, 1);
	t0 = bench_now_us();
	if (qmp_command(r.fd, cmd) || qmp_wait_running(r.fd))
		return run_end(&r, 1);
	running = bench_now_us();
	if (bench_wait_marker(r.out, "probe: tick", 10))
		return run_end(&r, 1);
	tick = bench_now_us();
	printf("%lld %lld %lld\n", running - t0, running - r.t_exec, tick - r.t_exec);
	return run_end(&r, 0);
}

static int rate(const char *sock, long n)
{
	int fd = bench_connect(sock);
	long long t0;

	if (fd < 0)
		return 1;
	t0 = bench_now_us();
	for (long i = 0; i < n; i++) {
		if (bench_request(fd, "GET", "/", NULL) != 200)
			return 1;
	}
	printf("%.0f\n", n * 1e6 / (bench_now_us() - t0));
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
