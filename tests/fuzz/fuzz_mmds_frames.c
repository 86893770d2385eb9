// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: Ethernet frames from a guest into the metadata
 * service's endpoint, as a net device hands them over (virtio-net header
 * first). The input is a sequence of frames, each a little-endian u16
 * length then its bytes; after each, everything the endpoint has for the
 * guest is taken, as a device with room would. What it gives is a frame
 * with the 12-byte header, the MMDS's MAC as source, and a bounded length;
 * a bounded number of frames comes out per frame in (no endless output).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_net.h>

#include <petrel/mmds.h>

#define VH		sizeof(struct virtio_net_hdr_v1)
#define OUT_MAX		2048
#define DRAIN_MAX	64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mmds *store(void)
{
	static struct mmds *m;
	struct mmds_config cfg = { .present = true, .ipv4 = 0xa9fea9fe };
	json_t *v;

	if (m)
		return m;
	m = mmds_create(51200);
	v = json_loads("{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-1\"}}}", 0, NULL);
	if (!m || !v || mmds_put(m, v))
		abort();
	json_decref(v);
	mmds_configure(m, &cfg);
	return m;
}

static void drain(struct mmds_net *e)
{
	static uint8_t out[65536];
	size_t len;
	int n = 0;

	while ((len = mmds_net_rx(e, out, sizeof(out)))) {
		if (len < VH + 14 || len > VH + 14 + OUT_MAX || ++n > DRAIN_MAX ||
		    memcmp(out + VH + 6, "\x06\x01\x23\x45\x67\x01", 6))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mmds_net *e = mmds_net_create(store(), NULL, NULL, NULL);
	size_t off = 0;

	if (!e)
		abort();
	while (off + 2 <= size) {
		size_t len = data[off] | (size_t)data[off + 1] << 8;
		struct iovec iov;

		off += 2;
		len = len < size - off ? len : size - off;
		iov.iov_base = (void *)(data + off);
		iov.iov_len = len;
		mmds_net_tx(e, &iov, 1);
		drain(e);
		off += len;
	}
	mmds_net_destroy(e);
	return 0;
}
