#!/usr/bin/env bash
# Firecracker's API, request by request (tests/api_parity.py): each method and
# path of its OpenAPI file with every field it lists gets the status code and
# answer shape the file names, or is refused by name; the release build, the
# probe guest. PETREL_FC_OPENAPI=firecracker.yaml also checks that the walk
# knows every method and path of that file.
. "$(dirname "$0")/lib.sh"
need_kvm
command -v python3 >/dev/null || skip "python3 is needed for the walk"
probe=$(probe_elf)
python3 "$PETREL_SRC/tests/api_parity.py" --petrel "$PETREL_BIN" --kernel "$probe" --tmp "$T" \
	${PETREL_FC_OPENAPI:+--openapi "$PETREL_FC_OPENAPI"}
