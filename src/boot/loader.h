/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the files of src/boot only: each kernel format's parser and loader. */
#ifndef PETREL_BOOT_LOADER_H
#define PETREL_BOOT_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <petrel/boot.h>

/* x86 COMMAND_LINE_SIZE: what a kernel without a setup header accepts. */
#define BOOT_ELF_CMDLINE_MAX	2048

/* End of the RAM a kernel or initrd may use: below the MMIO hole. */
uint64_t boot_low_end(uint64_t ram_size);
/* 0 when [addr, addr+len) lies in [1 MiB, low end); else logs and -ERANGE. */
int boot_check_range(uint64_t addr, uint64_t len, uint64_t ram_size, const char *name,
		     const char *what);
/* A regular file's contents, or a logged message naming the field and the file. */
int boot_read_file(const char *path, const char *field, size_t max_size, uint8_t **data,
		   size_t *size);

bool elf_is(const uint8_t *data, size_t size);
int elf_parse(const uint8_t *data, size_t size, uint64_t ram_size, const char *name,
	      struct boot_info *info);
/* Copy the PT_LOAD segments of an image elf_parse() accepted. */
int elf_load(struct guest_mem *mem, const uint8_t *data, size_t size, const char *name);

bool bzimage_is(const uint8_t *data, size_t size);
int bzimage_parse(const uint8_t *data, size_t size, uint64_t ram_size, const char *name,
		  struct boot_info *info);
/* Copy the protected-mode code of an image bzimage_parse() accepted. */
int bzimage_load(struct guest_mem *mem, const uint8_t *data, size_t size, const char *name,
		 const struct boot_info *info);

struct e820_range;
/* The PVH start of day structures: hvm_start_info, memmap and module list. */
int pvh_write_start_info(struct guest_mem *mem, const struct boot_info *info,
			 const struct e820_range *e820, int nr, uint64_t rsdp_addr);

#endif
