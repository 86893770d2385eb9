// SPDX-License-Identifier: Apache-2.0
/* The config model: what a user writes, what petrel makes of it, and what it refuses. */
#include <check.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <petrel/config.h>

#define FULL_CONFIG \
	"{\"boot-source\": {\"kernel_image_path\": \"/k/vmlinux\"," \
	"  \"boot_args\": \"console=ttyS0\", \"initrd_path\": \"/k/initrd\"}," \
	" \"machine-config\": {\"vcpu_count\": 4, \"mem_size_mib\": 512, \"smt\": true," \
	"  \"huge_pages\": \"2M\", \"track_dirty_pages\": true, \"cpu_template\": \"None\"}," \
	" \"drives\": [" \
	"  {\"drive_id\": \"data\", \"path_on_host\": \"/d/data.img\", \"is_root_device\": false," \
	"   \"is_read_only\": true, \"cache_type\": \"Writeback\", \"io_engine\": \"Async\"}," \
	"  {\"drive_id\": \"rootfs\", \"path_on_host\": \"/d/root.img\", \"is_root_device\": true," \
	"   \"partuuid\": \"0eaa91a0-01\", \"rate_limiter\": null}]," \
	" \"network-interfaces\": [" \
	"  {\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": \"06:00:AC:10:00:02\"}," \
	"  {\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\"}]," \
	" \"entropy\": {}," \
	" \"logger\": {\"log_path\": \"/l/fc.log\", \"level\": \"debug\", \"show_level\": true," \
	"  \"show_log_origin\": true, \"module\": \"virtio\"}," \
	" \"metrics\": {\"metrics_path\": \"/l/metrics.fifo\", \"emit_id\": true," \
	"  \"properties\": {\"bundle_id\": \"fn-abc\"}}," \
	" \"vsock\": {\"vsock_id\": \"v0\", \"guest_cid\": 3, \"uds_path\": \"/run/v.sock\"}}"

#define MIN_CONFIG "{\"boot-source\": {\"kernel_image_path\": \"/k\"}"
/* A minimal config with one more top-level member appended. */
#define WITH(extra) MIN_CONFIG ", " extra "}"
#define MACHINE(body) WITH("\"machine-config\": {" body "}")
#define DRIVE(body) "{\"drive_id\": \"d0\", \"path_on_host\": \"/x\", " \
		    "\"is_root_device\": false" body "}"
#define NET(body) "{\"iface_id\": \"n0\", \"host_dev_name\": \"tap0\"" body "}"

static char err[512];

static int parse(const char *json, struct vm_config *cfg)
{
	err[0] = '\0';
	return config_parse_string(json, strlen(json), cfg, err, sizeof(err));
}

static json_t *from(const char *json)
{
	json_t *obj = json_loads(json, 0, NULL);

	ck_assert_ptr_nonnull(obj);
	return obj;
}

static void assert_same(const struct vm_config *a, const struct vm_config *b)
{
	json_t *ja = config_to_json(a), *jb = config_to_json(b);

	ck_assert_ptr_nonnull(ja);
	ck_assert_ptr_nonnull(jb);
	ck_assert_msg(json_equal(ja, jb), "configs differ");
	json_decref(ja);
	json_decref(jb);
}

START_TEST(test_defaults)
{
	struct vm_config cfg;

	config_init(&cfg);
	ck_assert_uint_eq(cfg.machine.vcpu_count, 1);
	ck_assert_uint_eq(cfg.machine.mem_size_mib, 128);
	ck_assert(!cfg.machine.smt);
	ck_assert_int_eq(cfg.machine.huge_pages, HUGE_PAGES_NONE);
	ck_assert_int_eq(cfg.logger.level, LOG_INFO);
	ck_assert(!cfg.logger.present && !cfg.metrics.present && !cfg.entropy);
	ck_assert_ptr_null(cfg.boot.kernel_image_path);
	ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "boot-source.kernel_image_path"));
	config_free(&cfg);
}
END_TEST

START_TEST(test_full)
{
	struct vm_config cfg;

	config_init(&cfg);
	ck_assert_msg(parse(FULL_CONFIG, &cfg) == 0, "%s", err);
	ck_assert_str_eq(cfg.boot.kernel_image_path, "/k/vmlinux");
	ck_assert_str_eq(cfg.boot.boot_args, "console=ttyS0");
	ck_assert_str_eq(cfg.boot.initrd_path, "/k/initrd");
	ck_assert_uint_eq(cfg.machine.vcpu_count, 4);
	ck_assert_uint_eq(cfg.machine.mem_size_mib, 512);
	ck_assert(cfg.machine.smt && cfg.machine.track_dirty_pages);
	ck_assert_int_eq(cfg.machine.huge_pages, HUGE_PAGES_2M);
	ck_assert_uint_eq(cfg.nr_drives, 2);
	/* The root drive comes first, whatever the order in the file. */
	ck_assert_str_eq(cfg.drives[0].drive_id, "rootfs");
	ck_assert(cfg.drives[0].is_root_device && !cfg.drives[0].is_read_only);
	ck_assert_str_eq(cfg.drives[0].partuuid, "0eaa91a0-01");
	ck_assert_int_eq(cfg.drives[0].cache_type, CACHE_UNSAFE);
	ck_assert_int_eq(cfg.drives[0].io_engine, IO_ENGINE_SYNC);
	ck_assert_str_eq(cfg.drives[1].drive_id, "data");
	ck_assert_str_eq(cfg.drives[1].path_on_host, "/d/data.img");
	ck_assert(cfg.drives[1].is_read_only);
	ck_assert_ptr_null(cfg.drives[1].partuuid);
	ck_assert_int_eq(cfg.drives[1].cache_type, CACHE_WRITEBACK);
	ck_assert_int_eq(cfg.drives[1].io_engine, IO_ENGINE_ASYNC);
	ck_assert_uint_eq(cfg.nr_nets, 2);
	ck_assert_str_eq(cfg.nets[0].host_dev_name, "tap0");
	ck_assert(cfg.nets[0].has_guest_mac && !cfg.nets[1].has_guest_mac);
	ck_assert_mem_eq(cfg.nets[0].guest_mac, "\x06\x00\xac\x10\x00\x02", 6);
	ck_assert(cfg.entropy);
	ck_assert(cfg.logger.present && cfg.logger.show_level && cfg.logger.show_log_origin);
	ck_assert_int_eq(cfg.logger.level, LOG_DEBUG);
	ck_assert_str_eq(cfg.logger.log_path, "/l/fc.log");
	ck_assert(cfg.metrics.present);
	ck_assert_str_eq(cfg.metrics.metrics_path, "/l/metrics.fifo");
	ck_assert_str_eq(cfg.logger.module, "virtio");
	ck_assert(cfg.metrics.emit_id);
	ck_assert_str_eq(json_string_value(json_object_get(cfg.metrics.properties, "bundle_id")),
			 "fn-abc");
	ck_assert_uint_eq(cfg.vsock.guest_cid, 3);
	ck_assert_str_eq(cfg.vsock.uds_path, "/run/v.sock");
	ck_assert_str_eq(cfg.vsock.vsock_id, "v0");
	ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), 0);
	config_free(&cfg);
	ck_assert_ptr_null(cfg.boot.kernel_image_path);
	ck_assert_uint_eq(cfg.nr_drives, 0);
}
END_TEST

START_TEST(test_minimal)
{
	struct vm_config cfg;

	config_init(&cfg);
	ck_assert_msg(parse(WITH("\"logger\": {}, \"drives\": null"), &cfg) == 0, "%s", err);
	ck_assert_ptr_null(cfg.boot.boot_args);
	ck_assert_ptr_null(cfg.boot.initrd_path);
	ck_assert_uint_eq(cfg.machine.vcpu_count, 1);
	ck_assert_uint_eq(cfg.machine.mem_size_mib, 128);
	ck_assert(cfg.logger.present);
	ck_assert_ptr_null(cfg.logger.log_path);
	ck_assert_int_eq(cfg.logger.level, LOG_INFO);
	ck_assert(!cfg.metrics.present && !cfg.entropy);
	config_free(&cfg);
}
END_TEST

/* The repository root, from PETREL_TEST_DATA (<root>/tests/data) or this file's path. */
static const char *examples_path(char *buf, size_t len)
{
	const char *data = getenv("PETREL_TEST_DATA");
	char src[4096];

	snprintf(src, sizeof(src), "%s", data ? data : __FILE__);
	if (!data)
		dirname(src);	/* <root>/tests/unit/test_config.c -> <root>/tests/unit */
	snprintf(buf, len, "%s/examples/vm-config.json", dirname(dirname(src)));
	return buf;
}

START_TEST(test_example_file)
{
	struct vm_config cfg;
	char path[4096];

	config_init(&cfg);
	examples_path(path, sizeof(path));
	ck_assert_msg(config_parse_file(path, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(cfg.boot.kernel_image_path, "build/guest/probe.elf");
	ck_assert_str_eq(cfg.boot.boot_args, "console=ttyS0 reboot=k panic=1");
	ck_assert_uint_eq(cfg.machine.vcpu_count, 1);
	ck_assert_uint_eq(cfg.machine.mem_size_mib, 128);
	ck_assert_uint_eq(cfg.nr_drives, 0);
	config_free(&cfg);
}
END_TEST

/* Each bad document, and the text its message must contain. */
static const struct {
	const char *json;
	const char *needle;
} bad[] = {
	{ "{\"boot-source\": {", "invalid JSON at line 1, column" },
	{ "{\n  \"boot-source\": {},\n  x\n}", "invalid JSON at line 3, column" },
	{ "{\"boot-source\": {\"kernel_image_path\": \"/a\"}, \"boot-source\": {}}",
	  "invalid JSON" },
	{ "[]", "expected a JSON object, got an array" },
	{ "{}", "missing required field \"boot-source\"" },
	{ "{\"boot-source\": null}", "missing required field \"boot-source\"" },
	{ WITH("\"vsockx\": {}"), "unknown field \"vsockx\"" },
	{ WITH("\"vsock\": {}"), "vsock: missing required field \"guest_cid\"" },
	{ WITH("\"vsock\": {\"guest_cid\": 2, \"uds_path\": \"/v\"}"),
	  "vsock.guest_cid: expected an integer 3..4294967294, got 2" },
	{ WITH("\"vsock\": {\"guest_cid\": 4294967295, \"uds_path\": \"/v\"}"),
	  "vsock.guest_cid: expected an integer 3..4294967294, got 4294967295" },
	{ WITH("\"vsock\": {\"guest_cid\": 3}"), "vsock: missing required field \"uds_path\"" },
	{ WITH("\"vsock\": {\"guest_cid\": 3, \"uds_path\": \"\"}"),
	  "vsock.uds_path: expected a non-empty string" },
	{ WITH("\"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/v\", \"cid\": 3}"),
	  "vsock: unknown field \"cid\"" },
	{ WITH("\"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/0123456789012345678901234567890123"
	       "456789012345678901234567890123456789012345678901234567890123456789\"}"),
	  "vsock.uds_path: expected at most 96 bytes" },
	{ WITH("\"balloon\": {\"amount_mib\": 1}"),
	  "balloon: missing required field \"deflate_on_oom\"" },
	{ WITH("\"balloon\": {\"deflate_on_oom\": true}"),
	  "balloon: missing required field \"amount_mib\"" },
	{ WITH("\"balloon\": {\"amount_mib\": -1, \"deflate_on_oom\": true}"),
	  "balloon.amount_mib: expected an integer" },
	{ WITH("\"balloon\": {\"amount_mib\": 200, \"deflate_on_oom\": true}"),
	  "balloon.amount_mib: 200 MiB is more than the guest's memory (machine-config.mem_size_mib 128)" },
	{ WITH("\"balloon\": {\"amount_mib\": 1, \"deflate_on_oom\": 1}"),
	  "balloon.deflate_on_oom: expected a boolean" },
	{ WITH("\"balloon\": {\"amount_mib\": 1, \"deflate_on_oom\": true, "
	       "\"stats_polling_interval_s\": 65536}"),
	  "balloon.stats_polling_interval_s: expected an integer 0..65535" },
	{ WITH("\"balloon\": {\"amount_mib\": 1, \"deflate_on_oom\": true, "
	       "\"free_page_hinting\": \"yes\"}"), "balloon.free_page_hinting: expected a boolean" },
	{ WITH("\"balloon\": {\"amount_mib\": 1, \"deflate_on_oom\": true, "
	       "\"free_page_reporting\": 0}"), "balloon.free_page_reporting: expected a boolean" },
	{ WITH("\"balloon\": {\"amount_mib\": 1, \"deflate_on_oom\": true, \"x\": 1}"),
	  "balloon: unknown field \"x\"" },
	{ WITH("\"mmds-config\": {}"), "mmds-config: missing required field \"network_interfaces\"" },
	{ WITH("\"mmds-config\": {\"network_interfaces\": [\"eth9\"]}"),
	  "mmds-config.network_interfaces[0]: no network interface \"eth9\"" },
	{ WITH("\"cpu-config\": \"/t.json\""), "cpu-config: not supported" },
	{ "{\"boot-source\": {}}", "boot-source: missing required field \"kernel_image_path\"" },
	{ "{\"boot-source\": {\"kernel_image_path\": 5}}",
	  "boot-source.kernel_image_path: expected a string, got an integer" },
	{ "{\"boot-source\": {\"kernel_image_path\": \"\"}}",
	  "boot-source.kernel_image_path: expected a non-empty string" },
	{ "{\"boot-source\": {\"kernel_image_path\": \"/k\", \"initrd\": \"/i\"}}",
	  "boot-source: unknown field \"initrd\"" },
	{ "{\"boot-source\": []}", "boot-source: expected an object, got an array" },
	{ MACHINE("\"vcpu_count\": 0, \"mem_size_mib\": 128"),
	  "machine-config.vcpu_count: expected an integer 1..32, got 0" },
	{ MACHINE("\"vcpu_count\": 33, \"mem_size_mib\": 128"),
	  "machine-config.vcpu_count: expected an integer 1..32, got 33" },
	{ MACHINE("\"vcpu_count\": -1, \"mem_size_mib\": 128"),
	  "machine-config.vcpu_count: expected an integer 1..32, got -1" },
	{ MACHINE("\"vcpu_count\": 1.5, \"mem_size_mib\": 128"),
	  "machine-config.vcpu_count: expected an integer 1..32, got a number" },
	{ MACHINE("\"vcpu_count\": \"2\", \"mem_size_mib\": 128"),
	  "machine-config.vcpu_count: expected an integer 1..32, got a string" },
	{ MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 0"), "machine-config.mem_size_mib" },
	{ MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 1048577"), "machine-config.mem_size_mib" },
	{ MACHINE("\"vcpu_count\": 1"), "machine-config: missing required field \"mem_size_mib\"" },
	{ MACHINE("\"mem_size_mib\": 128"), "machine-config: missing required field \"vcpu_count\"" },
	{ MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 128, \"foo\": 1"),
	  "machine-config: unknown field \"foo\"" },
	{ MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": 1"),
	  "machine-config.smt: expected a boolean, got an integer" },
	{ MACHINE("\"vcpu_count\": 3, \"mem_size_mib\": 128, \"smt\": true"),
	  "machine-config.vcpu_count: must be 1 or even when smt is enabled" },
	{ MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"4M\""),
	  "machine-config.huge_pages: expected one of \"None\", \"Transparent\", \"2M\", got \"4M\"" },
	{ MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 129, \"huge_pages\": \"2M\""),
	  "machine-config.mem_size_mib: must be a multiple of 2" },
	{ MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"T2\""),
	  "machine-config.cpu_template: CPU templates are not supported" },
	{ WITH("\"drives\": {}"), "drives: expected an array, got an object" },
	{ WITH("\"drives\": [" DRIVE("") ", " DRIVE(", \"foo\": 1") "]"),
	  "drives[1]: unknown field \"foo\"" },
	{ WITH("\"drives\": [" DRIVE("") ", " DRIVE("") "]"),
	  "drives[1].drive_id: duplicate id \"d0\"" },
	{ WITH("\"drives\": [{\"drive_id\": \"root-fs\", \"path_on_host\": \"/x\","
	       " \"is_root_device\": true}]"), "drives[0].drive_id: expected 1..64 letters" },
	{ WITH("\"drives\": [{\"drive_id\": \"\", \"path_on_host\": \"/x\","
	       " \"is_root_device\": true}]"), "drives[0].drive_id" },
	{ WITH("\"drives\": [{\"drive_id\": \"a\", \"is_root_device\": true}]"),
	  "drives[0]: missing required field \"path_on_host\"" },
	{ WITH("\"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/x\"}]"),
	  "drives[0]: missing required field \"is_root_device\"" },
	{ WITH("\"drives\": [" DRIVE(", \"cache_type\": \"unsafe\"") "]"),
	  "drives[0].cache_type: expected one of \"Unsafe\", \"Writeback\", got \"unsafe\"" },
	{ WITH("\"drives\": [" DRIVE(", \"io_engine\": \"Uring\"") "]"), "drives[0].io_engine" },
	{ WITH("\"drives\": [" DRIVE(", \"rate_limiter\": []") "]"),
	  "drives[0].rate_limiter: expected an object" },
	{ WITH("\"drives\": [" DRIVE(", \"rate_limiter\": {\"bw\": {}}") "]"),
	  "drives[0].rate_limiter: unknown field \"bw\"" },
	{ WITH("\"drives\": [" DRIVE(", \"rate_limiter\": {\"bandwidth\": "
	       "{\"size\": -1, \"refill_time\": 100}}") "]"),
	  "drives[0].rate_limiter.bandwidth.size: expected an integer 0..9223372036854775807, got -1" },
	{ WITH("\"drives\": [" DRIVE(", \"rate_limiter\": {\"ops\": {\"size\": 10}}") "]"),
	  "drives[0].rate_limiter.ops: missing required field \"refill_time\"" },
	{ WITH("\"drives\": [" DRIVE(", \"rate_limiter\": {\"ops\": {\"refill_time\": 10}}") "]"),
	  "drives[0].rate_limiter.ops: missing required field \"size\"" },
	{ WITH("\"drives\": [" DRIVE(", \"rate_limiter\": {\"ops\": "
	       "{\"size\": 10, \"refill_time\": \"1s\"}}") "]"),
	  "drives[0].rate_limiter.ops.refill_time: expected an integer 0..4294967295, got a string" },
	{ WITH("\"drives\": [" DRIVE(", \"rate_limiter\": {\"ops\": "
	       "{\"size\": 1, \"refill_time\": 1, \"one_time_burst\": 1.5}}") "]"),
	  "drives[0].rate_limiter.ops.one_time_burst: expected an integer 0..9223372036854775807, "
	  "got a number with a fraction" },
	{ WITH("\"drives\": [" DRIVE(", \"rate_limiter\": {\"ops\": "
	       "{\"size\": 1, \"refill_time\": 1, \"one_time_burst\": -5}}") "]"),
	  "drives[0].rate_limiter.ops.one_time_burst: expected an integer 0..9223372036854775807, "
	  "got -5" },
	{ WITH("\"drives\": [" DRIVE(", \"rate_limiter\": {\"ops\": true}") "]"),
	  "drives[0].rate_limiter.ops: expected an object" },
	{ WITH("\"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": true},"
	       " {\"drive_id\": \"b\", \"path_on_host\": \"/y\", \"is_root_device\": true}]"),
	  "drives[1].is_root_device: a root device is already configured (\"a\")" },
	{ WITH("\"network-interfaces\": [" NET(", \"guest_mac\": \"aa:bb:cc:dd:ee\"") "]"),
	  "network-interfaces[0].guest_mac: expected a MAC address" },
	{ WITH("\"network-interfaces\": [" NET(", \"guest_mac\": \"aa:bb:cc:dd:ee:fg\"") "]"),
	  "network-interfaces[0].guest_mac" },
	{ WITH("\"network-interfaces\": [" NET(", \"guest_mac\": \"aa:bb:cc:dd:ee:ff:00\"") "]"),
	  "network-interfaces[0].guest_mac" },
	{ WITH("\"network-interfaces\": [" NET(", \"guest_mac\": \"aabbccddeeff\"") "]"),
	  "network-interfaces[0].guest_mac" },
	{ WITH("\"network-interfaces\": [{\"iface_id\": \"n0\", \"host_dev_name\": \"0123456789abcdef\"}]"),
	  "network-interfaces[0].host_dev_name: expected an interface name of 1..15 bytes" },
	{ WITH("\"network-interfaces\": [{\"iface_id\": \"n0\", \"host_dev_name\": \"a/b\"}]"),
	  "network-interfaces[0].host_dev_name" },
	{ WITH("\"network-interfaces\": [{\"iface_id\": \"n0\"}]"),
	  "network-interfaces[0]: missing required field \"host_dev_name\"" },
	{ WITH("\"network-interfaces\": [" NET("") ", " NET("") "]"),
	  "network-interfaces[1].iface_id: duplicate id \"n0\"" },
	{ WITH("\"network-interfaces\": [" NET("") ", {\"iface_id\": \"n1\", \"host_dev_name\": \"tap0\"}]"),
	  "network-interfaces[1].host_dev_name: \"tap0\" is already used by interface \"n0\"" },
	{ WITH("\"network-interfaces\": [" NET(", \"tx_rate_limiter\": {\"bandwidth\": "
	       "{\"size\": 1, \"refill_time\": 4294967296}}") "]"),
	  "network-interfaces[0].tx_rate_limiter.bandwidth.refill_time: expected an integer "
	  "0..4294967295, got 4294967296" },
	{ WITH("\"network-interfaces\": [" NET(", \"rx_rate_limiter\": {\"ops\": "
	       "{\"size\": 1, \"refill_time\": 1, \"extra\": 1}}") "]"),
	  "network-interfaces[0].rx_rate_limiter.ops: unknown field \"extra\"" },
	{ WITH("\"network-interfaces\": [" NET(", \"rx_rate_limiter\": 5") "]"),
	  "network-interfaces[0].rx_rate_limiter: expected an object" },
	{ WITH("\"network-interfaces\": [" NET(", \"mtu\": 67") "]"),
	  "network-interfaces[0].mtu: expected an integer 68..65535, got 67" },
	{ WITH("\"network-interfaces\": [" NET(", \"mtu\": 65536") "]"),
	  "network-interfaces[0].mtu: expected an integer 68..65535, got 65536" },
	{ WITH("\"network-interfaces\": [" NET(", \"mtu\": \"1500\"") "]"),
	  "network-interfaces[0].mtu: expected an integer 68..65535, got a string" },
	{ WITH("\"entropy\": {\"rate_limiter\": {\"bandwidth\": {}}}"),
	  "entropy.rate_limiter.bandwidth: missing required field \"size\"" },
	{ WITH("\"entropy\": {\"rate_limiter\": {\"ops\": {\"size\": \"x\", \"refill_time\": 1}}}"),
	  "entropy.rate_limiter.ops.size: expected an integer 0..9223372036854775807, got a string" },
	{ WITH("\"serial\": {\"serial_out_path\": \"\"}"),
	  "serial.serial_out_path: expected a non-empty string" },
	{ WITH("\"serial\": {\"serial_out_path\": 1}"),
	  "serial.serial_out_path: expected a string" },
	{ WITH("\"serial\": {\"rate_limiter\": {\"bandwidth\": {\"size\": 1, \"refill_time\": 1}}}"),
	  "serial.rate_limiter: unknown field \"bandwidth\"" },
	{ WITH("\"serial\": {\"rate_limiter\": {\"size\": 1, \"refill_time\": -1}}"),
	  "serial.rate_limiter.refill_time: expected an integer 0..4294967295, got -1" },
	{ WITH("\"serial\": {\"out\": \"/x\"}"), "serial: unknown field \"out\"" },
	{ WITH("\"entropy\": []"), "entropy: expected an object" },
	{ WITH("\"logger\": {\"level\": \"loud\"}"),
	  "logger.level: expected one of Off, Error, Warning, Info, Debug, Trace, got \"loud\"" },
	{ WITH("\"logger\": {\"module\": 3}"), "logger.module: expected a string, got an integer" },
	{ WITH("\"metrics\": {\"metrics_path\": \"/m\", \"emit_id\": \"yes\"}"),
	  "metrics.emit_id: expected a boolean, got a string" },
	{ WITH("\"metrics\": {\"metrics_path\": \"/m\", \"properties\": []}"),
	  "metrics.properties: expected an object of strings, got an array" },
	{ WITH("\"metrics\": {\"metrics_path\": \"/m\", \"properties\": {\"a\": 1}}"),
	  "metrics.properties: \"a\": expected a string, got an integer" },
	{ WITH("\"logger\": {\"show_level\": \"yes\"}"), "logger.show_level: expected a boolean" },
	{ WITH("\"metrics\": {}"), "metrics: missing required field \"metrics_path\"" },
	{ WITH("\"metrics\": {\"metrics_path\": \"/m\", \"x\": 1}"), "metrics: unknown field \"x\"" },
};

START_TEST(test_bad_document)
{
	struct vm_config cfg, fresh;
	int ret;

	config_init(&cfg);
	config_init(&fresh);
	ret = parse(bad[_i].json, &cfg);
	ck_assert_msg(ret == -EINVAL, "[%d] returned %d for %s", _i, ret, bad[_i].json);
	ck_assert_msg(strstr(err, bad[_i].needle), "[%d] message \"%s\" lacks \"%s\"",
		      _i, err, bad[_i].needle);
	assert_same(&cfg, &fresh);

	/* A configured cfg is left exactly as it was. */
	ck_assert_int_eq(parse(FULL_CONFIG, &cfg), 0);
	ck_assert_int_eq(parse(FULL_CONFIG, &fresh), 0);
	ck_assert_int_eq(parse(bad[_i].json, &cfg), -EINVAL);
	assert_same(&cfg, &fresh);
	config_free(&cfg);
	config_free(&fresh);
}
END_TEST

/* A document with n drives (the first one the root), in a malloc'd string. */
static char *many_drives(unsigned int n)
{
	size_t len = 64 + n * 128;
	char *s = malloc(len);
	size_t off;

	ck_assert_ptr_nonnull(s);
	off = snprintf(s, len, "{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"drives\": [");
	for (unsigned int i = 0; i < n; i++)
		off += snprintf(s + off, len - off,
				"%s{\"drive_id\": \"d%u\", \"path_on_host\": \"/d%u\", \"is_root_device\": %s}",
				i ? ", " : "", i, i, i ? "false" : "true");
	snprintf(s + off, len - off, "]}");
	return s;
}

START_TEST(test_drive_limit)
{
	struct vm_config cfg;
	char *json;

	config_init(&cfg);
	json = many_drives(CONFIG_MAX_DRIVES);
	ck_assert_msg(parse(json, &cfg) == 0, "%s", err);
	ck_assert_uint_eq(cfg.nr_drives, CONFIG_MAX_DRIVES);
	free(json);
	json = many_drives(CONFIG_MAX_DRIVES + 1);
	ck_assert_int_eq(parse(json, &cfg), -EINVAL);
	ck_assert_msg(strstr(err, "drives[16]: too many drives"), "%s", err);
	ck_assert_uint_eq(cfg.nr_drives, CONFIG_MAX_DRIVES);
	free(json);
	config_free(&cfg);
}
END_TEST

START_TEST(test_net_limit)
{
	struct vm_config cfg;
	char json[2048];
	size_t off;

	config_init(&cfg);
	off = snprintf(json, sizeof(json), "%s", MIN_CONFIG ", \"network-interfaces\": [");
	for (int i = 0; i <= CONFIG_MAX_NETS; i++)
		off += snprintf(json + off, sizeof(json) - off,
				"%s{\"iface_id\": \"n%d\", \"host_dev_name\": \"tap%d\"}",
				i ? ", " : "", i, i);
	snprintf(json + off, sizeof(json) - off, "]}");
	ck_assert_int_eq(parse(json, &cfg), -EINVAL);
	ck_assert_msg(strstr(err, "network-interfaces[8]: too many"), "%s", err);
	config_free(&cfg);
}
END_TEST

#define LIMITED_CONFIG \
	WITH("\"drives\": [" DRIVE(", \"rate_limiter\": {\"bandwidth\": {\"size\": 2097152, " \
	     "\"one_time_burst\": 1048576, \"refill_time\": 1000}, \"ops\": null}") "]," \
	     " \"network-interfaces\": [" NET(", \"mtu\": 9000, \"rx_rate_limiter\": {\"ops\": " \
	     "{\"size\": 100, \"refill_time\": 10}}, \"tx_rate_limiter\": {}") "]," \
	     " \"entropy\": {\"rate_limiter\": {\"bandwidth\": {\"size\": 0, \"refill_time\": 0}}}," \
	     " \"serial\": {\"serial_out_path\": \"/tmp/console\", \"rate_limiter\": " \
	     "{\"size\": 100, \"refill_time\": 1000}}")

/* Every limiter field is kept as given, and shown again as given. */
START_TEST(test_limiters)
{
	struct vm_config cfg;
	const struct rl_config *d, *rx, *tx;
	json_t *j, *n;

	config_init(&cfg);
	ck_assert_msg(parse(LIMITED_CONFIG, &cfg) == 0, "%s", err);
	d = &cfg.drives[0].rate_limiter;
	ck_assert(d->present && d->bandwidth.present && !d->ops.present);
	ck_assert_uint_eq(d->bandwidth.size, 2097152);
	ck_assert_uint_eq(d->bandwidth.one_time_burst, 1048576);
	ck_assert_uint_eq(d->bandwidth.refill_time, 1000);
	rx = &cfg.nets[0].rx_rate_limiter;
	tx = &cfg.nets[0].tx_rate_limiter;
	ck_assert(rx->present && rx->ops.present && rx->ops.size == 100 && !rx->bandwidth.present);
	ck_assert(tx->present && !tx->ops.present && !tx->bandwidth.present);
	ck_assert_uint_eq(cfg.nets[0].mtu, 9000);
	ck_assert(cfg.entropy && cfg.entropy_rate_limiter.bandwidth.present);
	ck_assert_str_eq(cfg.serial.serial_out_path, "/tmp/console");
	ck_assert_uint_eq(cfg.serial.rate_limiter.size, 100);

	j = config_to_json(&cfg);
	n = json_array_get(json_object_get(j, "network-interfaces"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(n, "mtu")), 9000);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(n,
		"rx_rate_limiter"), "ops"), "refill_time")), 10);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(
		json_array_get(json_object_get(j, "drives"), 0), "rate_limiter"), "bandwidth"),
		"one_time_burst")), 1048576);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "serial"),
							   "serial_out_path")), "/tmp/console");
	json_decref(j);
	config_free(&cfg);
}
END_TEST

START_TEST(test_round_trip)
{
	static const char *const docs[] = { FULL_CONFIG, MIN_CONFIG "}", LIMITED_CONFIG };
	struct vm_config a, b;
	json_t *ja, *jb;
	char *text;

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		config_init(&a);
		config_init(&b);
		ck_assert_int_eq(parse(docs[i], &a), 0);
		ja = config_to_json(&a);
		ck_assert_ptr_nonnull(ja);
		text = json_dumps(ja, JSON_INDENT(2));
		ck_assert_msg(parse(text, &b) == 0, "%s\n%s", err, text);
		jb = config_to_json(&b);
		ck_assert_msg(json_equal(ja, jb), "round trip differs:\n%s", text);
		ck_assert_uint_eq(a.nr_drives, b.nr_drives);
		free(text);
		json_decref(ja);
		json_decref(jb);
		config_free(&a);
		config_free(&b);
	}
}
END_TEST

START_TEST(test_to_json_shape)
{
	struct vm_config cfg;
	json_t *j;

	config_init(&cfg);
	ck_assert_int_eq(parse(FULL_CONFIG, &cfg), 0);
	j = config_to_json(&cfg);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "machine-config"),
							   "huge_pages")), "2M");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
		json_object_get(j, "network-interfaces"), 0), "guest_mac")), "06:00:ac:10:00:02");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "logger"),
							   "level")), "Debug");
	ck_assert_ptr_nonnull(json_object_get(j, "entropy"));
	json_decref(j);
	config_free(&cfg);

	/* Sections that were never configured stay out. */
	j = config_to_json(&cfg);
	ck_assert_ptr_null(json_object_get(j, "entropy"));
	ck_assert_ptr_null(json_object_get(j, "logger"));
	ck_assert_ptr_null(json_object_get(j, "metrics"));
	ck_assert_uint_eq(json_array_size(json_object_get(j, "drives")), 0);
	ck_assert_uint_eq(json_object_size(json_object_get(j, "boot-source")), 0);
	json_decref(j);
}
END_TEST

#define TRAILING_COMMA "{\n  \"boot-source\": {\n    \"kernel_image_path\": \"/k\",\n  }\n}"

static char *write_temp(const char *text, size_t len)
{
	static char path[] = "/tmp/petrel-test-config-XXXXXX";
	char *p = strdup(path);
	int fd;

	ck_assert_ptr_nonnull(p);
	fd = mkstemp(p);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return p;
}

START_TEST(test_file_errors)
{
	struct vm_config cfg;
	char *path, *big;
	int ret;

	config_init(&cfg);
	ret = config_parse_file("/nonexistent/vm.json", &cfg, err, sizeof(err));
	ck_assert_int_eq(ret, -ENOENT);
	ck_assert_str_eq(err, "config file /nonexistent/vm.json: No such file or directory");

	path = write_temp(TRAILING_COMMA, strlen(TRAILING_COMMA));
	ck_assert_int_eq(config_parse_file(path, &cfg, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, path) && strstr(err, "invalid JSON at line 4, column"), "%s", err);
	unlink(path);
	free(path);

	path = write_temp(MACHINE("\"vcpu_count\": 0, \"mem_size_mib\": 1"),
			  strlen(MACHINE("\"vcpu_count\": 0, \"mem_size_mib\": 1")));
	ck_assert_int_eq(config_parse_file(path, &cfg, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, path) && strstr(err, "machine-config.vcpu_count"), "%s", err);
	unlink(path);
	free(path);

	big = calloc(1, (1 << 20) + 2);
	memset(big, ' ', (1 << 20) + 1);
	path = write_temp(big, (1 << 20) + 1);
	ck_assert_int_eq(config_parse_file(path, &cfg, err, sizeof(err)), -EFBIG);
	ck_assert_msg(strstr(err, path) && strstr(err, "1 MiB"), "%s", err);
	unlink(path);
	free(path);
	free(big);

	ck_assert_int_eq(config_parse_file("/tmp", &cfg, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "config file /tmp is a directory, not a regular file or a FIFO"), "%s", err);
	config_free(&cfg);
}
END_TEST

START_TEST(test_machine_put_patch)
{
	struct vm_config cfg;
	json_t *o;

	config_init(&cfg);
	o = from("{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"smt\": true, \"track_dirty_pages\": true}");
	ck_assert_int_eq(config_machine_from_json(&cfg, o, false, err, sizeof(err)), 0);
	json_decref(o);
	ck_assert(cfg.machine.smt && cfg.machine.vcpu_count == 2);

	/* PATCH changes only what it names. */
	o = from("{\"mem_size_mib\": 1024, \"huge_pages\": \"Transparent\"}");
	ck_assert_int_eq(config_machine_from_json(&cfg, o, true, err, sizeof(err)), 0);
	json_decref(o);
	ck_assert_uint_eq(cfg.machine.mem_size_mib, 1024);
	ck_assert_int_eq(cfg.machine.huge_pages, HUGE_PAGES_TRANSPARENT);
	ck_assert(cfg.machine.smt && cfg.machine.track_dirty_pages);
	ck_assert_uint_eq(cfg.machine.vcpu_count, 2);

	/* A PATCH that breaks a cross-field rule changes nothing. */
	o = from("{\"vcpu_count\": 3}");
	ck_assert_int_eq(config_machine_from_json(&cfg, o, true, err, sizeof(err)), -EINVAL);
	json_decref(o);
	ck_assert_msg(strstr(err, "machine-config.vcpu_count"), "%s", err);
	ck_assert_uint_eq(cfg.machine.vcpu_count, 2);

	o = from("{}");
	ck_assert_int_eq(config_machine_from_json(&cfg, o, true, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(config_machine_from_json(&cfg, o, false, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "machine-config: missing required field \"vcpu_count\""), "%s", err);
	json_decref(o);

	/* PUT resets what it does not name. */
	o = from("{\"vcpu_count\": 1, \"mem_size_mib\": 64}");
	ck_assert_int_eq(config_machine_from_json(&cfg, o, false, err, sizeof(err)), 0);
	json_decref(o);
	ck_assert(!cfg.machine.smt && !cfg.machine.track_dirty_pages);
	ck_assert_int_eq(cfg.machine.huge_pages, HUGE_PAGES_NONE);
	ck_assert_uint_eq(cfg.machine.mem_size_mib, 64);
	ck_assert_int_eq(config_machine_from_json(&cfg, NULL, true, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "machine-config: expected an object"), "%s", err);
	config_free(&cfg);
}
END_TEST

typedef int (*section_fn)(struct vm_config *cfg, json_t *obj, char *err, size_t errlen);

/* Apply one request body with a section parser, as an API PUT handler does. */
static int put(section_fn fn, struct vm_config *cfg, const char *json)
{
	json_t *o = from(json);
	int ret = fn(cfg, o, err, sizeof(err));

	json_decref(o);
	return ret;
}

#define put_drive(cfg, json) put(config_drive_from_json, cfg, json)
#define put_net(cfg, json) put(config_net_from_json, cfg, json)

START_TEST(test_drive_put)
{
	struct vm_config cfg;

	config_init(&cfg);
	ck_assert_int_eq(put_drive(&cfg, "{\"drive_id\": \"a\", \"path_on_host\": \"/a\","
				   " \"is_root_device\": false}"), 0);
	ck_assert_int_eq(put_drive(&cfg, "{\"drive_id\": \"b\", \"path_on_host\": \"/b\","
				   " \"is_root_device\": false}"), 0);
	/* Same id: replaced in place, and a new root moves to the front. */
	ck_assert_int_eq(put_drive(&cfg, "{\"drive_id\": \"b\", \"path_on_host\": \"/b2\","
				   " \"is_root_device\": true}"), 0);
	ck_assert_uint_eq(cfg.nr_drives, 2);
	ck_assert_str_eq(cfg.drives[0].drive_id, "b");
	ck_assert_str_eq(cfg.drives[0].path_on_host, "/b2");
	ck_assert_str_eq(cfg.drives[1].drive_id, "a");
	/* A second root is refused; replacing the root itself is fine. */
	ck_assert_int_eq(put_drive(&cfg, "{\"drive_id\": \"a\", \"path_on_host\": \"/a\","
				   " \"is_root_device\": true}"), -EINVAL);
	ck_assert_msg(strstr(err, "drive.is_root_device"), "%s", err);
	ck_assert(!cfg.drives[1].is_root_device);
	ck_assert_int_eq(put_drive(&cfg, "{\"drive_id\": \"b\", \"path_on_host\": \"/b3\","
				   " \"is_root_device\": true, \"is_read_only\": true}"), 0);
	ck_assert(cfg.drives[0].is_read_only);
	ck_assert_int_eq(put_drive(&cfg, "{\"drive_id\": \"c\", \"path_on_host\": 1,"
				   " \"is_root_device\": false}"), -EINVAL);
	ck_assert_msg(strstr(err, "drive.path_on_host: expected a string"), "%s", err);
	ck_assert_uint_eq(cfg.nr_drives, 2);
	config_free(&cfg);
}
END_TEST

START_TEST(test_net_put)
{
	struct vm_config cfg;

	config_init(&cfg);
	ck_assert_int_eq(put_net(&cfg, "{\"iface_id\": \"a\", \"host_dev_name\": \"tap0\","
				 " \"guest_mac\": \"02:00:00:00:00:01\"}"), 0);
	ck_assert_int_eq(put_net(&cfg, "{\"iface_id\": \"a\", \"host_dev_name\": \"tap9\"}"), 0);
	ck_assert_uint_eq(cfg.nr_nets, 1);
	ck_assert_str_eq(cfg.nets[0].host_dev_name, "tap9");
	ck_assert(!cfg.nets[0].has_guest_mac);
	ck_assert_int_eq(put_net(&cfg, "{\"iface_id\": \"b\", \"host_dev_name\": \"tap1\","
				 " \"guest_mac\": \"02:00:00:00:00:01\"}"), 0);
	ck_assert_int_eq(put_net(&cfg, "{\"iface_id\": \"c\", \"host_dev_name\": \"tap2\","
				 " \"guest_mac\": \"02:00:00:00:00:01\"}"), -EINVAL);
	ck_assert_msg(strstr(err, "network-interface.guest_mac: already used by interface \"b\""),
		      "%s", err);
	ck_assert_uint_eq(cfg.nr_nets, 2);
	config_free(&cfg);
}
END_TEST

START_TEST(test_sections_put)
{
	struct vm_config cfg;

	config_init(&cfg);
	ck_assert_int_eq(put(config_boot_source_from_json, &cfg,
			     "{\"kernel_image_path\": \"/k\", \"boot_args\": \"quiet\"}"), 0);
	ck_assert_int_eq(put(config_boot_source_from_json, &cfg,
			     "{\"kernel_image_path\": \"/k2\", \"boot_args\": 3}"), -EINVAL);
	ck_assert_msg(strstr(err, "boot-source.boot_args: expected a string"), "%s", err);
	ck_assert_str_eq(cfg.boot.kernel_image_path, "/k");
	ck_assert_str_eq(cfg.boot.boot_args, "quiet");

	/* The logger keeps what a later request does not name, as Firecracker's. */
	ck_assert_int_eq(put(config_logger_from_json, &cfg,
			     "{\"level\": \"WARNING\", \"log_path\": \"/l\"}"), 0);
	ck_assert_int_eq(put(config_logger_from_json, &cfg, "{\"show_level\": true}"), 0);
	ck_assert(cfg.logger.present && cfg.logger.show_level);
	ck_assert_int_eq(cfg.logger.level, LOG_WARN);
	ck_assert_str_eq(cfg.logger.log_path, "/l");

	ck_assert_int_eq(put(config_metrics_from_json, &cfg, "{\"metrics_path\": \"/m\"}"), 0);
	ck_assert_int_eq(put(config_metrics_from_json, &cfg, "{\"metrics_path\": \"\"}"), -EINVAL);
	ck_assert_msg(strstr(err, "metrics.metrics_path: expected a non-empty string"), "%s", err);
	ck_assert_str_eq(cfg.metrics.metrics_path, "/m");

	/* vsock: a second PUT replaces the device; a bad one changes nothing. */
	ck_assert_int_eq(put(config_vsock_from_json, &cfg,
			     "{\"guest_cid\": 3, \"uds_path\": \"/a\"}"), 0);
	ck_assert_int_eq(put(config_vsock_from_json, &cfg,
			     "{\"guest_cid\": 7, \"uds_path\": \"/b\", \"vsock_id\": \"x\"}"), 0);
	ck_assert_int_eq(put(config_vsock_from_json, &cfg,
			     "{\"guest_cid\": 1, \"uds_path\": \"/c\"}"), -EINVAL);
	ck_assert_uint_eq(cfg.vsock.guest_cid, 7);
	ck_assert_str_eq(cfg.vsock.uds_path, "/b");
	ck_assert_str_eq(cfg.vsock.vsock_id, "x");
	ck_assert_int_eq(put(config_vsock_override, &cfg, "{\"uds_path\": \"/clone\"}"), 0);
	ck_assert_str_eq(cfg.vsock.uds_path, "/clone");
	ck_assert_int_eq(put(config_vsock_override, &cfg, "{\"path\": \"/x\"}"), -EINVAL);
	ck_assert_msg(strstr(err, "vsock_override: unknown field \"path\""), "%s", err);
	ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), 0);
	config_free(&cfg);
}
END_TEST

START_TEST(test_balloon)
{
	struct vm_config cfg;
	json_t *j;

	config_init(&cfg);
	ck_assert_int_eq(put(config_balloon_patch, &cfg, "{\"amount_mib\": 1}"), -EINVAL);
	ck_assert_msg(strstr(err, "balloon: no balloon device is configured"), "%s", err);
	ck_assert_int_eq(put(config_balloon_from_json, &cfg,
			     "{\"amount_mib\": 64, \"deflate_on_oom\": true, "
			     "\"stats_polling_interval_s\": 1, \"free_page_reporting\": true}"), 0);
	ck_assert(cfg.balloon.present && cfg.balloon.deflate_on_oom);
	ck_assert_uint_eq(cfg.balloon.amount_mib, 64);
	ck_assert(cfg.balloon.free_page_reporting && !cfg.balloon.free_page_hinting);

	/* A target the guest's memory cannot hold, or a field PATCH does not take: nothing changes. */
	ck_assert_int_eq(put(config_balloon_patch, &cfg, "{\"amount_mib\": 129}"), -EINVAL);
	ck_assert_msg(strstr(err, "balloon.amount_mib: 129 MiB is more than"), "%s", err);
	ck_assert_int_eq(put(config_balloon_patch, &cfg,
			     "{\"amount_mib\": 1, \"deflate_on_oom\": false}"), -EINVAL);
	ck_assert_msg(strstr(err, "balloon: unknown field \"deflate_on_oom\""), "%s", err);
	ck_assert_int_eq(put(config_balloon_patch, &cfg, "{}"), -EINVAL);
	ck_assert_msg(strstr(err, "balloon: missing required field \"amount_mib\""), "%s", err);
	ck_assert_uint_eq(cfg.balloon.amount_mib, 64);
	ck_assert_int_eq(put(config_balloon_patch, &cfg, "{\"amount_mib\": 128}"), 0);
	ck_assert_uint_eq(cfg.balloon.amount_mib, 128);

	ck_assert_int_eq(put(config_balloon_stats_patch, &cfg,
			     "{\"stats_polling_interval_s\": \"2\"}"), -EINVAL);
	ck_assert_msg(strstr(err, "balloon/statistics.stats_polling_interval_s"), "%s", err);
	ck_assert_int_eq(put(config_balloon_stats_patch, &cfg,
			     "{\"stats_polling_interval_s\": 0}"), 0);
	ck_assert_uint_eq(cfg.balloon.stats_polling_interval_s, 0);

	/* Shrinking the machine under the balloon is caught before the start. */
	cfg.machine.mem_size_mib = 64;
	cfg.boot.kernel_image_path = strdup("/k");
	ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "balloon.amount_mib"), "%s", err);

	j = config_to_json(&cfg);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "balloon"),
							    "amount_mib")), 128);
	ck_assert(json_is_true(json_object_get(json_object_get(j, "balloon"),
					       "free_page_reporting")));
	json_decref(j);
	config_free(&cfg);
}
END_TEST

START_TEST(test_validate)
{
	struct vm_config cfg;

	config_init(&cfg);
	ck_assert_int_eq(parse(MIN_CONFIG "}", &cfg), 0);
	ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), 0);
	cfg.machine.smt = true;
	cfg.machine.vcpu_count = 5;
	ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "machine-config.vcpu_count"), "%s", err);
	cfg.machine.vcpu_count = 4;
	cfg.nr_drives = 2;
	cfg.drives[0] = (struct drive_config){ .drive_id = strdup("a"), .path_on_host = strdup("/a"),
					       .is_root_device = true };
	cfg.drives[1] = (struct drive_config){ .drive_id = strdup("b"), .path_on_host = strdup("/b"),
					       .is_root_device = true };
	ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "drives: 2 drives have is_root_device"), "%s", err);
	/* A tiny error buffer truncates, never overflows. */
	ck_assert_int_eq(config_validate(&cfg, err, 4), -EINVAL);
	ck_assert_str_eq(err, "dri");
	ck_assert_int_eq(config_validate(&cfg, NULL, 0), -EINVAL);
	config_free(&cfg);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_minimal);
	tcase_add_test(tc, test_example_file);
	tcase_add_loop_test(tc, test_bad_document, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_drive_limit);
	tcase_add_test(tc, test_net_limit);
	tcase_add_test(tc, test_limiters);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_to_json_shape);
	tcase_add_test(tc, test_file_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("api");
	tcase_add_test(tc, test_machine_put_patch);
	tcase_add_test(tc, test_drive_put);
	tcase_add_test(tc, test_net_put);
	tcase_add_test(tc, test_sections_put);
	tcase_add_test(tc, test_validate);
	tcase_add_test(tc, test_balloon);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
