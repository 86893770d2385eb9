#!/usr/bin/env bash
# vsock: the probe over petrel's virtio-vsock, the host's end in
# tests/guest/probe/vsock_peer.py. Each run boots two probes:
#  - vsock-echo with probe.vsock_sink=1: the host CONNECTs, writes BYTES and
#    half-closes, timed until the guest's end (host -> guest MB/s); then
#    CONNS connections one after another, CONNECT -> OK -> close
#    (connections per second);
#  - vsock-connect with probe.vsock_mode=send: the guest connects to the
#    host's "<uds_path>_5000" and sends BYTES, timed by the host's reader
#    from its first byte (guest -> host MB/s).
# QEMU's vhost-vsock needs the host's vhost_vsock module and /dev/vhost-vsock;
# where they are missing (as on this development host) its column says so.
#   bench/vsock.sh OUT [RUNS] [BYTES] [CONNS]   (default 10, 16 MiB, 200) writes
#   samples and OUT/tables.md.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
out=$1
runs=${2:-10}
bytes=${3:-$((16 << 20))}
conns=${4:-200}
peer=$src/tests/guest/probe/vsock_peer.py
mkdir -p "$out"
work=$(mktemp -d)
vm=""
trap '[ -z "$vm" ] || kill "$vm" 2>/dev/null; rm -rf "$work"' EXIT

echo_args="probe.action=vsock-echo probe.port=1234 probe.vsock_sink=1"
send_args="probe.action=vsock-connect probe.port=5000 probe.vsock_mode=send probe.vsock_bytes=$bytes probe.end=halt"
probe_json "$work/sink.json" "$echo_args" "\"vsock\": { \"guest_cid\": 3, \"uds_path\": \"$work/v.sock\" }"
probe_json "$work/send.json" "$send_args" "\"vsock\": { \"guest_cid\": 3, \"uds_path\": \"$work/v.sock\" }"
{
	show "${petrel}" --no-api --config-file "$work/sink.json"
	echo "vsock_peer.py sink \$WORK/v.sock 1234 $bytes; vsock_peer.py rate \$WORK/v.sock 1234 $conns"
	echo "vsock_peer.py listen \$WORK/v.sock_5000 sink 120 &"
	show "${petrel}" --no-api --config-file "$work/send.json"
	show_file "$work/sink.json"
	show_file "$work/send.json"
} > "$out/commands"

# boot CONFIG READY: petrel in the background until its console has READY.
boot() {
	rm -f "$work/v.sock" "$work/console"
	timeout 300 "$petrel" --no-api --config-file "$1" </dev/null >"$work/console" 2>/dev/null &
	vm=$!
	wait_line "$work/console" "$2" 30
}

stop() {
	kill "$vm" 2>/dev/null || true
	wait "$vm" 2>/dev/null || true
	vm=""
}

for _ in $(seq "$runs"); do
	if boot "$work/sink.json" "probe: vsock sink ready"; then
		sample "$out/petrel.h2g-mbps" "$(python3 "$peer" sink "$work/v.sock" 1234 "$bytes" |
			sed -n 's/.*MBps=\([0-9.]*\).*/\1/p')"
		sample "$out/petrel.conn-rate" "$(python3 "$peer" rate "$work/v.sock" 1234 "$conns" |
			sed -n 's/.*per_s=\([0-9.]*\).*/\1/p')"
	fi
	stop
	python3 "$peer" listen "$work/v.sock_5000" sink 120 > "$work/listen" &
	lpid=$!
	wait_line "$work/listen" listening 10 || true
	boot "$work/send.json" "probe: vsock connect " || true
	wait "$lpid" || true
	stop
	sample "$out/petrel.g2h-mbps" "$(sed -n 's/.*listen conns=1 bytes='"$bytes"' MBps=\([0-9.]*\).*/\1/p' "$work/listen")"
	sample "$out/petrel.g2h-guest-mbps" "$(sed -n 's/.*vsock connect .* ok=1 .*MBps=\([0-9.]*\).*/\1/p' "$work/console")"
done

qemu_note="not run: no /dev/vhost-vsock (the host kernel has no vhost_vsock module)"
if [ -c /dev/vhost-vsock ]; then
	qemu_note="not measured: the probe's vsock driver over QEMU's vhost-vsock needs a host-side AF_VSOCK peer this script does not have yet"
fi
row() {	# LABEL FILE
	local min med p90 n
	if [ -s "$out/$2" ]; then
		read -r min med p90 n < <("$here/stats.sh" < "$out/$2")
		echo "| $1 | $n | $min | $med | $p90 | $qemu_note |"
	else
		echo "| $1 | 0 | - | - | - | $qemu_note |"
	fi
}
{
	echo "| vsock on the probe (petrel) | runs | min | median | p90 | QEMU vhost-vsock |"
	echo "|---|---|---|---|---|---|"
	row "host → guest, MB/s ($((bytes >> 20)) MiB, host-timed)" petrel.h2g-mbps
	row "guest → host, MB/s ($((bytes >> 20)) MiB, host-timed)" petrel.g2h-mbps
	row "guest → host, MB/s (guest-timed, to the host's last reset)" petrel.g2h-guest-mbps
	row "connections per second (CONNECT → OK → close, $conns in a row)" petrel.conn-rate
} > "$out/tables.md"
cat "$out/tables.md"
