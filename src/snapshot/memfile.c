// SPDX-License-Identifier: Apache-2.0
/*
 * `petrel snapshot rebase`: fold a Diff memory file into its base. A Diff
 * holds data exactly where pages were dirty and holes elsewhere, so its data
 * extents (SEEK_DATA/SEEK_HOLE) are copied over the base at the same offsets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <petrel/memory.h>
#include <petrel/util.h>

#define COPY_BUF	MiB(1)

struct rebase {
	int base, diff;
	const char *base_path, *diff_path;
	char *err;
	size_t errlen;
};

static int fail(const struct rebase *r, const char *path, const char *what, int e)
{
	snprintf(r->err, r->errlen, "%s: %s: %s", path, what, strerror(e));
	return -e;
}

/* Read and write, where the file systems cannot copy between the files themselves. */
static int copy_slow(const struct rebase *r, off_t off, uint64_t len)
{
	static uint8_t buf[COPY_BUF];

	while (len) {
		ssize_t n = pread(r->diff, buf, MIN(len, sizeof(buf)), off), w;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(r, r->diff_path, "reading", n < 0 ? errno : EIO);
		for (ssize_t done = 0; done < n; done += w) {
			w = pwrite(r->base, buf + done, n - done, off + done);
			if (w < 0 && errno == EINTR)
				w = 0;
			else if (w <= 0)
				return fail(r, r->base_path, "writing", w < 0 ? errno : EIO);
		}
		off += n;
		len -= n;
	}
	return 0;
}

static int copy_extent(const struct rebase *r, off_t off, uint64_t len)
{
	while (len) {
		loff_t in = off, out = off;
		ssize_t n = copy_file_range(r->diff, &in, r->base, &out, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
			      errno == EOPNOTSUPP))
			return copy_slow(r, off, len);
		if (n < 0)
			return fail(r, r->base_path, "copying from the diff", errno);
		if (!n)
			return fail(r, r->diff_path, "reading", EIO);
		off += n;
		len -= n;
	}
	return 0;
}

static int check_sizes(const struct rebase *r, off_t *size)
{
	struct stat b, d;

	if (fstat(r->base, &b) < 0)
		return fail(r, r->base_path, "stat", errno);
	if (fstat(r->diff, &d) < 0)
		return fail(r, r->diff_path, "stat", errno);
	if (b.st_dev == d.st_dev && b.st_ino == d.st_ino) {
		snprintf(r->err, r->errlen, "%s: the diff and the base are the same file",
			 r->diff_path);
		return -EINVAL;
	}
	if (b.st_size != d.st_size) {
		snprintf(r->err, r->errlen, "%s is %lld bytes but the base %s is %lld: not memory "
			 "files of the same VM", r->diff_path, (long long)d.st_size, r->base_path,
			 (long long)b.st_size);
		return -EINVAL;
	}
	*size = d.st_size;
	return 0;
}

static int copy_extents(const struct rebase *r, off_t size)
{
	off_t pos = 0;

	while (pos < size) {
		off_t data = lseek(r->diff, pos, SEEK_DATA), hole;
		int ret;

		if (data < 0 && errno == ENXIO)
			return 0;	/* only holes from pos on */
		if (data < 0)
			return fail(r, r->diff_path, "SEEK_DATA", errno);
		hole = lseek(r->diff, data, SEEK_HOLE);
		if (hole < 0)
			return fail(r, r->diff_path, "SEEK_HOLE", errno);
		ret = copy_extent(r, data, hole - data);
		if (ret)
			return ret;
		pos = hole;
	}
	return 0;
}

int snapshot_rebase(const char *base, const char *diff, char *err, size_t errlen)
{
	struct rebase r = { .base_path = base, .diff_path = diff, .err = err, .errlen = errlen };
	off_t size = 0;
	int ret;

	r.diff = util_open_file(diff, O_RDONLY, UTIL_FILE_REG, err, errlen);
	if (r.diff < 0)
		return r.diff;
	r.base = util_open_file(base, O_WRONLY, UTIL_FILE_REG, err, errlen);
	if (r.base < 0) {
		ret = r.base;
		goto out;
	}
	ret = check_sizes(&r, &size);
	ret = ret ?: copy_extents(&r, size);
	if (!ret && fsync(r.base) < 0)
		ret = fail(&r, base, "fsync", errno);
	close(r.base);
out:
	close(r.diff);
	return ret;
}
