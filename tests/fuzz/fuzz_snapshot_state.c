// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: any bytes as a snapshot state file, framing and the sections' decoders. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <petrel/snapshot.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_state st;
	char err[512];

	if (snap_state_parse(data, size, "fuzz", &st, err, sizeof(err)))
		return 0;
	if (st.major != SNAP_VERSION_MAJOR || st.nr > SNAP_MAX_SECTIONS)
		abort();
	snap_state_free(&st);
	return 0;
}
