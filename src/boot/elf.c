// SPDX-License-Identifier: Apache-2.0
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/boot.h>
#include <petrel/log.h>
#include <petrel/util.h>
#include "loader.h"

/* Xen's ELF note (owner "Xen") with the 32-bit PVH entry point. */
#define XEN_ELFNOTE_PHYS32_ENTRY	18

bool elf_is(const uint8_t *data, size_t size)
{
	return size >= SELFMAG && !memcmp(data, ELFMAG, SELFMAG);
}

/* The bytes [off, off+len) lie in the file. */
static bool in_file(uint64_t off, uint64_t len, size_t size)
{
	uint64_t end;

	return !__builtin_add_overflow(off, len, &end) && end <= size;
}

static int read_ehdr(const struct boot_image *img, Elf64_Ehdr *eh)
{
	const char *name = img->name;
	int ret;

	if (img->size < sizeof(*eh)) {
		pr_err("kernel %s: truncated ELF header", name);
		return -ENOEXEC;
	}
	ret = boot_image_read(img, 0, eh, sizeof(*eh));
	if (ret < 0)
		return ret;
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64) {
		pr_err("kernel %s: not a little-endian x86_64 ELF64 file", name);
		return -ENOEXEC;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || !eh->e_phnum || eh->e_phnum == PN_XNUM) {
		pr_err("kernel %s: bad ELF program header size or count (%u x %u)",
		       name, eh->e_phnum, eh->e_phentsize);
		return -ENOEXEC;
	}
	if (!in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), img->size)) {
		pr_err("kernel %s: truncated ELF program header table", name);
		return -ENOEXEC;
	}
	return 0;
}

/* The table is read once: the loader uses the very headers that were checked. */
static int read_phdrs(struct boot_image *img, const Elf64_Ehdr *eh)
{
	void *ph;
	int ret;

	ret = boot_image_dup(img, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), &ph);
	if (ret < 0)
		return ret;
	free(img->ph);
	img->ph = ph;
	img->phnum = eh->e_phnum;
	return 0;
}

static int check_load(const Elf64_Phdr *ph, size_t size, uint64_t ram_size, const char *name,
		      struct boot_info *info)
{
	int ret;

	if (ph->p_filesz > ph->p_memsz) {
		pr_err("kernel %s: ELF segment at 0x%" PRIx64 " has p_filesz > p_memsz",
		       name, ph->p_paddr);
		return -ENOEXEC;
	}
	if (!in_file(ph->p_offset, ph->p_filesz, size)) {
		pr_err("kernel %s: ELF segment at 0x%" PRIx64 " lies outside the file",
		       name, ph->p_paddr);
		return -ENOEXEC;
	}
	ret = boot_check_range(ph->p_paddr, ph->p_memsz, ram_size, name, "ELF segment");
	if (ret < 0)
		return ret;
	if (!info->kernel_end || ph->p_paddr < info->kernel_start)
		info->kernel_start = ph->p_paddr;
	info->kernel_end = MAX(info->kernel_end, ph->p_paddr + ph->p_memsz);
	return 0;
}

static int pvh_entry(const uint8_t *desc, uint32_t descsz, const char *name, uint64_t *entry)
{
	uint32_t e32;

	if (descsz == sizeof(e32)) {
		memcpy(&e32, desc, sizeof(e32));
		*entry = e32;
	} else if (descsz == sizeof(*entry)) {
		memcpy(entry, desc, sizeof(*entry));
	} else {
		pr_err("kernel %s: PVH entry note has %u bytes (want 4 or 8)", name, descsz);
		return -ENOEXEC;
	}
	if (*entry >= MEM_HOLE_END) {
		pr_err("kernel %s: PVH entry 0x%" PRIx64 " is not a 32-bit address", name, *entry);
		return -ENOEXEC;
	}
	return 1;
}

/* Walk one note area: 1 and *entry when it has the PVH note, 0 when not. */
static int find_pvh_note(const uint8_t *p, uint64_t len, uint64_t align, const char *name,
			 uint64_t *entry)
{
	uint64_t off = 0, desc;
	Elf64_Nhdr nh;

	while (len - off >= sizeof(nh)) {
		memcpy(&nh, p + off, sizeof(nh));
		desc = off + sizeof(nh) + ALIGN_UP((uint64_t)nh.n_namesz, align);
		if (desc > len || nh.n_descsz > len - desc) {
			pr_err("kernel %s: ELF note at offset 0x%" PRIx64 " overruns its area",
			       name, off);
			return -ENOEXEC;
		}
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    !memcmp(p + off + sizeof(nh), "Xen", 4))
			return pvh_entry(p + desc, nh.n_descsz, name, entry);
		off = desc + ALIGN_UP((uint64_t)nh.n_descsz, align);
		if (off > len)
			break;
	}
	return 0;
}

/* One note area ("segment" or "section") of the file: bounds, then the notes. */
static int scan_area(const struct boot_image *img, uint64_t off, uint64_t len,
		     uint64_t align, const char *what, uint64_t *entry)
{
	void *notes;
	int ret;

	if (!in_file(off, len, img->size)) {
		pr_err("kernel %s: ELF note %s lies outside the file", img->name, what);
		return -ENOEXEC;
	}
	ret = boot_image_dup(img, off, len, &notes);
	if (ret < 0)
		return ret;
	ret = find_pvh_note(notes, len, align == 8 ? 8 : 4, img->name, entry);
	free(notes);
	return ret;
}

static int scan_segments(const struct boot_image *img, uint64_t *entry)
{
	const Elf64_Phdr *ph;
	int ret = 0;

	for (unsigned int i = 0; i < img->phnum && !ret; i++) {
		ph = &img->ph[i];
		if (ph->p_type == PT_NOTE)
			ret = scan_area(img, ph->p_offset, ph->p_filesz, ph->p_align, "segment",
					entry);
	}
	return ret;
}

static int scan_sections(const struct boot_image *img, const Elf64_Ehdr *eh, uint64_t *entry)
{
	Elf64_Shdr *sh;
	void *table;
	int ret = 0;

	if (!eh->e_shoff || !eh->e_shnum)
		return 0;
	if (eh->e_shentsize != sizeof(*sh) ||
	    !in_file(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(*sh), img->size)) {
		pr_err("kernel %s: truncated ELF section header table", img->name);
		return -ENOEXEC;
	}
	ret = boot_image_dup(img, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(*sh), &table);
	if (ret < 0)
		return ret;
	sh = table;
	for (unsigned int i = 0; i < eh->e_shnum && !ret; i++) {
		if (sh[i].sh_type == SHT_NOTE)
			ret = scan_area(img, sh[i].sh_offset, sh[i].sh_size, sh[i].sh_addralign,
					"section", entry);
	}
	free(table);
	return ret;
}

static int check_entry(const char *name, struct boot_info *info)
{
	if (info->entry_addr < info->kernel_start || info->entry_addr >= info->kernel_end) {
		pr_err("kernel %s: entry point 0x%" PRIx64 " is outside the loaded segments",
		       name, info->entry_addr);
		return -ENOEXEC;
	}
	return 0;
}

int elf_parse(struct boot_image *img, uint64_t ram_size, struct boot_info *info)
{
	const char *name = img->name;
	const Elf64_Phdr *ph;
	Elf64_Ehdr eh;
	int ret;

	ret = read_ehdr(img, &eh);
	ret = ret ?: read_phdrs(img, &eh);
	if (ret < 0)
		return ret;
	for (unsigned int i = 0; i < img->phnum; i++) {
		ph = &img->ph[i];
		if (ph->p_type != PT_LOAD || !ph->p_memsz)
			continue;
		ret = check_load(ph, img->size, ram_size, name, info);
		if (ret < 0)
			return ret;
	}
	if (!info->kernel_end) {
		pr_err("kernel %s: no loadable ELF segment", name);
		return -ENOEXEC;
	}
	ret = scan_segments(img, &info->entry_addr);
	if (!ret)
		ret = scan_sections(img, &eh, &info->entry_addr);
	if (ret < 0)
		return ret;
	info->entry = ret ? BOOT_ENTRY_PVH : BOOT_ENTRY_LINUX64;
	if (!ret)
		info->entry_addr = eh.e_entry;
	info->cmdline_max = BOOT_ELF_CMDLINE_MAX;
	return check_entry(name, info);
}

/*
 * A segment's tail past p_filesz must read as zero. Fresh guest memory
 * already does, unless an earlier segment wrote there: clearing it anyway
 * would only fault in pages the guest may never touch.
 */
static bool needs_zero(const struct guest_mem *mem, uint64_t start, uint64_t end,
		       uint64_t lo, uint64_t hi)
{
	return start < end && (!mem->zero_filled || (start < hi && end > lo));
}

int elf_load(const struct boot_image *img, struct guest_mem *mem)
{
	uint64_t lo = 0, hi = 0;	/* what the segments so far cover */
	const Elf64_Phdr *ph;
	uint8_t *dst;
	int ret;

	for (unsigned int i = 0; i < img->phnum; i++) {
		ph = &img->ph[i];
		if (ph->p_type != PT_LOAD || !ph->p_memsz)
			continue;
		dst = guest_mem_ptr(mem, ph->p_paddr, ph->p_memsz);
		if (!dst) {
			pr_err("kernel %s: ELF segment at 0x%" PRIx64 " is not in guest RAM",
			       img->name, ph->p_paddr);
			return -EFAULT;
		}
		ret = boot_image_read(img, ph->p_offset, dst, ph->p_filesz);
		if (ret < 0)
			return ret;
		if (needs_zero(mem, ph->p_paddr + ph->p_filesz, ph->p_paddr + ph->p_memsz, lo, hi))
			memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
		lo = hi ? MIN(lo, ph->p_paddr) : ph->p_paddr;
		hi = MAX(hi, ph->p_paddr + ph->p_memsz);
	}
	return 0;
}
