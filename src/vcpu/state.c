// SPDX-License-Identifier: Apache-2.0
/*
 * A vCPU's state for snapshots: every register file KVM exposes, each saved
 * as a length-prefixed UAPI struct (a length that differs on load means
 * another kernel ABI: refused), then TSC frequency, MSRs and CPUID.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <petrel/log.h>
#include <petrel/snapshot.h>
#include <petrel/util.h>

#include "vcpu_priv.h"

#define MAX_MSRS		1024
#define MAX_CPUID		256
#define XSAVE_SIZE		sizeof(struct kvm_xsave)

/* The register files, in restore order: sregs before regs, LAPIC before MSRs and events. */
enum blob { B_SREGS, B_REGS, B_FPU, B_XCRS, B_DEBUG, B_LAPIC, B_MP, B_EVENTS, B_NR };

static const struct {
	const char *name;
	unsigned long get, set;
	size_t size;
} blobs[B_NR] = {
	[B_SREGS] = { "sregs", KVM_GET_SREGS, KVM_SET_SREGS, sizeof(struct kvm_sregs) },
	[B_REGS] = { "regs", KVM_GET_REGS, KVM_SET_REGS, sizeof(struct kvm_regs) },
	[B_FPU] = { "xsave", KVM_GET_XSAVE, KVM_SET_XSAVE, XSAVE_SIZE },
	[B_XCRS] = { "xcrs", KVM_GET_XCRS, KVM_SET_XCRS, sizeof(struct kvm_xcrs) },
	[B_DEBUG] = { "debugregs", KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS,
		      sizeof(struct kvm_debugregs) },
	[B_LAPIC] = { "lapic", KVM_GET_LAPIC, KVM_SET_LAPIC, sizeof(struct kvm_lapic_state) },
	[B_MP] = { "mp_state", KVM_GET_MP_STATE, KVM_SET_MP_STATE, sizeof(struct kvm_mp_state) },
	[B_EVENTS] = { "vcpu_events", KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS,
		       sizeof(struct kvm_vcpu_events) },
};

static int ioctl_err(struct vcpu *vcpu, const char *what)
{
	int ret = -errno;

	pr_err("vcpu%u: %s: %s", vcpu->index, what, strerror(errno));
	return ret;
}

static int save_blobs(struct vcpu *vcpu, struct snap_buf *out)
{
	uint8_t buf[XSAVE_SIZE];

	for (unsigned int i = 0; i < B_NR; i++) {
		if (ioctl(vcpu->fd, blobs[i].get, buf) < 0)
			return ioctl_err(vcpu, blobs[i].name);
		snap_put_u32(out, blobs[i].size);
		snap_put_bytes(out, buf, blobs[i].size);
	}
	return 0;
}

/* The MSRs KVM lists, less those it will not read here (it stops at the first it refuses). */
static int read_msrs(struct vcpu *vcpu, const struct kvm_msr_list *list, struct kvm_msrs *batch,
		     struct kvm_msr_entry *all, unsigned int *n)
{
	unsigned int i = 0, skipped = 0;
	int got;

	while (i < list->nmsrs) {
		batch->nmsrs = list->nmsrs - i;
		for (unsigned int j = 0; j < batch->nmsrs; j++)
			batch->entries[j] = (struct kvm_msr_entry){ .index = list->indices[i + j] };
		got = ioctl(vcpu->fd, KVM_GET_MSRS, batch);
		if (got < 0)
			return ioctl_err(vcpu, "KVM_GET_MSRS");
		memcpy(all + *n, batch->entries, got * sizeof(*all));
		*n += got;
		i += got;
		if (i < list->nmsrs) {
			skipped++;
			i++;
		}
	}
	pr_debug("vcpu%u: %u MSRs saved, %u that KVM lists but will not read", vcpu->index, *n,
		 skipped);
	return 0;
}

static int save_msrs(struct vcpu *vcpu, struct snap_buf *out)
{
	struct kvm_msr_list *list = calloc(1, sizeof(*list) + MAX_MSRS * sizeof(uint32_t));
	struct kvm_msrs *batch = calloc(1, sizeof(*batch) + MAX_MSRS * sizeof(batch->entries[0]));
	struct kvm_msr_entry *all = calloc(MAX_MSRS, sizeof(*all));
	unsigned int n = 0;
	int ret = -ENOMEM;

	if (!list || !batch || !all)
		goto out;
	list->nmsrs = MAX_MSRS;
	ret = ioctl(vcpu->env->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0 ?
	      ioctl_err(vcpu, "KVM_GET_MSR_INDEX_LIST") : 0;
	ret = ret ?: read_msrs(vcpu, list, batch, all, &n);
	if (!ret) {
		snap_put_u32(out, n);
		for (unsigned int i = 0; i < n; i++) {
			snap_put_u32(out, all[i].index);
			snap_put_u64(out, all[i].data);
		}
	}
out:
	free(list);
	free(batch);
	free(all);
	return ret;
}

static int save_cpuid(struct vcpu *vcpu, struct snap_buf *out)
{
	struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) +
					     MAX_CPUID * sizeof(cpuid->entries[0]));
	int ret = 0;

	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = MAX_CPUID;
	if (ioctl(vcpu->fd, KVM_GET_CPUID2, cpuid) < 0)
		ret = ioctl_err(vcpu, "KVM_GET_CPUID2");
	if (!ret) {
		snap_put_u32(out, cpuid->nent);
		snap_put_u32(out, sizeof(cpuid->entries[0]));
		snap_put_bytes(out, cpuid->entries, cpuid->nent * sizeof(cpuid->entries[0]));
	}
	free(cpuid);
	return ret;
}

int vcpu_save(struct vcpu *vcpu, struct snap_buf *out)
{
	int khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
	int ret;

	if (khz < 0)
		return ioctl_err(vcpu, "KVM_GET_TSC_KHZ");
	ret = save_blobs(vcpu, out);
	snap_put_u32(out, khz);
	ret = ret ?: save_msrs(vcpu, out);
	ret = ret ?: save_cpuid(vcpu, out);
	return ret ?: snap_buf_error(out);
}

/* ---- restore: everything parsed and checked first, then applied ---- */

struct vcpu_state {
	uint8_t blob[B_NR][XSAVE_SIZE];
	uint32_t tsc_khz;
	struct kvm_msrs *msrs;
	struct kvm_cpuid2 *cpuid;
};

static int bad(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_msrs(struct snap_cursor *c, struct vcpu_state *s)
{
	uint32_t n = snap_get_u32(c);

	if (n > MAX_MSRS || n * 12ull > snap_cursor_left(c))
		return -EINVAL;
	s->msrs = calloc(1, sizeof(*s->msrs) + n * sizeof(s->msrs->entries[0]));
	if (!s->msrs)
		return -ENOMEM;
	s->msrs->nmsrs = n;
	for (uint32_t i = 0; i < n; i++) {
		s->msrs->entries[i].index = snap_get_u32(c);
		s->msrs->entries[i].data = snap_get_u64(c);
	}
	return 0;
}

static int parse_cpuid(struct snap_cursor *c, struct vcpu_state *s)
{
	uint32_t n = snap_get_u32(c), esize = snap_get_u32(c);

	if (n > MAX_CPUID || esize != sizeof(s->cpuid->entries[0]) ||
	    n * (uint64_t)esize > snap_cursor_left(c))
		return -EINVAL;
	s->cpuid = calloc(1, sizeof(*s->cpuid) + n * esize);
	if (!s->cpuid)
		return -ENOMEM;
	s->cpuid->nent = n;
	snap_get_bytes(c, s->cpuid->entries, n * esize);
	return 0;
}

static int parse(const void *data, size_t len, struct vcpu_state *s, char *err, size_t errlen)
{
	struct snap_cursor c;
	int ret;

	snap_cursor_init(&c, data, len);
	for (unsigned int i = 0; i < B_NR; i++) {
		uint32_t size = snap_get_u32(&c);

		if (size != blobs[i].size)
			return bad(err, errlen, "%s of %u bytes, this host's KVM uses %zu",
				   blobs[i].name, size, blobs[i].size);
		snap_get_bytes(&c, s->blob[i], size);
	}
	s->tsc_khz = snap_get_u32(&c);
	ret = parse_msrs(&c, s) ?: parse_cpuid(&c, s);
	if (ret == -ENOMEM)
		return bad(err, errlen, "out of memory");
	if (ret || snap_cursor_end(&c))
		return bad(err, errlen, "malformed (lengths do not add up)");
	if (!s->tsc_khz)
		return bad(err, errlen, "TSC frequency 0");
	return 0;
}

/* The guest keeps its TSC rate: scaled where the host's differs and KVM can. */
static int restore_tsc(struct vcpu *vcpu, uint32_t khz, char *err, size_t errlen)
{
	int host = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);

	if (host < 0 || (uint32_t)host == khz)
		return 0;
	if (ioctl(vcpu->fd, KVM_SET_TSC_KHZ, khz) < 0)
		return bad(err, errlen, "the TSC ran at %u kHz, this host's at %d kHz, and KVM "
			   "cannot scale it: %s", khz, host, strerror(errno));
	return 0;
}

static int apply(struct vcpu *vcpu, struct vcpu_state *s, char *err, size_t errlen)
{
	int n, ret = restore_tsc(vcpu, s->tsc_khz, err, errlen);

	if (ret)
		return ret;
	/* KVM's own answer is the check: nothing asks it for the supported list first. */
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, s->cpuid) < 0)
		return bad(err, errlen, "KVM refused its CPUID (KVM_SET_CPUID2: %s); the "
			   "snapshot was taken on another kind of host CPU or KVM",
			   strerror(errno));
	for (unsigned int i = 0; i < B_EVENTS; i++) {
		if (ioctl(vcpu->fd, blobs[i].set, s->blob[i]) < 0)
			return bad(err, errlen, "cannot restore %s: %s", blobs[i].name,
				   strerror(errno));
	}
	n = ioctl(vcpu->fd, KVM_SET_MSRS, s->msrs);
	if (n < 0 || (uint32_t)n != s->msrs->nmsrs)
		return bad(err, errlen, "KVM refused MSR %#x", n < 0 ? 0 :
			   s->msrs->entries[n].index);
	/* Events last: they may hold an exception pending on the state above. */
	if (ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, s->blob[B_EVENTS]) < 0)
		return bad(err, errlen, "cannot restore vcpu_events: %s", strerror(errno));
	return 0;
}

int vcpu_restore(struct vcpu *vcpu, const void *data, size_t len, char *err, size_t errlen)
{
	struct vcpu_state *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return bad(err, errlen, "out of memory");
	ret = parse(data, len, s, err, errlen);
	ret = ret ?: apply(vcpu, s, err, errlen);
	free(s->msrs);
	free(s->cpuid);
	free(s);
	return ret;
}
