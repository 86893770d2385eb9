// SPDX-License-Identifier: Apache-2.0
/*
 * The state file's framing: header, sections, end marker with a CRC64.
 * Written as the sections are produced (a socket will do); read back with
 * every length bounded before anything is allocated, and nothing handed to
 * its owner until the CRC over the whole file has matched.
 */
#include <errno.h>
#include <lzma.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <petrel/snapshot.h>
#include <petrel/util.h>

#define HEADER_LEN	(SNAP_MAGIC_LEN + 8)	/* magic, major, minor, flags */
#define SECTION_HEAD	12			/* id, instance, version, reserved, length */

static const char *const section_names[SNAP_SEC_NR] = {
	[SNAP_SEC_END] = "end", [SNAP_SEC_CONFIG] = "config", [SNAP_SEC_MEMORY] = "memory",
	[SNAP_SEC_VM] = "vm", [SNAP_SEC_VCPU] = "vcpu", [SNAP_SEC_SERIAL] = "serial",
	[SNAP_SEC_I8042] = "i8042", [SNAP_SEC_VIRTIO] = "virtio",
};

const char *snap_section_name(unsigned int id)
{
	return id < SNAP_SEC_NR ? section_names[id] : "unknown";
}

/* ---- serialization helpers ---- */

void snap_buf_init(struct snap_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void snap_buf_free(struct snap_buf *b)
{
	free(b->data);
	snap_buf_init(b);
}

void snap_put_bytes(struct snap_buf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = MAX(b->cap * 2, b->len + n + 256);
		uint8_t *d = realloc(b->data, cap);

		if (!d) {
			b->oom = true;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	if (n)		/* p may be NULL then (an empty part) */
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void put_le(struct snap_buf *b, uint64_t v, unsigned int n)
{
	uint8_t le[8];

	for (unsigned int i = 0; i < n; i++)
		le[i] = v >> (8 * i);
	snap_put_bytes(b, le, n);
}

void snap_put_u8(struct snap_buf *b, uint8_t v) { put_le(b, v, 1); }
void snap_put_u16(struct snap_buf *b, uint16_t v) { put_le(b, v, 2); }
void snap_put_u32(struct snap_buf *b, uint32_t v) { put_le(b, v, 4); }
void snap_put_u64(struct snap_buf *b, uint64_t v) { put_le(b, v, 8); }

int snap_buf_error(const struct snap_buf *b)
{
	return b->oom ? -ENOMEM : 0;
}

void snap_cursor_init(struct snap_cursor *c, const void *data, size_t len)
{
	*c = (struct snap_cursor){ .data = data, .len = len };
}

void snap_get_bytes(struct snap_cursor *c, void *dst, size_t n)
{
	if (c->short_read || n > c->len - c->off) {
		c->short_read = true;
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, c->data + c->off, n);
	c->off += n;
}

static uint64_t get_le(struct snap_cursor *c, unsigned int n)
{
	uint8_t le[8];
	uint64_t v = 0;

	snap_get_bytes(c, le, n);
	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)le[i] << (8 * i);
	return v;
}

uint8_t snap_get_u8(struct snap_cursor *c) { return get_le(c, 1); }
uint16_t snap_get_u16(struct snap_cursor *c) { return get_le(c, 2); }
uint32_t snap_get_u32(struct snap_cursor *c) { return get_le(c, 4); }
uint64_t snap_get_u64(struct snap_cursor *c) { return get_le(c, 8); }

size_t snap_cursor_left(const struct snap_cursor *c)
{
	return c->short_read ? 0 : c->len - c->off;
}

int snap_cursor_end(const struct snap_cursor *c)
{
	return c->short_read || c->off != c->len ? -EINVAL : 0;
}

/* ---- writing ---- */

static int werr(struct snap_writer *w, int ret)
{
	snprintf(w->err, w->errlen, "snapshot %s: cannot write: %s", w->path, strerror(-ret));
	return ret;
}

static int sink(struct snap_writer *w, const void *data, size_t len)
{
	if (w->fd >= 0)
		return util_write_all(w->fd, data, len);
	snap_put_bytes(w->sink, data, len);
	return snap_buf_error(w->sink);
}

static int emit(struct snap_writer *w, const void *data, size_t len)
{
	int ret = sink(w, data, len);

	if (ret)
		return werr(w, ret);
	w->crc = lzma_crc64(data, len, w->crc);
	w->bytes += len;
	return 0;
}

static int emit_head(struct snap_writer *w, unsigned int id, unsigned int instance,
		     unsigned int version, uint32_t len)
{
	struct snap_buf b;
	int ret;

	snap_buf_init(&b);
	snap_put_u16(&b, id);
	snap_put_u16(&b, instance);
	snap_put_u16(&b, version);
	snap_put_u16(&b, 0);
	snap_put_u32(&b, len);
	ret = snap_buf_error(&b) ?: emit(w, b.data, b.len);
	snap_buf_free(&b);
	return ret;
}

static int write_header(struct snap_writer *w)
{
	struct snap_buf b;
	int ret;

	snap_buf_init(&b);
	snap_put_bytes(&b, SNAP_MAGIC, SNAP_MAGIC_LEN);
	snap_put_u16(&b, SNAP_VERSION_MAJOR);
	snap_put_u16(&b, SNAP_VERSION_MINOR);
	snap_put_u32(&b, 0);	/* flags: none defined */
	ret = snap_buf_error(&b) ?: emit(w, b.data, b.len);
	snap_buf_free(&b);
	return ret;
}

int snap_writer_begin(struct snap_writer *w, int fd, const char *path, char *err,
		      size_t errlen)
{
	*w = (struct snap_writer){ .fd = fd, .path = path, .err = err, .errlen = errlen };
	return write_header(w);
}

int snap_writer_begin_buf(struct snap_writer *w, struct snap_buf *buf, const char *path,
			  char *err, size_t errlen)
{
	*w = (struct snap_writer){ .fd = -1, .sink = buf, .path = path, .err = err,
				   .errlen = errlen };
	return write_header(w);
}

int snap_writer_section(struct snap_writer *w, unsigned int id, unsigned int instance,
			unsigned int version, const void *data, size_t len)
{
	int ret;

	if (id == SNAP_SEC_END || id > UINT16_MAX || instance > UINT16_MAX ||
	    version > UINT16_MAX || len > SNAP_SECTION_MAX) {
		snprintf(w->err, w->errlen, "snapshot %s: section %s[%u] of %zu bytes cannot be "
			 "written", w->path, snap_section_name(id), instance, len);
		return -EINVAL;
	}
	ret = emit_head(w, id, instance, version, len);
	return ret ?: emit(w, data, len);
}

int snap_writer_end(struct snap_writer *w)
{
	uint8_t le[8];
	uint64_t crc;
	int ret = emit_head(w, SNAP_SEC_END, 0, 0, sizeof(le));

	if (ret)
		return ret;
	crc = w->crc;
	for (unsigned int i = 0; i < 8; i++)
		le[i] = crc >> (8 * i);
	ret = sink(w, le, sizeof(le));
	return ret ? werr(w, ret) : 0;
}

/* ---- reading ---- */

struct source {
	int fd;			/* -1: from mem */
	const uint8_t *mem;
	size_t mem_len;
	size_t pos;
	uint64_t crc;
	const char *path;
	char *err;
	size_t errlen;
};

static int fail(struct source *s, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct source *s, int ret, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(s->err, s->errlen, "snapshot %s: %s", s->path, msg);
	return ret;
}

/* 1: all n bytes; 0: the file ended first; -errno. */
static int take(struct source *s, void *dst, size_t n)
{
	size_t got = 0;
	ssize_t r;

	if (s->fd < 0) {
		if (n > s->mem_len - s->pos)
			return 0;
		memcpy(dst, s->mem + s->pos, n);
		got = n;
	}
	while (got < n) {
		r = read(s->fd, (uint8_t *)dst + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail(s, -errno, "cannot read: %s", strerror(errno));
		if (r == 0)
			return 0;
		got += r;
	}
	s->pos += n;
	s->crc = lzma_crc64(dst, n, s->crc);
	return 1;
}

static int read_header(struct source *s, struct snap_state *st)
{
	uint8_t h[HEADER_LEN];
	struct snap_cursor c;
	int ret = take(s, h, sizeof(h));

	if (ret < 0)
		return ret;
	if (!ret || memcmp(h, SNAP_MAGIC, SNAP_MAGIC_LEN))
		return fail(s, -EINVAL, "not a petrel snapshot");
	snap_cursor_init(&c, h + SNAP_MAGIC_LEN, sizeof(h) - SNAP_MAGIC_LEN);
	st->major = snap_get_u16(&c);
	st->minor = snap_get_u16(&c);
	if (st->major != SNAP_VERSION_MAJOR)
		return fail(s, -EINVAL, "version %u.%u, this petrel reads %u.x", st->major,
			    st->minor, SNAP_VERSION_MAJOR);
	if (snap_get_u32(&c))
		return fail(s, -EINVAL, "unknown flags in the header");
	return 0;
}

static int check_end(struct source *s, const struct snap_section *h)
{
	uint64_t want = s->crc, crc;
	uint8_t le[8];
	int ret;

	if (h->len != sizeof(le) || h->instance || h->version)
		return fail(s, -EINVAL, "malformed end marker");
	ret = take(s, le, sizeof(le));
	if (ret <= 0)
		return ret ?: fail(s, -EINVAL, "truncated in the end marker");
	crc = 0;
	for (unsigned int i = 0; i < 8; i++)
		crc |= (uint64_t)le[i] << (8 * i);
	if (crc != want)
		return fail(s, -EINVAL, "CRC mismatch (the file is corrupt)");
	if (s->fd < 0 && s->pos != s->mem_len)
		return fail(s, -EINVAL, "%zu bytes after the end marker", s->mem_len - s->pos);
	return 0;
}

static int read_head(struct source *s, struct snap_section *h)
{
	uint8_t raw[SECTION_HEAD];
	struct snap_cursor c;
	int ret = take(s, raw, sizeof(raw));

	if (ret <= 0)
		return ret ?: fail(s, -EINVAL, "truncated: no end marker");
	snap_cursor_init(&c, raw, sizeof(raw));
	h->id = snap_get_u16(&c);
	h->instance = snap_get_u16(&c);
	h->version = snap_get_u16(&c);
	if (snap_get_u16(&c))
		return fail(s, -EINVAL, "section %s[%u]: reserved field set",
			    snap_section_name(h->id), h->instance);
	h->len = snap_get_u32(&c);
	return 0;
}

static int check_new(struct source *s, const struct snap_state *st, const struct snap_section *h,
		     size_t total)
{
	const char *name = snap_section_name(h->id);

	if (h->len > SNAP_SECTION_MAX || total + h->len > SNAP_TOTAL_MAX)
		return fail(s, -EINVAL, "section %s[%u]: length %u is beyond petrel's limit", name,
			    h->instance, h->len);
	if (st->nr == SNAP_MAX_SECTIONS)
		return fail(s, -EINVAL, "more than %d sections", SNAP_MAX_SECTIONS);
	if (snap_state_find(st, h->id, h->instance))
		return fail(s, -EINVAL, "section %s[%u] appears twice", name, h->instance);
	return 0;
}

static int read_body(struct source *s, struct snap_state *st, struct snap_section *h)
{
	int ret;

	h->data = malloc(h->len ?: 1);
	if (!h->data)
		return fail(s, -ENOMEM, "out of memory");
	ret = take(s, h->data, h->len);
	if (ret <= 0) {
		free(h->data);
		return ret ?: fail(s, -EINVAL, "truncated in section %s[%u]",
				   snap_section_name(h->id), h->instance);
	}
	if (h->id >= SNAP_SEC_NR) {
		free(h->data);		/* a newer minor version's: skipped */
		return 0;
	}
	st->sections[st->nr++] = *h;
	return 0;
}

static int read_all(struct source *s, struct snap_state *st)
{
	struct snap_section h;
	size_t total = 0;
	int ret;

	memset(st, 0, sizeof(*st));
	st->sections = calloc(SNAP_MAX_SECTIONS, sizeof(*st->sections));
	if (!st->sections)
		return fail(s, -ENOMEM, "out of memory");
	ret = read_header(s, st);
	while (!ret) {
		ret = read_head(s, &h);
		if (ret)
			break;
		if (h.id == SNAP_SEC_END)
			return check_end(s, &h);
		ret = check_new(s, st, &h, total) ?: read_body(s, st, &h);
		total += h.len;
	}
	return ret;
}

static int read_source(struct source *s, struct snap_state *st)
{
	int ret = read_all(s, st);

	if (ret)
		snap_state_free(st);
	return ret;
}

int snap_state_read(int fd, const char *path, struct snap_state *st, char *err, size_t errlen)
{
	struct source s = { .fd = fd, .path = path, .err = err, .errlen = errlen };

	return read_source(&s, st);
}

int snap_state_parse(const void *data, size_t len, const char *path, struct snap_state *st,
		     char *err, size_t errlen)
{
	struct source s = { .fd = -1, .mem = data, .mem_len = len, .path = path, .err = err,
			    .errlen = errlen };

	return read_source(&s, st);
}

void snap_state_free(struct snap_state *st)
{
	for (unsigned int i = 0; i < st->nr; i++)
		free(st->sections[i].data);
	free(st->sections);
	memset(st, 0, sizeof(*st));
}

const struct snap_section *snap_state_find(const struct snap_state *st, unsigned int id,
					   unsigned int instance)
{
	for (unsigned int i = 0; i < st->nr; i++) {
		if (st->sections[i].id == id && st->sections[i].instance == instance)
			return &st->sections[i];
	}
	return NULL;
}
