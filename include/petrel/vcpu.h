/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_VCPU_H
#define PETREL_VCPU_H

#include <stdbool.h>
#include <stdint.h>
#include <petrel/boot.h>
#include <petrel/devices.h>
#include <petrel/memory.h>

struct kvm_cpuid2;

/* Why a vCPU asks the VM to end. */
enum vcpu_exit_reason {
	VCPU_EXIT_POWEROFF,	/* ACPI sleep to S5 */
	VCPU_EXIT_RESET,	/* i8042 / ACPI reset, triple fault */
	VCPU_EXIT_ERROR,	/* KVM failure, internal error, failed entry */
};

/* What every vCPU of a VM shares. */
struct vcpu_env {
	int kvm_fd;
	int vm_fd;
	int run_size;				/* KVM_GET_VCPU_MMAP_SIZE */
	const struct bus *pio;
	const struct bus *mmio;
	/*
	 * KVM_GET_SUPPORTED_CPUID, for a boot. NULL for a restore: the
	 * snapshot's state gives CPUID, MSRs, FPU and LAPIC, so vcpu_create()
	 * only makes the vCPU.
	 */
	const struct kvm_cpuid2 *cpuid;
	unsigned int nr_vcpus;
	bool smt;
	void (*request_exit)(void *opaque, enum vcpu_exit_reason why);
	void *opaque;
};

struct vcpu;

struct vcpu *vcpu_create(const struct vcpu_env *env, unsigned int index);
/* Registers of the boot CPU for the kernel's entry point. */
int vcpu_setup_boot_regs(struct vcpu *vcpu, const struct boot_info *info);
/* GDT, IDT and identity page tables in low memory, shared by all vCPUs. */
int vcpu_write_boot_tables(struct guest_mem *mem);
/* Start the thread (named "fc_vcpu N"); it runs until vcpu_stop(). */
int vcpu_start(struct vcpu *vcpu);
/* How long a thread has to park or end once asked: it is out of KVM_RUN within microseconds. */
#define VCPU_PAUSE_TIMEOUT_MS	1000
#define VCPU_STOP_TIMEOUT_MS	2000
/*
 * Make KVM_RUN return and the thread end; then join it. -ETIMEDOUT if it
 * does not end in time (stuck in a host call): it is left running then.
 */
int vcpu_stop(struct vcpu *vcpu);
/*
 * Kick the vCPU out of KVM_RUN and return once its thread is parked (or has
 * ended); before vcpu_start(), make it start parked. -ETIMEDOUT if it does not park in time: the pause stays asked
 * for, so call vcpu_resume() to take it back.
 */
int vcpu_pause(struct vcpu *vcpu);
/* Let a parked vCPU run again (or take back a pause it has not parked for). */
void vcpu_resume(struct vcpu *vcpu);
/* vcpu_stop(), then free it; -ETIMEDOUT, and nothing freed, if its thread would not end. */
int vcpu_destroy(struct vcpu *vcpu);
/*
 * Snapshots: the vCPU's whole state (registers, FPU/XSAVE, XCRs, debug
 * registers, LAPIC, MP state, events, TSC rate, every MSR KVM lists and will
 * read, CPUID) appended to out; the vCPU must be paused (or not started).
 */
struct snap_buf;
int vcpu_save(struct vcpu *vcpu, struct snap_buf *out);
/* Put it back before the vCPU starts; -EINVAL with err saying what does not fit. */
int vcpu_restore(struct vcpu *vcpu, const void *data, size_t len, char *err, size_t errlen);
/* Log the registers (after a fatal exit). */
void vcpu_dump_regs(struct vcpu *vcpu);

/* Per-vCPU CPUID from KVM's supported set (exposed for unit tests). */
int cpuid_normalize(struct kvm_cpuid2 *cpuid, unsigned int index, unsigned int nr_vcpus, bool smt);

/* The signal used to kick vCPU threads out of KVM_RUN. */
int vcpu_signal(void);

#endif
