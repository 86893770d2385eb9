// SPDX-License-Identifier: Apache-2.0
#include <asm/bootparam.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include <petrel/boot.h>
#include <petrel/log.h>
#include <petrel/util.h>
#include "loader.h"

#define INITRD_MAX_FILE		GiB(1)
#define INITRD_ADDR_MAX_DEFAULT	0x37FFFFFFULL	/* boot protocol, before 2.03 */
#define INITRD_ALIGN		0x1000ULL

/* The highest byte the kernel accepts an initrd at, from its setup header. */
static uint64_t initrd_addr_max(const struct boot_info *info)
{
	size_t off = offsetof(struct setup_header, initrd_addr_max);
	uint32_t max;

	if (info->setup_header_len < off + sizeof(max))
		return INITRD_ADDR_MAX_DEFAULT;
	memcpy(&max, info->setup_header + off, sizeof(max));
	return max;
}

/* One past the highest byte the initrd may occupy. */
static uint64_t initrd_top(const struct guest_mem *mem, const struct boot_info *info)
{
	return MIN(initrd_addr_max(info) + 1, guest_mem_low_end(mem));
}

/* Page-aligned address at the top of usable low RAM, or 0 when it doesn't fit. */
static uint64_t place(const struct guest_mem *mem, const struct boot_info *info,
		      uint64_t size)
{
	uint64_t top = initrd_top(mem, info);
	uint64_t bottom = ALIGN_UP(MAX(info->kernel_end, MEM_HIMEM_START), INITRD_ALIGN);
	uint64_t addr;

	if (top < size)
		return 0;
	addr = ALIGN_DOWN(top - size, INITRD_ALIGN);
	return addr >= bottom ? addr : 0;
}

int boot_load_initrd(struct guest_mem *mem, const char *path, struct boot_info *info)
{
	struct boot_image img;
	uint64_t addr;
	uint8_t *dst;
	int ret;

	ret = boot_image_open(&img, path, "initrd", "boot-source.initrd_path",
			      MIN(INITRD_MAX_FILE, mem->ram_size));
	if (ret < 0)
		return ret;
	ret = -EINVAL;
	if (!img.size) {
		pr_err("initrd %s: file is empty", path);
		goto out_close;
	}
	ret = -ENOSPC;
	addr = place(mem, info, img.size);
	if (!addr) {
		pr_err("initrd %s: %" PRIu64 " bytes do not fit between the kernel's end 0x%" PRIx64 " and 0x%" PRIx64,
		       path, img.size, info->kernel_end, initrd_top(mem, info));
		goto out_close;
	}
	ret = -EFAULT;
	dst = guest_mem_ptr(mem, addr, img.size);
	if (!dst) {
		pr_err("initrd %s: 0x%" PRIx64 " is not in guest RAM", path, addr);
		goto out_close;
	}
	ret = boot_image_read(&img, 0, dst, img.size);
	if (ret < 0)
		goto out_close;
	info->initrd_addr = addr;
	info->initrd_size = img.size;
out_close:
	boot_image_close(&img);
	return ret;
}
