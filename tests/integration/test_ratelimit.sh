#!/usr/bin/env bash
# Rate limiters, as a user sees them: every bad field of every limiter is a
# 400 naming it and changes nothing; the probe's block test under a 2 MiB/s
# bucket moves data no faster than the rate plus the bucket, and PATCH
# /drives makes it faster on the running VM; a snapshot keeps an empty
# bucket empty in the restored VM; entropy under an ops bucket;
# network tx and rx under ops buckets, all frames through, PATCH
# /network-interfaces at run time; PUT /serial sends the console to a file,
# and its bucket drops what is beyond it, counted. Rates are the guest's own
# (TSC) measurements, checked against the configured ones with a margin;
# nothing here asserts a wall-clock time.
. "$(dirname "$0")/api_lib.sh"
need_kvm
probe=$(probe_elf)

# le A B / ge A B: decimal comparisons of the probe's "x.y" rates
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

# field FILE REGEX: the first capture group of the first matching line
field() { sed -nE "s/$2/\1/p" "$1" | head -1; }

# wait_file FILE REGEX SECONDS
wait_file() {
	local end=$((SECONDS + $3))

	until grep -Eq -- "$2" "$1" 2>/dev/null; do
		if [ "$SECONDS" -ge "$end" ]; then
			fail "no line matching '$2' in $1 after $3 s"
			tail -5 "$1" 2>/dev/null | sed 's/^/    | /'
			return 1
		fi
		sleep 0.05
	done
}

# metric NAME_AND_LABELS: a sample of GET /metrics (0 when absent)
metric() {
	api GET /metrics
	awk -v m="$1" '$1 == m { print $2; f = 1; exit } END { if (!f) print 0 }' <<<"$RESP"
}

# ---- every bad field of every limiter: 400 naming it, nothing changed ----

start_petrel errors
drive='"drive_id": "d", "path_on_host": "/nonexistent", "is_root_device": false'
net='"iface_id": "n", "host_dev_name": "tap0"'
bad_buckets=(
	'{"bandwidth": {"size": -1, "refill_time": 100}}|.bandwidth.size: expected an integer 0..'
	'{"bandwidth": {"size": 1, "refill_time": -1}}|.bandwidth.refill_time: expected an integer 0..4294967295, got -1'
	'{"bandwidth": {"size": 1, "refill_time": 4294967296}}|.bandwidth.refill_time: expected an integer 0..4294967295'
	'{"ops": {"size": 1, "refill_time": 1, "one_time_burst": -2}}|.ops.one_time_burst: expected an integer 0..'
	'{"ops": {"size": "10", "refill_time": 1}}|.ops.size: expected an integer 0..9223372036854775807, got a string'
	'{"ops": {"size": 1.5, "refill_time": 1}}|.ops.size: expected an integer 0..9223372036854775807, got a number with a fraction'
	'{"ops": {"size": 1, "refill_time": true}}|.ops.refill_time: expected an integer 0..4294967295, got a boolean'
	'{"ops": {"size": 1}}|.ops: missing required field \"refill_time\"'
	'{"ops": {"refill_time": 1}}|.ops: missing required field \"size\"'
	'{"ops": {"size": 1, "refill_time": 1, "burst": 1}}|.ops: unknown field \"burst\"'
	'{"ops": []}|.ops: expected an object'
	'{"bw": {}}|: unknown field \"bw\"'
	'[1]|: expected an object'
)
for b in "${bad_buckets[@]}"; do
	rl=${b%%|*} msg=${b#*|}
	expect_api 400 "drive.rate_limiter$msg" PUT /drives/d "{$drive, \"rate_limiter\": $rl}"
	expect_api 400 "drive.rate_limiter$msg" PATCH /drives/d "{\"drive_id\": \"d\", \"rate_limiter\": $rl}"
	expect_api 400 "network-interface.rx_rate_limiter$msg" PUT /network-interfaces/n \
		"{$net, \"rx_rate_limiter\": $rl}"
	expect_api 400 "network-interface.tx_rate_limiter$msg" PUT /network-interfaces/n \
		"{$net, \"tx_rate_limiter\": $rl}"
	expect_api 400 "network-interface.rx_rate_limiter$msg" PATCH /network-interfaces/n \
		"{\"iface_id\": \"n\", \"rx_rate_limiter\": $rl}"
	expect_api 400 "network-interface.tx_rate_limiter$msg" PATCH /network-interfaces/n \
		"{\"iface_id\": \"n\", \"tx_rate_limiter\": $rl}"
	expect_api 400 "entropy.rate_limiter$msg" PUT /entropy "{\"rate_limiter\": $rl}"
done
expect_api 400 'serial.rate_limiter.size: expected an integer' PUT /serial \
	'{"rate_limiter": {"size": -1, "refill_time": 1}}'
expect_api 400 'serial.rate_limiter: unknown field \"ops\"' PUT /serial \
	'{"rate_limiter": {"ops": {"size": 1, "refill_time": 1}}}'
expect_api 400 'serial.rate_limiter: missing required field \"refill_time\"' PUT /serial \
	'{"rate_limiter": {"size": 1}}'
expect_api 400 'serial.serial_out_path: expected a string' PUT /serial '{"serial_out_path": 5}'
expect_api 400 'serial: unknown field \"path\"' PUT /serial '{"path": "/tmp/x"}'
expect_api 400 'network-interface.mtu: expected an integer 68..65535, got 67' \
	PUT /network-interfaces/n "{$net, \"mtu\": 67}"
expect_api 400 'network-interface.mtu: expected an integer 68..65535, got 65536' \
	PUT /network-interfaces/n "{$net, \"mtu\": 65536}"
expect_api 400 'network-interface: unknown field \"mtu\"' PATCH /network-interfaces/n \
	'{"iface_id": "n", "mtu": 1500}'
expect_api 400 'not supported before starting' PATCH /network-interfaces/n '{"iface_id": "n"}'
expect_api 200 '"drives":[]' GET /vm/config
if grep -q '"entropy":{\|"serial":{\|"network-interfaces":\[{' <<<"$RESP"; then
	fail "a refused request changed the configuration: $RESP"
else
	pass "refused requests changed nothing"
fi
# Zero-sized buckets are accepted (no limit), and shown as given.
expect_api 204 "" PUT /network-interfaces/n \
	"{$net, \"mtu\": 9000, \"tx_rate_limiter\": {\"ops\": {\"size\": 0, \"refill_time\": 0}}}"
expect_api 200 '"mtu":9000' GET /vm/config
expect_api 200 '"tx_rate_limiter":{"ops":{"size":0,"one_time_burst":0,"refill_time":0}}' \
	GET /vm/config
stop_petrel

# ---- block: 2 MiB/s, then PATCHed faster while the guest reads ----

rate=2097152
truncate -s 16M "$T/disk.img"
start_petrel blk
expect_api 204 "" PUT /boot-source "{\"kernel_image_path\": \"$probe\", \"boot_args\": \
\"console=ttyS0 probe.action=blk probe.blk_mib=6 probe.blk_ms=100\"}"
# 256 KiB every 125 ms: 2 MiB/s with a bucket small beside the 6 MiB moved.
expect_api 204 "" PUT /drives/scratch "{\"drive_id\": \"scratch\", \"path_on_host\": \
\"$T/disk.img\", \"is_root_device\": false, \"rate_limiter\": {\"bandwidth\": \
{\"size\": 262144, \"refill_time\": 125}}}"
expect_api 204 "" PUT /serial "{\"serial_out_path\": \"$T/blk.console\"}"
expect_api 204 "" PUT /actions '{"action_type": "InstanceStart"}'
expect_api 200 '"rate_limiter":{"bandwidth":{"size":262144,"one_time_burst":0,"refill_time":125}}' \
	GET /vm/config
throttled=0
if wait_file "$T/blk.console" "^probe: blk write ok" 60; then
	expect_api 204 "" PATCH /drives/scratch '{"drive_id": "scratch", "rate_limiter":
		{"bandwidth": {"size": 67108864, "refill_time": 1000}}}'
	throttled=$(metric 'petrel_block_rate_limiter_throttled_events{drive="scratch"}')
	expect_api 200 '"size":67108864' GET /vm/config
fi
wait_file "$T/blk.console" "seq-write MBps" 60 || true
wait_exit 30
expect_line blk "guest powered off" "block: the probe ran to its end"
c="$T/blk.console"
if grep -q "^probe: blk verify ok" "$c"; then
	pass "block: the guest's data made it through the limiter whole"
else
	fail "block: no verify ok: $(grep '^probe: blk' "$c" | tail -3)"
fi
if grep -q "^probe: " "$T/blk.out"; then
	fail "serial_out_path: the console also went to stdout"
else
	pass "serial_out_path: the console went to the file, not stdout"
fi
wr=$(field "$c" '.*seq-write MBps=([0-9.]+) .*')
rd=$(field "$c" '.*seq-read MBps=([0-9.]+) .*')
# Allowed: the bucket plus the rate over the time it took, that is at most
# rate * 6 MiB / (6 MiB - 256 KiB) = 2.19 MB/s; 15% over is a failure.
if [ -n "$wr" ] && le "$wr" 2.5 && ge "$wr" 0.5; then
	pass "block: writes at $wr MB/s under a 2 MiB/s (2.10 MB/s) bucket"
else
	fail "block: writes at '${wr:-?}' MB/s under a 2 MiB/s bucket (expected 0.5..2.5)"
fi
if [ -n "$rd" ] && ge "$rd" 3; then
	pass "block: PATCH at run time: reads at $rd MB/s after it"
else
	fail "block: reads at '${rd:-?}' MB/s after PATCH to 64 MiB/s (expected > 3)"
fi
if [ "$throttled" -gt 0 ]; then
	pass "block: rate_limiter_throttled_events counted ($throttled)"
else
	fail "block: rate_limiter_throttled_events is $throttled"
fi

# ---- a snapshot keeps what the buckets hold ----
# 4 requests, then one every 150 s: the probe's block test empties the ops
# bucket at once. Restored in a new petrel, the bucket is still empty (a
# full one would serve 4 more at once): nothing is served until PATCH
# /drives gives a bucket that lets the held request through.

truncate -s 16M "$T/snap.img"
start_petrel snap-src
expect_api 204 "" PUT /boot-source "{\"kernel_image_path\": \"$probe\", \"boot_args\": \
\"console=ttyS0 probe.action=blk probe.blk_mib=2\"}"
expect_api 204 "" PUT /drives/scratch "{\"drive_id\": \"scratch\", \"path_on_host\": \
\"$T/snap.img\", \"is_root_device\": false, \"rate_limiter\": {\"ops\": \
{\"size\": 4, \"refill_time\": 600000}}}"
expect_api 204 "" PUT /actions '{"action_type": "InstanceStart"}'
for _ in $(seq 200); do
	[ "$(metric 'petrel_block_rate_limiter_throttled_events{drive="scratch"}')" -gt 0 ] && break
	sleep 0.05
done
expect_api 200 'petrel_block_requests{drive="scratch"} 4' GET /metrics
expect_api 204 "" PATCH /vm '{"state": "Paused"}'
expect_api 204 "" PUT /snapshot/create "{\"snapshot_path\": \"$T/snap.st\", \"mem_file_path\": \"$T/snap.mem\"}"
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
start_petrel snap-restored
expect_api 204 "" PUT /snapshot/load "$(load_body "$T/snap.st" "$T/snap.mem" '"resume_vm": true')"
expect_api 200 '"rate_limiter":{"ops":{"size":4,"one_time_burst":0,"refill_time":600000}}' GET /vm/config
sleep 1
served=$(metric 'petrel_block_requests{drive="scratch"}')
[ "$served" = 0 ] && pass "snapshot: the restored ops bucket is as empty as it was saved" ||
	fail "snapshot: the restored drive served $served requests at once (a full bucket)"
expect_api 204 "" PATCH /drives/scratch '{"drive_id": "scratch", "rate_limiter":
	{"ops": {"size": 100000, "refill_time": 100}}}'
for _ in $(seq 100); do
	[ "$(metric 'petrel_block_requests{drive="scratch"}')" -gt 0 ] && break
	sleep 0.05
done
served=$(metric 'petrel_block_requests{drive="scratch"}')
[ "$served" -gt 0 ] && pass "snapshot: PATCH /drives lets the held requests through ($served)" ||
	fail "snapshot: nothing served after PATCH /drives"
stop_petrel

# ---- entropy: 100 requests/s ----

cat > "$T/rng.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$probe",
                   "boot_args": "console=ttyS0 probe.action=rng probe.rng_kib=256" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 },
  "entropy": { "rate_limiter": { "ops": { "size": 10, "refill_time": 100 } } }
}
JSON
run_petrel rng 60 --no-api --config-file "$T/rng.json"
expect_line rng "^probe: rng bytes=262144 " "entropy: every byte asked for was served"
mb=$(field "$T/rng.out" '^probe: rng .* MBps=([0-9.]+)$')
# 64 requests of 4 KiB, 10 at once then 100/s: at most 262144 B / 0.54 s = 0.49 MB/s.
if [ -n "$mb" ] && le "$mb" 0.6; then
	pass "entropy: $mb MB/s under 100 requests of 4 KiB a second"
else
	fail "entropy: '${mb:-?}' MB/s under 100 requests/s (expected <= 0.6)"
fi

# ---- serial: the bucket drops what is beyond it, counted ----

start_petrel spew
expect_api 204 "" PUT /boot-source "{\"kernel_image_path\": \"$probe\", \"boot_args\": \
\"console=ttyS0 probe.action=spew\"}"
expect_api 204 "" PUT /serial "{\"serial_out_path\": \"$T/spew.console\", \"rate_limiter\": \
{\"size\": 2000, \"refill_time\": 3600000}}"
expect_api 204 "" PUT /actions '{"action_type": "InstanceStart"}'
sleep 0.5
dropped=$(metric petrel_uart_rate_limiter_dropped_bytes)
stop_petrel
size=$(stat -c %s "$T/spew.console")
if [ "$size" -le 2010 ] && [ "$size" -ge 1000 ] && grep -q "^probe: hello" "$T/spew.console"; then
	pass "serial: $size bytes written under a 2000-byte bucket"
else
	fail "serial: $size bytes written under a 2000-byte bucket"
fi
if [ "$dropped" -gt 0 ]; then
	pass "serial: uart.rate_limiter_dropped_bytes counted ($dropped)"
else
	fail "serial: rate_limiter_dropped_bytes is $dropped"
fi

# ---- network: tx and rx under ops buckets (root: a tap in our own namespace) ----

if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ] || ! command -v ip >/dev/null; then
	echo "SKIP: network part (needs root, /dev/net/tun and iproute2)"
	finish
	exit 0
fi
peer="$PETREL_SRC/tests/guest/probe/net_peer.py"
ns="petrel-rl-$$"
ip netns add "$ns" || { fail "cannot create a network namespace"; finish; }
trap 'for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; ip netns del "$ns" 2>/dev/null; rm -rf "$T"' EXIT
in_ns() { ip netns exec "$ns" "$@"; }
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
in_ns ip tuntap add dev rltap0 mode tap
in_ns ip link set rltap0 up

tx=400 rx=300 size=1000
in_ns python3 "$peer" recv rltap0 "$tx" 60 > "$T/peer_rx.out" 2>&1 &
peer_rx=$!
for _ in $(seq 100); do
	in_ns awk 'NR > 1 && $4 == "88b5" { f = 1 } END { exit !f }' /proc/net/packet && break
	sleep 0.05
done
SOCK="$T/net.sock"
in_ns "$PETREL_BIN" --api-sock "$SOCK" </dev/null >"$T/net.out" 2>"$T/net.log" &
PID=$!
PIDS+=("$PID")
wait_line net "API server listening" 10 || true
expect_api 204 "" PUT /boot-source "{\"kernel_image_path\": \"$probe\", \"boot_args\": \
\"console=ttyS0 probe.action=net probe.net_count=$tx probe.net_size=$size probe.net_rx=$rx\"}"
# tx: 20 frames every 100 ms; rx: 1 frame a second until PATCHed. Unlimited,
# the probe sends over 1000 frames/s and the host's sender manages over 300.
expect_api 204 "" PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "rltap0",
	"guest_mac": "06:00:ac:10:00:02",
	"tx_rate_limiter": {"ops": {"size": 20, "refill_time": 100}},
	"rx_rate_limiter": {"ops": {"size": 1, "refill_time": 1000}}}'
expect_api 204 "" PUT /actions '{"action_type": "InstanceStart"}'
if wait_line net "^probe: net rx ready" 60; then
	expect_api 204 "" PATCH /network-interfaces/eth0 '{"iface_id": "eth0",
		"rx_rate_limiter": {"ops": {"size": 10, "refill_time": 100}}}'
	expect_api 200 '"rx_rate_limiter":{"ops":{"size":10,' GET /vm/config
	in_ns python3 "$peer" send rltap0 "$rx" "$size" > "$T/peer_tx.out" 2>&1 || true
fi
wait_exit 60
set +e
wait "$peer_rx"
peer_rc=$?
set -e
if [ "$peer_rc" -eq 0 ] && grep -q "frames=$tx .* bad=0 distinct=$tx" "$T/peer_rx.out"; then
	pass "net tx: all $tx frames reached the host through the limiter"
else
	fail "net tx, host side: $(cat "$T/peer_rx.out")"
fi
expect_out net "^probe: net rx frames=$rx bytes=$((rx * size)) bad=0 " \
	"net rx: all $rx frames reached the guest through the PATCHed limiter"
txfps=$(field "$T/net.out" '^probe: net tx .* fps=([0-9]+)$')
rxfps=$(field "$T/net.out" '^probe: net rx .* fps=([0-9]+)$')
# tx: 400 frames, 20 at once then 200/s: at most 400 / 1.9 s = 211 fps.
if [ -n "$txfps" ] && [ "$txfps" -le 250 ]; then
	pass "net tx: $txfps frames/s under a 200/s bucket"
else
	fail "net tx: '${txfps:-?}' frames/s under a 200/s bucket (expected <= 250)"
fi
# rx: 300 frames, 10 at once then 100/s: at most 300 / 2.9 s = 103 fps.
if [ -n "$rxfps" ] && [ "$rxfps" -le 125 ]; then
	pass "net rx: $rxfps frames/s under a 100/s bucket"
else
	fail "net rx: '${rxfps:-?}' frames/s under a 100/s bucket (expected <= 125)"
fi
finish
