// SPDX-License-Identifier: Apache-2.0
/* The boot timeline: one timestamp per phase, stored by whichever thread gets there. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include <petrel/log.h>
#include <petrel/timeline.h>
#include <petrel/util.h>

static const char *const names[BOOT_NR_PHASES] = {
	[BOOT_PROCESS_START] = "process_start",
	[BOOT_API_SOCKET_READY] = "api_socket_ready",
	[BOOT_INSTANCE_START] = "instance_start",
	[BOOT_MEMORY_MAPPED] = "memory_mapped",
	[BOOT_DEVICES_ATTACHED] = "devices_attached",
	[BOOT_KERNEL_LOADED] = "kernel_loaded",
	[BOOT_FIRST_KVM_RUN] = "first_kvm_run",
	[BOOT_FIRST_CONSOLE_OUTPUT] = "first_console_output",
	[BOOT_TIMER] = "boot_timer",
};

static _Atomic uint64_t at[BOOT_NR_PHASES];
static atomic_bool logged;

void timeline_mark_at(enum boot_phase p, uint64_t us)
{
	uint64_t unset = 0;

	if (p >= BOOT_NR_PHASES)
		return;
	if (p > BOOT_INSTANCE_START && !atomic_load_explicit(&at[BOOT_INSTANCE_START],
							     memory_order_relaxed))
		return;
	atomic_compare_exchange_strong_explicit(&at[p], &unset, us ? us : 1,
						memory_order_relaxed, memory_order_relaxed);
}

/* The clock is read only the first time: a vCPU's every console byte costs one load. */
void timeline_mark(enum boot_phase p)
{
	if (p < BOOT_NR_PHASES && !atomic_load_explicit(&at[p], memory_order_relaxed))
		timeline_mark_at(p, util_now_us());
}

void timeline_clear_from(enum boot_phase p)
{
	for (unsigned int i = p; i < BOOT_NR_PHASES; i++)
		atomic_store_explicit(&at[i], 0, memory_order_relaxed);
	atomic_store(&logged, false);
}

uint64_t timeline_get(enum boot_phase p)
{
	return p < BOOT_NR_PHASES ? atomic_load_explicit(&at[p], memory_order_relaxed) : 0;
}

const char *timeline_phase_name(enum boot_phase p)
{
	return p < BOOT_NR_PHASES ? names[p] : "?";
}

/* µs from phase from to t; t before it (another thread's clock read) is 0. */
static uint64_t since(enum boot_phase from, uint64_t t)
{
	uint64_t base = timeline_get(from);

	return t > base ? t - base : 0;
}

void timeline_format(char *buf, size_t len)
{
	size_t pos = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < BOOT_NR_PHASES; i++) {
		uint64_t t = timeline_get(i);
		int n;

		if (!t || pos >= len)
			continue;
		n = snprintf(buf + pos, len - pos, "%s%s %" PRIu64, pos ? ", " : "", names[i],
			     since(BOOT_PROCESS_START, t));
		pos += n > 0 ? n : 0;
		if (i >= BOOT_INSTANCE_START && pos < len) {
			n = snprintf(buf + pos, len - pos, " (%" PRIu64 ")",
				     since(BOOT_INSTANCE_START, t));
			pos += n > 0 ? n : 0;
		}
	}
}

void timeline_log(const char *why)
{
	char text[512];

	if (!timeline_get(BOOT_INSTANCE_START) || atomic_exchange(&logged, true))
		return;
	timeline_format(text, sizeof(text));
	pr_info("Boot timeline (%s), us since process start (since InstanceStart): %s", why,
		text);
}

static int add_phases(json_t *obj, const char *key, enum boot_phase from)
{
	json_t *o = json_object();

	if (!o || json_object_set_new(obj, key, o))
		return -ENOMEM;
	for (unsigned int i = from; i < BOOT_NR_PHASES; i++) {
		uint64_t t = timeline_get(i);

		if (t && json_object_set_new(o, names[i], json_integer(since(from, t))))
			return -ENOMEM;
	}
	return 0;
}

int timeline_json(void *root)
{
	json_t *tl = json_object();

	if (!tl || json_object_set_new(root, "boot_timeline", tl))
		return -ENOMEM;
	return add_phases(tl, "since_start_us", BOOT_PROCESS_START) ?:
	       add_phases(tl, "since_instance_start_us", BOOT_INSTANCE_START);
}

static void prom_phases(FILE *f, const char *name, enum boot_phase from)
{
	fprintf(f, "# TYPE petrel_boot_timeline_%s gauge\n", name);
	for (unsigned int i = from; i < BOOT_NR_PHASES; i++) {
		uint64_t t = timeline_get(i);

		if (t)
			fprintf(f, "petrel_boot_timeline_%s{phase=\"%s\"} %" PRIu64 "\n", name,
				names[i], since(from, t));
	}
}

void timeline_prometheus(FILE *f)
{
	prom_phases(f, "since_start_us", BOOT_PROCESS_START);
	prom_phases(f, "since_instance_start_us", BOOT_INSTANCE_START);
}
