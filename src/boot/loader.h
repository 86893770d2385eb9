/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the files of src/boot only: each kernel format's parser and loader. */
#ifndef PETREL_BOOT_LOADER_H
#define PETREL_BOOT_LOADER_H

#include <elf.h>
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
/*
 * A kernel or initrd file being loaded. The parsers read only its headers and
 * notes; the loaders read its segments straight into guest memory, so the
 * file is never held whole on the heap. Parsing alone (unit tests, fuzzing)
 * may take the whole file from memory instead.
 */
struct boot_image {
	const char *name;		/* the path, in every message */
	const char *kind;		/* "kernel" or "initrd", the messages' first word */
	const uint8_t *data;		/* the file in memory, or NULL: read from fd */
	int fd;
	uint64_t size;			/* at open: a file that shrinks after is an error */
	Elf64_Phdr *ph;			/* ELF: the program headers elf_parse() checked */
	unsigned int phnum;
	uint64_t code_off;		/* bzImage: file offset of the protected-mode code */
};

/*
 * Open a regular file of at most max_size bytes (-EFBIG beyond): a FIFO or a
 * device would hang the vmm thread, or feed it forever. Errors are logged
 * naming the field and the file.
 */
int boot_image_open(struct boot_image *img, const char *path, const char *kind,
		    const char *field, uint64_t max_size);
void boot_image_close(struct boot_image *img);
/*
 * len bytes at off, which the caller checked against size, into dst (guest
 * memory, or a header on the stack). -EIO with a message naming the file when
 * it is shorter than it was at open.
 */
int boot_image_read(const struct boot_image *img, uint64_t off, void *dst, uint64_t len);
/* The same into a malloc'd buffer (notes, header tables): free() it. */
int boot_image_dup(const struct boot_image *img, uint64_t off, uint64_t len, void **out);
/* Check an ELF vmlinux or a bzImage against its file size and guest RAM. */
int boot_image_parse(struct boot_image *img, uint64_t ram_size, struct boot_info *info);
/* Read what boot_image_parse() accepted into guest memory. */
int boot_image_load(const struct boot_image *img, struct guest_mem *mem,
		    const struct boot_info *info);

bool elf_is(const uint8_t *data, size_t size);
int elf_parse(struct boot_image *img, uint64_t ram_size, struct boot_info *info);
/* Read the PT_LOAD segments of an image elf_parse() accepted. */
int elf_load(const struct boot_image *img, struct guest_mem *mem);

bool bzimage_is(const uint8_t *data, size_t size);
int bzimage_parse(struct boot_image *img, uint64_t ram_size, struct boot_info *info);
/* Read the protected-mode code of an image bzimage_parse() accepted. */
int bzimage_load(const struct boot_image *img, struct guest_mem *mem,
		 const struct boot_info *info);

struct e820_range;
/* The PVH start of day structures: hvm_start_info, memmap and module list. */
int pvh_write_start_info(struct guest_mem *mem, const struct boot_info *info,
			 const struct e820_range *e820, int nr, uint64_t rsdp_addr);

#endif
