/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_VMM_H
#define PETREL_VMM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
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
	struct event_loop *loop;	/* the vmm thread's loop; NULL: the VM makes its own */
	/* The vmm's: where the sandbox lets snapshots be created (--snapshot-dir, --jailed). */
	const char *const *snapshot_dirs;
	unsigned int nr_snapshot_dirs;
	bool jailed;
	struct mmds *mmds;	/* the metadata store, NULL: none (unit tests) */
};

struct vm;

/* Build a VM from a validated config: memory, devices, tables, kernel, vCPUs. */
int vm_build(const struct vm_config *cfg, const struct vm_options *opts, struct vm **out);
void vm_destroy(struct vm *vm);

/*
 * The vmm thread's top level: its event loop, the signals that end petrel,
 * the metrics timer, the VM once built and, with an API server, the
 * requests it hands over (applied here, one at a time, in the loop).
 */
struct vmm;
struct api_server;

/* id: GET /'s "id"; api may be NULL (--no-api). Blocks SIGTERM, SIGINT, SIGHUP. */
struct vmm *vmm_create(const struct vm_options *opts, const char *id, struct api_server *api);
/* Take cfg (left empty), build the VM from it and start it (--config-file). */
int vmm_boot(struct vmm *vmm, struct vm_config *cfg);
/* Run until the guest ends or a signal comes: petrel's exit code. */
int vmm_run(struct vmm *vmm);
void vmm_destroy(struct vmm *vmm);

/*
 * `petrel snapshot info FILE` (version, configuration, memory layout,
 * sections) and `--describe-snapshot FILE` (version_only: "v1.0"); -errno
 * with err naming the file.
 */
int vm_snapshot_info(const char *path, bool version_only, FILE *out, char *err, size_t errlen);

#endif
