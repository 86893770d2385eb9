// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: request bodies through the API's router and checks,
 * then, for what passes, the vmm thread's config parser on a fresh config
 * (which must then accept it too) and back to JSON. The first byte picks
 * the method and path; the rest is the body.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/api.h>
#include <petrel/config.h>
#include <petrel/util.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	enum http_method method;
	const char *name, *path;
} targets[] = {
	{ HTTP_PUT, "PUT", "/boot-source" },
	{ HTTP_PUT, "PUT", "/machine-config" },
	{ HTTP_PATCH, "PATCH", "/machine-config" },
	{ HTTP_PUT, "PUT", "/drives/rootfs" },
	{ HTTP_PATCH, "PATCH", "/drives/rootfs" },
	{ HTTP_PUT, "PUT", "/network-interfaces/eth0" },
	{ HTTP_PUT, "PUT", "/entropy" },
	{ HTTP_PUT, "PUT", "/logger" },
	{ HTTP_PUT, "PUT", "/metrics" },
	{ HTTP_PUT, "PUT", "/actions" },
	{ HTTP_PATCH, "PATCH", "/vm" },
	{ HTTP_GET, "GET", "/" },
	{ HTTP_GET, "GET", "/version" },
	{ HTTP_GET, "GET", "/vm/config" },
	{ HTTP_OTHER, "DELETE", "/drives/rootfs" },
	{ HTTP_PUT, "PUT", "/drives/" },
	{ HTTP_PATCH, "PATCH", "/network-interfaces/eth0" },
	{ HTTP_PUT, "PUT", "/serial" },
};

/* What the vmm thread does for a section on a config in its initial state. */
static int apply(const struct api_request *req, struct vm_config *cfg)
{
	char err[API_FAULT_MAX];

	switch (req->op) {
	case API_PUT_BOOT_SOURCE:
		return config_boot_source_from_json(cfg, req->body, err, sizeof(err));
	case API_PUT_MACHINE:
	case API_PATCH_MACHINE:
		return config_machine_from_json(cfg, req->body, req->op == API_PATCH_MACHINE,
						err, sizeof(err));
	case API_PUT_DRIVE:
		return config_drive_from_json(cfg, req->body, err, sizeof(err));
	case API_PUT_NET:
		return config_net_from_json(cfg, req->body, err, sizeof(err));
	case API_PUT_ENTROPY:
		return config_entropy_from_json(cfg, req->body, err, sizeof(err));
	case API_PUT_SERIAL:
		return config_serial_from_json(cfg, req->body, err, sizeof(err));
	case API_PUT_LOGGER:
		return config_logger_from_json(cfg, req->body, err, sizeof(err));
	case API_PUT_METRICS:
		return config_metrics_from_json(cfg, req->body, err, sizeof(err));
	default:
		return 0;
	}
}

static void check(const struct api_request *req, int routed)
{
	struct vm_config cfg;
	json_t *out;

	if (!routed) {
		if ((req->status != 400 && req->status != 200) ||
		    (req->status == 400 && !req->fault[0]) ||
		    (req->status == 200 && !req->reply))
			abort();
		return;
	}
	if (req->status || req->op >= API_NR_OPS || !api_op_name(req->op))
		abort();
	config_init(&cfg);
	if (apply(req, &cfg))
		abort();	/* the API thread's check let through what the parser refuses */
	out = config_to_json(&cfg);
	if (!out)
		abort();
	json_decref(out);
	config_free(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request http = { 0 };
	struct api_request req;
	size_t t;
	int routed;

	if (!size)
		return 0;
	t = data[0] % ARRAY_SIZE(targets);
	http.method = targets[t].method;
	strcpy(http.method_name, targets[t].name);
	strcpy(http.path, targets[t].path);
	http.has_length = true;
	http.content_length = size - 1;
	routed = api_route(&http, (const char *)data + 1, size - 1, &req);
	check(&req, routed);
	api_request_free(&req);
	return 0;
}
