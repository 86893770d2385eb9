/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the files of src/memory/: guest RAM's layout and how it is mapped. */
#ifndef PETREL_MEMORY_PRIV_H
#define PETREL_MEMORY_PRIV_H

#include <petrel/memory.h>

/* Fill in the regions of mem_mib of RAM (nothing mapped yet); -errno, logged. */
int mem_layout(struct guest_mem *mem, uint64_t mem_mib, enum huge_pages hp);
/* Map every region as anonymous memory; -errno, logged. */
int mem_map_anon(struct guest_mem *mem);
/* The empty bitmap guest_mem_ptr() marks; -ENOMEM. */
/* Index of the first 4 KiB page of region i in the memory file and dirty bitmaps. */
uint64_t mem_region_page(const struct guest_mem *mem, unsigned int i);
/* Mark [off, off+len) of region i dirty. */
void mem_mark_dirty(const struct guest_mem *mem, unsigned int i, uint64_t off, uint64_t len);

/* uffd.c: install the 4 KiB page at host, src at off amid zeros; -errno (-EEXIST: it is there). */
int mem_uffd_fill(const struct guest_mem *mem, void *host, uint64_t off, const void *src,
		  uint64_t len);

#endif
