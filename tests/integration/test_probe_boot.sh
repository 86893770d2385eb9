#!/usr/bin/env bash
# The probe guest boots with 1, 2 and 8 vCPUs, sees them all through the
# ACPI MADT, and powers off with exit code 0.
. "$(dirname "$0")/lib.sh"
need_kvm
probe=$(probe_elf)

for n in 1 2 8; do
	write_config "$T/vm$n.json" "$probe" "console=ttyS0 probe.action=poweroff" "$n"
	run_petrel "cpus$n" 30 --no-api --config-file "$T/vm$n.json"
	expect_line "cpus$n" "^probe: hello cpus=$n\$" "$n vCPUs: probe sees cpus=$n"
	expect_rc "cpus$n" 0 "$n vCPUs: poweroff"
done

# Guest memory above the 32-bit hole: 4 GiB of RAM split in two regions.
write_config "$T/big.json" "$probe" "probe.action=poweroff" 1 4096
run_petrel big 30 --no-api --config-file "$T/big.json"
expect_line big "^probe: hello cpus=1\$" "4 GiB guest boots"
expect_rc big 0 "4 GiB guest powers off"
finish
