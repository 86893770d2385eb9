// SPDX-License-Identifier: Apache-2.0
/*
 * A small AML encoder (ACPI 6.5, chapter 20): just what the DSDT of a
 * microVM needs. Package lengths are unknown until a scope closes, so
 * aml_end() inserts the smallest PkgLength encoding at the scope's start.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <petrel/aml.h>
#include <petrel/util.h>

#define ZERO_OP		0x00
#define ONE_OP		0x01
#define NAME_OP		0x08
#define BYTE_PREFIX	0x0a
#define WORD_PREFIX	0x0b
#define DWORD_PREFIX	0x0c
#define STRING_PREFIX	0x0d
#define QWORD_PREFIX	0x0e
#define SCOPE_OP	0x10
#define METHOD_OP	0x14
#define BUFFER_OP	0x11
#define PACKAGE_OP	0x12
#define DUAL_NAME_PREFIX 0x2e
#define MULTI_NAME_PREFIX 0x2f
#define EXT_OP_PREFIX	0x5b
#define DEVICE_OP	0x82	/* after EXT_OP_PREFIX */
#define ARG0_OP		0x68
#define NOTIFY_OP	0x86
#define LEQUAL_OP	0x93
#define IF_OP		0xa0
#define RETURN_OP	0xa4
#define METHOD_MAX_ARGS	7
#define ROOT_CHAR	'\\'
#define PARENT_CHAR	'^'

/* Resource descriptors (ACPI 6.5, 6.4). */
#define RES_IO		0x47	/* small item 0x08, length 7 */
#define RES_END_TAG	0x79	/* small item 0x0f, length 1 */
#define RES_MEMORY32_FIXED 0x86
#define RES_EXT_IRQ	0x89
#define RES_IO_DECODE16	0x01
#define IRQ_CONSUMER	(1 << 0)
#define IRQ_EDGE	(1 << 1)
#define IRQ_ACTIVE_LOW	(1 << 2)
#define IRQ_SHARED	(1 << 3)

#define PKGLEN_MAX	((1u << 28) - 1)
#define NAME_MAX_SEGS	8
#define NAME_MAX_PREFIX	8
#define NAME_MAX_BYTES	(NAME_MAX_PREFIX + 2 + NAME_MAX_SEGS * 4)

static void fail(struct aml *a, int err)
{
	if (!a->error)
		a->error = err;
}

static bool grow(struct aml *a, size_t n)
{
	size_t cap = a->cap ? a->cap : 256;
	uint8_t *buf;

	if (a->len + n <= a->cap)
		return true;
	while (cap < a->len + n)
		cap *= 2;
	buf = realloc(a->buf, cap);
	if (!buf) {
		fail(a, -ENOMEM);
		return false;
	}
	a->buf = buf;
	a->cap = cap;
	return true;
}

/* Put n bytes at offset at, moving what follows. */
static void insert(struct aml *a, size_t at, const void *p, size_t n)
{
	if (a->error || !grow(a, n))
		return;
	memmove(a->buf + at + n, a->buf + at, a->len - at);
	memcpy(a->buf + at, p, n);
	a->len += n;
}

static void emit(struct aml *a, const void *p, size_t n)
{
	insert(a, a->len, p, n);
}

static void emit_byte(struct aml *a, uint8_t b)
{
	emit(a, &b, 1);
}

static void emit_le(struct aml *a, uint64_t v, unsigned int n)
{
	uint8_t b[8];
	unsigned int i;

	for (i = 0; i < n; i++)
		b[i] = v >> (8 * i);
	emit(a, b, n);
}

/* The PkgLength for len bytes that follow it; it counts its own bytes too. */
static size_t encode_pkglen(size_t len, uint8_t out[4])
{
	size_t n, total = 0, i;

	if (len + 1 <= 0x3f) {
		out[0] = len + 1;
		return 1;
	}
	for (n = 2; n <= 4; n++) {
		total = len + n;
		if (total < (1u << (4 + 8 * (n - 1))))
			break;
	}
	if (n > 4 || total > PKGLEN_MAX)
		return 0;
	out[0] = ((n - 1) << 6) | (total & 0x0f);
	for (i = 1; i < n; i++)
		out[i] = total >> (4 + 8 * (i - 1));
	return n;
}

static size_t encode_integer(uint64_t v, uint8_t out[9])
{
	unsigned int n, i;

	if (v <= 1) {
		out[0] = v ? ONE_OP : ZERO_OP;
		return 1;
	}
	if (v <= UINT8_MAX) {
		out[0] = BYTE_PREFIX;
		n = 1;
	} else if (v <= UINT16_MAX) {
		out[0] = WORD_PREFIX;
		n = 2;
	} else if (v <= UINT32_MAX) {
		out[0] = DWORD_PREFIX;
		n = 4;
	} else {
		out[0] = QWORD_PREFIX;
		n = 8;
	}
	for (i = 0; i < n; i++)
		out[1 + i] = v >> (8 * i);
	return n + 1;
}

static bool lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
	return lead_char(c) || (c >= '0' && c <= '9');
}

/* One NameSeg of 1-4 characters, padded with '_'. */
static int encode_seg(const char *s, size_t n, uint8_t out[4])
{
	size_t i;

	if (n == 0 || n > 4 || !lead_char(s[0]))
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		if (i < n && !name_char(s[i]))
			return -EINVAL;
		out[i] = i < n ? s[i] : '_';
	}
	return 0;
}

static int encode_segs(const char *path, uint8_t *segs, size_t *nr)
{
	const char *dot;
	size_t n;

	for (*nr = 0; ; path = dot + 1) {
		dot = strchr(path, '.');
		n = dot ? (size_t)(dot - path) : strlen(path);
		if (*nr == NAME_MAX_SEGS || encode_seg(path, n, segs + 4 * *nr))
			return -EINVAL;
		(*nr)++;
		if (!dot)
			return 0;
	}
}

/* NameString: "\\_SB_.COM1", "^FOO", "_HID", or "\\" alone. */
static size_t encode_name(const char *path, uint8_t out[NAME_MAX_BYTES])
{
	uint8_t segs[NAME_MAX_SEGS * 4];
	size_t n = 0, nr;

	if (!path)
		return 0;
	if (*path == ROOT_CHAR)
		out[n++] = *path++;
	else
		while (*path == PARENT_CHAR && n < NAME_MAX_PREFIX)
			out[n++] = *path++;
	if (*path == '\0') {
		out[n++] = ZERO_OP;	/* NullName */
		return n > 1 ? n : 0;
	}
	if (encode_segs(path, segs, &nr))
		return 0;
	if (nr == 2)
		out[n++] = DUAL_NAME_PREFIX;
	if (nr > 2) {
		out[n++] = MULTI_NAME_PREFIX;
		out[n++] = nr;
	}
	memcpy(out + n, segs, 4 * nr);
	return n + 4 * nr;
}

static void emit_name(struct aml *a, const char *name)
{
	uint8_t b[NAME_MAX_BYTES];
	size_t n = encode_name(name, b);

	if (!n)
		fail(a, -EINVAL);
	emit(a, b, n);
}

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	aml_init(a);
}

/* Open a scope: its PkgLength goes where the following bytes start. */
static void open_scope(struct aml *a)
{
	if (a->error)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		fail(a, -EINVAL);
		return;
	}
	a->open[a->depth++] = a->len;
}

/* The opcode just before a scope's start tells what kind of scope it is. */
static uint8_t scope_op(const struct aml *a, unsigned int level)
{
	return a->buf[a->open[level] - 1];
}

static bool in_resources(struct aml *a)
{
	if (a->error)
		return false;
	if (!a->depth || scope_op(a, a->depth - 1) != BUFFER_OP) {
		fail(a, -EINVAL);
		return false;
	}
	return true;
}

void aml_scope_begin(struct aml *a, const char *name)
{
	emit_byte(a, SCOPE_OP);
	open_scope(a);
	emit_name(a, name);
}

void aml_device_begin(struct aml *a, const char *name)
{
	static const uint8_t op[] = { EXT_OP_PREFIX, DEVICE_OP };

	emit(a, op, sizeof(op));
	open_scope(a);
	emit_name(a, name);
}

void aml_package_begin(struct aml *a, uint8_t nr_elements)
{
	emit_byte(a, PACKAGE_OP);
	open_scope(a);
	emit_byte(a, nr_elements);
}

void aml_resources_begin(struct aml *a)
{
	emit_byte(a, BUFFER_OP);
	open_scope(a);
}

void aml_method_begin(struct aml *a, const char *name, uint8_t nr_args)
{
	if (nr_args > METHOD_MAX_ARGS)
		fail(a, -EINVAL);
	emit_byte(a, METHOD_OP);
	open_scope(a);
	emit_name(a, name);
	emit_byte(a, nr_args);		/* MethodFlags: NotSerialized, SyncLevel 0 */
}

void aml_if_begin(struct aml *a)
{
	emit_byte(a, IF_OP);
	open_scope(a);
}

/* A ResourceTemplate ends with an EndTag; the Buffer's size comes first. */
static void close_resources(struct aml *a, size_t at)
{
	static const uint8_t end_tag[] = { RES_END_TAG, 0 };	/* 0: no checksum */
	uint8_t size[9] = { 0 };

	emit(a, end_tag, sizeof(end_tag));
	insert(a, at, size, encode_integer(a->len - at, size));
}

void aml_end(struct aml *a)
{
	uint8_t pkglen[4];
	size_t at, n;

	if (a->error)
		return;
	if (!a->depth) {
		fail(a, -EINVAL);
		return;
	}
	at = a->open[--a->depth];
	if (scope_op(a, a->depth) == BUFFER_OP)
		close_resources(a, at);
	n = encode_pkglen(a->len - at, pkglen);
	if (!n)
		fail(a, -EINVAL);
	insert(a, at, pkglen, n);
}

void aml_name(struct aml *a, const char *name)
{
	emit_byte(a, NAME_OP);
	emit_name(a, name);
}

void aml_integer(struct aml *a, uint64_t v)
{
	uint8_t b[9] = { 0 };

	emit(a, b, encode_integer(v, b));
}

void aml_string(struct aml *a, const char *s)
{
	size_t i;

	for (i = 0; s && s[i]; i++)
		if ((unsigned char)s[i] > 0x7f)
			break;
	if (!s || s[i]) {
		fail(a, -EINVAL);
		return;
	}
	emit_byte(a, STRING_PREFIX);
	emit(a, s, i + 1);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* EISA id "PNP0501": three letters of 5 bits, then four hex digits, big-endian. */
static int eisaid(const char *id, uint32_t *out)
{
	uint32_t v = 0;
	int i, d;

	if (!id || strlen(id) != 7)
		return -EINVAL;
	for (i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return -EINVAL;
		v = v << 5 | (id[i] - 0x40);
	}
	for (i = 3; i < 7; i++) {
		d = hex_digit(id[i]);
		if (d < 0)
			return -EINVAL;
		v = v << 4 | d;
	}
	*out = __builtin_bswap32(v);	/* bit 31, reserved, stays 0 */
	return 0;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v;

	if (eisaid(id, &v)) {
		fail(a, -EINVAL);
		return;
	}
	emit_byte(a, DWORD_PREFIX);	/* always a DWord, as ASL's EISAID() */
	emit_le(a, v, 4);
}

void aml_name_integer(struct aml *a, const char *name, uint64_t v)
{
	aml_name(a, name);
	aml_integer(a, v);
}

void aml_name_string(struct aml *a, const char *name, const char *s)
{
	aml_name(a, name);
	aml_string(a, s);
}

/* IO(Decode16, base, base, 1, len): a fixed range of ports. */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
	if (!in_resources(a))
		return;
	emit_byte(a, RES_IO);
	emit_byte(a, RES_IO_DECODE16);
	emit_le(a, base, 2);
	emit_le(a, base, 2);
	emit_byte(a, 1);
	emit_byte(a, len);
}

void aml_res_memory32_fixed(struct aml *a, uint32_t base, uint32_t len, int writable)
{
	if (!in_resources(a))
		return;
	emit_byte(a, RES_MEMORY32_FIXED);
	emit_le(a, 9, 2);
	emit_byte(a, writable ? 1 : 0);
	emit_le(a, base, 4);
	emit_le(a, len, 4);
}

/* Interrupt(ResourceConsumer, ...) {gsi}: the extended descriptor, one GSI. */
void aml_res_irq(struct aml *a, uint32_t gsi, int level, int active_low, int shared)
{
	uint8_t flags = IRQ_CONSUMER;

	if (!in_resources(a))
		return;
	if (!level)
		flags |= IRQ_EDGE;
	if (active_low)
		flags |= IRQ_ACTIVE_LOW;
	if (shared)
		flags |= IRQ_SHARED;
	emit_byte(a, RES_EXT_IRQ);
	emit_le(a, 6, 2);
	emit_byte(a, flags);
	emit_byte(a, 1);
	emit_le(a, gsi, 4);
}

void aml_path(struct aml *a, const char *name)
{
	emit_name(a, name);
}

void aml_arg(struct aml *a, unsigned int n)
{
	if (n >= METHOD_MAX_ARGS) {
		fail(a, -EINVAL);
		return;
	}
	emit_byte(a, ARG0_OP + n);
}

void aml_return(struct aml *a)
{
	emit_byte(a, RETURN_OP);
}

void aml_lequal(struct aml *a)
{
	emit_byte(a, LEQUAL_OP);
}

void aml_notify(struct aml *a, const char *target, uint64_t value)
{
	emit_byte(a, NOTIFY_OP);
	emit_name(a, target);
	aml_integer(a, value);
}
