#!/usr/bin/env bash
# Runs inside the test host VM (bench/linux-boot.sh): each Linux guest booted
# RUNS times by petrel and by QEMU microvm, interleaved, exec -> the init
# line (µs), and petrel's Guest-boot-time from the same runs. Every result
# is a line "@FILE TEXT" on stdout as soon as it is known (petrel.GUEST,
# qemu.GUEST, timer.GUEST, versions, commands), so a run cut short still
# leaves what it measured.
#   inner-linux-boot.sh [RUNS] [GUEST...]   (default 10, all three guests)
set -euo pipefail
runs=${1:-10}
shift || true
guests=("$@")
[ ${#guests[@]} -gt 0 ] || guests=(micro-vmlinux micro-bzImage stock-vmlinuz)
lt=$PETREL_SRC/build/bench/linetime
g=$PETREL_GUEST_DIR
args="console=ttyS0 reboot=k panic=1 petrel.poweroff"
marker="petrel-guest: init started"
emit() {	# emit FILE TEXT: a line for FILE (none when TEXT is empty)
	[ -z "$2" ] || echo "@$1 $2"
}
show() {	# a command line, words with spaces quoted
	local a line=
	for a in "$@"; do
		[[ $a == *" "* ]] && a="\"$a\""
		line+="${line:+ }$a"
	done
	echo "$line"
}
petrel_cfg() {	# KERNEL INITRD
	cat > /tmp/vm.json <<JSON
{ "boot-source": { "kernel_image_path": "$1", "initrd_path": "$2", "boot_args": "$args" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 256 } }
JSON
}
emit versions "l1-kernel $(uname -r)"
emit versions "l1-qemu $(qemu-system-x86_64 --version | head -n 1)"
for name in "${guests[@]}"; do
	k=$g/$name
	i=$g/${name%%-*}-initrd.cpio.gz
	petrel_cfg "$k" "$i"
	acpi=off
	[ "$name" = stock-vmlinuz ] && acpi=on
	p=("$PETREL_BIN" --no-api --boot-timer --log-path /tmp/log --config-file /tmp/vm.json)
	# shellcheck disable=SC2054 # the commas are QEMU's
	q=(qemu-system-x86_64 -M "microvm,acpi=$acpi" -enable-kvm -cpu host -m 256 -smp 1
	   -nodefaults -no-user-config -nographic -serial stdio -no-reboot
	   -kernel "$k" -initrd "$i" -append "$args")
	emit commands "$(show linetime "$marker" "${p[@]}")"
	emit commands "$(show LINETIME_KILL=1 linetime "$marker" "${q[@]}")"
	for r in $(seq "$runs"); do
		rm -f /tmp/log
		emit "petrel.$name" "$("$lt" "$marker" "${p[@]}" || true)"
		emit "timer.$name" "$(sed -n 's/.*Guest-boot-time = \([0-9]*\) us.*/\1/p' /tmp/log)"
		emit "qemu.$name" "$(LINETIME_KILL=1 "$lt" "$marker" "${q[@]}" 2>/dev/null || true)"
		echo "$name: run $r of $runs done" >&2
	done
done
