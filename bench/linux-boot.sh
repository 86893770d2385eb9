#!/usr/bin/env bash
# Linux guests' boot time inside the test host VM (tests/hostvm: L1 under
# QEMU's software emulation, real KVM inside), petrel beside QEMU microvm on
# the same kernels in the same L1 (bench/inner-linux-boot.sh).
#   bench/linux-boot.sh OUT [RUNS] [GUEST...]   (default 10, all three guests)
# writes samples (µs) into OUT.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
out=$1
runs=${2:-10}
shift 2 || shift $#
mkdir -p "$out"
export PETREL_BIN=$petrel PETREL_GUEST_DIR=$guest_dir
mkdir -p "$src/build/bench"
bench_cc "$src/build/bench/linetime" linetime.c
# Boots cost about 10 s (micro) to 25 s (stock) each there, plus L1's own start.
"$src/tests/hostvm/run.sh" --timeout $((600 + runs * 200)) --include "$src/build/bench/linetime" \
	--include "$here/inner-linux-boot.sh" --output-dir "$out" \
	"$here/inner-linux-boot.sh" "$runs" "$@" >&2
