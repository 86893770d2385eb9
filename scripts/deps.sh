#!/usr/bin/env bash
# Install what building petrel (and, with "test", testing it) needs: Debian 12 packages only.
set -euo pipefail
build_pkgs=(build-essential cmake pkg-config libjansson-dev libseccomp-dev libcap-ng-dev
	    liburing-dev liblzma-dev check file)
guest_pkgs=(busybox-static cpio e2fsprogs kmod xz-utils)
test_pkgs=(clang libclang-rt-14-dev qemu-system-x86 linux-source-6.1 bc bison flex libelf-dev
	   libssl-dev lz4 zstd iproute2 procps acpica-tools curl python3 gnuplot-nox jq fio
	   man-db groff-base)
pkgs=("${build_pkgs[@]}" "${guest_pkgs[@]}")
[ "${1:-}" = test ] && pkgs+=("${test_pkgs[@]}")
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
