#!/usr/bin/env bash
# Runs inside the test host VM (bench/linux-boot.sh): each Linux guest booted
# RUNS times by petrel and by QEMU microvm, exec -> the init line.
set -euo pipefail
runs=${1:-5}
lt=$PETREL_SRC/build/bench/linetime
g=$PETREL_GUEST_DIR
out=${PETREL_OUT:-/tmp}
args="console=ttyS0 reboot=k panic=1 petrel.poweroff"
marker="petrel-guest: init started"
petrel_cfg() {	# KERNEL INITRD
	cat > /tmp/vm.json <<JSON
{ "boot-source": { "kernel_image_path": "$1", "initrd_path": "$2", "boot_args": "$args" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 256 } }
JSON
}
for guest in micro-vmlinux:micro-initrd.cpio.gz micro-bzImage:micro-initrd.cpio.gz \
	     stock-vmlinuz:stock-initrd.cpio.gz; do
	k=$g/${guest%%:*}
	i=$g/${guest##*:}
	name=${guest%%:*}
	petrel_cfg "$k" "$i"
	acpi=off
	[ "$name" = stock-vmlinuz ] && acpi=on
	for _ in $(seq "$runs"); do
		"$lt" "$marker" "$PETREL_BIN" --no-api --config-file /tmp/vm.json >> "$out/$name.petrel"
		"$PETREL_BIN" --no-api --boot-timer --config-file /tmp/vm.json 2>&1 |
			sed -n 's/.*Guest-boot-time = \([0-9]*\) us.*/\1/p' >> "$out/$name.timer"
		LINETIME_KILL=1 "$lt" "$marker" qemu-system-x86_64 -M microvm,acpi=$acpi \
			-enable-kvm -cpu host -m 256 -smp 1 -nodefaults -no-user-config -nographic \
			-serial stdio -no-reboot -kernel "$k" -initrd "$i" -append "$args" >> "$out/$name.qemu"
	done
done
ls "$out"
