// SPDX-License-Identifier: Apache-2.0
/*
 * The vmm thread's top level: one event loop for the life of the process,
 * the signals that end it, the metrics timer, the VM once built, and the
 * API's requests, applied here one per wakeup in arrival order (device
 * events are served between them) and handed back to the server. States: Not started -> (InstanceStart) Running <-> Paused; the
 * guest's end, or a signal, ends the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/virtio_ids.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <petrel/api.h>
#include <petrel/jail.h>
#include <petrel/log.h>
#include <petrel/metrics.h>
#include <petrel/mmds.h>
#include <petrel/snapshot.h>
#include <petrel/timeline.h>
#include <petrel/util.h>

#include "vm_priv.h"

enum vmm_state { VMM_NOT_STARTED, VMM_RUNNING, VMM_PAUSED };

#define SWAP(a, b) do { __typeof__(a) tmp_ = (a); (a) = (b); (b) = tmp_; } while (0)

static const char *const state_names[] = {
	[VMM_NOT_STARTED] = "Not started", [VMM_RUNNING] = "Running", [VMM_PAUSED] = "Paused",
};

struct vmm {
	struct vm_options opts;		/* opts.loop is ours */
	struct api_server *api;
	struct vm_config cfg;
	struct vm *vm;
	enum vmm_state state;
	bool configured;		/* a VM section was set: no snapshot load then */
	int signal_fd;
	struct vm_kvm kvm;		/* made ahead for the first build */
	bool done;
	int exit_code;
	char id[65];
};

typedef void (*apply_fn)(struct vmm *v, struct api_request *req);

/* ---- the VM ---- */

/* What the vmm thread may still change on disk: see src/jail/landlock.c. */
static void confine_files(struct vmm *v)
{
	struct jail_fs fs = { .remove = v->api ? api_server_path(v->api) : NULL };

	for (unsigned int i = 0; i < v->cfg.nr_drives && fs.nr_write < JAIL_FS_MAX_WRITE; i++) {
		if (!v->cfg.drives[i].is_read_only)
			fs.write[fs.nr_write++] = v->cfg.drives[i].path_on_host;
	}
	for (unsigned int i = 0; i < v->opts.nr_snapshot_dirs && i < JAIL_FS_MAX_CREATE; i++)
		fs.create[fs.nr_create++] = v->opts.snapshot_dirs[i];
	fs.jail_root = v->opts.jailed;
	jail_landlock_enter(JAIL_VMM, &fs);
}

/* Built, its vCPU threads started: from here on the loop only serves it. */
static void started(struct vmm *v, struct vm *vm, enum vmm_state state)
{
	v->vm = vm;
	v->state = state;
	confine_files(v);
	jail_seccomp_enter(JAIL_VMM);
}

static int start_vm(struct vmm *v)
{
	struct vm *vm = NULL;
	int ret;

	log_clear_last_error();
	timeline_mark(BOOT_INSTANCE_START);
	ret = vm_build_from(&v->cfg, &v->opts, NULL, &v->kvm, &vm);
	ret = ret ?: vm_start(vm);
	if (ret) {
		vm_destroy(vm);
		timeline_clear_from(BOOT_INSTANCE_START);
		return ret;
	}
	pr_info("VM started");
	started(v, vm, VMM_RUNNING);
	return 0;
}

static void resume_vcpus(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_resume(vm->vcpus[i]);
}

/* All or none: if one vCPU does not park in time, they all run on. -1 or its index. */
static int pause_vcpus(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		if (vcpu_pause(vm->vcpus[i])) {
			resume_vcpus(vm);
			return i;
		}
	}
	return -1;
}

static struct virtio_dev *find_virtio(struct vm *vm, uint32_t type, const char *id)
{
	for (unsigned int i = 0; i < vm->nr_virtio; i++) {
		struct virtio_dev *dev = vm->virtio[i];

		if (dev->ops->device_id == type && !strcmp(dev->id, id))
			return dev;
	}
	return NULL;
}

static struct virtio_dev *find_blk(struct vm *vm, const char *id)
{
	return find_virtio(vm, VIRTIO_ID_BLOCK, id);
}

static int find_drive(const struct vm_config *cfg, const char *id)
{
	for (unsigned int i = 0; i < cfg->nr_drives; i++) {
		if (!strcmp(cfg->drives[i].drive_id, id))
			return i;
	}
	return -1;
}

/* ---- requests ---- */

static void reply_parsed(struct api_request *req, int ret)
{
	if (ret)
		req->status = 400;	/* the parser wrote the fault */
	else
		api_reply_ok(req);
}

/* A VM section was set: from now on this petrel boots, it loads no snapshot. */
static void reply_configured(struct vmm *v, struct api_request *req, int ret)
{
	v->configured |= !ret;
	reply_parsed(req, ret);
}

static void get_info(struct vmm *v, struct api_request *req)
{
	api_reply_json(req, json_pack("{s:s, s:s, s:s, s:s}", "id", v->id,
				      "state", state_names[v->state],
				      "vmm_version", PETREL_VERSION, "app_name", "petrel"));
}

static void get_version(struct vmm *v, struct api_request *req)
{
	api_reply_json(req, json_pack("{s:s, s:s}", "firecracker_version", PETREL_FC_API_VERSION,
				      "petrel_version", PETREL_VERSION));
}

static void get_machine(struct vmm *v, struct api_request *req)
{
	json_t *all = config_to_json(&v->cfg);
	json_t *machine = all ? json_incref(json_object_get(all, "machine-config")) : NULL;

	json_decref(all);
	api_reply_json(req, machine);
}

/*
 * Firecracker's shape: boot-source.kernel_image_path is "" until one is set,
 * a section not configured is null and an empty list is [].
 */
static int vm_config_fill(json_t *all)
{
	static const char *const optional[] = {
		"balloon", "cpu-config", "logger", "machine-config", "metrics", "mmds-config",
		"vsock", "entropy", "memory-hotplug",
	};
	static const char *const lists[] = { "drives", "network-interfaces", "pmem" };
	json_t *boot = json_object_get(all, "boot-source");
	int ret = 0;

	if (!boot) {
		boot = json_object();
		ret |= json_object_set_new(all, "boot-source", boot);
	}
	if (!json_object_get(boot, "kernel_image_path"))
		ret |= json_object_set_new(boot, "kernel_image_path", json_string(""));
	for (size_t i = 0; i < ARRAY_SIZE(optional); i++)
		if (!json_object_get(all, optional[i]))
			ret |= json_object_set_new(all, optional[i], json_null());
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
		if (!json_object_get(all, lists[i]))
			ret |= json_object_set_new(all, lists[i], json_array());
	return ret;
}

static void get_vm_config(struct vmm *v, struct api_request *req)
{
	json_t *all = config_to_json(&v->cfg);

	if (all && vm_config_fill(all)) {
		json_decref(all);
		all = NULL;
	}
	api_reply_json(req, all);
}

static void get_metrics(struct vmm *v, struct api_request *req)
{
	api_reply_text(req, metrics_prometheus());
}

static void put_boot_source(struct vmm *v, struct api_request *req)
{
	reply_configured(v, req, config_boot_source_from_json(&v->cfg, req->body, req->fault,
						       sizeof(req->fault)));
}

static void put_machine(struct vmm *v, struct api_request *req)
{
	reply_configured(v, req, config_machine_from_json(&v->cfg, req->body,
						   req->op == API_PATCH_MACHINE,
						   req->fault, sizeof(req->fault)));
}

static void put_drive(struct vmm *v, struct api_request *req)
{
	reply_configured(v, req, config_drive_from_json(&v->cfg, req->body, req->fault,
						 sizeof(req->fault)));
}

static void put_net(struct vmm *v, struct api_request *req)
{
	reply_configured(v, req, config_net_from_json(&v->cfg, req->body, req->fault, sizeof(req->fault)));
}

/* ---- the metadata service: the store any time, its config before boot ---- */

static void mmds_store(struct vmm *v, struct api_request *req)
{
	struct mmds *m = v->opts.mmds;
	int ret;

	if (!m) {
		api_reply_fault(req, "mmds: no metadata service in this petrel");
		return;
	}
	ret = req->op == API_PUT_MMDS ? mmds_put(m, req->body) : mmds_patch(m, req->body);
	if (ret == -E2BIG) {
		api_reply_fault(req, "mmds: the data store would be larger than its limit of %zu "
				"bytes (--mmds-size-limit)", mmds_size_limit(m));
		req->status = 413;
	} else if (ret == -ENODATA) {
		/* Firecracker's words: a PATCH needs a PUT first. */
		api_reply_fault(req, "The MMDS data store is not initialized.");
	} else if (ret) {
		api_reply_fault(req, "mmds: %s", ret == -EINVAL ? "expected a JSON object" :
				strerror(-ret));
	} else {
		api_reply_ok(req);
	}
}

static void get_mmds(struct vmm *v, struct api_request *req)
{
	if (!v->opts.mmds)
		api_reply_fault(req, "mmds: no metadata service in this petrel");
	else
		api_reply_json(req, json_incref(mmds_data(v->opts.mmds)));
}

/* The interfaces named must be configured already; nothing changes on a fault. */
static void put_mmds_config(struct vmm *v, struct api_request *req)
{
	struct mmds_config old = v->cfg.mmds;
	int ret;

	memset(&v->cfg.mmds, 0, sizeof(v->cfg.mmds));
	ret = config_mmds_from_json(&v->cfg, req->body, req->fault, sizeof(req->fault)) ?:
	      config_mmds_check_ifaces(&v->cfg, req->fault, sizeof(req->fault));
	if (ret) {
		config_mmds_free(&v->cfg.mmds);
		v->cfg.mmds = old;
	} else {
		config_mmds_free(&old);
	}
	reply_configured(v, req, ret);
}

static void put_serial(struct vmm *v, struct api_request *req)
{
	reply_configured(v, req, config_serial_from_json(&v->cfg, req->body, req->fault,
						  sizeof(req->fault)));
}

static void put_entropy(struct vmm *v, struct api_request *req)
{
	reply_configured(v, req, config_entropy_from_json(&v->cfg, req->body, req->fault,
						   sizeof(req->fault)));
}

static void put_vsock(struct vmm *v, struct api_request *req)
{
	reply_configured(v, req, config_vsock_from_json(&v->cfg, req->body, req->fault,
						 sizeof(req->fault)));
}

/* The file is opened first: a path that cannot be opened changes nothing. */
static void put_logger(struct vmm *v, struct api_request *req)
{
	const char *path = json_string_value(json_object_get(req->body, "log_path"));
	int ret = path ? log_set_path(path) : 0;

	if (ret) {
		char err[API_FAULT_MAX / 2];

		util_open_error(path, ret, LOG_PATH_KINDS, err, sizeof(err));
		api_reply_fault(req, "logger.log_path: %s", err);
		return;
	}
	ret = config_logger_from_json(&v->cfg, req->body, req->fault, sizeof(req->fault));
	if (!ret) {
		log_set_level(v->cfg.logger.level);
		log_set_show(v->cfg.logger.show_level, v->cfg.logger.show_log_origin);
		log_set_module(v->cfg.logger.module);
	}
	reply_parsed(req, ret);
}

/* The body was checked by the router: the path is opened, then the rest is applied. */
static void put_metrics(struct vmm *v, struct api_request *req)
{
	const char *path = json_string_value(json_object_get(req->body, "metrics_path"));
	const struct metrics_config *m = &v->cfg.metrics;
	int ret;

	if (metrics_has_path()) {
		/* Firecracker's answer: lines already went to the first path. */
		api_reply_fault(req, "Reinitialization of metrics not allowed.");
		return;
	}
	if (metrics_set_path(path, req->fault, sizeof(req->fault))) {
		req->status = 400;
		return;
	}
	ret = config_metrics_from_json(&v->cfg, req->body, req->fault, sizeof(req->fault));
	if (!ret && metrics_set_fields(m->emit_id ? v->id : NULL, m->properties)) {
		api_reply_fault(req, "metrics: out of memory");
		return;
	}
	reply_parsed(req, ret);
}

static void instance_start(struct vmm *v, struct api_request *req)
{
	char err[API_FAULT_MAX / 2];
	int ret;

	if (config_validate(&v->cfg, err, sizeof(err))) {
		api_reply_fault(req, "Cannot start the microVM: %s", err);
		return;
	}
	ret = start_vm(v);
	if (ret)
		api_reply_fault(req, "Cannot start the microVM: %s", *log_last_error() ?
				log_last_error() : strerror(-ret));
	else
		api_reply_ok(req);
}

static void send_ctrl_alt_del(struct vmm *v, struct api_request *req)
{
	if (i8042_send_ctrl_alt_del(v->vm->i8042))
		api_reply_fault(req, "SendCtrlAltDel: the guest has not read the keyboard "
				"buffer yet; try again");
	else
		api_reply_ok(req);
}

static void flush_metrics(struct vmm *v, struct api_request *req)
{
	int ret = metrics_flush();

	if (ret)
		api_reply_fault(req, "FlushMetrics: cannot write the metrics: %s", strerror(-ret));
	else
		api_reply_ok(req);
}

/* Pausing a paused VM, or resuming a running one, succeeds and changes nothing. */
static void set_paused(struct vmm *v, struct api_request *req)
{
	bool pause = req->op == API_PAUSE;
	uint64_t start = util_now_us();
	int late;

	if (pause != (v->state == VMM_PAUSED)) {
		late = pause ? pause_vcpus(v->vm) : (resume_vcpus(v->vm), -1);
		if (late >= 0) {
			pr_err("pause: vCPU %d did not stop within %d ms", late,
			       VCPU_PAUSE_TIMEOUT_MS);
			api_reply_fault(req, "Cannot pause the microVM: vCPU %d did not stop within "
					"%d ms (busy in a host call); the microVM keeps running.",
					late, VCPU_PAUSE_TIMEOUT_MS);
			return;
		}
		v->state = pause ? VMM_PAUSED : VMM_RUNNING;
		metrics_set(pause ? M_LAT_PAUSE_VM : M_LAT_RESUME_VM, util_now_us() - start);
		pr_info("VM %s", pause ? "paused" : "resumed");
	}
	api_reply_ok(req);
}

/* The buckets an update gives replace the configured ones; the others stay. */
static void merge_limiter(struct rl_config *cfg, const struct rl_config *upd)
{
	if (!upd->present)
		return;
	cfg->present = true;
	if (upd->bandwidth.present)
		cfg->bandwidth = upd->bandwidth;
	if (upd->ops.present)
		cfg->ops = upd->ops;
}

/* On the device now, and in the configuration (GET /vm/config, snapshots). */
static void update_limiter(struct virtio_dev *dev, unsigned int q, struct rl_config *cfg,
			   const struct rl_config *upd)
{
	if (!upd->present)
		return;
	virtio_dev_update_limiter(dev, q, upd);
	merge_limiter(cfg, upd);
}

/* The body was checked by the router: this only takes the limiter out of it again. */
static void body_limiter(const struct api_request *req, struct rl_config *rl)
{
	const char *path;
	char err[8];

	config_drive_patch_check(req->body, &path, rl, err, sizeof(err));
}

static void patch_drive(struct vmm *v, struct api_request *req)
{
	struct virtio_dev *dev = find_blk(v->vm, req->id);
	int idx = find_drive(&v->cfg, req->id), ret;
	char err[API_FAULT_MAX / 2];
	struct rl_config rl;
	char *path;

	if (!dev || idx < 0) {
		api_reply_fault(req, "Unable to patch the block device: no drive with drive_id "
				"\"%s\".", req->id);
		return;
	}
	body_limiter(req, &rl);
	if (!req->path_on_host) {
		update_limiter(dev, 0, &v->cfg.drives[idx].rate_limiter, &rl);
		api_reply_ok(req);
		return;
	}
	if (!v->cfg.drives[idx].is_read_only &&
	    jail_landlock_check_write(req->path_on_host, err, sizeof(err))) {
		api_reply_fault(req, "Unable to patch the block device %s: %s", req->id, err);
		return;
	}
	path = strdup(req->path_on_host);
	if (!path)
		snprintf(err, sizeof(err), "out of memory");
	ret = path ? virtio_blk_update_path(dev, path, err, sizeof(err)) : -ENOMEM;
	if (ret) {
		free(path);
		api_reply_fault(req, "Unable to patch the block device %s: %s", req->id, err);
		return;
	}
	free(v->cfg.drives[idx].path_on_host);
	v->cfg.drives[idx].path_on_host = path;
	update_limiter(dev, 0, &v->cfg.drives[idx].rate_limiter, &rl);
	api_reply_ok(req);
}

static void patch_net(struct vmm *v, struct api_request *req)
{
	struct virtio_dev *dev = find_virtio(v->vm, VIRTIO_ID_NET, req->id);
	struct rl_config rx, tx;
	struct net_config *n = NULL;
	char err[8];

	for (unsigned int i = 0; i < v->cfg.nr_nets; i++) {
		if (!strcmp(v->cfg.nets[i].iface_id, req->id))
			n = &v->cfg.nets[i];
	}
	if (!dev || !n) {
		api_reply_fault(req, "Unable to patch the network interface: no network interface "
				"with iface_id \"%s\".", req->id);
		return;
	}
	config_net_patch_check(req->body, &rx, &tx, err, sizeof(err));	/* checked by the router */
	update_limiter(dev, 0, &n->rx_rate_limiter, &rx);
	update_limiter(dev, 1, &n->tx_rate_limiter, &tx);
	api_reply_ok(req);
}

/* A balloon configured counts as a VM section set, as the others. */
static void balloon_request(struct vmm *v, struct api_request *req)
{
	vm_balloon_request(&v->cfg, v->vm, req);
	v->configured |= req->op == API_PUT_BALLOON && req->status == 204;
}

/* ---- snapshots ---- */

static const char *body_str(const struct api_request *req, const char *field)
{
	return json_string_value(json_object_get(req->body, field));
}

static bool body_bool(const struct api_request *req, const char *field)
{
	return json_is_true(json_object_get(req->body, field));
}

/*
 * A new file, never one that exists: the vmm thread's filter allows this
 * open and no other that creates or truncates (see src/jail/filters.c).
 */
static int create_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
			 errno == EEXIST ? " (petrel writes only new files)" : "");
	return fd < 0 ? -errno : fd;
}

static int write_out(int fd, const void *data, size_t len, const char *path, char *err,
		     size_t errlen)
{
	int ret = util_write_all(fd, data, len);

	ret = ret ?: (fsync(fd) ? -errno : 0);
	if (ret)
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(-ret));
	return ret;
}

/* The state first (every part answers, nothing is created if one cannot), then the files. */
static int snapshot_write(struct vmm *v, const char *state_path, const char *mem_path,
			  const uint64_t *dirty, char *err, size_t errlen)
{
	struct snap_buf state;
	int sfd = -1, mfd = -1, ret;

	snap_buf_init(&state);
	ret = vm_save_state(v->vm, &v->cfg, &state, state_path, err, errlen);
	if (!ret && (sfd = create_file(state_path, err, errlen)) < 0)
		ret = sfd;
	if (!ret && (mfd = create_file(mem_path, err, errlen)) < 0)
		ret = mfd;
	ret = ret ?: write_out(sfd, state.data, state.len, state_path, err, errlen);
	ret = ret ?: guest_mem_save(&v->vm->mem, mfd, dirty, mem_path, err, errlen);
	if (!ret && fsync(mfd)) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot write: %s", mem_path, strerror(errno));
	}
	if (sfd >= 0)
		close(sfd);
	if (mfd >= 0)
		close(mfd);
	snap_buf_free(&state);
	return ret;
}

/* Diff: the pages KVM saw written since the last snapshot (or since the start). */
static int dirty_pages(struct vmm *v, uint64_t **dirty, char *err, size_t errlen)
{
	size_t words = guest_mem_dirty_words(&v->vm->mem);
	int ret;

	*dirty = calloc(words ?: 1, sizeof(uint64_t));
	if (!*dirty)
		return -ENOMEM;
	ret = guest_mem_get_dirty(&v->vm->mem, v->vm->vm_fd, *dirty);
	if (ret)
		snprintf(err, errlen, "cannot read the dirty page log: %s", strerror(-ret));
	return ret;
}

/* Where the sandbox lets the file be made: else a 400 before anything is done. */
static bool may_create(struct api_request *req, const char *field)
{
	char err[API_FAULT_MAX / 2];

	if (!jail_landlock_check_create(body_str(req, field), err, sizeof(err)))
		return true;
	api_reply_fault(req, "Cannot create a snapshot: %s %s", field, err);
	return false;
}

static void snapshot_create(struct vmm *v, struct api_request *req)
{
	const char *type = body_str(req, "snapshot_type");
	bool diff = type && !strcmp(type, "Diff");
	uint64_t start = util_now_us(), *dirty = NULL;
	char err[API_FAULT_MAX / 2] = "";
	int ret = 0;

	if (v->state != VMM_PAUSED) {
		api_reply_fault(req, "Cannot create a snapshot: the microVM is %s; pause it first "
				"(PATCH /vm {\"state\": \"Paused\"}).", state_names[v->state]);
		return;
	}
	if (diff && !v->cfg.machine.track_dirty_pages) {
		api_reply_fault(req, "Cannot create a snapshot: snapshot_type \"Diff\" needs "
				"machine-config.track_dirty_pages (or track_dirty_pages on load).");
		return;
	}
	if (!may_create(req, "snapshot_path") || !may_create(req, "mem_file_path"))
		return;
	if (diff)
		ret = dirty_pages(v, &dirty, err, sizeof(err));
	ret = ret ?: snapshot_write(v, body_str(req, "snapshot_path"),
				    body_str(req, "mem_file_path"), dirty, err, sizeof(err));
	free(dirty);
	if (ret) {
		api_reply_fault(req, "Cannot create a snapshot: %s", err);
		return;
	}
	metrics_set(diff ? M_LAT_DIFF_CREATE_SNAPSHOT : M_LAT_FULL_CREATE_SNAPSHOT,
		    util_now_us() - start);
	pr_info("%s snapshot written to %s", diff ? "diff" : "full", body_str(req, "snapshot_path"));
	api_reply_ok(req);
}

/* network_overrides: each iface_id one the snapshot has; its tap is replaced. */
static int apply_overrides(struct vm_config *cfg, json_t *arr, char *err, size_t errlen)
{
	json_t *o;
	size_t i;

	json_array_foreach(arr, i, o) {
		const char *id = json_string_value(json_object_get(o, "iface_id"));
		const char *tap = json_string_value(json_object_get(o, "host_dev_name"));
		unsigned int n;
		char *dup;

		for (n = 0; n < cfg->nr_nets && strcmp(cfg->nets[n].iface_id, id); n++)
			;
		if (n == cfg->nr_nets) {
			snprintf(err, errlen, "network_overrides[%zu].iface_id: the snapshot has no "
				 "network interface \"%s\"", i, id);
			return -EINVAL;
		}
		dup = strdup(tap);
		if (!dup)
			return -ENOMEM;
		free(cfg->nets[n].host_dev_name);
		cfg->nets[n].host_dev_name = dup;
	}
	return 0;
}

/* As Firecracker: the console is this petrel's (PUT /serial before the load), a copy. */
static int keep_serial(const struct vm_config *mine, struct vm_config *cfg)
{
	char *path = NULL;

	if (mine->serial.serial_out_path && !(path = strdup(mine->serial.serial_out_path)))
		return -ENOMEM;
	free(cfg->serial.serial_out_path);
	cfg->serial = mine->serial;
	cfg->serial.serial_out_path = path;
	return 0;
}

/* The restored VM's configuration: the snapshot's (this petrel keeps its logger and metrics). */
static int load_config(struct vmm *v, const struct api_request *req, const struct snap_state *st,
		       struct vm_config *cfg, char *err, size_t errlen)
{
	int ret = vm_state_config(st, cfg, err, errlen);

	if (ret)
		return ret;
	cfg->machine.track_dirty_pages = body_bool(req, "track_dirty_pages") ||
					 body_bool(req, "enable_diff_snapshots");
	ret = keep_serial(&v->cfg, cfg);
	ret = ret ?: apply_overrides(cfg, json_object_get(req->body, "network_overrides"), err, errlen);
	if (!ret && json_object_get(req->body, "vsock_override"))
		ret = config_vsock_override(cfg, json_object_get(req->body, "vsock_override"),
					    err, errlen);
	return ret;
}

static int read_state(const char *path, struct snap_state *st, char *err, size_t errlen)
{
	int fd = util_open_file(path, O_RDONLY, UTIL_FILE_REG | UTIL_FILE_FIFO, err, errlen);
	int ret;

	if (fd < 0)
		return fd;
	ret = snap_state_read(fd, path, st, err, errlen);
	close(fd);
	return ret;
}

/* Built paused: the vCPUs park before they first run; resume_vm lets them go. */
static int restore_vm(struct vmm *v, struct vm_config *cfg, struct vm_restore *from,
		      bool resume)
{
	struct vm *vm;
	int ret = vm_build_from(cfg, &v->opts, from, &v->kvm, &vm);

	if (ret)
		return ret;
	pause_vcpus(vm);
	ret = vm_start(vm);
	/* A restored guest is a new generation: it must reseed and forget what was unique. */
	ret = ret ?: vmgenid_regenerate(vm->vmgenid);
	util_lap(from->laps, "start");
	if (ret) {
		vm_destroy(vm);
		return ret;
	}
	if (resume)
		resume_vcpus(vm);
	util_lap(from->laps, "resume");
	SWAP(cfg->logger, v->cfg.logger);
	SWAP(cfg->metrics, v->cfg.metrics);
	config_free(&v->cfg);
	v->cfg = *cfg;
	config_init(cfg);
	started(v, vm, resume ? VMM_RUNNING : VMM_PAUSED);
	util_lap(from->laps, "sandbox");
	return 0;
}

/* huge_pages on load: "Snapshot" (or absent) keeps the snapshot's own. */
static void override_huge_pages(const struct api_request *req, struct vm_config *cfg)
{
	config_huge_pages_from_name(body_str(req, "huge_pages"), &cfg->machine.huge_pages);
}

/*
 * File: the memory file, mapped here. Uffd: backend_path is the socket of a
 * handler that serves guest RAM's page faults from it (see examples/uffd).
 * A huge-page VM's memory is only ever served whole pages by a handler.
 */
static int open_backend(const struct api_request *req, const struct vm_config *cfg,
			struct vm_restore *from, char *err, size_t errlen)
{
	json_t *mb = json_object_get(req->body, "mem_backend");
	const char *type = mb ? json_string_value(json_object_get(mb, "backend_type")) : "File";

	if (!strcmp(type, "Uffd")) {
		from->uffd_path = from->mem_path;
		return 0;
	}
	if (cfg->machine.huge_pages != HUGE_PAGES_NONE) {
		snprintf(err, errlen, "mem_backend.backend_type \"File\": the guest memory is "
			 "in huge pages (the snapshot's, or huge_pages); load it with the \"Uffd\" "
			 "backend, or with \"huge_pages\": \"None\"");
		return -EINVAL;
	}
	from->mem_fd = util_open_file(from->mem_path, O_RDONLY, UTIL_FILE_REG, err, errlen);
	return from->mem_fd < 0 ? from->mem_fd : 0;
}

static int load(struct vmm *v, struct api_request *req, struct util_laps *laps, char *err,
		size_t errlen)
{
	json_t *mb = json_object_get(req->body, "mem_backend");
	const char *mem_path = mb ? json_string_value(json_object_get(mb, "backend_path")) :
			       body_str(req, "mem_file_path");
	struct vm_restore from = { .mem_fd = -1, .mem_path = mem_path, .err = err,
				   .errlen = errlen, .clock_realtime = body_bool(req, "clock_realtime"),
				   .laps = laps };
	struct snap_state st = { 0 };
	struct vm_config cfg;
	int ret;

	config_init(&cfg);
	from.state_path = body_str(req, "snapshot_path");
	ret = read_state(from.state_path, &st, err, errlen);
	util_lap(laps, "read");
	ret = ret ?: load_config(v, req, &st, &cfg, err, errlen);
	if (!ret)
		override_huge_pages(req, &cfg);
	from.state = &st;
	ret = ret ?: open_backend(req, &cfg, &from, err, errlen);
	util_lap(laps, "config");
	ret = ret ?: restore_vm(v, &cfg, &from, body_bool(req, "resume_vm"));
	if (from.mem_fd >= 0)
		close(from.mem_fd);
	config_free(&cfg);
	snap_state_free(&st);
	util_lap(laps, "cleanup");
	return ret;
}

/*
 * The Debug log says where the time went, from the request's handover to
 * this thread ("queued") to the VM running.
 */
static void snapshot_load(struct vmm *v, struct api_request *req)
{
	char err[API_FAULT_MAX / 2] = "";
	uint64_t start = util_now_us();
	struct util_laps laps;
	int ret;

	util_laps_start(&laps, req->queued_us ?: start);
	util_lap(&laps, "queued");

	if (v->configured) {
		api_reply_fault(req, "Cannot load a snapshot: this petrel has a microVM configured "
				"already; load into a new one.");
		return;
	}
	log_clear_last_error();
	ret = load(v, req, &laps, err, sizeof(err));
	if (ret) {
		api_reply_fault(req, "Cannot load the snapshot: %s", *err ? err :
				*log_last_error() ? log_last_error() : strerror(-ret));
		return;
	}
	metrics_set(M_LAT_LOAD_SNAPSHOT, util_now_us() - start);
	pr_debug("load_snapshot: %s; total %" PRIu64 " us", laps.text, util_now_us() - laps.start);
	pr_info("VM restored from %s, %s", body_str(req, "snapshot_path"),
		v->state == VMM_RUNNING ? "running" : "paused");
	api_reply_ok(req);
}

#define PRE	(1u << VMM_NOT_STARTED)
#define POST	((1u << VMM_RUNNING) | (1u << VMM_PAUSED))
#define ANY	(PRE | POST)

static const struct {
	apply_fn apply;
	unsigned int states;		/* where it is allowed */
} handlers[API_NR_OPS] = {
	[API_GET_INFO] = { get_info, ANY },
	[API_GET_VERSION] = { get_version, ANY },
	[API_GET_MACHINE] = { get_machine, ANY },
	[API_GET_VM_CONFIG] = { get_vm_config, ANY },
	[API_GET_METRICS] = { get_metrics, ANY },
	[API_PUT_BOOT_SOURCE] = { put_boot_source, PRE },
	[API_PUT_MACHINE] = { put_machine, PRE },
	[API_PATCH_MACHINE] = { put_machine, PRE },
	[API_PUT_DRIVE] = { put_drive, PRE },
	[API_PATCH_DRIVE] = { patch_drive, POST },
	[API_PATCH_NET] = { patch_net, POST },
	[API_PUT_SERIAL] = { put_serial, PRE },
	[API_PUT_NET] = { put_net, PRE },
	[API_PUT_ENTROPY] = { put_entropy, PRE },
	[API_PUT_LOGGER] = { put_logger, PRE },
	[API_PUT_METRICS] = { put_metrics, PRE },
	[API_INSTANCE_START] = { instance_start, PRE },
	[API_SEND_CTRL_ALT_DEL] = { send_ctrl_alt_del, POST },
	[API_FLUSH_METRICS] = { flush_metrics, ANY },
	[API_PAUSE] = { set_paused, POST },
	[API_RESUME] = { set_paused, POST },
	[API_SNAPSHOT_CREATE] = { snapshot_create, POST },
	[API_SNAPSHOT_LOAD] = { snapshot_load, PRE },
	[API_PUT_BALLOON] = { balloon_request, PRE },
	[API_PATCH_BALLOON] = { balloon_request, ANY },
	[API_GET_BALLOON] = { balloon_request, ANY },
	[API_GET_BALLOON_STATS] = { balloon_request, POST },
	[API_PATCH_BALLOON_STATS] = { balloon_request, ANY },
	[API_BALLOON_HINT_START] = { balloon_request, POST },
	[API_BALLOON_HINT_STATUS] = { balloon_request, POST },
	[API_BALLOON_HINT_STOP] = { balloon_request, POST },
	[API_PUT_MMDS] = { mmds_store, ANY },
	[API_PATCH_MMDS] = { mmds_store, ANY },
	[API_GET_MMDS] = { get_mmds, ANY },
	[API_PUT_MMDS_CONFIG] = { put_mmds_config, PRE },
	[API_PUT_VSOCK] = { put_vsock, PRE },
};

static void apply(struct vmm *v, struct api_request *req)
{
	if (req->op >= API_NR_OPS || !handlers[req->op].apply) {
		api_reply_fault(req, "unsupported request");
		return;
	}
	if (!(handlers[req->op].states & (1u << v->state))) {
		api_reply_fault(req, "The requested operation is not supported %s starting the "
				"microVM.", v->state == VMM_NOT_STARTED ? "before" : "after");
		return;
	}
	handlers[req->op].apply(v, req);
}

/* ---- the loop ---- */

/* One request per wakeup: the fd stays readable while more wait. */
static void on_request(void *opaque, uint32_t events)
{
	struct vmm *v = opaque;
	struct api_request *req = api_server_take(v->api);

	if (!req)
		return;
	apply(v, req);
	api_server_complete(v->api, req);
}

static void on_signal(void *opaque, uint32_t events)
{
	struct vmm *v = opaque;
	struct signalfd_siginfo si;

	if (read(v->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	pr_info("received signal %u, stopping", si.ssi_signo);
	v->done = true;
	v->exit_code = 0;
}

static void on_metrics_timer(void *opaque, uint32_t events)
{
	metrics_on_timer();
}

static int watch_signals(struct vmm *v)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before any other thread starts, so they all inherit the mask. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	v->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (v->signal_fd < 0)
		return -errno;
	return event_loop_add(v->opts.loop, v->signal_fd, EPOLLIN, on_signal, v);
}

static int watch_all(struct vmm *v)
{
	int timer = metrics_timer_fd(), ret;

	ret = watch_signals(v);
	if (!ret && timer >= 0)
		ret = event_loop_add(v->opts.loop, timer, EPOLLIN, on_metrics_timer, NULL);
	if (!ret && v->api)
		ret = event_loop_add(v->opts.loop, api_server_request_fd(v->api), EPOLLIN,
				     on_request, v);
	return ret;
}

struct vmm *vmm_create(const struct vm_options *opts, const char *id, struct api_server *api)
{
	struct vmm *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return NULL;
	v->opts = *opts;
	v->api = api;
	v->signal_fd = -1;
	v->kvm.kvm_fd = v->kvm.vm_fd = -1;
	snprintf(v->id, sizeof(v->id), "%s", id ? id : LOG_DEFAULT_ID);
	config_init(&v->cfg);
	v->opts.loop = event_loop_create();
	ret = v->opts.loop ? watch_all(v) : -ENOMEM;
	if (ret) {
		pr_err("cannot set up the vmm thread: %s", strerror(-ret));
		vmm_destroy(v);
		return NULL;
	}
	return v;
}

int vmm_boot(struct vmm *v, struct vm_config *cfg)
{
	config_free(&v->cfg);
	v->cfg = *cfg;
	config_init(cfg);
	return start_vm(v);
}

int vmm_run(struct vmm *v)
{
	int ret;

	/* The api thread takes the first request meanwhile. */
	if (v->api && !v->vm)
		vm_kvm_prepare(&v->kvm);
	while (!v->done) {
		ret = event_loop_run_once(v->opts.loop, -1);
		if (ret) {
			pr_err("event loop: %s", strerror(-ret));
			return 1;
		}
		if (v->vm && !v->vm->running) {
			v->done = true;
			v->exit_code = v->vm->exit_code;
		}
	}
	return v->exit_code;
}

void vmm_destroy(struct vmm *v)
{
	if (!v)
		return;
	if (v->vm) {
		/* Where the guest never wrote the boot timer, or --boot-timer is off. */
		timeline_log("at the VM's end");
		vm_destroy(v->vm);
	} else
		metrics_flush();	/* vm_destroy writes the last line when there is a VM */
	if (v->signal_fd >= 0)
		close(v->signal_fd);
	vm_kvm_release(&v->kvm);
	event_loop_destroy(v->opts.loop);
	config_free(&v->cfg);
	free(v);
}
