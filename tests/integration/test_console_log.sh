#!/usr/bin/env bash
# The guest's console and petrel's log on one terminal, or one file
# ("> f 2>&1"), never cut each other's lines: the probe prints 100-byte
# lines without end while every API request is logged (--level Debug).
# Every console line and every log line comes out whole. A guest stopped
# mid-line (paused) holds the log half a second at most: the line waiting
# comes out, on a line of its own, while the VM is still paused.
. "$(dirname "$0")/api_lib.sh"
need_kvm
command -v python3 >/dev/null || skip "python3 is needed to read a terminal"
probe=$(probe_elf)
REQUESTS=100

# A terminal for petrel's stdin, stdout and stderr; what it shows goes to a file.
cat > "$T/term.py" <<'PY'
import os, pty, subprocess, sys
out = open(sys.argv[1], "wb")
master, slave = pty.openpty()
p = subprocess.Popen(sys.argv[2:], stdin=slave, stdout=slave, stderr=slave,
                     start_new_session=True)
os.close(slave)
while True:
    try:
        data = os.read(master, 65536)
    except OSError:		# EIO: petrel, the last holder of the terminal, is gone
        break
    if not data:
        break
    out.write(data)
    out.flush()
sys.exit(p.wait())
PY

# Every line whole. A line is one of: the probe's own, a spew line (its check
# number right), a log line. Where the console stopped mid-line (pause, end)
# and the log went on, the two parts of the spew line around the log lines
# must make a whole one.
cat > "$T/check.py" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read().decode("latin-1").replace("\r", "")
requests = int(sys.argv[2])
spew = re.compile(r"^probe: spew (\d{9}) (\d{9}) [a-zA-Z0-9]{67}$")
log = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z \[anonymous-instance:[^]]+\] [^\x00-\x08]*$")
probe = re.compile(r"^probe: (hello cpus=\d+|vmgenid [0-9a-f]{32}|action=spew)$")
def whole_spew(l):
    m = spew.match(l)
    return bool(m) and int(m.group(1)) * 2654435761 % 10**9 == int(m.group(2))
lines = data.split("\n")
if lines and lines[-1] == "":
    lines.pop()
kinds, bad, cuts = [], [], 0
i = 0
while i < len(lines):
    l = lines[i]
    if whole_spew(l):
        kinds.append("c")
    elif probe.match(l):
        kinds.append("p")
    elif log.match(l) and "probe: " not in l:
        kinds.append("l")
    else:
        # A console line cut by the hold's bound (anywhere, "probe: s" too): log lines, then its rest.
        j = i + 1
        while j < len(lines) and log.match(lines[j]):
            j += 1
        if l and "probe: spew ".startswith(l[:12]) and (j == len(lines) or whole_spew(l + lines[j])):
            cuts += 1
            kinds.append("x")
            kinds.extend("l" * (j - i - 1))
            i = j + 1
            continue
        bad.append(l)
        kinds.append("?")
    i += 1
gets = sum(1 for l in lines if log.match(l) and l.endswith("API: GET /: 200"))
between = sum(1 for k in range(1, len(kinds) - 1)
              if kinds[k] == "l" and "c" in kinds[:k] and "c" in kinds[k + 1:])
print(f"{kinds.count('c')} whole console lines, {kinds.count('l')} log lines "
      f"({between} between console lines), {gets} GET / lines, {cuts} cut by the bound")
ok = True
if bad:
    print("lines cut by another:", *[repr(b[:160]) for b in bad[:5]], sep="\n  "); ok = False
if gets < requests:
    print(f"only {gets} of the {requests} requests' log lines are whole"); ok = False
if kinds.count("c") < 100 or between < 10:
    print("the log did not run while the guest printed"); ok = False
# The pause and the end cut one line each. A guest stalled mid-line for longer
# than the hold (a loaded host deschedules it) may cut a few more; a hold that
# did not hold would cut most of the lines the log wrote during the spew.
if cuts > 2 + max(3, between // 10):
    print("more console lines cut than the pause, the end and a stalled guest explain"); ok = False
sys.exit(0 if ok else 1)
PY

# one_file MODE: petrel's stdout and stderr on one terminal or one file.
one_file() {
	local mode=$1 i
	SOCK=$T/$mode.sock
	local args=(--api-sock "$SOCK" --level Debug)
	if [ "$mode" = pty ]; then
		python3 "$T/term.py" "$T/$mode.out" "$PETREL_BIN" "${args[@]}" &
	else
		"$PETREL_BIN" "${args[@]}" </dev/null >"$T/$mode.out" 2>&1 &
	fi
	PID=$!
	PIDS+=("$PID")
	for _ in $(seq 250); do
		grep -qs "API server listening on $SOCK " "$T/$mode.out" && break
		sleep 0.02
	done
	expect_api 204 "" PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}'
	expect_api 204 "" PUT /boot-source \
		"{\"kernel_image_path\": \"$probe\", \"boot_args\": \"probe.action=spew\"}"
	expect_api 204 "" PUT /actions '{"action_type": "InstanceStart"}'
	for _ in $(seq 100); do		# the guest is printing: 10 s bound, it takes a moment
		[ "$(grep -c '^probe: spew' "$T/$mode.out")" -gt 20 ] && break
		sleep 0.1
	done
	for i in $(seq "$REQUESTS"); do
		api GET /
	done
	# Paused mid-line (99 times in 100): the PATCH's log line still comes out.
	expect_api 204 "" PATCH /vm '{"state": "Paused"}'
	for i in $(seq 100); do		# 10 s: only proves the log is not held for good
		grep -qs "API: PATCH /vm: 204" "$T/$mode.out" && break
		sleep 0.1
	done
	if grep -qs "API: PATCH /vm: 204" "$T/$mode.out"; then
		pass "$mode: the log line waits for no paused guest's newline (${i}00 ms)"
	else
		fail "$mode: the PATCH /vm log line never came out while the guest was paused"
	fi
	expect_api 204 "" PATCH /vm '{"state": "Resumed"}'
	sleep 0.5
	PID=${PIDS[-1]}
	if [ "$mode" = pty ]; then
		# The runner's child: petrel itself.
		kill -TERM "$(pgrep -P "$PID")" 2>/dev/null || true
		wait_exit
	else
		stop_petrel
	fi
	expect_rc "$mode" 0 "$mode: petrel ends on SIGTERM"
	if python3 "$T/check.py" "$T/$mode.out" "$REQUESTS"; then
		pass "$mode: every console line and every log line is whole"
	else
		fail "$mode: lines cut (file $T/$mode.out)"
		cp "$T/$mode.out" "/tmp/petrel-console-log-$mode.out" 2>/dev/null || true
	fi
}

one_file file
one_file pty
finish
