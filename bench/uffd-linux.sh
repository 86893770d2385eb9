#!/usr/bin/env bash
# Uffd restore of a Linux guest inside the test host VM (tests/hostvm: L1
# under QEMU's software emulation, real KVM inside): the micro kernel
# snapshotted at its shell, restored through petrel-uffd-handler on demand,
# with --record and with --prefetch of the recorded pages, beside the File
# backend (bench/inner-uffd-linux.sh).
#   bench/uffd-linux.sh OUT [RUNS]   (default 10)
# writes samples into OUT as they come, so a run cut short keeps them.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
out=$1
runs=${2:-10}
mkdir -p "$out" "$src/build/bench"
export PETREL_BIN=$petrel PETREL_GUEST_DIR=$guest_dir
export PETREL_UFFD_HANDLER=${PETREL_UFFD_HANDLER:-$src/build/examples/uffd/petrel-uffd-handler}
[ -x "$PETREL_UFFD_HANDLER" ] || { echo "uffd-linux: no $PETREL_UFFD_HANDLER (build petrel)" >&2; exit 1; }
bench_cc "$src/build/bench/apiclient" apiclient.c

# have: rounds with a sample of every mode so far.
have() {
	local m n min=$runs
	for m in file plain prefetch; do
		n=$(cat "$out/$m.answer" 2>/dev/null | wc -l)
		[ "$n" -ge "$min" ] || min=$n
	done
	echo "$min"
}

# One L1 for the rounds still needed (its own snapshot and recording). Samples
# arrive as "@FILE TEXT" lines; versions and commands are kept once.
batch() {	# batch RUNS
	"$src/tests/hostvm/run.sh" --timeout $((600 + $1 * 240)) \
		--include "$src/build/bench/apiclient" --include "$here/inner-uffd-linux.sh" \
		"$here/inner-uffd-linux.sh" "$1" |
		hostvm_samples "$out"
}

# L1 hangs now and then (tests/hostvm/README.md): what was measured stays,
# and a new L1 takes the rounds still missing, up to 3 L1s.
for attempt in 1 2 3; do
	n=$((runs - $(have)))
	[ "$n" -gt 0 ] || break
	[ "$attempt" = 1 ] || echo "uffd-linux: a new L1 for the $n rounds still missing" >&2
	batch "$n" || true
done
[ "$(have)" -ge "$runs" ] || { echo "uffd-linux: $(have) of $runs rounds" >&2; exit 1; }
