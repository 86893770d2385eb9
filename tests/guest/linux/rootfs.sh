#!/usr/bin/env bash
# A busybox root filesystem for the block tests, made from a folder with
# mkfs.ext4 -d (no loop mount); resources/guest/init is its /sbin/init.
#   rootfs.sh OUTDIR  ->  rootfs.ext4 (64 MiB)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
res=$(cd "$here/../../../resources/guest" && pwd)
out=${1:?usage: rootfs.sh OUTDIR}
. "$here/common.sh"

size=64M

# Debian's socat (VSOCK-LISTEN, VSOCK-CONNECT) and the libraries ldd names, at
# their paths: the vsock test's guest end.
need_pkgs socat
socat_tree() {
	local f libs
	libs=$(ldd /usr/bin/socat | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
	for f in /usr/bin/socat $libs; do
		mkdir -p "$1$(dirname "$f")"
		cp -L "$f" "$1$f"
	done
}

need_pkgs busybox-static e2fsprogs
log "$(busybox_version), e2fsprogs $(pkg_version e2fsprogs)"
id=$(digest "$size" "$(busybox_version)" "$(pkg_version e2fsprogs)" \
	"$(file_sum "$res/init")" "$(file_sum "$here/common.sh")")
need_pkgs gcc libc6-dev
id=$(digest "$id" "$(file_sum "$res/httpc.c")" "$(pkg_version gcc)" "$(pkg_version libc6-dev)")
id=$(digest "$id" "socat $(pkg_version socat)")
if is_fresh rootfs "$id" rootfs.ext4; then
	log "rootfs.ext4: reused"
	exit 0
fi
tmp=$out/work/rootfs
rm -rf "$tmp"
busybox_tree "$tmp"
# httpc: the PUT with headers that busybox wget cannot send (MMDS V2 tokens).
gcc -static -Os -s -Wall -Wextra -Werror -o "$tmp/usr/bin/httpc" "$res/httpc.c"
socat_tree "$tmp"
rm -f "$out/rootfs.ext4.tmp"
mkfs.ext4 -q -F -L petrel-root -d "$tmp" "$out/rootfs.ext4.tmp" "$size" >/dev/null
mv "$out/rootfs.ext4.tmp" "$out/rootfs.ext4"
rm -rf "$tmp"
mark_fresh rootfs "$id"
log "rootfs: $(sizes rootfs.ext4)"
