// SPDX-License-Identifier: Apache-2.0
/*
 * The metadata service: the store (PUT, RFC 7396 PATCH, the size limit), the
 * guest's HTTP requests and the answers (IMDS listing, JSON, V2 tokens and
 * their expiry), and the endpoint on the link (ARP, a TCP exchange).
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_ether.h>
#include <linux/virtio_net.h>

#include <petrel/mmds.h>

#include "../../src/mmds/mmds_priv.h"

#define VH	sizeof(struct virtio_net_hdr_v1)

static json_t *js(const char *text)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);

	ck_assert_ptr_nonnull(v);
	return v;
}

static void assert_data(struct mmds *m, const char *want)
{
	char *got = json_dumps(mmds_data(m), JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	ck_assert_str_eq(got, want);
	free(got);
}

static int put(struct mmds *m, const char *text)
{
	json_t *v = js(text);
	int ret = mmds_put(m, v);

	json_decref(v);
	return ret;
}

static int patch(struct mmds *m, const char *text)
{
	json_t *v = js(text);
	int ret = mmds_patch(m, v);

	json_decref(v);
	return ret;
}

START_TEST(test_put_patch)
{
	struct mmds *m = mmds_create(1000);

	/* Not initialized before the first PUT: null, and a PATCH is refused. */
	assert_data(m, "null");
	ck_assert_int_eq(patch(m, "{\"a\": 1}"), -ENODATA);
	assert_data(m, "null");
	ck_assert_int_eq(put(m, "{\"a\": {\"b\": 1, \"c\": [1, 2]}, \"d\": \"x\"}"), 0);
	ck_assert_int_eq(patch(m, "{\"a\": {\"b\": null, \"e\": {\"f\": true}}, \"d\": {\"g\": 1}}"),
			 0);
	assert_data(m, "{\"a\":{\"c\":[1,2],\"e\":{\"f\":true}},\"d\":{\"g\":1}}");
	ck_assert_int_eq(patch(m, "{\"a\": {\"c\": [3]}, \"zz\": null}"), 0);
	assert_data(m, "{\"a\":{\"c\":[3],\"e\":{\"f\":true}},\"d\":{\"g\":1}}");
	ck_assert_int_eq(put(m, "{\"n\": 1}"), 0);
	assert_data(m, "{\"n\":1}");
	ck_assert_int_eq(put(m, "[1]"), -EINVAL);
	ck_assert_int_eq(patch(m, "3"), -EINVAL);
	assert_data(m, "{\"n\":1}");
	mmds_destroy(m);
}
END_TEST

START_TEST(test_size_limit)
{
	struct mmds *m = mmds_create(20);

	ck_assert_int_eq(put(m, "{\"a\": \"0123456789\"}"), 0);		/* 18 bytes */
	ck_assert_int_eq(put(m, "{\"a\": \"0123456789abc\"}"), -E2BIG);
	ck_assert_int_eq(patch(m, "{\"b\": 1}"), -E2BIG);
	assert_data(m, "{\"a\":\"0123456789\"}");
	ck_assert_int_eq(patch(m, "{\"a\": null, \"b\": 1}"), 0);
	assert_data(m, "{\"b\":1}");
	mmds_destroy(m);
}
END_TEST

static int parse(const char *text, struct mmds_request *r)
{
	return mmds_request_parse(text, strlen(text), r);
}

START_TEST(test_parse)
{
	struct mmds_request r;
	const char *get = "GET /latest/meta-data?x=1 HTTP/1.1\r\nAccept: application/json\r\n"
			  "X-metadata-token: 0123456789abcdef0123456789abcdef0123456789abcdef"
			  "0123456789abcdef\r\n\r\nGET";

	ck_assert_int_eq(parse(get, &r), (int)strlen(get) - 3);
	ck_assert_int_eq(r.method, MMDS_GET);
	ck_assert_str_eq(r.path, "/latest/meta-data");
	ck_assert(r.accept_json && r.has_token && !r.token_bad && !r.close);
	get = "PUT /latest/api/token HTTP/1.0\nX-aws-ec2-metadata-token-ttl-seconds: 60\n"
	      "Content-Length: 2\n\nab";
	ck_assert_int_eq(parse(get, &r), (int)strlen(get));
	ck_assert(r.method == MMDS_PUT && r.has_ttl && r.ttl == 60 && r.close);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", &r), 0);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\n", &r), 0);
	ck_assert_int_eq(parse("DELETE / HTTP/1.1\r\n\r\n", &r), 21);
	ck_assert_int_eq(r.method, MMDS_OTHER);
}
END_TEST

static const struct {
	const char *text;
	int status;
} bad[] = {
	{ "GET / HTTP/2.0\r\n\r\n", -505 },
	{ "GET / FTP/1.1\r\n\r\n", -400 },
	{ "GET nopath HTTP/1.1\r\n\r\n", -400 },
	{ "GET  HTTP/1.1\r\n\r\n", -400 },
	{ "\r\n\r\n", -400 },
	{ "GET / HTTP/1.1\r\nNo colon\r\n\r\n", -400 },
	{ "GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", -400 },
	{ "GET / HTTP/1.1\r\nContent-Length: 99999\r\n\r\n", -413 },
	{ "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", -501 },
	{ "G(T / HTTP/1.1\r\n\r\n", -400 },
};

START_TEST(test_parse_bad)
{
	struct mmds_request r;

	ck_assert_int_eq(parse(bad[_i].text, &r), bad[_i].status);
}
END_TEST

START_TEST(test_parse_too_long)
{
	char *big = malloc(MMDS_REQUEST_MAX + 10);
	struct mmds_request r;

	memset(big, 'A', MMDS_REQUEST_MAX + 10);
	ck_assert_int_eq(mmds_request_parse(big, MMDS_REQUEST_MAX + 10, &r), -400);
	ck_assert_int_eq(mmds_request_parse(big, 100, &r), 0);
	free(big);
}
END_TEST

/* The answer's status and body for a request, at time now_ms. */
static int answer(struct mmds *m, const char *text, uint64_t now_ms, char *body, size_t size)
{
	struct mmds_request r;
	size_t len;
	char *out, *b;
	int status;

	ck_assert_int_gt(parse(text, &r), 0);
	out = mmds_respond_at(m, &r, now_ms, &len);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(sscanf(out, "HTTP/1.1 %d", &status), 1);
	b = strstr(out, "\r\n\r\n") + 4;
	snprintf(body, size, "%.*s", (int)(len - (b - out)), b);
	free(out);
	return status;
}

static struct mmds *sample(enum mmds_version v, bool compat)
{
	struct mmds_config cfg = { .present = true, .version = v, .ipv4 = 0xa9fea9fe,
				   .imds_compat = compat };
	struct mmds *m = mmds_create(10000);

	ck_assert_int_eq(put(m, "{\"latest\": {\"meta-data\": {\"b-id\": \"x\", \"a\": {\"k\": 1},"
			     " \"n\": 3}}}"), 0);
	mmds_configure(m, &cfg);
	return m;
}

START_TEST(test_v1_answers)
{
	struct mmds *m = sample(MMDS_V1, false);
	char body[512];

	ck_assert_int_eq(answer(m, "GET /latest/meta-data/ HTTP/1.1\r\n\r\n", 0, body, 512), 200);
	ck_assert_str_eq(body, "a/\nb-id\nn");
	ck_assert_int_eq(answer(m, "GET /latest/meta-data/b-id HTTP/1.1\r\n\r\n", 0, body, 512),
			 200);
	ck_assert_str_eq(body, "x");
	ck_assert_int_eq(answer(m, "GET /latest/meta-data/a HTTP/1.1\r\nAccept: application/json"
				"\r\n\r\n", 0, body, 512), 200);
	ck_assert_str_eq(body, "{\"k\":1}");
	ck_assert_int_eq(answer(m, "GET /latest/meta-data/n HTTP/1.1\r\n\r\n", 0, body, 512), 501);
	ck_assert_int_eq(answer(m, "GET /latest/nope HTTP/1.1\r\n\r\n", 0, body, 512), 404);
	ck_assert_str_eq(body, "Resource not found: /latest/nope.");
	ck_assert_int_eq(answer(m, "POST / HTTP/1.1\r\n\r\n", 0, body, 512), 405);
	ck_assert_int_eq(answer(m, "PUT /other HTTP/1.1\r\n\r\n", 0, body, 512), 404);
	mmds_destroy(m);
}
END_TEST

START_TEST(test_imds_compat)
{
	struct mmds *m = sample(MMDS_V1, true);
	char body[512];

	ck_assert_int_eq(answer(m, "GET /latest/meta-data/a HTTP/1.1\r\nAccept: application/json"
				"\r\n\r\n", 0, body, 512), 200);
	ck_assert_str_eq(body, "k");
	mmds_destroy(m);
}
END_TEST

#define PUT_TOKEN "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: %s\r\n\r\n"

START_TEST(test_v2_tokens)
{
	struct mmds *m = sample(MMDS_V2, false);
	char body[512], req[512], token[128];

	ck_assert_int_eq(answer(m, "GET /latest HTTP/1.1\r\n\r\n", 0, body, 512), 401);
	snprintf(req, sizeof(req), PUT_TOKEN, "0");
	ck_assert_int_eq(answer(m, req, 0, body, 512), 400);
	snprintf(req, sizeof(req), PUT_TOKEN, "21601");
	ck_assert_int_eq(answer(m, req, 0, body, 512), 400);
	ck_assert_int_eq(answer(m, "PUT /latest/api/token HTTP/1.1\r\n\r\n", 0, body, 512), 400);
	ck_assert_int_eq(answer(m, "PUT /latest/api/token HTTP/1.1\r\nX-Forwarded-For: a\r\n"
				"X-metadata-token-ttl-seconds: 5\r\n\r\n", 0, body, 512), 400);
	snprintf(req, sizeof(req), PUT_TOKEN, "5");
	ck_assert_int_eq(answer(m, req, 1000, token, sizeof(token)), 200);
	ck_assert_uint_eq(strlen(token), MMDS_TOKEN_LEN);
	snprintf(req, sizeof(req), "GET /latest/meta-data/b-id HTTP/1.1\r\nX-metadata-token: %s"
		 "\r\n\r\n", token);
	ck_assert_int_eq(answer(m, req, 5999, body, 512), 200);
	ck_assert_str_eq(body, "x");
	ck_assert_int_eq(answer(m, req, 6000, body, 512), 401);	/* expired */
	token[0] = token[0] == 'a' ? 'b' : 'a';
	snprintf(req, sizeof(req), "GET /latest HTTP/1.1\r\nX-metadata-token: %s\r\n\r\n", token);
	ck_assert_int_eq(answer(m, req, 2000, body, 512), 401);
	mmds_destroy(m);
}
END_TEST

START_TEST(test_tokens_table_full)
{
	struct mmds *m = sample(MMDS_V2, false);
	char first[MMDS_TOKEN_LEN + 1], t[MMDS_TOKEN_LEN + 1];

	ck_assert_int_eq(mmds_token_new(m, 10, 0, first), 0);
	for (int i = 0; i < MMDS_TOKENS_MAX; i++)
		ck_assert_int_eq(mmds_token_new(m, 100, 0, t), 0);
	ck_assert(!mmds_token_valid(m, first, 1));	/* the one ending first gave way */
	ck_assert(mmds_token_valid(m, t, 1));
	mmds_configure(m, &(struct mmds_config){ .version = MMDS_V2, .ipv4 = 0xa9fea9fe });
	ck_assert(!mmds_token_valid(m, t, 1));		/* gone with a new configuration */
	mmds_destroy(m);
}
END_TEST

/* ---- the endpoint ---- */

static const uint8_t guest_mac[ETH_ALEN] = { 6, 0, 0, 0, 0, 2 };

/* Frame fields sit at any offset: copied, never dereferenced in place. */
static void put_be32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static uint32_t get_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static size_t arp_request(uint8_t *f, uint32_t tpa)
{
	memset(f, 0, VH + 42);
	memset(f + VH, 0xff, 6);
	memcpy(f + VH + 6, guest_mac, 6);
	f[VH + 12] = 8;
	f[VH + 13] = 6;
	f[VH + 15] = 1;		/* Ethernet */
	f[VH + 16] = 8;		/* IPv4 */
	f[VH + 18] = 6;
	f[VH + 19] = 4;
	f[VH + 21] = 1;		/* request */
	memcpy(f + VH + 22, guest_mac, 6);
	put_be32(f + VH + 38, tpa);
	return VH + 42;
}

static bool tx(struct mmds_net *e, uint8_t *f, size_t len)
{
	struct iovec iov[2] = { { f, 5 }, { f + 5, len - 5 } };

	return mmds_net_tx(e, iov, 2);
}

START_TEST(test_arp)
{
	struct mmds *m = sample(MMDS_V1, false);
	struct mmds_net *e = mmds_net_create(m, NULL, NULL, NULL);
	static uint8_t f[65536];
	size_t len;

	ck_assert(!tx(e, f, arp_request(f, 0x0a000001)));	/* not ours: the tap's */
	ck_assert(tx(e, f, arp_request(f, 0xa9fea9fe)));
	len = mmds_net_rx(e, f, sizeof(f));
	ck_assert_uint_eq(len, VH + 42);
	ck_assert_int_eq(f[VH + 21], 2);			/* reply */
	ck_assert_mem_eq(f + VH, guest_mac, 6);
	ck_assert_uint_eq(get_be32(f + VH + 28), 0xa9fea9fe);
	ck_assert_uint_eq(mmds_net_rx(e, f, sizeof(f)), 0);
	ck_assert(!tx(e, f, arp_request(f, 0xa9fea9fe) - 10));	/* cut short: not known as ours */
	ck_assert_uint_eq(mmds_net_rx(e, f, sizeof(f)), 0);
	mmds_net_destroy(e);
	mmds_destroy(m);
}
END_TEST

#define IP_OFF		(VH + ETH_HLEN)
#define TCP_OFF		(IP_OFF + 20)
#define GUEST_SEQ	1000u

enum { FIN = 1, SYN = 2, PSH = 8, ACK = 16 };

/*
 * A segment from the guest's port 40000 to the MMDS's port 80, its TCP
 * checksum left to the device (NEEDS_CSUM) as Linux leaves it.
 */
static size_t segment(uint8_t *f, uint8_t flags, uint32_t seq, uint32_t ack, const char *data)
{
	size_t dlen = data ? strlen(data) : 0;
	uint32_t sum = 0;

	memset(f, 0, TCP_OFF + 20);
	f[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	memcpy(f + VH + 6, guest_mac, 6);
	f[VH + 12] = 8;				/* IPv4 */
	f[IP_OFF] = 0x45;
	put_be16(f + IP_OFF + 2, (uint16_t)(40 + dlen));
	f[IP_OFF + 6] = 0x40;			/* DF */
	f[IP_OFF + 8] = 64;
	f[IP_OFF + 9] = 6;			/* TCP */
	put_be32(f + IP_OFF + 12, 0x0a000202);
	put_be32(f + IP_OFF + 16, 0xa9fea9fe);
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)f[IP_OFF + i] << 8 | f[IP_OFF + i + 1];
	sum = (sum & 0xffff) + (sum >> 16);
	put_be16(f + IP_OFF + 10, (uint16_t)~(sum + (sum >> 16)));
	put_be16(f + TCP_OFF, 40000);
	put_be16(f + TCP_OFF + 2, 80);
	put_be32(f + TCP_OFF + 4, seq);
	put_be32(f + TCP_OFF + 8, ack);
	f[TCP_OFF + 12] = 5 << 4;
	f[TCP_OFF + 13] = flags;
	put_be16(f + TCP_OFF + 14, 65535);
	memcpy(f + TCP_OFF + 20, data ? data : "", dlen);
	return TCP_OFF + 20 + dlen;
}

/* The next frame for the guest, a TCP one: its flags, sequence and acknowledgment numbers. */
static size_t next_segment(struct mmds_net *e, uint8_t *f, size_t size, uint8_t *flags,
			   uint32_t *seq, uint32_t *ack)
{
	size_t len = mmds_net_rx(e, f, size);

	ck_assert_uint_ge(len, TCP_OFF + 20);
	*flags = f[TCP_OFF + 13];
	*seq = get_be32(f + TCP_OFF + 4);
	*ack = get_be32(f + TCP_OFF + 8);
	return len - TCP_OFF - (f[TCP_OFF + 12] >> 4) * 4;
}

/*
 * A request, its answer, and the close as Linux makes it: the MMDS's FIN
 * follows the answer, the guest's FIN comes with its ACK of ours, and the
 * MMDS acknowledges it (else the guest's socket waits in LAST_ACK and sends
 * its FIN again).
 */
START_TEST(test_tcp_close)
{
	static const char req[] = "GET /latest/meta-data/b-id HTTP/1.1\r\nConnection: close\r\n\r\n";
	struct mmds *m = sample(MMDS_V1, false);
	struct mmds_net *e = mmds_net_create(m, NULL, NULL, NULL);
	static uint8_t f[65536];
	uint32_t seq, ack, iss, gseq = GUEST_SEQ + 1 + sizeof(req) - 1;
	uint8_t flags;
	size_t dlen;

	ck_assert(tx(e, f, segment(f, SYN, GUEST_SEQ, 0, NULL)));
	next_segment(e, f, sizeof(f), &flags, &iss, &ack);
	ck_assert_int_eq(flags, SYN | ACK);
	ck_assert_uint_eq(ack, GUEST_SEQ + 1);
	ck_assert(tx(e, f, segment(f, ACK, GUEST_SEQ + 1, iss + 1, NULL)));
	ck_assert(tx(e, f, segment(f, ACK | PSH, GUEST_SEQ + 1, iss + 1, req)));
	dlen = next_segment(e, f, sizeof(f), &flags, &seq, &ack);
	ck_assert_int_eq(flags, ACK | PSH);
	ck_assert_uint_eq(seq, iss + 1);
	ck_assert_uint_eq(ack, gseq);
	ck_assert(dlen > 5 && !memcmp(f + TCP_OFF + 20 + dlen - 5, "\r\n\r\nx", 5));
	ck_assert(tx(e, f, segment(f, ACK, gseq, iss + 1 + dlen, NULL)));
	next_segment(e, f, sizeof(f), &flags, &seq, &ack);
	ck_assert_int_eq(flags, FIN | ACK);
	ck_assert_uint_eq(seq, iss + 1 + dlen);
	ck_assert(tx(e, f, segment(f, FIN | ACK, gseq, iss + 2 + dlen, NULL)));
	next_segment(e, f, sizeof(f), &flags, &seq, &ack);
	ck_assert_int_eq(flags, ACK);
	ck_assert_uint_eq(seq, iss + 2 + dlen);
	ck_assert_uint_eq(ack, gseq + 1);
	ck_assert_uint_eq(mmds_net_rx(e, f, sizeof(f)), 0);
	mmds_net_destroy(e);
	mmds_destroy(m);
}
END_TEST

static Suite *mmds_suite(void)
{
	Suite *s = suite_create("mmds");
	TCase *tc = tcase_create("store");

	tcase_add_test(tc, test_put_patch);
	tcase_add_test(tc, test_size_limit);
	suite_add_tcase(s, tc);
	tc = tcase_create("http");
	tcase_add_test(tc, test_parse);
	tcase_add_loop_test(tc, test_parse_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_parse_too_long);
	tcase_add_test(tc, test_v1_answers);
	tcase_add_test(tc, test_imds_compat);
	tcase_add_test(tc, test_v2_tokens);
	tcase_add_test(tc, test_tokens_table_full);
	suite_add_tcase(s, tc);
	tc = tcase_create("net");
	tcase_add_test(tc, test_arp);
	tcase_add_test(tc, test_tcp_close);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mmds_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
