/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_SNAPSHOT_H
#define PETREL_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The state file: a header (magic, format version major.minor), then
 * sections {id, instance, version, length, bytes} in any order, then an end
 * marker holding a CRC64 (ECMA-182, as xz) of every byte before it. All
 * integers are little-endian. A major version change means an older petrel
 * cannot read the file; a minor one only adds sections, which an older
 * petrel skips. Each section's own version is its owner's business.
 */
#define SNAP_MAGIC		"PETRELSNAPSHOT\r\n"	/* 16 bytes, no NUL */
#define SNAP_MAGIC_LEN		16
#define SNAP_VERSION_MAJOR	1
#define SNAP_VERSION_MINOR	0

/* Bounds a reader enforces before it allocates anything. */
#define SNAP_SECTION_MAX	(4u << 20)
#define SNAP_MAX_SECTIONS	256
#define SNAP_TOTAL_MAX		(32u << 20)

enum snap_section_id {
	SNAP_SEC_END = 0,	/* the end marker: an 8-byte CRC64 */
	SNAP_SEC_CONFIG = 1,	/* the VM's configuration as --config-file JSON */
	SNAP_SEC_MEMORY = 2,	/* guest RAM's layout (the memory file's) */
	SNAP_SEC_VM = 3,	/* irqchip, PIT, KVM clock */
	SNAP_SEC_VCPU = 4,	/* instance: vCPU index */
	SNAP_SEC_SERIAL = 5,
	SNAP_SEC_I8042 = 6,
	SNAP_SEC_VIRTIO = 7,	/* instance: MMIO slot */
	SNAP_SEC_NR,
};

/* "vcpu", "virtio"...: for messages ("truncated in section vcpu[1]"). */
const char *snap_section_name(unsigned int id);

/* ---- serialization helpers ---- */

/* A growable buffer; a failed allocation is remembered and reported once, by snap_buf_error(). */
struct snap_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool oom;
};

void snap_buf_init(struct snap_buf *b);
void snap_buf_free(struct snap_buf *b);
void snap_put_bytes(struct snap_buf *b, const void *p, size_t n);
void snap_put_u8(struct snap_buf *b, uint8_t v);
void snap_put_u16(struct snap_buf *b, uint16_t v);
void snap_put_u32(struct snap_buf *b, uint32_t v);
void snap_put_u64(struct snap_buf *b, uint64_t v);
/* -ENOMEM if any put failed, else 0. */
int snap_buf_error(const struct snap_buf *b);

/*
 * A bounded reader over a section's bytes: a get past the end returns
 * zeros and marks the cursor short, so a parser reads every field and
 * checks once with snap_cursor_end() before it applies anything.
 */
struct snap_cursor {
	const uint8_t *data;
	size_t len;
	size_t off;
	bool short_read;
};

void snap_cursor_init(struct snap_cursor *c, const void *data, size_t len);
void snap_get_bytes(struct snap_cursor *c, void *dst, size_t n);
uint8_t snap_get_u8(struct snap_cursor *c);
uint16_t snap_get_u16(struct snap_cursor *c);
uint32_t snap_get_u32(struct snap_cursor *c);
uint64_t snap_get_u64(struct snap_cursor *c);
/* Bytes left, for count checks before a loop ("n entries of 16 bytes fit?"). */
size_t snap_cursor_left(const struct snap_cursor *c);
/* 0 when every get was in bounds and nothing is left over; -EINVAL otherwise. */
int snap_cursor_end(const struct snap_cursor *c);

/* ---- writing: sections go out to the fd as they are produced ---- */

struct snap_writer {
	int fd;			/* -1: into sink */
	struct snap_buf *sink;
	const char *path;	/* for messages */
	uint64_t crc;
	uint64_t bytes;
	char *err;
	size_t errlen;
};

int snap_writer_begin(struct snap_writer *w, int fd, const char *path, char *err,
		      size_t errlen);
/* The same into a buffer (the whole file, for one write once every part has answered). */
int snap_writer_begin_buf(struct snap_writer *w, struct snap_buf *sink, const char *path,
			  char *err, size_t errlen);
int snap_writer_section(struct snap_writer *w, unsigned int id, unsigned int instance,
			unsigned int version, const void *data, size_t len);
/* The end marker with the CRC; the caller fsyncs and closes. */
int snap_writer_end(struct snap_writer *w);

/* ---- reading: every length and count checked, the CRC before anything is used ---- */

struct snap_section {
	uint16_t id;
	uint16_t instance;
	uint16_t version;
	uint32_t len;
	uint8_t *data;
};

struct snap_state {
	uint16_t major;
	uint16_t minor;
	struct snap_section *sections;
	unsigned int nr;
};

/*
 * Read a whole state file from fd (a pipe or socket too: it is read once,
 * in order) or from a buffer. -EINVAL (-errno for I/O) with err saying what
 * is wrong, starting "snapshot PATH: ". Sections of ids this petrel does not
 * know are skipped (a newer minor version's).
 */
int snap_state_read(int fd, const char *path, struct snap_state *st, char *err, size_t errlen);
int snap_state_parse(const void *data, size_t len, const char *path, struct snap_state *st,
		     char *err, size_t errlen);
void snap_state_free(struct snap_state *st);
/* The section id[instance], or NULL. */
const struct snap_section *snap_state_find(const struct snap_state *st, unsigned int id,
					   unsigned int instance);

#endif
