#!/usr/bin/env bash
# Block: probe.action=blk on a 1 GiB raw data disk (a file on the host, its
# blocks written once before the runs), RUNS times each, interleaved:
#   petrel, io_engine Sync and Async, cache_type Writeback (the host's page
#   cache; the guest's FLUSH becomes fdatasync);
#   QEMU microvm, aio=io_uring with cache=writeback (the same semantics) and
#   with cache=none (O_DIRECT, for reference).
# The probe writes BLK_MIB MiB from sector 0 and reads them back (MB/s), then
# 4 KiB random reads and writes over the last 8 MiB of them, 16 in flight,
# BLK_MS ms each (IOPS). First it records which QEMU aio/cache pairs start.
#   bench/blk.sh OUT [RUNS] [BLK_MIB] [BLK_MS]   (default 10, 64, 1000) writes samples into OUT.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
out=$1
runs=${2:-10}
blk_mib=${3:-64}
blk_ms=${4:-1000}
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/var/tmp}/petrel-blk.XXXXXX")
trap 'rm -rf "$work"' EXIT
img=$work/data.img
dd if=/dev/zero of="$img" bs=1M count=1024 conv=fsync status=none
args="probe.action=blk probe.blk_mib=$blk_mib probe.blk_ms=$blk_ms"

# QEMU's drive options: which aio/cache pairs it accepts for this file.
for aio in io_uring native threads; do
	for cache in none writeback directsync unsafe; do
		if msg=$(timeout 30 "${qemu_probe[@]}" -append "probe.action=poweroff" \
			-device virtio-blk-device,drive=d0 \
			-drive "id=d0,file=$img,format=raw,if=none,aio=$aio,cache=$cache" \
			</dev/null 2>&1 >/dev/null); then
			echo "aio=$aio,cache=$cache ok"
		else
			echo "aio=$aio,cache=$cache fails: $(echo "$msg" | tail -n 1 | sed 's/.*: //')"
		fi
	done
done > "$out/qemu-options"

for engine in Sync Async; do
	probe_json "$work/$engine.json" "$args" "\"drives\": [ { \"drive_id\": \"data\",
    \"path_on_host\": \"$img\", \"is_root_device\": false,
    \"cache_type\": \"Writeback\", \"io_engine\": \"$engine\" } ]"
done
# shellcheck disable=SC2054 # the commas are QEMU's
q=("${qemu_probe[@]}" -append "$args" -device virtio-blk-device,drive=d0)
drive="id=d0,file=$img,format=raw,if=none,aio=io_uring"
# cmd WHO: the array c is WHO's command line.
cmd() {
	case $1 in
	petrel-sync) c=("$petrel" --no-api --config-file "$work/Sync.json") ;;
	petrel-async) c=("$petrel" --no-api --config-file "$work/Async.json") ;;
	qemu-writeback) c=("${q[@]}" -drive "$drive,cache=writeback") ;;
	qemu-none) c=("${q[@]}" -drive "$drive,cache=none") ;;
	esac
}
order=(petrel-sync petrel-async qemu-writeback qemu-none)
{
	for who in "${order[@]}"; do
		cmd "$who"
		show "${c[@]}"
	done
	show_file "$work/Sync.json"
	echo "\$WORK/Async.json: the same with \"io_engine\": \"Async\""
} > "$out/commands"

for _ in $(seq "$runs"); do
	for who in "${order[@]}"; do
		cmd "$who"
		timeout 900 "${c[@]}" </dev/null > "$work/console" 2>/dev/null || true
		read -r w r rr rw < <(sed -n 's/.*seq-write MBps=\([0-9.]*\) seq-read MBps=\([0-9.]*\) iops4k-read=\([0-9]*\) iops4k-write=\([0-9]*\).*/\1 \2 \3 \4/p' \
			"$work/console" | grep . || echo - - - -)
		f=$out/$who
		sample "$f.seq-write" "$w"
		sample "$f.seq-read" "$r"
		sample "$f.rand-read" "$rr"
		sample "$f.rand-write" "$rw"
		grep -q "probe: blk verify ok" "$work/console" || echo "$who: no verify ok" >> "$out/errors"
	done
done
