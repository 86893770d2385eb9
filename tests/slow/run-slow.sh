#!/usr/bin/env bash
# Run one Linux-guest test: directly where /dev/kvm is hardware-backed, else
# inside the test host VM (tests/hostvm), since this host's PVM-based KVM
# cannot boot Linux. There, a run whose L1 itself failed (hung, panicked,
# never booted: faults of L1's software emulation, not of the test) gets up
# to three more L1s; the script's own failures are never retried. L1 sends a
# heartbeat every 10 s, so 45 s of silence means it hangs. A test whose
# second line is "# slow: on the host" runs here and uses the VM itself.
set -euo pipefail
script=${1:?usage: run-slow.sh TEST_SCRIPT}
src=$(cd "$(dirname "$0")/../.." && pwd)
export PETREL_SRC=${PETREL_SRC:-$src}
# A test that picks the test host VM itself says so on its second line.
if sed -n 2p "$script" | grep -q '^# slow: on the host'; then
	exec "$script"
fi
if [ ! -e /dev/kvm ] || [ -d /sys/module/kvm_pvm ] || [ "${PETREL_FORCE_HOSTVM:-0}" = 1 ]; then
	exec "$src/tests/hostvm/run.sh" --timeout 600 --retries 3 --stall 45 "$script"
fi
exec "$script"
