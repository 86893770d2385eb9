#!/usr/bin/env bash
# Where a boot's time goes: petrel's boot timeline (docs/api.md, "The boot
# timeline") over RUNS boots of the probe guest (1 vCPU, 128 MiB), from its
# last metrics line, in two ways of starting:
#   file: petrel --no-api --config-file (the VM builds at once);
#   api:  petrel --api-sock, then curl: PUT /boot-source, PUT /metrics,
#         InstanceStart (the time between the socket and InstanceStart is
#         the client's).
#   bench/timeline.sh OUT [RUNS]     (default 10) writes OUT/MODE.PHASE,
#   µs since process start, one sample a line.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_out "$@"
bench_work
command -v jq >/dev/null || { echo "timeline.sh: jq is missing" >&2; exit 1; }
phases=(api_socket_ready instance_start memory_mapped devices_attached kernel_loaded
	first_kvm_run first_console_output boot_timer)
echo "${phases[*]}" > "$out/phases"
probe_json "$work/vm.json" "probe.action=poweroff" "\"metrics\": { \"metrics_path\": \"$work/file.m\" }"
sock=$work/api.sock
api() { curl -s --unix-socket "$sock" -X PUT "http://localhost$1" -d "$2" >/dev/null; }
{
	show "$petrel" --no-api --boot-timer --config-file "$work/vm.json"
	show_file "$work/vm.json"
	show "$petrel" --api-sock "$sock" --boot-timer
	echo "curl --unix-socket \$WORK/api.sock -X PUT http://localhost/boot-source -d '{\"kernel_image_path\": \"probe.elf\", \"boot_args\": \"console=ttyS0 probe.action=poweroff\"}'"
	echo "curl --unix-socket \$WORK/api.sock -X PUT http://localhost/metrics -d '{\"metrics_path\": \"\$WORK/api.m\"}'"
	echo "curl --unix-socket \$WORK/api.sock -X PUT http://localhost/actions -d '{\"action_type\": \"InstanceStart\"}'"
} > "$out/commands"

# record MODE METRICS_FILE: the last line's phases
record() {
	local p v
	for p in "${phases[@]}"; do
		v=$(tail -n 1 "$2" | jq -r ".boot_timeline.since_start_us.$p // empty")
		sample "$out/$1.$p" "$v"
	done
}

for _ in $(seq "$runs"); do
	rm -f "$work/file.m" "$work/api.m" "$sock"
	"$petrel" --no-api --boot-timer --config-file "$work/vm.json" </dev/null >/dev/null 2>&1
	record file "$work/file.m"
	"$petrel" --api-sock "$sock" --boot-timer </dev/null >/dev/null 2>"$work/api.log" &
	pid=$!
	wait_line "$work/api.log" "API server listening" 10
	api /boot-source "{\"kernel_image_path\": \"$probe\", \"boot_args\": \"console=ttyS0 probe.action=poweroff\"}"
	api /metrics "{\"metrics_path\": \"$work/api.m\"}"
	api /actions '{"action_type": "InstanceStart"}'
	wait "$pid" || true
	pid=
	record api "$work/api.m"
done
