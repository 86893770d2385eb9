#!/usr/bin/env bash
# Linux guests' boot time inside the test host VM (tests/hostvm: L1 under
# QEMU's software emulation, real KVM inside), petrel beside QEMU microvm on
# the same kernels in the same L1 (bench/inner-linux-boot.sh).
#   bench/linux-boot.sh OUT [RUNS] [GUEST...]   (default 10, all three guests)
# writes samples (µs) into OUT as they come, so a run cut short keeps them.
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
# A boot takes 5 to 30 s there (more when the host is busy), plus L1's own start.
"$src/tests/hostvm/run.sh" --timeout $((600 + runs * 300)) --include "$src/build/bench/linetime" \
	--include "$here/inner-linux-boot.sh" "$here/inner-linux-boot.sh" "$runs" "$@" |
	while IFS= read -r line; do
		line=${line%$'\r'}
		if [[ $line =~ ^@([A-Za-z0-9._-]+)\ (.*)$ ]]; then
			echo "${BASH_REMATCH[2]}" >> "$out/${BASH_REMATCH[1]}"
		else
			echo "$line" >&2
		fi
	done
