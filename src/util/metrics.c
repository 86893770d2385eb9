// SPDX-License-Identifier: Apache-2.0
/* Metrics: fixed counters and device sources, flushed as one JSON line. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <petrel/log.h>
#include <petrel/metrics.h>
#include <petrel/timeline.h>
#include <petrel/util.h>

struct metric_def {
	const char *group;
	const char *name;
	bool gauge;
};

#define C(g, n) { g, n, false }
#define G(g, n) { g, n, true }
static const struct metric_def defs[M_NR_METRICS] = {
	[M_API_PROCESS_STARTUP_TIME_US]	= G("api_server", "process_startup_time_us"),
	[M_API_PROCESS_STARTUP_TIME_CPU_US] = G("api_server", "process_startup_time_cpu_us"),
	[M_GET_INSTANCE_INFO_COUNT]	= C("get_api_requests", "instance_info_count"),
	[M_GET_MACHINE_CFG_COUNT]	= C("get_api_requests", "machine_cfg_count"),
	[M_GET_MMDS_COUNT]		= C("get_api_requests", "mmds_count"),
	[M_GET_VMM_VERSION_COUNT]	= C("get_api_requests", "vmm_version_count"),
	[M_GET_METRICS_COUNT]		= C("get_api_requests", "metrics_count"),
	[M_PUT_ACTIONS_COUNT]		= C("put_api_requests", "actions_count"),
	[M_PUT_ACTIONS_FAILS]		= C("put_api_requests", "actions_fails"),
	[M_PUT_BOOT_SOURCE_COUNT]	= C("put_api_requests", "boot_source_count"),
	[M_PUT_BOOT_SOURCE_FAILS]	= C("put_api_requests", "boot_source_fails"),
	[M_PUT_DRIVE_COUNT]		= C("put_api_requests", "drive_count"),
	[M_PUT_DRIVE_FAILS]		= C("put_api_requests", "drive_fails"),
	[M_PUT_LOGGER_COUNT]		= C("put_api_requests", "logger_count"),
	[M_PUT_LOGGER_FAILS]		= C("put_api_requests", "logger_fails"),
	[M_PUT_MACHINE_CFG_COUNT]	= C("put_api_requests", "machine_cfg_count"),
	[M_PUT_MACHINE_CFG_FAILS]	= C("put_api_requests", "machine_cfg_fails"),
	[M_PUT_CPU_CFG_COUNT]		= C("put_api_requests", "cpu_cfg_count"),
	[M_PUT_CPU_CFG_FAILS]		= C("put_api_requests", "cpu_cfg_fails"),
	[M_PUT_METRICS_COUNT]		= C("put_api_requests", "metrics_count"),
	[M_PUT_METRICS_FAILS]		= C("put_api_requests", "metrics_fails"),
	[M_PUT_NETWORK_COUNT]		= C("put_api_requests", "network_count"),
	[M_PUT_NETWORK_FAILS]		= C("put_api_requests", "network_fails"),
	[M_PUT_MMDS_COUNT]		= C("put_api_requests", "mmds_count"),
	[M_PUT_MMDS_FAILS]		= C("put_api_requests", "mmds_fails"),
	[M_PUT_VSOCK_COUNT]		= C("put_api_requests", "vsock_count"),
	[M_PUT_VSOCK_FAILS]		= C("put_api_requests", "vsock_fails"),
	[M_PUT_SNAPSHOT_COUNT]		= C("put_api_requests", "snapshot_count"),
	[M_PUT_SNAPSHOT_FAILS]		= C("put_api_requests", "snapshot_fails"),
	[M_PATCH_DRIVE_COUNT]		= C("patch_api_requests", "drive_count"),
	[M_PATCH_DRIVE_FAILS]		= C("patch_api_requests", "drive_fails"),
	[M_PATCH_NETWORK_COUNT]		= C("patch_api_requests", "network_count"),
	[M_PATCH_NETWORK_FAILS]		= C("patch_api_requests", "network_fails"),
	[M_PATCH_MACHINE_CFG_COUNT]	= C("patch_api_requests", "machine_cfg_count"),
	[M_PATCH_MACHINE_CFG_FAILS]	= C("patch_api_requests", "machine_cfg_fails"),
	[M_PATCH_MMDS_COUNT]		= C("patch_api_requests", "mmds_count"),
	[M_PATCH_MMDS_FAILS]		= C("patch_api_requests", "mmds_fails"),
	[M_PATCH_VM_COUNT]		= C("patch_api_requests", "vm_count"),
	[M_PATCH_VM_FAILS]		= C("patch_api_requests", "vm_fails"),
	[M_LAT_FULL_CREATE_SNAPSHOT]	= G("latencies_us", "full_create_snapshot"),
	[M_LAT_DIFF_CREATE_SNAPSHOT]	= G("latencies_us", "diff_create_snapshot"),
	[M_LAT_LOAD_SNAPSHOT]		= G("latencies_us", "load_snapshot"),
	[M_LAT_PAUSE_VM]		= G("latencies_us", "pause_vm"),
	[M_LAT_RESUME_VM]		= G("latencies_us", "resume_vm"),
	[M_LOGGER_MISSED_METRICS_COUNT]	= C("logger", "missed_metrics_count"),
	[M_LOGGER_METRICS_FAILS]	= C("logger", "metrics_fails"),
	[M_LOGGER_MISSED_LOG_COUNT]	= C("logger", "missed_log_count"),
	[M_SECCOMP_NUM_FAULTS]		= C("seccomp", "num_faults"),
	[M_SIGNALS_SIGBUS]		= C("signals", "sigbus"),
	[M_SIGNALS_SIGSEGV]		= C("signals", "sigsegv"),
	[M_SIGNALS_SIGXFSZ]		= C("signals", "sigxfsz"),
	[M_SIGNALS_SIGXCPU]		= C("signals", "sigxcpu"),
	[M_SIGNALS_SIGPIPE]		= C("signals", "sigpipe"),
	[M_SIGNALS_SIGHUP]		= C("signals", "sighup"),
	[M_SIGNALS_SIGILL]		= C("signals", "sigill"),
	[M_UART_MISSED_WRITE_COUNT]	= C("uart", "missed_write_count"),
	[M_UART_RATE_LIMITER_DROPPED_BYTES] = C("uart", "rate_limiter_dropped_bytes"),
	[M_VCPU_EXIT_IO_IN]		= C("vcpu", "exit_io_in"),
	[M_VCPU_EXIT_IO_OUT]		= C("vcpu", "exit_io_out"),
	[M_VCPU_EXIT_MMIO_READ]		= C("vcpu", "exit_mmio_read"),
	[M_VCPU_EXIT_MMIO_WRITE]	= C("vcpu", "exit_mmio_write"),
	[M_VCPU_FAILURES]		= C("vcpu", "failures"),
	[M_VMM_PANIC_COUNT]		= C("vmm", "panic_count"),
};
#undef C
#undef G

/* A device's counters; last[] and snap[] hold nr_fields values each. */
struct source {
	struct source *next;
	const struct metrics_schema *schema;
	const void *base;
	char group[96];		/* "<kind>_<id>" or "<kind>" */
	char id[65];		/* "" when none */
	uint64_t *last;		/* values in the last line written whole */
	uint64_t *snap;		/* values in the line being written */
};

static _Atomic uint64_t values[M_NR_METRICS];

/* Everything but values[] is under lock. */
static struct {
	pthread_mutex_t lock;
	uint64_t last[M_NR_METRICS];
	struct source *sources;		/* in the order added */
	int fd;
	bool is_fifo;
	int timer_fd;
	json_t *fields;			/* "id", "properties": on every line */
	char *fields_text;		/* the same, as text without the braces */
} mt = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1, .timer_fd = -1 };

void metrics_inc(enum metric m)
{
	metrics_add(m, 1);
}

void metrics_add(enum metric m, uint64_t v)
{
	if (m < M_NR_METRICS)
		atomic_fetch_add_explicit(&values[m], v, memory_order_relaxed);
}

void metrics_set(enum metric m, uint64_t v)
{
	if (m < M_NR_METRICS)
		atomic_store_explicit(&values[m], v, memory_order_relaxed);
}

uint64_t metrics_get(enum metric m)
{
	return m < M_NR_METRICS ? atomic_load_explicit(&values[m], memory_order_relaxed) : 0;
}

/* Device counters are plain uint64_t bumped by their owner thread. */
static uint64_t field_value(const struct source *s, unsigned int i)
{
	const uint64_t *p = (const void *)((const char *)s->base + s->schema->fields[i].offset);

	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* ---- device sources ---- */

static struct source *find_source(const void *base, struct source ***link)
{
	struct source **pp = &mt.sources;

	while (*pp && (*pp)->base != base)
		pp = &(*pp)->next;
	if (link)
		*link = pp;
	return *pp;
}

static struct source *new_source(const struct metrics_schema *schema, const char *id,
				 const void *base)
{
	struct source *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->last = calloc(2 * (size_t)schema->nr_fields + 1, sizeof(uint64_t));
	if (!s->last) {
		free(s);
		return NULL;
	}
	s->snap = s->last + schema->nr_fields;
	s->schema = schema;
	s->base = base;
	snprintf(s->id, sizeof(s->id), "%s", id ? id : "");
	if (id)
		snprintf(s->group, sizeof(s->group), "%s_%s", schema->kind, s->id);
	else
		snprintf(s->group, sizeof(s->group), "%s", schema->kind);
	/* Counted before registration belongs to no line: start deltas from here. */
	for (unsigned int i = 0; i < schema->nr_fields; i++)
		s->last[i] = field_value(s, i);
	return s;
}

int metrics_source_add(const struct metrics_schema *schema, const char *id, const void *base)
{
	struct source **tail, *s;
	int ret = 0;

	pthread_mutex_lock(&mt.lock);
	if (find_source(base, NULL)) {
		ret = -EEXIST;
		goto out;
	}
	s = new_source(schema, id, base);
	if (!s) {
		ret = -ENOMEM;
		goto out;
	}
	find_source(NULL, &tail);
	*tail = s;
out:
	pthread_mutex_unlock(&mt.lock);
	return ret;
}

void metrics_source_remove(const void *base)
{
	struct source **link, *s;

	pthread_mutex_lock(&mt.lock);
	s = find_source(base, &link);
	if (s) {
		*link = s->next;
		free(s->last);
		free(s);
	}
	pthread_mutex_unlock(&mt.lock);
}

/* ---- the JSON line ---- */

static json_t *group_object(json_t *root, const char *name)
{
	json_t *g = json_object_get(root, name);

	if (g)
		return g;
	g = json_object();
	if (g && json_object_set_new(root, name, g))
		return NULL;
	return g;
}

static int add_fixed(json_t *root, const uint64_t *snap)
{
	for (unsigned int i = 0; i < M_NR_METRICS; i++) {
		uint64_t v = defs[i].gauge ? snap[i] : snap[i] - mt.last[i];
		json_t *g = group_object(root, defs[i].group);

		if (!g || json_object_set_new(g, defs[i].name, json_integer(v)))
			return -ENOMEM;
	}
	return 0;
}

static int add_source(json_t *root, struct source *s)
{
	json_t *g = group_object(root, s->group);

	if (!g)
		return -ENOMEM;
	for (unsigned int i = 0; i < s->schema->nr_fields; i++) {
		s->snap[i] = field_value(s, i);
		if (json_object_set_new(g, s->schema->fields[i].name,
					json_integer(s->snap[i] - s->last[i])))
			return -ENOMEM;
	}
	return 0;
}

static uint64_t utc_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The line with its newline, malloc'd; snap[] gets the fixed values it reports. */
static char *build_line(uint64_t *snap, size_t *len)
{
	json_t *root = json_pack("{s:I}", "utc_timestamp_ms", (json_int_t)utc_ms());
	char *line = NULL, *nl;
	int ret = root ? 0 : -ENOMEM;

	if (!ret && mt.fields && json_object_update(root, mt.fields))
		ret = -ENOMEM;

	for (unsigned int i = 0; i < M_NR_METRICS; i++)
		snap[i] = metrics_get(i);
	ret = ret ?: add_fixed(root, snap);
	ret = ret ?: timeline_json(root);
	for (struct source *s = mt.sources; s && !ret; s = s->next)
		ret = add_source(root, s);
	if (!ret)
		line = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!line)
		return NULL;
	*len = strlen(line);
	nl = realloc(line, *len + 2);
	if (!nl) {
		free(line);
		return NULL;
	}
	nl[(*len)++] = '\n';
	nl[*len] = '\0';
	return nl;
}

/* Written whole: the next line's deltas start from what this one reported. */
static void commit_line(const uint64_t *snap)
{
	memcpy(mt.last, snap, sizeof(mt.last));
	for (struct source *s = mt.sources; s; s = s->next)
		memcpy(s->last, s->snap, s->schema->nr_fields * sizeof(uint64_t));
}

/*
 * A FIFO takes up to PIPE_BUF bytes whole or not at all; a longer line
 * could go in part and corrupt the next one for the reader. We are the only
 * writer, so the room we see can only grow until we write.
 */
static bool fifo_lacks_room(size_t len)
{
	int size, unread;

	if (!mt.is_fifo || len <= PIPE_BUF)
		return false;
	size = fcntl(mt.fd, F_GETPIPE_SZ);
	if (size < 0 || ioctl(mt.fd, FIONREAD, &unread) < 0)
		return false;
	return (size_t)size - unread < len;
}

/* One write(): a line is written whole or counted lost, never waited for. */
static int write_line(const char *line, size_t len)
{
	ssize_t n;

	if (fifo_lacks_room(len)) {
		metrics_inc(M_LOGGER_MISSED_METRICS_COUNT);
		return -EAGAIN;
	}
	do {
		n = write(mt.fd, line, len);
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len)
		return 0;
	metrics_inc(M_LOGGER_MISSED_METRICS_COUNT);
	return n < 0 ? -errno : -EIO;
}

int metrics_flush(void)
{
	uint64_t snap[M_NR_METRICS];
	size_t len = 0;
	char *line;
	int ret = 0;

	pthread_mutex_lock(&mt.lock);
	if (mt.fd < 0)
		goto out;
	line = build_line(snap, &len);
	if (!line) {
		metrics_inc(M_LOGGER_METRICS_FAILS);
		ret = -ENOMEM;
		goto out;
	}
	ret = write_line(line, len);
	if (!ret)
		commit_line(snap);
	free(line);
out:
	pthread_mutex_unlock(&mt.lock);
	return ret;
}

void metrics_flush_signal_safe(enum metric m)
{
	char buf[1024];
	size_t n = 0;
	int fd = mt.fd;

	if (fd < 0 || m >= M_NR_METRICS)
		return;
	util_append_str(buf, sizeof(buf) - 1, &n, "{\"utc_timestamp_ms\":");
	util_append_u64(buf, sizeof(buf) - 1, &n, utc_ms(), 1);
	/* The id and properties when they fit, with room left for the rest. */
	if (mt.fields_text && strlen(mt.fields_text) < sizeof(buf) - 256) {
		util_append_str(buf, sizeof(buf) - 1, &n, ",");
		util_append_str(buf, sizeof(buf) - 1, &n, mt.fields_text);
	}
	util_append_str(buf, sizeof(buf) - 1, &n, ",\"");
	util_append_str(buf, sizeof(buf) - 1, &n, defs[m].group);
	util_append_str(buf, sizeof(buf) - 1, &n, "\":{\"");
	util_append_str(buf, sizeof(buf) - 1, &n, defs[m].name);
	util_append_str(buf, sizeof(buf) - 1, &n, "\":");
	util_append_u64(buf, sizeof(buf) - 1, &n,
			defs[m].gauge ? metrics_get(m) : metrics_get(m) - mt.last[m], 1);
	util_append_str(buf, sizeof(buf) - 1, &n, "}}");
	buf[n++] = '\n';
	if (write(fd, buf, n) < 0)
		metrics_inc(M_LOGGER_MISSED_METRICS_COUNT);
}

/* ---- Prometheus text format ---- */

static void prom_label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void prom_fixed(FILE *f)
{
	for (unsigned int i = 0; i < M_NR_METRICS; i++) {
		const struct metric_def *d = &defs[i];

		fprintf(f, "# TYPE petrel_%s_%s %s\n", d->group, d->name,
			d->gauge ? "gauge" : "counter");
		fprintf(f, "petrel_%s_%s %llu\n", d->group, d->name,
			(unsigned long long)metrics_get(i));
	}
}

static void prom_sample(FILE *f, const struct source *s, unsigned int i)
{
	const struct metrics_schema *sc = s->schema;

	fprintf(f, "petrel_%s_%s", sc->kind, sc->fields[i].name);
	if (s->id[0]) {
		fprintf(f, "{%s=\"", sc->label ? sc->label : "id");
		prom_label(f, s->id);
		fputs("\"}", f);
	}
	fprintf(f, " %llu\n", (unsigned long long)field_value(s, i));
}

static bool kind_seen_before(const struct source *s)
{
	for (const struct source *p = mt.sources; p != s; p = p->next)
		if (!strcmp(p->schema->kind, s->schema->kind))
			return true;
	return false;
}

/* One TYPE line per metric, then a sample per device of that kind. */
static void prom_kind(FILE *f, const struct source *first)
{
	const struct metrics_schema *sc = first->schema;

	for (unsigned int i = 0; i < sc->nr_fields; i++) {
		fprintf(f, "# TYPE petrel_%s_%s counter\n", sc->kind, sc->fields[i].name);
		for (const struct source *s = first; s; s = s->next)
			if (s->schema == sc)
				prom_sample(f, s, i);
	}
}

char *metrics_prometheus(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	prom_fixed(f);
	timeline_prometheus(f);
	pthread_mutex_lock(&mt.lock);
	for (const struct source *s = mt.sources; s; s = s->next)
		if (!kind_seen_before(s))
			prom_kind(f, s);
	pthread_mutex_unlock(&mt.lock);
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

/* ---- where lines go, and when ---- */

static int arm_timer(void)
{
	struct itimerspec its = {
		.it_value.tv_sec = METRICS_FLUSH_INTERVAL_S,
		.it_interval.tv_sec = METRICS_FLUSH_INTERVAL_S,
	};

	if (mt.timer_fd < 0 || mt.fd < 0)
		return 0;
	return timerfd_settime(mt.timer_fd, 0, &its, NULL) ? -errno : 0;
}

int metrics_set_path(const char *path, char *err, size_t errlen)
{
	char why[512];
	/* As the log: a FIFO needs no reader yet, and a full one never stalls a flush. */
	int fd = util_open_file(path, O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK | O_NOCTTY,
				UTIL_FILE_REG | UTIL_FILE_FIFO | UTIL_FILE_CHR, why, sizeof(why));
	struct stat st;
	int ret;

	if (fd < 0) {
		snprintf(err, errlen, "metrics_path %s", why);
		return fd;
	}
	pthread_mutex_lock(&mt.lock);
	if (mt.fd >= 0)
		close(mt.fd);
	mt.fd = fd;
	mt.is_fifo = !fstat(fd, &st) && S_ISFIFO(st.st_mode);
	ret = arm_timer();
	pthread_mutex_unlock(&mt.lock);
	if (ret)
		pr_warn("metrics: cannot arm the flush timer: %s", strerror(-ret));
	return 0;
}

bool metrics_has_path(void)
{
	bool has;

	pthread_mutex_lock(&mt.lock);
	has = mt.fd >= 0;
	pthread_mutex_unlock(&mt.lock);
	return has;
}

int metrics_set_fields(const char *id, const json_t *properties)
{
	json_t *f = json_object();
	char *text = NULL;

	if (!f || (id && json_object_set_new(f, "id", json_string(id))) ||
	    (properties && json_object_set_new(f, "properties", json_deep_copy(properties))))
		goto err;
	if (json_object_size(f)) {
		text = json_dumps(f, JSON_COMPACT);
		if (!text)
			goto err;
		/* Without the braces: it goes inside each line's object. */
		memmove(text, text + 1, strlen(text) - 1);
		text[strlen(text) - 2] = '\0';
	}
	pthread_mutex_lock(&mt.lock);
	json_decref(mt.fields);
	free(mt.fields_text);
	mt.fields = f;
	mt.fields_text = text;
	pthread_mutex_unlock(&mt.lock);
	return 0;
err:
	json_decref(f);
	return -ENOMEM;
}

int metrics_timer_fd(void)
{
	int ret;

	pthread_mutex_lock(&mt.lock);
	ret = mt.timer_fd;
	if (ret < 0) {
		mt.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		ret = mt.timer_fd < 0 ? -errno : arm_timer();
		ret = ret ?: mt.timer_fd;
	}
	pthread_mutex_unlock(&mt.lock);
	return ret;
}

/* Only on an expiry: two loops watching the timer still flush once. */
void metrics_on_timer(void)
{
	uint64_t expirations;

	if (read(mt.timer_fd, &expirations, sizeof(expirations)) == sizeof(expirations))
		metrics_flush();
}

void metrics_close(void)
{
	pthread_mutex_lock(&mt.lock);
	if (mt.fd >= 0)
		close(mt.fd);
	if (mt.timer_fd >= 0)
		close(mt.timer_fd);
	mt.fd = -1;
	mt.timer_fd = -1;
	json_decref(mt.fields);
	free(mt.fields_text);
	mt.fields = NULL;
	mt.fields_text = NULL;
	pthread_mutex_unlock(&mt.lock);
}
