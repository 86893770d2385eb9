#!/usr/bin/env bash
# Boot the Linux test guests under QEMU's microvm with TCG (software emulation,
# so no /dev/kvm is needed) and check what the tests rely on: the init line,
# the power-off, an interactive shell on the serial console.
#   qemu-check.sh OUTDIR [CHECK...]     default: all checks, one QEMU at a time
# Checks: micro micro-vmlinux micro-smp2 micro-shell stock stock-shell rootfs
set -euo pipefail
out=${1:?usage: qemu-check.sh OUTDIR [CHECK...]}
shift
[ $# -gt 0 ] || set -- micro micro-vmlinux micro-smp2 micro-shell stock stock-shell rootfs
out=$(cd "$out" && pwd)
command -v qemu-system-x86_64 >/dev/null ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-system-x86 >/dev/null
log_dir=$out/qemu-check
mkdir -p "$log_dir"
limit=${PETREL_QEMU_TIMEOUT:-300}

# microvm has no i8042 unless asked; petrel has one, and reboot=k resets
# through it, which -no-reboot turns into QEMU's exit.
qemu_base=(qemu-system-x86_64 -cpu max -m 256 -nodefaults -no-user-config
	-nographic -serial stdio -no-reboot -device i8042)
cmdline="console=ttyS0 reboot=k panic=1"
# A hardware-reduced ACPI guest has no PIT to calibrate the TSC against and
# TCG has no kvmclock: give the kernel the TSC rate (TCG passes the host's).
tsc_khz=$(awk -F': ' '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
stock_cmdline="$cmdline tsc_early_khz=${tsc_khz:-2000000}"

init_line='petrel-guest: init started cpus=[0-9]+ mem_kb=[0-9]+'

fail() { echo "qemu-check: $1: FAIL ($2), log: $3" >&2; exit 1; }

# boot NAME QEMU-ARGS...: the guest must print the init line and power off.
boot() {
	local name=$1 logf=$log_dir/$1.log start rc=0
	shift
	start=$SECONDS
	timeout "$limit" "${qemu_base[@]}" "$@" </dev/null >"$logf" 2>&1 || rc=$?
	[ $rc -eq 0 ] || fail "$name" "QEMU exit $rc" "$logf"
	grep -qE "^$init_line" "$logf" || fail "$name" "no init line" "$logf"
	echo "qemu-check: $name: ok in $((SECONDS - start)) s: $(grep -oE "$init_line" "$logf")"
}

# shell NAME TYPED EXPECTED QEMU-ARGS...: type a line into the serial console
# after the init line and wait for the EXPECTED line; TYPED is written so that
# its echo does not read as EXPECTED.
shell() {
	local name=$1 typed=$2 expected=$3 logf=$log_dir/$1.log fifo=$log_dir/$1.in
	local pid start i
	shift 3
	rm -f "$fifo"
	mkfifo "$fifo"
	start=$SECONDS
	timeout "$limit" "${qemu_base[@]}" "$@" <"$fifo" >"$logf" 2>&1 &
	pid=$!
	exec 3>"$fifo"
	for ((i = 0; i < limit; i++)); do
		grep -qE "^$init_line" "$logf" && break
		kill -0 $pid 2>/dev/null || break
		sleep 1
	done
	sleep 2
	echo "$typed" >&3
	for ((i = 0; i < 60; i++)); do
		tr -d '\r' <"$logf" | grep -qxF "$expected" && break
		sleep 1
	done
	echo 'reboot -f' >&3
	wait $pid || true
	exec 3>&-
	rm -f "$fifo"
	tr -d '\r' <"$logf" | grep -qxF "$expected" ||
		fail "$name" "typed '$typed', no '$expected'" "$logf"
	echo "qemu-check: $name: ok in $((SECONDS - start)) s: typed '$typed', got '$expected'"
}

# The micro kernel has no ACPI; without it QEMU also lists its virtio-mmio
# devices on the command line, as petrel does.
micro_vm=(-M microvm,accel=tcg,acpi=off)
micro=("${micro_vm[@]}" -initrd "$out/micro-initrd.cpio.gz")
stock=(-M microvm,accel=tcg,acpi=on -kernel "$out/stock-vmlinuz"
	-initrd "$out/stock-initrd.cpio.gz")
# The modules the stock init loads must bind these (QEMU's vsock needs vhost).
stock_devices=(-drive id=d0,file="$out/rootfs.ext4",format=raw,if=none,snapshot=on
	-device virtio-blk-device,drive=d0 -device virtio-rng-device
	-netdev user,id=n0 -device virtio-net-device,netdev=n0)
bound_typed='echo bound: $(for d in /sys/bus/virtio/devices/*/driver; do basename $(readlink $d); done | sort)'
bound_expected='bound: virtio_blk virtio_net virtio_rng'

for check in "$@"; do
	case "$check" in
	micro) boot micro "${micro[@]}" -kernel "$out/micro-bzImage" \
		-append "$cmdline petrel.poweroff" ;;
	micro-vmlinux) boot micro-vmlinux "${micro[@]}" -kernel "$out/micro-vmlinux" \
		-append "$cmdline petrel.poweroff" ;;
	micro-smp2) boot micro-smp2 "${micro[@]}" -smp 2 -kernel "$out/micro-bzImage" \
		-append "$cmdline petrel.poweroff"
		grep -q 'cpus=2 ' "$log_dir/micro-smp2.log" ||
			fail micro-smp2 "not cpus=2" "$log_dir/micro-smp2.log" ;;
	micro-shell) shell micro-shell 'echo hel""lo' hello "${micro[@]}" -kernel "$out/micro-bzImage" \
		-append "$cmdline" ;;
	stock) boot stock "${stock[@]}" "${stock_devices[@]}" \
		-append "$stock_cmdline petrel.poweroff"
		! grep -q 'modprobe .* failed' "$log_dir/stock.log" ||
			fail stock "a module did not load" "$log_dir/stock.log" ;;
	stock-shell) shell stock-shell "$bound_typed" "$bound_expected" \
		"${stock[@]}" "${stock_devices[@]}" -append "$stock_cmdline" ;;
	rootfs) boot rootfs "${micro_vm[@]}" -kernel "$out/micro-bzImage" \
		-drive id=d0,file="$out/rootfs.ext4",format=raw,if=none,snapshot=on \
		-device virtio-blk-device,drive=d0 \
		-append "$cmdline root=/dev/vda rw petrel.poweroff" ;;
	*) echo "qemu-check: unknown check '$check'" >&2; exit 2 ;;
	esac
done
