// SPDX-License-Identifier: Apache-2.0
/*
 * Guest RAM restored from a memory file: each region a MAP_PRIVATE mapping of
 * its part of the file. Nothing is read or copied here; a page loads when the
 * guest (or a device) first touches it, and a write makes it private, so
 * clones of one snapshot share every page they have not written through the
 * page cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <petrel/memory.h>
#include <petrel/util.h>

#include "memory_priv.h"

static int check_file(const struct guest_mem *mem, int fd, const char *path, char *err,
		      size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size < mem->ram_size) {
		snprintf(err, errlen, "%s: %llu bytes, shorter than the guest's %llu MiB of memory",
			 path, (unsigned long long)st.st_size,
			 (unsigned long long)(mem->ram_size >> 20));
		return -EINVAL;
	}
	return 0;
}

static int map_file(struct guest_mem *mem, int fd, const char *path, char *err, size_t errlen)
{
	uint64_t off = 0;

	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		struct guest_region *r = &mem->regions[i];
		void *p = mmap(NULL, r->size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_NORESERVE, fd, off);

		if (p == MAP_FAILED) {
			snprintf(err, errlen, "%s: cannot map %llu MiB at offset %llu: %s", path,
				 (unsigned long long)(r->size >> 20), (unsigned long long)off,
				 strerror(errno));
			return -errno;
		}
		/* Guest RAM never belongs in a core dump of the monitor. */
		madvise(p, r->size, MADV_DONTDUMP);
		r->host = p;
		off += r->size;
	}
	return 0;
}

int guest_mem_create_from_file(struct guest_mem *mem, uint64_t mem_mib, int fd,
			       const char *path, char *err, size_t errlen)
{
	int ret = mem_layout(mem, mem_mib, HUGE_PAGES_NONE);

	if (ret) {
		snprintf(err, errlen, "machine-config.mem_size_mib: %llu is not a valid size",
			 (unsigned long long)mem_mib);
		return ret;
	}
	ret = check_file(mem, fd, path, err, errlen);
	ret = ret ?: map_file(mem, fd, path, err, errlen);
	/* Kept to tell, at the next Full snapshot, which pages are still only in the file. */
	if (!ret) {
		mem->memfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (mem->memfd < 0) {
			ret = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		}
	}
	mem->backing = GUEST_MEM_FILE;
	if (ret)
		guest_mem_destroy(mem);
	return ret;
}
