#!/usr/bin/env bash
# Slow and many API clients: six connections that send half a request and
# stop do not delay another client (answered while they are still open, and
# they are closed at their deadline); a client that pipelines GET /metrics
# and never reads delays nobody and is closed at its response deadline; 256
# connections at once are all answered, an idle one makes way for a 257th,
# and beyond 256 busy ones new clients wait (not refused) until others
# close; two keep-alive clients taking turns, as two goroutines sharing
# firecracker-go-sdk's client do, never see their connection closed.
. "$(dirname "$0")/api_lib.sh"
need_kvm
command -v python3 >/dev/null || skip "python3 is needed for raw HTTP clients"
apiload=${PETREL_APILOAD:-$PETREL_SRC/build/tests/apiload}
[ -x "$apiload" ] || skip "no load client at $apiload (build the tests)"
probe=$(probe_elf)
ulimit -n 4096 2>/dev/null || true

# clients PART: the Python client below, run against SOCK and petrel's PID
clients() {
	python3 - "$1" "$SOCK" "$PID" <<'PY'
import os, socket, sys, time

part, path, pid = sys.argv[1], sys.argv[2], sys.argv[3]
WAIT = 15	# a generous bound: only proves "does not hang"

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s

def answer(s, timeout=WAIT):
    """One whole answer's status, or None if the connection ended first."""
    s.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                return None
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        while len(body) < length:
            chunk = s.recv(4096)
            if not chunk:
                return None
            body += chunk
        return int(head.split(b" ")[1])
    except socket.timeout:
        return None

def closed_by_peer(s):
    """True when petrel closed s (EOF), False while it is open and silent."""
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True

def sockets():
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return n

def half_sent():
    halves = [conn() for _ in range(6)]
    for i, s in enumerate(halves):
        s.sendall(b"GET / HT" if i % 2 else
                  b"PUT /machine-config HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"vcpu")
    time.sleep(0.2)
    t = time.monotonic()
    good = conn()
    good.sendall(b"GET / HTTP/1.1\r\n\r\n")
    status = answer(good)
    took = time.monotonic() - t
    still = sum(not closed_by_peer(s) for s in halves)
    print(f"good {status} in {took:.3f} s, {still} of 6 half-sent still open", flush=True)
    t = time.monotonic()
    for s in halves:
        s.setblocking(True)
        s.settimeout(WAIT)
        try:
            s.recv(1)
        except socket.timeout:
            pass
    ended = sum(closed_by_peer(s) for s in halves)
    print(f"half-sent closed {ended} after {time.monotonic() - t + 0.2:.1f} s", flush=True)
    good.sendall(b"GET / HTTP/1.1\r\n\r\n")
    print(f"good again {answer(good)}", flush=True)

def pipeliner():
    base = sockets()
    p = conn()
    p.setblocking(False)
    req, sent, stalls = b"GET /metrics HTTP/1.1\r\n\r\n", 0, 0
    while sent < 100000 and stalls < 20:
        try:
            if p.send(req) != len(req):
                break
            sent += 1
        except BlockingIOError:
            stalls += 1
            time.sleep(0.05)
    t = time.monotonic()
    good = conn()
    good.sendall(b"GET / HTTP/1.1\r\n\r\n")
    status = answer(good)
    print(f"beside the pipeliner ({sent} sent, none read): good {status} "
          f"in {time.monotonic() - t:.3f} s, pipeliner still open {sockets() == base + 2}",
          flush=True)
    good.close()
    while sockets() > base and time.monotonic() - t < WAIT:
        time.sleep(0.1)
    print(f"pipeliner closed {sockets() == base} after {time.monotonic() - t:.1f} s", flush=True)
    p.setblocking(True)
    p.settimeout(WAIT)
    data = b""
    end = "EOF"
    while True:
        try:
            chunk = p.recv(65536)
        except ConnectionResetError:	# it closed with requests unread
            end = "a reset"
            break
        if not chunk:
            break
        data += chunk
    print(f"pipeliner got {data.count(b'HTTP/1.1 200 OK')} of {sent} answers, then {end}",
          flush=True)

def many():
    cs = [conn() for _ in range(256)]
    for s in cs:
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
    print(f"256 at once: {sum(answer(s) == 200 for s in cs)} answered", flush=True)
    extra = conn()
    extra.sendall(b"GET / HTTP/1.1\r\n\r\n")
    status = answer(extra)
    gone = sum(closed_by_peer(s) for s in cs)
    print(f"a 257th beside 256 idle: {status}, {gone} idle closed", flush=True)
    for s in cs + [extra]:
        s.close()
    while sockets() > 1:
        time.sleep(0.05)
    busy = [conn() for _ in range(256)]
    for s in busy:
        s.sendall(b"GET / HT")
    time.sleep(0.2)
    late = [conn() for _ in range(2)]
    for s in late:
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
    waiting = [answer(s, 1) for s in late]
    print(f"beyond 256 busy: {waiting.count(None)} of 2 wait", flush=True)
    for s in busy[:10]:
        s.close()
    t = time.monotonic()
    print(f"after 10 closed: {[answer(s) for s in late]} in {time.monotonic() - t:.3f} s",
          flush=True)
    for s in busy[10:] + late:
        s.close()

{"half": half_sent, "pipe": pipeliner, "many": many}[part]()
PY
}

# expect_client TEXT REGEX DESCRIPTION
expect_client() {
	if grep -Eq -- "$2" <<<"$1"; then
		pass "$3: $(grep -E -- "$2" <<<"$1")"
	else
		fail "$3: got:"
		sed 's/^/    | /' <<<"$1"
	fi
}

start_petrel clients
expect_api 204 "" PUT /boot-source \
	"{\"kernel_image_path\": \"$probe\", \"boot_args\": \"console=ttyS0 probe.action=count probe.ticks=0\"}"
expect_api 204 "" PUT /actions '{"action_type": "InstanceStart"}'

out=$(clients half 2>&1) || true
expect_client "$out" '^good 200 in .* 6 of 6 half-sent still open$' \
	"a client answered while six half-sent requests wait"
expect_client "$out" '^half-sent closed 6 after' "the six closed at their deadline"
expect_client "$out" '^good again 200$' "the good client's connection served on"

out=$(clients pipe 2>&1) || true
expect_client "$out" '^beside the pipeliner .*: good 200 in .* pipeliner still open True$' \
	"a client answered beside a pipeliner that never reads"
expect_client "$out" '^pipeliner closed True after' "the pipeliner closed at its response deadline"
expect_client "$out" '^pipeliner got [0-9]+ of [0-9]+ answers, then (EOF|a reset)$' \
	"it reads what was sent, then the connection ends"

out=$(clients many 2>&1) || true
expect_client "$out" '^256 at once: 256 answered$' "256 connections at once"
expect_client "$out" '^a 257th beside 256 idle: 200, 1 idle closed$' "a 257th takes the longest idle one's place"
expect_client "$out" '^beyond 256 busy: 2 of 2 wait$' "beyond 256 busy connections, new ones wait"
expect_client "$out" '^after 10 closed: \[200, 200\]' "and are served once others close"

# Two keep-alive clients taking turns: never "server closed idle connection".
"$apiload" -c 2 -a -k keep -n 2000 "$SOCK" >"$T/turns.sum" 2>&1 && rc=0 || rc=$?
if [ "$rc" -eq 0 ] && grep -q '^requests 2000 answered 2000 connections 2 ' "$T/turns.sum"; then
	pass "two keep-alive clients taking turns: 2,000 answers on their 2 connections"
else
	fail "two keep-alive clients taking turns (exit $rc):"
	sed 's/^/    | /' "$T/turns.sum" | head
fi

expect_api 200 '"state":"Running"' GET /
stop_petrel
expect_rc clients 0 "SIGTERM: a clean exit"
finish
