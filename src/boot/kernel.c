// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/boot.h>
#include <petrel/log.h>
#include <petrel/util.h>
#include "loader.h"

/* A vmlinux with symbols is large, but nothing a guest boots is larger. */
#define KERNEL_MAX_FILE		MiB(512)

uint64_t boot_low_end(uint64_t ram_size)
{
	return MIN(ram_size, MEM_HOLE_START);
}

int boot_check_range(uint64_t addr, uint64_t len, uint64_t ram_size, const char *name,
		     const char *what)
{
	uint64_t end;

	if (__builtin_add_overflow(addr, len, &end)) {
		pr_err("kernel %s: %s at 0x%" PRIx64 " size 0x%" PRIx64 " overflows",
		       name, what, addr, len);
		return -ERANGE;
	}
	if (addr < MEM_HIMEM_START) {
		pr_err("kernel %s: %s at 0x%" PRIx64 " is below 1 MiB", name, what, addr);
		return -ERANGE;
	}
	if (addr < MEM_HOLE_END && end > MEM_HOLE_START) {
		pr_err("kernel %s: %s [0x%" PRIx64 ", 0x%" PRIx64 ") overlaps the MMIO hole",
		       name, what, addr, end);
		return -ERANGE;
	}
	if (end > boot_low_end(ram_size)) {
		pr_err("kernel %s: %s [0x%" PRIx64 ", 0x%" PRIx64 ") is beyond guest RAM (%" PRIu64 " MiB)",
		       name, what, addr, end, ram_size >> 20);
		return -ERANGE;
	}
	return 0;
}

/* Only a regular file: a FIFO or a device would hang the vmm thread, or feed it forever. */
int boot_read_file(const char *path, const char *field, size_t max_size, uint8_t **data,
		   size_t *size)
{
	char err[512];
	int ret = util_read_file(path, max_size, UTIL_FILE_REG, data, size, err, sizeof(err));

	if (ret < 0)
		pr_err("%s: %s", field, err);
	return ret;
}

int boot_parse_kernel(const uint8_t *data, size_t size, uint64_t ram_size, const char *name,
		      struct boot_info *info)
{
	memset(info, 0, sizeof(*info));
	if (elf_is(data, size))
		return elf_parse(data, size, ram_size, name, info);
	if (bzimage_is(data, size))
		return bzimage_parse(data, size, ram_size, name, info);
	pr_err("kernel %s: neither an ELF vmlinux nor a bzImage", name);
	return -ENOEXEC;
}

int boot_load_kernel(struct guest_mem *mem, const char *path, struct boot_info *info)
{
	uint8_t *data;
	size_t size;
	int ret;

	ret = boot_read_file(path, "boot-source.kernel_image_path", KERNEL_MAX_FILE, &data, &size);
	if (ret < 0)
		return ret;
	ret = boot_parse_kernel(data, size, mem->ram_size, path, info);
	if (ret < 0)
		goto out_free;
	if (elf_is(data, size))
		ret = elf_load(mem, data, size, path);
	else
		ret = bzimage_load(mem, data, size, path, info);
	if (!ret)
		pr_debug("kernel %s: loaded [0x%" PRIx64 ", 0x%" PRIx64 "), entry 0x%" PRIx64,
			 path, info->kernel_start, info->kernel_end, info->entry_addr);
out_free:
	free(data);
	return ret;
}
