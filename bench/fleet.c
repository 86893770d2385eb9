// SPDX-License-Identifier: Apache-2.0
/*
 * fleet N MARKER CMD [ARGS...]: start N copies of CMD at once, each with its
 * stdout on a pipe, and wait (60 s at most) until every one has printed a
 * line holding MARKER, and one second more. Then SIGTERM them all and wait
 * for them to end (SIGKILL after 30 s). Prints one line:
 *   all_us started marked clean memavail_before memavail_at memavail_later
 * all_us: from the first fork to the last marker (-1 if some never printed
 * it); memavail (KiB): MemAvailable just before the first fork, just after
 * the last marker and a second later; clean: how many printed the marker
 * and then ended with exit status 0.
 */
#define _GNU_SOURCE
#include "bench.h"

int main(int argc, char **argv)
{
	long long t0, all = -1;
	long before, at, later;
	int n, started = 0, marked;
	struct bench_vm *vms;

	if (argc < 4 || (n = atoi(argv[1])) <= 0)
		return 2;
	vms = calloc(n, sizeof(*vms));
	if (!vms)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	before = bench_mem_available_kib();
	t0 = bench_now_us();
	for (int i = 0; i < n; i++)
		started += bench_vm_launch(&vms[i], argv + 3) == 0;
	marked = bench_vm_watch(vms, n, argv[2], t0 + 60000000);
	if (marked == n)
		all = bench_now_us() - t0;
	at = bench_mem_available_kib();
	sleep(1);
	later = bench_mem_available_kib();
	printf("%lld %d %d %d %ld %ld %ld\n", all, started, marked, bench_vm_stop_all(vms, n), before, at,
	       later);
	return marked == n ? 0 : 1;
}
