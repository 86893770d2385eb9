#!/usr/bin/env bash
# With --boot-timer, the guest's write of 123 (port 0x3f0 or MMIO 0xC0000000)
# makes petrel log Guest-boot-time.
. "$(dirname "$0")/lib.sh"
need_kvm
probe=$(probe_elf)

write_config "$T/pio.json" "$probe" "probe.action=poweroff"
run_petrel pio 30 --no-api --boot-timer --config-file "$T/pio.json"
expect_line pio "Guest-boot-time = [0-9]+ us" "boot timer through port 0x3f0"
expect_rc pio 0 "boot timer run powers off"

write_config "$T/mmio.json" "$probe" "probe.action=poweroff probe.boottimer=mmio"
run_petrel mmio 30 --no-api --boot-timer --config-file "$T/mmio.json"
expect_line mmio "Guest-boot-time = [0-9]+ us" "boot timer through MMIO 0xC0000000"

run_petrel off 30 --no-api --config-file "$T/pio.json"
if grep -q "Guest-boot-time" "$T/off.out"; then fail "boot time logged without --boot-timer"; else pass "no boot-time line without --boot-timer"; fi
finish
