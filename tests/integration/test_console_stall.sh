#!/usr/bin/env bash
# Console output nobody reads never stalls the VM: the probe prints without
# end into a pipe that is not read. Pause and GET / still answer, SIGTERM
# still ends petrel, the output lost is counted (uart.missed_write_count),
# and a reader that comes late gets the bytes in order, the first 64 KiB and
# more without a gap. petrel never makes the pipe it shares non-blocking.
. "$(dirname "$0")/api_lib.sh"
need_kvm
probe=$(probe_elf)

# The pipe is held open read-write here (so opening it never waits) and not read.
mkfifo "$T/console"
exec 4<>"$T/console"
# One page: the guest fills it in a moment rather than 64 KiB of it.
python3 -c 'import fcntl, os, sys; fcntl.fcntl(int(sys.argv[1]), 1031, 4096)' 4 \
	|| skip "cannot shrink the pipe (F_SETPIPE_SZ)"

SOCK=$T/stall.sock
"$PETREL_BIN" --api-sock "$SOCK" </dev/null >"$T/console" 2>"$T/stall.log" &
PID=$!
PIDS+=("$PID")
wait_line stall "API server listening on $SOCK "
expect_api 204 "" PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}'
expect_api 204 "" PUT /boot-source \
	"{\"kernel_image_path\": \"$probe\", \"boot_args\": \"probe.action=spew\"}"
expect_api 204 "" PUT /actions '{"action_type": "InstanceStart"}'

# The shell's end of the pipe (petrel's fd 1) keeps its flags: no O_NONBLOCK (04000).
flags=$(awk '/^flags:/ { print $2 }' "/proc/$PID/fdinfo/1")
if (( (8#$flags & 8#4000) == 0 )); then
	pass "petrel's inherited stdout stays blocking (flags $flags)"
else
	fail "petrel set O_NONBLOCK on the stdout it shares (flags $flags)"
fi

# The pipe and the UART's 64 KiB fill up; then output is lost and counted.
missed=0
for _ in $(seq 300); do		# up to 30 s: it takes a few at most
	api GET /metrics
	missed=$(sed -n 's/^petrel_uart_missed_write_count \([0-9]*\)$/\1/p' <<<"$RESP")
	[ "${missed:-0}" -gt 0 ] && break
	sleep 0.1
done
if [ "${missed:-0}" -gt 0 ]; then
	pass "uart.missed_write_count counts the lost output ($missed bytes so far)"
else
	fail "uart.missed_write_count stayed ${missed:-absent}"
fi

# A vCPU that keeps printing into a full console still pauses, and petrel answers.
expect_api 204 "" PATCH /vm '{"state": "Paused"}'
expect_api 200 '"state":"Paused"' GET /
expect_api 204 "" PATCH /vm '{"state": "Resumed"}'
expect_api 200 '"state":"Running"' GET /

# A late reader: what it gets is in order, and starts without a gap.
timeout 3 cat <&4 >"$T/late.out" || true
python3 - "$T/late.out" <<'PY' && pass "the late reader's lines are in order" || fail "out of order"
import re, sys
data = open(sys.argv[1], "rb").read().decode("latin-1")
line = re.compile(r"^probe: spew (\d{9}) (\d{9}) [a-zA-Z0-9]{67}$")
seen = []
for l in data.split("\n"):
    m = line.match(l)
    if m and int(m.group(1)) * 2654435761 % 10**9 == int(m.group(2)):
        seen.append(int(m.group(1)))
ok = True
if not data.startswith("probe: hello"):
    print("the reader missed the first bytes:", data[:80]); ok = False
# The pipe's page and the UART's 64 KiB held about 700 lines: none of them lost.
if seen[:600] != list(range(1, 601)):
    print("a gap or a reordering in the first 600 lines:", seen[:20]); ok = False
bad = [(a, b) for a, b in zip(seen, seen[1:]) if b <= a]
if bad:
    print("lines out of order or repeated:", bad[:5]); ok = False
print(f"{len(data)} bytes, {len(seen)} whole lines, last {seen[-1] if seen else None}")
sys.exit(0 if ok else 1)
PY

# Unread again, full again: SIGTERM still ends petrel, in bounded time.
stop_petrel
expect_rc stall 0 "SIGTERM ends petrel while the guest prints into a full pipe"
exec 4<&-
finish
