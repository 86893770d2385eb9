// SPDX-License-Identifier: Apache-2.0
/*
 * Writing guest RAM to a memory file (layout in <petrel/memory.h>). Only
 * pages with content are written, in runs as long as they are contiguous,
 * so a guest that touched 40 MiB of 2 GiB leaves a 40 MiB file on disk.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <petrel/memory.h>
#include <petrel/util.h>

#include "memory_priv.h"

/* mincore() is asked about this much at a time: a 16 KiB vector. */
#define SCAN_CHUNK	MiB(64)
#define SCAN_PAGES	(SCAN_CHUNK / MEM_PAGE_SIZE)
/* pwrite() moves at most this much per call (Linux's limit is just under 2 GiB). */
#define WRITE_MAX	MiB(1024)

struct saver {
	const struct guest_mem *mem;
	int fd;
	const char *path;
	char *err;
	size_t errlen;
	bool every_page;	/* residency says nothing: look at every page */
};

static int write_run(const struct saver *s, const uint8_t *src, uint64_t off, uint64_t len)
{
	while (len) {
		ssize_t n = pwrite(s->fd, src, MIN(len, WRITE_MAX), off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int ret = n < 0 ? -errno : -EIO;

			snprintf(s->err, s->errlen, "%s: writing guest memory at offset %llu: %s",
				 s->path, (unsigned long long)off, strerror(-ret));
			return ret;
		}
		src += n;
		off += n;
		len -= n;
	}
	return 0;
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	uint64_t acc = 0;

	for (size_t i = 0; i < MEM_PAGE_SIZE / sizeof(*w); i++)
		acc |= w[i];
	return !acc;
}

/* Mark in vec the pages of [off, off+len) of the file restored from that hold data. */
static void mark_file_data(int src, uint64_t off, uint64_t len, unsigned char *vec)
{
	uint64_t end = off + len, pos = off;

	while (pos < end) {
		off_t data = lseek(src, pos, SEEK_DATA), hole;

		if (data < 0 || (uint64_t)data >= end)
			return;
		hole = lseek(src, data, SEEK_HOLE);
		if (hole < 0)
			hole = end;
		for (uint64_t p = ALIGN_DOWN((uint64_t)data, MEM_PAGE_SIZE);
		     p < MIN((uint64_t)hole, end); p += MEM_PAGE_SIZE)
			vec[(p - off) / MEM_PAGE_SIZE] = 1;
		pos = hole;
	}
}

/*
 * Which pages of [host, host+len) (at file offset off) may hold content:
 * those resident (anonymous memory is only ever resident once written or
 * read), plus those the memory file this RAM was restored from still holds.
 */
static int scan(const struct saver *s, uint8_t *host, uint64_t off, uint64_t len,
		unsigned char *vec)
{
	if (s->every_page) {
		memset(vec, 1, len / MEM_PAGE_SIZE);
		return 0;
	}
	if (mincore(host, len, vec) < 0) {
		int ret = -errno;

		snprintf(s->err, s->errlen, "%s: mincore on guest memory: %s", s->path,
			 strerror(errno));
		return ret;
	}
	if (s->mem->backing == GUEST_MEM_FILE)
		mark_file_data(s->mem->memfd, off, len, vec);
	return 0;
}

/* Write the pages of one chunk that scan() found and that are not all zero. */
static int save_chunk(const struct saver *s, uint8_t *host, uint64_t off, uint64_t len)
{
	unsigned char vec[SCAN_PAGES];
	uint64_t pages = len / MEM_PAGE_SIZE, run = 0;
	int ret = scan(s, host, off, len, vec);

	for (uint64_t p = 0; !ret && p <= pages; p++) {
		bool keep = p < pages && (vec[p] & 1) && !page_is_zero(host + p * MEM_PAGE_SIZE);

		if (keep)
			continue;
		if (p > run)
			ret = write_run(s, host + run * MEM_PAGE_SIZE, off + run * MEM_PAGE_SIZE,
					(p - run) * MEM_PAGE_SIZE);
		run = p + 1;
	}
	return ret;
}

/*
 * Page residency tells what the guest touched, except where pages may be
 * elsewhere: swapped out (anonymous 4 KiB pages, when the host has swap) or
 * still with a userfaultfd handler. Then every page is read.
 */
static bool need_every_page(const struct guest_mem *mem)
{
	struct sysinfo si;

	if (mem->backing == GUEST_MEM_UFFD)
		return true;
	if (mem->huge_pages == HUGE_PAGES_2M)
		return false;
	return sysinfo(&si) < 0 || si.totalswap;
}

static int same_file(const struct saver *s)
{
	struct stat a, b;

	if (s->mem->backing != GUEST_MEM_FILE || fstat(s->fd, &a) || fstat(s->mem->memfd, &b))
		return 0;
	if (a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		snprintf(s->err, s->errlen, "%s: is the memory file this VM was restored from "
			 "and still maps; write the snapshot to another file", s->path);
		return -EINVAL;
	}
	return 0;
}

static int size_file(const struct saver *s, bool empty_first)
{
	struct stat st;

	if (fstat(s->fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		snprintf(s->err, s->errlen, "%s: not a regular file", s->path);
		return -EINVAL;
	}
	if (empty_first && st.st_size && ftruncate(s->fd, 0) < 0)
		goto fail;
	if ((empty_first || (uint64_t)st.st_size != s->mem->ram_size) &&
	    ftruncate(s->fd, s->mem->ram_size) < 0)
		goto fail;
	return 0;
fail:
	snprintf(s->err, s->errlen, "%s: %s", s->path, strerror(errno));
	return -errno;
}

static int save_full(const struct saver *s)
{
	uint64_t off = 0;
	int ret = 0;

	for (unsigned int i = 0; !ret && i < s->mem->nr_regions; i++) {
		const struct guest_region *r = &s->mem->regions[i];

		for (uint64_t pos = 0; !ret && pos < r->size; pos += SCAN_CHUNK)
			ret = save_chunk(s, r->host + pos, off + pos, MIN(SCAN_CHUNK, r->size - pos));
		off += r->size;
	}
	return ret;
}

/* Each run of set bits, within one region (whose host memory is contiguous). */
static int save_region_diff(const struct saver *s, unsigned int i, const uint64_t *dirty)
{
	const struct guest_region *r = &s->mem->regions[i];
	uint64_t first = mem_region_page(s->mem, i), pages = r->size / MEM_PAGE_SIZE;
	uint64_t p = 0;
	int ret;

	while (p < pages) {
		uint64_t bit = first + p, start;

		if (!(dirty[bit / 64] >> (bit % 64) & 1)) {
			/* Whole clear words are skipped at once. */
			p = bit % 64 || dirty[bit / 64] ? p + 1 : p + 64;
			continue;
		}
		start = p;
		while (p < pages && (dirty[(first + p) / 64] >> ((first + p) % 64) & 1))
			p++;
		ret = write_run(s, r->host + start * MEM_PAGE_SIZE,
				(first + start) * MEM_PAGE_SIZE, (p - start) * MEM_PAGE_SIZE);
		if (ret)
			return ret;
	}
	return 0;
}

int guest_mem_save(const struct guest_mem *mem, int fd, const uint64_t *dirty,
		   const char *path, char *err, size_t errlen)
{
	struct saver s = {
		.mem = mem, .fd = fd, .path = path, .err = err, .errlen = errlen,
		.every_page = need_every_page(mem),
	};
	int ret = dirty ? 0 : same_file(&s);

	ret = ret ?: size_file(&s, !dirty);
	if (ret || !dirty)
		return ret ?: save_full(&s);
	for (unsigned int i = 0; !ret && i < mem->nr_regions; i++)
		ret = save_region_diff(&s, i, dirty);
	return ret;
}
