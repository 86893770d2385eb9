// SPDX-License-Identifier: MIT
/*
 * The probe: say hello with the CPU count from ACPI, mark the boot time,
 * then do what probe.action= on the command line asks.
 */
#include "acpi.h"
#include "actions.h"
#include "cmdline.h"
#include "io.h"
#include "lib.h"
#include "serial.h"

#define XEN_HVM_START_MAGIC	0x336ec578

#define BOOT_TIMER_PORT		0x3f0
#define BOOT_TIMER_MMIO		0xc0000000ULL
#define BOOT_TIMER_VALUE	123

#define I8042_COMMAND		0x64
#define I8042_PULSE_RESET	0xfe

/* Nothing is assigned here in petrel: accesses must be ignored. */
#define UNASSIGNED_PORT		0x510
#define UNASSIGNED_MMIO		0xd0000000ULL

#define ECHO_LINE_MAX		64

/* PVH boot ABI (Xen public/arch-x86/hvm/start_info.h). */
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;		/* version >= 1 */
	uint32_t memmap_entries;	/* version >= 1 */
	uint32_t reserved;
};
static_assert(sizeof(struct hvm_start_info) == 56, "PVH hvm_start_info");

/* An action that returns is followed by a power-off. */
struct action {
	const char *name;
	void (*run)(void);
};

void probe_main(const struct hvm_start_info *si);

__noreturn void probe_poweroff(void)
{
	acpi_poweroff();
	serial_puts("probe: poweroff failed\n");
	halt_forever();
}

/* The i8042 first; hardware-reduced platforms (QEMU microvm) lack one. */
static __noreturn void do_reset(void)
{
	outb(I8042_COMMAND, I8042_PULSE_RESET);
	settle();
	acpi_reset();
	serial_puts("probe: reset failed\n");
	halt_forever();
}

/* With no usable IDT, the #UD escalates to #DF and then a shutdown. */
static __noreturn void do_triplefault(void)
{
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __packed empty_idt;

	asm volatile("lidt %0; ud2" : : "m"(empty_idt));
	halt_forever();
}

static __noreturn void do_halt(void)
{
	serial_puts("probe: halting\n");
	halt_forever();
}

static __noreturn void do_echo(void)
{
	char line[ECHO_LINE_MAX];
	size_t len = 0;

	serial_puts("probe: echo ready\n");
	for (;;) {
		char c = serial_getc();

		serial_putc(c);
		if (c != '\n' && c != '\r') {
			/* An over-long line is kept too long to ever match. */
			if (len < sizeof(line))
				line[len++] = c;
			continue;
		}
		if (str_eq(line, len, "poweroff"))
			probe_poweroff();
		len = 0;
	}
}

static __noreturn void do_badio(void)
{
	outb(UNASSIGNED_PORT, 0);
	(void)mmio_read32(UNASSIGNED_MMIO);
	serial_puts("probe: badio survived\n");
	probe_poweroff();
}

static const struct action actions[] = {
	{ "poweroff",		probe_poweroff },
	{ "reset",		do_reset },
	{ "triplefault",	do_triplefault },
	{ "halt",		do_halt },
	{ "echo",		do_echo },
	{ "badio",		do_badio },
	{ "blk",		blk_action },
	{ "rng",		rng_action },
	{ "net",		net_action },
	{ "mmds",		mmds_action },
	{ "hostile",		hostile_action },
	{ "count",		count_action },
	{ "cad",		cad_action },
	{ "spew",		spew_action },
	{ "vmgenid-wait",	vmgenid_wait_action },
	{ "balloon",		balloon_action },
	{ "vsock-echo",		vsock_echo_action },
	{ "vsock-connect",	vsock_connect_action },
	{ "vsock-hostile",	vsock_hostile_action },
};

static void boot_timer(bool mmio)
{
	if (mmio)
		mmio_write8(BOOT_TIMER_MMIO, BOOT_TIMER_VALUE);
	else
		outb(BOOT_TIMER_PORT, BOOT_TIMER_VALUE);
}

/* probe.end=halt keeps the VM up after the action, for a test that still has work. */
static __noreturn void action_done(void)
{
	const char *end;
	size_t len;

	if (cmdline_value("probe.end=", &end, &len) && str_eq(end, len, "halt"))
		do_halt();
	probe_poweroff();
}

static __noreturn void run_action(const char *name, size_t len)
{
	size_t i;

	serial_printf("probe: action=%.*s\n", (int)len, name);
	for (i = 0; i < ARRAY_SIZE(actions); i++) {
		if (str_eq(name, len, actions[i].name)) {
			actions[i].run();
			action_done();
		}
	}
	serial_printf("probe: unknown action %.*s\n", (int)len, name);
	probe_poweroff();
}

/* A start_info with the wrong magic is treated as absent. */
void probe_main(const struct hvm_start_info *si)
{
	const char *action = "poweroff", *timer;
	size_t action_len = 8, timer_len;
	uint64_t rsdp = 0;

	serial_init();
	if (si && si->magic == XEN_HVM_START_MAGIC) {
		rsdp = si->rsdp_paddr;
		cmdline_init(phys_ptr(si->cmdline_paddr, CMDLINE_MAX));
	}
	cmdline_value("probe.action=", &action, &action_len);
	acpi_init(rsdp);

	serial_printf("probe: hello cpus=%u\n", acpi_cpu_count());
	vmgenid_report();
	boot_timer(cmdline_value("probe.boottimer=", &timer, &timer_len) &&
		   str_eq(timer, timer_len, "mmio"));
	run_action(action, action_len);
}
