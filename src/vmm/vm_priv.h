/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_VM_PRIV_H
#define PETREL_VM_PRIV_H

#include <linux/kvm.h>
#include <stdatomic.h>

#include <petrel/acpi.h>
#include <petrel/boot.h>
#include <petrel/devices.h>
#include <petrel/memory.h>
#include <petrel/vcpu.h>
#include <petrel/virtio.h>
#include <petrel/vmm.h>

/* Virtio device n: MMIO slot n after MEM_VIRTIO_MMIO_BASE, GSI 5 + n (5..23). */
#define VM_VIRTIO_FIRST_GSI	5
#define VM_MAX_VIRTIO		19

struct vm {
	struct vm_options opts;
	int kvm_fd;
	int vm_fd;
	struct guest_mem mem;
	struct kvm_cpuid2 *cpuid;
	struct vcpu_env vcpu_env;
	struct vcpu *vcpus[CONFIG_MAX_VCPUS];
	unsigned int nr_vcpus;
	struct bus pio;
	struct bus mmio;
	struct serial *serial;
	struct i8042 *i8042;
	struct boot_timer boot_timer;
	struct vmgenid *vmgenid;	/* regenerated after every restore */
	struct acpi_pm acpi_pm;
	struct virtio_dev *virtio[VM_MAX_VIRTIO];
	unsigned int nr_virtio;
	int irqfds[24];			/* per GSI, -1 when unused */
	struct acpi_config acpi;
	struct boot_info boot;
	struct cmdline cmdline;
	struct event_loop *loop;
	bool own_loop;			/* made by vm_build (no vm_options.loop) */
	int exit_efd;			/* vCPUs ask the vmm thread to end the VM */
	atomic_int exit_reason;		/* enum vcpu_exit_reason + 1, 0: none yet */
	int serial_efd;			/* input room freed, output waiting */
	int out_fd;			/* the console output's description (console.c) */
	bool own_out_fd;		/* opened by petrel: closed with the VM */
	int own_in_fd;			/* the input's own description, -1: none */
	int log_efd;			/* a log line waits for the console (log.h) */
	int log_timer;			/* ... and LOG_HOLD_MS later goes out anyway */
	bool out_watched;		/* EPOLLOUT while output waits */
	bool stdin_watched;
	bool running;
	int exit_code;
};

/* "Restore this state" instead of "load a kernel": what vm_build needs for it. */
struct snap_state;
struct vm_restore {
	const struct snap_state *state;
	const char *state_path;		/* the state file, named in what is wrong with it */
	int mem_fd;			/* the memory file, mapped MAP_PRIVATE */
	const char *mem_path;
	const char *uffd_path;		/* Uffd backend: the handler's socket, else NULL */
	bool clock_realtime;
	char *err;			/* what is wrong, naming the file or section */
	size_t errlen;
	struct util_laps *laps;		/* where the time goes, for the Debug log */
};

/*
 * /dev/kvm and a new VM, opened while petrel waits for its first request:
 * KVM_CREATE_VM takes a fifth of a millisecond. Both fds, or both -1.
 */
struct vm_kvm {
	int kvm_fd;
	int vm_fd;
};
void vm_kvm_prepare(struct vm_kvm *k);
void vm_kvm_release(struct vm_kvm *k);

/* from NULL: a cold boot. pre (or NULL): its fds are the VM's from now on, pre's -1. */
int vm_build_from(const struct vm_config *cfg, const struct vm_options *opts,
		  const struct vm_restore *from, struct vm_kvm *pre, struct vm **out);

/* snapshot.c: the VM's state, every part's through its own interface. */
int vm_save_state(struct vm *vm, const struct vm_config *cfg, struct snap_buf *out,
		  const char *path, char *err, size_t errlen);
int vm_restore_state(struct vm *vm, const struct vm_restore *from);
int vm_state_config(const struct snap_state *st, struct vm_config *cfg, char *err,
		    size_t errlen);

/* vm.c: watch the vCPUs' exit requests and the console, start the vCPUs. */
int vm_start(struct vm *vm);

/* builder.c */
int vm_setup_devices(struct vm *vm, const struct vm_config *cfg);
int vm_setup_virtio(struct vm *vm, const struct vm_config *cfg);
int vm_load_guest(struct vm *vm, const struct vm_config *cfg);
/* balloon.c: the balloon's API requests (the device is there once vm is). */
struct api_request;
void vm_balloon_request(struct vm_config *cfg, struct vm *vm, struct api_request *req);
/* console.c */
/* Before the filters: non-blocking descriptions of the console's own (output here, input at attach). */
void vm_console_open_output(struct vm *vm);
/* serial.serial_out_path instead: the guest's output to this file, no input; -errno, logged. */
int vm_console_open_file(struct vm *vm, const char *path);
int vm_console_attach(struct vm *vm);
void vm_console_detach(struct vm *vm);
/* At the end, the vCPUs stopped: what still waits gets a bounded time to go out. */
void vm_console_flush(struct vm *vm);
void vm_console_close(struct vm *vm);

#endif
