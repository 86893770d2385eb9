#!/usr/bin/env bash
# vsock across a snapshot: a probe echoing on a connection is paused,
# snapshotted and killed; loaded with vsock_override into a new petrel it
# listens at the new uds_path, the guest hears of the transport reset (its old
# connection dropped), and a new connection is echoed. A load whose
# vsock_override names a socket another process serves is a 400 naming it,
# and petrel can load after it (test_snapshot.sh: a snapshot without vsock
# refuses vsock_override).
. "$(dirname "$0")/vsock_lib.sh"
override_body() {	# UDS_PATH
	load_body "$T/st" "$T/mem" "\"resume_vm\":true,\"vsock_override\":{\"uds_path\":\"$1\"}"
}

start_petrel src
expect_api 204 "" PUT /boot-source \
	"{\"kernel_image_path\":\"$probe\",\"boot_args\":\"console=ttyS0 probe.action=vsock-echo probe.port=1234\"}"
expect_api 204 "" PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64}'
expect_api 204 "" PUT /vsock "{\"guest_cid\":7,\"uds_path\":\"$T/src.vsock\"}"
expect_api 204 "" PUT /actions '{"action_type":"InstanceStart"}'
wait_line src "^probe: vsock echo ready cid=7 port=1234" 20

# A connection that is open when the snapshot is taken.
python3 - "$T/src.vsock" >"$T/old.out" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(sys.argv[1])
s.sendall(b"CONNECT 1234\n")
ok = s.recv(64)
s.sendall(b"before the snapshot")
print("echo", s.recv(64).decode(), flush=True)
print("old end:", repr(s.recv(64)), flush=True)
PY
opid=$!
PIDS+=("$opid")
for _ in $(seq 200); do grep -q "^echo" "$T/old.out" && break; sleep 0.05; done
grep -q "^echo before the snapshot" "$T/old.out" && pass "the connection echoes before the snapshot" ||
	fail "old connection: $(cat "$T/old.out")"
expect_api 204 "" PATCH /vm '{"state":"Paused"}'
expect_api 204 "" PUT /snapshot/create "{\"snapshot_path\":\"$T/st\",\"mem_file_path\":\"$T/mem\"}"
kill -9 "$PID"
wait "$PID" 2>/dev/null || true

# Another process serves the path asked for: a 400 naming it, nothing changed.
vsock_listen "$T/busy.vsock" noread 60 "$T/busy.out"
start_petrel dst
expect_api 400 "uds_path $T/busy.vsock: cannot listen there: in use" PUT /snapshot/load \
	"$(override_body "$T/busy.vsock")"
expect_api 204 "" PUT /snapshot/load "$(override_body "$T/clone.vsock")"
wait_line dst "^probe: vsock transport reset dropped=1$" 20 &&
	pass "the restored guest is told of the transport reset: its old connection is dropped"
expect_api 200 "\"uds_path\":\"$T/clone.vsock\"" GET /vm/config
[ -S "$T/clone.vsock" ] && pass "the clone listens at the new uds_path" || fail "no socket at $T/clone.vsock"
out=$(timeout 60 python3 "$peer" echo "$T/clone.vsock" 1234 100000 2>&1) || true
grep -q "sent=100000 got=100000 sha_equal=1" <<<"$out" &&
	pass "a new connection to the clone echoes ($out)" || fail "clone echo: $out"
wait "$opid" || true
grep -q "^old end: b''" "$T/old.out" && pass "the old host connection ended with its petrel" ||
	fail "old connection: $(cat "$T/old.out")"
stop_petrel
expect_rc dst 0 "the clone ends cleanly"
kill "$LPID" 2>/dev/null || true
finish
