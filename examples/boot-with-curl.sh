#!/usr/bin/env bash
# Boot a VM with curl alone: start petrel with an empty configuration, PUT the
# boot source and the machine, start it, and ask how it is. By default it boots
# the probe test guest (tests/guest/build.sh probe), which counts to ten in
# one second and powers off; petrel then exits.
#
#   examples/boot-with-curl.sh [KERNEL [BOOT_ARGS]]
#
# PETREL (the binary, default build/petrel next to this folder, else petrel on
# PATH) and SOCK (the API socket, default a new name in /tmp) can be set.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
petrel=${PETREL:-$here/../build/petrel}
[ -x "$petrel" ] || petrel=petrel
kernel=${1:-${PETREL_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/petrel/guest}/probe.elf}
boot_args=${2:-console=ttyS0 probe.action=count probe.ticks=10}
sock=${SOCK:-$(mktemp -u /tmp/petrel-XXXXXX.sock)}

"$petrel" --api-sock "$sock" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
until [ -S "$sock" ]; do
	kill -0 "$pid" 2>/dev/null || { echo "petrel did not start" >&2; exit 1; }
	sleep 0.01
done

# api METHOD PATH [JSON]: prints the answer, if any; fails on a 4xx/5xx, showing its fault_message
api() {
	local args=(-sS --fail-with-body --unix-socket "$sock" -X "$1") out
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' -d "$3")
	if ! out=$(curl "${args[@]}" "http://localhost$2"); then
		echo "$1 $2: $out" >&2
		return 1
	fi
	[ -z "$out" ] || echo "$out"
}

api PUT /boot-source "{\"kernel_image_path\": \"$kernel\", \"boot_args\": \"$boot_args\"}"
api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}'
api PUT /actions '{"action_type": "InstanceStart"}'
api GET / || true	# the guest may already have powered off
wait "$pid"		# petrel exits when the guest powers off (or on SIGTERM)
