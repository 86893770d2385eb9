// SPDX-License-Identifier: Apache-2.0
/* Turn a vm_config into guest state: devices, firmware tables, kernel, command line. */
#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_ids.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <petrel/mmds.h>
#include <petrel/log.h>
#include <petrel/metrics.h>
#include <petrel/util.h>

#include "vm_priv.h"

/* The i8042's reset line or the ACPI reset register. */
static void on_guest_reset(void *opaque)
{
	struct vm *vm = opaque;

	vm->vcpu_env.request_exit(vm, VCPU_EXIT_RESET);
}

/* S5 in the ACPI sleep control register. */
static void on_guest_poweroff(void *opaque)
{
	struct vm *vm = opaque;

	vm->vcpu_env.request_exit(vm, VCPU_EXIT_POWEROFF);
}

/* An eventfd bound to a GSI: writing it raises the interrupt without a vCPU exit. */
static int irq_line_for(struct vm *vm, unsigned int gsi, struct irq_line *line)
{
	struct kvm_irqfd irqfd = { .gsi = gsi };

	if (gsi >= ARRAY_SIZE(vm->irqfds))
		return -EINVAL;
	if (vm->irqfds[gsi] < 0) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		if (fd < 0)
			return -errno;
		irqfd.fd = fd;
		if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
			int err = -errno;

			pr_err("KVM_IRQFD for GSI %u: %s", gsi, strerror(errno));
			close(fd);
			return err;
		}
		vm->irqfds[gsi] = fd;
	}
	line->fd = vm->irqfds[gsi];
	return 0;
}

static int add_serial(struct vm *vm, const struct serial_config *cfg)
{
	struct acpi_device com1 = {
		.name = "COM1", .hid = "PNP0501", .io_base = SERIAL_COM1_PORT, .io_size = 8,
		.gsi = SERIAL_COM1_GSI,
	};
	struct irq_line irq;
	int ret = irq_line_for(vm, SERIAL_COM1_GSI, &irq);

	if (ret)
		return ret;
	vm->serial_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->serial_efd < 0)
		return -errno;
	if (cfg->serial_out_path)
		ret = vm_console_open_file(vm, cfg->serial_out_path);
	else
		vm_console_open_output(vm);
	if (ret)
		return ret;
	vm->serial = serial_create(irq, vm->out_fd, vm->serial_efd);
	if (!vm->serial)
		return -ENOMEM;
	serial_set_rate_limit(vm->serial, &cfg->rate_limiter);
	ret = bus_register(&vm->pio, SERIAL_COM1_PORT, 8, &serial_bus_ops, vm->serial);
	return ret ?: acpi_add_device(&vm->acpi, &com1);
}

static int add_i8042(struct vm *vm)
{
	struct acpi_device ps2 = {
		.name = "PS2K", .hid = "PNP0303", .io_base = I8042_DATA_PORT, .io_size = 1,
		.io_base2 = I8042_CMD_PORT, .io_size2 = 1, .gsi = I8042_KBD_GSI,
	};
	struct irq_line irq;
	int ret = irq_line_for(vm, I8042_KBD_GSI, &irq);

	if (ret)
		return ret;
	vm->i8042 = i8042_create(irq, on_guest_reset, vm);
	if (!vm->i8042)
		return -ENOMEM;
	ret = bus_register(&vm->pio, I8042_DATA_PORT, 1, &i8042_data_bus_ops, vm->i8042);
	ret = ret ?: bus_register(&vm->pio, I8042_CMD_PORT, 1, &i8042_cmd_bus_ops, vm->i8042);
	return ret ?: acpi_add_device(&vm->acpi, &ps2);
}

/* Every VM has one: a guest restored or cloned must learn that it is a new generation. */
static int add_vmgenid(struct vm *vm)
{
	struct irq_line irq;
	int ret = irq_line_for(vm, VMGENID_GSI, &irq);

	if (ret)
		return ret;
	vm->vmgenid = vmgenid_create(&vm->mem, ACPI_VMGENID_ADDR, irq);
	if (!vm->vmgenid)
		return -ENOMEM;
	return acpi_add_vmgenid(&vm->acpi, ACPI_VMGENID_ADDR, VMGENID_GSI);
}

int vm_setup_devices(struct vm *vm, const struct vm_config *cfg)
{
	int ret;

	ret = add_serial(vm, &cfg->serial);
	ret = ret ?: add_i8042(vm);
	ret = ret ?: add_vmgenid(vm);
	ret = ret ?: bus_register(&vm->pio, BOOT_TIMER_PORT, 1, &boot_timer_bus_ops,
				  &vm->boot_timer);
	ret = ret ?: bus_register(&vm->mmio, MEM_BOOT_TIMER_ADDR, MEM_VIRTIO_MMIO_SLOT,
				  &boot_timer_bus_ops, &vm->boot_timer);
	vm->acpi_pm = (struct acpi_pm){ on_guest_poweroff, on_guest_reset, vm };
	ret = ret ?: bus_register(&vm->pio, ACPI_SLEEP_CTL_PORT,
				  ACPI_RESET_PORT - ACPI_SLEEP_CTL_PORT + 1, &acpi_pm_bus_ops,
				  &vm->acpi_pm);
	if (ret)
		pr_err("cannot set up devices: %s", strerror(-ret));
	return ret;
}

static uint64_t virtio_base(unsigned int n)
{
	return MEM_VIRTIO_MMIO_BASE + n * MEM_VIRTIO_MMIO_SLOT;
}

#define VIRTIO_FIELD(f) { #f, offsetof(struct virtio_dev_metrics, f) }
/* A field under Firecracker's name for it. */
#define VIRTIO_NAMED(name, f) { name, offsetof(struct virtio_dev_metrics, f) }
#define VIRTIO_COMMON_FIELDS						\
	VIRTIO_FIELD(requests), VIRTIO_FIELD(bytes_read), VIRTIO_FIELD(bytes_written), \
	VIRTIO_FIELD(io_errors), VIRTIO_FIELD(interrupts), VIRTIO_FIELD(queue_errors), \
	VIRTIO_FIELD(register_errors)
/* Block also counts the requests a reset or shutdown dropped unanswered. */
static const struct metrics_field blk_fields[] = {
	VIRTIO_COMMON_FIELDS, VIRTIO_FIELD(abandoned),
	VIRTIO_NAMED("rate_limiter_throttled_events", rl_throttled),
};
static const struct metrics_field net_fields[] = {
	VIRTIO_COMMON_FIELDS,
	VIRTIO_NAMED("rx_rate_limiter_throttled", rx_rl_throttled),
	VIRTIO_NAMED("tx_rate_limiter_throttled", rl_throttled),
};
static const struct metrics_field rng_fields[] = {
	VIRTIO_COMMON_FIELDS,
	VIRTIO_NAMED("entropy_rate_limiter_throttled", rl_throttled),
};
static const struct metrics_schema blk_schema = {
	"block", "drive", blk_fields, ARRAY_SIZE(blk_fields) };
static const struct metrics_schema net_schema = {
	"net", "iface", net_fields, ARRAY_SIZE(net_fields) };
static const struct metrics_schema rng_schema = {
	"entropy", NULL, rng_fields, ARRAY_SIZE(rng_fields) };

/* "block_<drive_id>", "net_<iface_id>", "entropy" (one at most); vm_destroy removes them. */
static int add_metrics(struct virtio_dev *dev)
{
	switch (dev->ops->device_id) {
	case VIRTIO_ID_BLOCK:
		return metrics_source_add(&blk_schema, dev->id, &dev->metrics);
	case VIRTIO_ID_NET:
		return metrics_source_add(&net_schema, dev->id, &dev->metrics);
	case VIRTIO_ID_BALLOON:
		return metrics_source_add(virtio_balloon_metrics_schema(), NULL, &dev->metrics);
	case VIRTIO_ID_VSOCK:
		return 0;	/* the device reports its own group, "vsock" */
	default:
		return metrics_source_add(&rng_schema, NULL, &dev->metrics);
	}
}

/* Device n: MMIO slot n, GSI 5 + n (edge: irqfd pulses), DSDT device Vnnn. */
static int add_virtio(struct vm *vm, struct virtio_dev *dev)
{
	struct virtio_host host = { vm->vm_fd, &vm->mmio, vm->loop, &vm->mem };
	unsigned int n = vm->nr_virtio;
	struct acpi_device adev = {
		.hid = "LNRO0005", .uid = n, .mmio_base = virtio_base(n),
		.mmio_size = MEM_VIRTIO_MMIO_SLOT, .gsi = VM_VIRTIO_FIRST_GSI + n, .gsi_level = 0,
	};
	struct irq_line irq;
	int ret;

	if (!dev)
		return -EINVAL;		/* the device said why */
	if (n == VM_MAX_VIRTIO) {
		pr_err("virtio %s: no room, petrel attaches at most %d virtio devices", dev->id,
		       VM_MAX_VIRTIO);
		virtio_dev_destroy(dev);
		return -ENOSPC;
	}
	snprintf(adev.name, sizeof(adev.name), "V%03u", n);
	ret = irq_line_for(vm, adev.gsi, &irq);
	ret = ret ?: virtio_mmio_attach(&host, dev, adev.mmio_base, irq);
	if (ret) {
		virtio_dev_destroy(dev);
		return ret;
	}
	vm->virtio[vm->nr_virtio++] = dev;
	ret = add_metrics(dev);
	if (ret)
		return ret;
	pr_debug("virtio %s: %s at 0x%" PRIx64 ", GSI %d", dev->id, adev.name, adev.mmio_base,
		 adev.gsi);
	return acpi_add_device(&vm->acpi, &adev);
}

/* The interfaces mmds-config names answer the metadata service's address. */
static int attach_mmds(struct vm *vm, const struct vm_config *cfg, unsigned int net)
{
	const struct mmds_config *m = &cfg->mmds;

	if (!m->present || !vm->opts.mmds)
		return 0;
	for (unsigned int i = 0; i < m->nr_ifaces; i++) {
		if (!strcmp(m->ifaces[i], cfg->nets[net].iface_id))
			return virtio_net_attach_mmds(vm->virtio[vm->nr_virtio - 1], vm->opts.mmds);
	}
	return 0;
}

/*
 * In config order: drives (the root drive, drives[0], becomes vda), network
 * interfaces, entropy, balloon, vsock.
 */
int vm_setup_virtio(struct vm *vm, const struct vm_config *cfg)
{
	unsigned int i, n = cfg->nr_drives + cfg->nr_nets + (cfg->entropy ? 1 : 0) +
			    (cfg->balloon.present ? 1 : 0) + (cfg->vsock.guest_cid ? 1 : 0);
	int ret = 0;

	if (n > VM_MAX_VIRTIO) {
		pr_err("drives, network-interfaces, entropy: %u virtio devices, at most %d fit",
		       n, VM_MAX_VIRTIO);
		return -ENOSPC;
	}
	for (i = 0; !ret && i < cfg->nr_drives; i++)
		ret = add_virtio(vm, virtio_blk_create(&cfg->drives[i]));
	if (cfg->mmds.present && vm->opts.mmds)
		mmds_configure(vm->opts.mmds, &cfg->mmds);
	for (i = 0; !ret && i < cfg->nr_nets; i++)
		ret = add_virtio(vm, virtio_net_create(&cfg->nets[i])) ?: attach_mmds(vm, cfg, i);
	if (!ret && cfg->entropy)
		ret = add_virtio(vm, virtio_rng_create(&cfg->entropy_rate_limiter));
	if (!ret && cfg->balloon.present)
		ret = add_virtio(vm, virtio_balloon_create(&cfg->balloon));
	if (!ret && cfg->vsock.guest_cid)
		ret = add_virtio(vm, virtio_vsock_create(&cfg->vsock));
	return ret;
}

/* For kernels with VIRTIO_MMIO_CMDLINE_DEVICES; others find them in the DSDT. */
static int append_virtio(struct vm *vm)
{
	int ret = 0;

	for (unsigned int i = 0; i < vm->nr_virtio && !ret; i++)
		ret = cmdline_appendf(&vm->cmdline, "virtio_mmio.device=4K@0x%" PRIx64 ":%u",
				      virtio_base(i), VM_VIRTIO_FIRST_GSI + i);
	return ret;
}

/* As Firecracker: the root drive (always drives[0]) is the first virtio disk. */
static int append_root(struct cmdline *cl, const struct vm_config *cfg)
{
	const struct drive_config *d = &cfg->drives[0];
	int ret;

	if (!cfg->nr_drives || !d->is_root_device || cmdline_has_key(cl, "root="))
		return 0;
	if (d->partuuid)
		ret = cmdline_appendf(cl, "root=PARTUUID=%s", d->partuuid);
	else
		ret = cmdline_append(cl, "root=/dev/vda");
	return ret ?: cmdline_append(cl, d->is_read_only ? "ro" : "rw");
}

/* Words after " -- " go to init, so the kernel's own words must come before it. */
static int build_cmdline(struct vm *vm, const struct vm_config *cfg)
{
	const char *args = cfg->boot.boot_args ? cfg->boot.boot_args : CONFIG_DEFAULT_BOOT_ARGS;
	const char *init_args = strncmp(args, "-- ", 3) ? strstr(args, " -- ") : args;
	char kernel_args[MEM_CMDLINE_MAX];
	size_t klen = init_args ? (size_t)(init_args - args) : strlen(args);
	int ret;

	if (klen >= sizeof(kernel_args))
		klen = sizeof(kernel_args) - 1;
	memcpy(kernel_args, args, klen);
	kernel_args[klen] = 0;
	cmdline_init(&vm->cmdline, vm->boot.cmdline_max);
	ret = cmdline_append(&vm->cmdline, kernel_args) || append_root(&vm->cmdline, cfg) ||
	      append_virtio(vm);
	if (!ret && init_args)
		ret = cmdline_append(&vm->cmdline, init_args + (*init_args == ' '));
	if (ret || strlen(args) >= sizeof(kernel_args)) {
		pr_err("boot-source.boot_args: with the root and virtio device words, longer than "
		       "the kernel's limit of %zu bytes", vm->cmdline.max - 1);
		return -E2BIG;
	}
	pr_debug("kernel command line: %s", vm->cmdline.buf);
	return 0;
}

int vm_load_guest(struct vm *vm, const struct vm_config *cfg)
{
	uint64_t rsdp = 0;
	int ret;

	ret = boot_load_kernel(&vm->mem, cfg->boot.kernel_image_path, &vm->boot);
	if (!ret && cfg->boot.initrd_path)
		ret = boot_load_initrd(&vm->mem, cfg->boot.initrd_path, &vm->boot);
	ret = ret ?: build_cmdline(vm, cfg);
	if (ret)
		return ret;
	ret = acpi_build_tables(&vm->mem, &vm->acpi, &rsdp);
	ret = ret ?: mptable_build(&vm->mem, vm->acpi.nr_cpus);
	ret = ret ?: boot_write_params(&vm->mem, &vm->boot, &vm->cmdline, rsdp);
	ret = ret ?: vcpu_write_boot_tables(&vm->mem);
	if (ret)
		pr_err("cannot write the boot tables into guest memory: %s", strerror(-ret));
	return ret;
}
