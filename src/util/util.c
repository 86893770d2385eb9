// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <petrel/util.h>

static const struct {
	unsigned int type;
	mode_t mode;
	const char *name;
} kinds[] = {
	{ UTIL_FILE_REG, S_IFREG, "a regular file" },
	{ UTIL_FILE_FIFO, S_IFIFO, "a FIFO" },
	{ UTIL_FILE_BLK, S_IFBLK, "a block device" },
	{ UTIL_FILE_CHR, S_IFCHR, "a character device" },
	{ 0, S_IFDIR, "a directory" },
	{ 0, S_IFSOCK, "a socket" },
};

static unsigned int kinds_type(mode_t mode)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		if ((mode & S_IFMT) == kinds[i].mode)
			return kinds[i].type;
	}
	return 0;
}

static const char *kind_name(mode_t mode)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		if ((mode & S_IFMT) == kinds[i].mode)
			return kinds[i].name;
	}
	return "of an unknown kind";
}

/* "/x/y is a FIFO, not a regular file or a block device" */
static void wrong_kind(const char *path, mode_t mode, unsigned int types, char *err,
		       size_t errlen)
{
	size_t pos = 0;
	const char *sep = ", not ";

	snprintf(err, errlen, "%s is %s", path, kind_name(mode));
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		if (!(types & kinds[i].type))
			continue;
		pos = strlen(err);
		snprintf(err + pos, errlen - pos, "%s%s", sep, kinds[i].name);
		sep = " or ";
	}
}

void util_open_error(const char *path, int ret, unsigned int types, char *err, size_t errlen)
{
	struct stat st;

	/* ENXIO: a FIFO opened to write with no reader, a socket, a device that is not there. */
	if ((ret == -ENXIO || ret == -EINVAL) && !stat(path, &st)) {
		if (S_ISFIFO(st.st_mode) && (types & UTIL_FILE_FIFO)) {
			snprintf(err, errlen, "%s: a FIFO with no reader (open it for reading "
				 "first)", path);
			return;
		}
		if (!(types & kinds_type(st.st_mode))) {
			wrong_kind(path, st.st_mode, types, err, errlen);
			return;
		}
	}
	snprintf(err, errlen, "%s: %s", path, strerror(-ret));
}

int util_open_file(const char *path, int flags, unsigned int types, char *err, size_t errlen)
{
	struct stat st;
	int fd, ret;

	fd = open(path, flags | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		util_open_error(path, ret, types, err, errlen);
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		goto err_close;
	}
	if (!(types & kinds_type(st.st_mode))) {
		ret = -EINVAL;
		wrong_kind(path, st.st_mode, types, err, errlen);
		goto err_close;
	}
	if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		goto err_close;
	}
	return fd;

err_close:
	close(fd);
	return ret;
}

/* A regular file: its size is known, and checked before anything is read. */
static int read_sized(int fd, size_t len, uint8_t *buf)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += n;
	}
	return 0;
}

static int read_regular(int fd, size_t max_size, uint8_t **data, size_t *size)
{
	struct stat st;
	uint8_t *buf;
	int ret;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size > max_size)
		return -EFBIG;
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf)
		return -ENOMEM;
	ret = read_sized(fd, st.st_size, buf);
	if (ret) {
		free(buf);
		return ret;
	}
	*data = buf;
	*size = st.st_size;
	return 0;
}

/* A FIFO says nothing of its size: read to end of file, max_size + 1 bytes is too many. */
static int read_stream(int fd, size_t max_size, uint8_t **data, size_t *size)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t cap = 0, done = 0;
	uint8_t *buf = NULL, *bigger;
	ssize_t n = 1;
	int ret;

	/* Before its writer comes, a FIFO reads as empty: wait for the writer's first word. */
	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	while (n) {
		if (done == cap) {
			ret = -EFBIG;
			if (cap > max_size)
				goto err_free;
			cap = MIN(MAX(2 * cap, (size_t)4096), max_size + 1);
			bigger = realloc(buf, cap);
			ret = -ENOMEM;
			if (!bigger)
				goto err_free;
			buf = bigger;
		}
		n = read(fd, buf + done, cap - done);
		if (n < 0 && errno == EINTR)
			continue;
		ret = -errno;
		if (n < 0)
			goto err_free;
		done += n;
	}
	*data = buf;
	*size = done;
	return 0;

err_free:
	free(buf);
	return ret;
}

int util_read_file(const char *path, size_t max_size, unsigned int types, uint8_t **data,
		   size_t *size, char *err, size_t errlen)
{
	struct stat st;
	int fd, ret;

	fd = util_open_file(path, O_RDONLY, types, err, errlen);
	if (fd < 0)
		return fd;
	ret = fstat(fd, &st) < 0 ? -errno : 0;
	if (!ret && S_ISREG(st.st_mode))
		ret = read_regular(fd, max_size, data, size);
	else if (!ret)
		ret = read_stream(fd, max_size, data, size);
	close(fd);
	if (ret == -EFBIG && max_size >= MiB(1))
		snprintf(err, errlen, "%s is larger than the %zu MiB limit", path, max_size >> 20);
	else if (ret == -EFBIG)
		snprintf(err, errlen, "%s is larger than the %zu byte limit", path, max_size);
	else if (ret)
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	return ret;
}

uint64_t util_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void util_laps_start(struct util_laps *l, uint64_t start_us)
{
	l->start = l->last = start_us;
	l->len = 0;
	l->text[0] = '\0';
}

void util_lap(struct util_laps *l, const char *name)
{
	uint64_t now = util_now_us();
	int n;

	if (!l)
		return;
	n = snprintf(l->text + l->len, sizeof(l->text) - l->len, "%s%s %" PRIu64 " us",
		     l->len ? ", " : "", name, now - l->last);
	if (n > 0)
		l->len = MIN(l->len + n, sizeof(l->text) - 1);
	l->last = now;
}

int util_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

void util_append_str(char *buf, size_t len, size_t *pos, const char *s)
{
	while (*s && *pos + 1 < len)
		buf[(*pos)++] = *s++;
	buf[*pos] = '\0';
}

void util_append_u64(char *buf, size_t len, size_t *pos, uint64_t v, unsigned int width)
{
	char digits[21];
	unsigned int n = 0;

	do {
		digits[n++] = '0' + v % 10;
		v /= 10;
	} while (v || n < width);
	while (n && *pos + 1 < len)
		buf[(*pos)++] = digits[--n];
	buf[*pos] = '\0';
}

bool util_valid_id(const char *id)
{
	size_t len = strlen(id);

	if (!len || len > UTIL_ID_MAX)
		return false;
	for (; *id; id++) {
		if (*id != '-' && !(*id >= '0' && *id <= '9') &&
		    !((*id | 0x20) >= 'a' && (*id | 0x20) <= 'z'))
			return false;
	}
	return true;
}

void util_flags_options(const struct util_flag *flags, size_t n, int base, struct option *opts)
{
	for (size_t i = 0; i < n; i++)
		opts[i] = (struct option){ flags[i].name,
					   flags[i].arg ? required_argument : no_argument, NULL,
					   base + (int)i };
	opts[n] = (struct option){ 0 };
}

#define FLAG_COLUMN	38

void util_flags_usage(FILE *out, const struct util_flag *flags, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int w = fprintf(out, "  --%s%s%s", flags[i].name, flags[i].arg ? " " : "",
				flags[i].arg ? flags[i].arg : "");

		fprintf(out, "%*s%s\n", w < FLAG_COLUMN ? FLAG_COLUMN - w : 1, "", flags[i].help);
	}
}
