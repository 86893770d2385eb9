#!/usr/bin/env bash
# Rate limiters: probe.action=blk (io_engine Sync, Writeback) writing and
# reading back MIB MiB, RUNS times each, interleaved:
#   none  no rate_limiter;
#   idle  a limiter configured but never empty (1 TiB and 1e9 requests a
#         second): what having one costs;
#   4, 8, 16  a bandwidth bucket of that many MiB/s (an eighth of it,
#         refilled every 125 ms): the rate achieved beside the one set.
# The probe measures its own MB/s (its TSC); the random 4 KiB phase is short.
# MIB at most 8: one window of the probe's, whose clock stops between windows
# (while it fills or checks its buffer) and would leave out the refill then.
#   bench/ratelimit.sh OUT [RUNS] [MIB]   (default 10, 8) writes samples into OUT.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
out=$1
runs=${2:-10}
mib=${3:-8}
rates=(4 8 16)
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/var/tmp}/petrel-rl.XXXXXX")
trap 'rm -rf "$work"' EXIT
img=$work/data.img
dd if=/dev/zero of="$img" bs=1M count=$((mib * 2)) conv=fsync status=none
args="probe.action=blk probe.blk_mib=$mib probe.blk_ms=100"
echo "${rates[*]}" > "$out/rates"
echo "$mib" > "$out/mib"

# config NAME RATE_LIMITER_JSON
config() {
	probe_json "$work/$1.json" "$args" "\"drives\": [ { \"drive_id\": \"data\",
    \"path_on_host\": \"$img\", \"is_root_device\": false,
    \"cache_type\": \"Writeback\", \"io_engine\": \"Sync\"$2 } ]"
}
config none ""
config idle ", \"rate_limiter\": { \"bandwidth\": { \"size\": 1099511627776, \"refill_time\": 1000 },
    \"ops\": { \"size\": 1000000000, \"refill_time\": 1000 } }"
for r in "${rates[@]}"; do
	config "$r" ", \"rate_limiter\": { \"bandwidth\": { \"size\": $((r * 131072)), \"refill_time\": 125 } }"
done
order=(none idle "${rates[@]}")
{
	show "$petrel" --no-api --config-file "$work/none.json"
	show_file "$work/none.json"
	show_file "$work/idle.json"
	show_file "$work/${rates[0]}.json"
	echo "\$WORK/{${rates[*]}}.json: the same with N MiB/s: \"size\": N * 131072"
} > "$out/commands"

for _ in $(seq "$runs"); do
	for who in "${order[@]}"; do
		timeout 600 "$petrel" --no-api --config-file "$work/$who.json" </dev/null \
			> "$work/console" 2>/dev/null || true
		read -r w r < <(sed -n 's/.*seq-write MBps=\([0-9.]*\) seq-read MBps=\([0-9.]*\).*/\1 \2/p' \
			"$work/console" | grep . || echo - -)
		sample "$out/$who.seq-write" "$w"
		sample "$out/$who.seq-read" "$r"
		grep -q "probe: blk verify ok" "$work/console" || echo "$who: no verify ok" >> "$out/errors"
	done
done
