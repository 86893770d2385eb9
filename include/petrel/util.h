/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_UTIL_H
#define PETREL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

/* Read a whole file (at most max_size bytes) into a malloc'd buffer. */
int util_read_file(const char *path, size_t max_size, uint8_t **data, size_t *size);
/* Monotonic clock in microseconds. */
uint64_t util_now_us(void);
/* write()/read() the whole buffer, retrying on EINTR and short transfers. */
int util_write_all(int fd, const void *buf, size_t len);

/*
 * Async-signal-safe text for handlers: append s, or v in decimal (at least
 * width digits, zero-padded), at *pos in buf of len bytes, always leaving
 * room for a final NUL.
 */
void util_append_str(char *buf, size_t len, size_t *pos, const char *s);
void util_append_u64(char *buf, size_t len, size_t *pos, uint64_t v, unsigned int width);

#endif
