#!/usr/bin/env bash
# virtio-net with the probe's driver (probe.action=net) over a tap in a
# network namespace of our own, petrel running inside it: the frames the
# probe sends all reach the host with good checksums, and the frames the
# host sends all reach the probe. A missing tap fails the build, named.
. "$(dirname "$0")/lib.sh"
need_kvm
[ "$(id -u)" -eq 0 ] || skip "needs root for a network namespace and a tap"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
command -v ip >/dev/null || skip "needs iproute2"
command -v python3 >/dev/null || skip "needs python3 for the host's end"
probe=$(probe_elf)
peer="$PETREL_SRC/tests/guest/probe/net_peer.py"

ns="petrel-net-$$"
ip netns add "$ns" || skip "cannot create a network namespace"
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$T"' EXIT
in_ns() { ip netns exec "$ns" "$@"; }
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
in_ns ip tuntap add dev ptap0 mode tap
in_ns ip link set ptap0 up

# net_config NAME TAP BOOT_ARGS
net_config() {
	cat > "$T/$1.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$probe", "boot_args": "$3" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 },
  "network-interfaces": [
    { "iface_id": "eth0", "host_dev_name": "$2", "guest_mac": "06:00:ac:10:00:02" }
  ]
}
JSON
}

# wait_for FILE REGEX SECONDS
wait_for() {
	local end=$((SECONDS + $3))

	until grep -Eq -- "$2" "$1" 2>/dev/null; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.05
	done
}

tx=400 rx=300 size=1000
net_config net ptap0 "console=ttyS0 probe.action=net probe.net_count=$tx probe.net_size=$size \
probe.net_rx=$rx"

# The host's receiver is bound (its packet socket is listed) before the guest sends.
in_ns python3 "$peer" recv ptap0 "$tx" 60 > "$T/peer_rx.out" 2>&1 &
peer_rx=$!
for _ in $(seq 100); do
	in_ns awk 'NR > 1 && $4 == "88b5" { f = 1 } END { exit !f }' /proc/net/packet && break
	sleep 0.05
done

set +e
in_ns timeout -k 5 90 "$PETREL_BIN" --no-api --config-file "$T/net.json" </dev/null \
	>"$T/net.out" 2>&1 &
vm=$!
if wait_for "$T/net.out" "^probe: net rx ready" 60; then
	in_ns python3 "$peer" send ptap0 "$rx" "$size" > "$T/peer_tx.out" 2>&1
fi
wait "$vm"
RC=$?
wait "$peer_rx"
peer_rc=$?
set -e

expect_line net "^probe: net mac=06:00:ac:10:00:02" "guest MAC from the config"
expect_line net "^probe: net tx frames=$tx " "probe sent $tx frames"
if [ "$peer_rc" -eq 0 ] && grep -q "frames=$tx .* bad=0 distinct=$tx" "$T/peer_rx.out"; then
	pass "host received all $tx frames, checksums good ($(cat "$T/peer_rx.out"))"
else
	fail "host side: $(cat "$T/peer_rx.out")"
fi
expect_line net "^probe: net rx frames=$rx bytes=$((rx * size)) bad=0 " \
	"probe received all $rx frames, checksums good"
expect_rc net 0 "probe powers off"
grep -E "^probe: net (tx|rx) " "$T/net.out" | sed 's/^/    /' || true

# A tap that does not exist is named, and not created.
net_config notap ptap9 "console=ttyS0 probe.action=poweroff"
set +e
in_ns timeout -k 5 30 "$PETREL_BIN" --no-api --config-file "$T/notap.json" </dev/null \
	>"$T/notap.out" 2>&1
RC=$?
set -e
expect_line notap "network interface eth0: host_dev_name ptap9: no such device" \
	"missing tap: interface and tap named"
if [ "$RC" -ne 0 ]; then
	pass "missing tap: petrel fails (exit $RC)"
else
	fail "missing tap: exit 0"
fi
if in_ns ip link show ptap9 >/dev/null 2>&1; then
	fail "missing tap: ptap9 was created"
else
	pass "missing tap: not created"
fi
finish
