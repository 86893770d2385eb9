/* SPDX-License-Identifier: MIT */
/* TSC time: the frequency from CPUID, else measured against the PIT. */
#ifndef PROBE_TIME_H
#define PROBE_TIME_H

#include <stdbool.h>
#include <stdint.h>

/* Find the TSC frequency once and print it with where it came from. */
void time_init(void);
uint64_t time_deadline(uint64_t ms);
bool time_passed(uint64_t deadline);
uint64_t time_us(uint64_t cycles);
/* count * per_us / microseconds(cycles): 1000000 gives a rate per second. */
uint64_t time_rate(uint64_t count, uint64_t cycles, uint64_t per_us);

#endif
