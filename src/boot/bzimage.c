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

#define SETUP_HDR_OFF		0x1f1
#define SETUP_JUMP_OFF		0x200	/* the header ends at 0x202 + the byte at 0x201 */
#define SETUP_MAGIC_OFF		0x202
#define SETUP_SECTOR		512
#define BZ_MIN_VERSION		0x020c	/* 2.12: xloadflags */
#define BZ_ENTRY64_OFF		0x200	/* startup_64 from the start of the code */

static_assert(offsetof(struct boot_params, hdr) == SETUP_HDR_OFF, "setup header offset");
static_assert(SETUP_HDR_OFF + offsetof(struct setup_header, header) == SETUP_MAGIC_OFF,
	      "HdrS offset");

bool bzimage_is(const uint8_t *data, size_t size)
{
	return size >= SETUP_MAGIC_OFF + 4 && !memcmp(data + SETUP_MAGIC_OFF, "HdrS", 4);
}

static int check_header(const struct setup_header *h, const char *name)
{
	if (h->version < BZ_MIN_VERSION) {
		pr_err("kernel %s: boot protocol %u.%02u is too old (need 2.12)",
		       name, h->version >> 8, h->version & 0xff);
		return -ENOEXEC;
	}
	if (!(h->xloadflags & XLF_KERNEL_64)) {
		pr_err("kernel %s: bzImage has no 64-bit entry point (XLF_KERNEL_64)", name);
		return -ENOEXEC;
	}
	return 0;
}

/* File offset of the protected-mode code. */
static uint64_t code_offset(const struct setup_header *h)
{
	return ((uint64_t)(h->setup_sects ? h->setup_sects : 4) + 1) * SETUP_SECTOR;
}

static bool fits(uint64_t addr, uint64_t len, uint64_t ram_size)
{
	uint64_t end;

	return addr >= MEM_HIMEM_START && !__builtin_add_overflow(addr, len, &end) &&
	       end <= boot_low_end(ram_size);
}

/* pref_address when the kernel fits there, else the lowest aligned address. */
static int place(const struct setup_header *h, uint64_t need, uint64_t ram_size,
		 const char *name, uint64_t *load)
{
	uint64_t align = h->kernel_alignment;

	if (fits(h->pref_address, need, ram_size) || !h->relocatable_kernel) {
		*load = h->pref_address;
	} else if (!align || (align & (align - 1))) {
		pr_err("kernel %s: bad kernel_alignment 0x%" PRIx64, name, align);
		return -ENOEXEC;
	} else {
		*load = ALIGN_UP(MEM_HIMEM_START, align);
	}
	return boot_check_range(*load, need, ram_size, name, "kernel (init_size)");
}

/*
 * Where the kernel runs: a relocatable Linux moves itself up to its
 * pref_address (LOAD_PHYSICAL_ADDR) before decompressing, so loading it
 * lower saves no RAM, and the initrd must stay clear of that range too.
 */
static int runtime_end(const struct setup_header *h, uint64_t load, uint64_t need,
		       uint64_t ram_size, const char *name, uint64_t *end)
{
	uint64_t run = h->relocatable_kernel ? MAX(load, h->pref_address) : load;
	int ret;

	ret = boot_check_range(run, need, ram_size, name, "decompressed kernel (init_size)");
	if (ret < 0)
		return ret;
	*end = run + need;
	return 0;
}

/* The zero page's first bytes: the setup header and what the kernel may add after it. */
#define BZ_HEAD_LEN		0x290

static void copy_header(const uint8_t *head, struct boot_info *info)
{
	size_t end = SETUP_JUMP_OFF + 2 + head[SETUP_JUMP_OFF + 1];

	info->setup_header_len = MIN(end - SETUP_HDR_OFF, sizeof(info->setup_header));
	memcpy(info->setup_header, head + SETUP_HDR_OFF, info->setup_header_len);
}

int bzimage_parse(struct boot_image *img, uint64_t ram_size, struct boot_info *info)
{
	uint8_t head[BZ_HEAD_LEN] = { 0 };
	const char *name = img->name;
	struct setup_header h;
	uint64_t off, need, load;
	int ret;

	if (img->size < SETUP_HDR_OFF + sizeof(h)) {
		pr_err("kernel %s: truncated bzImage setup header", name);
		return -ENOEXEC;
	}
	ret = boot_image_read(img, 0, head, MIN(img->size, sizeof(head)));
	if (ret < 0)
		return ret;
	memcpy(&h, head + SETUP_HDR_OFF, sizeof(h));
	ret = check_header(&h, name);
	if (ret < 0)
		return ret;
	off = code_offset(&h);
	if (off >= img->size) {
		pr_err("kernel %s: setup_sects (%u) points past the end of the file",
		       name, h.setup_sects);
		return -ENOEXEC;
	}
	if (img->size - off <= BZ_ENTRY64_OFF) {
		pr_err("kernel %s: bzImage code ends before its 64-bit entry point", name);
		return -ENOEXEC;
	}
	need = MAX((uint64_t)h.init_size, img->size - off);
	ret = place(&h, need, ram_size, name, &load);
	if (!ret)
		ret = runtime_end(&h, load, need, ram_size, name, &info->kernel_end);
	if (ret < 0)
		return ret;
	info->entry = BOOT_ENTRY_LINUX64;
	info->entry_addr = load + BZ_ENTRY64_OFF;
	info->kernel_start = load;
	info->cmdline_max = MIN((uint64_t)h.cmdline_size + 1, MEM_CMDLINE_MAX);
	/* The code starts at 1 KiB at least, so the whole head was in the file. */
	copy_header(head, info);
	img->code_off = off;
	return 0;
}

int bzimage_load(const struct boot_image *img, struct guest_mem *mem,
		 const struct boot_info *info)
{
	uint64_t len = img->size - img->code_off;
	uint8_t *dst = guest_mem_ptr(mem, info->kernel_start, len);

	if (!dst) {
		pr_err("kernel %s: load address 0x%" PRIx64 " is not in guest RAM",
		       img->name, info->kernel_start);
		return -EFAULT;
	}
	return boot_image_read(img, img->code_off, dst, len);
}
