// SPDX-License-Identifier: Apache-2.0
/*
 * The balloon's API on the vmm thread: before the start only the
 * configuration changes; after it, the device too. Answers and messages
 * follow Firecracker's (every failure a 400 naming the field).
 */
#include <linux/virtio_ids.h>
#include <string.h>

#include <petrel/api.h>

#include "vm_priv.h"

/* Firecracker's names of the statistics tags, in tag order. */
static const char *const stat_names[VIRTIO_BALLOON_NR_STATS] = {
	"swap_in", "swap_out", "major_faults", "minor_faults", "free_memory", "total_memory",
	"available_memory", "disk_caches", "hugetlb_allocations", "hugetlb_failures",
	"oom_kill", "alloc_stall", "async_scan", "direct_scan", "async_reclaim",
	"direct_reclaim",
};

#define PAGES_PER_MIB	256

static struct virtio_dev *find_balloon(struct vm *vm)
{
	for (unsigned int i = 0; vm && i < vm->nr_virtio; i++)
		if (vm->virtio[i]->ops->device_id == VIRTIO_ID_BALLOON)
			return vm->virtio[i];
	return NULL;
}

static void reply(struct api_request *req, int ret)
{
	if (ret)
		req->status = 400;	/* the parser wrote the fault */
	else
		api_reply_ok(req);
}

static void put_balloon(struct vm_config *cfg, struct api_request *req)
{
	reply(req, config_balloon_from_json(cfg, req->body, req->fault, sizeof(req->fault)));
}

static void patch_balloon(struct vm_config *cfg, struct virtio_dev *dev,
			  struct api_request *req)
{
	int ret = config_balloon_patch(cfg, req->body, req->fault, sizeof(req->fault));

	if (!ret && dev)
		virtio_balloon_set_target(dev, cfg->balloon.amount_mib);
	reply(req, ret);
}

/* After the start the statistics queue exists or not: the interval can change, not that. */
static void patch_stats(struct vm_config *cfg, struct virtio_dev *dev, struct api_request *req)
{
	struct vm_config tmp = *cfg;
	unsigned int was = cfg->balloon.stats_polling_interval_s, now;
	int ret = config_balloon_stats_patch(&tmp, req->body, req->fault, sizeof(req->fault));

	if (ret) {
		req->status = 400;
		return;
	}
	now = tmp.balloon.stats_polling_interval_s;
	if (dev && !was != !now) {
		api_reply_fault(req, "balloon/statistics.stats_polling_interval_s: statistics "
				"are turned on or off only before the microVM starts (%u now, "
				"%u asked)", was, now);
		return;
	}
	if (dev && virtio_balloon_set_stats_interval(dev, now)) {
		api_reply_fault(req, "balloon/statistics: cannot arm the polling timer");
		return;
	}
	cfg->balloon.stats_polling_interval_s = now;
	api_reply_ok(req);
}

static void get_stats(const struct vm_config *cfg, struct virtio_dev *dev,
		      struct api_request *req)
{
	struct virtio_balloon_stats st;
	json_t *j;

	if (!cfg->balloon.stats_polling_interval_s) {
		api_reply_fault(req, "Statistics for the balloon device are not enabled "
				"(balloon.stats_polling_interval_s is 0).");
		return;
	}
	virtio_balloon_get_stats(dev, &st);
	j = json_pack("{s:I, s:I, s:I, s:I}",
		      "target_pages", (json_int_t)st.target_pages,
		      "actual_pages", (json_int_t)st.actual_pages,
		      "target_mib", (json_int_t)(st.target_pages / PAGES_PER_MIB),
		      "actual_mib", (json_int_t)(st.actual_pages / PAGES_PER_MIB));
	for (unsigned int i = 0; j && i < VIRTIO_BALLOON_NR_STATS; i++)
		if (st.present & (1u << i))
			json_object_set_new(j, stat_names[i], json_integer((json_int_t)st.val[i]));
	api_reply_json(req, j);
}

static bool hinting(const struct vm_config *cfg, struct api_request *req)
{
	if (cfg->balloon.free_page_hinting)
		return true;
	api_reply_fault(req, "Free page hinting is not enabled on the balloon device "
			"(balloon.free_page_hinting).");
	return false;
}

static void hint(const struct vm_config *cfg, struct virtio_dev *dev, struct api_request *req)
{
	json_t *ack = req->body ? json_object_get(req->body, "acknowledge_on_stop") : NULL;
	struct virtio_balloon_hint h;
	json_t *j;

	if (!hinting(cfg, req))
		return;
	if (req->op == API_BALLOON_HINT_START)
		virtio_balloon_hint_start(dev, !ack || json_is_true(ack));
	else if (req->op == API_BALLOON_HINT_STOP)
		virtio_balloon_hint_stop(dev);
	if (req->op != API_BALLOON_HINT_STATUS) {
		api_reply_ok(req);
		return;
	}
	virtio_balloon_hint_status(dev, &h);
	j = json_pack("{s:I}", "host_cmd", (json_int_t)h.host_cmd);
	if (j && h.has_guest_cmd)
		json_object_set_new(j, "guest_cmd", json_integer(h.guest_cmd));
	api_reply_json(req, j);
}

void vm_balloon_request(struct vm_config *cfg, struct vm *vm, struct api_request *req)
{
	struct virtio_dev *dev = find_balloon(vm);

	if (req->op == API_PUT_BALLOON) {
		put_balloon(cfg, req);
		return;
	}
	if (!cfg->balloon.present || (vm && !dev)) {
		api_reply_fault(req, "No balloon device is configured (PUT /balloon before the "
				"start).");
		return;
	}
	switch (req->op) {
	case API_PATCH_BALLOON:
		patch_balloon(cfg, dev, req);
		break;
	case API_GET_BALLOON:
		api_reply_json(req, config_balloon_to_json(&cfg->balloon));
		break;
	case API_PATCH_BALLOON_STATS:
		patch_stats(cfg, dev, req);
		break;
	case API_GET_BALLOON_STATS:
		get_stats(cfg, dev, req);
		break;
	default:
		hint(cfg, dev, req);
		break;
	}
}
