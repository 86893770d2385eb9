#!/usr/bin/env bash
# Firecracker's API, request by request (tests/api_parity.py): each method and
# path of its OpenAPI file with every field it lists gets the status code and
# answer shape the file names, or is refused by name; the release build, the
# probe guest, with a network interface on a tap in a network namespace of our
# own. PETREL_FC_OPENAPI=firecracker.yaml also checks that the walk knows
# every method and path of that file.
. "$(dirname "$0")/lib.sh"
need_kvm
command -v python3 >/dev/null || skip "python3 is needed for the walk"
[ "$(id -u)" -eq 0 ] || skip "needs root for a network namespace and a tap"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
command -v ip >/dev/null || skip "needs iproute2"
probe=$(probe_elf)

ns="petrel-parity-$$"
ip netns add "$ns" || skip "cannot create a network namespace"
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$T"' EXIT
for tap in partap0 partap1; do
	ip netns exec "$ns" ip tuntap add dev "$tap" mode tap
	ip netns exec "$ns" ip link set "$tap" up
done
# The walk, and so each petrel it starts, runs in the namespace, where the taps are.
ip netns exec "$ns" python3 "$PETREL_SRC/tests/api_parity.py" --petrel "$PETREL_BIN" \
	--kernel "$probe" --tmp "$T" --tap partap0 partap1 \
	${PETREL_FC_OPENAPI:+--openapi "$PETREL_FC_OPENAPI"}
