# Helpers shared by the Linux guest builders; sourced, not run.
# Needs: $out (the output folder) and $res (resources/guest).

log() { echo "linux-guest: $*"; }
die() { echo "linux-guest: error: $*" >&2; exit 1; }

# Install the Debian packages that are missing (the CI host is Debian 12, root).
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
}

pkg_version() { dpkg-query -W -f='${Version}' "$1"; }

# An output is reused when it is there and was built from the same inputs:
# $out/.KEY.id holds a digest of what went into it.
# digest STRING...: a short id of package versions and file contents.
digest() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }
file_sum() { sha256sum < "$1" | cut -c1-64; }
is_fresh() {   # is_fresh KEY ID FILE...
	local key=$1 id=$2 f
	shift 2
	for f in "$@"; do [ -s "$out/$f" ] || return 1; done
	[ "$(cat "$out/.$key.id" 2>/dev/null)" = "$id" ]
}
mark_fresh() { echo "$2" > "$out/.$1.id"; }   # mark_fresh KEY ID

# A busybox-static userland in DIR: the applet links, the usual mount points,
# the two device nodes the kernel opens before any devtmpfs is mounted, and
# resources/guest/init as /init and /sbin/init.
busybox_tree() {
	local dir=$1 applet
	need_pkgs busybox-static
	mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc}
	install -m 0755 /bin/busybox "$dir/bin/busybox"
	for applet in $("$dir/bin/busybox" --list-full); do
		[ -e "$dir/$applet" ] || ln -s /bin/busybox "$dir/$applet"
	done
	mknod -m 0600 "$dir/dev/console" c 5 1
	mknod -m 0666 "$dir/dev/null" c 1 3
	chmod 1777 "$dir/tmp"
	install -m 0755 "$res/init" "$dir/init"
	rm -f "$dir/sbin/init"
	install -m 0755 "$res/init" "$dir/sbin/init"
}

# newc cpio of DIR, owned by root, gzip-compressed into FILE.
pack_initrd() {
	local dir=$1 file=$2
	need_pkgs cpio gzip
	(cd "$dir" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
		cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
		gzip -9 -n > "$file.tmp"
	mv "$file.tmp" "$file"
}

# "name N bytes, ..." for files in $out.
sizes() {
	local f list=()
	for f in "$@"; do list+=("$f $(stat -c %s "$out/$f") bytes"); done
	(IFS=,; echo "${list[*]}") | sed 's/,/, /g'
}

busybox_version() {
	echo "busybox-static $(pkg_version busybox-static)"
}
