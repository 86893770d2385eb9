// SPDX-License-Identifier: Apache-2.0
/* The I/O bus and the legacy devices, driven as a guest driver would. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/serial_reg.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <petrel/devices.h>
#include <petrel/memory.h>
#include <petrel/metrics.h>
#include <petrel/vcpu.h>

static int hits;
static void count_write(void *o, uint64_t off, const uint8_t *d, uint32_t len) { hits++; }
static void fixed_read(void *o, uint64_t off, uint8_t *d, uint32_t len) { memset(d, 0x42, len); }
static const struct bus_ops test_ops = { .read = fixed_read, .write = count_write };

START_TEST(bus_ranges)
{
	struct bus bus = { 0 };
	uint8_t b = 0, two[2];

	ck_assert_int_eq(bus_register(&bus, 0x100, 8, &test_ops, NULL), 0);
	ck_assert_int_eq(bus_register(&bus, 0x10, 4, &test_ops, NULL), 0);
	ck_assert_int_eq(bus_register(&bus, 0x104, 8, &test_ops, NULL), -EEXIST);
	ck_assert_int_eq(bus_register(&bus, 0xfc, 8, &test_ops, NULL), -EEXIST);
	ck_assert_int_eq(bus_register(&bus, 0x200, 0, &test_ops, NULL), -EINVAL);
	ck_assert_int_eq(bus_register(&bus, UINT64_MAX, 2, &test_ops, NULL), -EINVAL);
	ck_assert(bus_read(&bus, 0x107, &b, 1));
	ck_assert_int_eq(b, 0x42);
	/* An access crossing the end of a range, or outside all, reads all ones. */
	ck_assert(!bus_read(&bus, 0x107, two, 2));
	ck_assert_int_eq(two[0] & two[1], 0xff);
	ck_assert(!bus_read(&bus, 0x300, &b, 1));
	ck_assert_int_eq(b, 0xff);
	hits = 0;
	ck_assert(bus_write(&bus, 0x12, &b, 1));
	ck_assert(!bus_write(&bus, 0x14, &b, 1));
	ck_assert_int_eq(hits, 1);
}
END_TEST

static uint8_t reg_rd(struct serial *s, unsigned int reg)
{
	uint8_t v;

	serial_bus_ops.read(s, reg, &v, 1);
	return v;
}

static void reg_wr(struct serial *s, unsigned int reg, uint8_t v)
{
	serial_bus_ops.write(s, reg, &v, 1);
}

static uint64_t irq_count(int efd)
{
	uint64_t v = 0;

	if (read(efd, &v, sizeof(v)) < 0)
		return 0;
	return v;
}

START_TEST(serial_output_and_thre_irq)
{
	int pipefd[2], efd = eventfd(0, EFD_NONBLOCK);
	struct serial *s;
	char out[8] = { 0 };

	ck_assert_int_eq(pipe(pipefd), 0);
	s = serial_create((struct irq_line){ efd }, pipefd[1], -1);
	ck_assert_ptr_nonnull(s);
	ck_assert(reg_rd(s, UART_LSR) & UART_LSR_THRE);
	reg_wr(s, UART_TX, 'h');
	reg_wr(s, UART_TX, 'i');
	ck_assert_int_eq(read(pipefd[0], out, sizeof(out)), 2);
	ck_assert_str_eq(out, "hi");
	ck_assert_int_eq(irq_count(efd), 0);		/* no interrupt enabled */
	reg_wr(s, UART_IER, UART_IER_THRI);
	ck_assert_int_eq(irq_count(efd), 1);		/* THR empty raises at once */
	ck_assert_int_eq(reg_rd(s, UART_IIR) & 0x0f, UART_IIR_THRI);
	ck_assert_int_eq(reg_rd(s, UART_IIR) & 0x0f, UART_IIR_NO_INT);	/* cleared by reading */
	/* Divisor latch: DLL/DLM instead of data/IER. */
	reg_wr(s, UART_LCR, UART_LCR_DLAB);
	reg_wr(s, UART_DLL, 1);
	ck_assert_int_eq(reg_rd(s, UART_DLL), 1);
	reg_wr(s, UART_LCR, 0x03);
	ck_assert_int_eq(reg_rd(s, UART_IER), UART_IER_THRI);
	serial_destroy(s);
	close(pipefd[0]);
	close(pipefd[1]);
	close(efd);
}
END_TEST

/* A console with no room: the vCPU never waits, bytes wait in order, the rest are counted. */
START_TEST(serial_output_never_blocks)
{
	int pipefd[2], irq = eventfd(0, EFD_NONBLOCK), notify = eventfd(0, EFD_NONBLOCK);
	uint64_t missed = metrics_get(M_UART_MISSED_WRITE_COUNT);
	static uint8_t got[SERIAL_TX_BUF_SIZE + 8192];
	size_t pipe_size, n = 0, extra = 100;
	struct serial *s;
	ssize_t r;

	ck_assert_int_eq(pipe2(pipefd, O_NONBLOCK), 0);
	pipe_size = fcntl(pipefd[1], F_SETPIPE_SZ, 4096);
	s = serial_create((struct irq_line){ irq }, pipefd[1], notify);
	/* The pipe's page, the UART's buffer and 100 more, numbered by their offset mod 251. */
	for (size_t i = 0; i < pipe_size + SERIAL_TX_BUF_SIZE + extra; i++)
		reg_wr(s, UART_TX, i % 251);
	ck_assert_int_eq(irq_count(notify), 1);		/* once, when bytes began to wait */
	ck_assert_uint_eq(metrics_get(M_UART_MISSED_WRITE_COUNT) - missed, extra);
	/* The vmm thread's part: drain as the reader makes room. */
	for (int i = 0; i < 1000 && n < pipe_size + SERIAL_TX_BUF_SIZE; i++) {
		r = read(pipefd[0], got + n, sizeof(got) - n);
		if (r > 0)
			n += r;
		serial_flush_output(s);
	}
	ck_assert_uint_eq(n, pipe_size + SERIAL_TX_BUF_SIZE);
	ck_assert_uint_eq(serial_flush_output(s), 0);
	ck_assert_int_eq(read(pipefd[0], got + n, 1), -1);	/* nothing more: the rest was lost */
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(got[i] == i % 251, "byte %zu out of order", i);
	/* Empty again: straight out, no waiting. */
	reg_wr(s, UART_TX, 'x');
	ck_assert_int_eq(read(pipefd[0], got, 2), 1);
	ck_assert_int_eq(irq_count(notify), 0);
	/* A reader gone: lost and counted, never raised. */
	close(pipefd[0]);
	missed = metrics_get(M_UART_MISSED_WRITE_COUNT);
	signal(SIGPIPE, SIG_IGN);
	reg_wr(s, UART_TX, 'y');
	ck_assert_uint_eq(metrics_get(M_UART_MISSED_WRITE_COUNT) - missed, 1);
	serial_destroy(s);
	close(pipefd[1]);
	close(irq);
	close(notify);
}
END_TEST

START_TEST(serial_input)
{
	int efd = eventfd(0, EFD_NONBLOCK), space = eventfd(0, EFD_NONBLOCK);
	struct serial *s = serial_create((struct irq_line){ efd }, -1, space);
	uint8_t big[5000];

	ck_assert(!(reg_rd(s, UART_LSR) & UART_LSR_DR));
	reg_wr(s, UART_IER, UART_IER_RDI);
	ck_assert_int_eq(serial_enqueue_input(s, (const uint8_t *)"ab", 2), 2);
	ck_assert_int_eq(irq_count(efd), 1);
	ck_assert_int_eq(reg_rd(s, UART_IIR) & 0x0f, UART_IIR_RDI);
	ck_assert(reg_rd(s, UART_LSR) & UART_LSR_DR);
	ck_assert_int_eq(reg_rd(s, UART_RX), 'a');
	ck_assert_int_eq(reg_rd(s, UART_RX), 'b');
	ck_assert(!(reg_rd(s, UART_LSR) & UART_LSR_DR));
	/* A full FIFO takes only what fits, and says when room frees up. */
	memset(big, 'x', sizeof(big));
	ck_assert_uint_eq(serial_enqueue_input(s, big, sizeof(big)), 4096);
	ck_assert_uint_eq(serial_input_room(s), 0);
	ck_assert_int_eq(irq_count(space), 0);
	reg_rd(s, UART_RX);
	ck_assert_int_eq(irq_count(space), 1);
	ck_assert_uint_eq(serial_input_room(s), 1);
	serial_destroy(s);
	close(efd);
	close(space);
}
END_TEST

/*
 * The console's reader stops at a full FIFO and waits for the room eventfd:
 * a guest that clears the FIFO (Linux does at port open) or fills it by
 * loopback must wake it too, or console input stalls for good.
 */
START_TEST(serial_room_after_clear_and_loopback)
{
	int space = eventfd(0, EFD_NONBLOCK);
	struct serial *s = serial_create((struct irq_line){ -1 }, -1, space);
	uint8_t big[4096];

	memset(big, 'x', sizeof(big));
	ck_assert_uint_eq(serial_enqueue_input(s, big, sizeof(big)), 4096);
	reg_wr(s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	ck_assert_uint_eq(serial_input_room(s), 4096);
	ck_assert_int_eq(irq_count(space), 1);
	/* Full by loopback, then one byte read by the guest. */
	reg_wr(s, UART_MCR, UART_MCR_LOOP);
	for (unsigned int i = 0; i < sizeof(big); i++)
		reg_wr(s, UART_TX, 'y');
	ck_assert_uint_eq(serial_input_room(s), 0);
	ck_assert_int_eq(reg_rd(s, UART_RX), 'y');
	ck_assert_int_eq(irq_count(space), 1);
	serial_destroy(s);
	close(space);
}
END_TEST

static int resets;
static void on_reset(void *o) { resets++; }

static uint8_t kbd_rd(struct i8042 *k, bool cmd)
{
	uint8_t v;

	(cmd ? i8042_cmd_bus_ops : i8042_data_bus_ops).read(k, 0, &v, 1);
	return v;
}

static void kbd_wr(struct i8042 *k, bool cmd, uint8_t v)
{
	(cmd ? i8042_cmd_bus_ops : i8042_data_bus_ops).write(k, 0, &v, 1);
}

START_TEST(i8042_probe_sequence)
{
	int efd = eventfd(0, EFD_NONBLOCK);
	struct i8042 *k = i8042_create((struct irq_line){ efd }, on_reset, NULL);

	kbd_wr(k, true, 0xaa);			/* controller self-test */
	ck_assert(kbd_rd(k, true) & 0x01);
	ck_assert_int_eq(kbd_rd(k, false), 0x55);
	ck_assert(!(kbd_rd(k, true) & 0x01));
	kbd_wr(k, true, 0x60);			/* write CTR, read it back */
	kbd_wr(k, false, 0x45);
	kbd_wr(k, true, 0x20);
	ck_assert_int_eq(kbd_rd(k, false), 0x45);
	kbd_wr(k, false, 0xff);			/* keyboard reset: ACK then BAT */
	ck_assert_int_eq(kbd_rd(k, false), 0xfa);
	ck_assert_int_eq(kbd_rd(k, false), 0xaa);
	resets = 0;
	kbd_wr(k, true, 0xfe);
	ck_assert_int_eq(resets, 1);
	i8042_destroy(k);
	close(efd);
}
END_TEST

START_TEST(i8042_ctrl_alt_del)
{
	int efd = eventfd(0, EFD_NONBLOCK);
	struct i8042 *k = i8042_create((struct irq_line){ efd }, on_reset, NULL);
	static const uint8_t set1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };

	ck_assert_int_eq(i8042_send_ctrl_alt_del(k), 0);
	ck_assert_int_ge(irq_count(efd), 1);
	for (size_t i = 0; i < sizeof(set1); i++)
		ck_assert_int_eq(kbd_rd(k, false), set1[i]);
	ck_assert(!(kbd_rd(k, true) & 0x01));
	/* A guest that never reads gets -EBUSY, not a lost half sequence. */
	ck_assert_int_eq(i8042_send_ctrl_alt_del(k), 0);
	ck_assert_int_eq(i8042_send_ctrl_alt_del(k), 0);
	ck_assert_int_eq(i8042_send_ctrl_alt_del(k), -EBUSY);
	for (size_t i = 0; i < 2 * sizeof(set1); i++)
		ck_assert_int_eq(kbd_rd(k, false), set1[i % sizeof(set1)]);
	i8042_destroy(k);
	close(efd);
}
END_TEST

static struct kvm_cpuid2 *make_cpuid(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 6 * sizeof(c->entries[0]));

	c->nent = 6;
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 1, .ebx = 0x00010800 };
	c->entries[1] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 0 };
	c->entries[2] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 1 };
	c->entries[3] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 2 };
	c->entries[4] = (struct kvm_cpuid_entry2){ .function = 4, .eax = 0x121 | (7u << 26) };
	c->entries[5] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .ecx = 0x7 };
	return c;
}

START_TEST(cpuid_topology)
{
	struct kvm_cpuid2 *c = make_cpuid();

	ck_assert_int_eq(cpuid_normalize(c, 3, 4, false), 0);
	ck_assert_uint_eq(c->entries[0].ebx >> 24, 3);		/* APIC id */
	ck_assert_uint_eq((c->entries[0].ebx >> 16) & 0xff, 4);	/* logical processors */
	ck_assert(c->entries[0].ecx & (1u << 31));		/* hypervisor bit */
	ck_assert(c->entries[0].edx & (1u << 28));		/* HTT */
	ck_assert_uint_eq(c->entries[1].ebx, 1);		/* 1 thread per core */
	ck_assert_uint_eq(c->entries[1].edx, 3);		/* x2APIC id */
	ck_assert_uint_eq(c->entries[2].ebx, 4);		/* 4 in the package */
	ck_assert_uint_eq(c->entries[2].eax, 2);		/* shift: 2 bits */
	ck_assert_uint_eq((c->entries[2].ecx >> 8) & 0xff, 2);	/* core level */
	ck_assert_uint_eq(c->entries[3].ecx & 0xff00, 0);	/* end of levels */
	ck_assert_uint_eq(c->entries[4].eax >> 26, 3);		/* cores - 1 */
	ck_assert_uint_eq(c->entries[5].ecx & 0xff, 3);
	free(c);
	c = make_cpuid();
	ck_assert_int_eq(cpuid_normalize(c, 1, 2, true), 0);
	ck_assert_uint_eq(c->entries[1].ebx, 2);		/* SMT: 2 threads per core */
	ck_assert_uint_eq(c->entries[1].eax, 1);
	ck_assert_int_eq(cpuid_normalize(c, 2, 2, false), -EINVAL);
	free(c);
	c = make_cpuid();
	ck_assert_int_eq(cpuid_normalize(c, 0, 1, false), 0);
	ck_assert(!(c->entries[0].edx & (1u << 28)));		/* no HTT for one CPU */
	free(c);
}
END_TEST

#define VMGENID_TEST_GPA 0x3000

/* Two pages of "guest RAM" at gpa 0x2000, poisoned so an untouched byte shows. */
static void vmgenid_mem(struct guest_mem *mem, uint8_t *ram)
{
	memset(ram, 0xa5, 0x2000);
	memset(mem, 0, sizeof(*mem));
	mem->regions[0] = (struct guest_region){ .gpa = 0x2000, .size = 0x2000, .host = ram };
	mem->nr_regions = 1;
	mem->memfd = -1;
}

/* The id is the 16 bytes at the gpa: nothing around it is written. */
static void check_id_placed(const uint8_t *ram)
{
	const uint8_t *id = ram + VMGENID_TEST_GPA - 0x2000;
	uint8_t poison[16];

	memset(poison, 0xa5, sizeof(poison));
	ck_assert(memcmp(id, poison, VMGENID_SIZE));
	ck_assert_uint_eq(id[-1], 0xa5);
	ck_assert_uint_eq(id[VMGENID_SIZE], 0xa5);
}

/* A first id at creation, without an interrupt: the guest reads it at boot. */
START_TEST(vmgenid_create_writes_id)
{
	static uint8_t ram[0x2000];
	int efd = eventfd(0, EFD_NONBLOCK);
	struct guest_mem mem;
	struct vmgenid *g;

	vmgenid_mem(&mem, ram);
	g = vmgenid_create(&mem, VMGENID_TEST_GPA, (struct irq_line){ efd });
	ck_assert_ptr_nonnull(g);
	check_id_placed(ram);
	ck_assert_uint_eq(irq_count(efd), 0);
	vmgenid_destroy(g);
	close(efd);
}
END_TEST

/* Each regenerate: a different id in the same place, and one interrupt. */
START_TEST(vmgenid_regenerate_changes_id_and_raises_irq)
{
	static uint8_t ram[0x2000];
	uint8_t before[VMGENID_SIZE];
	int efd = eventfd(0, EFD_NONBLOCK);
	struct guest_mem mem;
	struct vmgenid *g;
	int i;

	vmgenid_mem(&mem, ram);
	g = vmgenid_create(&mem, VMGENID_TEST_GPA, (struct irq_line){ efd });
	ck_assert_ptr_nonnull(g);
	for (i = 0; i < 3; i++) {
		memcpy(before, ram + VMGENID_TEST_GPA - 0x2000, sizeof(before));
		ck_assert_int_eq(vmgenid_regenerate(g), 0);
		ck_assert(memcmp(before, ram + VMGENID_TEST_GPA - 0x2000, sizeof(before)));
		check_id_placed(ram);
		ck_assert_uint_eq(irq_count(efd), 1);
	}
	vmgenid_destroy(g);
	close(efd);
}
END_TEST

/* Two VMs (two creations) never share an id. */
START_TEST(vmgenid_ids_differ)
{
	static uint8_t ram1[0x2000], ram2[0x2000];
	struct guest_mem m1, m2;
	struct vmgenid *g1, *g2;

	vmgenid_mem(&m1, ram1);
	vmgenid_mem(&m2, ram2);
	g1 = vmgenid_create(&m1, VMGENID_TEST_GPA, (struct irq_line){ -1 });
	g2 = vmgenid_create(&m2, VMGENID_TEST_GPA, (struct irq_line){ -1 });
	ck_assert_ptr_nonnull(g1);
	ck_assert_ptr_nonnull(g2);
	ck_assert(memcmp(ram1 + 0x1000, ram2 + 0x1000, VMGENID_SIZE));
	vmgenid_destroy(g1);
	vmgenid_destroy(g2);
}
END_TEST

/* An id that would not lie wholly in guest RAM: refused, nothing written. */
START_TEST(vmgenid_outside_ram)
{
	static uint8_t ram[0x2000], copy[0x2000];
	struct guest_mem mem;

	vmgenid_mem(&mem, ram);
	memcpy(copy, ram, sizeof(copy));
	ck_assert_ptr_null(vmgenid_create(&mem, 0x1000, (struct irq_line){ -1 }));
	ck_assert_ptr_null(vmgenid_create(&mem, 0x4000 - 8, (struct irq_line){ -1 }));
	ck_assert(!memcmp(ram, copy, sizeof(copy)));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("devices");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, bus_ranges);
	tcase_add_test(tc, serial_output_and_thre_irq);
	tcase_add_test(tc, serial_output_never_blocks);
	tcase_add_test(tc, serial_input);
	tcase_add_test(tc, serial_room_after_clear_and_loopback);
	tcase_add_test(tc, i8042_probe_sequence);
	tcase_add_test(tc, i8042_ctrl_alt_del);
	tcase_add_test(tc, cpuid_topology);
	tcase_add_test(tc, vmgenid_create_writes_id);
	tcase_add_test(tc, vmgenid_regenerate_changes_id_and_raises_irq);
	tcase_add_test(tc, vmgenid_ids_differ);
	tcase_add_test(tc, vmgenid_outside_ram);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
