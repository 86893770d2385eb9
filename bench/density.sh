#!/usr/bin/env bash
# Density: N probe VMs (1 vCPU, 128 MiB, probe.action=halt) started at once
# by bench/fleet, petrel beside QEMU microvm, RUNS times for each N: the time
# until every one printed its hello line, VMs per second, host memory used
# per VM (MemAvailable before the first start minus at the last hello, and
# minus one second later, over N), then SIGTERM to all; a VM fails if it
# never printed hello or did not exit with status 0.
#   bench/density.sh OUT [RUNS] [N...]   (default 10; 50 100 200) writes samples into OUT.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
out=$1
runs=${2:-10}
shift 2 || shift $#
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(50 100 200)
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bench_cc "$work/fleet" fleet.c
probe_json "$work/vm.json" "probe.action=halt"
p=("$petrel" --no-api --config-file "$work/vm.json")
q=("${qemu_probe[@]}" -append "probe.action=halt")
{
	show fleet N "probe: hello" "${p[@]}"
	show fleet N "probe: hello" "${q[@]}"
	show_file "$work/vm.json"
} > "$out/commands"
echo "${counts[*]}" > "$out/counts"

# trial WHO N CMD...: one start of N VMs.
trial() {
	local who=$1 n=$2 us ok before at later
	shift 2
	read -r us _ _ ok before at later < <("$work/fleet" "$n" "probe: hello" "$@" \
		</dev/null 2>/dev/null || true)
	sample "$out/$who.$n.failed" "$((n - ${ok:-0}))"
	[ "${us:--1}" -ge 0 ] || return 0
	sample "$out/$who.$n.all" "$us"
	sample "$out/$who.$n.rate" "$(awk -v n="$n" -v us="$us" 'BEGIN { printf "%.1f", n * 1e6 / us }')"
	sample "$out/$who.$n.mem" "$(( (before - at) / n ))"
	sample "$out/$who.$n.mem-later" "$(( (before - later) / n ))"
	sleep 1		# let the host reclaim the last fleet's memory
}

for n in "${counts[@]}"; do
	for _ in $(seq "$runs"); do
		trial petrel "$n" "${p[@]}"
		trial qemu "$n" "${q[@]}"
	done
done
