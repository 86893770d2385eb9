#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine as root:
# unit + integration tests (release build), the Linux-guest tests (inside the
# test host VM where /dev/kvm cannot boot Linux), the same unit + integration
# tests under ASan/UBSan, each fuzz target briefly, and one short run of
# each benchmark script (bench/run.sh --smoke) to prove they work.
#   PETREL_GUEST_DIR  guest image cache (default ~/.cache/petrel/guest), reused when present
#   PETREL_FUZZ_SECONDS  seconds per fuzz target (default 30)
#   PETREL_SKIP_SLOW=1   leave out the Linux-guest tests
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
export PETREL_GUEST_DIR=${PETREL_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/petrel/guest}
fuzz_secs=${PETREL_FUZZ_SECONDS:-30}
jobs=$(nproc)
step() { printf '\n=== %s (%ss)\n' "$*" "$SECONDS"; }

step "dependencies"
"$src/scripts/deps.sh" test

step "release build and unit tests"
cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$src/build" -j"$jobs"
file "$src/build/petrel" | grep -q "statically linked" || { echo "build/petrel is not static"; exit 1; }
ctest --test-dir "$src/build" -L unit --output-on-failure -j"$jobs"

step "the other optimised build type compiles too (-O3 finds other warnings)"
cmake -S "$src" -B "$src/build-o3" -DCMAKE_BUILD_TYPE=Release -DPETREL_TESTS=OFF >/dev/null
cmake --build "$src/build-o3" -j"$jobs" --target petrel

step "guest images (cached in $PETREL_GUEST_DIR)"
"$src/tests/guest/build.sh" probe
[ "${PETREL_SKIP_SLOW:-0}" = 1 ] || "$src/tests/guest/build.sh" micro stock rootfs

step "integration tests (probe guest)"
ctest --test-dir "$src/build" -L integration --output-on-failure

if [ "${PETREL_SKIP_SLOW:-0}" != 1 ]; then
	step "Linux guests"
	ctest --test-dir "$src/build" -L slow --output-on-failure
fi

step "ASan + UBSan build: unit and integration tests"
cmake -S "$src" -B "$src/build-asan" -DPETREL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$src/build-asan" -j"$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir "$src/build-asan" -L "unit|integration" --output-on-failure

step "fuzz targets, ${fuzz_secs}s each"
CC=clang cmake -S "$src" -B "$src/build-fuzz" -DPETREL_FUZZ=ON -DPETREL_TESTS=OFF \
	-DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$src/build-fuzz" -j"$jobs"
for f in "$src"/build-fuzz/tests/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	corpus="$src/tests/fuzz/corpus/$(basename "$f")"
	dict="$src/tests/fuzz/$(basename "$f").dict"
	mkdir -p "$src/build-fuzz/corpus-$(basename "$f")"
	echo "--- $(basename "$f")"
	"$f" -max_total_time="$fuzz_secs" -print_final_stats=1 \
		$( [ -f "$dict" ] && echo "-dict=$dict" ) \
		"$src/build-fuzz/corpus-$(basename "$f")" $( [ -d "$corpus" ] && echo "$corpus" ) 2>&1 | tail -3
done

step "benchmark scripts: bench/run.sh --smoke (one run of each, not timed)"
"$src/bench/run.sh" --smoke

step "all tests passed"
