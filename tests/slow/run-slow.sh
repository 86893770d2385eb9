#!/usr/bin/env bash
# Run one Linux-guest test: directly where /dev/kvm is hardware-backed, else
# inside the test host VM (tests/hostvm), since this host's PVM-based KVM
# cannot boot Linux.
set -euo pipefail
script=${1:?usage: run-slow.sh TEST_SCRIPT}
src=$(cd "$(dirname "$0")/../.." && pwd)
export PETREL_SRC=${PETREL_SRC:-$src}
if [ ! -e /dev/kvm ] || [ -d /sys/module/kvm_pvm ] || [ "${PETREL_FORCE_HOSTVM:-0}" = 1 ]; then
	exec "$src/tests/hostvm/run.sh" --timeout 600 "$script"
fi
exec "$script"
