// SPDX-License-Identifier: Apache-2.0
/* Split virtqueues against rings a hostile guest builds in (fake) guest memory. */
#include <check.h>
#include <errno.h>
#include <linux/virtio_ring.h>
#include <string.h>
#include <sys/mman.h>

#include <petrel/util.h>
#include <petrel/virtio.h>

/* Big enough for a chain over 4 GiB in three buffers; untouched pages cost nothing. */
#define RAM_SIZE	0x90000000ULL
#define DESC_GPA	0x1000ULL
#define AVAIL_GPA	0x2000ULL
#define USED_GPA	0x3000ULL
#define TABLE_GPA	0x4000ULL	/* indirect tables */
#define BUF_GPA		0x10000ULL
#define QSIZE		8

static struct guest_mem mem;
static uint8_t *ram;
static struct virtq vq;
static struct virtq_elem elem;

static void setup(void)
{
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ck_assert_ptr_ne(ram, MAP_FAILED);
	mem = (struct guest_mem){ .nr_regions = 1, .ram_size = RAM_SIZE, .memfd = -1 };
	mem.regions[0] = (struct guest_region){ 0, RAM_SIZE, ram };
	vq = (struct virtq){ .size = QSIZE, .ready = true, .desc_gpa = DESC_GPA,
			     .avail_gpa = AVAIL_GPA, .used_gpa = USED_GPA, .kick_fd = -1 };
}

static void teardown(void)
{
	munmap(ram, RAM_SIZE);
}

static struct vring_desc *desc_at(uint64_t gpa, unsigned int i)
{
	return (struct vring_desc *)(ram + gpa) + i;
}

static void set_desc(uint64_t table, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	*desc_at(table, i) = (struct vring_desc){ addr, len, flags, next };
}

/* A descriptor at any (possibly unaligned) address. */
static void write_desc(uint64_t gpa, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = { addr, len, flags, next };

	memcpy(ram + gpa, &d, sizeof(d));
}

static struct vring_avail *avail(void)
{
	return (struct vring_avail *)(ram + AVAIL_GPA);
}

static struct vring_used *used(void)
{
	return (struct vring_used *)(ram + USED_GPA);
}

static void offer(uint16_t head)
{
	avail()->ring[avail()->idx % QSIZE] = head;
	avail()->idx++;
}

static int pop(const char **why)
{
	*why = NULL;
	return virtq_pop(&vq, &mem, &elem, why);
}

START_TEST(direct_chain)
{
	const char *why;

	set_desc(DESC_GPA, 3, BUF_GPA, 16, VRING_DESC_F_NEXT, 5);
	set_desc(DESC_GPA, 5, BUF_GPA + 0x100, 512, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, BUF_GPA + 0x1000, 1, VRING_DESC_F_WRITE, 0);
	offer(3);
	ck_assert_int_eq(pop(&why), 1);
	ck_assert_uint_eq(elem.head, 3);
	ck_assert_uint_eq(elem.nr_out, 2);
	ck_assert_uint_eq(elem.nr_in, 1);
	ck_assert_uint_eq(elem.out_len, 528);
	ck_assert_uint_eq(elem.in_len, 1);
	ck_assert_ptr_eq(elem.iov[0].iov_base, ram + BUF_GPA);
	ck_assert_ptr_eq(elem.iov[1].iov_base, ram + BUF_GPA + 0x100);
	ck_assert_ptr_eq(elem.iov[2].iov_base, ram + BUF_GPA + 0x1000);
	ck_assert_uint_eq(elem.iov[2].iov_len, 1);
	ck_assert_int_eq(pop(&why), 0);
	ck_assert_uint_eq(vq.last_avail, 1);
}
END_TEST

START_TEST(indirect_chain)
{
	const char *why;

	/* The WRITE flag on the descriptor that points at a table is ignored. */
	set_desc(DESC_GPA, 0, TABLE_GPA, 3 * 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	set_desc(TABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 2);
	set_desc(TABLE_GPA, 2, BUF_GPA + 0x200, 100, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(TABLE_GPA, 1, BUF_GPA + 0x400, 1, VRING_DESC_F_WRITE, 0);
	offer(0);
	ck_assert_int_eq(pop(&why), 1);
	ck_assert_uint_eq(elem.nr_out, 1);
	ck_assert_uint_eq(elem.nr_in, 2);
	ck_assert_uint_eq(elem.out_len, 16);
	ck_assert_uint_eq(elem.in_len, 101);
	ck_assert_ptr_eq(elem.iov[2].iov_base, ram + BUF_GPA + 0x400);
}
END_TEST

START_TEST(direct_then_indirect)
{
	const char *why;

	/* A table need not be 16-byte aligned. */
	set_desc(DESC_GPA, 2, BUF_GPA, 8, VRING_DESC_F_NEXT, 7);
	set_desc(DESC_GPA, 7, TABLE_GPA + 4, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	write_desc(TABLE_GPA + 4, BUF_GPA + 8, 8, VRING_DESC_F_NEXT, 1);
	write_desc(TABLE_GPA + 20, BUF_GPA + 16, 4, VRING_DESC_F_WRITE, 0);
	offer(2);
	ck_assert_int_eq(pop(&why), 1);
	ck_assert_uint_eq(elem.nr_out, 2);
	ck_assert_uint_eq(elem.nr_in, 1);
	ck_assert_ptr_eq(elem.iov[1].iov_base, ram + BUF_GPA + 8);
}
END_TEST

START_TEST(zero_length_skipped)
{
	const char *why;

	/* Not forbidden by the spec: no iovec, and its address is never used. */
	set_desc(DESC_GPA, 0, UINT64_MAX, 0, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, BUF_GPA, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	set_desc(DESC_GPA, 2, RAM_SIZE, 0, VRING_DESC_F_WRITE, 0);
	offer(0);
	ck_assert_int_eq(pop(&why), 1);
	ck_assert_uint_eq(elem.nr_out, 0);
	ck_assert_uint_eq(elem.nr_in, 1);
	ck_assert_uint_eq(elem.in_len, 4);
}
END_TEST

START_TEST(not_ready_is_empty)
{
	const char *why;

	set_desc(DESC_GPA, 0, BUF_GPA, 4, 0, 0);
	offer(0);
	vq.ready = false;
	ck_assert_int_eq(pop(&why), 0);
	ck_assert_int_eq(virtq_push(&vq, &mem, 0, 0), -EINVAL);
}
END_TEST

/* Each hostile ring: the setup builds it; pop must refuse it and push nothing. */
static void ring_bad_size(void) { vq.size = 6; }
static void ring_bad_size_big(void) { vq.size = 512; }
static void desc_misaligned(void) { vq.desc_gpa = DESC_GPA + 8; }
static void avail_misaligned(void) { vq.avail_gpa = AVAIL_GPA + 1; }
static void used_misaligned(void) { vq.used_gpa = USED_GPA + 2; }
static void desc_outside(void) { vq.desc_gpa = RAM_SIZE - 16 * QSIZE + 16; }
static void avail_outside(void) { vq.avail_gpa = RAM_SIZE - 4 - 2 * QSIZE; }
static void used_outside(void) { vq.used_gpa = RAM_SIZE - 4 - 8 * QSIZE; }
static void used_wraps(void) { vq.used_gpa = UINT64_MAX - 3; }
static void avail_too_far(void) { avail()->idx = QSIZE + 1; }
static void head_out_of_range(void) { avail()->ring[0] = QSIZE; }
static void next_out_of_range(void) { desc_at(DESC_GPA, 0)->flags = VRING_DESC_F_NEXT;
				      desc_at(DESC_GPA, 0)->next = QSIZE; }
static void buf_outside(void) { desc_at(DESC_GPA, 0)->addr = RAM_SIZE - 2; }
static void buf_wraps(void) { desc_at(DESC_GPA, 0)->addr = UINT64_MAX - 1; }

static void direct_loop(void)
{
	set_desc(DESC_GPA, 0, BUF_GPA, 4, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, BUF_GPA, 4, VRING_DESC_F_NEXT, 0);
}

static void self_loop(void)
{
	set_desc(DESC_GPA, 0, BUF_GPA, 4, VRING_DESC_F_NEXT, 0);
}

static void read_after_write(void)
{
	set_desc(DESC_GPA, 0, BUF_GPA, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, BUF_GPA, 4, 0, 0);
}

/* Three buffers of 1.5 GiB: each in RAM, together over 4 GiB. */
static void too_long(void)
{
	for (unsigned int i = 0; i < 3; i++)
		set_desc(DESC_GPA, i, BUF_GPA, 0x60000000, VRING_DESC_F_NEXT, i + 1);
	desc_at(DESC_GPA, 2)->flags = 0;
}

static void indirect(uint32_t len, uint16_t flags)
{
	set_desc(DESC_GPA, 0, TABLE_GPA, len, VRING_DESC_F_INDIRECT | flags, 1);
	set_desc(TABLE_GPA, 0, BUF_GPA, 4, 0, 0);
}

static void ind_len_zero(void) { indirect(0, 0); }
static void ind_len_odd(void) { indirect(24, 0); }
static void ind_too_long(void) { indirect(16 * (VIRTQ_MAX_SIZE + 1), 0); }
static void ind_with_next(void) { indirect(16, VRING_DESC_F_NEXT); }
static void ind_outside(void) { indirect(16, 0); desc_at(DESC_GPA, 0)->addr = RAM_SIZE - 8; }

static void ind_nested(void)
{
	indirect(32, 0);
	set_desc(TABLE_GPA, 0, BUF_GPA, 4, VRING_DESC_F_NEXT, 1);
	set_desc(TABLE_GPA, 1, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
}

static void ind_loop(void)
{
	indirect(32, 0);
	set_desc(TABLE_GPA, 0, BUF_GPA, 4, VRING_DESC_F_NEXT, 1);
	set_desc(TABLE_GPA, 1, BUF_GPA, 4, VRING_DESC_F_NEXT, 0);
}

static void ind_next_out_of_range(void)
{
	indirect(32, 0);
	set_desc(TABLE_GPA, 0, BUF_GPA, 4, VRING_DESC_F_NEXT, 2);
}

static void ind_read_after_write(void)
{
	set_desc(DESC_GPA, 0, BUF_GPA, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(TABLE_GPA, 0, BUF_GPA, 4, 0, 0);
}

static void (*const hostile[])(void) = {
	ring_bad_size, ring_bad_size_big, desc_misaligned, avail_misaligned, used_misaligned,
	desc_outside, avail_outside, used_outside, used_wraps, avail_too_far,
	head_out_of_range, next_out_of_range, buf_outside, buf_wraps, direct_loop, self_loop,
	read_after_write, too_long, ind_len_zero, ind_len_odd, ind_too_long, ind_with_next,
	ind_outside, ind_nested, ind_loop, ind_next_out_of_range, ind_read_after_write,
};

START_TEST(hostile_rings)
{
	const char *why;

	set_desc(DESC_GPA, 0, BUF_GPA, 4, 0, 0);
	offer(0);
	hostile[_i]();
	ck_assert_int_eq(pop(&why), -EINVAL);
	ck_assert_ptr_nonnull(why);
	ck_assert_uint_eq(vq.last_avail, 0);
	ck_assert_uint_eq(used()->idx, 0);
	ck_assert_uint_eq(vq.used_idx, 0);
}
END_TEST

START_TEST(used_ring_contents)
{
	for (unsigned int i = 0; i < 10; i++)
		ck_assert_int_eq(virtq_push(&vq, &mem, i % QSIZE, 100 + i), 0);
	ck_assert_uint_eq(used()->idx, 10);
	ck_assert_uint_eq(used()->ring[0].id, 0);	/* slot 0 was rewritten by push 8 */
	ck_assert_uint_eq(used()->ring[0].len, 108);
	ck_assert_uint_eq(used()->ring[1].len, 109);
	ck_assert_uint_eq(used()->ring[7].id, 7);
	ck_assert_uint_eq(used()->ring[7].len, 107);
	ck_assert_int_eq(virtq_push(&vq, &mem, QSIZE, 0), -EINVAL);
	vq.used_gpa = USED_GPA + 2;
	ck_assert_int_eq(virtq_push(&vq, &mem, 0, 0), -EINVAL);
	ck_assert_uint_eq(used()->idx, 10);
}
END_TEST

START_TEST(fill_then_flush_publishes_once)
{
	ck_assert_int_eq(virtq_fill(&vq, &mem, 0, 3, 30), 0);
	ck_assert_int_eq(virtq_fill(&vq, &mem, 1, 4, 40), 0);
	ck_assert_uint_eq(used()->idx, 0);		/* nothing visible yet */
	ck_assert_int_eq(virtq_fill(&vq, &mem, QSIZE, 0, 0), -EINVAL);
	ck_assert_int_eq(virtq_flush(&vq, &mem, 2), 0);
	ck_assert_uint_eq(used()->idx, 2);
	ck_assert_uint_eq(used()->ring[0].id, 3);
	ck_assert_uint_eq(used()->ring[1].len, 40);
	ck_assert_int_eq(virtq_flush(&vq, &mem, QSIZE + 1), -EINVAL);
}
END_TEST

START_TEST(flags_suppress_interrupts)
{
	ck_assert_int_eq(virtq_push(&vq, &mem, 0, 0), 0);
	avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;
	ck_assert(!virtq_should_notify(&vq, &mem));
	avail()->flags = 0;
	ck_assert(virtq_should_notify(&vq, &mem));
}
END_TEST

START_TEST(event_idx_suppression)
{
	uint16_t *used_event = &avail()->ring[QSIZE];

	vq.event_idx = true;
	avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;	/* ignored with EVENT_IDX */
	*used_event = 0;
	virtq_push(&vq, &mem, 0, 0);
	ck_assert(virtq_should_notify(&vq, &mem));	/* used entry 0 written: event 0 hit */
	virtq_push(&vq, &mem, 1, 0);
	ck_assert(!virtq_should_notify(&vq, &mem));
	*used_event = 3;				/* wake me when entry 3 is used */
	virtq_push(&vq, &mem, 2, 0);
	ck_assert(!virtq_should_notify(&vq, &mem));
	virtq_push(&vq, &mem, 3, 0);
	virtq_push(&vq, &mem, 4, 0);
	ck_assert(virtq_should_notify(&vq, &mem));	/* entries 3 and 4 in one batch */
	ck_assert(!virtq_should_notify(&vq, &mem));	/* nothing new */
}
END_TEST

START_TEST(avail_event_published)
{
	uint16_t *avail_event = (uint16_t *)&used()->ring[QSIZE];
	const char *why;

	set_desc(DESC_GPA, 0, BUF_GPA, 4, 0, 0);
	offer(0);
	offer(0);
	virtq_set_avail_event(&vq, &mem);
	ck_assert_uint_eq(*avail_event, 0);		/* no EVENT_IDX: left alone */
	vq.event_idx = true;
	ck_assert_int_eq(pop(&why), 1);
	ck_assert_int_eq(pop(&why), 1);
	virtq_set_avail_event(&vq, &mem);
	ck_assert_uint_eq(*avail_event, 2);
}
END_TEST

START_TEST(reset_keeps_kick_fd)
{
	vq.kick_fd = 42;
	vq.last_avail = 5;
	virtq_reset(&vq);
	ck_assert_int_eq(vq.kick_fd, 42);
	ck_assert(!vq.ready);
	ck_assert_uint_eq(vq.last_avail, 0);
	ck_assert_uint_eq(vq.size, VIRTQ_MAX_SIZE);
}
END_TEST

START_TEST(index_wraps)
{
	const char *why;

	/* Free-running 16-bit indexes: a ring that has wrapped still works. */
	vq.last_avail = 0xffff;
	avail()->idx = 0xffff;
	set_desc(DESC_GPA, 0, BUF_GPA, 4, 0, 0);
	avail()->ring[0xffff % QSIZE] = 0;
	avail()->ring[0] = 0;
	avail()->idx = 1;
	ck_assert_int_eq(pop(&why), 1);
	ck_assert_int_eq(pop(&why), 1);
	ck_assert_int_eq(pop(&why), 0);
	ck_assert_uint_eq(vq.last_avail, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtq");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, direct_chain);
	tcase_add_test(tc, indirect_chain);
	tcase_add_test(tc, direct_then_indirect);
	tcase_add_test(tc, zero_length_skipped);
	tcase_add_test(tc, not_ready_is_empty);
	tcase_add_loop_test(tc, hostile_rings, 0, ARRAY_SIZE(hostile));
	tcase_add_test(tc, used_ring_contents);
	tcase_add_test(tc, flags_suppress_interrupts);
	tcase_add_test(tc, event_idx_suppression);
	tcase_add_test(tc, avail_event_published);
	tcase_add_test(tc, reset_keeps_kick_fd);
	tcase_add_test(tc, index_wraps);
	tcase_add_test(tc, fill_then_flush_publishes_once);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
