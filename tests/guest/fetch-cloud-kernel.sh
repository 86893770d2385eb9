#!/usr/bin/env bash
# Unpack Debian's cloud kernel (the stock guest and the test host VM's kernel)
# into $1/cloud-kernel: boot/vmlinuz-*, lib/modules/<ver>/ with modules.dep.
# Reused when already there.
set -euo pipefail
out=${1:?usage: fetch-cloud-kernel.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
dest="$out/cloud-kernel"
if [ -f "$dest/.done" ]; then
	exit 0
fi
command -v apt-get >/dev/null
command -v depmod >/dev/null || { apt-get install -y -q kmod >/dev/null; }
rm -rf "$dest" "$out/cloud-kernel.tmp"
mkdir -p "$out/cloud-kernel.tmp"
cd "$out/cloud-kernel.tmp"
meta=linux-image-cloud-amd64
pkg=$(apt-cache depends "$meta" | awk '/Depends: linux-image-/ {print $2; exit}')
[ -n "$pkg" ] || { echo "fetch-cloud-kernel: cannot resolve $meta (run apt-get update)" >&2; exit 1; }
apt-get download "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
dpkg-deb -x ./"$pkg"_*.deb root
ver=$(ls root/lib/modules)
depmod -b root "$ver"
echo "$ver" > root/VERSION
touch root/.done
mv root "$dest"
cd "$out"
rm -rf "$out/cloud-kernel.tmp"
echo "fetch-cloud-kernel: $pkg ($ver) in $dest"
