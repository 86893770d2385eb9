/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_UTIL_H
#define PETREL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <assert.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)

#define UTIL_ID_MAX	64
/* A VM id (--id, the jailer's too): 1..UTIL_ID_MAX letters, digits or '-'. */
bool util_valid_id(const char *id);

/* The kinds of file util_open_file() and util_read_file() accept: a mask. */
#define UTIL_FILE_REG	(1u << 0)
#define UTIL_FILE_FIFO	(1u << 1)
#define UTIL_FILE_BLK	(1u << 2)
#define UTIL_FILE_CHR	(1u << 3)

/*
 * open() a file a user named, without ever blocking in it (a FIFO with no
 * writer, a terminal waiting for carrier): O_NONBLOCK until fstat() shows
 * the file is of a kind in types, then cleared unless flags hold it
 * (O_CLOEXEC always, so the open is flags | O_NONBLOCK | O_CLOEXEC, and the
 * clearing an F_SETFL of F_GETFL's value less O_NONBLOCK, as the vmm
 * thread's filter allows; mode 0600 with O_CREAT). The fd, or
 * -errno with err telling why, starting with the path: -EINVAL for another
 * kind ("/x/y is a FIFO, not a regular file"), -ENXIO for a FIFO opened to
 * write that has no reader ("/x/y: a FIFO with no reader ...").
 */
int util_open_file(const char *path, int flags, unsigned int types, char *err, size_t errlen);
/* The message util_open_file() gives for its -errno ret, for callers that only kept ret. */
void util_open_error(const char *path, int ret, unsigned int types, char *err, size_t errlen);
/*
 * Read a whole file of a kind in types (at most max_size bytes; -EFBIG
 * beyond) into a malloc'd buffer. A FIFO is read to its end of file, and
 * waited for until its writer comes. On failure err tells why, as above.
 */
int util_read_file(const char *path, size_t max_size, unsigned int types, uint8_t **data,
		   size_t *size, char *err, size_t errlen);
/* Monotonic clock in microseconds. */
uint64_t util_now_us(void);
/*
 * Where a path's time goes: each util_lap() adds ", NAME N us" (the time
 * since the start or the lap before) to text; l may be NULL.
 */
struct util_laps {
	uint64_t start, last;
	size_t len;
	char text[512];
};
void util_laps_start(struct util_laps *l, uint64_t start_us);
void util_lap(struct util_laps *l, const char *name);
/* write()/read() the whole buffer, retrying on EINTR and short transfers. */
int util_write_all(int fd, const void *buf, size_t len);

/*
 * The one terminal petrel changes (the console's) goes back as it was on
 * every way out: util_tty_save() keeps fd's settings before the change
 * (-EBUSY for a second terminal), util_tty_restore() puts them back (no-op
 * if none were kept). util_tty_restore() is async-signal-safe, for the
 * SIGSYS handler too, and makes exactly one call: ioctl(fd, TCSETS).
 */
int util_tty_save(int fd);
void util_tty_restore(void);

/*
 * Async-signal-safe text for handlers: append s, or v in decimal (at least
 * width digits, zero-padded), at *pos in buf of len bytes, always leaving
 * room for a final NUL.
 */
void util_append_str(char *buf, size_t len, size_t *pos, const char *s);
void util_append_u64(char *buf, size_t len, size_t *pos, uint64_t v, unsigned int width);

/*
 * A command line's flags as one table: getopt_long()'s options and the help
 * both come from it, so no flag is accepted without its line in --help.
 */
struct util_flag {
	const char *name;		/* without the leading "--" */
	const char *arg;		/* the value's name in the help; NULL: no value */
	const char *help;		/* one line */
};
struct option;
/* opts gets n + 1 entries, the last all zero; flag i is returned as base + i. */
void util_flags_options(const struct util_flag *flags, size_t n, int base, struct option *opts);
/* The help, one line per flag: "  --name ARG   what it does". */
void util_flags_usage(FILE *out, const struct util_flag *flags, size_t n);

#endif
