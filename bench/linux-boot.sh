#!/usr/bin/env bash
# Linux guests' boot time inside the test host VM (tests/hostvm: L1 under
# QEMU's software emulation, real KVM inside), petrel beside QEMU microvm on
# the same kernels in the same L1. Prints a markdown table.
#   bench/linux-boot.sh [RUNS]   (default 5)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
runs=${1:-5}
export PETREL_BIN=${PETREL_BIN:-$src/build/petrel}
export PETREL_GUEST_DIR=${PETREL_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/petrel/guest}
mkdir -p "$src/build/bench"
gcc -O2 -static -o "$src/build/bench/linetime" "$here/linetime.c"
res=$(mktemp -d)
trap 'rm -rf "$res"' EXIT
"$src/tests/hostvm/run.sh" --timeout 1800 --include build/bench/linetime \
	--include bench/inner-linux-boot.sh --output-dir "$res" \
	"$here/inner-linux-boot.sh" "$runs" >&2
echo "| guest (1 vCPU, 256 MiB), ms | petrel exec → init: min / median / p90 | QEMU microvm exec → init: min / median / p90 | ratio (median) | petrel Guest-boot-time median |"
echo "|---|---|---|---|---|"
ms() { awk '{ printf "%.0f", $1 / 1000 }' <<< "$1"; }
for name in micro-vmlinux micro-bzImage stock-vmlinuz; do
	read -r pmin pmed pp90 _ < <("$here/stats.sh" < "$res/$name.petrel")
	read -r qmin qmed qp90 _ < <("$here/stats.sh" < "$res/$name.qemu")
	read -r _ tmed _ _ < <("$here/stats.sh" < "$res/$name.timer")
	ratio=$(awk -v a="$pmed" -v b="$qmed" 'BEGIN { printf "%.2f", a / b }')
	echo "| $name | $(ms "$pmin") / $(ms "$pmed") / $(ms "$pp90") | $(ms "$qmin") / $(ms "$qmed") / $(ms "$qp90") | $ratio | $(ms "$tmed") |"
done
