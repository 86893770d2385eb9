// SPDX-License-Identifier: Apache-2.0
/*
 * Dirty pages for Diff snapshots. KVM logs what vCPUs write (per memory slot,
 * KVM_MEM_LOG_DIRTY_PAGES); it never sees what petrel's own threads write
 * into guest RAM: virtio buffers and used rings, loaders. Every host pointer
 * into guest RAM comes from guest_mem_ptr(), so that range is marked in a
 * second bitmap here (only with track_dirty_pages: guest_mem_track_dirty()),
 * whether the caller then writes or only reads: a page too many in a Diff
 * costs 4 KiB, a page too few is a corrupt restore.
 * A pointer kept past a snapshot (a request still in flight) is not marked
 * again: requests complete before the VM is snapshotted.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <petrel/log.h>
#include <petrel/memory.h>
#include <petrel/util.h>

#include "memory_priv.h"

size_t guest_mem_dirty_words(const struct guest_mem *mem)
{
	return (mem->ram_size / MEM_PAGE_SIZE + 63) / 64;
}

uint64_t mem_region_page(const struct guest_mem *mem, unsigned int i)
{
	uint64_t page = 0;

	for (unsigned int j = 0; j < i; j++)
		page += mem->regions[j].size / MEM_PAGE_SIZE;
	return page;
}

int guest_mem_track_dirty(struct guest_mem *mem)
{
	mem->dirty = calloc(guest_mem_dirty_words(mem), sizeof(uint64_t));
	if (!mem->dirty) {
		pr_err("cannot allocate the dirty page bitmap of %llu MiB of guest memory",
		       (unsigned long long)(mem->ram_size >> 20));
		return -ENOMEM;
	}
	return 0;
}

/* Bits [first, last] of the bitmap, a word at a time (device and vCPU threads race here). */
static void set_bits(uint64_t *map, uint64_t first, uint64_t last)
{
	for (uint64_t w = first / 64; w <= last / 64; w++) {
		uint64_t mask = ~0ULL;

		if (w == first / 64)
			mask &= ~0ULL << (first % 64);
		if (w == last / 64)
			mask &= ~0ULL >> (63 - last % 64);
		if ((__atomic_load_n(&map[w], __ATOMIC_RELAXED) & mask) != mask)
			__atomic_fetch_or(&map[w], mask, __ATOMIC_RELAXED);
	}
}

void mem_mark_dirty(const struct guest_mem *mem, unsigned int i, uint64_t off, uint64_t len)
{
	uint64_t base;

	if (!mem->dirty || !len)
		return;
	base = mem_region_page(mem, i);
	set_bits(mem->dirty, base + off / MEM_PAGE_SIZE, base + (off + len - 1) / MEM_PAGE_SIZE);
}

int guest_mem_get_dirty(const struct guest_mem *mem, int vm_fd, uint64_t *dirty)
{
	size_t words = guest_mem_dirty_words(mem);

	memset(dirty, 0, words * sizeof(*dirty));
	if (!mem->dirty) {
		pr_err("dirty pages: guest memory is not tracked (track_dirty_pages was off "
		       "when the VM was built)");
		return -ENOENT;
	}
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		/* Regions are whole MiBs, so each starts on a word of the bitmap. */
		struct kvm_dirty_log log = {
			.slot = i,
			.dirty_bitmap = dirty + mem_region_page(mem, i) / 64,
		};

		if (ioctl(vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
			int ret = -errno;

			if (errno == ENOENT)
				pr_err("dirty pages: guest memory is not tracked (track_dirty_pages "
				       "was off when the VM was built)");
			else
				pr_err("KVM_GET_DIRTY_LOG (slot %u): %s", i, strerror(errno));
			return ret;
		}
	}
	for (size_t w = 0; w < words; w++)
		dirty[w] |= __atomic_exchange_n(&mem->dirty[w], 0, __ATOMIC_ACQ_REL);
	return 0;
}
