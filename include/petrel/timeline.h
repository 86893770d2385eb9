/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_TIMELINE_H
#define PETREL_TIMELINE_H

/*
 * The boot timeline: when a cold boot reached each of its phases, on the
 * monotonic clock. A mark is one relaxed atomic store of a timestamp (the
 * first mark of a phase wins), so vCPU threads mark too, with no lock and
 * no syscall beyond the clock read the vDSO serves. The phases from
 * InstanceStart on are recorded only once InstanceStart is (a snapshot
 * restore has no timeline).
 */

#include <stdint.h>
#include <stdio.h>

/* In the order a boot goes through them; docs/api.md lists them. */
enum boot_phase {
	BOOT_PROCESS_START,		/* main(), or --start-time-us */
	BOOT_API_SOCKET_READY,		/* the API accepts */
	BOOT_INSTANCE_START,		/* InstanceStart, or the config file's boot */
	BOOT_MEMORY_MAPPED,		/* guest memory mapped and given to KVM */
	BOOT_DEVICES_ATTACHED,		/* legacy and virtio devices on their buses */
	BOOT_KERNEL_LOADED,		/* kernel, initrd, command line and tables written */
	BOOT_FIRST_KVM_RUN,		/* a vCPU's first KVM_RUN */
	BOOT_FIRST_CONSOLE_OUTPUT,	/* the guest's first byte to the serial console */
	BOOT_TIMER,			/* the guest's boot timer write */
	BOOT_NR_PHASES,
};

/* Mark phase p now, or at us (CLOCK_MONOTONIC, µs); a phase marked already stays. */
void timeline_mark(enum boot_phase p);
void timeline_mark_at(enum boot_phase p, uint64_t us);
/* Forget p and every later phase: a boot that failed, for the next try. */
void timeline_clear_from(enum boot_phase p);
/* When p was reached; 0 if not (yet). */
uint64_t timeline_get(enum boot_phase p);
/* "api_socket_ready", ...: the names in the log, the metrics and the docs. */
const char *timeline_phase_name(enum boot_phase p);

/*
 * The phases reached, as "NAME SINCE_START (SINCE_INSTANCE_START)" in µs,
 * comma-separated, into buf (always NUL-terminated).
 */
void timeline_format(char *buf, size_t len);
/* One Info line with timeline_format()'s text; only the first call logs. */
void timeline_log(const char *why);

/*
 * The metrics: a "boot_timeline" object in root (a json_t *) with
 * "since_start_us" and "since_instance_start_us", each phase reached by
 * name; and the same as Prometheus gauges with a "phase" label. -ENOMEM.
 */
int timeline_json(void *root);
void timeline_prometheus(FILE *f);

#endif
