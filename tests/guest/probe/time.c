// SPDX-License-Identifier: MIT
/*
 * The TSC frequency, in order of trust: the hypervisor's timing leaf
 * (0x40000010, KVM and VMware), KVM's clock (its TSC-to-ns scale), the
 * crystal leaf 0x15, the base frequency leaf 0x16, and last measurements
 * of 10 ms on PIT channel 0, which both petrel and QEMU microvm provide.
 */
#include <asm/kvm_para.h>

#include "cmdline.h"
#include "io.h"
#include "lib.h"
#include "mem.h"
#include "serial.h"
#include "time.h"

#define CPUID_HYPERVISOR	(1u << 31)	/* leaf 1, ECX */
#define HV_TIMING_LEAF		0x40000010
#define KVMCLOCK_ENABLE		1
#define KVMCLOCK_SPINS		100000

#define PIT_HZ			1193182
#define PIT_CH0			0x40
#define PIT_MODE		0x43
#define PIT_CH0_ONESHOT		0x30	/* channel 0, lo/hi byte, mode 0 */
#define PIT_CH0_LATCH		0x00
#define PIT_START		0xffff
#define PIT_TICKS		11932	/* 10 ms, well before the count wraps */
#define PIT_ROUNDS		3
#define PIT_GIVE_UP		(1ULL << 33)	/* cycles: seconds at any speed */

#define KHZ_MIN			100000ULL	/* 100 MHz .. 20 GHz is plausible */
#define KHZ_MAX			20000000ULL
#define KHZ_GUESS		2000000ULL

static uint64_t tsc_khz;

/* KVM's pvclock_vcpu_time_info (no UAPI header has it). */
struct pvclock {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __packed;
static_assert(sizeof(struct pvclock) == 32, "pvclock_vcpu_time_info");

static inline void wrmsr(uint32_t msr, uint64_t val)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)val),
		     "d"((uint32_t)(val >> 32)));
}

static uint64_t khz_hypervisor(void)
{
	uint32_t r[4];

	cpuid(1, r);
	if (!(r[2] & CPUID_HYPERVISOR))
		return 0;
	cpuid(0x40000000, r);
	if (r[0] < HV_TIMING_LEAF)
		return 0;
	cpuid(HV_TIMING_LEAF, r);
	return r[0];
}

static bool kvm_has(unsigned int feature)
{
	uint32_t r[4];

	cpuid(1, r);
	if (!(r[2] & CPUID_HYPERVISOR))
		return false;
	cpuid(KVM_CPUID_SIGNATURE, r);
	if (r[0] < KVM_CPUID_FEATURES || memcmp(&r[1], "KVMKVMKVM\0\0\0", 12))
		return false;
	cpuid(KVM_CPUID_FEATURES, r);
	return r[0] & (1u << feature);
}

/* Only where KVM says it has the MSR: a #GP here would end the VM. */
static uint64_t khz_kvmclock(void)
{
	static volatile struct pvclock clock __attribute__((aligned(64)));
	uint64_t khz = 1000000ULL << 32;
	int spins;

	if (!kvm_has(KVM_FEATURE_CLOCKSOURCE2))
		return 0;
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, mem_addr(&clock) | KVMCLOCK_ENABLE);
	for (spins = 0; spins < KVMCLOCK_SPINS && !clock.version; spins++)
		asm volatile("pause");
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
	if (!clock.version || !clock.tsc_to_system_mul || clock.tsc_shift > 31 ||
	    clock.tsc_shift < -31)
		return 0;
	khz /= clock.tsc_to_system_mul;
	return clock.tsc_shift < 0 ? khz << -clock.tsc_shift : khz >> clock.tsc_shift;
}

static uint64_t khz_crystal(void)
{
	uint32_t r[4];

	cpuid(0, r);
	if (r[0] < 0x15)
		return 0;
	cpuid(0x15, r);		/* TSC = crystal (ECX Hz) * EBX / EAX */
	if (!r[0] || !r[1] || !r[2])
		return 0;
	return (uint64_t)r[2] * r[1] / r[0] / 1000;
}

static uint64_t khz_base(void)
{
	uint32_t r[4];

	cpuid(0, r);
	if (r[0] < 0x16)
		return 0;
	cpuid(0x16, r);
	return (uint64_t)(r[0] & 0xffff) * 1000;
}

static uint16_t pit_count(void)
{
	uint8_t lo;

	outb(PIT_MODE, PIT_CH0_LATCH);
	lo = inb(PIT_CH0);
	return (uint16_t)(lo | inb(PIT_CH0) << 8);
}

/*
 * Channel 0 counting down once (QEMU microvm has no port 0x61 for channel
 * 2's gate); with interrupts off its one IRQ at zero is never taken.
 */
static uint64_t pit_round(void)
{
	uint64_t start, cycles;
	uint16_t first;

	outb(PIT_MODE, PIT_CH0_ONESHOT);
	outb(PIT_CH0, PIT_START & 0xff);
	outb(PIT_CH0, PIT_START >> 8);
	first = pit_count();
	start = rdtsc();
	do {
		cycles = rdtsc() - start;
	} while ((uint16_t)(first - pit_count()) < PIT_TICKS && cycles < PIT_GIVE_UP);
	return cycles * PIT_HZ / PIT_TICKS / 1000;
}

/* The median of a few rounds: a round the host delays reads high. */
static uint64_t khz_pit(void)
{
	uint64_t khz[PIT_ROUNDS], t;
	unsigned int i, j;

	for (i = 0; i < PIT_ROUNDS; i++) {
		khz[i] = pit_round();
		for (j = i; j > 0 && khz[j - 1] > khz[j]; j--) {
			t = khz[j];
			khz[j] = khz[j - 1];
			khz[j - 1] = t;
		}
	}
	return khz[PIT_ROUNDS / 2];
}

static bool plausible(uint64_t khz)
{
	return khz >= KHZ_MIN && khz <= KHZ_MAX;
}

void time_init(void)
{
	static const struct {
		const char *name;
		uint64_t (*khz)(void);
	} sources[] = {
		{ "cpuid-0x40000010", khz_hypervisor },
		{ "kvmclock", khz_kvmclock },
		{ "cpuid-0x15", khz_crystal },
		{ "cpuid-0x16", khz_base },
		{ "pit", khz_pit },
	};
	const char *from = "guess", *only = NULL;
	size_t only_len = 0;
	unsigned int i;

	if (tsc_khz)
		return;
	cmdline_value("probe.tsc=", &only, &only_len);
	for (i = 0; i < ARRAY_SIZE(sources) && !tsc_khz; i++) {
		uint64_t khz;

		if (only && !str_eq(only, only_len, sources[i].name))
			continue;
		khz = sources[i].khz();

		if (plausible(khz)) {
			tsc_khz = khz;
			from = sources[i].name;
		}
	}
	if (!tsc_khz)
		tsc_khz = KHZ_GUESS;
	serial_printf("probe: tsc khz=%lu from=%s\n", tsc_khz, from);
}

uint64_t time_deadline(uint64_t ms)
{
	return rdtsc() + ms * tsc_khz;
}

bool time_passed(uint64_t deadline)
{
	return (int64_t)(rdtsc() - deadline) >= 0;
}

uint64_t time_us(uint64_t cycles)
{
	return cycles * 1000 / tsc_khz;
}

uint64_t time_rate(uint64_t count, uint64_t cycles, uint64_t per_us)
{
	uint64_t us = time_us(cycles);

	return us ? count * per_us / us : 0;
}
