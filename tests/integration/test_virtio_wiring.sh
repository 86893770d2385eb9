#!/usr/bin/env bash
# Virtio devices take the virtio-mmio slots in config order (drives, then
# entropy): the log and the kernel command line name them, the probe drives
# virtio-rng found either way, and a config with more than 19 devices is
# refused with the sections named.
. "$(dirname "$0")/lib.sh"
need_kvm
# The rng action is newer than some cached probes: build.sh rebuilds only what changed.
"$PETREL_SRC/tests/guest/build.sh" probe >/dev/null
probe=$(probe_elf)
truncate -s 1M "$T/disk.img"

# write_vm FILE BOOT_ARGS DRIVES_JSON
write_vm() {
	cat > "$1" <<JSON
{
  "boot-source": { "kernel_image_path": "$probe", "boot_args": "$2" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 },
  "drives": [ $3 ],
  "entropy": {},
  "logger": { "level": "Debug" }
}
JSON
}

write_vm "$T/rng.json" "console=ttyS0 probe.action=poweroff" ""
run_petrel rng 30 --no-api --config-file "$T/rng.json"
expect_line rng "virtio rng: V000 at 0xc0001000, GSI 5" "rng alone: slot 0, DSDT V000, GSI 5"
expect_line rng "kernel command line: .*probe.action=poweroff virtio_mmio.device=4K@0xc0001000:5\$" \
	"virtio_mmio.device word after boot_args"
expect_line rng "^probe: hello cpus=1\$" "probe boots with entropy"
expect_rc rng 0 "probe powers off with entropy"

drive='{ "drive_id": "data", "path_on_host": "'"$T/disk.img"'", "is_root_device": false }'
for how in cmdline acpi; do
	write_vm "$T/$how.json" "console=ttyS0 probe.action=rng probe.rng_kib=16 probe.virtio=$how" \
		"$drive"
	run_petrel "$how" 30 --no-api --config-file "$T/$how.json"
	expect_line "$how" "virtio data: V000 at 0xc0001000, GSI 5" "$how: the drive comes first"
	expect_line "$how" "^probe: virtio rng id=4 at 0xc0002000 gsi=6\$" "$how: rng in slot 1"
	expect_line "$how" "^probe: rng bytes=16384 " "$how: the probe reads entropy"
	expect_rc "$how" 0 "$how: powers off"
done

drives=$drive
for i in $(seq 2 16); do
	drives="$drives, { \"drive_id\": \"d$i\", \"path_on_host\": \"$T/disk.img\", \"is_root_device\": false }"
done
write_vm "$T/many.json" "console=ttyS0" "$drives"
sed -i 's|"entropy"|"network-interfaces": [ { "iface_id": "n1", "host_dev_name": "pt1" }, { "iface_id": "n2", "host_dev_name": "pt2" }, { "iface_id": "n3", "host_dev_name": "pt3" } ],\n  "entropy"|' "$T/many.json"
run_petrel many 30 --no-api --config-file "$T/many.json"
expect_line many "drives, network-interfaces, entropy: 20 virtio devices, at most 19 fit" \
	"20 virtio devices refused"
expect_rc many 1 "20 virtio devices: exit 1"
finish
