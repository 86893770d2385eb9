#!/usr/bin/env bash
# The balloon's API: every bad field is named in a 400 and changes nothing;
# what is allowed before and after the start, as Firecracker's; the config
# file's "balloon" section and GET /vm/config.
. "$(dirname "$0")/api_lib.sh"
need_kvm
probe=$(probe_elf)

start_petrel api
expect_api 400 "No balloon device is configured" GET /balloon
expect_api 400 "No balloon device is configured" PATCH /balloon '{"amount_mib":1}'
expect_api 400 "No balloon device is configured" PATCH /balloon/statistics \
	'{"stats_polling_interval_s":1}'
expect_api 400 'missing required field \"amount_mib\"' PUT /balloon '{"deflate_on_oom":true}'
expect_api 400 'missing required field \"deflate_on_oom\"' PUT /balloon '{"amount_mib":1}'
expect_api 400 "balloon.amount_mib: expected an integer" PUT /balloon \
	'{"amount_mib":"1","deflate_on_oom":true}'
expect_api 400 "balloon.amount_mib: expected an integer" PUT /balloon \
	'{"amount_mib":-4,"deflate_on_oom":true}'
expect_api 400 "balloon.deflate_on_oom: expected a boolean" PUT /balloon \
	'{"amount_mib":1,"deflate_on_oom":"yes"}'
expect_api 400 "balloon.stats_polling_interval_s: expected an integer 0..65535" PUT /balloon \
	'{"amount_mib":1,"deflate_on_oom":true,"stats_polling_interval_s":65536}'
expect_api 400 "balloon.free_page_hinting: expected a boolean" PUT /balloon \
	'{"amount_mib":1,"deflate_on_oom":true,"free_page_hinting":1}'
expect_api 400 "balloon.free_page_reporting: expected a boolean" PUT /balloon \
	'{"amount_mib":1,"deflate_on_oom":true,"free_page_reporting":"on"}'
expect_api 400 'balloon: unknown field \"x\"' PUT /balloon \
	'{"amount_mib":1,"deflate_on_oom":true,"x":1}'
expect_api 400 "balloon.amount_mib: 129 MiB is more than the guest's memory" PUT /balloon \
	'{"amount_mib":129,"deflate_on_oom":true}'
expect_api 400 "Empty PUT request" PUT /balloon ""
expect_api 400 "No balloon device is configured" GET /balloon
expect_api 204 "" PUT /balloon '{"amount_mib":16,"deflate_on_oom":true,"stats_polling_interval_s":0}'
expect_api 200 '{"amount_mib":16,"deflate_on_oom":true,"stats_polling_interval_s":0,"free_page_hinting":false,"free_page_reporting":false}' GET /balloon
expect_api 400 'balloon: unknown field \"deflate_on_oom\"' PATCH /balloon \
	'{"amount_mib":1,"deflate_on_oom":false}'
expect_api 400 'balloon: missing required field \"amount_mib\"' PATCH /balloon '{}'
expect_api 400 "balloon.amount_mib: 200 MiB is more than" PATCH /balloon '{"amount_mib":200}'
expect_api 400 "balloon/statistics.stats_polling_interval_s: expected an integer" \
	PATCH /balloon/statistics '{"stats_polling_interval_s":true}'
expect_api 400 'balloon/statistics: unknown field \"amount_mib\"' \
	PATCH /balloon/statistics '{"amount_mib":1}'
expect_api 200 '"amount_mib":16' GET /balloon
# Before the start the statistics may be turned on, and the target moved.
expect_api 204 "" PATCH /balloon/statistics '{"stats_polling_interval_s":5}'
expect_api 204 "" PATCH /balloon '{"amount_mib":8}'
expect_api 400 "not supported before starting" GET /balloon/statistics
expect_api 400 "not supported before starting" PATCH /balloon/hinting/start ""
expect_api 400 "not supported before starting" GET /balloon/hinting/status
expect_api 400 "wrong type" PATCH /balloon/hinting/start '{"acknowledge_on_stop":1}'
expect_api 400 "unknown field" PATCH /balloon/hinting/stop '{"now":true}'
expect_api 400 "Invalid request method and/or path" PATCH /balloon/hinting/go '{}'
expect_api 400 "Invalid request method and/or path" GET /balloon/statistics/more
expect_api 200 '"balloon":{"amount_mib":8,"deflate_on_oom":true,"stats_polling_interval_s":5' \
	GET /vm/config
expect_api 204 "" PUT /boot-source "{\"kernel_image_path\":\"$probe\",\"boot_args\":\"console=ttyS0 probe.action=balloon probe.balloon_pool_mib=32\"}"
expect_api 204 "" PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64}'
expect_api 204 "" PUT /actions '{"action_type":"InstanceStart"}'
wait_line api "^probe: balloon actual=2048$" 30
expect_api 400 "not supported after starting" PUT /balloon '{"amount_mib":1,"deflate_on_oom":true}'
expect_api 400 "balloon.amount_mib: 65 MiB is more than" PATCH /balloon '{"amount_mib":65}'
expect_api 200 '"target_mib":8' GET /balloon/statistics
stop_petrel

# The config file: the section, checked against the machine like PUT.
cat > "$T/bad.json" <<JSON
{ "boot-source": { "kernel_image_path": "$probe" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },
  "balloon": { "amount_mib": 100, "deflate_on_oom": false } }
JSON
run_petrel bad 20 --no-api --config-file "$T/bad.json"
expect_rc bad 1 "a config file balloon larger than the guest is refused"
expect_line bad "balloon.amount_mib: 100 MiB is more than the guest's memory" \
	"... naming the field"
cat > "$T/good.json" <<JSON
{ "boot-source": { "kernel_image_path": "$probe",
                   "boot_args": "console=ttyS0 probe.action=balloon probe.balloon_pool_mib=32" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },
  "balloon": { "amount_mib": 4, "deflate_on_oom": false } }
JSON
start_petrel file --config-file "$T/good.json"
wait_line file "^probe: balloon actual=1024$" 30
expect_api 200 '"amount_mib":4' GET /balloon
stop_petrel
finish
