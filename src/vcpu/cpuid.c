// SPDX-License-Identifier: Apache-2.0
/* Per-vCPU CPUID: KVM's supported set, made consistent with this VM's topology. */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#include <petrel/util.h>
#include <petrel/vcpu.h>

#define LEAF1_ECX_TSC_DEADLINE	(1u << 24)
#define LEAF1_ECX_HYPERVISOR	(1u << 31)
#define LEAF1_EDX_HTT		(1u << 28)
#define TOPO_TYPE_SMT		1
#define TOPO_TYPE_CORE		2

static unsigned int order_base_2(unsigned int n)
{
	unsigned int bits = 0;

	while ((1u << bits) < n)
		bits++;
	return bits;
}

static void set_leaf1(struct kvm_cpuid_entry2 *e, unsigned int apic_id, unsigned int nr_vcpus)
{
	e->ebx = (e->ebx & 0x0000ffff) | (apic_id << 24) | ((nr_vcpus & 0xff) << 16);
	e->ecx |= LEAF1_ECX_HYPERVISOR;
	if (nr_vcpus > 1)
		e->edx |= LEAF1_EDX_HTT;
	else
		e->edx &= ~LEAF1_EDX_HTT;
}

/* Leaves 0xb and 0x1f: one SMT level (2 threads with smt) and one core level. */
static void set_topology(struct kvm_cpuid_entry2 *e, unsigned int apic_id,
			 unsigned int nr_vcpus, unsigned int threads)
{
	unsigned int smt_shift = order_base_2(threads);
	unsigned int core_shift = order_base_2(nr_vcpus);

	e->edx = apic_id;
	switch (e->index) {
	case 0:
		e->eax = smt_shift;
		e->ebx = threads;
		e->ecx = (TOPO_TYPE_SMT << 8) | e->index;
		break;
	case 1:
		e->eax = MAX(core_shift, smt_shift);
		e->ebx = nr_vcpus;
		e->ecx = (TOPO_TYPE_CORE << 8) | e->index;
		break;
	default:
		e->eax = e->ebx = 0;
		e->ecx = e->index;
		break;
	}
}

/* Leaf 4 (Intel caches): cores per package and threads sharing each cache. */
static void set_cache_leaf(struct kvm_cpuid_entry2 *e, unsigned int nr_vcpus, unsigned int threads)
{
	unsigned int level = (e->eax >> 5) & 7;
	unsigned int sharing = level >= 3 ? nr_vcpus : threads;

	if (!(e->eax & 0x1f))
		return;		/* no cache here */
	e->eax &= 0x3ff;
	e->eax |= ((sharing - 1) & 0xfff) << 14;
	e->eax |= ((nr_vcpus / threads - 1) & 0x3f) << 26;
}

int cpuid_normalize(struct kvm_cpuid2 *cpuid, unsigned int index, unsigned int nr_vcpus, bool smt)
{
	unsigned int threads = (smt && nr_vcpus > 1) ? 2 : 1;

	if (!nr_vcpus || index >= nr_vcpus)
		return -EINVAL;
	for (unsigned int i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			set_leaf1(e, index, nr_vcpus);
			break;
		case 4:
			set_cache_leaf(e, nr_vcpus, threads);
			break;
		case 0xb:
		case 0x1f:
			set_topology(e, index, nr_vcpus, threads);
			break;
		case 0x80000008:
			/* AMD: number of threads in the package, minus one. */
			e->ecx = (e->ecx & ~0xffu) | ((nr_vcpus - 1) & 0xff);
			break;
		case 0x8000001e:
			/* AMD: extended APIC id, compute unit id, threads per unit. */
			e->eax = index;
			e->ebx = (e->ebx & ~0xffffu) | ((threads - 1) << 8) | (index / threads);
			e->ecx = 0;
			break;
		default:
			break;
		}
	}
	return 0;
}
