#!/usr/bin/env bash
# Build the test guests into ${PETREL_GUEST_DIR:-~/.cache/petrel/guest}, from Debian
# packages only. Each artefact is reused when already there.
#   tests/guest/build.sh [probe|micro|stock|rootfs|all]...   (default: probe)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${PETREL_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/petrel/guest}
mkdir -p "$out"
out=$(cd "$out" && pwd)
export PETREL_GUEST_DIR="$out"
[ $# -gt 0 ] || set -- probe
for what in "$@"; do
	case "$what" in
	probe)  "$here/probe/build.sh" "$out" ;;
	micro|stock|rootfs) "$here/linux/build.sh" "$out" "$what" ;;
	all)    "$here/probe/build.sh" "$out"
		"$here/linux/build.sh" "$out" micro stock rootfs ;;
	*) echo "build.sh: unknown guest '$what' (probe, micro, stock, rootfs, all)" >&2; exit 2 ;;
	esac
done
