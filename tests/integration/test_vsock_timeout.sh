#!/usr/bin/env bash
# virtio-vsock connections stuck on a quiet peer are reset after petrel's
# 2 s timeout instead of holding a slot for ever:
# - a guest that never answers the host's CONNECT (probe.vsock_deaf=1): the
#   host socket is closed without an "OK", and petrel serves on;
# - a guest that closes while its last bytes wait for a host peer that does
#   not read: the guest gets its RST (the probe's connection ends), and the
#   host peer finds its socket hung up (the bytes it never read are dropped,
#   as Firecracker drops them).
# GET /metrics counts both as conn_timeouts, and every connection removed.
. "$(dirname "$0")/vsock_lib.sh"

# A guest that never answers: the host socket is closed (15 s only proves no hang).
vsock_boot deaf "probe.action=vsock-echo probe.port=1234 probe.vsock_deaf=1"
wait_line deaf "^probe: vsock echo ready cid=3 port=1234" 20
out=$(vsock_send_line "$T/deaf.vsock" $'CONNECT 1234\n' 15)
[ "$out" = closed ] && pass "CONNECT the guest never answers: the host socket is closed" ||
	fail "unanswered CONNECT: $out"
[ "$(vsock_metric conn_timeouts)" = 1 ] && pass "counted in conn_timeouts" ||
	fail "conn_timeouts: $(vsock_metric conn_timeouts)"
[ "$(vsock_metric conns_removed)" = "$(vsock_metric conns_added)" ] &&
	pass "no connection left ($(vsock_metric conns_added) added and removed)" ||
	fail "conns_added $(vsock_metric conns_added), conns_removed $(vsock_metric conns_removed)"
kill -0 "$PID" && pass "petrel is still running" || fail "petrel died"
stop_petrel
expect_rc deaf 0 "petrel ends cleanly"

# The guest closes; the host peer at <uds_path>_5000 reads only when told to.
python3 - "$T/close.vsock_5000" "$T/go" >"$T/peer.out" 2>&1 <<'PY' &
import os, select, socket, sys, time
ls = socket.socket(socket.AF_UNIX)
ls.bind(sys.argv[1])
ls.listen(1)
print("listening", flush=True)
ls.settimeout(60)
s, _ = ls.accept()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
# Hung up already: petrel closed its end before anything more was read.
p = select.poll()
p.register(s, select.POLLIN)
hup = any(ev & select.POLLHUP for _, ev in p.poll(0))
s.settimeout(10)
n = 0
try:
    while True:
        b = s.recv(65536)
        if not b:
            print("eof bytes=%d hup=%d" % (n, hup))
            break
        n += len(b)
except socket.timeout:
    print("still open after %d bytes" % n)
PY
lpid=$!
PIDS+=("$lpid")
wait_listening "$T/peer.out"
vsock_boot close "probe.action=vsock-connect probe.port=5000 probe.vsock_mode=close \
probe.vsock_bytes=$((64 << 20)) probe.vsock_timeout_ms=20000 probe.end=halt"
wait_line close "^probe: vsock connect conns=" 40
expect_out close "^probe: vsock connect conns=1 ok=0 refused=0 bad=0 " \
	"the guest's close ends in a reset while the host does not read"
if output close | grep -q "probe: vsock connect timeout"; then
	fail "the guest waited 20 s for the end of its connection"
else
	pass "the guest did not wait for its 20 s timeout"
fi
touch "$T/go"
wait "$lpid" || true
grep -Eq "^eof bytes=[0-9]+ hup=1" "$T/peer.out" &&
	pass "petrel closed the host peer's socket before it read ($(tail -n 1 "$T/peer.out"))" ||
	fail "host peer: $(cat "$T/peer.out")"
[ "$(vsock_metric conn_timeouts)" = 1 ] && pass "counted in conn_timeouts" ||
	fail "conn_timeouts: $(vsock_metric conn_timeouts)"
[ "$(vsock_metric conns_removed)" = "$(vsock_metric conns_added)" ] &&
	pass "no connection left" ||
	fail "conns_added $(vsock_metric conns_added), conns_removed $(vsock_metric conns_removed)"
stop_petrel
finish
