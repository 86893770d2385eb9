#!/usr/bin/env bash
# The control API's refusals: each kind of bad request gets its status code
# and a fault_message that names the problem, and changes nothing; a failed
# InstanceStart leaves the VM "Not started" so a corrected config boots.
. "$(dirname "$0")/api_lib.sh"
need_kvm
probe=$(probe_elf)
boot_source() {
	echo "{\"kernel_image_path\": \"$1\", \"boot_args\": \"console=ttyS0 probe.action=$2\"}"
}

start_petrel err

# Bodies: JSON, fields, types, required fields, ids.
expect_api 400 'deserializing the json body' PUT /boot-source '{"kernel_image_path": '
expect_api 400 'unknown field \"foo\"' PUT /machine-config \
	'{"vcpu_count": 1, "mem_size_mib": 128, "foo": 1}'
expect_api 400 'vcpu_count: expected an integer' PUT /machine-config \
	'{"vcpu_count": "2", "mem_size_mib": 128}'
expect_api 400 'mem_size_mib: expected an integer' PATCH /machine-config '{"mem_size_mib": true}'
expect_api 400 'missing required field \"path_on_host\"' PUT /drives/d \
	'{"drive_id": "d", "is_root_device": false}'
expect_api 400 'missing required field \"kernel_image_path\"' PUT /boot-source '{}'
expect_api 400 'path \"a\", drive_id \"b\"' PUT /drives/a \
	'{"drive_id": "b", "path_on_host": "/x", "is_root_device": false}'
expect_api 400 'path \"eth0\", iface_id \"eth1\"' PUT /network-interfaces/eth0 \
	'{"iface_id": "eth1", "host_dev_name": "tap0"}'
expect_api 400 'The ID cannot be empty' PUT /drives/ '{"drive_id": ""}'
expect_api 400 'got \"Reboot\"' PUT /actions '{"action_type": "Reboot"}'
expect_api 400 'state: expected one of' PATCH /vm '{"state": "Stopped"}'
expect_api 400 'entropy.rate_limiter.ops: missing required field' PUT /entropy '{"rate_limiter": {"ops": {}}}'
expect_api 400 'level' PUT /logger '{"level": "Loud"}'
expect_api 400 "logger.log_path: $T/no/such/dir/log: No such file or directory" PUT /logger \
	"{\"log_path\": \"$T/no/such/dir/log\"}"
expect_api 400 "$T/no/such/dir/m" PUT /metrics "{\"metrics_path\": \"$T/no/such/dir/m\"}"

# Methods and paths, Firecracker's words.
expect_api 400 'Invalid request method and/or path: DELETE /drives/a.' DELETE /drives/a
expect_api 400 'Invalid request method and/or path: POST /actions.' POST /actions '{}'
expect_api 400 'Invalid request method and/or path: GET /foo.' GET /foo
expect_api 400 'Invalid request method and/or path: PUT /vm.' PUT /vm '{"state": "Paused"}'
expect_api 400 'GET request cannot have a body.' GET / '{}'
expect_api 400 'Empty PUT request.' PUT /boot-source ''
expect_api 400 'Empty PATCH request.' PATCH /machine-config ''

# The transport: no length, chunked, an old version, a body over the limit.
CODE=$(curl -s -o "$T/resp" -w '%{http_code}' --unix-socket "$SOCK" -X PUT \
	http://localhost/boot-source)
[ "$CODE" = 411 ] && grep -q 'Content-Length' "$T/resp" &&
	pass "PUT without Content-Length -> 411" || fail "no length: $CODE $(cat "$T/resp")"
CODE=$(echo '{}' | curl -s -o "$T/resp" -w '%{http_code}' --unix-socket "$SOCK" -X PUT \
	-H 'Transfer-Encoding: chunked' --data-binary @- http://localhost/boot-source)
[ "$CODE" = 501 ] && grep -q 'Transfer-Encoding is not supported' "$T/resp" &&
	pass "a chunked body -> 501" || fail "chunked: $CODE $(cat "$T/resp")"
raw_http 's.sendall(b"GET / HTTP/2.0\r\n\r\n"); print(s.recv(4096).decode())' >"$T/raw.out"
grep -q '^HTTP/1.1 505 ' "$T/raw.out" && pass "HTTP/2.0 -> 505" || fail "$(cat "$T/raw.out")"
big=$(head -c 51201 /dev/zero | tr '\0' ' ')
expect_api 400 'Request payload with size 51201 is larger than the limit of 51200' \
	PUT /boot-source "$big"
expect_api 200 '"state":"Not started"' GET /

# Nothing above changed the configuration.
expect_api 200 '"boot-source":{"kernel_image_path":""},"machine-config":{"vcpu_count":1,"mem_size_mib":128' GET /vm/config

# Wrong state before boot.
expect_api 400 'not supported before starting the microVM' PATCH /vm '{"state": "Paused"}'
expect_api 400 'not supported before starting the microVM' PATCH /drives/d \
	'{"drive_id": "d", "path_on_host": "/x"}'
expect_api 400 'not supported before starting the microVM' PUT /actions \
	'{"action_type": "SendCtrlAltDel"}'

# A failed InstanceStart says why and leaves the VM startable.
expect_api 400 'boot-source.kernel_image_path: required to boot' PUT /actions \
	'{"action_type": "InstanceStart"}'
expect_api 204 "" PUT /boot-source "$(boot_source "$T/missing.elf" halt)"
expect_api 400 "boot-source.kernel_image_path: $T/missing.elf: No such file or directory" PUT /actions \
	'{"action_type": "InstanceStart"}'
expect_api 200 '"state":"Not started"' GET /
expect_api 204 "" PUT /drives/root \
	"{\"drive_id\": \"root\", \"path_on_host\": \"$T/missing.img\", \"is_root_device\": true}"
expect_api 204 "" PUT /boot-source "$(boot_source "$probe" halt)"
expect_api 400 "$T/missing.img" PUT /actions '{"action_type": "InstanceStart"}'
expect_api 400 'a root device is already configured' PUT /drives/other \
	"{\"drive_id\": \"other\", \"path_on_host\": \"$T/x.img\", \"is_root_device\": true}"
truncate -s 1M "$T/root.img"
expect_api 204 "" PUT /drives/root \
	"{\"drive_id\": \"root\", \"path_on_host\": \"$T/root.img\", \"is_root_device\": true}"
expect_api 204 "" PUT /actions '{"action_type": "InstanceStart"}'
wait_line err '^probe: halting$'
expect_api 200 '"state":"Running"' GET /

# Wrong state after boot.
for req in "PUT /boot-source $(boot_source "$probe" halt)" \
	   'PUT /machine-config {"vcpu_count": 1, "mem_size_mib": 64}' \
	   'PATCH /machine-config {"mem_size_mib": 64}' \
	   'PUT /entropy {}' 'PUT /metrics {"metrics_path": "/tmp/m"}' \
	   'PUT /logger {"level": "Debug"}' 'PUT /actions {"action_type": "InstanceStart"}' \
	   "PUT /drives/x {\"drive_id\": \"x\", \"path_on_host\": \"/x\", \"is_root_device\": false}" \
	   'PUT /network-interfaces/n {"iface_id": "n", "host_dev_name": "tap0"}' \
	   'PUT /serial {"serial_out_path": "/tmp/c"}'; do
	read -r method path body <<<"$req"
	expect_api 400 'not supported after starting the microVM' "$method" "$path" "$body"
done
expect_api 400 'no network interface with iface_id \"nope\"' PATCH /network-interfaces/nope \
	'{"iface_id": "nope", "tx_rate_limiter": {"ops": {"size": 1, "refill_time": 1}}}'
expect_api 400 'no drive with drive_id \"nodrive\"' PATCH /drives/nodrive \
	'{"drive_id": "nodrive", "path_on_host": "/x"}'
expect_api 400 "$T/gone.img: No such file or directory" PATCH /drives/root \
	"{\"drive_id\": \"root\", \"path_on_host\": \"$T/gone.img\"}"
expect_api 200 "\"path_on_host\":\"$T/root.img\"" GET /vm/config
stop_petrel

# A smaller limit: a body over it is refused unread, the connection goes on.
start_petrel small --http-api-max-payload-size 100
python3 - "$SOCK" >"$T/small.raw" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
body = b'{"kernel_image_path": "' + b"k" * 200 + b'"}'
s.sendall(b"PUT /boot-source HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
s.sendall(b"GET / HTTP/1.1\r\n\r\n")
data = b""
while data.count(b"HTTP/1.1 ") < 2 or not data.endswith(b"}"):
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.decode())
EOF
grep -q 'larger than the limit of 100 allowed' "$T/small.raw" &&
	grep -q '"state":"Not started"' "$T/small.raw" &&
	pass "--http-api-max-payload-size 100: refused, then the next request served" ||
	fail "small limit: $(cat "$T/small.raw")"
expect_api 204 "" PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
stop_petrel
finish
