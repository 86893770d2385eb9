/* SPDX-License-Identifier: MIT */
/*
 * A bump allocator for rings and buffers the devices read and write, over
 * a fixed stretch of guest RAM (16..48 MiB: the guest needs >= 64 MiB).
 * Addresses are identity-mapped, so a pointer is also the bus address.
 */
#ifndef PROBE_MEM_H
#define PROBE_MEM_H

#include <stdint.h>

/* len bytes aligned to align (a power of two); powers off when exhausted. */
void *mem_alloc(uint64_t len, uint64_t align);
void *mem_zalloc(uint64_t len, uint64_t align);
/* Everything allocated after mem_mark() is given back by mem_release(). */
uint64_t mem_mark(void);
void mem_release(uint64_t mark);

static inline uint64_t mem_addr(const volatile void *p)
{
	return (uint64_t)(uintptr_t)p;
}

#endif
