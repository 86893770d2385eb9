/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_METRICS_H
#define PETREL_METRICS_H

/*
 * Metrics: plain counters, flushed as one JSON line in Firecracker's shape
 * ({"utc_timestamp_ms": ..., "vcpu": {"exit_io_in": 3, ...}, "block_rootfs":
 * {...}, ...}). Counters are reported as deltas since the previous line,
 * gauges as their current value. Every function here is thread-safe:
 * counters are relaxed atomics (vCPU threads, the API thread, the vmm thread
 * and signal handlers may all count), flushing takes a lock.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define METRICS_FLUSH_INTERVAL_S	60

/* The fixed metrics, in JSON order; the group and field names are Firecracker's. */
enum metric {
	/* "api_server" (gauges) */
	M_API_PROCESS_STARTUP_TIME_US,
	M_API_PROCESS_STARTUP_TIME_CPU_US,
	/* "get_api_requests": one counter per GET endpoint */
	M_GET_INSTANCE_INFO_COUNT,
	M_GET_MACHINE_CFG_COUNT,
	M_GET_MMDS_COUNT,
	M_GET_VMM_VERSION_COUNT,
	M_GET_METRICS_COUNT,		/* petrel's GET /metrics */
	/* "put_api_requests": requests and failures (answered 4xx/5xx) per endpoint */
	M_PUT_ACTIONS_COUNT,
	M_PUT_ACTIONS_FAILS,
	M_PUT_BOOT_SOURCE_COUNT,
	M_PUT_BOOT_SOURCE_FAILS,
	M_PUT_DRIVE_COUNT,
	M_PUT_DRIVE_FAILS,
	M_PUT_LOGGER_COUNT,
	M_PUT_LOGGER_FAILS,
	M_PUT_MACHINE_CFG_COUNT,
	M_PUT_MACHINE_CFG_FAILS,
	M_PUT_CPU_CFG_COUNT,
	M_PUT_CPU_CFG_FAILS,
	M_PUT_METRICS_COUNT,
	M_PUT_METRICS_FAILS,
	M_PUT_NETWORK_COUNT,
	M_PUT_NETWORK_FAILS,
	M_PUT_MMDS_COUNT,
	M_PUT_MMDS_FAILS,
	M_PUT_VSOCK_COUNT,
	M_PUT_VSOCK_FAILS,
	M_PUT_SNAPSHOT_COUNT,		/* petrel: /snapshot/create and /snapshot/load */
	M_PUT_SNAPSHOT_FAILS,
	/* "patch_api_requests" */
	M_PATCH_DRIVE_COUNT,
	M_PATCH_DRIVE_FAILS,
	M_PATCH_NETWORK_COUNT,
	M_PATCH_NETWORK_FAILS,
	M_PATCH_MACHINE_CFG_COUNT,
	M_PATCH_MACHINE_CFG_FAILS,
	M_PATCH_MMDS_COUNT,
	M_PATCH_MMDS_FAILS,
	M_PATCH_VM_COUNT,		/* petrel: PATCH /vm (pause, resume) */
	M_PATCH_VM_FAILS,
	/* "latencies_us" (gauges: the last duration measured, in microseconds) */
	M_LAT_FULL_CREATE_SNAPSHOT,
	M_LAT_DIFF_CREATE_SNAPSHOT,
	M_LAT_LOAD_SNAPSHOT,
	M_LAT_PAUSE_VM,
	M_LAT_RESUME_VM,
	/* "logger" */
	M_LOGGER_MISSED_METRICS_COUNT,	/* metrics lines lost: FIFO full, short write */
	M_LOGGER_METRICS_FAILS,		/* metrics lines that could not be built */
	M_LOGGER_MISSED_LOG_COUNT,	/* log lines lost */
	/* "seccomp" */
	M_SECCOMP_NUM_FAULTS,
	/* "signals" */
	M_SIGNALS_SIGBUS,
	M_SIGNALS_SIGSEGV,
	M_SIGNALS_SIGXFSZ,
	M_SIGNALS_SIGXCPU,
	M_SIGNALS_SIGPIPE,
	M_SIGNALS_SIGHUP,
	M_SIGNALS_SIGILL,
	/* "uart" */
	M_UART_MISSED_WRITE_COUNT,	/* guest console bytes lost: no room, reader gone */
	M_UART_RATE_LIMITER_DROPPED_BYTES,	/* ... beyond serial.rate_limiter */
	/* "vcpu": exits handled in userspace, by kind, over all vCPUs */
	M_VCPU_EXIT_IO_IN,
	M_VCPU_EXIT_IO_OUT,
	M_VCPU_EXIT_MMIO_READ,
	M_VCPU_EXIT_MMIO_WRITE,
	M_VCPU_FAILURES,		/* KVM_RUN errors, failed entries, internal errors */
	/* "vmm" */
	M_VMM_PANIC_COUNT,
	M_NR_METRICS,
};

/* Count one event / v events (counters). Async-signal-safe. */
void metrics_inc(enum metric m);
void metrics_add(enum metric m, uint64_t v);
/* Store a gauge's value (e.g. M_API_PROCESS_STARTUP_TIME_US). Async-signal-safe. */
void metrics_set(enum metric m, uint64_t v);
/* The current absolute value, for tests and handlers. */
uint64_t metrics_get(enum metric m);

/*
 * Per-device counters that live in the device (a struct of uint64_t), read
 * with relaxed loads when flushed. A schema describes one kind of device:
 * its source with id "rootfs" is the JSON group "<kind>_rootfs" and the
 * Prometheus samples petrel_<kind>_<field>{<label>="rootfs"}. A source with
 * id NULL (a device there is one of, e.g. "entropy") is the group "<kind>".
 */
struct metrics_field {
	const char *name;
	size_t offset;			/* of a uint64_t counter in the device's struct */
};

struct metrics_schema {
	const char *kind;		/* "block", "net", "entropy" */
	const char *label;		/* Prometheus label for the id: "drive", "iface" */
	const struct metrics_field *fields;
	unsigned int nr_fields;
};

/*
 * Report the counters at base (which must stay valid until removed) from
 * the next flush on. -ENOMEM, or -EEXIST if base is already a source.
 */
int metrics_source_add(const struct metrics_schema *schema, const char *id, const void *base);
/* Stop reporting base (no-op if it is not a source); call before freeing it. */
void metrics_source_remove(const void *base);

/*
 * Write the metrics lines to path from now on (PUT /metrics, the config
 * file's "metrics.metrics_path"): a file (appended, created 0600) or a FIFO
 * (which may have no reader yet), opened read-write and non-blocking.
 * -errno, unchanged, on failure; err then holds a message naming the path. Arms the flush timer.
 */
int metrics_set_path(const char *path, char *err, size_t errlen);
/* Set once (--metrics-path, the config file or PUT /metrics): never again. */
bool metrics_has_path(void);

/*
 * Fields at the top of every line from now on, as Firecracker's metrics
 * "emit_id" and "properties": "id" when id is not NULL, and "properties"
 * (an object of strings, copied) when not NULL. 0 or -ENOMEM.
 */
int metrics_set_fields(const char *id, const json_t *properties);

/*
 * Write one line now: counters as deltas since the last line written whole,
 * gauges as values. One write(); if the FIFO lacks room for the whole line
 * or the write is short, the line is lost (logger.missed_metrics_count
 * counts it, nothing blocks) and its deltas carry over to the next line.
 * 0 on success or when no path is set; -errno otherwise (-EAGAIN: FIFO full).
 * Callers: the vmm loop on the timer (metrics_on_timer), PUT /actions
 * FlushMetrics, and vm_destroy() for the last line (its vCPUs stopped, its
 * devices not yet gone); a process that never built a VM flushes at exit.
 */
int metrics_flush(void);
/*
 * Async-signal-safe, for a handler about to end petrel: a last line with
 * only metric m's delta ({"utc_timestamp_ms": T, "seccomp": {"num_faults":
 * 1}}), written without the lock or an allocation.
 */
void metrics_flush_signal_safe(enum metric m);

/*
 * Every metric's absolute value in the Prometheus text format (GET
 * /metrics), e.g. "# TYPE petrel_vcpu_exit_io_in counter\n
 * petrel_vcpu_exit_io_in 3\n"; device samples carry their id as a label.
 * The caller free()s it; NULL when out of memory. Does not change deltas.
 */
char *metrics_prometheus(void);

/*
 * A timerfd (non-blocking, close-on-exec) that fires every
 * METRICS_FLUSH_INTERVAL_S seconds once a path is set: the vmm loop
 * (src/vmm/vmm.c) watches it for EPOLLIN and calls metrics_on_timer().
 * Created on first call; -errno.
 */
int metrics_timer_fd(void);
/* If the timer expired: acknowledge it and flush. */
void metrics_on_timer(void);

/* Close the path and the timer (after the last flush, at exit). */
void metrics_close(void);

#endif
