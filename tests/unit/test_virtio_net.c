// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net driven as a guest driver would, over a real tap. Each test
 * runs in a forked child that makes its own network namespace holding one
 * tap (ptap0); the host side of the link is a packet socket bound to it.
 * Without root or /dev/net/tun the tap tests print why and pass.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>

#include <petrel/virtio.h>

#include "log_capture.h"
#include "virtio_driver.h"

#define TAP		"ptap0"
#define ETHERTYPE_TEST	0x88b5		/* local experimental: nothing else sends it */
#define HDR		sizeof(struct virtio_net_hdr_v1)
#define WAIT_MS		2000
#define RXQ		0
#define TXQ		1

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t host_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

/* ---- the namespace, the tap and the host's end of the link ---- */

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	int ret;

	if (fd < 0)
		return -errno;
	ret = util_write_all(fd, s, strlen(s));
	close(fd);
	return ret;
}

static void make_tap(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int fd = open("/dev/net/tun", O_RDWR), s;

	ck_assert_int_ge(fd, 0);
	strcpy(ifr.ifr_name, name);
	ck_assert_int_eq(ioctl(fd, TUNSETIFF, &ifr), 0);
	ck_assert_int_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
	/* No IPv6 chatter (router solicitations, MLD) on the link. */
	write_str("/proc/sys/net/ipv6/conf/" TAP "/disable_ipv6", "1");
	s = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	ck_assert_int_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
}

/* A fresh network namespace with TAP in it; false (and why, printed) when not possible. */
static bool tap_env(const char *test)
{
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK)) {
		printf("SKIP %s: needs root and /dev/net/tun\n", test);
		return false;
	}
	if (unshare(CLONE_NEWNET)) {
		printf("SKIP %s: unshare(CLONE_NEWNET): %s\n", test, strerror(errno));
		return false;
	}
	write_str("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	make_tap(TAP);
	return true;
}

static int host_socket(void)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETHERTYPE_TEST),
				   .sll_ifindex = (int)if_nametoindex(TAP) };
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETHERTYPE_TEST));

	ck_assert_int_ge(s, 0);
	ck_assert_int_ne(sll.sll_ifindex, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return s;
}

static size_t make_frame(uint8_t *buf, size_t len, unsigned int seq)
{
	memcpy(buf, guest_mac, 6);
	memcpy(buf + 6, host_mac, 6);
	buf[12] = ETHERTYPE_TEST >> 8;
	buf[13] = ETHERTYPE_TEST & 0xff;
	for (size_t i = 14; i < len; i++)
		buf[i] = (uint8_t)(seq * 31 + i);
	return len;
}

static void host_send(int s, unsigned int seq, size_t len)
{
	uint8_t frame[2048];

	make_frame(frame, len, seq);
	ck_assert_int_eq(send(s, frame, len, 0), (ssize_t)len);
}

/* The next test frame the host received from the guest, or -1 after a second. */
static ssize_t host_recv(int s, uint8_t *buf, size_t len)
{
	struct sockaddr_ll sll;
	socklen_t sl;
	ssize_t n;

	for (;;) {
		struct pollfd p = { s, POLLIN, 0 };

		if (poll(&p, 1, 1000) <= 0)
			return -1;
		sl = sizeof(sll);
		n = recvfrom(s, buf, len, 0, (struct sockaddr *)&sll, &sl);
		if (n < 0)
			return -1;
		if (sll.sll_pkttype != PACKET_OUTGOING)
			return n;
	}
}

/* ---- the device ---- */

#define F(bit) (1ULL << VIRTIO_NET_F_##bit)

static struct net_config net_cfg(bool mac)
{
	struct net_config cfg = { .iface_id = "eth0", .host_dev_name = TAP, .has_guest_mac = mac };

	memcpy(cfg.guest_mac, guest_mac, 6);
	return cfg;
}

static void open_net(struct vdrv *d, uint64_t want)
{
	struct net_config cfg = net_cfg(true);

	vd_init(d, virtio_net_create(&cfg), want);
}

/* count receive buffers of len bytes each; their gpas in gpa[]. */
static void post_rx(struct vdrv *d, uint64_t *gpa, unsigned int count, uint32_t len)
{
	for (unsigned int i = 0; i < count; i++) {
		gpa[i] = vd_alloc(d, len);
		vd_add(d, RXQ, &(struct vd_seg){ gpa[i], len, true }, 1);
	}
	vd_kick(d, RXQ);
}

static uint16_t num_buffers(struct vdrv *d, uint64_t gpa)
{
	const struct virtio_net_hdr_v1 *h = vd_ptr(d, gpa);

	return le16toh(h->num_buffers);
}

/* Device up, count receive buffers of len bytes posted and the tap watched: the host socket. */
static int rx_start(struct vdrv *d, uint64_t want, uint64_t *buf, unsigned int count,
		    uint32_t len)
{
	int s;

	open_net(d, want);
	s = host_socket();
	post_rx(d, buf, count, len);
	ck_assert_int_eq(event_loop_run_once(d->loop, 10), 0);
	return s;
}

/* ---- tests ---- */

START_TEST(missing_tap)
{
	struct net_config cfg = net_cfg(false);

	cfg.host_dev_name = "nosuchtap7";
	ck_assert_ptr_null(virtio_net_create(&cfg));
	expect_log("eth0", "nosuchtap7");
	cfg.host_dev_name = "a-name-longer-than-ifnamsiz";
	ck_assert_ptr_null(virtio_net_create(&cfg));
	expect_log("eth0", "a-name-longer-than-ifnamsiz");
}
END_TEST

START_TEST(busy_or_not_a_tap)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	struct net_config cfg = net_cfg(false);
	int fd;

	if (!tap_env(__func__))
		return;
	cfg.host_dev_name = "lo";
	ck_assert_ptr_null(virtio_net_create(&cfg));
	expect_log("eth0", "tap lo");
	/* Another process has the tap. */
	fd = open("/dev/net/tun", O_RDWR);
	strcpy(ifr.ifr_name, TAP);
	ck_assert_int_eq(ioctl(fd, TUNSETIFF, &ifr), 0);
	cfg.host_dev_name = TAP;
	ck_assert_ptr_null(virtio_net_create(&cfg));
	expect_log("tap " TAP, "in use");
	close(fd);
	/* Not created behind our back either. */
	ck_assert_uint_eq(if_nametoindex("nosuchtap7"), 0);
}
END_TEST

START_TEST(features_and_config)
{
	struct net_config cfg;
	struct virtio_net_config nc;
	struct vdrv d;

	if (!tap_env(__func__))
		return;
	open_net(&d, F(MAC) | F(STATUS));
	ck_assert_uint_eq(vd_read32(&d, VIRTIO_MMIO_DEVICE_ID), 1);
	ck_assert(d.features & F(MAC));
	ck_assert(d.features & F(STATUS));
	ck_assert(vd_device_features(&d) & F(MRG_RXBUF));
	ck_assert(vd_device_features(&d) & F(GUEST_TSO4));
	ck_assert(vd_device_features(&d) & F(HOST_TSO6));
	ck_assert(!(vd_device_features(&d) & F(CTRL_VQ)));
	vd_config(&d, 0, &nc, sizeof(nc));
	ck_assert_mem_eq(nc.mac, guest_mac, 6);
	ck_assert_uint_eq(le16toh(nc.status), VIRTIO_NET_S_LINK_UP);
	vd_fini(&d);

	cfg = net_cfg(false);
	vd_init(&d, virtio_net_create(&cfg), F(MAC));
	ck_assert(!(d.features & F(MAC)));
	ck_assert(!(vd_device_features(&d) & F(MTU)));	/* no mtu: not offered */
	vd_fini(&d);

	/* mtu: offered with VIRTIO_NET_F_MTU, in the config space. */
	cfg = net_cfg(false);
	cfg.mtu = 9000;
	vd_init(&d, virtio_net_create(&cfg), F(MTU));
	ck_assert(d.features & F(MTU));
	vd_config(&d, 0, &nc, sizeof(nc));
	ck_assert_uint_eq(le16toh(nc.mtu), 9000);
	vd_fini(&d);
}
END_TEST

START_TEST(tx_to_host)
{
	uint8_t frame[1500], got[2048];
	uint64_t h, f1, f2;
	int s;
	struct vdrv d;

	if (!tap_env(__func__))
		return;
	open_net(&d, F(MAC));
	s = host_socket();
	/* Header and frame in two buffers, then both in one. */
	h = vd_alloc(&d, HDR);
	f1 = vd_alloc(&d, 200);
	make_frame(vd_ptr(&d, f1), 200, 1);
	vd_add(&d, TXQ, (struct vd_seg[]){ { h, HDR, false }, { f1, 200, false } }, 2);
	f2 = vd_alloc(&d, HDR + 1000);
	make_frame((uint8_t *)vd_ptr(&d, f2) + HDR, 1000, 2);
	vd_add(&d, TXQ, &(struct vd_seg){ f2, HDR + 1000, false }, 1);
	vd_kick(&d, TXQ);
	ck_assert(vd_wait_used(&d, TXQ, 2, WAIT_MS));

	ck_assert_int_eq(host_recv(s, got, sizeof(got)), 200);
	make_frame(frame, 200, 1);
	ck_assert_mem_eq(got, frame, 200);
	ck_assert_int_eq(host_recv(s, got, sizeof(got)), 1000);
	make_frame(frame, 1000, 2);
	ck_assert_mem_eq(got, frame, 1000);
	ck_assert_uint_eq(d.dev->metrics.requests, 2);
	ck_assert_uint_eq(d.dev->metrics.bytes_written, 1200);
	close(s);
	vd_fini(&d);
}
END_TEST

START_TEST(rx_from_host)
{
	uint64_t buf[4];
	uint8_t frame[2048];
	uint32_t len;
	uint16_t head;
	int s;
	struct vdrv d;

	if (!tap_env(__func__))
		return;
	s = rx_start(&d, F(MAC), buf, ARRAY_SIZE(buf), HDR + 1514);
	host_send(s, 1, 60);
	host_send(s, 2, 1514);
	host_send(s, 3, 333);
	ck_assert(vd_wait_used(&d, RXQ, 3, WAIT_MS));
	for (unsigned int i = 0; i < 3; i++) {
		size_t flen = (size_t[]){ 60, 1514, 333 }[i];

		ck_assert(vd_used(&d, RXQ, &head, &len));
		ck_assert_uint_eq(len, HDR + flen);
		ck_assert_uint_eq(num_buffers(&d, buf[i]), 1);
		make_frame(frame, flen, i + 1);
		ck_assert_mem_eq((uint8_t *)vd_ptr(&d, buf[i]) + HDR, frame, flen);
	}
	ck_assert_uint_eq(d.dev->metrics.requests, 3);
	ck_assert_uint_eq(d.dev->metrics.bytes_read, 60 + 1514 + 333);
	close(s);
	vd_fini(&d);
}
END_TEST

START_TEST(rx_mergeable)
{
	uint64_t buf[8];
	uint8_t frame[1000], got[1100];
	uint32_t len, total = 0;
	uint16_t head;
	int s;
	struct vdrv d;

	if (!tap_env(__func__))
		return;
	s = rx_start(&d, F(MAC) | F(MRG_RXBUF), buf, ARRAY_SIZE(buf), 256);
	ck_assert(d.features & F(MRG_RXBUF));
	host_send(s, 7, sizeof(frame));
	/* 12 + 1000 bytes: three full buffers and 244 bytes of a fourth. */
	ck_assert(vd_wait_used(&d, RXQ, 4, WAIT_MS));
	for (unsigned int i = 0; i < 4; i++) {
		ck_assert(vd_used(&d, RXQ, &head, &len));
		ck_assert_uint_eq(len, i < 3 ? 256 : 244);
		memcpy(got + total, vd_ptr(&d, buf[i]), len);
		total += len;
	}
	ck_assert(!vd_used(&d, RXQ, &head, &len));
	ck_assert_uint_eq(num_buffers(&d, buf[0]), 4);
	make_frame(frame, sizeof(frame), 7);
	ck_assert_mem_eq(got + HDR, frame, sizeof(frame));
	close(s);
	vd_fini(&d);
}
END_TEST

/* A frame that needs more merged buffers than posted waits for them, whole. */
START_TEST(rx_mergeable_waits)
{
	uint64_t buf[4];
	uint8_t frame[1000];
	uint32_t len;
	uint16_t head;
	int s;
	struct vdrv d;

	if (!tap_env(__func__))
		return;
	s = rx_start(&d, F(MAC) | F(MRG_RXBUF) | 1ULL << VIRTIO_RING_F_EVENT_IDX, buf, 2, 256);
	host_send(s, 9, sizeof(frame));
	ck_assert(!vd_wait_used(&d, RXQ, 1, 200));
	post_rx(&d, buf + 2, 2, 256);
	ck_assert(vd_wait_used(&d, RXQ, 4, WAIT_MS));
	for (unsigned int i = 0; i < 4; i++) {
		ck_assert(vd_used(&d, RXQ, &head, &len));
		ck_assert_uint_eq(len, i < 3 ? 256 : 244);
	}
	ck_assert_uint_eq(num_buffers(&d, buf[0]), 4);
	make_frame(frame, sizeof(frame), 9);
	ck_assert_mem_eq((uint8_t *)vd_ptr(&d, buf[3]), frame + 3 * 256 - HDR, 244);
	ck_assert_uint_eq(d.dev->metrics.io_errors, 0);
	close(s);
	vd_fini(&d);
}
END_TEST

/* No buffers: frames wait in the tap (no spinning), then all arrive once there is room. */
START_TEST(rx_waits_for_buffers)
{
	uint64_t buf[5], start;
	uint8_t frame[200];
	int s;
	struct vdrv d;

	if (!tap_env(__func__))
		return;
	/* With EVENT_IDX the driver kicks only when the device asked for it. */
	s = rx_start(&d, F(MAC) | 1ULL << VIRTIO_RING_F_EVENT_IDX, NULL, 0, 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(buf); i++)
		host_send(s, i, 100 + i);
	ck_assert_int_eq(event_loop_run_once(d.loop, 500), 0);	/* the first frame: no room */
	start = util_now_us();
	for (unsigned int i = 0; i < 3; i++)
		ck_assert_int_eq(event_loop_run_once(d.loop, 50), 0);
	ck_assert_uint_ge(util_now_us() - start, 140000);	/* slept: the tap is not watched */
	ck_assert_uint_eq(vd_used_idx(&d, RXQ), 0);

	post_rx(&d, buf, ARRAY_SIZE(buf), HDR + 200);
	ck_assert(vd_wait_used(&d, RXQ, ARRAY_SIZE(buf), WAIT_MS));
	for (unsigned int i = 0; i < ARRAY_SIZE(buf); i++) {
		make_frame(frame, 100 + i, i);
		ck_assert_mem_eq((uint8_t *)vd_ptr(&d, buf[i]) + HDR, frame, 100 + i);
	}
	ck_assert_uint_eq(d.dev->metrics.io_errors, 0);
	close(s);
	vd_fini(&d);
}
END_TEST

/* Without MRG_RXBUF a frame larger than the buffer is dropped; the buffer serves the next. */
START_TEST(rx_too_large_dropped)
{
	uint64_t buf;
	uint8_t frame[100];
	uint32_t len;
	uint16_t head;
	int s;
	struct vdrv d;

	if (!tap_env(__func__))
		return;
	s = rx_start(&d, F(MAC), &buf, 1, HDR + 100);
	host_send(s, 1, 500);
	host_send(s, 2, 100);
	ck_assert(vd_wait_used(&d, RXQ, 1, WAIT_MS));
	ck_assert(vd_used(&d, RXQ, &head, &len));
	ck_assert_uint_eq(len, HDR + 100);
	make_frame(frame, 100, 2);
	ck_assert_mem_eq((uint8_t *)vd_ptr(&d, buf) + HDR, frame, 100);
	ck_assert_uint_eq(d.dev->metrics.io_errors, 1);
	close(s);
	vd_fini(&d);
}
END_TEST

static bool tap_tso(void)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_GTSO };
	struct ifreq ifr = { .ifr_data = (char *)&ev };
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	strcpy(ifr.ifr_name, TAP);
	ck_assert_int_eq(ioctl(s, SIOCETHTOOL, &ifr), 0);
	close(s);
	return ev.data;
}

/* The guest's receive offloads become the tap's (TUNSETOFFLOAD at DRIVER_OK). */
START_TEST(offloads)
{
	struct vdrv d;

	if (!tap_env(__func__))
		return;
	open_net(&d, F(MAC) | F(GUEST_CSUM) | F(GUEST_TSO4) | F(GUEST_TSO6) | F(GUEST_UFO));
	ck_assert(!tap_tso());	/* set on the vmm thread, at the kicks that follow DRIVER_OK */
	ck_assert_int_eq(event_loop_run_once(d.loop, 10), 0);
	ck_assert(!vd_needs_reset(&d));
	ck_assert(tap_tso());
	vd_fini(&d);
	open_net(&d, F(MAC) | F(GUEST_TSO4));	/* TSO without checksum offload: none */
	ck_assert_int_eq(event_loop_run_once(d.loop, 10), 0);
	ck_assert(!vd_needs_reset(&d));
	ck_assert(!tap_tso());
	vd_fini(&d);
}
END_TEST

START_TEST(tx_malformed)
{
	uint64_t h;
	struct vdrv d;

	if (!tap_env(__func__))
		return;
	open_net(&d, F(MAC));
	h = vd_alloc(&d, 64);
	vd_add(&d, TXQ, &(struct vd_seg){ h, 64, true }, 1);
	vd_kick(&d, TXQ);
	ck_assert_int_eq(event_loop_run_once(d.loop, 100), 0);
	ck_assert(vd_needs_reset(&d));
	ck_assert_uint_eq(d.dev->metrics.queue_errors, 1);
	vd_fini(&d);
}
END_TEST

static Suite *net_suite(void)
{
	Suite *s = suite_create("virtio_net");
	TCase *tc = tcase_create("net");

	tcase_add_checked_fixture(tc, log_capture_start, log_capture_stop);
	tcase_add_test(tc, missing_tap);
	tcase_add_test(tc, busy_or_not_a_tap);
	tcase_add_test(tc, features_and_config);
	tcase_add_test(tc, tx_to_host);
	tcase_add_test(tc, rx_from_host);
	tcase_add_test(tc, rx_mergeable);
	tcase_add_test(tc, rx_mergeable_waits);
	tcase_add_test(tc, rx_waits_for_buffers);
	tcase_add_test(tc, rx_too_large_dropped);
	tcase_add_test(tc, offloads);
	tcase_add_test(tc, tx_malformed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(net_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
