// SPDX-License-Identifier: Apache-2.0
/*
 * A VM's state as snapshot sections: the VM's own (irqchip, PIT, KVM clock)
 * here, every other part through its own save/restore; src/snapshot/ frames
 * them. Save runs with the vCPUs paused; restore before they start.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <petrel/log.h>
#include <petrel/snapshot.h>
#include <petrel/util.h>

#include "vm_priv.h"

#define SEC_VERSION	1

static const struct {
	const char *name;
	uint32_t chip_id;
} chips[] = {
	{ "PIC master", KVM_IRQCHIP_PIC_MASTER },
	{ "PIC slave", KVM_IRQCHIP_PIC_SLAVE },
	{ "IOAPIC", KVM_IRQCHIP_IOAPIC },
};

static int say(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int say(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

/* ---- the VM's own: irqchip, PIT, clock ---- */

static int save_kvm(struct vm *vm, struct snap_buf *out, char *err, size_t errlen)
{
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock = { 0 };

	for (size_t i = 0; i < ARRAY_SIZE(chips); i++) {
		chip = (struct kvm_irqchip){ .chip_id = chips[i].chip_id };
		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
			return say(err, errlen, -errno, "KVM_GET_IRQCHIP (%s): %s", chips[i].name,
				   strerror(errno));
		snap_put_u32(out, sizeof(chip));
		snap_put_bytes(out, &chip, sizeof(chip));
	}
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &pit) < 0)
		return say(err, errlen, -errno, "KVM_GET_PIT2: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &clock) < 0)
		return say(err, errlen, -errno, "KVM_GET_CLOCK: %s", strerror(errno));
	snap_put_u32(out, sizeof(pit));
	snap_put_bytes(out, &pit, sizeof(pit));
	snap_put_u32(out, sizeof(clock));
	snap_put_bytes(out, &clock, sizeof(clock));
	return snap_buf_error(out);
}

static bool get_struct(struct snap_cursor *c, void *dst, size_t size)
{
	if (snap_get_u32(c) != size)
		return false;
	snap_get_bytes(c, dst, size);
	return !c->short_read;
}

/*
 * The clock goes on from where it was saved; with clock_realtime (and a
 * kernel that gave the wall time with it) it also counts the time the
 * snapshot spent on disk, as the guest's wall clock does.
 */
static int restore_clock(struct vm *vm, const struct kvm_clock_data *saved, bool realtime,
			 char *err, size_t errlen)
{
	struct kvm_clock_data clock = { .clock = saved->clock };

	if (realtime && (saved->flags & KVM_CLOCK_REALTIME)) {
		clock.flags = KVM_CLOCK_REALTIME;
		clock.realtime = saved->realtime;
	}
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return say(err, errlen, -EINVAL, "KVM_SET_CLOCK: %s", strerror(errno));
	return 0;
}

static int restore_kvm(struct vm *vm, const struct snap_section *sec, bool realtime,
		       char *err, size_t errlen)
{
	struct kvm_irqchip chip[ARRAY_SIZE(chips)];
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	struct snap_cursor c;
	bool ok = true;

	snap_cursor_init(&c, sec->data, sec->len);
	for (size_t i = 0; i < ARRAY_SIZE(chips); i++)
		ok &= get_struct(&c, &chip[i], sizeof(chip[i])) &&
		      chip[i].chip_id == chips[i].chip_id;
	ok &= get_struct(&c, &pit, sizeof(pit)) && get_struct(&c, &clock, sizeof(clock));
	if (!ok || snap_cursor_end(&c))
		return say(err, errlen, -EINVAL, "section vm: malformed");
	for (size_t i = 0; i < ARRAY_SIZE(chips); i++) {
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chip[i]) < 0)
			return say(err, errlen, -EINVAL, "KVM_SET_IRQCHIP (%s): %s",
				   chips[i].name, strerror(errno));
	}
	if (ioctl(vm->vm_fd, KVM_SET_PIT2, &pit) < 0)
		return say(err, errlen, -EINVAL, "KVM_SET_PIT2: %s", strerror(errno));
	return restore_clock(vm, &clock, realtime, err, errlen);
}

/* ---- saving: each section written as it is produced ---- */

static int put_section(struct snap_writer *w, unsigned int id, unsigned int instance,
		       struct snap_buf *b)
{
	int ret = snap_buf_error(b);

	if (ret)
		snprintf(w->err, w->errlen, "out of memory");
	ret = ret ?: snap_writer_section(w, id, instance, SEC_VERSION, b->data, b->len);
	snap_buf_free(b);
	return ret;
}

static int save_config(struct snap_writer *w, const struct vm_config *cfg)
{
	json_t *j = config_to_json(cfg);
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	int ret;

	json_decref(j);
	if (!text) {
		snprintf(w->err, w->errlen, "out of memory");
		return -ENOMEM;
	}
	ret = snap_writer_section(w, SNAP_SEC_CONFIG, 0, SEC_VERSION, text, strlen(text));
	free(text);
	return ret;
}

static int save_memory_layout(struct vm *vm, struct snap_writer *w)
{
	struct snap_buf b;

	snap_buf_init(&b);
	snap_put_u64(&b, vm->mem.ram_size);
	snap_put_u32(&b, vm->mem.nr_regions);
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		snap_put_u64(&b, vm->mem.regions[i].gpa);
		snap_put_u64(&b, vm->mem.regions[i].size);
	}
	return put_section(w, SNAP_SEC_MEMORY, 0, &b);
}

static int save_vcpus(struct vm *vm, struct snap_writer *w)
{
	struct snap_buf b;
	int ret = 0;

	for (unsigned int i = 0; !ret && i < vm->nr_vcpus; i++) {
		snap_buf_init(&b);
		ret = vcpu_save(vm->vcpus[i], &b);
		if (ret) {
			snap_buf_free(&b);
			return say(w->err, w->errlen, ret, "cannot read vCPU %u's state: %s", i,
				   strerror(-ret));
		}
		ret = put_section(w, SNAP_SEC_VCPU, i, &b);
	}
	return ret;
}

static int save_devices(struct vm *vm, struct snap_writer *w)
{
	struct snap_buf b;
	int ret;

	snap_buf_init(&b);
	serial_save(vm->serial, &b);
	ret = put_section(w, SNAP_SEC_SERIAL, 0, &b);
	snap_buf_init(&b);
	i8042_save(vm->i8042, &b);
	ret = ret ?: put_section(w, SNAP_SEC_I8042, 0, &b);
	for (unsigned int i = 0; !ret && i < vm->nr_virtio; i++) {
		snap_buf_init(&b);
		ret = virtio_mmio_save(vm->virtio[i], &b, w->err, w->errlen);
		if (ret)
			snap_buf_free(&b);
		else
			ret = put_section(w, SNAP_SEC_VIRTIO, i, &b);
	}
	return ret;
}

/* Devices first: they finish their I/O, or say why not, before the big sections. */
int vm_save_state(struct vm *vm, const struct vm_config *cfg, struct snap_buf *out,
		  const char *path, char *err, size_t errlen)
{
	struct snap_writer w;
	struct snap_buf b;
	int ret;

	ret = snap_writer_begin_buf(&w, out, path, err, errlen);
	ret = ret ?: save_config(&w, cfg);
	ret = ret ?: save_memory_layout(vm, &w);
	ret = ret ?: save_devices(vm, &w);
	if (ret)
		return ret;
	snap_buf_init(&b);
	ret = save_kvm(vm, &b, err, errlen);
	if (ret) {
		snap_buf_free(&b);
		return ret;
	}
	ret = put_section(&w, SNAP_SEC_VM, 0, &b);
	ret = ret ?: save_vcpus(vm, &w);
	return ret ?: snap_writer_end(&w);
}

/* ---- restoring ---- */

static const struct snap_section *need(const struct snap_state *st, unsigned int id,
				       unsigned int instance, char *err, size_t errlen)
{
	const struct snap_section *s = snap_state_find(st, id, instance);

	if (!s)
		snprintf(err, errlen, "no section %s[%u]", snap_section_name(id), instance);
	else if (s->version != SEC_VERSION) {
		snprintf(err, errlen, "section %s[%u] has version %u, this petrel reads %u",
			 snap_section_name(id), instance, s->version, SEC_VERSION);
		return NULL;
	}
	return s;
}

/* The layout saved must be the one this configuration gives. */
static int check_layout(struct vm *vm, const struct snap_state *st, char *err, size_t errlen)
{
	const struct snap_section *s = need(st, SNAP_SEC_MEMORY, 0, err, errlen);
	struct snap_cursor c;
	bool ok;

	if (!s)
		return -EINVAL;
	snap_cursor_init(&c, s->data, s->len);
	ok = snap_get_u64(&c) == vm->mem.ram_size && snap_get_u32(&c) == vm->mem.nr_regions;
	for (unsigned int i = 0; ok && i < vm->mem.nr_regions; i++)
		ok = snap_get_u64(&c) == vm->mem.regions[i].gpa &&
		     snap_get_u64(&c) == vm->mem.regions[i].size;
	if (!ok || snap_cursor_end(&c))
		return say(err, errlen, -EINVAL, "section memory: does not match "
			   "machine-config.mem_size_mib");
	return 0;
}

static int restore_devices(struct vm *vm, const struct snap_state *st, char *err,
			   size_t errlen)
{
	const struct snap_section *s;
	int ret;

	s = need(st, SNAP_SEC_SERIAL, 0, err, errlen);
	if (!s || serial_restore(vm->serial, s->data, s->len))
		return s ? say(err, errlen, -EINVAL, "section serial: malformed") : -EINVAL;
	s = need(st, SNAP_SEC_I8042, 0, err, errlen);
	if (!s || i8042_restore(vm->i8042, s->data, s->len))
		return s ? say(err, errlen, -EINVAL, "section i8042: malformed") : -EINVAL;
	for (unsigned int i = 0; i < vm->nr_virtio; i++) {
		s = need(st, SNAP_SEC_VIRTIO, i, err, errlen);
		if (!s)
			return -EINVAL;
		ret = virtio_mmio_restore(vm->virtio[i], s->data, s->len, err, errlen);
		if (ret)
			return ret;
	}
	if (snap_state_find(st, SNAP_SEC_VIRTIO, vm->nr_virtio))
		return say(err, errlen, -EINVAL, "more virtio devices than its configuration has");
	return 0;
}

static int restore_vcpus(struct vm *vm, const struct snap_state *st, char *err, size_t errlen)
{
	char msg[256];

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		const struct snap_section *s = need(st, SNAP_SEC_VCPU, i, err, errlen);

		if (!s)
			return -EINVAL;
		if (vcpu_restore(vm->vcpus[i], s->data, s->len, msg, sizeof(msg)))
			return say(err, errlen, -EINVAL, "section vcpu[%u]: %s", i, msg);
	}
	if (snap_state_find(st, SNAP_SEC_VCPU, vm->nr_vcpus))
		return say(err, errlen, -EINVAL, "more vCPUs than machine-config.vcpu_count");
	return 0;
}

static int restore_state(struct vm *vm, const struct vm_restore *from, char *err,
			 size_t errlen)
{
	const struct snap_section *s;
	int ret;

	ret = check_layout(vm, from->state, err, errlen);
	ret = ret ?: restore_devices(vm, from->state, err, errlen);
	if (ret)
		return ret;
	s = need(from->state, SNAP_SEC_VM, 0, err, errlen);
	if (!s)
		return -EINVAL;
	ret = restore_kvm(vm, s, from->clock_realtime, err, errlen);
	return ret ?: restore_vcpus(vm, from->state, err, errlen);
}

/* What is wrong is said of the state file, by its path. */
int vm_restore_state(struct vm *vm, const struct vm_restore *from)
{
	char msg[512] = "";
	int ret = restore_state(vm, from, msg, sizeof(msg));

	if (ret && *msg)
		snprintf(from->err, from->errlen, "%s: %s", from->state_path ?: "the snapshot",
			 msg);
	return ret;
}

/* The configuration a state file holds (its section config). */
int vm_state_config(const struct snap_state *st, struct vm_config *cfg, char *err, size_t errlen)
{
	const struct snap_section *s = need(st, SNAP_SEC_CONFIG, 0, err, errlen);
	char msg[512];

	if (!s)
		return -EINVAL;
	if (config_parse_string((const char *)s->data, s->len, cfg, msg, sizeof(msg)))
		return say(err, errlen, -EINVAL, "section config: %s", msg);
	return 0;
}

/* ---- petrel snapshot info ---- */

static void print_layout(const struct snap_state *st, FILE *out)
{
	const struct snap_section *s = snap_state_find(st, SNAP_SEC_MEMORY, 0);
	struct snap_cursor c;
	uint64_t size, off = 0;
	uint32_t n;

	if (!s)
		return;
	snap_cursor_init(&c, s->data, s->len);
	size = snap_get_u64(&c);
	n = snap_get_u32(&c);
	fprintf(out, "memory: %" PRIu64 " MiB in %u region(s)\n", size >> 20, n);
	for (uint32_t i = 0; i < n && i < MEM_MAX_REGIONS && !c.short_read; i++) {
		uint64_t gpa = snap_get_u64(&c), len = snap_get_u64(&c);

		fprintf(out, "  region %u: gpa 0x%" PRIx64 "..0x%" PRIx64 ", memory file offset "
			"0x%" PRIx64 "\n", i, gpa, gpa + len, off);
		off += len;
	}
}

int vm_snapshot_info(const char *path, bool version_only, FILE *out, char *err, size_t errlen)
{
	struct snap_state st;
	struct vm_config cfg;
	json_t *j;
	int fd = util_open_file(path, O_RDONLY, UTIL_FILE_REG | UTIL_FILE_FIFO, err, errlen);
	int ret;

	if (fd < 0)
		return fd;
	ret = snap_state_read(fd, path, &st, err, errlen);
	close(fd);
	if (ret)
		return ret;
	fprintf(out, version_only ? "v%u.%u\n" : "format version: %u.%u\n", st.major, st.minor);
	config_init(&cfg);
	if (!version_only && !(ret = vm_state_config(&st, &cfg, err, errlen))) {
		j = config_to_json(&cfg);
		fprintf(out, "configuration: ");
		json_dumpf(j, out, JSON_COMPACT);
		fprintf(out, "\n");
		json_decref(j);
		print_layout(&st, out);
		fprintf(out, "sections:");
		for (unsigned int i = 0; i < st.nr; i++)
			fprintf(out, " %s[%u]", snap_section_name(st.sections[i].id),
				st.sections[i].instance);
		fprintf(out, "\n");
	}
	config_free(&cfg);
	snap_state_free(&st);
	return ret;
}
