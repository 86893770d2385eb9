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
netns_taps parity partap0 partap1
probe=$(probe_elf)
# The walk, and so each petrel it starts, runs in the namespace, where the taps are.
in_ns python3 "$PETREL_SRC/tests/api_parity.py" --petrel "$PETREL_BIN" \
	--kernel "$probe" --tmp "$T" --tap partap0 partap1 \
	${PETREL_FC_OPENAPI:+--openapi "$PETREL_FC_OPENAPI"}
