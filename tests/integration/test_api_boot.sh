#!/usr/bin/env bash
# The control API's happy paths: an empty petrel configured and booted with
# curl alone (the example script, then every endpoint once), pause and resume
# (no ticks while paused, the count goes on after), PATCH /drives on a running
# VM, Ctrl-Alt-Del reaching the guest, and the logger and metrics endpoints.
. "$(dirname "$0")/api_lib.sh"
need_kvm
probe=$(probe_elf)

# ---- examples/boot-with-curl.sh ----
set +e
SOCK=$T/example.sock PETREL="$PETREL_BIN" timeout -k 5 60 \
	"$PETREL_SRC/examples/boot-with-curl.sh" "$probe" >"$T/example.out" 2>"$T/example.log"
RC=$?
set -e
expect_rc example 0 "boot-with-curl.sh: petrel ends with the guest"
expect_out example '"state":"Running"' "boot-with-curl.sh: GET / says Running"
expect_out example '^probe: tick 10$' "boot-with-curl.sh: the probe ran"
[ ! -e "$T/example.sock" ] && pass "the socket is removed at exit" || fail "socket left behind"

# ---- every endpoint, from an empty petrel ----
truncate -s 1M "$T/disk.img" "$T/disk2.img"
start_petrel boot --id api-boot
expect_api 200 '"id":"api-boot","state":"Not started"' GET /
expect_api 200 '"app_name":"petrel"' GET /
expect_api 200 '"firecracker_version":"' GET /version
expect_api 200 '"vcpu_count":1,"mem_size_mib":128' GET /machine-config
expect_api 204 "" PUT /logger \
	"{\"log_path\": \"$T/logger.txt\", \"level\": \"Debug\", \"show_level\": true}"
expect_api 204 "" PUT /metrics "{\"metrics_path\": \"$T/boot.metrics\"}"
expect_api 204 "" PUT /boot-source \
	"{\"kernel_image_path\": \"$probe\", \"boot_args\": \"console=ttyS0 probe.action=count probe.ticks=900\"}"
expect_api 204 "" PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 32}'
expect_api 204 "" PATCH /machine-config '{"mem_size_mib": 64}'
expect_api 200 '"vcpu_count":2,"mem_size_mib":64' GET /machine-config
expect_api 204 "" PUT /drives/data \
	"{\"drive_id\": \"data\", \"path_on_host\": \"$T/disk.img\", \"is_root_device\": false}"
expect_api 204 "" PUT /entropy '{}'
expect_api 200 '"entropy":{}' GET /vm/config
expect_api 200 "\"path_on_host\":\"$T/disk.img\"" GET /vm/config
expect_api 204 "" PUT /actions '{"action_type": "FlushMetrics"}'
expect_api 204 "" PUT /actions '{"action_type": "InstanceStart"}'
expect_api 200 '"state":"Running"' GET /
wait_line boot '^probe: tick 3$'

# Paused: not one tick; resumed: the next number, and on.
expect_api 204 "" PATCH /vm '{"state": "Paused"}'
expect_api 200 '"state":"Paused"' GET /
expect_api 204 "" PATCH /vm '{"state": "Paused"}'
before=$(grep -c '^probe: tick' "$T/boot.out")
sleep 1
after=$(grep -c '^probe: tick' "$T/boot.out")
[ "$before" = "$after" ] && pass "no tick in 1 s paused (at $before)" ||
	fail "ticks while paused: $before then $after"
expect_api 204 "" PATCH /vm '{"state": "Resumed"}'
expect_api 200 '"state":"Running"' GET /
wait_line boot "^probe: tick $((after + 3))$"
if grep '^probe: tick' "$T/boot.out" | awk '{ if ($3 != NR) exit 1 }'; then
	pass "the ticks go on from where they stopped, none lost"
else
	fail "tick numbers skip"
fi

# A new file behind a running drive.
expect_api 204 "" PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$T/disk2.img\"}"
expect_api 200 "\"path_on_host\":\"$T/disk2.img\"" GET /vm/config
expect_api 204 "" PATCH /drives/data '{"drive_id": "data"}'

# Metrics: the counters of what was asked, as Prometheus text and as JSON lines.
expect_api 200 'petrel_get_api_requests_instance_info_count 5' GET /metrics
expect_api 204 "" PUT /actions '{"action_type": "FlushMetrics"}'
if grep -q '"put_api_requests":{[^}]*"boot_source_count":1' "$T/boot.metrics" &&
   grep -q '"patch_api_requests":{[^}]*"vm_count":3' "$T/boot.metrics"; then
	pass "FlushMetrics wrote the request counters to metrics_path"
else
	fail "metrics_path lacks the request counters: $(tail -c 600 "$T/boot.metrics")"
fi
grep -q ':INFO\] VM started' "$T/logger.txt" && pass "PUT /logger: the log went to log_path" ||
	fail "log_path lacks 'VM started': $(tail -3 "$T/logger.txt")"
stop_petrel
[ "$RC" -eq 0 ] && pass "SIGTERM: exit 0" || fail "SIGTERM: exit $RC"
[ ! -e "$SOCK" ] && pass "the socket is removed at exit" || fail "socket left behind"

# ---- a network interface is configured (not booted: no tap here) ----
start_petrel net
expect_api 204 "" PUT /network-interfaces/eth0 \
	'{"iface_id": "eth0", "host_dev_name": "tap-api0", "guest_mac": "06:00:ac:10:00:02"}'
expect_api 200 '"network-interfaces":[{"iface_id":"eth0","host_dev_name":"tap-api0"' GET /vm/config
stop_petrel

# ---- Ctrl-Alt-Del: the guest reads it from the i8042 and powers off ----
start_petrel cad
expect_api 204 "" PUT /boot-source \
	"{\"kernel_image_path\": \"$probe\", \"boot_args\": \"console=ttyS0 probe.action=cad\"}"
expect_api 204 "" PUT /actions '{"action_type": "InstanceStart"}'
wait_line cad '^probe: cad ready$'
expect_api 204 "" PUT /actions '{"action_type": "SendCtrlAltDel"}'
wait_exit 10
expect_rc cad 0 "SendCtrlAltDel: the guest powered off"
expect_out cad '^probe: cad received$' "the probe saw Ctrl-Alt-Del"
finish
