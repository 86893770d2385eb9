#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Edges each fuzz target reaches in a given time from nothing and from its
# seeds (tests/fuzz/corpus/<target>/), one target at a time, each run in a
# fresh corpus directory that is removed afterwards.
#   tests/fuzz/measure.sh [SECONDS] [TARGET...]   (default 60 s, every built target)
# Needs the build-fuzz directory of tests/run-all.sh.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=($(cd "$src/build-fuzz/tests/fuzz" && ls -d fuzz_* | sort))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The final "cov: N ft: M" of one run; a crash is kept in build-fuzz/ and said.
run() {
	local bin=$1 dict=$src/tests/fuzz/$(basename "$1").dict
	shift
	rm -rf "$work/corpus" && mkdir "$work/corpus"
	"$bin" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$src/build-fuzz/" \
		$( [ -f "$dict" ] && echo "-dict=$dict" ) "$work/corpus" "$@" > "$work/log" 2>&1 || true
	if grep -q '^SUMMARY' "$work/log"; then
		grep -m1 -oE "Test unit written to .*" "$work/log" || echo "crashed"
		return
	fi
	grep -E '^#[0-9]+.*cov:' "$work/log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+'
}

printf '%-20s %-22s %-22s\n' target "no seeds (${secs}s)" "seeds (${secs}s)"
for t in "${targets[@]}"; do
	bin=$src/build-fuzz/tests/fuzz/$t
	seeds=$src/tests/fuzz/corpus/$t
	without=$(run "$bin")
	with=$( [ -d "$seeds" ] && run "$bin" "$seeds" || echo "no seeds")
	printf '%-20s %-22s %-22s\n' "$t" "$without" "$with"
done
