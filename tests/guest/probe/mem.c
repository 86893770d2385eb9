// SPDX-License-Identifier: MIT
#include "actions.h"
#include "lib.h"
#include "mem.h"
#include "serial.h"

#define MEM_START	(16ULL << 20)
#define MEM_END		(48ULL << 20)

static uint64_t next = MEM_START;

void *mem_alloc(uint64_t len, uint64_t align)
{
	uint64_t at = (next + align - 1) & ~(align - 1);

	if (at > MEM_END || len > MEM_END - at) {
		serial_printf("probe: out of memory for %lu bytes\n", len);
		probe_poweroff();
	}
	next = at + len;
	return (void *)(uintptr_t)at;
}

void *mem_zalloc(uint64_t len, uint64_t align)
{
	return memset(mem_alloc(len, align), 0, len);
}

uint64_t mem_mark(void)
{
	return next;
}

void mem_release(uint64_t mark)
{
	next = mark;
}
