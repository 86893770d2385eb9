// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <petrel/log.h>
#include <petrel/metrics.h>
#include <petrel/util.h>

static pthread_t main_thread;

/* Before main(): the one thread then is the main one. */
__attribute__((constructor)) static void note_main_thread(void)
{
	main_thread = pthread_self();
}

void log_thread_name(char name[16])
{
	if (pthread_equal(pthread_self(), main_thread))
		strcpy(name, LOG_THREAD_MAIN);
	else if (prctl(PR_GET_NAME, name) < 0)
		strcpy(name, "?");
}

static const char *const level_names[] = {
	[LOG_OFF] = "Off", [LOG_ERROR] = "Error", [LOG_WARN] = "Warning",
	[LOG_INFO] = "Info", [LOG_DEBUG] = "Debug", [LOG_TRACE] = "Trace",
};
static const char *const level_tags[] = {
	[LOG_OFF] = "OFF", [LOG_ERROR] = "ERROR", [LOG_WARN] = "WARN",
	[LOG_INFO] = "INFO", [LOG_DEBUG] = "DEBUG", [LOG_TRACE] = "TRACE",
};

static struct {
	enum log_level level;
	bool show_level;
	bool show_origin;
	int fd;
	char id[65];
	char module[LOG_MODULE_MAX + 1];	/* "": every line */
} logger = { .level = LOG_INFO, .fd = STDERR_FILENO, .id = LOG_DEFAULT_ID };

/*
 * The log and the guest's console on one file (log_console_set): every
 * console write and every log line goes through gate.lock, and a log line
 * that comes while the console's line is half written waits in held.
 */
#define LOG_HOLD_BYTES	16384

static struct {
	pthread_mutex_t lock;
	struct stat console;		/* the file the console writes to */
	bool has_console;
	atomic_bool on;			/* the log writes to that file too */
	atomic_bool mid_line;		/* the console's last byte was not a newline */
	int notify_fd;
	size_t held_len;
	char held[LOG_HOLD_BYTES];
} gate = { .lock = PTHREAD_MUTEX_INITIALIZER, .notify_fd = -1 };

/* A terminal is one whatever the path it was opened by; anything else by its inode. */
static bool same_file(int fd, const struct stat *c)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || (st.st_mode & S_IFMT) != (c->st_mode & S_IFMT))
		return false;
	if (S_ISCHR(st.st_mode))
		return st.st_rdev == c->st_rdev;
	return st.st_dev == c->st_dev && st.st_ino == c->st_ino;
}

void log_set_id(const char *id)
{
	snprintf(logger.id, sizeof(logger.id), "%s", id);
}

void log_set_module(const char *module)
{
	snprintf(logger.module, sizeof(logger.module), "%s", module ? module : "");
}

/* "virtio/blk.c" from ".../src/virtio/blk.c": where a line comes from. */
static const char *origin(const char *file)
{
	const char *p, *o = file;

	for (p = strstr(file, "/src/"); p; p = strstr(p + 1, "/src/"))
		o = p + strlen("/src/");
	return o;
}

void log_set_level(enum log_level level)
{
	logger.level = level;
}

void log_set_show(bool show_level, bool show_origin)
{
	logger.show_level = show_level;
	logger.show_origin = show_origin;
}

static void set_fd(int fd);

int log_set_path(const char *path)
{
	char err[8];	/* callers say why with util_open_error() */
	int fd;

	if (!path) {
		log_close();
		return 0;
	}
	/*
	 * Read-write and non-blocking, as Firecracker opens it: a FIFO needs no
	 * reader yet (ours keeps it open; lines wait in it until one comes), and
	 * a full one loses lines rather than stall a vCPU.
	 */
	fd = util_open_file(path, O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK | O_NOCTTY,
			    LOG_PATH_KINDS, err, sizeof(err));
	if (fd < 0)
		return fd;
	set_fd(fd);
	return 0;
}

void log_close(void)
{
	set_fd(STDERR_FILENO);
}

int log_level_parse(const char *name, enum log_level *level)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (!strcasecmp(name, level_names[i])) {
			*level = i;
			return 0;
		}
	}
	if (!strcasecmp(name, "Warn")) {
		*level = LOG_WARN;
		return 0;
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	return level < ARRAY_SIZE(level_names) ? level_names[level] : "?";
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian), without gmtime. */
static void civil_date(int64_t days, unsigned int *y, unsigned int *m, unsigned int *d)
{
	int64_t era, doe, yoe, doy, mp;

	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

/*
 * The time in UTC (2024-01-31T12:00:00.123456789Z), built only from
 * async-signal-safe pieces: no gmtime or strftime, which load the time zone
 * (/etc/localtime) on first use, from whichever thread logs first, under
 * its seccomp filter.
 */
static void format_time(char *buf, size_t len, size_t *pos)
{
	struct timespec ts;
	unsigned int y, m, d;
	int64_t secs;

	clock_gettime(CLOCK_REALTIME, &ts);
	secs = ts.tv_sec % 86400;
	civil_date(ts.tv_sec / 86400, &y, &m, &d);
	util_append_u64(buf, len, pos, y, 4);
	util_append_str(buf, len, pos, "-");
	util_append_u64(buf, len, pos, m, 2);
	util_append_str(buf, len, pos, "-");
	util_append_u64(buf, len, pos, d, 2);
	util_append_str(buf, len, pos, "T");
	util_append_u64(buf, len, pos, secs / 3600, 2);
	util_append_str(buf, len, pos, ":");
	util_append_u64(buf, len, pos, secs / 60 % 60, 2);
	util_append_str(buf, len, pos, ":");
	util_append_u64(buf, len, pos, secs % 60, 2);
	util_append_str(buf, len, pos, ".");
	util_append_u64(buf, len, pos, ts.tv_nsec, 9);
	util_append_str(buf, len, pos, "Z");
}

/*
 * One write per line: lines from several threads never interleave. A line
 * that cannot go out whole (a full FIFO, a reader gone) is lost and counted,
 * never waited for. Async-signal-safe.
 */
static void write_line(const char *buf, size_t len)
{
	ssize_t n;

	do {
		n = write(logger.fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len)
		metrics_inc(M_LOGGER_MISSED_LOG_COUNT);
}

/* Under gate.lock: what waits goes out, on a line of its own. */
static void release_locked(void)
{
	if (!gate.held_len)
		return;
	if (gate.mid_line)
		write_line("\n", 1);
	write_line(gate.held, gate.held_len);
	gate.held_len = 0;
	gate.mid_line = false;
}

static void set_fd(int fd)
{
	pthread_mutex_lock(&gate.lock);
	release_locked();
	if (logger.fd != STDERR_FILENO)
		close(logger.fd);
	logger.fd = fd;
	atomic_store(&gate.on, gate.has_console && same_file(fd, &gate.console));
	pthread_mutex_unlock(&gate.lock);
}

void log_console_set(int console_fd, int notify_fd)
{
	pthread_mutex_lock(&gate.lock);
	release_locked();
	gate.has_console = console_fd >= 0 && !fstat(console_fd, &gate.console);
	gate.notify_fd = notify_fd;
	atomic_store(&gate.mid_line, false);
	atomic_store(&gate.on, gate.has_console && same_file(logger.fd, &gate.console));
	pthread_mutex_unlock(&gate.lock);
}

/*
 * A vCPU writing the console must never wait for the log: while a log line
 * is being written to a terminal or pipe (whose reader may have stopped),
 * the console's byte waits in its own buffer as it would on EAGAIN, and
 * goes out on EPOLLOUT.
 */
enum log_console_gate log_console_begin(void)
{
	if (!atomic_load(&gate.on))
		return LOG_CONSOLE_FREE;
	/* A regular file never stalls a writer, and has no EPOLLOUT to retry on. */
	if (S_ISREG(gate.console.st_mode))
		pthread_mutex_lock(&gate.lock);
	else if (pthread_mutex_trylock(&gate.lock))
		return LOG_CONSOLE_BUSY;
	return LOG_CONSOLE_HELD;
}

void log_console_end(enum log_console_gate g, const void *buf, ssize_t written)
{
	if (written > 0)
		atomic_store(&gate.mid_line, ((const char *)buf)[written - 1] != '\n');
	if (g != LOG_CONSOLE_HELD)
		return;
	if (written > 0 && !gate.mid_line)
		release_locked();
	pthread_mutex_unlock(&gate.lock);
}

void log_release(void)
{
	pthread_mutex_lock(&gate.lock);
	release_locked();
	pthread_mutex_unlock(&gate.lock);
}

/* A line waits for the console's newline; a full buffer or LOG_HOLD_MS lets it out. */
static void emit(const char *buf, size_t len)
{
	uint64_t one = 1;

	if (!atomic_load(&gate.on)) {
		write_line(buf, len);
		return;
	}
	pthread_mutex_lock(&gate.lock);
	if (!gate.on || !gate.mid_line) {
		write_line(buf, len);
	} else if (gate.held_len + len > sizeof(gate.held)) {
		release_locked();
		write_line(buf, len);
	} else {
		memcpy(gate.held + gate.held_len, buf, len);
		if (!gate.held_len && gate.notify_fd >= 0 &&
		    write(gate.notify_fd, &one, sizeof(one)) < 0) {
			/* Already signalled. */
		}
		gate.held_len += len;
	}
	pthread_mutex_unlock(&gate.lock);
}

void log_signal_safe(const char *thread, const char *msg)
{
	char buf[512];
	size_t n = 0;

	if (logger.level == LOG_OFF)
		return;
	/* No waiting for the console here: a newline first, if its line is half out. */
	if (atomic_load(&gate.on) && atomic_load(&gate.mid_line))
		buf[n++] = '\n';
	format_time(buf, sizeof(buf) - 1, &n);
	util_append_str(buf, sizeof(buf) - 1, &n, " [");
	util_append_str(buf, sizeof(buf) - 1, &n, logger.id);
	util_append_str(buf, sizeof(buf) - 1, &n, ":");
	util_append_str(buf, sizeof(buf) - 1, &n, thread);
	util_append_str(buf, sizeof(buf) - 1, &n, logger.show_level ? ":ERROR] " : "] ");
	util_append_str(buf, sizeof(buf) - 1, &n, msg);
	buf[n++] = '\n';
	write_line(buf, n);
}

static __thread char last_error[512];

const char *log_last_error(void)
{
	return last_error;
}

void log_clear_last_error(void)
{
	last_error[0] = '\0';
}

void log_msg(enum log_level level, const char *file, int line, const char *fmt, ...)
{
	static __thread char thread[16];
	char buf[1024];
	size_t n = 0, cap = sizeof(buf) - 1;
	va_list ap;

	if (level == LOG_ERROR) {
		va_start(ap, fmt);
		vsnprintf(last_error, sizeof(last_error), fmt, ap);
		va_end(ap);
	}
	if (level == LOG_OFF || level > logger.level)
		return;
	if (logger.module[0] && strncmp(origin(file), logger.module, strlen(logger.module)))
		return;
	if (!thread[0])
		log_thread_name(thread);
	format_time(buf, cap, &n);
	n += snprintf(buf + n, cap - n, " [%s:%s", logger.id, thread);
	if (logger.show_level && n < cap)
		n += snprintf(buf + n, cap - n, ":%s", level_tags[level]);
	if (logger.show_origin && n < cap)
		n += snprintf(buf + n, cap - n, ":%s:%d", origin(file), line);
	if (n < cap)
		n += snprintf(buf + n, cap - n, "] ");
	if (n < cap) {
		va_start(ap, fmt);
		n += vsnprintf(buf + n, cap - n, fmt, ap);
		va_end(ap);
	}
	n = MIN(n, cap);
	buf[n++] = '\n';
	emit(buf, n);
}
