/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_LOG_H
#define PETREL_LOG_H

#include <stdbool.h>
#include <sys/types.h>
#include <petrel/util.h>

enum log_level {
	LOG_OFF,
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
	LOG_TRACE,
};

/*
 * Thread names as Firecracker's: tools find threads by them (Kata pins the
 * vCPU threads it finds by "fc_vcpu N"). The vmm thread is the main thread:
 * it keeps the process's name, and its log lines say "main".
 */
#define LOG_THREAD_API		"fc_api"
#define LOG_THREAD_VCPU		"fc_vcpu %u"
#define LOG_THREAD_MAIN		"main"
/* The calling thread's name for log lines (16 bytes with the NUL). */
void log_thread_name(char name[16]);

#define LOG_DEFAULT_ID		"anonymous-instance"

/* Line format: "<time> [<id>:<thread>:<LEVEL>] message" (level and origin optional). */
void log_set_id(const char *id);
void log_set_level(enum log_level level);
void log_set_show(bool show_level, bool show_origin);
/*
 * Only lines whose origin (the source file beneath src/, "virtio/blk.c")
 * starts with module, as Firecracker's logger "module"; NULL or "": all.
 */
#define LOG_MODULE_MAX	127
void log_set_module(const char *module);
/*
 * Log to a file, a FIFO or a terminal (opened read-write, non-blocking,
 * appended, as Firecracker: a FIFO may have no reader yet); NULL means
 * stderr. -errno, unchanged, on failure; util_open_error(path, ret, LOG_PATH_KINDS, ...) says why. A line
 * that cannot be written whole is lost and counted in logger.missed_log_count.
 */
#define LOG_PATH_KINDS	(UTIL_FILE_REG | UTIL_FILE_FIFO | UTIL_FILE_CHR)
int log_set_path(const char *path);
/* Name matching Firecracker's ("Off", "Error", "Warning", "Info", "Debug", "Trace"). */
int log_level_parse(const char *name, enum log_level *level);
const char *log_level_name(enum log_level level);
void log_close(void);
/*
 * The calling thread's last Error message, kept even when not printed ("" if
 * none): the API answers a failed InstanceStart with it.
 */
const char *log_last_error(void);
void log_clear_last_error(void);

/*
 * Async-signal-safe: one Error line (the time in UTC, the id, thread and
 * msg) written with a single write(), for handlers about to end petrel.
 */
void log_signal_safe(const char *thread, const char *msg);

/*
 * The guest's console and the log on one file (a terminal, or "> f 2>&1"):
 * a log line waits while a console line is half written and goes out at
 * its end, so neither cuts the other. A guest that never ends its line
 * holds the log LOG_HOLD_MS at most: whoever reads notify_fd (an eventfd
 * written when a line starts waiting) calls log_release() that much later.
 * log_console_set(-1, -1) ends it, the waiting lines written out.
 */
#define LOG_HOLD_MS	500
void log_console_set(int console_fd, int notify_fd);
/*
 * Around every write to the console: no log line goes out in between.
 * LOG_CONSOLE_BUSY: a log line is being written; do not write, take it as EAGAIN.
 */
enum log_console_gate { LOG_CONSOLE_FREE, LOG_CONSOLE_HELD, LOG_CONSOLE_BUSY };
enum log_console_gate log_console_begin(void);
void log_console_end(enum log_console_gate g, const void *buf, ssize_t written);
/* The waiting lines now, after a newline if the console is mid-line. */
void log_release(void);

void log_msg(enum log_level level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define pr_err(...) log_msg(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)
#define pr_trace(...) log_msg(LOG_TRACE, __FILE__, __LINE__, __VA_ARGS__)

#endif
