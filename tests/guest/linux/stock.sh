#!/usr/bin/env bash
# The stock guest: Debian's cloud kernel unchanged, and a busybox initramfs
# with the virtio-mmio modules it needs (the init loads them).
#   stock.sh OUTDIR  ->  stock-vmlinuz, stock-initrd.cpio.gz
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
res=$(cd "$here/../../../resources/guest" && pwd)
out=${1:?usage: stock.sh OUTDIR}
. "$here/common.sh"

# Loaded in this order; dependencies come along. Built-in ones are skipped.
modules="virtio_mmio virtio_blk virtio_net virtio_rng vmw_vsock_virtio_transport ext4"
# The balloon, for tests/slow/test_linux_balloon.sh.
modules="$modules virtio_balloon"

"$here/../fetch-cloud-kernel.sh" "$out"
kernel=$out/cloud-kernel
ver=$(cat "$kernel/VERSION")
log "stock kernel $ver, $(busybox_version)"

copy_kernel() {
	if is_fresh stock-kernel "$ver" stock-vmlinuz; then
		log "stock-vmlinuz: reused"
		return 0
	fi
	cp "$kernel/boot/vmlinuz-$ver" "$out/stock-vmlinuz"
	mark_fresh stock-kernel "$ver"
}

# busybox modprobe reads plain .ko files only.
decompress() {
	case "$1" in
	*.ko) ;;
	*.ko.xz) xz -d "$1" ;;
	*.ko.zst) zstd -q -d --rm "$1" ;;
	*.ko.gz) gzip -d "$1" ;;
	*) die "unknown module format: $1" ;;
	esac
}

# Copy MODULE and what it depends on into TREE, keeping their paths.
copy_module() {
	local tree=$1 name=$2 verb path rel
	modprobe -d "$kernel" -S "$ver" --show-depends "$name" |
	while read -r verb path _; do
		[ "$verb" = insmod ] || continue
		rel=${path#"$kernel"/}
		[ -e "$tree/$rel" ] || [ -e "$tree/${rel%.ko*}.ko" ] && continue
		mkdir -p "$tree/$(dirname "$rel")"
		cp "$path" "$tree/$rel"
		decompress "$tree/$rel"
	done
}

build_initrd() {
	local id tmp m
	id=$(digest "$ver" "$(busybox_version)" "$(file_sum "$res/init")" \
		"$(file_sum "$here/common.sh")" "$(file_sum "$0")")
	if is_fresh stock-initrd "$id" stock-initrd.cpio.gz; then
		log "stock-initrd.cpio.gz: reused"
		return 0
	fi
	tmp=$out/work/stock-initrd
	rm -rf "$tmp"
	busybox_tree "$tmp"
	for m in $modules; do
		if modprobe -d "$kernel" -S "$ver" --show-depends "$m" | grep -q '^builtin '; then
			log "$m is built in"
			continue
		fi
		copy_module "$tmp" "$m"
		echo "$m" >> "$tmp/etc/modules"
	done
	# depmod wants the kernel's lists of built-in and ordered modules too.
	cp "$kernel/lib/modules/$ver"/modules.{order,builtin,builtin.modinfo} \
		"$tmp/lib/modules/$ver/"
	depmod -b "$tmp" "$ver"
	log "stock initramfs modules: $(cd "$tmp/lib/modules/$ver" && find . -name '*.ko' -printf '%f ' )"
	pack_initrd "$tmp" "$out/stock-initrd.cpio.gz"
	rm -rf "$tmp"
	mark_fresh stock-initrd "$id"
}

copy_kernel
build_initrd
log "stock: $(sizes stock-vmlinuz stock-initrd.cpio.gz)"
