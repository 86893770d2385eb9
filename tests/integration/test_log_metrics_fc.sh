#!/usr/bin/env bash
# Logging and metrics as Firecracker does them: threads named fc_api and
# "fc_vcpu N" (the vmm thread logs as main); a log FIFO taken before any
# reader, whose reader, once there, gets the lines; the logger's module
# filter (API and --module) lets through only lines from that module; a full
# metrics FIFO loses lines, counted, and the API still answers; emit_id and
# properties on every metrics line, --metrics-path replacing the file's path;
# bad values named in the 400.
. "$(dirname "$0")/api_lib.sh"
need_kvm
command -v jq >/dev/null || skip "jq is needed to read the metrics lines"
probe=$(probe_elf)
mkfifo "$T/log.fifo" "$T/metrics.fifo"
halt='{"kernel_image_path": "'"$probe"'", "boot_args": "console=ttyS0 probe.action=halt"}'

# -- A log FIFO with no reader, a module filter, thread names.
start_petrel names
expect_api 204 "" PUT /logger "{\"log_path\": \"$T/log.fifo\", \"level\": \"Debug\",
	\"show_log_origin\": true, \"module\": \"vmm\"}"
expect_api 204 "" PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 128}'
expect_api 204 "" PUT /boot-source "$halt"
expect_api 204 "" PUT /actions '{"action_type": "InstanceStart"}'
# KVM may add a worker of its own (kvm-nx-lpage-recovery) to the process.
comms=$(cat /proc/"$PID"/task/*/comm | grep -v '^kvm' | sort | tr '\n' ',')
main_comm=$(cat /proc/"$PID"/task/"$PID"/comm)
if [ "$comms" = "$(printf '%s\n' fc_api 'fc_vcpu 0' 'fc_vcpu 1' "$main_comm" | sort | tr '\n' ',')" ] &&
   [ "$main_comm" = "$(basename "$PETREL_BIN" | cut -c1-15)" ]; then
	pass "threads: $comms"
else
	fail "thread names: $comms (main thread: $main_comm)"
fi
# The reader comes after the lines were written: petrel's own end kept them.
exec 3<"$T/log.fifo"
timeout 1 cat <&3 >"$T/fifo.log" || true
exec 3<&-
if grep -q '\[anonymous-instance:main:vmm/vmm.c:[0-9]*\] VM started$' "$T/fifo.log"; then
	pass "a reader that came late got the lines written before it"
else
	fail "no 'VM started' line from main in the log FIFO: $(head -c 300 "$T/fifo.log")"
fi
others=$(grep -v ':vmm/[a-z_]*\.c:[0-9]*\] ' "$T/fifo.log" || true)
[ -z "$others" ] && pass "module vmm: only lines from vmm/ ($(wc -l <"$T/fifo.log") lines)" ||
	fail "module vmm let through: $others"
stop_petrel

# -- --module on the command line; without it the same run logs other modules too.
cat >"$T/vm.json" <<JSON
{ "boot-source": { "kernel_image_path": "$probe", "boot_args": "console=ttyS0 probe.action=poweroff" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 },
  "metrics": { "metrics_path": "$T/unused.metrics", "emit_id": true,
               "properties": { "bundle_id": "fn-abc", "customer_id": "1234" } } }
JSON
run_petrel all 30 --no-api --config-file "$T/vm.json" --level Debug --show-log-origin \
	--metrics-path "$T/flag.metrics" --id parity-1
expect_rc all 0 "the guest powers off"
[ ! -e "$T/unused.metrics" ] && pass "--metrics-path replaced the file's metrics_path" ||
	fail "the file's metrics_path was written"
grep -q ':boot/kernel.c:[0-9]*\] ' "$T/all.log" && grep -q ':vmm/' "$T/all.log" &&
	pass "without a module, lines from boot/ and vmm/" || fail "no boot/ line: $(cat "$T/all.log")"
run_petrel boot 30 --no-api --config-file "$T/vm.json" --level Debug --show-log-origin --module boot
expect_rc boot 0 "the guest powers off with --module boot"
if grep -q ':boot/kernel.c:[0-9]*\] kernel ' "$T/boot.log" && ! grep -v ':boot/' "$T/boot.log"; then
	pass "--module boot: only lines from boot/"
else
	fail "--module boot: $(cat "$T/boot.log")"
fi
run_petrel longmod 5 --no-api --config-file "$T/vm.json" --module "$(printf 'm%.0s' $(seq 200))"
expect_rc longmod 1 "a module of 200 bytes is refused"
expect_line longmod "--module: at most 127 bytes" "the error names --module"

# -- emit_id and properties, from the file's section, on the --metrics-path lines.
if jq -e 'select(.id == "parity-1" and .properties == {"bundle_id": "fn-abc", "customer_id": "1234"})' \
	"$T/flag.metrics" >/dev/null; then
	pass "metrics lines carry id and properties"
else
	fail "metrics lines: $(head -c 300 "$T/flag.metrics")"
fi

# -- A metrics FIFO with no reader, then full: lines lost and counted, the API answers.
start_petrel full
expect_api 204 "" PUT /metrics "{\"metrics_path\": \"$T/metrics.fifo\"}"
expect_api 400 "metrics.emit_id: expected a boolean" PUT /metrics \
	"{\"metrics_path\": \"$T/metrics.fifo\", \"emit_id\": 1}"
expect_api 400 'metrics.properties: \"k\": expected a string' PUT /metrics \
	"{\"metrics_path\": \"$T/metrics.fifo\", \"properties\": {\"k\": []}}"
# Set once, as Firecracker: a second path is refused and the first one kept.
expect_api 400 "Reinitialization of metrics not allowed." PUT /metrics \
	"{\"metrics_path\": \"$T/second.metrics\"}"
[ ! -e "$T/second.metrics" ] || fail "a second PUT /metrics created its file"
expect_api 400 "logger.module: expected a string" PUT /logger '{"module": false}'
expect_api 400 "logger.module: expected at most 127 bytes" PUT /logger \
	"{\"module\": \"$(printf 'm%.0s' $(seq 200))\"}"
python3 - "$T/metrics.fifo" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)   # petrel holds the read end
try:
    while True:
        os.write(fd, b"\n" * 4096)
except BlockingIOError:
    pass
PY
expect_api 400 "FlushMetrics: cannot write the metrics" PUT /actions '{"action_type": "FlushMetrics"}'
expect_api 400 "FlushMetrics: cannot write the metrics" PUT /actions '{"action_type": "FlushMetrics"}'
expect_api 200 '"state":"Not started"' GET /
python3 - "$T/metrics.fifo" "$SOCK" >"$T/line.json" <<'PY'
import os, socket, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
try:
    while os.read(fd, 65536):
        pass
except BlockingIOError:
    pass
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[2])
body = b'{"action_type": "FlushMetrics"}'
s.sendall(b"PUT /actions HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
s.recv(4096)   # the answer comes once the line is written
data = b""
for _ in range(100):   # generous: the line is written before the answer
    try:
        data += os.read(fd, 65536)
    except BlockingIOError:
        pass
    if data.endswith(b"\n"):
        break
    time.sleep(0.01)
print(data.decode().strip())
PY
missed=$(jq '.logger.missed_metrics_count' "$T/line.json")
[ "$missed" = 2 ] && pass "the line after the reader drained counts 2 lost lines" ||
	fail "missed_metrics_count $missed: $(head -c 300 "$T/line.json")"
stop_petrel
expect_rc full 0 "SIGTERM ends petrel"
finish
