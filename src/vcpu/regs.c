// SPDX-License-Identifier: Apache-2.0
/* Boot-time CPU state: GDT, page tables, segment and control registers, MSRs, FPU, LAPIC. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <petrel/log.h>
#include <petrel/util.h>

#include "vcpu_priv.h"

#define GDT_CODE32	1
#define GDT_CODE64	2
#define GDT_DATA	3
#define GDT_TSS		4

#define CR0_PE		(1ull << 0)
#define CR0_ET		(1ull << 4)
#define CR0_PG		(1ull << 31)
#define CR4_PAE		(1ull << 5)
#define EFER_LME	(1ull << 8)
#define EFER_LMA	(1ull << 10)
#define PTE_PRESENT_RW	0x3ull
#define PTE_PS		0x80ull

#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_IA32_TSC		0x10
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MISC_ENABLE_FAST_STRING	1
#define MTRR_ENABLE_WB		((1u << 11) | 6)

#define APIC_LVT0		0x350
#define APIC_LVT1		0x360
#define APIC_MODE_NMI		0x4
#define APIC_MODE_EXTINT	0x7

static const uint64_t gdt[] = {
	[0] = 0,
	[GDT_CODE32] = 0x00cf9b000000ffffull,	/* flat 32-bit code, for PVH */
	[GDT_CODE64] = 0x00af9b000000ffffull,	/* 64-bit code */
	[GDT_DATA] = 0x00cf93000000ffffull,	/* flat data */
	[GDT_TSS] = 0x008f8b000000ffffull,	/* busy 32-bit TSS */
};

/* Decode a GDT entry into KVM's segment form so registers and table agree. */
static struct kvm_segment segment(unsigned int index)
{
	uint64_t e = gdt[index];
	uint32_t limit = ((e >> 32) & 0xf0000) | (e & 0xffff);

	/* KVM wants the limit in bytes: expand page granularity. */
	if ((e >> 55) & 1)
		limit = (limit << 12) | 0xfff;
	return (struct kvm_segment){
		.base = ((e >> 16) & 0xffffff) | (((e >> 56) & 0xff) << 24),
		.limit = limit,
		.selector = index * 8,
		.type = (e >> 40) & 0xf,
		.present = (e >> 47) & 1,
		.dpl = (e >> 45) & 3,
		.db = (e >> 54) & 1,
		.s = (e >> 44) & 1,
		.l = (e >> 53) & 1,
		.g = (e >> 55) & 1,
	};
}

int vcpu_write_boot_tables(struct guest_mem *mem)
{
	uint64_t pml4 = MEM_PDPTE_ADDR | PTE_PRESENT_RW;
	uint64_t pdpte[4], *pde;
	uint64_t idt = 0;
	int ret;

	ret = guest_mem_write(mem, MEM_GDT_ADDR, gdt, sizeof(gdt));
	ret = ret ?: guest_mem_write(mem, MEM_IDT_ADDR, &idt, sizeof(idt));
	ret = ret ?: guest_mem_write(mem, MEM_PML4_ADDR, &pml4, sizeof(pml4));
	for (unsigned int i = 0; i < ARRAY_SIZE(pdpte); i++)
		pdpte[i] = (MEM_PDE_ADDR + i * 0x1000) | PTE_PRESENT_RW;
	ret = ret ?: guest_mem_write(mem, MEM_PDPTE_ADDR, pdpte, sizeof(pdpte));
	if (ret)
		return ret;
	/* Identity-map the first 4 GiB with 2 MiB pages. */
	pde = guest_mem_ptr(mem, MEM_PDE_ADDR, 4 * 0x1000);
	if (!pde)
		return -EFAULT;
	for (uint64_t i = 0; i < 2048; i++)
		pde[i] = (i << 21) | PTE_PRESENT_RW | PTE_PS;
	return 0;
}

static void set_segments(struct kvm_sregs *sregs, unsigned int code)
{
	sregs->cs = segment(code);
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = segment(GDT_DATA);
	sregs->tr = segment(GDT_TSS);
	sregs->gdt.base = MEM_GDT_ADDR;
	sregs->gdt.limit = sizeof(gdt) - 1;
	sregs->idt.base = MEM_IDT_ADDR;
	sregs->idt.limit = 7;
}

static int setup_sregs(struct vcpu *vcpu, enum boot_entry entry)
{
	struct kvm_sregs sregs;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	if (entry == BOOT_ENTRY_PVH) {
		/* PVH: 32-bit protected mode, paging off. */
		set_segments(&sregs, GDT_CODE32);
		sregs.cr0 = CR0_PE | CR0_ET;
		sregs.cr4 = 0;
		sregs.efer = 0;
	} else {
		set_segments(&sregs, GDT_CODE64);
		sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
		sregs.cr3 = MEM_PML4_ADDR;
		sregs.cr4 = CR4_PAE;
		sregs.efer = EFER_LME | EFER_LMA;
	}
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	return 0;
}

int vcpu_setup_boot_regs(struct vcpu *vcpu, const struct boot_info *info)
{
	struct kvm_regs regs = { .rflags = 2, .rip = info->entry_addr };
	int ret;

	if (info->entry == BOOT_ENTRY_PVH) {
		regs.rbx = MEM_PVH_INFO_ADDR;
	} else {
		regs.rsi = MEM_ZERO_PAGE_ADDR;
		regs.rsp = regs.rbp = MEM_BOOT_STACK_ADDR;
	}
	ret = setup_sregs(vcpu, info->entry);
	if (ret)
		return ret;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

int vcpu_setup_msrs(struct vcpu *vcpu)
{
	static const struct { uint32_t index; uint64_t data; } boot_msrs[] = {
		{ MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 }, { MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 }, { MSR_SYSCALL_MASK, 0 }, { MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 }, { MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		{ MSR_MTRR_DEF_TYPE, MTRR_ENABLE_WB },
	};
	union {
		struct kvm_msrs hdr;
		/* kvm_msrs ends in a flexible array: room for its entries. */
		uint8_t buf[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry) * ARRAY_SIZE(boot_msrs)];
	} msrs = { .hdr.nmsrs = ARRAY_SIZE(boot_msrs) };
	int n;

	for (size_t i = 0; i < ARRAY_SIZE(boot_msrs); i++) {
		msrs.hdr.entries[i].index = boot_msrs[i].index;
		msrs.hdr.entries[i].data = boot_msrs[i].data;
	}
	n = ioctl(vcpu->fd, KVM_SET_MSRS, &msrs);
	if (n < 0)
		return -errno;
	if (n != (int)ARRAY_SIZE(boot_msrs))
		pr_debug("vcpu%u: KVM took %d of %zu boot MSRs (0x%x refused)", vcpu->index, n,
			 ARRAY_SIZE(boot_msrs), msrs.hdr.entries[n].index);
	return 0;
}

int vcpu_setup_fpu(struct vcpu *vcpu)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}

static void set_lvt_mode(struct kvm_lapic_state *lapic, unsigned int reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &lapic->regs[reg], sizeof(v));
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&lapic->regs[reg], &v, sizeof(v));
}

/* LINT0 delivers the PIC's ExtINT, LINT1 NMIs, as firmware leaves them. */
int vcpu_setup_lapic(struct vcpu *vcpu)
{
	struct kvm_lapic_state lapic;

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	set_lvt_mode(&lapic, APIC_LVT0, APIC_MODE_EXTINT);
	set_lvt_mode(&lapic, APIC_LVT1, APIC_MODE_NMI);
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

void vcpu_dump_regs(struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
		pr_err("vcpu%u: cannot read registers", vcpu->index);
		return;
	}
	pr_err("vcpu%u: rip=%#llx rsp=%#llx rflags=%#llx rax=%#llx rbx=%#llx rcx=%#llx rdx=%#llx "
	       "rsi=%#llx rdi=%#llx rbp=%#llx", vcpu->index, r.rip, r.rsp, r.rflags, r.rax,
	       r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp);
	pr_err("vcpu%u: cr0=%#llx cr2=%#llx cr3=%#llx cr4=%#llx efer=%#llx cs=%#x/%#llx",
	       vcpu->index, s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.cs.selector, s.cs.base);
}
