// SPDX-License-Identifier: Apache-2.0
/* Kernel loaders, initrd placement, command line, e820 and boot structures. */
#include <asm/bootparam.h>
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <petrel/acpi.h>
#include <petrel/boot.h>
#include <petrel/devices.h>
#include <petrel/log.h>
#include <petrel/memory.h>
#include <petrel/util.h>

#include "../../src/boot/loader.h"

#define KERNEL_ADDR	0x1000000ULL
#define ELF_ENTRY	(KERNEL_ADDR + 0x10)
#define PVH_ENTRY	(KERNEL_ADDR + 0x20)
#define RAM		MiB(256)
#define NAME		"/x/vmlinux"

/* ---- fixtures: a log file per test, so messages can be checked ---- */

static char log_path[64];

static void log_setup(void)
{
	int fd;

	strcpy(log_path, "/tmp/petrel-test-boot-log-XXXXXX");
	fd = mkstemp(log_path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(log_set_path(log_path), 0);
}

static void log_teardown(void)
{
	log_set_path(NULL);
	unlink(log_path);
}

/* The log has a line with both needles; the log is emptied afterwards. */
static void expect_log(const char *a, const char *b)
{
	char buf[8192];
	FILE *f = fopen(log_path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	ck_assert_msg(strstr(buf, a) && strstr(buf, b), "log lacks '%s'/'%s': %s", a, b, buf);
	ck_assert_int_eq(truncate(log_path, 0), 0);
}

static struct guest_mem mem_alloc(uint64_t size)
{
	struct guest_mem m = { .nr_regions = 1, .ram_size = size, .memfd = -1 };

	m.regions[0].size = size;
	m.regions[0].host = calloc(1, size);
	ck_assert_ptr_nonnull(m.regions[0].host);
	return m;
}

static void write_tmp(char *path, const void *data, size_t len)
{
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* ---- a hand-built ELF vmlinux: one PT_LOAD, one PT_NOTE, optional sections ---- */

struct elf_image {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	Elf64_Nhdr nh;
	char note_name[4];
	uint32_t desc[2];
	Elf64_Shdr sh[2];
	uint8_t code[0x100];
};

#define OFF(f) offsetof(struct elf_image, f)

static void elf_build(struct elf_image *img, bool pvh)
{
	memset(img, 0, sizeof(*img));
	memcpy(img->eh.e_ident, ELFMAG, SELFMAG);
	img->eh.e_ident[EI_CLASS] = ELFCLASS64;
	img->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	img->eh.e_type = ET_EXEC;
	img->eh.e_machine = EM_X86_64;
	img->eh.e_entry = ELF_ENTRY;
	img->eh.e_phoff = OFF(ph);
	img->eh.e_phentsize = sizeof(Elf64_Phdr);
	img->eh.e_phnum = 2;
	img->ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = OFF(code),
		.p_paddr = KERNEL_ADDR, .p_filesz = sizeof(img->code), .p_memsz = 0x1000 };
	img->ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = OFF(nh),
		.p_filesz = sizeof(Elf64_Nhdr) + 4 + 4, .p_align = 4 };
	img->nh = (Elf64_Nhdr){ .n_namesz = 4, .n_descsz = 4, .n_type = pvh ? 18 : 1 };
	memcpy(img->note_name, "Xen", 4);
	img->desc[0] = PVH_ENTRY;
	memset(img->code, 0x90, sizeof(img->code));
}

/* Move the note from the program headers to a SHT_NOTE section. */
static void elf_note_in_section(struct elf_image *img)
{
	img->ph[1].p_type = PT_NULL;
	img->eh.e_shoff = OFF(sh);
	img->eh.e_shentsize = sizeof(Elf64_Shdr);
	img->eh.e_shnum = 2;
	img->sh[1] = (Elf64_Shdr){ .sh_type = SHT_NOTE, .sh_offset = OFF(nh),
		.sh_size = img->ph[1].p_filesz, .sh_addralign = 4 };
}

static int parse(const void *img, size_t size, uint64_t ram, struct boot_info *info)
{
	return boot_parse_kernel(img, size, ram, NAME, info);
}

START_TEST(elf_linux64)
{
	struct elf_image img;
	struct boot_info info;

	elf_build(&img, false);
	ck_assert_int_eq(parse(&img, sizeof(img), RAM, &info), 0);
	ck_assert_int_eq(info.entry, BOOT_ENTRY_LINUX64);
	ck_assert_uint_eq(info.entry_addr, ELF_ENTRY);
	ck_assert_uint_eq(info.kernel_start, KERNEL_ADDR);
	ck_assert_uint_eq(info.kernel_end, KERNEL_ADDR + 0x1000);
	ck_assert_uint_eq(info.cmdline_max, 2048);
	ck_assert_uint_eq(info.setup_header_len, 0);
}
END_TEST

START_TEST(elf_pvh)
{
	struct elf_image img;
	struct boot_info info;

	elf_build(&img, true);
	ck_assert_int_eq(parse(&img, sizeof(img), RAM, &info), 0);
	ck_assert_int_eq(info.entry, BOOT_ENTRY_PVH);
	ck_assert_uint_eq(info.entry_addr, PVH_ENTRY);
}
END_TEST

START_TEST(elf_pvh_64bit_desc)
{
	struct elf_image img;
	struct boot_info info;

	elf_build(&img, true);
	img.nh.n_descsz = 8;
	img.ph[1].p_filesz += 4;
	img.desc[1] = 0;
	ck_assert_int_eq(parse(&img, sizeof(img), RAM, &info), 0);
	ck_assert_int_eq(info.entry, BOOT_ENTRY_PVH);
	ck_assert_uint_eq(info.entry_addr, PVH_ENTRY);
}
END_TEST

START_TEST(elf_pvh_in_section)
{
	struct elf_image img;
	struct boot_info info;

	elf_build(&img, true);
	elf_note_in_section(&img);
	ck_assert_int_eq(parse(&img, sizeof(img), RAM, &info), 0);
	ck_assert_int_eq(info.entry, BOOT_ENTRY_PVH);
	ck_assert_uint_eq(info.entry_addr, PVH_ENTRY);
}
END_TEST

START_TEST(elf_load_copies_and_zeroes)
{
	char path[] = "/tmp/petrel-test-vmlinux-XXXXXX";
	struct guest_mem mem = mem_alloc(MiB(32));
	uint8_t *seg = mem.regions[0].host + KERNEL_ADDR;
	struct elf_image img;
	struct boot_info info;

	elf_build(&img, true);
	write_tmp(path, &img, sizeof(img));
	memset(seg, 0xaa, 0x2000);
	ck_assert_int_eq(boot_load_kernel(&mem, path, &info), 0);
	ck_assert_int_eq(info.entry, BOOT_ENTRY_PVH);
	ck_assert_mem_eq(seg, img.code, sizeof(img.code));
	for (size_t i = sizeof(img.code); i < 0x1000; i++)
		ck_assert_uint_eq(seg[i], 0);
	ck_assert_uint_eq(seg[0x1000], 0xaa);
	unlink(path);
	free(mem.regions[0].host);
}
END_TEST

/* The same broken file read from disk: refused with the parser's message, before any read-in. */
static void load_malformed(const void *img, size_t size, uint64_t ram, const char *what)
{
	char path[] = "/tmp/petrel-test-kernel-XXXXXX";
	struct guest_mem mem = mem_alloc(MiB(4));
	struct boot_info info;

	write_tmp(path, img, size);
	mem.ram_size = ram;
	ck_assert_int_lt(boot_load_kernel(&mem, path, &info), 0);
	expect_log(path, what);
	unlink(path);
	free(mem.regions[0].host);
}

/* One way to break a valid ELF image, and what the log must say. */
struct elf_breakage {
	const char *what;
	void (*mutate)(struct elf_image *img, size_t *size, uint64_t *ram);
};

static void trunc_ehdr(struct elf_image *i, size_t *size, uint64_t *ram) { *size = 40; }
static void bad_class(struct elf_image *i, size_t *size, uint64_t *ram)
{
	i->eh.e_ident[EI_CLASS] = ELFCLASS32;
}
static void bad_machine(struct elf_image *i, size_t *size, uint64_t *ram)
{
	i->eh.e_machine = EM_AARCH64;
}
static void trunc_phdrs(struct elf_image *i, size_t *size, uint64_t *ram) { *size = 100; }
static void phoff_overflow(struct elf_image *i, size_t *size, uint64_t *ram)
{
	i->eh.e_phoff = UINT64_MAX - 16;
}
static void bad_phentsize(struct elf_image *i, size_t *size, uint64_t *ram)
{
	i->eh.e_phentsize = 32;
}
static void seg_outside_file(struct elf_image *i, size_t *size, uint64_t *ram)
{
	i->ph[0].p_offset = sizeof(*i) - 0x10;
}
static void seg_offset_overflow(struct elf_image *i, size_t *size, uint64_t *ram)
{
	i->ph[0].p_offset = UINT64_MAX - 0x10;
}
static void filesz_gt_memsz(struct elf_image *i, size_t *size, uint64_t *ram)
{
	i->ph[0].p_memsz = 0x10;
}
static void seg_beyond_ram(struct elf_image *i, size_t *size, uint64_t *ram)
{
	i->ph[0].p_memsz = MiB(300);
}
static void seg_below_1m(struct elf_image *i, size_t *size, uint64_t *ram)
{
	i->ph[0].p_paddr = 0x8000;
}
static void seg_in_hole(struct elf_image *i, size_t *size, uint64_t *ram)
{
	i->ph[0].p_paddr = MEM_HOLE_START - 0x1000;
	i->ph[0].p_memsz = 0x2000;
	*ram = GiB(8);
}
static void seg_above_4g(struct elf_image *i, size_t *size, uint64_t *ram)
{
	i->ph[0].p_paddr = GiB(5);
	*ram = GiB(8);
}
static void seg_addr_overflow(struct elf_image *i, size_t *size, uint64_t *ram)
{
	i->ph[0].p_paddr = UINT64_MAX - 0x100;
}
static void no_load(struct elf_image *i, size_t *size, uint64_t *ram)
{
	i->ph[0].p_type = PT_NULL;
}
static void note_desc_too_big(struct elf_image *i, size_t *size, uint64_t *ram)
{
	i->nh.n_descsz = 0x1000;
}
static void note_name_huge(struct elf_image *i, size_t *size, uint64_t *ram)
{
	i->nh.n_namesz = UINT32_MAX;
}
static void note_outside_file(struct elf_image *i, size_t *size, uint64_t *ram)
{
	i->ph[1].p_filesz = UINT64_MAX;
}
static void pvh_bad_descsz(struct elf_image *i, size_t *size, uint64_t *ram)
{
	i->nh.n_type = 18;
	i->nh.n_descsz = 2;
}
static void pvh_entry_64bit(struct elf_image *i, size_t *size, uint64_t *ram)
{
	i->nh.n_type = 18;
	i->nh.n_descsz = 8;
	i->ph[1].p_filesz += 4;
	i->desc[1] = 1;
}
static void entry_outside(struct elf_image *i, size_t *size, uint64_t *ram)
{
	i->eh.e_entry = 0x1234;
}
static void bad_shdrs(struct elf_image *i, size_t *size, uint64_t *ram)
{
	elf_note_in_section(i);
	i->eh.e_shoff = sizeof(*i) - 8;
}
static void section_outside_file(struct elf_image *i, size_t *size, uint64_t *ram)
{
	elf_note_in_section(i);
	i->sh[1].sh_offset = UINT64_MAX - 4;
}

static const struct elf_breakage elf_breakages[] = {
	{ "truncated ELF header", trunc_ehdr },
	{ "not a little-endian x86_64", bad_class },
	{ "not a little-endian x86_64", bad_machine },
	{ "truncated ELF program header table", trunc_phdrs },
	{ "truncated ELF program header table", phoff_overflow },
	{ "program header size", bad_phentsize },
	{ "outside the file", seg_outside_file },
	{ "outside the file", seg_offset_overflow },
	{ "p_filesz > p_memsz", filesz_gt_memsz },
	{ "beyond guest RAM", seg_beyond_ram },
	{ "below 1 MiB", seg_below_1m },
	{ "MMIO hole", seg_in_hole },
	{ "beyond guest RAM", seg_above_4g },
	{ "overflows", seg_addr_overflow },
	{ "no loadable ELF segment", no_load },
	{ "overruns", note_desc_too_big },
	{ "overruns", note_name_huge },
	{ "note segment lies outside the file", note_outside_file },
	{ "PVH entry note has 2 bytes", pvh_bad_descsz },
	{ "not a 32-bit address", pvh_entry_64bit },
	{ "outside the loaded segments", entry_outside },
	{ "truncated ELF section header table", bad_shdrs },
	{ "note section lies outside the file", section_outside_file },
};

START_TEST(elf_malformed)
{
	const struct elf_breakage *b = &elf_breakages[_i];
	struct elf_image img;
	struct boot_info info;
	size_t size = sizeof(img);
	uint64_t ram = RAM;

	elf_build(&img, false);
	b->mutate(&img, &size, &ram);
	ck_assert_int_lt(parse(&img, size, ram, &info), 0);
	expect_log("kernel " NAME ": ", b->what);
	load_malformed(&img, size, ram, b->what);
}
END_TEST

START_TEST(elf_every_truncation)
{
	struct elf_image img;
	struct boot_info info;

	elf_build(&img, true);
	for (size_t size = 0; size < OFF(code) + 1; size++)
		ck_assert_int_lt(parse(&img, size, RAM, &info), 0);
}
END_TEST

/* ---- a hand-built bzImage: 4 setup sectors, then the protected-mode code ---- */

#define BZ_SETUP_SECTS	4
#define BZ_CODE_OFF	((BZ_SETUP_SECTS + 1) * 512)
#define BZ_CODE_SIZE	0x1000
#define BZ_SIZE		(BZ_CODE_OFF + BZ_CODE_SIZE)
#define BZ_INIT_SIZE	0x400000

static void bz_default(struct setup_header *h)
{
	memset(h, 0, sizeof(*h));
	h->setup_sects = BZ_SETUP_SECTS;
	h->boot_flag = 0xAA55;
	h->jump = 0x6aeb;	/* jmp short: the header ends at 0x26c */
	memcpy(&h->header, "HdrS", 4);
	h->version = 0x020f;
	h->loadflags = LOADED_HIGH;
	h->initrd_addr_max = 0x7fffffff;
	h->kernel_alignment = 0x200000;
	h->relocatable_kernel = 1;
	h->xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h->cmdline_size = 2047;
	h->pref_address = KERNEL_ADDR;
	h->init_size = BZ_INIT_SIZE;
}

static void bz_build(uint8_t *buf, const struct setup_header *h)
{
	memset(buf, 0, BZ_SIZE);
	memcpy(buf + 0x1f1, h, sizeof(*h));
	for (size_t i = BZ_CODE_OFF; i < BZ_SIZE; i++)
		buf[i] = (uint8_t)i;
}

START_TEST(bz_valid)
{
	static uint8_t buf[BZ_SIZE];
	struct setup_header h;
	struct boot_info info;

	bz_default(&h);
	bz_build(buf, &h);
	ck_assert_int_eq(parse(buf, sizeof(buf), RAM, &info), 0);
	ck_assert_int_eq(info.entry, BOOT_ENTRY_LINUX64);
	ck_assert_uint_eq(info.kernel_start, KERNEL_ADDR);
	ck_assert_uint_eq(info.entry_addr, KERNEL_ADDR + 0x200);
	ck_assert_uint_eq(info.kernel_end, KERNEL_ADDR + BZ_INIT_SIZE);
	ck_assert_uint_eq(info.cmdline_max, 2048);
	ck_assert_uint_eq(info.setup_header_len, 0x26c - 0x1f1);
	ck_assert_mem_eq(info.setup_header, buf + 0x1f1, info.setup_header_len);
}
END_TEST

/* pref_address wins over the lowest aligned address when it fits. */
START_TEST(bz_pref_address)
{
	static uint8_t buf[BZ_SIZE];
	struct setup_header h;
	struct boot_info info;

	bz_default(&h);
	h.pref_address = 0x3000000;
	bz_build(buf, &h);
	ck_assert_int_eq(parse(buf, sizeof(buf), RAM, &info), 0);
	ck_assert_uint_eq(info.kernel_start, 0x3000000);
	ck_assert_uint_eq(info.entry_addr, 0x3000200);
}
END_TEST

/* A relocatable kernel with no usable pref_address goes to the lowest slot. */
START_TEST(bz_relocated)
{
	static uint8_t buf[BZ_SIZE];
	struct setup_header h;
	struct boot_info info;

	bz_default(&h);
	h.pref_address = 0;
	bz_build(buf, &h);
	ck_assert_int_eq(parse(buf, sizeof(buf), MiB(8), &info), 0);
	ck_assert_uint_eq(info.kernel_start, 0x200000);
	ck_assert_uint_eq(info.entry_addr, 0x200200);
	ck_assert_uint_eq(info.kernel_end, 0x200000 + BZ_INIT_SIZE);
}
END_TEST

/* setup_sects == 0 means 4: the same image parses, and with 5 it differs. */
START_TEST(bz_setup_sects_zero)
{
	static uint8_t buf[BZ_SIZE];
	struct setup_header h;
	struct boot_info info;

	bz_default(&h);
	h.setup_sects = 0;
	h.init_size = 0;
	bz_build(buf, &h);
	ck_assert_int_eq(parse(buf, sizeof(buf), RAM, &info), 0);
	ck_assert_uint_eq(info.kernel_end - info.kernel_start, BZ_CODE_SIZE);
}
END_TEST

START_TEST(bz_load)
{
	char path[] = "/tmp/petrel-test-bzimage-XXXXXX";
	struct guest_mem mem = mem_alloc(MiB(32));
	static uint8_t buf[BZ_SIZE];
	struct setup_header h;
	struct boot_info info;

	bz_default(&h);
	bz_build(buf, &h);
	write_tmp(path, buf, sizeof(buf));
	ck_assert_int_eq(boot_load_kernel(&mem, path, &info), 0);
	ck_assert_mem_eq(mem.regions[0].host + KERNEL_ADDR, buf + BZ_CODE_OFF, BZ_CODE_SIZE);
	unlink(path);
	free(mem.regions[0].host);
}
END_TEST

struct bz_breakage {
	const char *what;
	void (*mutate)(struct setup_header *h, size_t *size, uint64_t *ram);
};

static void bz_old(struct setup_header *h, size_t *size, uint64_t *ram) { h->version = 0x020b; }
static void bz_32bit(struct setup_header *h, size_t *size, uint64_t *ram) { h->xloadflags = 0; }
static void bz_sects_past_end(struct setup_header *h, size_t *size, uint64_t *ram)
{
	h->setup_sects = 200;
}
static void bz_code_short(struct setup_header *h, size_t *size, uint64_t *ram)
{
	*size = BZ_CODE_OFF + 0x100;
}
static void bz_trunc_header(struct setup_header *h, size_t *size, uint64_t *ram)
{
	*size = 0x220;
}
static void bz_init_size_huge(struct setup_header *h, size_t *size, uint64_t *ram)
{
	h->init_size = 0x7fffffff;
}
static void bz_not_relocatable(struct setup_header *h, size_t *size, uint64_t *ram)
{
	h->relocatable_kernel = 0;
	*ram = MiB(18);
}
static void bz_bad_align(struct setup_header *h, size_t *size, uint64_t *ram)
{
	h->kernel_alignment = 0x300000;
	*ram = MiB(18);
}
static void bz_tiny_ram(struct setup_header *h, size_t *size, uint64_t *ram) { *ram = MiB(4); }
/* Loadable at 2 MiB, but Linux moves itself up to pref_address to decompress. */
static void bz_runs_beyond_ram(struct setup_header *h, size_t *size, uint64_t *ram)
{
	*ram = MiB(18);
}

static const struct bz_breakage bz_breakages[] = {
	{ "boot protocol 2.11 is too old", bz_old },
	{ "XLF_KERNEL_64", bz_32bit },
	{ "setup_sects (200) points past the end", bz_sects_past_end },
	{ "code ends before its 64-bit entry", bz_code_short },
	{ "truncated bzImage setup header", bz_trunc_header },
	{ "beyond guest RAM", bz_init_size_huge },
	{ "beyond guest RAM", bz_not_relocatable },
	{ "bad kernel_alignment", bz_bad_align },
	{ "beyond guest RAM", bz_tiny_ram },
	{ "decompressed kernel (init_size) [0x1000000, 0x1400000) is beyond guest RAM",
	  bz_runs_beyond_ram },
};

START_TEST(bz_malformed)
{
	const struct bz_breakage *b = &bz_breakages[_i];
	static uint8_t buf[BZ_SIZE];
	struct setup_header h;
	struct boot_info info;
	size_t size = sizeof(buf);
	uint64_t ram = RAM;

	bz_default(&h);
	b->mutate(&h, &size, &ram);
	bz_build(buf, &h);
	ck_assert_int_lt(parse(buf, size, ram, &info), 0);
	expect_log("kernel " NAME ": ", b->what);
	load_malformed(buf, size, ram, b->what);
}
END_TEST

START_TEST(kernel_unknown_format)
{
	static const uint8_t junk[4096] = { 'M', 'Z' };
	struct boot_info info;

	ck_assert_int_eq(parse(junk, sizeof(junk), RAM, &info), -ENOEXEC);
	expect_log(NAME, "neither an ELF vmlinux nor a bzImage");
	ck_assert_int_eq(parse(junk, 0, RAM, &info), -ENOEXEC);
}
END_TEST

START_TEST(kernel_file_errors)
{
	char path[] = "/tmp/petrel-test-junk-XXXXXX";
	struct guest_mem mem = mem_alloc(MiB(4));
	static const uint8_t junk[8192] = { 'M', 'Z' };
	struct boot_info info;

	ck_assert_int_eq(boot_load_kernel(&mem, "/nonexistent/vmlinux", &info), -ENOENT);
	expect_log("boot-source.kernel_image_path: /nonexistent/vmlinux", "No such file");
	ck_assert_int_eq(boot_load_kernel(&mem, "/tmp", &info), -EINVAL);
	expect_log("boot-source.kernel_image_path: /tmp", "is a directory, not a regular file");
	write_tmp(path, junk, sizeof(junk));
	ck_assert_int_eq(boot_load_kernel(&mem, path, &info), -ENOEXEC);
	expect_log(path, "neither an ELF vmlinux nor a bzImage");
	unlink(path);
	free(mem.regions[0].host);
}
END_TEST

/* ---- initrd ---- */

static struct boot_info kernel_at(uint64_t start, uint64_t end)
{
	return (struct boot_info){ .entry = BOOT_ENTRY_LINUX64, .kernel_start = start,
				   .kernel_end = end };
}

START_TEST(initrd_top_of_ram)
{
	char path[] = "/tmp/petrel-test-initrd-XXXXXX";
	struct guest_mem mem = mem_alloc(MiB(64));
	struct boot_info info = kernel_at(KERNEL_ADDR, KERNEL_ADDR + MiB(4));
	static uint8_t data[10000];

	memset(data, 0x5a, sizeof(data));
	write_tmp(path, data, sizeof(data));
	ck_assert_int_eq(boot_load_initrd(&mem, path, &info), 0);
	ck_assert_uint_eq(info.initrd_addr, ALIGN_DOWN(MiB(64) - sizeof(data), 4096));
	ck_assert_uint_eq(info.initrd_size, sizeof(data));
	ck_assert_mem_eq(mem.regions[0].host + info.initrd_addr, data, sizeof(data));
	unlink(path);
	free(mem.regions[0].host);
}
END_TEST

/* A bzImage's initrd_addr_max is the ceiling, not the end of RAM. */
START_TEST(initrd_addr_max)
{
	char path[] = "/tmp/petrel-test-initrd-XXXXXX";
	struct guest_mem mem = mem_alloc(MiB(64));
	struct boot_info info = kernel_at(KERNEL_ADDR, KERNEL_ADDR + MiB(4));
	struct setup_header h;
	static uint8_t data[8192];

	bz_default(&h);
	h.initrd_addr_max = MiB(32) - 1;
	memcpy(info.setup_header, &h, sizeof(h));
	info.setup_header_len = sizeof(h);
	write_tmp(path, data, sizeof(data));
	ck_assert_int_eq(boot_load_initrd(&mem, path, &info), 0);
	ck_assert_uint_eq(info.initrd_addr, MiB(32) - sizeof(data));
	unlink(path);
	free(mem.regions[0].host);
}
END_TEST

START_TEST(initrd_errors)
{
	char empty[] = "/tmp/petrel-test-initrd-XXXXXX";
	char big[] = "/tmp/petrel-test-initrd-XXXXXX";
	struct guest_mem mem = mem_alloc(MiB(4));
	struct boot_info info = kernel_at(MEM_HIMEM_START, MiB(3));
	static uint8_t data[MiB(1) + 1];

	write_tmp(empty, data, 0);
	ck_assert_int_eq(boot_load_initrd(&mem, empty, &info), -EINVAL);
	expect_log(empty, "empty");
	write_tmp(big, data, sizeof(data));
	ck_assert_int_eq(boot_load_initrd(&mem, big, &info), -ENOSPC);
	expect_log(big, "do not fit");
	mem.ram_size = MiB(1);
	ck_assert_int_eq(boot_load_initrd(&mem, big, &info), -EFBIG);
	expect_log(big, "larger than");
	ck_assert_int_eq(boot_load_initrd(&mem, "/nonexistent/initrd", &info), -ENOENT);
	expect_log("boot-source.initrd_path: /nonexistent/initrd", "No such file");
	ck_assert_uint_eq(info.initrd_addr, 0);
	unlink(empty);
	unlink(big);
	free(mem.regions[0].host);
}
END_TEST

/* ---- reading straight into guest memory ---- */

/* A vmlinux of three PT_LOAD segments: the second large and at an odd offset, the third's zero tail over the first. */
#define MS_A_ADDR	0x1000000ULL
#define MS_A_OFF	0x1000ULL
#define MS_A_LEN	0x3000ULL
#define MS_B_ADDR	0x1200000ULL
#define MS_B_OFF	0x4123ULL
#define MS_B_LEN	(MiB(3) + 0x321)
#define MS_B_MEM	(MS_B_LEN + 0x20000)
#define MS_C_ADDR	0x0fff000ULL
#define MS_C_OFF	(MS_B_OFF + MS_B_LEN)
#define MS_C_LEN	0x800ULL
#define MS_C_MEM	0x3000ULL
#define MS_SIZE		(MS_C_OFF + MS_C_LEN)

static uint8_t *multi_build(void)
{
	uint8_t *f = malloc(MS_SIZE);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)f;
	Elf64_Phdr *ph = (Elf64_Phdr *)(f + sizeof(*eh));

	ck_assert_ptr_nonnull(f);
	srand(7);
	for (size_t i = 0; i < MS_SIZE; i++)
		f[i] = rand();
	memset(f, 0, MS_A_OFF);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_entry = MS_A_ADDR;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 3;
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = MS_A_OFF, .p_paddr = MS_A_ADDR,
		.p_filesz = MS_A_LEN, .p_memsz = MS_A_LEN };
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = MS_B_OFF, .p_paddr = MS_B_ADDR,
		.p_filesz = MS_B_LEN, .p_memsz = MS_B_MEM };
	ph[2] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = MS_C_OFF, .p_paddr = MS_C_ADDR,
		.p_filesz = MS_C_LEN, .p_memsz = MS_C_MEM };
	return f;
}

/* Guest RAM as the loader that copied from a whole file in the heap left it. */
static uint8_t *reference(const uint8_t *f, uint64_t ram, int fill)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(f + eh->e_phoff);
	uint8_t *ref = malloc(ram);

	ck_assert_ptr_nonnull(ref);
	memset(ref, fill, ram);
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		memcpy(ref + ph[i].p_paddr, f + ph[i].p_offset, ph[i].p_filesz);
		memset(ref + ph[i].p_paddr + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
	}
	return ref;
}

/* Pages of [p, p+len) the host has given memory to. */
static size_t resident(const uint8_t *p, size_t len)
{
	unsigned char vec[64];
	size_t n = 0;

	ck_assert_uint_le(len / 4096, sizeof(vec));
	ck_assert_int_eq(mincore((void *)p, len, vec), 0);
	for (size_t i = 0; i < len / 4096; i++)
		n += vec[i] & 1;
	return n;
}

START_TEST(elf_load_fresh_matches_reference)
{
	char path[] = "/tmp/petrel-test-vmlinux-XXXXXX";
	uint8_t *f = multi_build(), *ref = reference(f, MiB(64), 0), *ram;
	uint64_t bss = ALIGN_UP(MS_B_ADDR + MS_B_LEN, 4096);
	struct guest_mem mem;
	struct boot_info info;

	write_tmp(path, f, MS_SIZE);
	ck_assert_int_eq(guest_mem_create(&mem, 64, HUGE_PAGES_NONE), 0);
	ck_assert(mem.zero_filled);
	ram = mem.regions[0].host;
	ck_assert_int_eq(boot_load_kernel(&mem, path, &info), 0);
	ck_assert(!mem.zero_filled);
	ck_assert_uint_eq(info.kernel_start, MS_C_ADDR);
	ck_assert_uint_eq(info.kernel_end, MS_B_ADDR + MS_B_MEM);
	/* Fresh memory reads as zero already: the zero tail was left untouched. */
	ck_assert_uint_eq(resident(ram + bss, MS_B_ADDR + MS_B_MEM - bss), 0);
	ck_assert(!memcmp(ram, ref, MiB(64)));
	guest_mem_destroy(&mem);
	unlink(path);
	free(ref);
	free(f);
}
END_TEST

/* Memory that held something before gets its zero tails written. */
START_TEST(elf_load_used_matches_reference)
{
	char path[] = "/tmp/petrel-test-vmlinux-XXXXXX";
	uint8_t *f = multi_build(), *ref = reference(f, MiB(32), 0xaa);
	struct guest_mem mem = mem_alloc(MiB(32));
	struct boot_info info;

	write_tmp(path, f, MS_SIZE);
	memset(mem.regions[0].host, 0xaa, MiB(32));
	ck_assert(!mem.zero_filled);
	ck_assert_int_eq(boot_load_kernel(&mem, path, &info), 0);
	ck_assert(!memcmp(mem.regions[0].host, ref, MiB(32)));
	unlink(path);
	free(mem.regions[0].host);
	free(ref);
	free(f);
}
END_TEST

/* A bzImage and an initrd of several MiB in fresh memory: exactly their bytes, nothing else. */
START_TEST(bz_initrd_load_matches_reference)
{
	char kpath[] = "/tmp/petrel-test-bzimage-XXXXXX";
	char ipath[] = "/tmp/petrel-test-initrd-XXXXXX";
	static uint8_t buf[BZ_SIZE];
	uint8_t *initrd = malloc(MiB(5) + 123), *ref = calloc(1, MiB(64));
	struct setup_header h;
	struct guest_mem mem;
	struct boot_info info;

	ck_assert_ptr_nonnull(initrd);
	ck_assert_ptr_nonnull(ref);
	for (size_t i = 0; i < MiB(5) + 123; i++)
		initrd[i] = i * 7 + (i >> 12);
	bz_default(&h);
	bz_build(buf, &h);
	write_tmp(kpath, buf, sizeof(buf));
	write_tmp(ipath, initrd, MiB(5) + 123);
	ck_assert_int_eq(guest_mem_create(&mem, 64, HUGE_PAGES_NONE), 0);
	ck_assert_int_eq(boot_load_kernel(&mem, kpath, &info), 0);
	ck_assert_int_eq(boot_load_initrd(&mem, ipath, &info), 0);
	memcpy(ref + KERNEL_ADDR, buf + BZ_CODE_OFF, BZ_CODE_SIZE);
	memcpy(ref + info.initrd_addr, initrd, MiB(5) + 123);
	ck_assert(!memcmp(mem.regions[0].host, ref, MiB(64)));
	guest_mem_destroy(&mem);
	unlink(kpath);
	unlink(ipath);
	free(initrd);
	free(ref);
}
END_TEST

/* Checked against the size at open, then cut short: a clear error, not a crash or a hang. */
static void expect_shrink(const char *path, uint64_t keep)
{
	struct guest_mem mem = mem_alloc(MiB(32));
	struct boot_image img;
	struct boot_info info;

	ck_assert_int_eq(boot_image_open(&img, path, "kernel", "boot-source.kernel_image_path",
					 MiB(512)), 0);
	ck_assert_int_eq(boot_image_parse(&img, MiB(32), &info), 0);
	ck_assert_int_eq(truncate(path, keep), 0);
	ck_assert_int_eq(boot_image_load(&img, &mem, &info), -EIO);
	expect_log(path, "changed while being read");
	boot_image_close(&img);
	free(mem.regions[0].host);
}

START_TEST(kernel_shrinks_while_read)
{
	char elf[] = "/tmp/petrel-test-vmlinux-XXXXXX";
	char bz[] = "/tmp/petrel-test-bzimage-XXXXXX";
	static uint8_t buf[BZ_SIZE];
	struct setup_header h;
	struct elf_image img;

	elf_build(&img, true);
	write_tmp(elf, &img, sizeof(img));
	expect_shrink(elf, OFF(code) + 0x10);
	bz_default(&h);
	bz_build(buf, &h);
	write_tmp(bz, buf, sizeof(buf));
	expect_shrink(bz, BZ_CODE_OFF + 0x800);
	unlink(elf);
	unlink(bz);
}
END_TEST

/* Cut before its notes are read: the parser says so too. */
START_TEST(kernel_shrinks_before_parse)
{
	char path[] = "/tmp/petrel-test-vmlinux-XXXXXX";
	struct boot_image bi;
	struct boot_info info;
	struct elf_image img;

	elf_build(&img, true);
	write_tmp(path, &img, sizeof(img));
	ck_assert_int_eq(boot_image_open(&bi, path, "kernel", "boot-source.kernel_image_path",
					 MiB(512)), 0);
	ck_assert_int_eq(truncate(path, OFF(nh)), 0);
	ck_assert_int_eq(boot_image_parse(&bi, RAM, &info), -EIO);
	expect_log(path, "changed while being read");
	boot_image_close(&bi);
	unlink(path);
}
END_TEST

START_TEST(initrd_shrinks_while_read)
{
	char path[] = "/tmp/petrel-test-initrd-XXXXXX";
	static uint8_t data[MiB(1)], dst[MiB(1)];
	struct boot_image img;

	write_tmp(path, data, sizeof(data));
	ck_assert_int_eq(boot_image_open(&img, path, "initrd", "boot-source.initrd_path", GiB(1)),
			 0);
	ck_assert_int_eq(truncate(path, 1000), 0);
	ck_assert_int_eq(boot_image_read(&img, 0, dst, img.size), -EIO);
	expect_log("initrd ", "the file ends at byte 1000, short of the 1048576 bytes");
	boot_image_close(&img);
	unlink(path);
}
END_TEST

/* ---- command line ---- */

START_TEST(cmdline_basic)
{
	struct cmdline cl;

	cmdline_init(&cl, 2048);
	ck_assert_str_eq(cl.buf, "");
	ck_assert_int_eq(cmdline_append(&cl, "console=ttyS0 reboot=k"), 0);
	ck_assert_int_eq(cmdline_append(&cl, "  panic=1  "), 0);
	ck_assert_int_eq(cmdline_append(&cl, ""), 0);
	ck_assert_int_eq(cmdline_appendf(&cl, "virtio_mmio.device=4K@0x%llx:%d", 0xc0001000ULL, 5),
			 0);
	ck_assert_str_eq(cl.buf,
			 "console=ttyS0 reboot=k panic=1 virtio_mmio.device=4K@0xc0001000:5");
	ck_assert_uint_eq(cl.len, strlen(cl.buf));
}
END_TEST

START_TEST(cmdline_limits)
{
	struct cmdline cl;

	cmdline_init(&cl, 10);	/* 9 characters and the NUL */
	ck_assert_int_eq(cmdline_append(&cl, "abcd"), 0);
	ck_assert_int_eq(cmdline_append(&cl, "efghi"), -E2BIG);
	ck_assert_str_eq(cl.buf, "abcd");
	ck_assert_int_eq(cmdline_appendf(&cl, "%s", "efghi"), -E2BIG);
	ck_assert_uint_eq(cl.len, 4);
	ck_assert_int_eq(cmdline_append(&cl, "efgh"), 0);
	ck_assert_str_eq(cl.buf, "abcd efgh");
	ck_assert_int_eq(cmdline_append(&cl, "x"), -E2BIG);
	ck_assert_str_eq(cl.buf, "abcd efgh");

	cmdline_init(&cl, 1000000);
	ck_assert_uint_eq(cl.max, MEM_CMDLINE_MAX);
	cmdline_init(&cl, 0);
	ck_assert_int_eq(cmdline_append(&cl, "a"), -E2BIG);
	ck_assert_str_eq(cl.buf, "");
}
END_TEST

START_TEST(cmdline_appendf_overflow)
{
	struct cmdline cl;
	static char huge[MEM_CMDLINE_MAX + 10];

	memset(huge, 'a', sizeof(huge) - 1);
	cmdline_init(&cl, MEM_CMDLINE_MAX);
	ck_assert_int_eq(cmdline_appendf(&cl, "%s", huge), -E2BIG);
	ck_assert_int_eq(cmdline_append(&cl, huge), -E2BIG);
	ck_assert_uint_eq(cl.len, 0);
	huge[MEM_CMDLINE_MAX - 1] = '\0';
	ck_assert_int_eq(cmdline_append(&cl, huge), 0);
	ck_assert_uint_eq(cl.len, MEM_CMDLINE_MAX - 1);
}
END_TEST

START_TEST(cmdline_keys)
{
	struct cmdline cl;

	cmdline_init(&cl, 2048);
	cmdline_append(&cl, "console=ttyS0 quiet foo=\"a root=b\" rootwait");
	ck_assert(cmdline_has_key(&cl, "console="));
	ck_assert(cmdline_has_key(&cl, "console"));
	ck_assert(cmdline_has_key(&cl, "quiet"));
	ck_assert(cmdline_has_key(&cl, "foo="));
	ck_assert(cmdline_has_key(&cl, "rootwait"));
	ck_assert(!cmdline_has_key(&cl, "root="));
	ck_assert(!cmdline_has_key(&cl, "root"));
	ck_assert(!cmdline_has_key(&cl, "cons"));
	ck_assert(!cmdline_has_key(&cl, ""));
}
END_TEST

/* ---- e820 ---- */

static void expect_range(const struct e820_range *r, uint64_t addr, uint64_t size,
			 uint32_t type)
{
	ck_assert_uint_eq(r->addr, addr);
	ck_assert_uint_eq(r->size, size);
	ck_assert_uint_eq(r->type, type);
}

static void expect_low_map(const struct e820_range *e, uint64_t low_end)
{
	expect_range(&e[0], 0, MEM_EBDA_START, 1);
	expect_range(&e[1], MEM_EBDA_START, 0xA0000 - MEM_EBDA_START, 2);
	expect_range(&e[2], MEM_ACPI_START, MEM_ACPI_END - MEM_ACPI_START, 2);
	/* The guest never takes the VMGenID's page for RAM. */
	ck_assert_uint_ge(ACPI_VMGENID_ADDR, e[2].addr);
	ck_assert_uint_le(ACPI_VMGENID_ADDR + VMGENID_SIZE, e[2].addr + e[2].size);
	expect_range(&e[3], MEM_HIMEM_START, low_end - MEM_HIMEM_START, 1);
}

START_TEST(e820_small)
{
	struct guest_mem mem = { .nr_regions = 1, .ram_size = MiB(128), .memfd = -1 };
	struct e820_range e[8];

	mem.regions[0].size = MiB(128);
	ck_assert_int_eq(boot_e820(&mem, e, ARRAY_SIZE(e)), 4);
	expect_low_map(e, MiB(128));
	ck_assert_int_eq(boot_e820(&mem, e, 3), -ENOSPC);
}
END_TEST

START_TEST(e820_split)
{
	struct guest_mem mem = { .nr_regions = 2, .ram_size = GiB(4), .memfd = -1 };
	struct e820_range e[8];

	mem.regions[0].size = MEM_HOLE_START;
	mem.regions[1].gpa = MEM_HOLE_END;
	mem.regions[1].size = GiB(4) - MEM_HOLE_START;
	ck_assert_int_eq(boot_e820(&mem, e, ARRAY_SIZE(e)), 5);
	expect_low_map(e, MEM_HOLE_START);
	expect_range(&e[4], MEM_HOLE_END, GiB(1), 1);
}
END_TEST

/* ---- boot_params and hvm_start_info in guest memory ---- */

static void cmdline_of(struct cmdline *cl, const char *s)
{
	cmdline_init(cl, 2048);
	cmdline_append(cl, s);
}

START_TEST(params_linux64_elf)
{
	struct guest_mem mem = mem_alloc(MiB(32));
	struct boot_info info = kernel_at(KERNEL_ADDR, KERNEL_ADDR + MiB(2));
	struct boot_params bp;
	struct cmdline cl;

	info.entry_addr = ELF_ENTRY;
	info.cmdline_max = 2048;
	info.initrd_addr = MiB(30);
	info.initrd_size = 12345;
	cmdline_of(&cl, "console=ttyS0 panic=1");
	ck_assert_int_eq(boot_write_params(&mem, &info, &cl, MEM_ACPI_START), 0);
	ck_assert_int_eq(guest_mem_read(&mem, MEM_ZERO_PAGE_ADDR, &bp, sizeof(bp)), 0);
	ck_assert_uint_eq(bp.hdr.boot_flag, 0xAA55);
	ck_assert_mem_eq(&bp.hdr.header, "HdrS", 4);
	ck_assert_uint_eq(bp.hdr.type_of_loader, 0xff);
	ck_assert_uint_eq(bp.hdr.cmd_line_ptr, MEM_CMDLINE_ADDR);
	ck_assert_str_eq((char *)mem.regions[0].host + MEM_CMDLINE_ADDR, "console=ttyS0 panic=1");
	ck_assert_uint_eq(bp.hdr.ramdisk_image, MiB(30));
	ck_assert_uint_eq(bp.hdr.ramdisk_size, 12345);
	ck_assert_uint_eq(bp.acpi_rsdp_addr, MEM_ACPI_START);
	ck_assert_uint_eq(bp.e820_entries, 4);
	ck_assert_uint_eq(bp.e820_table[3].addr, MEM_HIMEM_START);
	ck_assert_uint_eq(bp.e820_table[3].size, MiB(31));
	ck_assert_uint_eq(bp.e820_table[1].type, 2);
	free(mem.regions[0].host);
}
END_TEST

START_TEST(params_linux64_bzimage)
{
	struct guest_mem mem = mem_alloc(MiB(32));
	static uint8_t buf[BZ_SIZE];
	struct setup_header h;
	struct boot_params bp;
	struct boot_info info;
	struct cmdline cl;

	bz_default(&h);
	bz_build(buf, &h);
	ck_assert_int_eq(parse(buf, sizeof(buf), MiB(32), &info), 0);
	cmdline_of(&cl, "quiet");
	ck_assert_int_eq(boot_write_params(&mem, &info, &cl, 0), 0);
	ck_assert_int_eq(guest_mem_read(&mem, MEM_ZERO_PAGE_ADDR, &bp, sizeof(bp)), 0);
	ck_assert_uint_eq(bp.hdr.version, 0x020f);
	ck_assert_uint_eq(bp.hdr.pref_address, KERNEL_ADDR);
	ck_assert_uint_eq(bp.hdr.init_size, BZ_INIT_SIZE);
	ck_assert_uint_eq(bp.hdr.kernel_alignment, 0x200000);
	ck_assert_uint_eq(bp.hdr.loadflags, LOADED_HIGH | CAN_USE_HEAP);
	ck_assert_uint_eq(bp.hdr.type_of_loader, 0xff);
	ck_assert_uint_eq(bp.hdr.cmd_line_ptr, MEM_CMDLINE_ADDR);
	ck_assert_uint_eq(bp.hdr.ramdisk_image, 0);
	ck_assert_uint_eq(bp.acpi_rsdp_addr, 0);
	ck_assert_uint_eq(bp.e820_entries, 4);
	free(mem.regions[0].host);
}
END_TEST

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Field offsets from Xen's public arch-x86/hvm/start_info.h. */
START_TEST(params_pvh)
{
	struct guest_mem mem = mem_alloc(MiB(32));
	struct boot_info info = kernel_at(KERNEL_ADDR, KERNEL_ADDR + MiB(2));
	const uint8_t *si = mem.regions[0].host + MEM_PVH_INFO_ADDR;
	const uint8_t *map = mem.regions[0].host + MEM_PVH_MEMMAP_ADDR;
	const uint8_t *mod;
	struct cmdline cl;

	info.entry = BOOT_ENTRY_PVH;
	info.cmdline_max = 2048;
	info.initrd_addr = MiB(30);
	info.initrd_size = 4096;
	cmdline_of(&cl, "console=ttyS0");
	ck_assert_int_eq(boot_write_params(&mem, &info, &cl, MEM_ACPI_START), 0);
	ck_assert_uint_eq(rd32(si + 0), 0x336ec578);
	ck_assert_uint_eq(rd32(si + 4), 1);
	ck_assert_uint_eq(rd32(si + 12), 1);
	ck_assert_uint_eq(rd64(si + 24), MEM_CMDLINE_ADDR);
	ck_assert_uint_eq(rd64(si + 32), MEM_ACPI_START);
	ck_assert_uint_eq(rd64(si + 40), MEM_PVH_MEMMAP_ADDR);
	ck_assert_uint_eq(rd32(si + 48), 4);
	ck_assert_uint_eq(rd64(map + 3 * 24), MEM_HIMEM_START);
	ck_assert_uint_eq(rd64(map + 3 * 24 + 8), MiB(31));
	ck_assert_uint_eq(rd32(map + 3 * 24 + 16), 1);
	ck_assert_uint_eq(rd32(map + 1 * 24 + 16), 2);
	mod = mem.regions[0].host + rd64(si + 16);
	ck_assert_uint_lt(rd64(si + 16), MEM_ZERO_PAGE_ADDR);
	ck_assert_uint_eq(rd64(mod), MiB(30));
	ck_assert_uint_eq(rd64(mod + 8), 4096);
	ck_assert_str_eq((char *)mem.regions[0].host + MEM_CMDLINE_ADDR, "console=ttyS0");
	free(mem.regions[0].host);
}
END_TEST

START_TEST(params_pvh_no_initrd)
{
	struct guest_mem mem = mem_alloc(MiB(32));
	struct boot_info info = kernel_at(KERNEL_ADDR, KERNEL_ADDR + MiB(2));
	const uint8_t *si = mem.regions[0].host + MEM_PVH_INFO_ADDR;

	info.entry = BOOT_ENTRY_PVH;
	ck_assert_int_eq(boot_write_params(&mem, &info, NULL, 0), 0);
	ck_assert_uint_eq(rd32(si + 12), 0);
	ck_assert_uint_eq(rd64(si + 16), 0);
	ck_assert_uint_eq(rd64(si + 32), 0);
	ck_assert_str_eq((char *)mem.regions[0].host + MEM_CMDLINE_ADDR, "");
	free(mem.regions[0].host);
}
END_TEST

START_TEST(params_cmdline_too_long)
{
	struct guest_mem mem = mem_alloc(MiB(32));
	struct boot_info info = kernel_at(KERNEL_ADDR, KERNEL_ADDR + MiB(2));
	struct cmdline cl;

	info.cmdline_max = 8;
	cmdline_of(&cl, "console=ttyS0");
	ck_assert_int_eq(boot_write_params(&mem, &info, &cl, 0), -E2BIG);
	expect_log("command line", "at most 7");
	free(mem.regions[0].host);
}
END_TEST

static TCase *tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, log_setup, log_teardown);
	return tc;
}

static Suite *boot_suite(void)
{
	Suite *s = suite_create("boot");
	TCase *tc;

	tc = tcase("elf");
	tcase_add_test(tc, elf_linux64);
	tcase_add_test(tc, elf_pvh);
	tcase_add_test(tc, elf_pvh_64bit_desc);
	tcase_add_test(tc, elf_pvh_in_section);
	tcase_add_test(tc, elf_load_copies_and_zeroes);
	tcase_add_loop_test(tc, elf_malformed, 0, ARRAY_SIZE(elf_breakages));
	tcase_add_test(tc, elf_every_truncation);
	suite_add_tcase(s, tc);

	tc = tcase("bzimage");
	tcase_add_test(tc, bz_valid);
	tcase_add_test(tc, bz_pref_address);
	tcase_add_test(tc, bz_relocated);
	tcase_add_test(tc, bz_setup_sects_zero);
	tcase_add_test(tc, bz_load);
	tcase_add_loop_test(tc, bz_malformed, 0, ARRAY_SIZE(bz_breakages));
	tcase_add_test(tc, kernel_unknown_format);
	tcase_add_test(tc, kernel_file_errors);
	suite_add_tcase(s, tc);

	tc = tcase("initrd");
	tcase_add_test(tc, initrd_top_of_ram);
	tcase_add_test(tc, initrd_addr_max);
	tcase_add_test(tc, initrd_errors);
	suite_add_tcase(s, tc);

	tc = tcase("read_in");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, elf_load_fresh_matches_reference);
	tcase_add_test(tc, elf_load_used_matches_reference);
	tcase_add_test(tc, bz_initrd_load_matches_reference);
	tcase_add_test(tc, kernel_shrinks_while_read);
	tcase_add_test(tc, kernel_shrinks_before_parse);
	tcase_add_test(tc, initrd_shrinks_while_read);
	suite_add_tcase(s, tc);

	tc = tcase("cmdline");
	tcase_add_test(tc, cmdline_basic);
	tcase_add_test(tc, cmdline_limits);
	tcase_add_test(tc, cmdline_appendf_overflow);
	tcase_add_test(tc, cmdline_keys);
	suite_add_tcase(s, tc);

	tc = tcase("params");
	tcase_add_test(tc, e820_small);
	tcase_add_test(tc, e820_split);
	tcase_add_test(tc, params_linux64_elf);
	tcase_add_test(tc, params_linux64_bzimage);
	tcase_add_test(tc, params_pvh);
	tcase_add_test(tc, params_pvh_no_initrd);
	tcase_add_test(tc, params_cmdline_too_long);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(boot_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
