#!/usr/bin/env bash
# Build the Linux test guests into OUTDIR; each output is reused when present
# and built from the same inputs.
#   build.sh OUTDIR micro|stock|rootfs...
#     micro:  micro-vmlinux, micro-bzImage, micro-initrd.cpio.gz
#     stock:  stock-vmlinuz, stock-initrd.cpio.gz
#     rootfs: rootfs.ext4
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR micro|stock|rootfs...}
shift
[ $# -gt 0 ] || { echo "build.sh: no target (micro, stock, rootfs)" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
for what in "$@"; do
	case "$what" in
	micro|stock|rootfs) "$here/$what.sh" "$out" ;;
	*) echo "build.sh: unknown target '$what' (micro, stock, rootfs)" >&2; exit 2 ;;
	esac
done
rmdir "$out/work" 2>/dev/null || true
