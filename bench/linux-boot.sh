#!/usr/bin/env bash
# Linux guests' boot time inside the test host VM (tests/hostvm: L1 under
# QEMU's software emulation, real KVM inside), petrel beside QEMU microvm on
# the same kernels in the same L1 (bench/inner-linux-boot.sh).
#   bench/linux-boot.sh OUT [RUNS] [GUEST...]   (default 10, all three guests)
# writes samples (µs) into OUT as they come, so a run cut short keeps them.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_out "$@"
shift 2 || shift $#
bench_hostvm
mkdir -p "$src/build/bench"
bench_cc "$src/build/bench/linetime" linetime.c
[ $# -gt 0 ] || set -- micro-vmlinux micro-bzImage stock-vmlinuz

# have GUEST: runs with a sample from both monitors so far.
have() {
	local p q
	p=$(cat "$out/petrel.$1" 2>/dev/null | wc -l)
	q=$(cat "$out/qemu.$1" 2>/dev/null | wc -l)
	echo $((p < q ? p : q))
}

# One L1 for the runs a guest still needs. Samples arrive as "@FILE TEXT"
# lines; versions and commands are kept once.
batch() {	# batch GUEST RUNS
	"$src/tests/hostvm/run.sh" --timeout $((300 + $2 * 120)) \
		--include "$src/build/bench/linetime" --include "$here/inner-linux-boot.sh" \
		"$here/inner-linux-boot.sh" "$2" "$1" |
		hostvm_samples "$out"
}

# L1 itself hangs now and then (QEMU's emulation of nested SVM, see
# tests/hostvm/README.md): the samples taken so far stay, and a new L1
# takes the runs still missing, up to 5 L1s per guest.
rc=0
for g in "$@"; do
	for attempt in 1 2 3 4 5; do
		n=$((runs - $(have "$g")))
		[ "$n" -gt 0 ] || break
		[ "$attempt" = 1 ] || echo "linux-boot: $g: a new L1 for the $n runs still missing" >&2
		batch "$g" "$n" || true
	done
	if [ "$(have "$g")" -lt "$runs" ]; then
		echo "linux-boot: $g: $(have "$g") of $runs runs" >&2
		rc=1
	fi
done
exit "$rc"
