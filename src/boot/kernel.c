// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int boot_image_open(struct boot_image *img, const char *path, const char *kind,
		    const char *field, uint64_t max_size)
{
	char err[512];
	struct stat st;
	int ret;

	memset(img, 0, sizeof(*img));
	img->name = path;
	img->kind = kind;
	img->fd = util_open_file(path, O_RDONLY, UTIL_FILE_REG, err, sizeof(err));
	if (img->fd < 0) {
		pr_err("%s: %s", field, err);
		return img->fd;
	}
	ret = fstat(img->fd, &st) < 0 ? -errno : 0;
	if (ret < 0) {
		pr_err("%s: %s: %s", field, path, strerror(-ret));
	} else if ((uint64_t)st.st_size > max_size) {
		ret = -EFBIG;
		if (max_size >= MiB(1))
			pr_err("%s: %s is larger than the %" PRIu64 " MiB limit", field, path,
			       max_size >> 20);
		else
			pr_err("%s: %s is larger than the %" PRIu64 " byte limit", field, path,
			       max_size);
	}
	if (ret < 0) {
		boot_image_close(img);
		return ret;
	}
	img->size = st.st_size;
	return 0;
}

void boot_image_close(struct boot_image *img)
{
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
	free(img->ph);
	img->ph = NULL;
}

static int read_fd(const struct boot_image *img, uint64_t off, uint8_t *dst, uint64_t len)
{
	ssize_t n;

	while (len) {
		n = pread(img->fd, dst, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			pr_err("%s %s: read at offset 0x%" PRIx64 ": %s", img->kind, img->name,
			       off, strerror(-n));
			return n;
		}
		if (!n) {
			pr_err("%s %s: the file ends at byte %" PRIu64 ", short of the %" PRIu64
			       " bytes it had when opened: it changed while being read",
			       img->kind, img->name, off, img->size);
			return -EIO;
		}
		dst += n;
		off += n;
		len -= n;
	}
	return 0;
}

int boot_image_read(const struct boot_image *img, uint64_t off, void *dst, uint64_t len)
{
	uint64_t end;

	/* The parsers check every range first: this only keeps a slip from reading past. */
	if (__builtin_add_overflow(off, len, &end) || end > img->size) {
		pr_err("%s %s: [0x%" PRIx64 ", +0x%" PRIx64 ") lies outside the file",
		       img->kind, img->name, off, len);
		return -EIO;
	}
	if (!img->data)
		return read_fd(img, off, dst, len);
	memcpy(dst, img->data + off, len);
	return 0;
}

int boot_image_dup(const struct boot_image *img, uint64_t off, uint64_t len, void **out)
{
	void *buf = malloc(len ? len : 1);
	int ret;

	if (!buf) {
		pr_err("%s %s: no memory for 0x%" PRIx64 " bytes of headers", img->kind,
		       img->name, len);
		return -ENOMEM;
	}
	ret = boot_image_read(img, off, buf, len);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	*out = buf;
	return 0;
}

/* Enough of the file to tell an ELF file from a bzImage. */
#define BOOT_MAGIC_LEN		0x206

int boot_image_parse(struct boot_image *img, uint64_t ram_size, struct boot_info *info)
{
	uint8_t head[BOOT_MAGIC_LEN];
	uint64_t len = MIN(img->size, sizeof(head));
	int ret;

	memset(info, 0, sizeof(*info));
	ret = boot_image_read(img, 0, head, len);
	if (ret < 0)
		return ret;
	if (elf_is(head, len))
		return elf_parse(img, ram_size, info);
	if (bzimage_is(head, len))
		return bzimage_parse(img, ram_size, info);
	pr_err("kernel %s: neither an ELF vmlinux nor a bzImage", img->name);
	return -ENOEXEC;
}

int boot_image_load(const struct boot_image *img, struct guest_mem *mem,
		    const struct boot_info *info)
{
	return img->ph ? elf_load(img, mem) : bzimage_load(img, mem, info);
}

int boot_parse_kernel(const uint8_t *data, size_t size, uint64_t ram_size, const char *name,
		      struct boot_info *info)
{
	struct boot_image img = { .name = name, .kind = "kernel", .data = data, .fd = -1,
				  .size = size };
	int ret = boot_image_parse(&img, ram_size, info);

	boot_image_close(&img);
	return ret;
}

int boot_load_kernel(struct guest_mem *mem, const char *path, struct boot_info *info)
{
	struct boot_image img;
	int ret;

	ret = boot_image_open(&img, path, "kernel", "boot-source.kernel_image_path",
			      KERNEL_MAX_FILE);
	if (ret < 0)
		return ret;
	ret = boot_image_parse(&img, mem->ram_size, info);
	ret = ret ?: boot_image_load(&img, mem, info);
	/* Whatever was read, the memory holds more than zeros now. */
	mem->zero_filled = false;
	if (!ret)
		pr_debug("kernel %s: loaded [0x%" PRIx64 ", 0x%" PRIx64 "), entry 0x%" PRIx64,
			 path, info->kernel_start, info->kernel_end, info->entry_addr);
	boot_image_close(&img);
	return ret;
}
