#!/usr/bin/env bash
# Net: probe.action=net over a tap in a network namespace of this script's
# own, petrel beside QEMU microvm (virtio-net-device on a -netdev tap,
# vhost=off; petrel has no vhost), RUNS times each, interleaved. The probe
# sends FRAMES frames of 1514 bytes (guest -> host; tests/guest/probe/
# net_peer.py counts them on the tap), then receives FRAMES that net_peer.py
# sends (host -> guest); the probe prints frames/s and MB/s of each
# direction, counted in the guest.
#   bench/net.sh OUT [RUNS] [FRAMES]   (default 10, 20000) writes samples into OUT. Root.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
out=$1
runs=${2:-10}
frames=${3:-20000}
peer=$src/tests/guest/probe/net_peer.py
[ "$(id -u)" -eq 0 ] || { echo "net.sh: needs root (network namespace, tap)" >&2; exit 1; }
mkdir -p "$out"
work=$(mktemp -d)
ns=petrel-bench-$$
trap 'ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"' EXIT
in_ns() { ip netns exec "$ns" "$@"; }

# The tap, with a queue deep enough that the host's burst waits for the
# guest instead of being dropped.
ip netns add "$ns"
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
in_ns ip tuntap add dev ptap0 mode tap
in_ns ip link set ptap0 txqueuelen "$((frames + 1000))" up

args="probe.action=net probe.net_count=$frames probe.net_size=1514 probe.net_rx=$frames"
probe_json "$work/vm.json" "$args" '"network-interfaces": [ { "iface_id": "eth0",
    "host_dev_name": "ptap0", "guest_mac": "06:00:ac:10:00:02" } ]'
p=("$petrel" --no-api --config-file "$work/vm.json")
# shellcheck disable=SC2054 # the commas are QEMU's
q=("${qemu_probe[@]}" -append "$args"
   -netdev tap,id=n0,ifname=ptap0,script=no,downscript=no,vhost=off
   -device virtio-net-device,netdev=n0,mac=06:00:ac:10:00:02)
{
	echo "ip netns add NS; ip netns exec NS ip tuntap add dev ptap0 mode tap"
	echo "ip netns exec NS ip link set ptap0 txqueuelen $((frames + 1000)) up"
	echo "ip netns exec NS net_peer.py recv ptap0 $frames 120 &"
	show ip netns exec NS "${p[@]}"
	show ip netns exec NS "${q[@]}"
	echo "ip netns exec NS net_peer.py send ptap0 $frames 1514    # after 'probe: net rx ready'"
	show_file "$work/vm.json"
} > "$out/commands"

# figure WHAT FILE: "MBps fps" of the probe's "net WHAT" line.
figure() {
	sed -n "s/.*probe: net $1 frames=.*MBps=\([0-9.]*\) fps=\([0-9]*\).*/\1 \2/p" "$2" |
		grep . || echo - -
}

# run WHO CMD...: one run of the monitor in the namespace.
run() {
	local who=$1 vm prx i mb fps
	shift
	in_ns python3 "$peer" recv ptap0 "$frames" 120 > "$work/peer_rx" 2>&1 &
	prx=$!
	for i in $(seq 100); do	# until its packet socket is bound
		in_ns awk 'NR > 1 && $4 == "88b5" { f = 1 } END { exit !f }' /proc/net/packet && break
		sleep 0.05
	done
	in_ns timeout 300 "$@" </dev/null > "$work/console" 2>/dev/null &
	vm=$!
	wait_line "$work/console" "probe: net rx ready" 300 || true
	in_ns python3 "$peer" send ptap0 "$frames" 1514 > "$work/peer_tx" 2>&1 || true
	wait "$vm" || true
	wait "$prx" || true
	read -r mb fps < <(figure tx "$work/console")
	sample "$out/$who.tx-mbps" "$mb"
	sample "$out/$who.tx-fps" "$fps"
	read -r mb fps < <(figure rx "$work/console")
	sample "$out/$who.rx-mbps" "$mb"
	sample "$out/$who.rx-fps" "$fps"
	sample "$out/$who.rx-frames" \
		"$(sed -n 's/.*probe: net rx frames=\([0-9]*\).*/\1/p' "$work/console")"
	sample "$out/$who.host-rx-frames" \
		"$(sed -n 's/.*net_peer: rx frames=\([0-9]*\).*/\1/p' "$work/peer_rx")"
}

for _ in $(seq "$runs"); do
	run petrel "${p[@]}"
	run qemu "${q[@]}"
done
