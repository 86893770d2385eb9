// SPDX-License-Identifier: Apache-2.0
/* libFuzzer: the ELF and bzImage parsers on arbitrary kernel files. */
#include <stddef.h>
#include <stdint.h>

#include <petrel/boot.h>
#include <petrel/log.h>
#include <petrel/util.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	struct boot_info info;

	if (!quiet++)
		log_set_level(LOG_OFF);
	if (boot_parse_kernel(data, size, MiB(256), "fuzz", &info) == 0 &&
	    (info.kernel_start < MEM_HIMEM_START || info.kernel_end > MiB(256) ||
	     info.kernel_start >= info.kernel_end))
		__builtin_trap();
	return 0;
}
