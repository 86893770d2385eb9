// SPDX-License-Identifier: Apache-2.0
/* vCPU threads: KVM_RUN and the exits that reach userspace. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <petrel/jail.h>
#include <petrel/log.h>
#include <petrel/metrics.h>
#include <petrel/timeline.h>
#include <petrel/util.h>

#include "vcpu_priv.h"

int vcpu_signal(void)
{
	return SIGRTMIN;
}

static int set_cpuid(struct vcpu *vcpu)
{
	const struct kvm_cpuid2 *src = vcpu->env->cpuid;
	size_t size = sizeof(*src) + src->nent * sizeof(src->entries[0]);
	struct kvm_cpuid2 *cpuid = malloc(size);
	int ret = 0;

	if (!cpuid)
		return -ENOMEM;
	memcpy(cpuid, src, size);
	ret = cpuid_normalize(cpuid, vcpu->index, vcpu->env->nr_vcpus, vcpu->env->smt);
	if (!ret && ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) < 0)
		ret = -errno;
	free(cpuid);
	return ret;
}

/* A booting vCPU's CPUID, MSRs, FPU and LAPIC. */
static int setup(struct vcpu *vcpu)
{
	return set_cpuid(vcpu) ?: vcpu_setup_msrs(vcpu) ?: vcpu_setup_fpu(vcpu) ?:
	       vcpu_setup_lapic(vcpu);
}

struct vcpu *vcpu_create(const struct vcpu_env *env, unsigned int index)
{
	struct vcpu *vcpu = calloc(1, sizeof(*vcpu));
	int ret;

	if (!vcpu)
		return NULL;
	vcpu->env = env;
	vcpu->index = index;
	pthread_mutex_init(&vcpu->lock, NULL);
	pthread_cond_init(&vcpu->cond, NULL);
	vcpu->fd = ioctl(env->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (vcpu->fd < 0) {
		pr_err("vcpu%u: KVM_CREATE_VCPU: %s", index, strerror(errno));
		goto err_free;
	}
	vcpu->run = mmap(NULL, env->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		pr_err("vcpu%u: mmap of kvm_run: %s", index, strerror(errno));
		goto err_close;
	}
	ret = env->cpuid ? setup(vcpu) : 0;
	if (ret) {
		pr_err("vcpu%u: setup failed: %s", index, strerror(-ret));
		goto err_unmap;
	}
	return vcpu;

err_unmap:
	munmap(vcpu->run, env->run_size);
err_close:
	close(vcpu->fd);
err_free:
	pthread_cond_destroy(&vcpu->cond);
	pthread_mutex_destroy(&vcpu->lock);
	free(vcpu);
	return NULL;
}

static void handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	metrics_inc(run->io.direction == KVM_EXIT_IO_OUT ? M_VCPU_EXIT_IO_OUT : M_VCPU_EXIT_IO_IN);
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			if (!bus_write(vcpu->env->pio, run->io.port, data, run->io.size))
				pr_trace("vcpu%u: out to unassigned port %#x", vcpu->index, run->io.port);
		} else {
			bus_read(vcpu->env->pio, run->io.port, data, run->io.size);
		}
	}
}

static void handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint32_t len = MIN(run->mmio.len, sizeof(run->mmio.data));

	metrics_inc(run->mmio.is_write ? M_VCPU_EXIT_MMIO_WRITE : M_VCPU_EXIT_MMIO_READ);
	if (run->mmio.is_write) {
		if (!bus_write(vcpu->env->mmio, run->mmio.phys_addr, run->mmio.data, len))
			pr_trace("vcpu%u: write to unassigned MMIO %#llx", vcpu->index,
				 run->mmio.phys_addr);
	} else {
		bus_read(vcpu->env->mmio, run->mmio.phys_addr, run->mmio.data, len);
	}
}

static void request_exit(struct vcpu *vcpu, enum vcpu_exit_reason why)
{
	vcpu->stop = true;
	vcpu->env->request_exit(vcpu->env->opaque, why);
}

static void fatal_exit(struct vcpu *vcpu, const char *what, unsigned long long detail)
{
	pr_err("vcpu%u: %s (%#llx)", vcpu->index, what, detail);
	metrics_inc(M_VCPU_FAILURES);
	vcpu_dump_regs(vcpu);
	request_exit(vcpu, VCPU_EXIT_ERROR);
}

static void handle_system_event(struct vcpu *vcpu)
{
	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		request_exit(vcpu, VCPU_EXIT_POWEROFF);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		request_exit(vcpu, VCPU_EXIT_RESET);
		break;
	default:
		fatal_exit(vcpu, "system event", vcpu->run->system_event.type);
		break;
	}
}

/* One exit from KVM_RUN. */
static void handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vcpu);
		break;
	case KVM_EXIT_MMIO:
		handle_mmio(vcpu);
		break;
	case KVM_EXIT_INTR:
		break;
	case KVM_EXIT_SHUTDOWN:
		/* A triple fault: how x86 guests reboot when nothing else works. */
		pr_info("vcpu%u: triple fault, resetting", vcpu->index);
		request_exit(vcpu, VCPU_EXIT_RESET);
		break;
	case KVM_EXIT_HLT:
		pr_info("vcpu%u: halted", vcpu->index);
		request_exit(vcpu, VCPU_EXIT_POWEROFF);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		handle_system_event(vcpu);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		fatal_exit(vcpu, "KVM_EXIT_FAIL_ENTRY, hardware reason",
			   run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		fatal_exit(vcpu, "KVM_EXIT_INTERNAL_ERROR, suberror", run->internal.suberror);
		break;
	default:
		fatal_exit(vcpu, "unexpected exit reason", run->exit_reason);
		break;
	}
}

/* Wait outside KVM_RUN while a pause is asked for; vcpu_pause() waits for parked. */
static void park(struct vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->lock);
	vcpu->parked = true;
	pthread_cond_broadcast(&vcpu->cond);
	while (atomic_load(&vcpu->pause) && !vcpu->stop)
		pthread_cond_wait(&vcpu->cond, &vcpu->lock);
	vcpu->parked = false;
	pthread_mutex_unlock(&vcpu->lock);
}

/*
 * An I/O exit just served is only finished (the value read put in its
 * register) by the next KVM_RUN: enter once with immediate_exit so a parked
 * vCPU's registers are whole for a snapshot.
 */
static void complete_io(struct vcpu *vcpu)
{
	vcpu->run->immediate_exit = 1;
	if (ioctl(vcpu->fd, KVM_RUN, 0) < 0 && errno != EINTR && errno != EAGAIN)
		pr_debug("vcpu%u: KVM_RUN to finish I/O: %s", vcpu->index, strerror(errno));
	vcpu->run->immediate_exit = 0;
}

static void thread_exited(struct vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->lock);
	vcpu->exited = true;
	pthread_cond_broadcast(&vcpu->cond);
	pthread_mutex_unlock(&vcpu->lock);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	char name[16];
	sigset_t set;

	snprintf(name, sizeof(name), LOG_THREAD_VCPU, vcpu->index);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, vcpu_signal());
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	jail_seccomp_enter(JAIL_VCPU);
	timeline_mark(BOOT_FIRST_KVM_RUN);
	while (!vcpu->stop) {
		if (atomic_load(&vcpu->pause)) {
			complete_io(vcpu);
			park(vcpu);
			continue;
		}
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu->run->immediate_exit = 0;
				/* Visible before stop and pause are read again: see vcpu_pause(). */
				atomic_thread_fence(memory_order_seq_cst);
				continue;
			}
			fatal_exit(vcpu, "KVM_RUN failed, errno", errno);
			break;
		}
		handle_exit(vcpu);
	}
	thread_exited(vcpu);
	return NULL;
}

static void kick_handler(int sig)
{
	(void)sig;
}

int vcpu_start(struct vcpu *vcpu)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	int ret;

	/* No SA_RESTART: the kick must make KVM_RUN return EINTR. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(vcpu_signal(), &sa, NULL) < 0)
		return -errno;
	ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (ret)
		return -ret;
	vcpu->started = true;
	return 0;
}

/* immediate_exit closes the race with a kick arriving just before KVM_RUN. */
static void kick(struct vcpu *vcpu)
{
	vcpu->run->immediate_exit = 1;
	pthread_kill(vcpu->thread, vcpu_signal());
}

/*
 * Until the thread has ended (or, for_park, parked), at most ms: a vCPU
 * stuck in a host call must not hang the vmm thread. -ETIMEDOUT if not.
 */
static int wait_thread(struct vcpu *vcpu, bool for_park, unsigned int ms)
{
	struct timespec end;
	long ns;
	bool done;

	clock_gettime(CLOCK_MONOTONIC, &end);
	ns = end.tv_nsec + (ms % 1000) * 1000000L;
	end.tv_sec += ms / 1000 + ns / 1000000000L;
	end.tv_nsec = ns % 1000000000L;
	pthread_mutex_lock(&vcpu->lock);
	while (!(done = vcpu->exited || (for_park && vcpu->parked))) {
		if (pthread_cond_clockwait(&vcpu->cond, &vcpu->lock, CLOCK_MONOTONIC, &end) ==
		    ETIMEDOUT) {
			done = vcpu->exited || (for_park && vcpu->parked);
			break;
		}
	}
	pthread_mutex_unlock(&vcpu->lock);
	return done ? 0 : -ETIMEDOUT;
}

int vcpu_stop(struct vcpu *vcpu)
{
	if (!vcpu->started)
		return 0;
	pthread_mutex_lock(&vcpu->lock);
	vcpu->stop = true;
	pthread_cond_broadcast(&vcpu->cond);	/* a parked thread ends too */
	pthread_mutex_unlock(&vcpu->lock);
	kick(vcpu);
	if (wait_thread(vcpu, false, VCPU_STOP_TIMEOUT_MS)) {
		pr_err("vcpu%u: did not stop within %d ms; its thread is left to the process's end",
		       vcpu->index, VCPU_STOP_TIMEOUT_MS);
		return -ETIMEDOUT;
	}
	pthread_join(vcpu->thread, NULL);
	vcpu->started = false;
	return 0;
}

/*
 * pause is set before the kick: the thread checks it after every KVM_RUN
 * return, and a kick that lands before KVM_RUN is caught by immediate_exit.
 */
int vcpu_pause(struct vcpu *vcpu)
{
	if (!vcpu->started) {
		atomic_store(&vcpu->pause, true);	/* it will park before its first run */
		return 0;
	}
	atomic_store(&vcpu->pause, true);
	kick(vcpu);
	return wait_thread(vcpu, true, VCPU_PAUSE_TIMEOUT_MS);
}

void vcpu_resume(struct vcpu *vcpu)
{
	pthread_mutex_lock(&vcpu->lock);
	atomic_store(&vcpu->pause, false);
	pthread_cond_broadcast(&vcpu->cond);
	pthread_mutex_unlock(&vcpu->lock);
}

int vcpu_destroy(struct vcpu *vcpu)
{
	if (!vcpu)
		return 0;
	if (vcpu_stop(vcpu))
		return -ETIMEDOUT;	/* its thread may still use all of it */
	munmap(vcpu->run, vcpu->env->run_size);
	close(vcpu->fd);
	pthread_cond_destroy(&vcpu->cond);
	pthread_mutex_destroy(&vcpu->lock);
	free(vcpu);
	return 0;
}
