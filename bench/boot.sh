#!/usr/bin/env bash
# Boot time of the probe guest (1 vCPU, 128 MiB) on this host's /dev/kvm,
# petrel beside QEMU's microvm machine, RUNS times each, interleaved:
#   exec -> the probe's hello line, for both (and petrel's own Guest-boot-time,
#   VM build start -> boot timer write, from the same runs);
#   PUT /actions InstanceStart -> hello, for petrel, and for QEMU started with
#   -S its QMP "cont" -> hello (QEMU has built the machine before "cont";
#   petrel builds it on InstanceStart).
#   bench/boot.sh OUT [RUNS]     (default 10) writes samples (µs) into OUT.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_out "$@"
bench_work
bench_cc "$work/linetime" linetime.c
bench_cc "$work/apiclient" apiclient.c
probe_json "$work/vm.json" "probe.action=poweroff"
sock=$work/api.sock
qsock=$work/qmp.sock
p_exec=("$petrel" --no-api --boot-timer --log-path "$work/log" --config-file "$work/vm.json")
q_exec=("${qemu_probe[@]}" -append "probe.action=poweroff")
p_api=("$petrel" --api-sock "$sock")
q_cont=("${qemu_probe[@]}" -append "probe.action=halt" -S -qmp "unix:$qsock,server=on,wait=off")
{
	show linetime "probe: hello" "${p_exec[@]}"
	show linetime "probe: hello" "${q_exec[@]}"
	show apiclient start SOCK "$probe" "probe.action=halt" "${p_api[@]}"
	show apiclient cont SOCK "${q_cont[@]}"
	show_file "$work/vm.json"
} > "$out/commands"
for _ in $(seq "$runs"); do
	rm -f "$work/log"
	sample "$out/petrel.exec-hello" "$("$work/linetime" "probe: hello" "${p_exec[@]}")"
	sample "$out/petrel.boot-timer" \
		"$(sed -n 's/.*Guest-boot-time = \([0-9]*\) us.*/\1/p' "$work/log")"
	sample "$out/qemu.exec-hello" "$("$work/linetime" "probe: hello" "${q_exec[@]}" 2>/dev/null)"
	read -r a h < <("$work/apiclient" start "$sock" "$probe" "probe.action=halt" "${p_api[@]}" \
		2>/dev/null || echo - -)
	sample "$out/petrel.api-answer" "$a"
	sample "$out/petrel.api-hello" "$h"
	read -r a h < <("$work/apiclient" cont "$qsock" "${q_cont[@]}" </dev/null 2>/dev/null ||
		echo - -)
	sample "$out/qemu.api-answer" "$a"
	sample "$out/qemu.api-hello" "$h"
done
