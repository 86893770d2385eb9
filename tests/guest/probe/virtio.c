// SPDX-License-Identifier: MIT
/*
 * Devices come from virtio_mmio.device=<size>@<addr>:<gsi> words, else
 * from the DSDT's LNRO0005 devices (probe.virtio=acpi or =cmdline picks
 * one source). Each window must hold a version 2 device to be used.
 */
#include "acpi.h"
#include "cmdline.h"
#include "io.h"
#include "lib.h"
#include "serial.h"
#include "time.h"
#include "virtio.h"

#define VIRTIO_MAX_DEVICES	32
#define VIRTIO_MAGIC		0x74726976	/* "virt" */
#define VIRTIO_MMIO_HID		"LNRO0005"
#define MMIO_HOLE_START		0xc0000000ULL
#define CONFIG_RETRIES		8

static struct virtio_dev devices[VIRTIO_MAX_DEVICES];
static int nr_devices = -1;

static const char *const names[] = {
	[VIRTIO_ID_NET] = "net",
	[VIRTIO_ID_BLOCK] = "blk",
	[VIRTIO_ID_CONSOLE] = "console",
	[VIRTIO_ID_RNG] = "rng",
	[VIRTIO_ID_BALLOON] = "balloon",
	[VIRTIO_ID_VSOCK] = "vsock",
};

/* <size>[KMG]@<addr>:<gsi>[:<id>] */
static bool parse_window(const char *p, size_t len, struct acpi_mmio_dev *w)
{
	const char *end = p + len;
	uint64_t size, gsi;
	unsigned int shift = 0;

	if (!parse_num(&p, end, &size))
		return false;
	if (p < end && (*p == 'K' || *p == 'k'))
		shift = 10;
	else if (p < end && (*p == 'M' || *p == 'm'))
		shift = 20;
	else if (p < end && (*p == 'G' || *p == 'g'))
		shift = 30;
	p += shift != 0;
	if (p == end || *p++ != '@' || !parse_num(&p, end, &w->base))
		return false;
	if (p == end || *p++ != ':' || !parse_num(&p, end, &gsi))
		return false;
	if ((p != end && *p != ':') || size >> 32 || gsi >> 32)
		return false;
	w->size = size << shift;
	w->gsi = (uint32_t)gsi;
	return true;
}

static int windows_from_cmdline(struct acpi_mmio_dev *w, int max)
{
	const char *word, *val;
	size_t pos = 0, len, val_len;
	int n = 0;

	while (n < max && cmdline_next(&pos, &word, &len)) {
		if (!cmdline_match(word, len, "virtio_mmio.device=", &val, &val_len))
			continue;
		if (parse_window(val, val_len, &w[n]))
			n++;
		else
			serial_printf("probe: virtio bad word %.*s\n", (int)len, word);
	}
	return n;
}

/* Registers must sit in the uncached 3..4 GiB hole that start.S maps. */
static bool window_ok(const struct acpi_mmio_dev *w)
{
	return w->base >= MMIO_HOLE_START && w->size >= VIRTIO_MMIO_CONFIG &&
	       phys_ptr(w->base, w->size);
}

static void add_device(const struct acpi_mmio_dev *w)
{
	struct virtio_dev *d = &devices[nr_devices];
	uint32_t version, id;

	if (!window_ok(w)) {
		serial_printf("probe: virtio window 0x%lx+0x%lx unusable\n",
			      w->base, w->size);
		return;
	}
	if (mmio_read32(w->base + VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MAGIC) {
		serial_printf("probe: virtio no device at 0x%lx\n", w->base);
		return;
	}
	version = mmio_read32(w->base + VIRTIO_MMIO_VERSION);
	if (version != 2) {
		serial_printf("probe: virtio %s device at 0x%lx unsupported\n",
			      version == 1 ? "legacy" : "unknown", w->base);
		return;
	}
	id = mmio_read32(w->base + VIRTIO_MMIO_DEVICE_ID);
	if (!id)
		return;		/* an empty slot */
	d->base = w->base;
	d->size = w->size;
	d->gsi = w->gsi;
	d->id = id;
	d->name = id < ARRAY_SIZE(names) && names[id] ? names[id] : "other";
	serial_printf("probe: virtio %s id=%u at 0x%lx gsi=%u\n", d->name, id,
		      d->base, d->gsi);
	nr_devices++;
}

static void discover(void)
{
	struct acpi_mmio_dev w[VIRTIO_MAX_DEVICES];
	const char *from = "cmdline", *want = "";
	size_t want_len = 0;
	int n = 0, i;

	cmdline_value("probe.virtio=", &want, &want_len);
	if (!str_eq(want, want_len, "acpi"))
		n = windows_from_cmdline(w, VIRTIO_MAX_DEVICES);
	if (!n && !str_eq(want, want_len, "cmdline")) {
		from = "acpi";
		n = acpi_find_mmio_devices(VIRTIO_MMIO_HID, w, VIRTIO_MAX_DEVICES);
	}
	nr_devices = 0;
	for (i = 0; i < n; i++)
		add_device(&w[i]);
	serial_printf("probe: virtio devices=%d from=%s\n", nr_devices, from);
}

int virtio_devices(struct virtio_dev **devs)
{
	if (nr_devices < 0) {
		time_init();
		discover();
	}
	*devs = devices;
	return nr_devices;
}

struct virtio_dev *virtio_find(uint32_t id, const char *name)
{
	struct virtio_dev *devs;
	int i, n = virtio_devices(&devs);

	for (i = 0; i < n; i++) {
		if (devs[i].id == id)
			return &devs[i];
	}
	serial_printf("probe: %s no device\n", name);
	return NULL;
}

uint32_t virtio_read(const struct virtio_dev *d, uint32_t reg)
{
	return mmio_read32(d->base + reg);
}

void virtio_write(const struct virtio_dev *d, uint32_t reg, uint32_t val)
{
	mmio_write32(d->base + reg, val);
}

uint8_t virtio_status(const struct virtio_dev *d)
{
	return (uint8_t)virtio_read(d, VIRTIO_MMIO_STATUS);
}

int virtio_reset(struct virtio_dev *d)
{
	uint64_t deadline = time_deadline(VIRTIO_TIMEOUT_MS);

	virtio_write(d, VIRTIO_MMIO_STATUS, 0);
	while (virtio_status(d)) {
		if (time_passed(deadline)) {
			serial_printf("probe: %s reset timeout\n", d->name);
			return -1;
		}
	}
	return 0;
}

static uint64_t read_features(const struct virtio_dev *d)
{
	uint64_t f;

	virtio_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f = (uint64_t)virtio_read(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	virtio_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return f | virtio_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
}

static void write_features(const struct virtio_dev *d, uint64_t f)
{
	virtio_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	virtio_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	virtio_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	virtio_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
}

int virtio_start(struct virtio_dev *d, uint64_t want)
{
	const uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	if (virtio_reset(d))
		return -1;
	virtio_write(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	virtio_write(d, VIRTIO_MMIO_STATUS, s);
	d->offered = read_features(d);
	if (!(d->offered & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
		serial_printf("probe: %s does not offer VERSION_1\n", d->name);
		virtio_write(d, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FAILED);
		return -1;
	}
	d->features = d->offered & (want | VIRTIO_BIT(VIRTIO_F_VERSION_1));
	write_features(d, d->features);
	virtio_write(d, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
	if (!(virtio_status(d) & VIRTIO_CONFIG_S_FEATURES_OK)) {
		serial_printf("probe: %s refused features 0x%lx\n", d->name,
			      d->features);
		virtio_write(d, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FAILED);
		return -1;
	}
	return 0;
}

void virtio_driver_ok(struct virtio_dev *d)
{
	virtio_write(d, VIRTIO_MMIO_STATUS,
		     VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		     VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

void virtio_ack(struct virtio_dev *d)
{
	uint32_t isr = virtio_read(d, VIRTIO_MMIO_INTERRUPT_STATUS);

	if (isr)
		virtio_write(d, VIRTIO_MMIO_INTERRUPT_ACK, isr);
}

uint32_t virtio_config32(const struct virtio_dev *d, uint32_t off)
{
	return virtio_read(d, VIRTIO_MMIO_CONFIG + off);
}

/* Two reads; retried while the config generation moves under us. */
uint64_t virtio_config64(const struct virtio_dev *d, uint32_t off)
{
	uint64_t val = 0;
	uint32_t gen;
	int tries;

	for (tries = 0; tries < CONFIG_RETRIES; tries++) {
		gen = virtio_read(d, VIRTIO_MMIO_CONFIG_GENERATION);
		val = virtio_config32(d, off) |
		      (uint64_t)virtio_config32(d, off + 4) << 32;
		if (gen == virtio_read(d, VIRTIO_MMIO_CONFIG_GENERATION))
			break;
	}
	return val;
}
