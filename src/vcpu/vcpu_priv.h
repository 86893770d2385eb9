/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_VCPU_PRIV_H
#define PETREL_VCPU_PRIV_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <petrel/vcpu.h>

struct vcpu {
	const struct vcpu_env *env;
	unsigned int index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	volatile bool stop;
	/* Pause: the thread parks on cond, outside KVM_RUN, until resumed or stopped. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool pause;		/* asked for */
	bool parked;			/* the thread waits on cond (under lock) */
	bool exited;			/* the thread function returned (under lock) */
};

int vcpu_setup_msrs(struct vcpu *vcpu);
int vcpu_setup_fpu(struct vcpu *vcpu);
int vcpu_setup_lapic(struct vcpu *vcpu);

#endif
