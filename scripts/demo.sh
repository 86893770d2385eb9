#!/usr/bin/env bash
# Build petrel and the default guest (the probe), then boot it with its
# serial console on this terminal. Type a line and it echoes back; type
# "poweroff" to end the VM.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
export PETREL_GUEST_DIR=${PETREL_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/petrel/guest}
"$src/scripts/deps.sh"
cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$src/build" -j"$(nproc)" --target petrel >/dev/null
"$src/tests/guest/build.sh" probe
cfg=$(mktemp /tmp/petrel-demo.XXXXXX.json)
trap 'rm -f "$cfg"' EXIT
cat > "$cfg" <<JSON
{
  "boot-source": { "kernel_image_path": "$PETREL_GUEST_DIR/probe.elf",
                   "boot_args": "console=ttyS0 probe.action=echo" },
  "machine-config": { "vcpu_count": 2, "mem_size_mib": 128 }
}
JSON
echo "petrel: booting the probe guest; type a line to see it echoed, 'poweroff' to stop"
"$src/build/petrel" --no-api --boot-timer --config-file "$cfg"
