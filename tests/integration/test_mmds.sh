#!/usr/bin/env bash
# The metadata service with the probe's ARP/IPv4/TCP/HTTP client
# (probe.action=mmds) over virtio-net on a tap in a network namespace of our
# own: V1 reads (IMDS text and JSON), a PATCH made while the guest runs is
# what it reads next, V2 refuses a GET without a token, with a made-up one
# or an expired one and serves one with a fresh token; the ARP requests for
# another address reach the tap and nothing for the MMDS does; broken frames
# and HTTP leave the service answering. Every bad API field is named.
. "$(dirname "$0")/api_lib.sh"
need_kvm
netns_taps mmds ptap0
probe=$(probe_elf)
# petrel runs in the namespace, where the tap is.
real_bin=$PETREL_BIN
cat > "$T/petrel-in-ns" <<EOF
#!/bin/sh
exec ip netns exec $NS $real_bin "\$@"
EOF
chmod +x "$T/petrel-in-ns"
PETREL_BIN=$T/petrel-in-ns

META='{"latest":{"meta-data":{"ami-id":"ami-12345678","reservation-id":"r-1","num":7,
"network":{"interfaces":{"mac":"06:00"}}}}}'
NET='{"iface_id": "eth0", "host_dev_name": "ptap0", "guest_mac": "06:00:ac:10:00:02"}'

# guest_line NAME WHAT STATUS BODY: the probe printed that answer
guest_line() {
	local line
	line=$(grep -F "probe: mmds $2 status=" "$T/$1.out" | head -1 || true)
	if [ "$line" = "probe: mmds $2 status=$3 body=$4" ]; then
		pass "$1: $2 -> $3 ${4:0:60}"
	else
		fail "$1: $2: expected status=$3 body=$4, got '${line:-nothing}'"
		tail -5 "$T/$1.out" | sed 's/^/    | /'
	fi
}

# bad_config MESSAGE FIELD: PUT /mmds/config with eth0 and FIELD is a 400 with MESSAGE
bad_config() {
	expect_api 400 "$1" PUT /mmds/config "{\"network_interfaces\": [\"eth0\"], $2}"
}

# ---- API: every bad field named, before boot ----
start_petrel api
expect_api 200 'null' GET /mmds
expect_api 400 'The MMDS data store is not initialized.' PATCH /mmds '{"a": 1}'
expect_api 200 'null' GET /mmds
expect_api 400 'mmds-config: missing required field \"network_interfaces\"' PUT /mmds/config '{}'
expect_api 400 'mmds-config.network_interfaces[0]: no network interface \"eth0\"' \
	PUT /mmds/config '{"network_interfaces": ["eth0"]}'
expect_api 204 '' PUT /network-interfaces/eth0 "$NET"
expect_api 400 'mmds-config.network_interfaces: at least one' PUT /mmds/config \
	'{"network_interfaces": []}'
expect_api 400 'mmds-config.network_interfaces: expected an array' PUT /mmds/config \
	'{"network_interfaces": "eth0"}'
bad_config 'mmds-config.version: expected one of \"V1\", \"V2\", got \"V3\"' '"version": "V3"'
bad_config 'mmds-config.ipv4_address: 10.0.0.1 is not a link-local' '"ipv4_address": "10.0.0.1"'
bad_config 'mmds-config.ipv4_address: expected a dotted IPv4' '"ipv4_address": "169.254.x"'
bad_config 'mmds-config.imds_compat: expected a boolean' '"imds_compat": "yes"'
bad_config 'mmds-config: unknown field \"bogus\"' '"bogus": 1'
expect_api 400 'mmds: expected a JSON object' PUT /mmds '[1, 2]'
expect_api 400 'deserializing the json body' PATCH /mmds '{"a": 1} x'
expect_api 400 'Empty PUT request' PUT /mmds ''
stop_petrel

start_petrel limit --mmds-size-limit 100
expect_api 413 'larger than its limit of 100 bytes' PUT /mmds \
	"{\"a\": \"$(printf '%0200d' 0)\"}"
expect_api 204 '' PUT /mmds '{"a": "b"}'
expect_api 413 'larger than its limit' PATCH /mmds "{\"c\": \"$(printf '%0200d' 0)\"}"
expect_api 200 '{"a":"b"}' GET /mmds
stop_petrel

echo '[1]' > "$T/bad-meta.json"
set +e
"$real_bin" --api-sock "$T/x.sock" --metadata "$T/bad-meta.json" >"$T/badmeta.out" 2>&1
RC=$?
set -e
expect_line badmeta "metadata file $T/bad-meta.json: expected a JSON object" \
	"--metadata: a file that is not an object is named"
expect_rc badmeta 1 "--metadata: refused"

# ---- V1 over the probe; a PATCH while it runs; the tap still gets the rest ----
# The host counts ARP requests on the tap, and anything for the MMDS's address.
in_ns python3 -c '
import socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("ptap0", 0)); s.settimeout(0.5)
other = mmds = 0; end = time.time() + 90
print("ready", flush=True)
while time.time() < end and other < 5:
    try: f = s.recv(2048)
    except socket.timeout: continue
    if f[12:14] == b"\x08\x06" and f[38:42] == bytes([10, 0, 2, 1]): other += 1
    if f[12:14] == b"\x08\x06" and f[38:42] == bytes([169, 254, 169, 254]): mmds += 1
    if f[12:14] == b"\x08\x00" and f[30:34] == bytes([169, 254, 169, 254]): mmds += 1
time.sleep(1)
print("other=%d mmds=%d" % (other, mmds))
' > "$T/tap.out" 2>&1 &
tapper=$!
for _ in $(seq 100); do grep -q ready "$T/tap.out" && break; sleep 0.05; done

steps="get:/latest/meta-data,get:/latest/meta-data/ami-id,json:/latest/meta-data/network"
steps+=",json:/latest/meta-data/ami-id,get:/latest/meta-data/num,get:/nothing/here,get:/"
steps+=",sleep:3000,get:/latest/meta-data/ami-id,tap:5,hostile,get:/latest/meta-data/reservation-id"
start_petrel v1
expect_api 204 '' PUT /network-interfaces/eth0 "$NET"
expect_api 204 '' PUT /mmds/config '{"network_interfaces": ["eth0"]}'
expect_api 204 '' PUT /mmds "$META"
expect_api 204 '' PUT /boot-source "{\"kernel_image_path\": \"$probe\",
	\"boot_args\": \"console=ttyS0 probe.action=mmds probe.end=halt probe.mmds=$steps\"}"
expect_api 204 '' PUT /actions '{"action_type": "InstanceStart"}'
if wait_line v1 "probe: mmds get:/ status=" 30; then
	expect_api 204 '' PATCH /mmds '{"latest": {"meta-data": {"ami-id": "ami-patched"}}}'
	expect_api 200 '"ami-id":"ami-patched"' GET /mmds
fi
wait_line v1 "probe: mmds done" 60 || true
expect_api 400 'not supported after starting' PUT /mmds/config '{"network_interfaces": ["eth0"]}'
stop_petrel
wait "$tapper" || true
guest_line v1 get:/latest/meta-data 200 'ami-id|network/|num|reservation-id'
guest_line v1 get:/latest/meta-data/ami-id 200 'ami-12345678'
guest_line v1 json:/latest/meta-data/network 200 '{"interfaces":{"mac":"06:00"}}'
guest_line v1 json:/latest/meta-data/ami-id 200 '"ami-12345678"'
guest_line v1 get:/latest/meta-data/num 501 \
	'Cannot retrieve value. The value has an unsupported type.'
guest_line v1 get:/nothing/here 404 'Resource not found: /nothing/here.'
guest_line v1 get:/ 200 'latest/'
if grep -q "probe: mmds get:/latest/meta-data/ami-id status=200 body=ami-patched" "$T/v1.out"; then
	pass "v1: the PATCH made while the guest runs is what it reads next"
else
	fail "v1: the guest did not read the patched value"
fi
if grep -q "^other=5 mmds=0" "$T/tap.out"; then
	pass "v1: ARP for another address reached the tap, nothing for the MMDS did"
else
	fail "v1: on the tap: $(cat "$T/tap.out")"
fi
expect_out v1 "probe: mmds hostile frames sent" "v1: hostile frames sent"
for c in garbage:400 content-length:413 version:505 chunked:501 header:400 oversized:400; do
	expect_out v1 "probe: mmds hostile ${c%%:*} status=${c#*:}$" \
		"v1: hostile HTTP ${c%%:*} refused with ${c#*:}"
done
guest_line v1 get:/latest/meta-data/reservation-id 200 'r-1'

# ---- V2, from a config file and --metadata, imds_compat ----
echo "$META" > "$T/meta.json"
steps="notoken:/latest/meta-data/ami-id,token:1,get:/latest/meta-data/ami-id,sleep:2100"
steps+=",get:/latest/meta-data/reservation-id,token:0,token:21601,token:60"
steps+=",json:/latest/meta-data/network,badtoken:/latest/meta-data/ami-id"
cat > "$T/v2.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$probe",
    "boot_args": "console=ttyS0 probe.action=mmds probe.end=halt probe.mmds_ip=169.254.170.2 probe.mmds=$steps" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 },
  "network-interfaces": [ $NET ],
  "mmds-config": { "network_interfaces": ["eth0"], "version": "V2",
                   "ipv4_address": "169.254.170.2", "imds_compat": true }
}
JSON
start_petrel v2 --config-file "$T/v2.json" --metadata "$T/meta.json"
wait_line v2 "probe: mmds done" 60 || true
expect_api 200 '"version":"V2"' GET /vm/config
stop_petrel
guest_line v2 notoken:/latest/meta-data/ami-id 401 \
	'No MMDS token provided. Use `X-metadata-token` header to specify the session token.'
expect_out v2 "probe: mmds token status=200 len=64" "v2: a token for a PUT with a TTL"
guest_line v2 get:/latest/meta-data/ami-id 200 'ami-12345678'
guest_line v2 get:/latest/meta-data/reservation-id 401 'MMDS token not valid.'
expect_out v2 "probe: mmds token status=400 len=" "v2: TTL 0 and 21601 refused"
guest_line v2 json:/latest/meta-data/network 200 'interfaces/'
guest_line v2 badtoken:/latest/meta-data/ami-id 401 'MMDS token not valid.'
finish
