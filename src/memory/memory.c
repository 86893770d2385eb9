// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <petrel/log.h>
#include <petrel/memory.h>
#include <petrel/util.h>

#include "memory_priv.h"

#define HUGEPAGE_2M_SYSFS "/sys/kernel/mm/hugepages/hugepages-2048kB"

static long read_sysfs_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Fail before boot, with the fix, when too few 2 MiB pages are reserved. */
static int check_hugepages(uint64_t bytes)
{
	long need = bytes / MiB(2);
	long free_pages = read_sysfs_long(HUGEPAGE_2M_SYSFS "/free_hugepages");

	if (free_pages < 0) {
		pr_err("huge_pages \"2M\": this host has no 2 MiB hugepages (%s missing)",
		       HUGEPAGE_2M_SYSFS);
		return -ENOMEM;
	}
	if (free_pages < need) {
		pr_err("huge_pages \"2M\": %ld free 2 MiB hugepages, %ld needed; reserve more with "
		       "'echo %ld > %s/nr_hugepages'", free_pages, need,
		       read_sysfs_long(HUGEPAGE_2M_SYSFS "/nr_hugepages") + need - free_pages,
		       HUGEPAGE_2M_SYSFS);
		return -ENOMEM;
	}
	return 0;
}

static int map_region(struct guest_region *r, enum huge_pages hp)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	void *p;

	/* hugetlb pages are reserved at mmap time, so a short pool fails here, not at a fault. */
	if (hp == HUGE_PAGES_2M)
		flags |= MAP_HUGETLB | (21 << MAP_HUGE_SHIFT);
	else
		flags |= MAP_NORESERVE;
	p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		pr_err("cannot map %llu MiB of guest memory: %s",
		       (unsigned long long)(r->size >> 20), strerror(errno));
		return err;
	}
	if (hp == HUGE_PAGES_TRANSPARENT && madvise(p, r->size, MADV_HUGEPAGE) < 0)
		pr_warn("huge_pages \"Transparent\": madvise: %s", strerror(errno));
	/* Guest RAM never belongs in a core dump of the monitor. */
	madvise(p, r->size, MADV_DONTDUMP);
	r->host = p;
	return 0;
}

int mem_layout(struct guest_mem *mem, uint64_t mem_mib, enum huge_pages hp)
{
	uint64_t size = MiB(mem_mib);
	uint64_t low = MIN(size, MEM_HOLE_START);

	memset(mem, 0, sizeof(*mem));
	mem->memfd = -1;
	mem->huge_pages = hp;
	if (!mem_mib) {
		pr_err("machine-config.mem_size_mib: must be at least 1");
		return -EINVAL;
	}
	if (hp == HUGE_PAGES_2M && mem_mib % 2) {
		pr_err("huge_pages \"2M\": mem_size_mib (%llu) must be a multiple of 2",
		       (unsigned long long)mem_mib);
		return -EINVAL;
	}
	mem->regions[0] = (struct guest_region){ .gpa = 0, .size = low };
	mem->nr_regions = 1;
	if (size > low) {
		mem->regions[1] = (struct guest_region){ .gpa = MEM_HOLE_END, .size = size - low };
		mem->nr_regions = 2;
	}
	mem->ram_size = size;
	return 0;
}

int mem_map_anon(struct guest_mem *mem)
{
	int ret;

	if (mem->huge_pages == HUGE_PAGES_2M) {
		ret = check_hugepages(mem->ram_size);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		ret = map_region(&mem->regions[i], mem->huge_pages);
		if (ret)
			return ret;
	}
	return 0;
}

int guest_mem_create(struct guest_mem *mem, uint64_t mem_mib, enum huge_pages hp)
{
	int ret = mem_layout(mem, mem_mib, hp);

	ret = ret ?: mem_map_anon(mem);
	if (ret)
		guest_mem_destroy(mem);
	else
		mem->zero_filled = true;
	return ret;
}

void guest_mem_destroy(struct guest_mem *mem)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		if (mem->regions[i].host)
			munmap(mem->regions[i].host, mem->regions[i].size);
		mem->regions[i].host = NULL;
	}
	if (mem->memfd >= 0)
		close(mem->memfd);
	mem->memfd = -1;
	free(mem->dirty);
	mem->dirty = NULL;
	mem->nr_regions = 0;
}

/* Region and offset of [gpa, gpa+len) when it lies wholly in one RAM region. */
static uint8_t *lookup(const struct guest_mem *mem, uint64_t gpa, uint64_t len,
		       unsigned int *idx)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa)) {
			*idx = i;
			return r->host + (gpa - r->gpa);
		}
	}
	return NULL;
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	unsigned int i;
	uint8_t *p = lookup(mem, gpa, len, &i);

	if (p)
		mem_mark_dirty(mem, i, gpa - mem->regions[i].gpa, len);
	return p;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = guest_mem_ptr(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int guest_mem_write_own_page(const struct guest_mem *mem, uint64_t gpa, const void *src,
			     uint64_t len)
{
	uint64_t in_page = gpa % MEM_PAGE_SIZE;
	uint8_t *p = len > MEM_PAGE_SIZE - in_page ? NULL : guest_mem_ptr(mem, gpa, len);

	if (!p)
		return -EFAULT;
	/* Huge pages are served whole, and this page shares one with others. */
	if (mem->backing == GUEST_MEM_UFFD && mem->huge_pages == HUGE_PAGES_NONE &&
	    !mem_uffd_fill(mem, p - in_page, in_page, src, len))
		return 0;
	memcpy(p, src, len);
	return 0;
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len)
{
	unsigned int i;
	void *p = lookup(mem, gpa, len, &i);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

uint64_t guest_mem_low_end(const struct guest_mem *mem)
{
	return mem->nr_regions ? mem->regions[0].size : 0;
}
