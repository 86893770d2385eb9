#!/usr/bin/env bash
# The release build's seccomp filters on the paths users take: the console
# on a terminal (put back as it was on poweroff, reset, SIGTERM and the
# SIGSYS handler's exit); pipes and FIFOs whose reader leaves (console; log
# and metrics FIFOs, which petrel holds open itself, then fill: petrel serves
# on and ends with exit 0); bodies near the payload
# limit on every PUT/PATCH endpoint, before start and while running; a
# refused request the instant the socket accepts, over fresh starts; and
# SIGTERM, SIGINT and SIGHUP in every state, during a burst of requests too.
. "$(dirname "$0")/api_lib.sh"
need_kvm
command -v python3 >/dev/null || skip "python3 is needed for the pty and raw clients"
command -v stty >/dev/null || skip "stty is needed to compare terminal settings"
probe=$(probe_elf)

# vm_json NAME ACTION: a config file for the probe doing ACTION
vm_json() {
	cat > "$T/$1.json" <<JSON
{ "boot-source": { "kernel_image_path": "$probe", "boot_args": "console=ttyS0 $2" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 } }
JSON
}

# boot NAME: the probe ticking forever, started over the API
boot() {
	api PUT /boot-source \
		"{\"kernel_image_path\": \"$probe\", \"boot_args\": \"console=ttyS0 probe.action=count\"}"
	api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
	api PUT /actions '{"action_type": "InstanceStart"}'
	[ "$CODE" = 204 ] || fail "$1: InstanceStart answered $CODE: $RESP"
}

# serving: until GET / answers on SOCK (the socket may exist a moment before
# it listens); a bound that proves petrel came up, not a speed
serving() {
	local i
	for i in $(seq 250); do
		api GET /
		[ "$CODE" = 200 ] && return 0
		sleep 0.02
	done
	fail "no answer on $SOCK"
	return 1
}

# ended NAME WHAT: exit 0, the API socket gone, no syscall trapped
ended() {
	local bad=""
	[ "$RC" -eq 0 ] || bad+=" exit $RC;"
	[ ! -e "$SOCK" ] || bad+=" $SOCK left behind;"
	! grep -q "forbidden syscall" "$T/$1.log" 2>/dev/null || bad+=" a syscall trapped;"
	if [ -z "$bad" ]; then
		pass "$2: exit 0, socket removed, nothing trapped"
	else
		fail "$2:$bad"
		output "$1" | tail -10 | cut -c1-300 | sed 's/^/    | /' || true
	fi
}

# ---- the console on a terminal ----
cat > "$T/on_pty.py" <<'PY'
# on_pty.py MODE LOG ARGV...: ARGV with stdin and stdout on a pty, stderr in LOG.
# MODE wait: until it ends; TERM, SYS: that signal once the probe ticks.
# Prints the exit status and whether `stty -g` after equals before.
import os, pty, signal, subprocess, sys, threading, time
mode, log, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
m, s = pty.openpty()
def stty():
    return subprocess.run(["stty", "-g"], stdin=s, capture_output=True, text=True).stdout.strip()
before = stty()
out = bytearray()
def drain():
    while True:
        try:
            b = os.read(m, 4096)
        except OSError:
            return
        if not b:
            return
        out.extend(b)
threading.Thread(target=drain, daemon=True).start()
p = subprocess.Popen(argv, stdin=s, stdout=s, stderr=open(log, "w"))
if mode != "wait":
    deadline = time.monotonic() + 10    # bounds a hang, not a speed
    while b"probe: tick 2" not in out and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    p.send_signal(getattr(signal, "SIG" + mode))
try:
    rc = p.wait(timeout=10)
except subprocess.TimeoutExpired:
    p.kill()
    rc = p.wait()
after = stty()
print(rc, "same" if after == before else "changed: %s -> %s" % (before, after))
PY
vm_json off "probe.action=poweroff"
vm_json reset "probe.action=reset"
vm_json tick "probe.action=count"
for run in "wait off 0 guest poweroff" "wait reset 0 guest reset" "TERM tick 0 SIGTERM" \
	   "SYS tick 148 the SIGSYS handler's exit"; do
	read -r mode cfg want what <<<"$run"
	res=$(python3 "$T/on_pty.py" "$mode" "$T/pty-$cfg-$mode.log" \
		"$PETREL_BIN" --no-api --config-file "$T/$cfg.json")
	if [ "$res" = "$want same" ]; then
		pass "terminal: $what: exit $want, stty -g as before"
	else
		fail "terminal: $what: got '$res', expected '$want same'"
		sed 's/^/    | /' "$T/pty-$cfg-$mode.log" | tail -5
	fi
done

# ---- readers that leave ----
# The console into head: the guest and petrel go on, and end normally.
vm_json ticks "probe.action=count probe.ticks=5"
: >"$T/headcf.out"
set +e
"$PETREL_BIN" --no-api --config-file "$T/ticks.json" 2>"$T/headcf.log" </dev/null | head -c 30 >/dev/null
RC=${PIPESTATUS[0]}
set -e
expect_rc headcf 0 "console into head -c 30: the guest ticks on and powers off"

SOCK=$T/head.sock
"$PETREL_BIN" --api-sock "$SOCK" </dev/null 2>"$T/head.log" > >(head -c 30 >"$T/head.out") &
PID=$!
PIDS+=("$PID")
serving && boot head || true
for _ in $(seq 100); do [ "$(stat -c %s "$T/head.out")" -ge 30 ] && break; sleep 0.05; done
sleep 0.3	# three more ticks into the closed pipe
expect_api 200 '"state":"Running"' GET /
api GET /metrics
if grep -Eq '^petrel_uart_missed_write_count [1-9]' <<<"$RESP"; then
	pass "console into head: the output nobody read is counted"
else
	fail "console into head: uart.missed_write_count: $(grep missed_write <<<"$RESP")"
fi
stop_petrel
ended head "console into head -c 30 while the API serves, then SIGTERM"

# fill_fifo PATH: write to a FIFO until it is full (petrel holds a read end)
fill_fifo() {
	python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)
try:
    while True:
        os.write(fd, b"\n" * 4096)
except BlockingIOError:
    pass' "$1"
}

# The log into a FIFO whose reader leaves, then full: lines lost and counted.
SOCK=$T/logfifo.sock
mkfifo "$T/log.fifo"
cat "$T/log.fifo" >"$T/logreader.out" &
reader=$!
PIDS+=("$reader")
exec 3>"$T/log.fifo"	# returns once the reader has the FIFO open
"$PETREL_BIN" --api-sock "$SOCK" --log-path "$T/log.fifo" </dev/null >"$T/logfifo.out" \
	2>"$T/logfifo.log" &
PID=$!
PIDS+=("$PID")
exec 3>&-
serving || true
kill "$reader"
wait "$reader" 2>/dev/null || true
fill_fifo "$T/log.fifo"
api PUT /nothing-here '{}'	# a refused request: a log line from the api thread
boot logfifo
expect_api 200 '"state":"Running"' GET /
expect_api 200 "petrel_logger_missed_log_count " GET /metrics
if grep -Eq '^petrel_logger_missed_log_count [1-9]' <<<"$RESP"; then
	pass "log FIFO: the lines nobody read are counted"
else
	fail "log FIFO: missed_log_count: $(grep missed_log <<<"$RESP")"
fi
stop_petrel
ended logfifo "log FIFO whose reader left, filled, then SIGTERM"

# The metrics into a FIFO whose reader leaves, then full: FlushMetrics says so.
mkfifo "$T/metrics.fifo"
cat "$T/metrics.fifo" >"$T/mreader.out" &
reader=$!
PIDS+=("$reader")
exec 3>"$T/metrics.fifo"	# returns once the reader has the FIFO open
start_petrel metrics
expect_api 204 "" PUT /metrics "{\"metrics_path\": \"$T/metrics.fifo\"}"
exec 3>&-
boot metrics
expect_api 204 "" PUT /actions '{"action_type": "FlushMetrics"}'
kill "$reader"
wait "$reader" 2>/dev/null || true
fill_fifo "$T/metrics.fifo"
expect_api 400 "Resource temporarily unavailable" PUT /actions '{"action_type": "FlushMetrics"}'
expect_api 200 '"state":"Running"' GET /
api GET /metrics
if grep -Eq '^petrel_logger_missed_metrics_count [1-9]' <<<"$RESP"; then
	pass "metrics FIFO: the line nobody read is counted"
else
	fail "metrics FIFO: missed_metrics_count not counted"
fi
stop_petrel
ended metrics "metrics FIFO whose reader left (the last line lost too), then SIGTERM"

# ---- bodies near the payload limit, on every PUT and PATCH endpoint ----
big=$(head -c 51000 /dev/zero | tr '\0' a)
bodies=(
	"PUT /actions {\"action_type\": \"$big\"}"
	"PUT /boot-source {\"kernel_image_path\": \"$big\"}"
	"PUT /machine-config {\"vcpu_count\": 1, \"mem_size_mib\": 64, \"cpu_template\": \"$big\"}"
	"PATCH /machine-config {\"cpu_template\": \"$big\"}"
	"PUT /drives/big {\"drive_id\": \"other\", \"path_on_host\": \"$big\", \"is_root_device\": false}"
	"PATCH /drives/big {\"drive_id\": \"big\", \"path_on_host\": \"$big\"}"
	"PUT /network-interfaces/big {\"iface_id\": \"other\", \"host_dev_name\": \"$big\"}"
	"PUT /entropy {\"rate_limiter\": \"$big\"}"
	"PUT /logger {\"log_path\": \"$T/$big\"}"
	"PUT /metrics {\"metrics_path\": \"$T/$big\"}"
	"PATCH /vm {\"state\": \"$big\"}"
)
# big_round WHAT: each body twice; every one answered (not dropped)
big_round() {
	local b n=0 bad=""
	for b in "${bodies[@]}" "${bodies[@]}"; do
		read -r method path body <<<"$b"
		api "$method" "$path" "$body"
		n=$((n + 1))
		case "$CODE" in 204|400) ;; *) bad+=" $method $path: $CODE;" ;; esac
	done
	[ -z "$bad" ] && pass "$1: $n bodies of ~51 KB answered" || fail "$1:$bad"
}
start_petrel big
big_round "before start"
boot big
big_round "running"
expect_api 200 '"state":"Running"' GET /
stop_petrel
ended big "large bodies, then SIGTERM"

# ---- a refused request the instant the socket accepts, over fresh starts ----
python3 - "$PETREL_BIN" "$T" 50 >"$T/instant.txt" <<'PY' || true
import os, socket, subprocess, sys, time
petrel, tmp, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
bad = []
for i in range(n):
    sock = os.path.join(tmp, "instant.sock")
    log = os.path.join(tmp, "instant.log")
    # Every other start at Warning: then no line from the main thread comes
    # first, and the api thread's line about the refusal is petrel's first.
    level = ["--level", "Warning"] if i % 2 else []
    p = subprocess.Popen([petrel, "--api-sock", sock] + level, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    s = socket.socket(socket.AF_UNIX)
    deadline = time.monotonic() + 5     # bounds a hang, not a speed
    while p.poll() is None and time.monotonic() < deadline:
        try:
            s.connect(sock)
            break
        except OSError:
            pass
    try:
        s.sendall(b"PUT /nothing-here HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        s.settimeout(5)
        s.recv(4096)
    except OSError:
        pass
    s.close()
    if p.poll() is None:
        p.terminate()
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    if rc != 0 or os.path.exists(sock):
        bad.append("start %d: exit %d: %s" % (i, rc, open(log).read().strip()[-200:]))
print("%d of %d" % (n - len(bad), n))
print("\n".join(bad[:3]))
PY
if [ "$(head -1 "$T/instant.txt")" = "50 of 50" ]; then
	pass "a refused request the instant the socket accepts: 50 starts (half at Warning), each exit 0"
else
	fail "a refused request the instant the socket accepts: $(cat "$T/instant.txt")"
fi

# ---- SIGTERM, SIGINT and SIGHUP in every state ----
cat > "$T/burst.py" <<'PY'
# burst.py SOCK: requests, large and small, until petrel goes away
import socket, sys
big = b'{"kernel_image_path": "' + b"a" * 50000 + b'"}'
reqs = [b"GET / HTTP/1.1\r\n\r\n",
        b"PUT /boot-source HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(big) + big]
for i in range(100000):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(sys.argv[1])
        s.sendall(reqs[i % 2])
        s.recv(4096)
        s.close()
    except OSError:
        break
PY
for sig in TERM INT HUP; do
	for state in "before start" running paused "a burst of requests"; do
		name="sig-$sig-${state%% *}"
		start_petrel "$name"
		burst=""
		case "$state" in
		running) boot "$name" ;;
		paused)
			boot "$name"
			expect_api 204 "" PATCH /vm '{"state": "Paused"}' ;;
		a*)
			boot "$name"
			python3 "$T/burst.py" "$SOCK" & burst=$!
			python3 "$T/burst.py" "$SOCK" & burst+=" $!"
			sleep 0.3 ;;
		esac
		kill -"$sig" "$PID"
		wait_exit
		for b in $burst; do wait "$b" 2>/dev/null || true; done
		ended "$name" "SIG$sig $state"
	done
done

finish
