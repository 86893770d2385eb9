#!/usr/bin/env bash
# petrel's exit codes, as the table in docs/api.md and petrel(1) gives them:
# 0 when the guest powers off, 1 for bad usage, 148 for a forbidden syscall,
# 149 for SIGBUS and 150 for SIGSEGV (Firecracker's codes), each fatal signal
# logged and counted in a last metrics line, the VM's threads under their
# filters meanwhile.
. "$(dirname "$0")/api_lib.sh"
need_kvm
command -v jq >/dev/null || skip "jq is needed to read the metrics lines"
probe=$(probe_elf)

write_config "$T/off.json" "$probe" "probe.action=poweroff"
run_petrel off 30 --no-api --config-file "$T/off.json"
expect_rc off 0 "the guest powers off"

run_petrel usage 10 --no-such-flag
expect_rc usage 1 "an unknown flag"
expect_line usage "unrecognized option '--no-such-flag'" "the unknown flag is named"

run_petrel sys 10 --seccomp-selftest vcpu:execve
expect_rc sys 148 "a syscall the vCPU filter forbids"

# signal SIG CODE: a running VM ended by SIG exits CODE and says so
signal() {
	local name=$1 sig=$2 code=$3
	start_petrel "$name" --boot-timer || return
	api PUT /boot-source "{\"kernel_image_path\": \"$probe\",
		\"boot_args\": \"probe.action=count\"}"
	api PUT /metrics "{\"metrics_path\": \"$T/$name.metrics\"}"
	api PUT /actions '{"action_type": "InstanceStart"}'
	for _ in $(seq 100); do
		grep -q "probe: tick 1" "$T/$name.out" && break
		sleep 0.05
	done
	kill -"$sig" "$PID"
	wait_exit 10
	expect_rc "$name" "$code" "SIG$sig while the guest runs"
	expect_out "$name" "SIG$sig on the .* thread; exiting" "SIG$sig is logged"
	local n
	n=$(jq -s "map(.signals.sig${sig,,} // 0) | add" "$T/$name.metrics")
	[ "$n" = 1 ] && pass "signals.sig${sig,,} is 1 in the last metrics line" ||
		fail "signals.sig${sig,,} = $n in $T/$name.metrics"
}
signal bus BUS 149
signal segv SEGV 150
finish
