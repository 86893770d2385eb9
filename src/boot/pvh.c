// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <string.h>

#include <petrel/boot.h>
#include <petrel/util.h>
#include "loader.h"

/* PVH start of day ABI (Xen public arch-x86/hvm/start_info.h, version 1). */
#define HVM_START_MAGIC		0x336ec578
#define HVM_START_VERSION	1

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;		/* version 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;			/* e820 types */
	uint32_t reserved;
};

static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info");
static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry");
static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry");

/* The module list (the initrd) follows the largest memmap. */
#define PVH_MODLIST_ADDR \
	(MEM_PVH_MEMMAP_ADDR + MEM_PVH_MEMMAP_MAX * sizeof(struct hvm_memmap_table_entry))

static_assert(MEM_PVH_INFO_ADDR + sizeof(struct hvm_start_info) <= MEM_PVH_MEMMAP_ADDR,
	      "hvm_start_info overlaps the memmap");
static_assert(PVH_MODLIST_ADDR + sizeof(struct hvm_modlist_entry) <= MEM_ZERO_PAGE_ADDR,
	      "PVH module list overlaps the zero page");

static int write_memmap(struct guest_mem *mem, const struct e820_range *e820, int nr)
{
	struct hvm_memmap_table_entry map[MEM_PVH_MEMMAP_MAX] = { 0 };

	if (nr < 0 || nr > MEM_PVH_MEMMAP_MAX)
		return -E2BIG;
	for (int i = 0; i < nr; i++) {
		map[i].addr = e820[i].addr;
		map[i].size = e820[i].size;
		map[i].type = e820[i].type;
	}
	return guest_mem_write(mem, MEM_PVH_MEMMAP_ADDR, map, nr * sizeof(map[0]));
}

static int write_modlist(struct guest_mem *mem, const struct boot_info *info)
{
	struct hvm_modlist_entry mod = {
		.paddr = info->initrd_addr,
		.size = info->initrd_size,
	};

	return guest_mem_write(mem, PVH_MODLIST_ADDR, &mod, sizeof(mod));
}

int pvh_write_start_info(struct guest_mem *mem, const struct boot_info *info,
			 const struct e820_range *e820, int nr, uint64_t rsdp_addr)
{
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = HVM_START_VERSION,
		.cmdline_paddr = MEM_CMDLINE_ADDR,
		.rsdp_paddr = rsdp_addr,
		.memmap_paddr = MEM_PVH_MEMMAP_ADDR,
		.memmap_entries = nr,
	};
	int ret;

	ret = write_memmap(mem, e820, nr);
	if (!ret && info->initrd_size) {
		si.nr_modules = 1;
		si.modlist_paddr = PVH_MODLIST_ADDR;
		ret = write_modlist(mem, info);
	}
	if (ret < 0)
		return ret;
	return guest_mem_write(mem, MEM_PVH_INFO_ADDR, &si, sizeof(si));
}
