#!/usr/bin/env bash
# Helpers for the vsock tests (sourced instead of api_lib.sh, which it brings
# in; skips without /dev/kvm or python3, builds the probe): the probe booted
# with a vsock device, its counters, and the host's end of the device's
# sockets (tests/guest/probe/vsock_peer.py, or a line sent by hand).
. "$(dirname "${BASH_SOURCE[0]}")/api_lib.sh"
need_kvm
command -v python3 >/dev/null || skip "needs python3 for the host's end"
probe=$(probe_elf)
peer="$PETREL_SRC/tests/guest/probe/vsock_peer.py"

# vsock_boot NAME BOOT_ARGS: the probe started with a vsock device at
# $T/NAME.vsock, cid 3
vsock_boot() {
	start_petrel "$1" || return 1
	expect_api 204 "" PUT /boot-source \
		"{\"kernel_image_path\":\"$probe\",\"boot_args\":\"console=ttyS0 $2\"}"
	expect_api 204 "" PUT /vsock \
		"{\"vsock_id\":\"vsock0\",\"guest_cid\":3,\"uds_path\":\"$T/$1.vsock\"}"
	expect_api 204 "" PUT /actions '{"action_type":"InstanceStart"}'
}

# vsock_metric NAME: a vsock counter from GET /metrics
vsock_metric() {
	api GET /metrics
	awk -v m="petrel_vsock_$1" '$1 == m { print $2 }' <<<"$RESP"
}

# vsock_listen PATH MODE SECONDS OUT: vsock_peer.py listening at PATH in the
# background (its output in OUT, its pid in LPID), once it is listening
vsock_listen() {
	python3 "$peer" listen "$1" "$2" "$3" >"$4" 2>&1 &
	LPID=$!
	PIDS+=("$LPID")
	wait_listening "$4"
}

# wait_listening OUT: until a host listener has said "listening" in OUT (5 s at most)
wait_listening() {
	for _ in $(seq 100); do
		grep -q listening "$1" && break
		sleep 0.05
	done
}

# vsock_send_line PATH LINE SECONDS: connect to PATH, send LINE, and say how
# the socket answers within SECONDS: "closed", "answered <bytes>" or "still open"
vsock_send_line() {
	timeout $(($3 * 2)) python3 - "$1" "$2" "$3" <<'PY' || true
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(float(sys.argv[3]))
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode())
try:
    b = s.recv(100)
    print("closed" if b == b"" else "answered %r" % b)
except socket.timeout:
    print("still open after %s s" % sys.argv[3])
PY
}
