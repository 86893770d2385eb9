#!/usr/bin/env bash
# Boot time of the probe guest on this host's /dev/kvm, petrel beside QEMU's
# microvm machine in the same run: process exec -> the probe's hello line,
# and petrel's own Guest-boot-time (VM build start -> boot timer write).
#   bench/boot.sh [RUNS]     (default 20) prints a markdown table.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
runs=${1:-20}
petrel=${PETREL_BIN:-$src/build/petrel}
guest_dir=${PETREL_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/petrel/guest}
probe=$guest_dir/probe.elf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/linetime" "$here/linetime.c"
cat > "$work/vm.json" <<JSON
{ "boot-source": { "kernel_image_path": "$probe", "boot_args": "console=ttyS0 probe.action=poweroff" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 } }
JSON
qemu=(qemu-system-x86_64 -M microvm -enable-kvm -cpu host,-arch-capabilities -m 128 -smp 1
      -nodefaults -no-user-config -nographic -serial stdio -kernel "$probe"
      -append "probe.action=poweroff")
fails=0
for _ in $(seq "$runs"); do
	"$work/linetime" "probe: hello" "$petrel" --no-api --config-file "$work/vm.json" \
		>> "$work/petrel" || fails=$((fails + 1))
	"$work/linetime" "probe: hello" "${qemu[@]}" >> "$work/qemu" || fails=$((fails + 1))
	"$petrel" --no-api --boot-timer --config-file "$work/vm.json" 2>&1 |
		sed -n 's/.*Guest-boot-time = \([0-9]*\) us.*/\1/p' >> "$work/timer"
done
read -r pmin pmed pp90 pn < <("$here/stats.sh" < "$work/petrel")
read -r qmin qmed qp90 qn < <("$here/stats.sh" < "$work/qemu")
read -r tmin tmed tp90 tn < <("$here/stats.sh" < "$work/timer")
ratio=$(awk -v a="$pmed" -v b="$qmed" 'BEGIN { printf "%.2f", a / b }')
echo "| measure (probe guest, 1 vCPU, 128 MiB, µs) | runs | min | median | p90 |"
echo "|---|---|---|---|---|"
echo "| petrel: exec → hello line | $pn | $pmin | $pmed | $pp90 |"
echo "| QEMU microvm: exec → hello line | $qn | $qmin | $qmed | $qp90 |"
echo "| petrel Guest-boot-time (build start → boot timer) | $tn | $tmin | $tmed | $tp90 |"
echo
echo "Ratio petrel / QEMU (median exec → hello): **$ratio**"
[ "$fails" -eq 0 ] || echo "($fails runs never printed the hello line and are left out)"
