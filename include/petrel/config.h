/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PETREL_CONFIG_H
#define PETREL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <petrel/log.h>
#include <petrel/ratelimit.h>

#define CONFIG_MAX_VCPUS 32
#define CONFIG_MAX_DRIVES 16
#define CONFIG_MAX_NETS 8
#define CONFIG_DEFAULT_BOOT_ARGS "console=ttyS0 reboot=k panic=1"

enum huge_pages {
	HUGE_PAGES_NONE,
	HUGE_PAGES_TRANSPARENT,
	HUGE_PAGES_2M,
};

enum cache_type { CACHE_UNSAFE, CACHE_WRITEBACK };
enum io_engine { IO_ENGINE_SYNC, IO_ENGINE_ASYNC };

struct drive_config {
	char *drive_id;
	char *path_on_host;
	bool is_root_device;
	char *partuuid;		/* NULL when absent */
	bool is_read_only;
	enum cache_type cache_type;
	enum io_engine io_engine;
	struct rl_config rate_limiter;
};

struct net_config {
	char *iface_id;
	char *host_dev_name;
	bool has_guest_mac;
	uint8_t guest_mac[6];
	unsigned int mtu;		/* 68..65535, 0: not offered */
	struct rl_config rx_rate_limiter;
	struct rl_config tx_rate_limiter;
};

/* The one virtio-vsock device: guest_cid 0 when there is none. */
struct vsock_config {
	uint32_t guest_cid;		/* 3..0xfffffffe */
	char *uds_path;			/* the host side's listening socket */
	char *vsock_id;			/* deprecated by Firecracker: echoed, NULL when absent */
};

struct logger_config {
	bool present;
	char *log_path;		/* NULL: stderr */
	enum log_level level;
	bool show_level;
	bool show_log_origin;
	char *module;		/* NULL when absent */
};

enum mmds_version { MMDS_V1, MMDS_V2 };

/* mmds-config: which interfaces reach the metadata service, at what address. */
struct mmds_config {
	bool present;
	enum mmds_version version;
	uint32_t ipv4;			/* host byte order; default 169.254.169.254 */
	bool imds_compat;		/* always answer in IMDS text */
	char *ifaces[CONFIG_MAX_NETS];
	unsigned int nr_ifaces;
};

struct metrics_config {
	bool present;
	char *metrics_path;
	bool emit_id;		/* an "id" field (--id) on each line */
	json_t *properties;	/* an object of strings, or NULL */
};

/* The virtio-balloon (section "balloon", PUT /balloon); its own file: src/vmm/config/balloon.c. */
struct balloon_config {
	bool present;
	unsigned int amount_mib;		/* the target, in MiB */
	bool deflate_on_oom;
	unsigned int stats_polling_interval_s;	/* 0: no statistics queue */
	bool free_page_hinting;
	bool free_page_reporting;
};

/* PUT /serial: the console's output to a file, and its bytes limited (dropped beyond). */
struct serial_config {
	bool present;
	char *serial_out_path;		/* NULL: the console's stdout */
	struct rl_bucket_config rate_limiter;
};

/*
 * The one configuration model: --config-file and the API's PUT/PATCH
 * handlers both fill it; the builder turns it into a running VM.
 */
struct vm_config {
	struct {
		char *kernel_image_path;	/* NULL until set */
		char *boot_args;		/* NULL: CONFIG_DEFAULT_BOOT_ARGS */
		char *initrd_path;		/* NULL when absent */
	} boot;
	struct {
		unsigned int vcpu_count;	/* 1..CONFIG_MAX_VCPUS, default 1 */
		unsigned int mem_size_mib;	/* default 128 */
		bool smt;
		enum huge_pages huge_pages;
		bool track_dirty_pages;
	} machine;
	struct drive_config drives[CONFIG_MAX_DRIVES];
	unsigned int nr_drives;
	struct net_config nets[CONFIG_MAX_NETS];
	unsigned int nr_nets;
	bool entropy;
	struct vsock_config vsock;
	struct rl_config entropy_rate_limiter;
	struct serial_config serial;
	struct logger_config logger;
	struct metrics_config metrics;
	struct balloon_config balloon;
	struct mmds_config mmds;
};

void config_init(struct vm_config *cfg);
void config_free(struct vm_config *cfg);

/*
 * Parse a Firecracker-shaped config document. On failure return -EINVAL
 * (or -errno for I/O), leave cfg unchanged, and write a message naming the
 * file or field (e.g. "machine-config.vcpu_count: must be 1..32, got 0") to err.
 */
int config_parse_file(const char *path, struct vm_config *cfg, char *err, size_t errlen);
int config_parse_string(const char *json, size_t len, struct vm_config *cfg,
			char *err, size_t errlen);

/* Section parsers shared with the API handlers; same error contract. */
int config_boot_source_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen);
int config_machine_from_json(struct vm_config *cfg, json_t *obj, bool partial,
			     char *err, size_t errlen);
int config_drive_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen);
int config_net_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen);
int config_entropy_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen);
int config_vsock_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen);
/* snapshot/load's vsock_override: the restored device listens at uds_path instead. */
int config_vsock_override(struct vm_config *cfg, json_t *obj, char *err, size_t errlen);
/*
 * PATCH /drives/{id}: check the body ({"drive_id", "path_on_host",
 * "rate_limiter"}) without applying it; *path_on_host points into obj (NULL
 * when absent), *rl is the limiter's update (rl->present false: none).
 */
int config_drive_patch_check(json_t *obj, const char **path_on_host, struct rl_config *rl,
			     char *err, size_t errlen);
/* PATCH /network-interfaces/{id}: {"iface_id", "rx_rate_limiter", "tx_rate_limiter"}, as above. */
int config_net_patch_check(json_t *obj, struct rl_config *rx, struct rl_config *tx, char *err,
			   size_t errlen);
/* PUT /serial: {"serial_out_path", "rate_limiter"} (a TokenBucket). */
int config_serial_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen);
int config_logger_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen);
int config_metrics_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen);
/*
 * Balloon: PUT /balloon (the whole section), PATCH /balloon ({"amount_mib"}),
 * PATCH /balloon/statistics ({"stats_polling_interval_s"}): a PATCH needs the
 * balloon configured. Fields are named in err; cfg is unchanged on failure.
 */
int config_balloon_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen);
int config_balloon_patch(struct vm_config *cfg, json_t *obj, char *err, size_t errlen);
int config_balloon_stats_patch(struct vm_config *cfg, json_t *obj, char *err, size_t errlen);
/* GET /balloon: the section as PUT takes it. */
json_t *config_balloon_to_json(const struct balloon_config *b);
/* mmds-config (src/vmm/config/mmds.c); its interfaces are checked by config_validate. */
int config_mmds_from_json(struct vm_config *cfg, json_t *obj, char *err, size_t errlen);
int config_mmds_check_ifaces(const struct vm_config *cfg, char *err, size_t errlen);
json_t *config_mmds_to_json(const struct mmds_config *m);
void config_mmds_free(struct mmds_config *m);

/* The whole configuration in the --config-file shape (caller json_decref()s). */
json_t *config_to_json(const struct vm_config *cfg);
/* machine-config.huge_pages by its name ("None", "Transparent", "2M"): 0, or -EINVAL. */
int config_huge_pages_from_name(const char *name, enum huge_pages *hp);
/* Checks that need the whole config (a kernel is set, one root drive...). */
int config_validate(const struct vm_config *cfg, char *err, size_t errlen);

#endif
