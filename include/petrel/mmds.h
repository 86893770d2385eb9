/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_MMDS_H
#define PETREL_MMDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <jansson.h>

#include <petrel/config.h>

/*
 * The metadata service: a JSON store the API fills (PUT replaces, PATCH
 * merges as RFC 7396) and the guest reads over HTTP at a link-local address
 * on the network interfaces mmds-config names. All of it lives on the vmm
 * thread: API requests and the net devices' queues are served there.
 */

#define MMDS_TOKEN_TTL_MAX	21600	/* seconds, as EC2's IMDSv2 */
#define MMDS_REQUEST_MAX	4096	/* a guest's request, head and body */
#define MMDS_PATH_MAX		1024
#define MMDS_TOKEN_LEN		64	/* hex digits */

struct mmds;

/* size_limit: the store's JSON text at most this many bytes. */
struct mmds *mmds_create(size_t size_limit);
void mmds_destroy(struct mmds *m);
size_t mmds_size_limit(const struct mmds *m);

/*
 * PUT and PATCH /mmds: 0, or -E2BIG over the size limit, -EINVAL not an
 * object, -ENODATA a PATCH before any PUT (the store is null until then, as
 * Firecracker's), -ENOMEM; the store is unchanged on failure. data is not taken.
 */
int mmds_put(struct mmds *m, json_t *data);
int mmds_patch(struct mmds *m, json_t *patch);
/* The store (borrowed): {} until the first PUT. */
json_t *mmds_data(const struct mmds *m);
/* --metadata FILE: its JSON object as the first PUT; err names the file. */
int mmds_load_file(struct mmds *m, const char *path, char *err, size_t errlen);

/* The guest-facing settings of mmds-config; every V2 token made before is forgotten. */
void mmds_configure(struct mmds *m, const struct mmds_config *cfg);
uint32_t mmds_ipv4(const struct mmds *m);	/* host byte order */

/* ---- the guest's HTTP requests (exposed for unit tests and fuzzing) ---- */

enum mmds_method { MMDS_GET, MMDS_PUT, MMDS_OTHER };

struct mmds_request {
	enum mmds_method method;
	char path[MMDS_PATH_MAX];	/* the target without its query */
	bool accept_json;		/* Accept: application/json */
	bool has_token;
	bool token_bad;			/* too long to be one of ours */
	char token[MMDS_TOKEN_LEN + 1];
	bool has_ttl;
	long ttl;			/* -1: not a number */
	bool forwarded;			/* X-Forwarded-For */
	bool close;			/* Connection: close, or HTTP/1.0 */
};

/*
 * Parse one request at the start of buf. Returns its length (head and
 * body), 0 when more bytes are needed, or a negative HTTP status (-400,
 * -413, -501, -505) for a request that can never be served.
 */
int mmds_request_parse(const char *buf, size_t len, struct mmds_request *req);
/* The whole HTTP response to req, malloc'd (*len bytes); NULL when out of memory. */
char *mmds_respond(struct mmds *m, const struct mmds_request *req, size_t *len);
/* The response to a request that failed to parse (status from mmds_request_parse). */
char *mmds_respond_error(int status, size_t *len);

/* ---- the guest-facing network endpoint, one per net device ---- */

struct event_loop;
struct mmds_net;

/*
 * kick(opaque) runs on the vmm thread when frames wait for the guest
 * outside a transmit (a resend after a lost frame).
 */
struct mmds_net *mmds_net_create(struct mmds *m, struct event_loop *loop,
				 void (*kick)(void *opaque), void *opaque);
void mmds_net_destroy(struct mmds_net *e);
/*
 * A frame the guest sent (the iovecs begin with the 12-byte virtio-net
 * header): true when it was for the MMDS (ARP for its address, IPv4 to it)
 * and is consumed, false when it goes on to the tap.
 */
bool mmds_net_tx(struct mmds_net *e, const struct iovec *iov, unsigned int niov);
/* The next frame for the guest, virtio-net header first (all zero): its length, 0: none. */
size_t mmds_net_rx(struct mmds_net *e, uint8_t *buf, size_t size);

#endif
