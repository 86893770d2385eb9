#!/usr/bin/env bash
# The config file's "metrics" section: petrel writes JSON lines to
# metrics_path, at least one at exit, whose deltas add up to what the probe
# did (vCPU exits, entropy bytes, one group per drive). A FIFO with no
# reader yet is taken, as Firecracker takes it; a path in a missing folder is
# refused with the path named.
. "$(dirname "$0")/lib.sh"
need_kvm
command -v jq >/dev/null || skip "jq is needed to read the metrics lines"
probe=$(probe_elf)
truncate -s 1M "$T/disk.img"

# write_vm FILE METRICS_PATH
write_vm() {
	cat > "$1" <<JSON
{
  "boot-source": { "kernel_image_path": "$probe",
                   "boot_args": "console=ttyS0 probe.action=rng probe.rng_kib=16" },
  "machine-config": { "vcpu_count": 2, "mem_size_mib": 128 },
  "drives": [ { "drive_id": "data", "path_on_host": "$T/disk.img",
                "is_root_device": false, "is_read_only": true } ],
  "entropy": {},
  "metrics": { "metrics_path": "$2" }
}
JSON
}

# total FILE JQ_PATH: the sum of a counter over all lines
total() {
	jq -s "map($2 // 0) | add" "$1"
}

# expect_total FILE JQ_PATH OP VALUE DESCRIPTION (OP: -gt, -eq ...)
expect_total() {
	local v
	v=$(total "$1" "$2")
	if [ "$v" "$3" "$4" ]; then
		pass "$5 ($2 = $v)"
	else
		fail "$5: $2 = $v, expected $3 $4"
	fi
}

write_vm "$T/vm.json" "$T/metrics.json"
run_petrel vm 30 --no-api --config-file "$T/vm.json"
expect_line vm "^probe: rng bytes=16384 " "the probe reads entropy"
expect_rc vm 0 "probe powers off"
lines=$(wc -l < "$T/metrics.json")
if [ "$lines" -ge 1 ] && jq -e . "$T/metrics.json" >/dev/null; then
	pass "$lines metrics line(s), each one JSON document"
else
	fail "metrics file: $lines lines, or not JSON: $(head -c 300 "$T/metrics.json")"
fi
for g in utc_timestamp_ms api_server vcpu seccomp signals logger latencies_us \
	block_data entropy; do
	if jq -se "all(has(\"$g\"))" "$T/metrics.json" >/dev/null; then
		pass "every line has $g"
	else
		fail "a line lacks $g"
	fi
done
expect_total "$T/metrics.json" .vcpu.exit_io_out -gt 0 "serial output counted as PIO exits"
expect_total "$T/metrics.json" .vcpu.exit_mmio_read -gt 0 "virtio register reads counted"
expect_total "$T/metrics.json" .vcpu.exit_mmio_write -gt 0 "virtio register writes counted"
expect_total "$T/metrics.json" .vcpu.failures -eq 0 "no vCPU failures"
expect_total "$T/metrics.json" .entropy.bytes_written -ge 16384 "entropy bytes, at least what the probe read"
expect_total "$T/metrics.json" .entropy.requests -gt 0 "entropy requests"
expect_total "$T/metrics.json" .logger.missed_metrics_count -eq 0 "no line lost"

# A second run appends its lines to the same file.
run_petrel again 30 --no-api --config-file "$T/vm.json"
expect_rc again 0 "second run"
if [ "$(wc -l < "$T/metrics.json")" -gt "$lines" ]; then
	pass "a second run appends"
else
	fail "a second run did not append to the metrics file"
fi

# A FIFO with no reader: taken, the VM runs (its lines go nowhere once petrel ends).
mkfifo "$T/fifo"
write_vm "$T/fifo.json" "$T/fifo"
run_petrel fifo 30 --no-api --config-file "$T/fifo.json"
expect_rc fifo 0 "a FIFO without a reader is taken"

# A FIFO with a reader gets the lines (read-write: opening never waits for petrel).
exec 3<>"$T/fifo"
run_petrel fifo_read 30 --no-api --config-file "$T/fifo.json"
timeout 1 cat <&3 > "$T/fifo.out" || true
exec 3<&-
expect_rc fifo_read 0 "FIFO with a reader"
expect_total "$T/fifo.out" .vcpu.exit_io_out -gt 0 "the reader got vCPU exit counts"

write_vm "$T/nodir.json" "$T/missing/metrics.json"
run_petrel nodir 30 --no-api --config-file "$T/nodir.json"
expect_rc nodir 1 "metrics_path in a missing folder is refused"
expect_line nodir "metrics_path $T/missing/metrics.json: No such file" "the error names the path"
finish
