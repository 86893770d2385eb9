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
#define MEM_PAGE_SIZE	4096ULL		/* the unit of dirty bitmaps and memory files */

/* What stands behind guest RAM (zero: plain anonymous memory). */
enum guest_mem_backing {
	GUEST_MEM_ANON,
	GUEST_MEM_FILE,		/* MAP_PRIVATE of a memory file (File restore) */
	GUEST_MEM_UFFD,		/* anonymous, faults served by a handler (Uffd restore) */
};

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
	int memfd;			/* the memory file or the userfaultfd, else -1 */
	enum guest_mem_backing backing;
	/*
	 * Every byte still reads as zero: fresh anonymous or hugetlb memory
	 * that nothing was loaded into yet, so a loader need not clear it.
	 */
	bool zero_filled;
	/*
	 * Pages petrel handed out for the guest since the last
	 * guest_mem_get_dirty(): devices write guest RAM from host threads,
	 * which KVM's dirty log never sees. NULL: not tracked.
	 */
	uint64_t *dirty;
};

/*
 * Map mem_mib of guest RAM (MAP_NORESERVE: host RSS grows only with what the
 * guest touches), split around the 32-bit hole. Fails with a message that
 * says how to fix it (e.g. too few 2 MiB hugepages reserved).
 */
int guest_mem_create(struct guest_mem *mem, uint64_t mem_mib, enum huge_pages hp);
void guest_mem_destroy(struct guest_mem *mem);

/*
 * Host pointer for [gpa, gpa+len) when it lies wholly in one RAM region, else
 * NULL. With dirty tracking on, the range counts as dirty for the next Diff
 * snapshot: whoever asks for a pointer may write through it (virtqueue
 * buffers, rings, loaders).
 */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
/* Copy into / out of guest RAM; -EFAULT when the range is not RAM. */
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len);
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len);
/*
 * Copy into guest RAM within one 4 KiB page that holds nothing else the
 * guest needs. With the Uffd backend a page the handler has not served yet
 * is installed here (src amid zeros) rather than faulted in, so the caller
 * never waits on the handler. -EFAULT when the range is not RAM or spans pages.
 */
int guest_mem_write_own_page(const struct guest_mem *mem, uint64_t gpa, const void *src,
			     uint64_t len);
/* End of RAM below the hole (what the low region covers). */
uint64_t guest_mem_low_end(const struct guest_mem *mem);

/*
 * The memory file: guest RAM regions concatenated in order (region 0 = gpa 0
 * at file offset 0, region 1 = RAM above 4 GiB right after it), file size =
 * ram_size, absent pages are holes.
 *
 * Write guest RAM to fd. dirty == NULL: a Full snapshot, only pages the guest
 * ever touched (and not all zero) are written, the rest stay holes; the file is
 * emptied and sized to ram_size first. dirty != NULL: a Diff, only the pages
 * whose bit is set (one bit per 4 KiB page, laid out as the file) are written
 * at their offsets, over whatever the file holds (so a Diff may be written
 * onto a copy of its base). -errno with a message naming path.
 */
int guest_mem_save(const struct guest_mem *mem, int fd, const uint64_t *dirty,
		   const char *path, char *err, size_t errlen);
/*
 * Guest RAM for a restore from a memory file: mem_mib as configured, mapped
 * MAP_PRIVATE from fd (pages load on first touch, copy-on-write), in 4 KiB
 * pages: a snapshot of a huge_pages "2M" VM is for the Uffd backend, which
 * the caller checks. A file shorter than guest RAM is refused naming path.
 * guest_mem_destroy() unmaps it; the caller may close fd after.
 */
int guest_mem_create_from_file(struct guest_mem *mem, uint64_t mem_mib, int fd,
			       const char *path, char *err, size_t errlen);
/*
 * Guest RAM for a Uffd restore: anonymous, registered with a userfaultfd whose
 * descriptor and regions (Firecracker's JSON array: base_host_virt_addr, size,
 * offset, page_size, page_size_kib) go in one message to the handler listening
 * on sock_path. Connecting and sending time out rather than wait forever.
 */
int guest_mem_create_uffd(struct guest_mem *mem, uint64_t mem_mib, enum huge_pages hp,
			  const char *sock_path, char *err, size_t errlen);

/*
 * Dirty page tracking (track_dirty_pages): from now on, the ranges
 * guest_mem_ptr() hands out are marked too, for what KVM's log cannot see
 * (petrel's own writes). Without it, nothing is marked.
 */
int guest_mem_track_dirty(struct guest_mem *mem);
/* Words (uint64_t) in a dirty bitmap of mem: one bit per 4 KiB page of RAM. */
size_t guest_mem_dirty_words(const struct guest_mem *mem);
/*
 * The pages written since the last call, into dirty (cleared first): KVM's
 * dirty log of each memory slot (slot i = region i, which needs
 * KVM_MEM_LOG_DIRTY_PAGES), ORed with the pages petrel handed out to devices
 * and loaders (see guest_mem_ptr). Both logs restart empty. -errno, logged.
 */
int guest_mem_get_dirty(const struct guest_mem *mem, int vm_fd, uint64_t *dirty);

/*
 * `petrel snapshot rebase`: copy every data extent of the diff memory file
 * (SEEK_DATA/SEEK_HOLE) into base at the same offset. Both must be the same
 * size (snapshots of the same VM).
 */
int snapshot_rebase(const char *base, const char *diff, char *err, size_t errlen);

#endif
