// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-balloon as a driver sees it: the PFNs it sends are checked one by
 * one (guest RAM, not twice, not past the target, deflated only if inflated),
 * what is refused is counted, and what is taken leaves the host at once.
 */
#include <check.h>
#include <linux/virtio_balloon.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/snapshot.h>
#include <petrel/virtio.h>

#include "virtio_driver.h"

#define INFLATEQ	0
#define DEFLATEQ	1
#define RAM_PAGES	(VD_RAM_SIZE / 4096)

/* Send PFNs on q and let the device serve them. */
static void send(struct vdrv *d, unsigned int q, const uint32_t *pfns, uint32_t n)
{
	uint64_t gpa = vd_alloc(d, n * sizeof(uint32_t));
	uint16_t head;
	uint32_t len;

	memcpy(vd_ptr(d, gpa), pfns, n * sizeof(uint32_t));
	vd_add(d, q, &(struct vd_seg){ gpa, n * sizeof(uint32_t), false }, 1);
	vd_kick(d, q);
	ck_assert_int_eq(event_loop_run_once(d->loop, 1000), 0);
	ck_assert(vd_used(d, q, &head, &len));
}

static struct virtio_dev *make(unsigned int mib)
{
	struct balloon_config cfg = { .present = true, .amount_mib = mib };

	return virtio_balloon_create(&cfg);
}

START_TEST(pfn_checks)
{
	struct vdrv d;
	const struct virtio_balloon_metrics *m;
	uint32_t pfns[600];
	uint64_t *page;

	vd_init(&d, make(1), 0);	/* a target of 256 pages, in 2048 of RAM */
	m = virtio_balloon_metrics(d.dev);
	page = vd_ptr(&d, 10 * 4096);
	*page = 0x1234;

	/* Outside RAM, twice, the hole, the top: refused; the rest taken. */
	send(&d, INFLATEQ, (uint32_t[]){ 10, 11, 12, 11, RAM_PAGES, 0xffffffffu, 12 }, 7);
	ck_assert_uint_eq(m->bad_pfns, 4);
	ck_assert_uint_eq(m->pages_given_back, 3);
	ck_assert_uint_eq(*page, 0);	/* given back: it reads as a fresh page */

	/* Up to the target and one batch past it (512 pages), not further. */
	for (uint32_t i = 0; i < 600; i++)
		pfns[i] = 1000 + i;	/* clear of the rings and buffers */
	send(&d, INFLATEQ, pfns, 600);
	ck_assert_uint_eq(m->pages_given_back, 512);
	ck_assert_uint_eq(m->bad_pfns, 4 + 91);

	/* Deflate: what is in the balloon, once; nothing else. */
	send(&d, DEFLATEQ, (uint32_t[]){ 10, 10, 1900, RAM_PAGES + 5 }, 4);
	ck_assert_uint_eq(m->bad_pfns, 4 + 91 + 3);
	/* Room again for one page, page 10 itself. */
	send(&d, INFLATEQ, (uint32_t[]){ 10, 1000 }, 2);
	ck_assert_uint_eq(m->pages_given_back, 513);
	ck_assert_uint_eq(m->bad_pfns, 4 + 91 + 3 + 1);
	ck_assert_uint_eq(m->inflates, 3);
	ck_assert_uint_eq(m->deflates, 1);
	vd_fini(&d);
}
END_TEST

/* A chain longer than the device reads at once: the excess is counted, not read. */
START_TEST(huge_chain)
{
	struct vdrv d;
	uint32_t n = 5000, *pfns = calloc(n, sizeof(*pfns));

	vd_init(&d, make(8), 0);
	/* 1536 pages clear of the rings and buffers, then the same again. */
	for (uint32_t i = 0; i < n; i++)
		pfns[i] = 512 + i % 1536;
	send(&d, INFLATEQ, pfns, n);
	ck_assert_uint_eq(virtio_balloon_metrics(d.dev)->bad_pfns, (n - 4096) + (4096 - 1536));
	ck_assert_uint_eq(virtio_balloon_metrics(d.dev)->pages_given_back, 1536);
	free(pfns);
	vd_fini(&d);
}
END_TEST

/* The queues after the first two follow the features the driver took. */
START_TEST(config_and_target)
{
	struct balloon_config cfg = { .present = true, .amount_mib = 2, .free_page_reporting = true,
				      .stats_polling_interval_s = 1 };
	struct virtio_balloon_stats st;
	struct vdrv d;
	uint32_t v;

	vd_init(&d, virtio_balloon_create(&cfg), 1ULL << VIRTIO_BALLOON_F_REPORTING);
	ck_assert_uint_eq(d.dev->nr_queues, 4);
	vd_config(&d, 0, &v, sizeof(v));
	ck_assert_uint_eq(v, 512);
	virtio_balloon_set_target(d.dev, 4);
	vd_config(&d, 0, &v, sizeof(v));
	ck_assert_uint_eq(v, 1024);
	/* The driver writes actual; the device reports it. */
	v = 77;
	vd_write32(&d, VIRTIO_MMIO_CONFIG + 4, v);
	virtio_balloon_get_stats(d.dev, &st);
	ck_assert_uint_eq(st.actual_pages, 77);
	ck_assert_uint_eq(st.target_pages, 1024);
	vd_fini(&d);
}
END_TEST

/*
 * A snapshot taken before the guest's driver started the balloon (early in
 * boot, or a guest without the driver) restores, and the driver can start
 * it afterwards.
 */
START_TEST(saved_before_the_driver)
{
	struct snap_buf out;
	struct vdrv a, b;
	char err[256];

	vd_attach(&a, make(1));
	snap_buf_init(&out);
	ck_assert_msg(!virtio_mmio_save(a.dev, &out, err, sizeof(err)), "save: %s", err);
	vd_attach(&b, make(1));
	ck_assert_msg(!virtio_mmio_restore(b.dev, out.data, out.len, err, sizeof(err)),
		      "restore: %s", err);
	vd_start(&b, 0);
	send(&b, INFLATEQ, (uint32_t[]){ 1000, 1001 }, 2);
	ck_assert_uint_eq(virtio_balloon_metrics(b.dev)->pages_given_back, 2);
	snap_buf_free(&out);
	vd_fini(&a);
	vd_fini(&b);
}
END_TEST

static Suite *balloon_suite(void)
{
	Suite *s = suite_create("virtio_balloon");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, pfn_checks);
	tcase_add_test(tc, huge_chain);
	tcase_add_test(tc, config_and_target);
	tcase_add_test(tc, saved_before_the_driver);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(balloon_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
