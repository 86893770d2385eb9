// SPDX-License-Identifier: Apache-2.0
/* The VM object: KVM setup, the run loop on the vmm thread, teardown. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <petrel/log.h>
#include <petrel/metrics.h>
#include <petrel/timeline.h>
#include <petrel/util.h>

#include "vm_priv.h"

#define KVM_TSS_ADDR		0xfffbd000ul
#define KVM_IDENTITY_MAP_ADDR	0xfffbc000ull
#define MAX_CPUID_ENTRIES	256

static int kvm_open(struct vm *vm)
{
	static const struct { int cap; const char *name; } caps[] = {
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" }, { KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
		{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" }, { KVM_CAP_PIT2, "KVM_CAP_PIT2" },
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	};

	if (vm->kvm_fd < 0)
		vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int err = -errno;

		pr_err("cannot open /dev/kvm: %s", strerror(errno));
		return err;
	}
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		pr_err("/dev/kvm: unsupported KVM API version");
		return -ENOTSUP;
	}
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			pr_err("/dev/kvm: missing %s", caps[i].name);
			return -ENOTSUP;
		}
	}
	return 0;
}

static int kvm_ioctl_checked(int fd, unsigned long req, unsigned long arg, const char *what)
{
	if (ioctl(fd, req, arg) < 0) {
		int err = -errno;

		pr_err("%s: %s", what, strerror(errno));
		return err;
	}
	return 0;
}

static int create_vm(struct vm *vm)
{
	if (vm->vm_fd < 0)
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		int ret = -errno;

		pr_err("KVM_CREATE_VM: %s", strerror(errno));
		return ret;
	}
	return 0;
}

/*
 * After the memory slots: each of these registers I/O devices, and each
 * registration waits for an SRCU grace period; a memory slot added right
 * after such a burst waited milliseconds more for its own.
 */
static int create_chips(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t ident = KVM_IDENTITY_MAP_ADDR;
	int ret;

	ret = kvm_ioctl_checked(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR, "KVM_SET_TSS_ADDR");
	ret = ret ?: kvm_ioctl_checked(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR,
				       (unsigned long)&ident, "KVM_SET_IDENTITY_MAP_ADDR");
	ret = ret ?: kvm_ioctl_checked(vm->vm_fd, KVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP");
	ret = ret ?: kvm_ioctl_checked(vm->vm_fd, KVM_CREATE_PIT2, (unsigned long)&pit,
				       "KVM_CREATE_PIT2");
	return ret;
}

/*
 * A restore maps the memory file copy-on-write, or leaves guest RAM to a page
 * fault handler (Uffd): either way pages load as the guest touches them.
 */
static int create_memory(struct vm *vm, const struct vm_config *cfg,
			 const struct vm_restore *from)
{
	if (!from)
		return guest_mem_create(&vm->mem, cfg->machine.mem_size_mib,
					cfg->machine.huge_pages);
	if (from->uffd_path)
		return guest_mem_create_uffd(&vm->mem, cfg->machine.mem_size_mib,
					     cfg->machine.huge_pages, from->uffd_path,
					     from->err, from->errlen);
	return guest_mem_create_from_file(&vm->mem, cfg->machine.mem_size_mib, from->mem_fd,
					  from->mem_path, from->err, from->errlen);
}

static int map_memory(struct vm *vm, const struct vm_config *cfg, const struct vm_restore *from)
{
	int ret = create_memory(vm, cfg, from);

	if (!ret && cfg->machine.track_dirty_pages)
		ret = guest_mem_track_dirty(&vm->mem);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		struct kvm_userspace_memory_region r = {
			.slot = i,
			.flags = cfg->machine.track_dirty_pages ? KVM_MEM_LOG_DIRTY_PAGES : 0,
			.guest_phys_addr = vm->mem.regions[i].gpa,
			.memory_size = vm->mem.regions[i].size,
			.userspace_addr = (uintptr_t)vm->mem.regions[i].host,
		};

		ret = kvm_ioctl_checked(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, (unsigned long)&r,
					"KVM_SET_USER_MEMORY_REGION");
		if (ret)
			return ret;
	}
	return 0;
}

static int get_cpuid(struct vm *vm)
{
	vm->cpuid = calloc(1, sizeof(*vm->cpuid) +
			      MAX_CPUID_ENTRIES * sizeof(vm->cpuid->entries[0]));
	if (!vm->cpuid)
		return -ENOMEM;
	vm->cpuid->nent = MAX_CPUID_ENTRIES;
	return kvm_ioctl_checked(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, (unsigned long)vm->cpuid,
				 "KVM_GET_SUPPORTED_CPUID");
}

/* Called on a vCPU thread: record the first reason and wake the vmm thread. */
static void request_exit(void *opaque, enum vcpu_exit_reason why)
{
	struct vm *vm = opaque;
	int none = 0;
	uint64_t one = 1;

	atomic_compare_exchange_strong(&vm->exit_reason, &none, (int)why + 1);
	if (write(vm->exit_efd, &one, sizeof(one)) < 0) {
		/* The counter is already non-zero. */
	}
}

static int create_vcpus(struct vm *vm, const struct vm_config *cfg, bool boot)
{
	int run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);

	if (run_size < 0)
		return -errno;
	vm->vcpu_env = (struct vcpu_env){
		.kvm_fd = vm->kvm_fd, .vm_fd = vm->vm_fd, .run_size = run_size,
		.pio = &vm->pio, .mmio = &vm->mmio, .cpuid = vm->cpuid,
		.nr_vcpus = cfg->machine.vcpu_count, .smt = cfg->machine.smt,
		.request_exit = request_exit, .opaque = vm,
	};
	for (unsigned int i = 0; i < cfg->machine.vcpu_count; i++) {
		vm->vcpus[i] = vcpu_create(&vm->vcpu_env, i);
		if (!vm->vcpus[i])
			return -EIO;
		vm->nr_vcpus++;
	}
	return boot ? vcpu_setup_boot_regs(vm->vcpus[0], &vm->boot) : 0;
}

static void warn_pvm(void)
{
	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		pr_warn("/dev/kvm is PVM-based (kvm_pvm): guest kernel code is emulated, so Linux "
			"guests will not boot at a useful speed here; see tests/hostvm/README.md");
}

static void vm_init_fds(struct vm *vm)
{
	vm->kvm_fd = vm->vm_fd = vm->exit_efd = vm->serial_efd = vm->out_fd = vm->own_in_fd = -1;
	vm->log_efd = vm->log_timer = -1;
	vm->mem.memfd = -1;
	for (size_t i = 0; i < ARRAY_SIZE(vm->irqfds); i++)
		vm->irqfds[i] = -1;
}

int vm_build(const struct vm_config *cfg, const struct vm_options *opts, struct vm **out)
{
	return vm_build_from(cfg, opts, NULL, NULL, out);
}

/* Quietly: a build without them opens its own and says what fails. */
void vm_kvm_prepare(struct vm_kvm *k)
{
	k->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	k->vm_fd = k->kvm_fd >= 0 ? ioctl(k->kvm_fd, KVM_CREATE_VM, 0) : -1;
	if (k->vm_fd < 0)
		vm_kvm_release(k);
}

void vm_kvm_release(struct vm_kvm *k)
{
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->kvm_fd >= 0)
		close(k->kvm_fd);
	k->kvm_fd = k->vm_fd = -1;
}

/* Guest memory holds the kernel and tables already: only the parts' state goes back. */
static int restore(struct vm *vm, const struct vm_config *cfg, const struct vm_restore *from)
{
	int ret = create_vcpus(vm, cfg, false);

	util_lap(from->laps, "vcpus");
	ret = ret ?: vm_restore_state(vm, from);
	util_lap(from->laps, "state");
	return ret;
}

/* A cold boot's phase, for the timeline; a restore's are not recorded. */
static void reached(int ret, enum boot_phase p)
{
	if (!ret)
		timeline_mark(p);
}

static int load(struct vm *vm, const struct vm_config *cfg)
{
	int ret = vm_load_guest(vm, cfg);

	reached(ret, BOOT_KERNEL_LOADED);
	return ret ?: create_vcpus(vm, cfg, true);
}

int vm_build_from(const struct vm_config *cfg, const struct vm_options *opts,
		  const struct vm_restore *from, struct vm_kvm *pre, struct vm **out)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	struct util_laps *laps = from ? from->laps : NULL;
	int ret;

	if (!vm) {
		if (pre)
			vm_kvm_release(pre);
		return -ENOMEM;
	}
	vm_init_fds(vm);
	if (pre) {
		vm->kvm_fd = pre->kvm_fd;
		vm->vm_fd = pre->vm_fd;
		pre->kvm_fd = pre->vm_fd = -1;
	}
	vm->opts = *opts;
	vm->boot_timer.start_us = util_now_us();
	vm->boot_timer.enabled = opts->boot_timer;
	warn_pvm();
	vm->exit_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->own_loop = !opts->loop;
	vm->loop = opts->loop ?: event_loop_create();
	if (vm->exit_efd < 0 || !vm->loop) {
		ret = -errno;
		goto err;
	}
	ret = kvm_open(vm);
	ret = ret ?: create_vm(vm);
	util_lap(laps, "kvm");
	ret = ret ?: map_memory(vm, cfg, from);
	util_lap(laps, "memory");
	reached(ret, BOOT_MEMORY_MAPPED);
	ret = ret ?: create_chips(vm);
	util_lap(laps, "irqchip+pit");
	/* A restore sets the snapshot's CPUID: it needs no list of what KVM supports. */
	ret = ret ?: (from ? 0 : get_cpuid(vm));
	vm->acpi.nr_cpus = cfg->machine.vcpu_count;
	ret = ret ?: vm_setup_devices(vm, cfg);
	ret = ret ?: vm_setup_virtio(vm, cfg);
	util_lap(laps, "devices");
	reached(ret, BOOT_DEVICES_ATTACHED);
	if (!ret)
		ret = from ? restore(vm, cfg, from) : load(vm, cfg);
	if (ret)
		goto err;
	*out = vm;
	return 0;
err:
	vm_destroy(vm);
	return ret;
}

static void on_exit_request(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t v;
	int why = atomic_load(&vm->exit_reason) - 1;

	if (read(vm->exit_efd, &v, sizeof(v)) < 0)
		return;
	if (why < 0)
		return;
	vm->running = false;
	vm->exit_code = why == VCPU_EXIT_ERROR ? 1 : 0;
	pr_info("guest %s", why == VCPU_EXIT_POWEROFF ? "powered off" :
		why == VCPU_EXIT_RESET ? "reset" : "stopped on an error");
}

int vm_start(struct vm *vm)
{
	int ret;

	ret = event_loop_add(vm->loop, vm->exit_efd, EPOLLIN, on_exit_request, vm);
	ret = ret ?: vm_console_attach(vm);
	for (unsigned int i = 0; !ret && i < vm->nr_vcpus; i++)
		ret = vcpu_start(vm->vcpus[i]);
	if (ret) {
		pr_err("cannot start the VM: %s", strerror(-ret));
		return ret;
	}
	vm->running = true;
	return 0;
}

/* The watches of a VM on a loop that outlives it. */
static void unwatch(struct vm *vm)
{
	event_loop_del(vm->loop, vm->exit_efd);
	if (vm->stdin_watched)
		event_loop_del(vm->loop, vm->opts.console_in_fd);
	if (vm->serial_efd >= 0)
		event_loop_del(vm->loop, vm->serial_efd);
	if (vm->out_watched)
		event_loop_del(vm->loop, vm->out_fd);
}

void vm_destroy(struct vm *vm)
{
	bool stuck = false;

	if (!vm)
		return;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		stuck |= vcpu_destroy(vm->vcpus[i]) < 0;
	if (vm->serial && !stuck)	/* a stuck vCPU may hold the UART's lock */
		vm_console_flush(vm);
	vm_console_detach(vm);
	if (vm->loop)
		unwatch(vm);
	/* The vCPUs are stopped and the devices still here: the last line is complete. */
	metrics_flush();
	if (stuck) {
		/* A vCPU thread that would not end may still touch them; the process ends next. */
		pr_err("a vCPU is still running: the VM's devices and memory stay until petrel exits");
		return;
	}
	for (unsigned int i = 0; i < vm->nr_virtio; i++) {
		metrics_source_remove(&vm->virtio[i]->metrics);
		virtio_dev_destroy(vm->virtio[i]);
	}
	serial_destroy(vm->serial);
	vm_console_close(vm);
	i8042_destroy(vm->i8042);
	vmgenid_destroy(vm->vmgenid);
	for (size_t i = 0; i < ARRAY_SIZE(vm->irqfds); i++)
		if (vm->irqfds[i] >= 0)
			close(vm->irqfds[i]);
	if (vm->own_loop)
		event_loop_destroy(vm->loop);
	guest_mem_destroy(&vm->mem);
	free(vm->cpuid);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->exit_efd >= 0)
		close(vm->exit_efd);
	if (vm->serial_efd >= 0)
		close(vm->serial_efd);
	free(vm);
}
