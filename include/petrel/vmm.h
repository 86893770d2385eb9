/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_VMM_H
#define PETREL_VMM_H

#include <stdbool.h>
#include <stdint.h>
#include <petrel/config.h>

/* The vmm thread's epoll loop: every fd it watches has a callback. */
struct event_loop;
typedef void (*event_cb)(void *opaque, uint32_t events);

struct event_loop *event_loop_create(void);
void event_loop_destroy(struct event_loop *loop);
int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_cb cb, void *opaque);
int event_loop_del(struct event_loop *loop, int fd);
/* Wait up to timeout_ms (-1: forever) and dispatch; -errno on failure. */
int event_loop_run_once(struct event_loop *loop, int timeout_ms);

struct vm_options {
	bool boot_timer;
	int console_in_fd;	/* -1: no input */
	int console_out_fd;
};

struct vm;

/* Build a VM from a validated config: memory, devices, tables, kernel, vCPUs. */
int vm_build(const struct vm_config *cfg, const struct vm_options *opts, struct vm **out);
/* Start the vCPUs and run the event loop until the guest or a signal ends it; the exit code. */
int vm_run(struct vm *vm);
void vm_destroy(struct vm *vm);

#endif
