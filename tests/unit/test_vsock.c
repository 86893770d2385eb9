// SPDX-License-Identifier: Apache-2.0
/* virtio-vsock: the transmit packet parser and the credit a peer has left. */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <linux/virtio_vsock.h>
#include <stdint.h>
#include <string.h>

#include <petrel/util.h>
#include <petrel/virtio.h>

static struct virtio_vsock_hdr hdr(uint32_t len)
{
	return (struct virtio_vsock_hdr){
		.src_cid = htole64(3), .dst_cid = htole64(2), .src_port = htole32(1025),
		.dst_port = htole32(80), .len = htole32(len), .type = htole16(1),
		.op = htole16(VIRTIO_VSOCK_OP_RW), .flags = htole32(0),
		.buf_alloc = htole32(65536), .fwd_cnt = htole32(0xfffffff0),
	};
}

/* A header split over three buffers (any split a driver may make) is read whole. */
START_TEST(split_header)
{
	struct virtio_vsock_hdr h = hdr(100);
	uint8_t *p = (uint8_t *)&h, payload[100];
	struct iovec iov[] = { { p, 5 }, { p + 5, 30 }, { p + 35, 9 }, { payload, 100 } };
	const char *why = NULL;
	struct vsock_pkt pkt;

	ck_assert_int_eq(vsock_pkt_parse(iov, 4, 144, 65536, &pkt, &why), 0);
	ck_assert_uint_eq(pkt.src_cid, 3);
	ck_assert_uint_eq(pkt.dst_cid, 2);
	ck_assert_uint_eq(pkt.src_port, 1025);
	ck_assert_uint_eq(pkt.dst_port, 80);
	ck_assert_uint_eq(pkt.len, 100);
	ck_assert_uint_eq(pkt.type, 1);
	ck_assert_uint_eq(pkt.op, VIRTIO_VSOCK_OP_RW);
	ck_assert_uint_eq(pkt.buf_alloc, 65536);
	ck_assert_uint_eq(pkt.fwd_cnt, 0xfffffff0);
}
END_TEST

/* Each chain a hostile driver may send, and the reason given. */
static const struct {
	uint32_t chain;		/* readable bytes */
	uint32_t len;		/* the header's len */
	const char *why;
} bad[] = {
	{ 0, 0, "chain shorter than the packet header" },
	{ 43, 0, "chain shorter than the packet header" },
	{ 44, 1, "len longer than the chain" },
	{ 100, 57, "len longer than the chain" },
	{ 44, 0xffffffff, "len longer than the chain" },
	{ 44 + 70000, 70000, "len larger than a packet may be" },
};

START_TEST(bad_lengths)
{
	static uint8_t buf[44 + 70000];
	struct virtio_vsock_hdr h = hdr(bad[_i].len);
	struct iovec iov = { buf, bad[_i].chain };
	const char *why = NULL;
	struct vsock_pkt pkt;

	memcpy(buf, &h, sizeof(h));
	ck_assert_int_eq(vsock_pkt_parse(&iov, 1, bad[_i].chain, 65536, &pkt, &why), -EINVAL);
	ck_assert_str_eq(why, bad[_i].why);
}
END_TEST

/* A header alone, and a payload exactly as long as the chain, are fine. */
START_TEST(exact_lengths)
{
	static uint8_t buf[44 + 65536];
	struct virtio_vsock_hdr h = hdr(0);
	struct iovec iov = { buf, 44 };
	const char *why = NULL;
	struct vsock_pkt pkt;

	memcpy(buf, &h, sizeof(h));
	ck_assert_int_eq(vsock_pkt_parse(&iov, 1, 44, 65536, &pkt, &why), 0);
	h = hdr(65536);
	memcpy(buf, &h, sizeof(h));
	iov.iov_len = sizeof(buf);
	ck_assert_int_eq(vsock_pkt_parse(&iov, 1, sizeof(buf), 65536, &pkt, &why), 0);
	ck_assert_uint_eq(pkt.len, 65536);
}
END_TEST

START_TEST(credit)
{
	/* Nothing in flight: the whole buffer; some in flight: the rest. */
	ck_assert_uint_eq(vsock_peer_credit(65536, 0, 0), 65536);
	ck_assert_uint_eq(vsock_peer_credit(65536, 1000, 5000), 61536);
	ck_assert_uint_eq(vsock_peer_credit(65536, 0, 65536), 0);
	/* The counters wrap at 2^32, and the sums still hold across the wrap. */
	ck_assert_uint_eq(vsock_peer_credit(65536, 0xfffff000u, 0x00001000u), 65536 - 0x2000);
	/* A peer that shrank its buffer below what it holds: no credit, not a huge one. */
	ck_assert_uint_eq(vsock_peer_credit(4096, 0, 8192), 0);
	/* A hostile fwd_cnt ahead of what was sent: no credit either. */
	ck_assert_uint_eq(vsock_peer_credit(65536, 100, 50), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vsock");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, split_header);
	tcase_add_loop_test(tc, bad_lengths, 0, ARRAY_SIZE(bad));
	tcase_add_test(tc, exact_lengths);
	tcase_add_test(tc, credit);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
