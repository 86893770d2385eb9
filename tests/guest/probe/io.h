/* SPDX-License-Identifier: MIT */
/* Port I/O, MMIO and CPU primitives for the probe guest. */
#ifndef PROBE_IO_H
#define PROBE_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define static_assert	_Static_assert
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define __packed	__attribute__((packed))
#define __noreturn	__attribute__((noreturn))
#define MIN(a, b)	((a) < (b) ? (a) : (b))

/* Orders our ring writes against the device's view; x86 keeps stores in order. */
#define barrier()	asm volatile("" : : : "memory")

/* start.S identity-maps this much; nothing above it is reachable. */
#define PHYS_LIMIT	(4ULL << 30)

static inline void outb(uint16_t port, uint8_t val)
{
	asm volatile("outb %0, %1" : : "a"(val), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t val)
{
	asm volatile("outw %0, %1" : : "a"(val), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t val;

	asm volatile("inb %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

static inline void mmio_write8(uint64_t addr, uint8_t val)
{
	*(volatile uint8_t *)(uintptr_t)addr = val;
}

static inline void mmio_write16(uint64_t addr, uint16_t val)
{
	*(volatile uint16_t *)(uintptr_t)addr = val;
}

static inline void mmio_write32(uint64_t addr, uint32_t val)
{
	*(volatile uint32_t *)(uintptr_t)addr = val;
}

static inline void mmio_write64(uint64_t addr, uint64_t val)
{
	*(volatile uint64_t *)(uintptr_t)addr = val;
}

static inline uint8_t mmio_read8(uint64_t addr)
{
	return *(volatile uint8_t *)(uintptr_t)addr;
}

static inline uint16_t mmio_read16(uint64_t addr)
{
	return *(volatile uint16_t *)(uintptr_t)addr;
}

static inline uint32_t mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)(uintptr_t)addr;
}

static inline uint64_t mmio_read64(uint64_t addr)
{
	return *(volatile uint64_t *)(uintptr_t)addr;
}

/* A pointer to [pa, pa + len), or NULL if it is not mapped. */
static inline void *phys_ptr(uint64_t pa, uint64_t len)
{
	if (!pa || pa >= PHYS_LIMIT || len > PHYS_LIMIT - pa)
		return NULL;
	return (void *)(uintptr_t)pa;
}

static inline void cpuid(uint32_t leaf, uint32_t r[4])
{
	asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
		     : "a"(leaf), "c"(0));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/*
 * A monitor may act on a power-off or reset write a little after the
 * vCPU has moved on; give it time before reporting a failure.
 */
static inline void settle(void)
{
	uint64_t start = rdtsc();

	while (rdtsc() - start < 200000000ULL)
		;
}

static inline __noreturn void halt_forever(void)
{
	for (;;)
		asm volatile("cli; hlt");
}

#endif
