#!/usr/bin/env bash
# Snapshots while the probe's block test runs: with either io_engine, every
# snapshot of the paused VM succeeds at once (requests under way, the FLUSH
# among them, are finished, not refused), and the last one, taken as the FLUSH
# began, restored in a new petrel, finishes the test:
# the pattern reads back in the guest and is on the host image.
. "$(dirname "$0")/api_lib.sh"
need_kvm
probe=$(probe_elf)
pattern="$PETREL_SRC/tests/guest/probe/blk_pattern.py"
command -v python3 >/dev/null || skip "python3 is needed to check the image"

for engine in Async Sync; do
	truncate -s 16M "$T/$engine.img"
	start_petrel "$engine"
	expect_api 204 "" PUT /boot-source "{\"kernel_image_path\":\"$probe\",\"boot_args\":\"console=ttyS0 probe.action=blk probe.blk_mib=8 probe.blk_ms=200 probe.seed=5\"}"
	expect_api 204 "" PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128}'
	expect_api 204 "" PUT /drives/scratch "{\"drive_id\":\"scratch\",\"path_on_host\":\"$T/$engine.img\",\"is_root_device\":false,\"is_read_only\":false,\"cache_type\":\"Writeback\",\"io_engine\":\"$engine\"}"
	expect_api 204 "" PUT /actions '{"action_type":"InstanceStart"}'
	wait_line "$engine" "^probe: blk capacity=" 20
	# Snapshots a few milliseconds apart while the guest keeps 16 requests in flight,
	# then one as the FLUSH of what it wrote (an fsync of 8 MiB) begins.
	ok=0
	for k in 1 2 3 4 5 6; do
		if [ $k = 6 ]; then
			for _ in $(seq 2000); do
				grep -q "^probe: blk write ok" "$T/$engine.out" && break
				sleep 0.01
			done
		fi
		api PATCH /vm '{"state":"Paused"}'
		api PUT /snapshot/create "{\"snapshot_path\":\"$T/$engine.st$k\",\"mem_file_path\":\"$T/$engine.mem$k\"}"
		[ "$CODE" = 204 ] && ok=$((ok + 1)) || echo "    snapshot $k: $CODE $RESP"
		last=$k
		[ $k = 6 ] && break
		api PATCH /vm '{"state":"Resumed"}'
		sleep 0.05
	done
	[ "$ok" = "$last" ] && pass "$engine: $ok snapshots during the writes, every one taken" ||
		fail "$engine: $ok of $last snapshots taken"
	kill -9 "$PID"
	wait "$PID" 2>/dev/null || true
	grep -q "^probe: blk verify" "$T/$engine.out" && fail "$engine: the source got to the verify"
	start_petrel "$engine-restored"
	expect_api 204 "" PUT /snapshot/load "{\"snapshot_path\":\"$T/$engine.st$last\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$T/$engine.mem$last\"},\"resume_vm\":true}"
	wait_line "$engine-restored" "^probe: blk (verify|read failed|write status|flush failed)" 60
	expect_out "$engine-restored" "^probe: blk verify ok$" "$engine: the restored probe reads back its pattern"
	stop_petrel
	python3 "$pattern" check "$T/$engine.img" 8 5 >"$T/$engine.check" 2>&1 &&
		pass "$engine: the host image holds the guest's pattern" ||
		fail "$engine: host image check: $(cat "$T/$engine.check")"
	rm -f "$T/$engine".mem*
done
finish
