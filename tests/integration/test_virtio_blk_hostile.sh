#!/usr/bin/env bash
# virtio-blk against a hostile guest, and drive files that would block: with
# both io_engines, a flood of 64 reads of 254 x 16 MiB (probe.hostile=blk-flood)
# leaves the API answering, pause and resume working and SIGTERM prompt; a
# reset with the flood under way gives the guest Status 0 at once, nothing
# touches the old ring afterwards and the device serves again; PATCH /drives
# flushes the old image (fdatasync seen by strace) after the guest wrote to
# it without a flush; a FIFO as path_on_host, read-only or read-write, at
# InstanceStart or in PATCH, is a 400 naming the field and the file.
. "$(dirname "$0")/api_lib.sh"
need_kvm
probe=$(probe_elf)
pattern="$PETREL_SRC/tests/guest/probe/blk_pattern.py"
command -v python3 >/dev/null || skip "python3 is needed to check the image"

# A sparse image the flood's ~4 GiB reads fit in; read-only: nothing is allocated.
truncate -s 5G "$T/big.img"

# config NAME BOOT_ARGS DRIVES_JSON
config() {
	cat > "$T/$1.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$probe", "boot_args": "console=ttyS0 $2" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 },
  "drives": [ $3 ]
}
JSON
}

# drive ID PATH RO ENGINE [CACHE]
drive() {
	printf '{ "drive_id": "%s", "path_on_host": "%s", "is_root_device": false, ' "$1" "$2"
	printf '"is_read_only": %s, "io_engine": "%s", "cache_type": "%s" }' "$3" "$4" "${5:-Unsafe}"
}

for engine in Sync Async; do
	# ---- the flood: the vmm thread keeps serving while it runs ----
	config "flood-$engine" "probe.action=hostile probe.hostile=blk-flood probe.hostile_ms=600000" \
		"$(drive flood "$T/big.img" true "$engine")"
	start_petrel "flood-$engine" --config-file "$T/flood-$engine.json" || continue
	wait_line "flood-$engine" '^probe: hostile blk flood queued=64$' 10 || true
	sleep 0.5	# well into the first request
	expect_api 200 '"state":"Running"' GET /
	expect_api 204 "" PATCH /vm '{"state": "Paused"}'
	expect_api 200 '"state":"Paused"' GET /
	expect_api 204 "" PATCH /vm '{"state": "Resumed"}'
	expect_api 200 '"state":"Running"' GET /
	if output "flood-$engine" | grep -q '^probe: hostile blk flood completed'; then
		fail "$engine: the flood ended before the checks (its ~256 GiB take minutes)"
	fi
	# 10 s: a generous bound that only proves SIGTERM does not wait for the flood.
	kill -TERM "$PID"
	wait_exit 10
	expect_rc "flood-$engine" 0 "$engine: SIGTERM during the flood ends petrel"

	# ---- a reset with the flood under way ----
	config "reset-$engine" "probe.action=hostile probe.hostile=blk-flood-reset" \
		"$(drive flood "$T/big.img" true "$engine")"
	run_petrel "reset-$engine" 60 --no-api --config-file "$T/reset-$engine.json"
	expect_line "reset-$engine" '^probe: hostile blk flood reset done ' \
		"$engine: Status reads 0 after a reset with the flood under way"
	expect_line "reset-$engine" '^probe: hostile blk flood old ring untouched$' \
		"$engine: nothing written to the old ring or buffers after the reset"
	expect_line "reset-$engine" '^probe: hostile recovered blk$' \
		"$engine: the device serves again after the reset"
	expect_rc "reset-$engine" 0 "$engine: the guest powers off"
done

# ---- PATCH /drives: what the guest wrote, never flushed, is flushed before the file goes ----
for engine in Sync Async; do
	truncate -s 8M "$T/old-$engine.img" "$T/new-$engine.img"
	# Unsafe: no FLUSH offered, so the guest cannot flush; probe.end=halt keeps the VM up.
	config "patch-$engine" "probe.action=blk probe.blk_mib=2 probe.blk_ms=50 probe.seed=5 probe.end=halt" \
		"$(drive data "$T/old-$engine.img" false "$engine")"
	SOCK=$T/patch-$engine.sock
	# LeakSanitizer cannot stop the world under ptrace: no leak check here (sanitizer builds).
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -f -qq -y -e trace=fdatasync -o "$T/patch-$engine.strace" \
		"$PETREL_BIN" --api-sock "$SOCK" --config-file "$T/patch-$engine.json" \
		</dev/null >"$T/patch-$engine.out" 2>"$T/patch-$engine.log" &
	PID=$!
	PIDS+=("$PID")
	wait_line "patch-$engine" '^probe: halting$' 20 || true
	expect_out "patch-$engine" '^probe: blk flush unsupported$' "$engine: the guest could not flush"
	if grep -q fdatasync "$T/patch-$engine.strace"; then
		fail "$engine: fdatasync before the PATCH: $(head -3 "$T/patch-$engine.strace")"
	fi
	expect_api 204 "" PATCH /drives/data \
		"{\"drive_id\": \"data\", \"path_on_host\": \"$T/new-$engine.img\"}"
	if grep -Eq "fdatasync\([0-9]+<$T/old-$engine.img>\) = 0" "$T/patch-$engine.strace"; then
		pass "$engine: PATCH /drives flushed the old image (fdatasync)"
	else
		fail "$engine: no fdatasync of the old image: $(cat "$T/patch-$engine.strace")"
	fi
	if python3 "$pattern" check "$T/old-$engine.img" 2 5 >"$T/patch-$engine.check" 2>&1; then
		pass "$engine: the old image holds what the guest wrote"
	else
		fail "$engine: old image check: $(cat "$T/patch-$engine.check")"
	fi
	expect_api 200 "\"path_on_host\":\"$T/new-$engine.img\"" GET /vm/config
	# petrel is strace's child; strace exits with its status.
	kill -TERM "$(pgrep -P "$PID")"
	wait_exit
	expect_rc "patch-$engine" 0 "$engine: SIGTERM after the PATCH"
done

# ---- a FIFO as path_on_host: refused at once, never opened in a way that blocks ----
mkfifo "$T/fifo"
truncate -s 1M "$T/ok.img"
fifo_fault="drives[d].path_on_host: $T/fifo is a FIFO, not a regular file or a block device"
start_petrel fifo-start
expect_api 204 "" PUT /boot-source \
	"{\"kernel_image_path\": \"$probe\", \"boot_args\": \"console=ttyS0 probe.action=halt\"}"
for ro in true false; do
	expect_api 204 "" PUT /drives/d \
		"{\"drive_id\": \"d\", \"path_on_host\": \"$T/fifo\", \"is_root_device\": false, \"is_read_only\": $ro}"
	expect_api 400 "$fifo_fault" PUT /actions '{"action_type": "InstanceStart"}'
	expect_api 200 '"state":"Not started"' GET /
done
stop_petrel
expect_rc fifo-start 0 "FIFO at InstanceStart: SIGTERM exits 0"

config fifo-patch "probe.action=halt" \
	"$(drive d "$T/ok.img" true Sync), $(drive e "$T/ok.img" false Async)"
start_petrel fifo-patch --config-file "$T/fifo-patch.json"
wait_line fifo-patch '^probe: halting$' 10 || true
expect_api 400 "$fifo_fault" PATCH /drives/d "{\"drive_id\": \"d\", \"path_on_host\": \"$T/fifo\"}"
expect_api 400 "${fifo_fault//\[d\]/[e]}" PATCH /drives/e \
	"{\"drive_id\": \"e\", \"path_on_host\": \"$T/fifo\"}"
expect_api 200 '"state":"Running"' GET /
expect_api 200 "\"path_on_host\":\"$T/ok.img\"" GET /vm/config
stop_petrel
expect_rc fifo-patch 0 "FIFO in PATCH: SIGTERM exits 0"
finish
