// SPDX-License-Identifier: Apache-2.0
/*
 * kernelload KERNEL INITRD|- MEM_MIB RUNS: the kernel_loaded phase of a boot
 * alone, without a vCPU: boot_load_kernel() then boot_load_initrd() into
 * fresh anonymous guest memory of MEM_MIB, as an InstanceStart does, RUNS
 * times (fresh memory each time). Prints one line a run:
 *   kernel_us initrd_us
 * Linked against petrel_core (bench/kernelload.sh builds it against a
 * baseline commit's too, to compare the loaders in one run).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <petrel/boot.h>
#include <petrel/log.h>
#include <petrel/memory.h>

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int one_run(const char *kernel, const char *initrd, unsigned long mib)
{
	struct guest_mem mem;
	struct boot_info info;
	long long t0, t1, t2;
	int ret;

	if (guest_mem_create(&mem, mib, HUGE_PAGES_NONE))
		return 1;
	t0 = now_us();
	ret = boot_load_kernel(&mem, kernel, &info);
	t1 = now_us();
	if (!ret && initrd)
		ret = boot_load_initrd(&mem, initrd, &info);
	t2 = now_us();
	guest_mem_destroy(&mem);
	if (ret) {
		fprintf(stderr, "kernelload: loading %s failed (%d)\n", kernel, ret);
		return 1;
	}
	printf("%lld %lld\n", t1 - t0, t2 - t1);
	return 0;
}

int main(int argc, char **argv)
{
	const char *initrd;
	unsigned long mib;
	int runs;

	if (argc != 5) {
		fprintf(stderr, "usage: kernelload KERNEL INITRD|- MEM_MIB RUNS\n");
		return 2;
	}
	initrd = strcmp(argv[2], "-") ? argv[2] : NULL;
	mib = strtoul(argv[3], NULL, 10);
	runs = atoi(argv[4]);
	log_set_level(LOG_WARN);
	for (int i = 0; i < runs; i++) {
		if (one_run(argv[1], initrd, mib))
			return 1;
	}
	return 0;
}
