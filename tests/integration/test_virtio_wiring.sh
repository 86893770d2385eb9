#!/usr/bin/env bash
# "entropy": {} attaches virtio-rng in the first virtio-mmio slot: the kernel
# command line names it, and the probe still boots and powers off.
. "$(dirname "$0")/lib.sh"
need_kvm
probe=$(probe_elf)

cat > "$T/rng.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$probe",
                   "boot_args": "console=ttyS0 probe.action=poweroff" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 },
  "entropy": {},
  "logger": { "level": "Debug" }
}
JSON
run_petrel rng 30 --no-api --config-file "$T/rng.json"
expect_line rng "virtio rng: V000 at 0xc0001000, GSI 5" "rng in slot 0, DSDT V000, GSI 5"
expect_line rng "kernel command line: .*probe.action=poweroff virtio_mmio.device=4K@0xc0001000:5\$" \
	"virtio_mmio.device word after boot_args"
expect_line rng "^probe: hello cpus=1\$" "probe boots with entropy"
expect_rc rng 0 "probe powers off with entropy"
finish
