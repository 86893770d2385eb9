#!/usr/bin/env bash
# How a VM ends: poweroff, i8042 reset and triple fault exit 0; SIGTERM and
# SIGINT stop a running guest cleanly; unknown port/MMIO accesses are harmless.
. "$(dirname "$0")/lib.sh"
need_kvm
probe=$(probe_elf)

for action in poweroff reset triplefault badio; do
	write_config "$T/$action.json" "$probe" "console=ttyS0 probe.action=$action"
	run_petrel "$action" 30 --no-api --level Info --config-file "$T/$action.json"
	expect_line "$action" "^probe: action=$action" "$action: probe ran"
	expect_rc "$action" 0 "$action: petrel ends the VM"
done
expect_line poweroff "guest powered off" "poweroff came through the ACPI sleep register"
expect_line reset "guest reset" "i8042 0xFE resets"
expect_line triplefault "triple fault, resetting" "triple fault is a reset"
expect_line badio "^probe: badio survived" "badio: unassigned I/O is ignored"
expect_line badio "guest powered off" "badio: then powers off"
if grep -q "failed" "$T/reset.out" "$T/poweroff.out"; then fail "the probe saw a failed reset or poweroff"; fi

for sig in TERM INT; do
	write_config "$T/halt.json" "$probe" "probe.action=halt"
	"$PETREL_BIN" --no-api --config-file "$T/halt.json" </dev/null >"$T/halt$sig.out" 2>"$T/halt$sig.log" &
	pid=$!
	for _ in $(seq 50); do grep -q "probe: halting" "$T/halt$sig.out" && break; sleep 0.1; done
	kill -"$sig" "$pid"
	set +e; wait "$pid"; RC=$?; set -e
	expect_line "halt$sig" "^probe: halting" "halt: guest running before SIG$sig"
	expect_rc "halt$sig" 0 "SIG$sig: clean exit"
done
finish
