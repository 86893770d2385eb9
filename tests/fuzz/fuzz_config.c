// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: any bytes as a --config-file document. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <petrel/config.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config cfg;
	char err[256];
	json_t *out;

	config_init(&cfg);
	if (!config_parse_string((const char *)data, size, &cfg, err, sizeof(err))) {
		/* Whatever was accepted must serialize and validate again. */
		out = config_to_json(&cfg);
		if (!out || config_validate(&cfg, err, sizeof(err)))
			abort();
		json_decref(out);
	}
	config_free(&cfg);
	return 0;
}
