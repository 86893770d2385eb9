#!/usr/bin/env bash
# The micro guest: a tinyconfig kernel from Debian's linux-source-6.1 with
# resources/guest/micro.config (virtio built in, no modules, ACPI or PCI), and
# a busybox initramfs.
#   micro.sh OUTDIR  ->  micro-vmlinux (PVH ELF), micro-bzImage, micro-initrd.cpio.gz
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
res=$(cd "$here/../../../resources/guest" && pwd)
out=${1:?usage: micro.sh OUTDIR}
. "$here/common.sh"

# The Debian source package this kernel is pinned to; override to move on.
src_pkg=linux-source-6.1
src_version=${PETREL_LINUX_SOURCE_VERSION:-6.1.192-2}
fragment=$res/micro.config

install_source() {
	need_pkgs build-essential flex bison bc libelf-dev libssl-dev xz-utils binutils
	if [ "$(pkg_version "$src_pkg" 2>/dev/null)" != "$src_version" ]; then
		log "installing $src_pkg=$src_version"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-downgrades \
			"$src_pkg=$src_version" >/dev/null ||
			die "$src_pkg $src_version is not available (apt-cache policy $src_pkg)"
	fi
}

unpack_source() {
	local tree=$1
	[ -f "$tree/.unpacked" ] && return 0
	log "unpacking /usr/src/$src_pkg.tar.xz into $tree"
	rm -rf "$tree" "$tree.tmp"
	mkdir -p "$tree.tmp"
	tar -xJf "/usr/src/$src_pkg.tar.xz" -C "$tree.tmp" --strip-components=1
	touch "$tree.tmp/.unpacked"
	mv "$tree.tmp" "$tree"
}

# Every line of the fragment must hold in .config: "CONFIG_X=v" literally,
# "# CONFIG_X is not set" as not y or m.
check_config() {
	local config=$1 line opt bad=()
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			if ! grep -qxF "$line" "$config"; then bad+=("$line"); fi ;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			if grep -qE "^$opt=[ym]$" "$config"; then bad+=("$line"); fi ;;
		esac
	done < "$fragment"
	[ ${#bad[@]} -eq 0 ] && return 0
	printf '  %s\n' "${bad[@]}" >&2
	die "these options of $fragment did not take effect"
}

configure() {
	local tree=$1 logf=$1/petrel-config.log
	{
		make -C "$tree" ARCH=x86_64 tinyconfig &&
		(cd "$tree" && scripts/kconfig/merge_config.sh -m .config "$fragment") &&
		make -C "$tree" ARCH=x86_64 olddefconfig
	} >"$logf" 2>&1 || { cat "$logf" >&2; die "kernel configuration failed"; }
	check_config "$tree/.config"
}

# The monitor loads vmlinux through its PVH entry: Xen note type 0x12
# (XEN_ELFNOTE_PHYS32_ENTRY).
check_pvh_note() {
	readelf -n "$1" | grep -A1 -E '^ +Xen ' | grep -q '(0x00000012)' ||
		die "$1 has no PVH entry note"
}

build_kernel() {
	local id tree start
	id=$(digest "$src_version" "$(file_sum "$fragment")")
	install_source
	log "$src_pkg $(pkg_version "$src_pkg"), $(gcc --version | head -1)"
	if is_fresh micro-kernel "$id" micro-vmlinux micro-bzImage; then
		log "micro-vmlinux, micro-bzImage: reused"
		return 0
	fi
	tree=$out/work/linux-$src_version
	unpack_source "$tree"
	configure "$tree"
	log "building Linux $(make -C "$tree" -s kernelversion) with $(nproc) jobs"
	start=$SECONDS
	make -C "$tree" -s ARCH=x86_64 -j"$(nproc)" vmlinux bzImage
	log "micro kernel built in $((SECONDS - start)) s"
	check_pvh_note "$tree/vmlinux"
	cp "$tree/vmlinux" "$out/micro-vmlinux"
	cp "$tree/arch/x86/boot/bzImage" "$out/micro-bzImage"
	cp "$tree/.config" "$out/micro.config"
	mark_fresh micro-kernel "$id"
	# The tree is 1.5 GB; keep it only when asked (faster config iterations).
	[ -n "${PETREL_KEEP_WORK:-}" ] || rm -rf "$tree"
}

build_initrd() {
	local id tmp
	need_pkgs busybox-static
	log "$(busybox_version)"
	id=$(digest "$(busybox_version)" "$(file_sum "$res/init")" "$(file_sum "$here/common.sh")")
	if is_fresh micro-initrd "$id" micro-initrd.cpio.gz; then
		log "micro-initrd.cpio.gz: reused"
		return 0
	fi
	tmp=$out/work/micro-initrd
	rm -rf "$tmp"
	busybox_tree "$tmp"
	pack_initrd "$tmp" "$out/micro-initrd.cpio.gz"
	rm -rf "$tmp"
	mark_fresh micro-initrd "$id"
}

build_kernel
build_initrd
log "micro: $(sizes micro-vmlinux micro-bzImage micro-initrd.cpio.gz)"
