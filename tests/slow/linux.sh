#!/usr/bin/env bash
# Helpers for the Linux-guest tests (sourced after tests/integration/lib.sh).

# linux_config FILE KERNEL INITRD VCPUS BOOT_ARGS
linux_config() {
	cat > "$1" <<JSON
{
  "boot-source": { "kernel_image_path": "$2", "initrd_path": "$3", "boot_args": "$5" },
  "machine-config": { "vcpu_count": $4, "mem_size_mib": 256 }
}
JSON
}

need_guest() {
	for f in "$@"; do
		[ -f "$PETREL_GUEST_DIR/$f" ] || { echo "FAIL: guest image $PETREL_GUEST_DIR/$f missing (tests/guest/build.sh all)"; exit 1; }
	done
}

# boot_linux NAME KERNEL INITRD: 2 vCPUs to the init line, then power off with exit 0.
boot_linux() {
	local name=$1
	linux_config "$T/$name.json" "$PETREL_GUEST_DIR/$2" "$PETREL_GUEST_DIR/$3" 2 \
		"console=ttyS0 reboot=k panic=1 petrel.poweroff"
	run_petrel "$name" 300 --no-api --boot-timer --config-file "$T/$name.json"
	expect_line "$name" "petrel-guest: init started cpus=2 " "$name: init line with cpus=2"
	expect_line "$name" "Guest-boot-time = [0-9]+ us" "$name: boot timer written by init"
	expect_rc "$name" 0 "$name: guest powers off"
	grep -o "Guest-boot-time = [0-9]* us" "$T/$name.out" || true
}
