/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_BOOT_H
#define PETREL_BOOT_H

#include <stddef.h>
#include <stdint.h>
#include <petrel/memory.h>

enum boot_entry {
	BOOT_ENTRY_PVH,		/* 32-bit protected mode, %ebx = hvm_start_info */
	BOOT_ENTRY_LINUX64,	/* long mode, %rsi = boot_params (zero page) */
};

struct boot_info {
	enum boot_entry entry;
	uint64_t entry_addr;		/* guest RIP */
	uint64_t kernel_start;		/* lowest loaded byte */
	uint64_t kernel_end;		/* one past the highest */
	uint64_t initrd_addr;		/* 0 when none */
	uint64_t initrd_size;
	uint64_t cmdline_max;		/* longest command line the kernel accepts, with NUL */
	/* bzImage only: the setup header, copied into the zero page by boot_write_params() */
	uint8_t setup_header[0x290 - 0x1f1];
	size_t setup_header_len;
};

/*
 * Load an ELF vmlinux (PVH entry when it has the PVH note, else its 64-bit
 * entry) or a bzImage (boot protocol >= 2.12 with XLF_KERNEL_64) into guest
 * memory, each segment read from the file straight into its place; a
 * segment's zero tail is written unless mem->zero_filled says it reads as
 * zero already. Errors return -errno and log a message naming the file and
 * what is wrong (a file that shrinks while being read too); the guest memory
 * content is then unspecified.
 */
int boot_load_kernel(struct guest_mem *mem, const char *path, struct boot_info *info);
/* Parse without loading (unit tests, fuzzing): same checks as above. */
int boot_parse_kernel(const uint8_t *data, size_t size, uint64_t ram_size, const char *name,
		      struct boot_info *info);
/* Place the initrd at the top of low RAM, below the kernel's initrd_addr_max. */
int boot_load_initrd(struct guest_mem *mem, const char *path, struct boot_info *info);

/* Kernel command line under construction (bounded by the kernel's limit). */
struct cmdline {
	char buf[MEM_CMDLINE_MAX];
	size_t len;
	size_t max;		/* bytes including the NUL */
};
void cmdline_init(struct cmdline *cl, size_t max);
/* Append words separated by one space; -E2BIG (nothing appended) if too long. */
int cmdline_append(struct cmdline *cl, const char *words);
int cmdline_appendf(struct cmdline *cl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* True when the line already has a word with this key (e.g. "root=", "console="). */
int cmdline_has_key(const struct cmdline *cl, const char *key);

/*
 * Write the command line, the e820 map and the entry structure (boot_params
 * for LINUX64, hvm_start_info with memmap for PVH) into low memory.
 */
int boot_write_params(struct guest_mem *mem, const struct boot_info *info,
		      const struct cmdline *cl, uint64_t rsdp_addr);

/* e820 for this memory layout (exposed for unit tests and PVH memmap). */
struct e820_range {
	uint64_t addr;
	uint64_t size;
	uint32_t type;		/* 1 RAM, 2 reserved */
};
int boot_e820(const struct guest_mem *mem, struct e820_range *out, int max);

#endif
