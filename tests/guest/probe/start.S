/* SPDX-License-Identifier: MIT */
/*
 * PVH entry: 32-bit protected mode, paging off, %ebx = hvm_start_info.
 * Load our own GDT, turn on long mode with an identity map of the low
 * 4 GiB, and call probe_main(start_info) on a stack in .bss.
 */

#define XEN_ELFNOTE_PHYS32_ENTRY	18

#define SEL_CODE64	0x08
#define SEL_DATA	0x10

#define CR0_PE		(1 << 0)
#define CR0_PG		(1 << 31)
#define CR4_PAE		(1 << 5)
#define MSR_EFER	0xc0000080
#define EFER_LME	(1 << 8)

#define PTE_P		0x001
#define PTE_RW		0x002
#define PTE_PWT		0x008
#define PTE_PCD		0x010
#define PTE_PS		0x080
#define PAGE_2M		0x200000

#define STACK_SIZE	16384

/* The loader finds the 32-bit entry point through this note. */
	.pushsection .note.Xen, "a", @note
	.balign 4
	.long 4				/* namesz: "Xen\0" */
	.long 4				/* descsz: a 32-bit address */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.balign 4
	.long pvh_start
	.popsection

	.section .text.boot, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
	cld
	lgdt gdt_desc
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movl $stack_top, %esp

	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	ljmp $SEL_CODE64, $long_entry

	.code64
long_entry:
	movq $stack_top, %rsp
	movl %ebx, %edi			/* zero-extends: start_info is below 4 GiB */
	call probe_main
1:	cli
	hlt
	jmp 1b

	.section .rodata
	.balign 8
gdt:
	.quad 0				/* null */
	.quad 0x00af9a000000ffff	/* SEL_CODE64: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff	/* SEL_DATA: flat 4 GiB data */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

/*
 * Built at link time rather than by a loop at boot: on nested KVM the
 * guest's kernel-mode instructions are emulated, so each one costs time.
 */
	.section .data.pagetables, "aw"
	.balign 4096
pml4:
	.quad pdpt + (PTE_P | PTE_RW)
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x0000 + (PTE_P | PTE_RW)
	.quad pd + 0x1000 + (PTE_P | PTE_RW)
	.quad pd + 0x2000 + (PTE_P | PTE_RW)
	.quad pd + 0x3000 + (PTE_P | PTE_RW)
	.fill 508, 8, 0
pd:
	.set addr, 0
	.rept 1536			/* 0..3 GiB: RAM */
	.quad addr + (PTE_P | PTE_RW | PTE_PS)
	.set addr, addr + PAGE_2M
	.endr
	.rept 512			/* 3..4 GiB: device MMIO, uncached */
	.quad addr + (PTE_P | PTE_RW | PTE_PS | PTE_PWT | PTE_PCD)
	.set addr, addr + PAGE_2M
	.endr

	.section .bss
	.balign 16
	.skip STACK_SIZE
stack_top:

	.section .note.GNU-stack, "", @progbits
