#!/usr/bin/env bash
# Files a user names are opened without blocking and refused by kind: a FIFO
# as the kernel or initrd is a 400 naming the field and the file, a log or
# metrics FIFO nobody reads yet is taken (as Firecracker takes it), and
# petrel still answers and ends on SIGTERM. A config file given as bash's <(...) boots.
. "$(dirname "$0")/api_lib.sh"
need_kvm
probe=$(probe_elf)
mkfifo "$T/kernel.fifo" "$T/initrd.fifo" "$T/log.fifo" "$T/metrics.fifo"
boot_source() {
	echo "{\"kernel_image_path\": \"$1\", \"boot_args\": \"probe.action=poweroff\"${2:+, \"initrd_path\": \"$2\"}}"
}

start_petrel files
expect_api 204 "" PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}'
expect_api 204 "" PUT /boot-source "$(boot_source "$T/kernel.fifo")"
expect_api 400 "boot-source.kernel_image_path: $T/kernel.fifo is a FIFO, not a regular file" \
	PUT /actions '{"action_type": "InstanceStart"}'
expect_api 200 '"state":"Not started"' GET /
expect_api 204 "" PUT /boot-source "$(boot_source "$probe" "$T/initrd.fifo")"
expect_api 400 "boot-source.initrd_path: $T/initrd.fifo is a FIFO, not a regular file" \
	PUT /actions '{"action_type": "InstanceStart"}'
expect_api 200 '"state":"Not started"' GET /

# A FIFO is a fine log or metrics path, with a reader or none yet.
expect_api 204 "" PUT /logger "{\"log_path\": \"$T/log.fifo\", \"level\": \"Info\"}"
expect_api 204 "" PUT /metrics "{\"metrics_path\": \"$T/metrics.fifo\"}"
expect_api 400 "logger.log_path: $T: Is a directory" PUT /logger "{\"log_path\": \"$T\"}"
expect_api 200 '"state":"Not started"' GET /
stop_petrel
expect_rc files 0 "SIGTERM ends petrel after the refusals"

# With a reader, the log FIFO is taken and gets the log lines.
start_petrel reader
exec 3<> "$T/log.fifo"	# read-write: a reader that never blocks the open
expect_api 204 "" PUT /logger "{\"log_path\": \"$T/log.fifo\", \"level\": \"Info\"}"
expect_api 204 "" PUT /boot-source "$(boot_source "$probe")"
expect_api 204 "" PUT /actions '{"action_type": "InstanceStart"}'
wait_exit 20
timeout 1 cat <&3 >"$T/fifo.log" || true	# what the FIFO holds; cat then waits
exec 3<&-
expect_rc reader 0 "the guest powers off"
if grep -q "guest powered off" "$T/fifo.log"; then
	pass "log lines came through the FIFO"
else
	fail "no 'guest powered off' in the log FIFO: $(head -c 300 "$T/fifo.log")"
fi

# bash's <(...) as --config-file
cfg="{\"boot-source\": $(boot_source "$probe"), \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128}}"
run_petrel procsub 30 --no-api --config-file <(echo "$cfg")
expect_rc procsub 0 "a config file from <(...) boots the guest"
expect_line procsub "^probe: action=poweroff" "the guest ran"
finish
