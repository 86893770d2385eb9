// SPDX-License-Identifier: Apache-2.0
#include <asm/bootparam.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <petrel/boot.h>
#include <petrel/log.h>
#include <petrel/util.h>
#include "loader.h"

#define E820_RAM		1
#define E820_RESERVED		2
#define LOW_RAM_END		0xA0000ULL	/* the VGA window and BIOS area follow */

#define BOOT_FLAG_MAGIC		0xAA55
#define HDRS_MAGIC		0x53726448	/* "HdrS" */
#define ELF_BOOT_VERSION	0x020c
#define LOADER_UNDEFINED	0xff
#define ELF_KERNEL_ALIGN	0x1000000
#define HEAP_END_PTR		0xfe00

static_assert(sizeof(struct boot_params) == 4096, "boot_params is the zero page");
static_assert(sizeof(struct boot_e820_entry) == 20, "boot_e820_entry");
static_assert(MEM_CMDLINE_ADDR + MEM_CMDLINE_MAX <= MEM_EBDA_START, "cmdline in low RAM");

static int add(struct e820_range *out, int max, int *nr, uint64_t addr, uint64_t size,
	       uint32_t type)
{
	if (!size)
		return 0;
	if (*nr >= max)
		return -ENOSPC;
	out[(*nr)++] = (struct e820_range){ .addr = addr, .size = size, .type = type };
	return 0;
}

int boot_e820(const struct guest_mem *mem, struct e820_range *out, int max)
{
	uint64_t low_end = guest_mem_low_end(mem);
	const struct e820_range fixed[] = {
		{ 0, MIN(low_end, MEM_EBDA_START), E820_RAM },
		{ MEM_EBDA_START, LOW_RAM_END - MEM_EBDA_START, E820_RESERVED },
		{ MEM_ACPI_START, MEM_ACPI_END - MEM_ACPI_START, E820_RESERVED },
		{ MEM_HIMEM_START, low_end > MEM_HIMEM_START ? low_end - MEM_HIMEM_START : 0,
		  E820_RAM },
	};
	const struct guest_region *r;
	int nr = 0, ret = 0;

	for (size_t i = 0; i < ARRAY_SIZE(fixed) && !ret; i++)
		ret = add(out, max, &nr, fixed[i].addr, fixed[i].size, fixed[i].type);
	for (unsigned int i = 0; i < mem->nr_regions && !ret; i++) {
		r = &mem->regions[i];
		if (r->gpa >= MEM_HOLE_END)
			ret = add(out, max, &nr, r->gpa, r->size, E820_RAM);
	}
	return ret ? ret : nr;
}

static int write_cmdline(struct guest_mem *mem, const struct boot_info *info,
			 const struct cmdline *cl)
{
	const char *line = cl ? cl->buf : "";
	size_t len = cl ? cl->len : 0;

	if (len >= MEM_CMDLINE_MAX || (info->cmdline_max && len >= info->cmdline_max)) {
		pr_err("kernel command line: %zu bytes, the kernel accepts at most %llu",
		       len, (unsigned long long)(info->cmdline_max ? info->cmdline_max - 1 : 0));
		return -E2BIG;
	}
	if (guest_mem_write(mem, MEM_CMDLINE_ADDR, line, len) < 0 ||
	    guest_mem_write(mem, MEM_CMDLINE_ADDR + len, "", 1) < 0)
		return -EFAULT;
	return 0;
}

/* What a bzImage's own setup header would say, for an ELF vmlinux. */
static void elf_header(struct setup_header *h, const struct boot_info *info)
{
	h->boot_flag = BOOT_FLAG_MAGIC;
	h->header = HDRS_MAGIC;
	h->version = ELF_BOOT_VERSION;
	h->kernel_alignment = ELF_KERNEL_ALIGN;
	h->loadflags = LOADED_HIGH;
	h->cmdline_size = info->cmdline_max ? info->cmdline_max - 1 : 0;
}

static void zero_page(struct boot_params *bp, const struct boot_info *info,
		      const struct e820_range *e820, int nr, uint64_t rsdp_addr)
{
	memset(bp, 0, sizeof(*bp));
	if (info->setup_header_len)
		memcpy((uint8_t *)bp + offsetof(struct boot_params, hdr), info->setup_header,
		       info->setup_header_len);
	else
		elf_header(&bp->hdr, info);
	bp->hdr.type_of_loader = LOADER_UNDEFINED;
	bp->hdr.loadflags |= CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = HEAP_END_PTR;
	bp->hdr.cmd_line_ptr = MEM_CMDLINE_ADDR;
	bp->hdr.ramdisk_image = (uint32_t)info->initrd_addr;
	bp->hdr.ramdisk_size = (uint32_t)info->initrd_size;
	bp->ext_ramdisk_image = info->initrd_addr >> 32;
	bp->ext_ramdisk_size = info->initrd_size >> 32;
	bp->acpi_rsdp_addr = rsdp_addr;
	bp->e820_entries = nr;
	for (int i = 0; i < nr; i++) {
		bp->e820_table[i].addr = e820[i].addr;
		bp->e820_table[i].size = e820[i].size;
		bp->e820_table[i].type = e820[i].type;
	}
}

int boot_write_params(struct guest_mem *mem, const struct boot_info *info,
		      const struct cmdline *cl, uint64_t rsdp_addr)
{
	struct e820_range e820[MEM_PVH_MEMMAP_MAX];
	struct boot_params bp;
	int nr, ret;

	static_assert(MEM_PVH_MEMMAP_MAX <= E820_MAX_ENTRIES_ZEROPAGE, "e820 table size");
	nr = boot_e820(mem, e820, ARRAY_SIZE(e820));
	if (nr < 0)
		return nr;
	ret = write_cmdline(mem, info, cl);
	if (ret < 0)
		return ret;
	if (info->entry == BOOT_ENTRY_PVH)
		return pvh_write_start_info(mem, info, e820, nr, rsdp_addr);
	zero_page(&bp, info, e820, nr, rsdp_addr);
	return guest_mem_write(mem, MEM_ZERO_PAGE_ADDR, &bp, sizeof(bp));
}
