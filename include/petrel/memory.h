/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_MEMORY_H
#define PETREL_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <petrel/config.h>

/*
 * Guest physical layout (x86_64). RAM starts at 0; the 32-bit hole
 * [MEM_HOLE_START, 4 GiB) holds MMIO; RAM beyond MEM_HOLE_START continues
 * at 4 GiB.
 */
#define MEM_HOLE_START		0xC0000000ULL
#define MEM_HOLE_END		0x100000000ULL
#define MEM_BOOT_TIMER_ADDR	0xC0000000ULL	/* first MMIO page */
#define MEM_VIRTIO_MMIO_BASE	0xC0001000ULL	/* then 4 KiB slots */
#define MEM_VIRTIO_MMIO_SLOT	0x1000ULL
#define MEM_IOAPIC_ADDR		0xFEC00000ULL
#define MEM_LAPIC_ADDR		0xFEE00000ULL

/* Low memory used by the boot path (all below 1 MiB). */
#define MEM_GDT_ADDR		0x500ULL
#define MEM_IDT_ADDR		0x520ULL
#define MEM_PVH_INFO_ADDR	0x6000ULL	/* struct hvm_start_info */
#define MEM_PVH_MEMMAP_ADDR	0x6040ULL	/* hvm_memmap_table_entry[] */
#define MEM_PVH_MEMMAP_MAX	32
#define MEM_ZERO_PAGE_ADDR	0x7000ULL	/* struct boot_params */
#define MEM_BOOT_STACK_ADDR	0x8FF0ULL
#define MEM_PML4_ADDR		0x9000ULL
#define MEM_PDPTE_ADDR		0xA000ULL
#define MEM_PDE_ADDR		0xB000ULL	/* 4 pages: identity map of 4 GiB */
#define MEM_CMDLINE_ADDR	0x20000ULL
#define MEM_CMDLINE_MAX		4096
#define MEM_EBDA_START		0x9FC00ULL	/* MP table lives here */
#define MEM_ACPI_START		0xE0000ULL	/* RSDP, then the other tables */
#define MEM_ACPI_END		0x100000ULL
#define MEM_HIMEM_START		0x100000ULL	/* kernels load at or above 1 MiB */

#define MEM_MAX_REGIONS 2

struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct guest_mem {
	struct guest_region regions[MEM_MAX_REGIONS];
	unsigned int nr_regions;
	uint64_t ram_size;		/* total bytes of RAM */
	enum huge_pages huge_pages;
	int memfd;			/* -1 unless file-backed */
};

/*
 * Map mem_mib of guest RAM (MAP_NORESERVE: host RSS grows only with what the
 * guest touches), split around the 32-bit hole. Fails with a message that
 * says how to fix it (e.g. too few 2 MiB hugepages reserved).
 */
int guest_mem_create(struct guest_mem *mem, uint64_t mem_mib, enum huge_pages hp);
void guest_mem_destroy(struct guest_mem *mem);

/* Host pointer for [gpa, gpa+len) when it lies wholly in one RAM region, else NULL. */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
/* Copy into / out of guest RAM; -EFAULT when the range is not RAM. */
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len);
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len);
/* End of RAM below the hole (what the low region covers). */
uint64_t guest_mem_low_end(const struct guest_mem *mem);

#endif
