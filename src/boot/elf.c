// SPDX-License-Identifier: Apache-2.0
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
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

static int read_ehdr(const uint8_t *data, size_t size, const char *name, Elf64_Ehdr *eh)
{
	if (size < sizeof(*eh)) {
		pr_err("kernel %s: truncated ELF header", name);
		return -ENOEXEC;
	}
	memcpy(eh, data, sizeof(*eh));
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
	if (!in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), size)) {
		pr_err("kernel %s: truncated ELF program header table", name);
		return -ENOEXEC;
	}
	return 0;
}

static void get_phdr(const uint8_t *data, const Elf64_Ehdr *eh, unsigned int i, Elf64_Phdr *ph)
{
	memcpy(ph, data + eh->e_phoff + (uint64_t)i * sizeof(*ph), sizeof(*ph));
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
static int scan_area(const uint8_t *data, size_t size, uint64_t off, uint64_t len,
		     uint64_t align, const char *what, const char *name, uint64_t *entry)
{
	if (!in_file(off, len, size)) {
		pr_err("kernel %s: ELF note %s lies outside the file", name, what);
		return -ENOEXEC;
	}
	return find_pvh_note(data + off, len, align == 8 ? 8 : 4, name, entry);
}

static int scan_segments(const uint8_t *data, size_t size, const Elf64_Ehdr *eh,
			 const char *name, uint64_t *entry)
{
	Elf64_Phdr ph;
	int ret = 0;

	for (unsigned int i = 0; i < eh->e_phnum && !ret; i++) {
		get_phdr(data, eh, i, &ph);
		if (ph.p_type == PT_NOTE)
			ret = scan_area(data, size, ph.p_offset, ph.p_filesz, ph.p_align,
					"segment", name, entry);
	}
	return ret;
}

static int scan_sections(const uint8_t *data, size_t size, const Elf64_Ehdr *eh,
			 const char *name, uint64_t *entry)
{
	Elf64_Shdr sh;
	int ret = 0;

	if (!eh->e_shoff || !eh->e_shnum)
		return 0;
	if (eh->e_shentsize != sizeof(sh) ||
	    !in_file(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(sh), size)) {
		pr_err("kernel %s: truncated ELF section header table", name);
		return -ENOEXEC;
	}
	for (unsigned int i = 0; i < eh->e_shnum && !ret; i++) {
		memcpy(&sh, data + eh->e_shoff + (uint64_t)i * sizeof(sh), sizeof(sh));
		if (sh.sh_type == SHT_NOTE)
			ret = scan_area(data, size, sh.sh_offset, sh.sh_size, sh.sh_addralign,
					"section", name, entry);
	}
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

int elf_parse(const uint8_t *data, size_t size, uint64_t ram_size, const char *name,
	      struct boot_info *info)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int ret;

	ret = read_ehdr(data, size, name, &eh);
	if (ret < 0)
		return ret;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		get_phdr(data, &eh, i, &ph);
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		ret = check_load(&ph, size, ram_size, name, info);
		if (ret < 0)
			return ret;
	}
	if (!info->kernel_end) {
		pr_err("kernel %s: no loadable ELF segment", name);
		return -ENOEXEC;
	}
	ret = scan_segments(data, size, &eh, name, &info->entry_addr);
	if (!ret)
		ret = scan_sections(data, size, &eh, name, &info->entry_addr);
	if (ret < 0)
		return ret;
	info->entry = ret ? BOOT_ENTRY_PVH : BOOT_ENTRY_LINUX64;
	if (!ret)
		info->entry_addr = eh.e_entry;
	info->cmdline_max = BOOT_ELF_CMDLINE_MAX;
	return check_entry(name, info);
}

int elf_load(struct guest_mem *mem, const uint8_t *data, size_t size, const char *name)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	uint8_t *dst;

	memcpy(&eh, data, sizeof(eh));
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		get_phdr(data, &eh, i, &ph);
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		dst = guest_mem_ptr(mem, ph.p_paddr, ph.p_memsz);
		if (!dst) {
			pr_err("kernel %s: ELF segment at 0x%" PRIx64 " is not in guest RAM",
			       name, ph.p_paddr);
			return -EFAULT;
		}
		memcpy(dst, data + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
	return 0;
}
