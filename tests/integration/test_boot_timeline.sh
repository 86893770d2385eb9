#!/usr/bin/env bash
# The boot timeline: every phase of a cold boot of the probe, from process
# start to the guest's boot timer write, in the log line, the metrics JSON
# line (boot_timeline) and GET /metrics; in the documented order; a failed
# InstanceStart leaves no phase behind for the next one; a config file boot
# has all but the API's phase.
. "$(dirname "$0")/api_lib.sh"
need_kvm
command -v jq >/dev/null || skip "jq is needed to read the metrics lines"
probe=$(probe_elf)

phases=(process_start api_socket_ready instance_start memory_mapped devices_attached
	kernel_loaded first_kvm_run first_console_output boot_timer)

# check_order JSON DESC NAMES...: each phase present, none before the one before
check_order() {
	local json=$1 desc=$2 prev=-1 v name bad=
	shift 2
	for name in "$@"; do
		v=$(jq -r ".since_start_us.$name // \"missing\"" <<<"$json")
		if [ "$v" = missing ]; then
			bad+=" $name missing;"
		elif [ "$v" -lt "$prev" ]; then
			bad+=" $name ($v) before the phase before it ($prev);"
		fi
		[ "$v" = missing ] || prev=$v
	done
	# Not a speed check: a value beyond a minute means a wrong clock or base.
	if [ -z "$bad" ] && [ "$prev" -lt 60000000 ]; then
		pass "$desc: $* in order (boot timer at $prev us)"
	else
		fail "$desc:${bad:- last phase at $prev us}: $json"
	fi
}

# since_instance_start JSON NAME: the two bases differ by instance_start, to the µs
check_bases() {
	local json=$1 name ok=1 a b is
	is=$(jq -r .since_start_us.instance_start <<<"$json")
	for name in "${phases[@]:2}"; do
		a=$(jq -r ".since_start_us.$name" <<<"$json")
		b=$(jq -r ".since_instance_start_us.$name" <<<"$json")
		[ "$((a - is))" = "$b" ] || { ok=0; fail "$name: $a since start, $b since InstanceStart at $is"; }
	done
	[ $ok = 0 ] || pass "since_instance_start_us = since_start_us - instance_start, phase by phase"
	[ "$(jq -r '.since_instance_start_us | has("api_socket_ready")' <<<"$json")" = false ] &&
		pass "no phase before InstanceStart since InstanceStart" ||
		fail "api_socket_ready since InstanceStart: $json"
}

start_petrel api --boot-timer || { finish; exit 1; }
api PUT /metrics "{\"metrics_path\": \"$T/api.metrics\"}"
# A start that fails (no such kernel) marks no phase of its own.
api PUT /boot-source '{"kernel_image_path": "/nonexistent/vmlinux"}'
expect_api 400 "nonexistent" PUT /actions '{"action_type": "InstanceStart"}'
api GET /metrics
grep -q 'phase="instance_start"' <<<"$RESP" &&
	fail "a failed InstanceStart left its phases: $(grep boot_timeline <<<"$RESP")" ||
	pass "a failed InstanceStart leaves no phase"
api PUT /boot-source "{\"kernel_image_path\": \"$probe\", \"boot_args\": \"probe.action=count\"}"
expect_api 204 "" PUT /actions '{"action_type": "InstanceStart"}'
wait_line api "probe: tick 1"
api GET /metrics
for p in "${phases[@]}"; do
	grep -Eq "^petrel_boot_timeline_since_start_us\{phase=\"$p\"\} [0-9]+$" <<<"$RESP" ||
		fail "GET /metrics lacks the gauge for $p"
done
grep -q '^# TYPE petrel_boot_timeline_since_instance_start_us gauge$' <<<"$RESP" &&
	pass "GET /metrics: a gauge per phase, since start and since InstanceStart" ||
	fail "GET /metrics lacks the since_instance_start_us gauges"
stop_petrel
expect_rc api 0 "SIGTERM ends the VM"
expect_out api "Boot timeline \(boot timer\), us since process start \(since InstanceStart\): process_start 0, api_socket_ready [0-9]+, instance_start [0-9]+ \(0\), memory_mapped [0-9]+ \([0-9]+\), devices_attached [0-9]+ \([0-9]+\), kernel_loaded [0-9]+ \([0-9]+\), first_kvm_run [0-9]+ \([0-9]+\), first_console_output [0-9]+ \([0-9]+\), boot_timer [0-9]+ \([0-9]+\)$" \
	"one Info line with every phase when the boot timer fires"
json=$(tail -n 1 "$T/api.metrics" | jq -c .boot_timeline)
check_order "$json" "metrics line" "${phases[@]}"
check_bases "$json"

# Without the API and without --boot-timer: logged at the VM's end.
write_config "$T/file.json" "$probe" "probe.action=poweroff"
run_petrel file 30 --no-api --config-file "$T/file.json"
expect_rc file 0 "config file boot powers off"
expect_line file "Boot timeline \(at the VM's end\), .*: process_start 0, instance_start [0-9]+ \(0\), memory_mapped .* boot_timer [0-9]+ \([0-9]+\)$" \
	"logged at the VM's end without --boot-timer, no API phase"
finish
