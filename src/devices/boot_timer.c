// SPDX-License-Identifier: Apache-2.0
/* The guest writes 123 here when its userspace starts: log how long boot took. */
#include <petrel/devices.h>
#include <petrel/log.h>
#include <petrel/timeline.h>
#include <petrel/util.h>

static void boot_timer_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct boot_timer *t = opaque;
	uint64_t elapsed;

	if (offset != 0 || data[0] != BOOT_TIMER_MAGIC)
		return;
	timeline_mark(BOOT_TIMER);
	if (!t->enabled)
		return;
	elapsed = util_now_us() - t->start_us;
	t->fired = true;
	pr_info("Guest-boot-time = %llu us %llu ms", (unsigned long long)elapsed,
		(unsigned long long)(elapsed / 1000));
	timeline_log("boot timer");
}

const struct bus_ops boot_timer_bus_ops = {
	.write = boot_timer_write,
};
