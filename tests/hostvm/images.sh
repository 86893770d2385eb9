#!/usr/bin/env bash
# Build, or reuse, what the test host VM (L1) boots, into GUESTDIR/hostvm/:
#   initrd.cpio   busybox-static, tests/hostvm/init, and the modules needed
#                 before /usr is there (virtio_pci, virtio_blk, kvm, kvm-amd...)
#   usr.ext4      read-only image mounted as L1's /usr: qemu-system-x86_64 with
#                 its libraries and firmware, bash and a few tools (ldd-staged),
#                 and the cloud kernel's full module tree
# and prints the paths of the kernel, initrd.cpio and usr.ext4, one a line.
# The kernel is Debian's cloud kernel from tests/guest/fetch-cloud-kernel.sh.
# Each image is rebuilt when what went into it changed.
#   images.sh GUESTDIR
# Extra host programs for /usr/bin: PETREL_HOSTVM_TOOLS="perf gdb ..."
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
here=$(cd "$(dirname "$0")" && pwd)
gdir=${1:?usage: images.sh GUESTDIR}
mkdir -p "$gdir"
gdir=$(cd "$gdir" && pwd)
out=$gdir/hostvm
mkdir -p "$out"

log() { echo "hostvm: $*" >&2; }
die() { echo "hostvm: error: $*" >&2; exit 1; }

# Always staged when the host has them; qemu-system-x86_64 is required.
default_tools="qemu-system-x86_64 bash curl jq ip strace hyperfine mke2fs debugfs socat"
# Loaded in L1 before /usr is mounted; their dependencies come along.
initrd_modules="virtio_pci virtio_blk kvm_amd tun"

need_cmds() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || die "'$c' is missing on this host (apt-get install ${pkg_of[$c]:-$c})"
	done
}
declare -A pkg_of=([busybox]=busybox-static [mkfs.ext4]=e2fsprogs [debugfs]=e2fsprogs
	[cpio]=cpio [depmod]=kmod [modprobe]=kmod [flock]=util-linux
	[qemu-system-x86_64]=qemu-system-x86)
need_cmds busybox mkfs.ext4 cpio depmod modprobe flock qemu-system-x86_64 ldd sha256sum

"$here/../guest/fetch-cloud-kernel.sh" "$gdir" >&2
ck=$gdir/cloud-kernel
kver=$(cat "$ck/VERSION")
kernel=$ck/boot/vmlinuz-$kver
[ -f "$kernel" ] || die "no kernel at $kernel"

# One builder at a time; readers of finished images need no lock (mv is atomic).
exec 9>"$out/.lock"
flock 9

digest() { sha256sum | cut -c1-16; }
# "path size mtime" of each file: enough to notice a package upgrade.
stat_list() { stat -L -c '%n %s %Y' "$@" 2>/dev/null || true; }

initrd_id() {
	{
		echo "$kver $initrd_modules"
		stat_list "$(command -v busybox)"
		cat "$here/init" "$here/images.sh"
	} | digest
}

build_initrd() {
	local tree=$out/initrd.tmp m ko
	rm -rf "$tree"
	mkdir -p "$tree"/{bin,dev,proc,sys,tmp,root,etc,usr,hostvm,run,lib/modules/"$kver"}
	ln -s bin "$tree/sbin"
	ln -s usr/lib64 "$tree/lib64"
	ln -s ../usr/lib/x86_64-linux-gnu "$tree/lib/x86_64-linux-gnu"
	install -m 0755 "$(command -v busybox)" "$tree/bin/busybox"
	for m in $(busybox --list); do
		[ -e "$tree/bin/$m" ] || ln -s busybox "$tree/bin/$m"
	done
	install -m 0755 "$here/init" "$tree/init"
	# The console the kernel opens before init mounts devtmpfs (root only).
	if [ "$(id -u)" = 0 ]; then
		mknod -m 0600 "$tree/dev/console" c 5 1
		mknod -m 0666 "$tree/dev/null" c 1 3
	fi
	chmod 1777 "$tree/tmp"
	echo 'root:x:0:0:root:/root:/bin/sh' > "$tree/etc/passwd"
	echo 'root:x:0:' > "$tree/etc/group"
	for m in $initrd_modules; do
		modprobe -S "$kver" -d "$ck" --show-depends "$m" | sed -n 's/^insmod \(.*\.ko\).*/\1/p'
	done | sort -u | while read -r ko; do
		ko=${ko#"$ck"/}
		ko=${ko#./}
		mkdir -p "$tree/$(dirname "$ko")"
		cp "$ck/$ko" "$tree/$ko"
	done
	cp "$ck/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$tree/lib/modules/$kver/"
	depmod -b "$tree" "$kver"
	# Uncompressed: unpacking is a copy, and decompressing under TCG is slow.
	(cd "$tree" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
		cpio --null --create --format=newc --owner=0:0 --quiet) > "$out/initrd.cpio.tmp"
	mv "$out/initrd.cpio.tmp" "$out/initrd.cpio"
	rm -rf "$tree"
}

# Host programs for /usr/bin, as absolute paths: the defaults found here,
# plus PETREL_HOSTVM_TOOLS, which must all exist.
tool_paths() {
	local t p
	for t in $default_tools; do
		p=$(command -v "$t" 2>/dev/null) || continue
		case "$p" in /*) realpath "$p" ;; esac
	done
	for t in ${PETREL_HOSTVM_TOOLS:-}; do
		p=$(command -v "$t" 2>/dev/null) || die "PETREL_HOSTVM_TOOLS: '$t' is not on this host"
		realpath "$p"
	done
}

# Shared libraries (and the dynamic loader) of the given programs.
libs_of() {
	ldd "$@" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/.*[^:]$/ {print $1}' | sort -u
}

qemu_data="/usr/share/qemu /usr/share/seabios /usr/lib/ipxe/qemu"
qemu_mods() { ls /usr/lib/x86_64-linux-gnu/qemu/accel-*.so 2>/dev/null || true; }

usr_id() {
	local files
	mapfile -t files < <(printf '%s\n' "$@"; libs_of "$@"; qemu_mods)
	{
		echo "$kver"
		stat_list "${files[@]}"
		# shellcheck disable=SC2086 # a list of folders without spaces
		find $qemu_data -printf '%p %s %T@\n' 2>/dev/null | sort
		cat "$here/images.sh"
	} | digest
}

# /usr/PATH or a merged-/usr alias (/lib/..., /bin/...) -> the path under /usr.
usr_rel() {
	case "$1" in
	/usr/*) echo "${1#/usr/}" ;;
	/lib/* | /lib64/* | /bin/* | /sbin/*) echo "${1#/}" ;;
	*) die "cannot place $1 under /usr" ;;
	esac
}

build_usr() {
	local tree=$out/usr.tmp f rel size files
	rm -rf "$tree"
	mkdir -p "$tree"/{bin,sbin,lib/modules,share}
	mapfile -t files < <(printf '%s\n' "$@"; libs_of "$@"; qemu_mods)
	for f in "${files[@]}"; do
		rel=$(usr_rel "$f")
		mkdir -p "$tree/$(dirname "$rel")"
		cp -L "$f" "$tree/$rel"
	done
	# Scripts start with #!/usr/bin/env; busybox provides it (and the rest).
	[ -e "$tree/bin/env" ] || ln -s /bin/busybox "$tree/bin/env"
	for f in $qemu_data; do
		[ -d "$f" ] || continue
		mkdir -p "$tree/$(dirname "$(usr_rel "$f")")"
		cp -a "$f" "$tree/$(usr_rel "$f")"
	done
	cp -a "$ck/lib/modules/$kver" "$tree/lib/modules/"
	size=$(du -sm "$tree" | cut -f1)
	rm -f "$out/usr.ext4.tmp"
	mkfs.ext4 -q -F -L hostvm-usr -O ^has_journal -E root_owner=0:0 -d "$tree" \
		"$out/usr.ext4.tmp" "$((size + size / 4 + 32))M" >/dev/null
	mv "$out/usr.ext4.tmp" "$out/usr.ext4"
	rm -rf "$tree"
}

id=$(initrd_id)
if [ ! -s "$out/initrd.cpio" ] || [ "$(cat "$out/.initrd.id" 2>/dev/null)" != "$id" ]; then
	log "building initrd.cpio (busybox, modules of $kver)"
	build_initrd
	echo "$id" > "$out/.initrd.id"
fi

mapfile -t tools < <(tool_paths)
printf '%s\n' "${tools[@]}" | grep -q '/qemu-system-x86_64$' || die "qemu-system-x86_64 not found"
id=$(usr_id "${tools[@]}")
if [ ! -s "$out/usr.ext4" ] || [ "$(cat "$out/.usr.id" 2>/dev/null)" != "$id" ]; then
	log "building usr.ext4 ($(printf '%s\n' "${tools[@]##*/}" | paste -sd' '), QEMU firmware, modules)"
	build_usr "${tools[@]}"
	echo "$id" > "$out/.usr.id"
fi

printf '%s\n' "$kernel" "$out/initrd.cpio" "$out/usr.ext4"
