#!/usr/bin/env bash
# The virtio devices under Linux (the init's petrel.test= hooks):
# - the micro kernel, booted from a copy of rootfs.ext4 as the root drive,
#   writes a file to an ext4 data drive, syncs and powers off; the file read
#   back from the host image with debugfs is the one expected. Once per
#   io_engine (Sync, Async).
# - Debian's stock kernel finds a drive, a network interface and an entropy
#   device through ACPI alone (its virtio_mmio has no command-line devices),
#   reads 64 KiB from /dev/hwrng, and pings the host's end of a tap in a
#   network namespace of our own.
. "${PETREL_SRC:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$PETREL_SRC/tests/slow/linux.sh"
need_kvm
need_guest micro-bzImage rootfs.ext4 stock-vmlinuz stock-initrd.cpio.gz
[ "$(id -u)" -eq 0 ] || skip "needs root for a network namespace and a tap"
for c in mke2fs debugfs ip; do
	command -v "$c" >/dev/null || skip "needs $c (e2fsprogs, iproute2)"
done

# Every boot: quiet (each console byte is a nested exit), test, power off.
args="console=ttyS0 reboot=k panic=1 quiet"

# vm_config NAME KERNEL INITRD BOOT_ARGS DEVICES_JSON
vm_config() {
	local initrd=""
	[ -z "$3" ] || initrd="\"initrd_path\": \"$PETREL_GUEST_DIR/$3\", "
	cat > "$T/$1.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$PETREL_GUEST_DIR/$2",
                   $initrd"boot_args": "$4" },
  "machine-config": { "vcpu_count": 2, "mem_size_mib": 256 },
  $5
}
JSON
}

# drive ID PATH ROOT ENGINE
drive() {
	printf '{ "drive_id": "%s", "path_on_host": "%s", "is_root_device": %s, ' "$1" "$2" "$3"
	printf '"cache_type": "Writeback", "io_engine": "%s" }' "$4"
}

# What test_blk in resources/guest/init writes.
{ seq 1000000 1131071; echo "petrel-guest blk file end"; } > "$T/expected.dat"
size=$(stat -c %s "$T/expected.dat")

for engine in Sync Async; do
	name=blk-$engine
	# A copy: the guest mounts its root read-write, the cached image stays as built.
	cp "$PETREL_GUEST_DIR/rootfs.ext4" "$T/$name-root.ext4"
	truncate -s 32M "$T/$name-data.ext4"
	mke2fs -q -t ext4 -F "$T/$name-data.ext4"
	vm_config "$name" micro-bzImage "" "$args petrel.test=blk" "\"drives\": [
    $(drive rootfs "$T/$name-root.ext4" true "$engine"),
    $(drive data "$T/$name-data.ext4" false "$engine") ]"
	run_petrel "$name" 300 --no-api --config-file "$T/$name.json"
	expect_line "$name" "petrel-guest: init started cpus=2 " "$name: init from the ext4 root drive"
	expect_line "$name" "petrel-guest: blk wrote petrel-blk.dat bytes=$size[[:cntrl:]]?$" \
		"$name: guest wrote $size bytes to the data drive and unmounted it"
	expect_rc "$name" 0 "$name: guest powers off"
	if debugfs -R "cat /petrel-blk.dat" "$T/$name-data.ext4" >"$T/$name.dat" 2>"$T/$name.err" &&
		cmp -s "$T/expected.dat" "$T/$name.dat"; then
		pass "$name: the host image holds the guest's file"
	else
		fail "$name: file on the host image differs ($(wc -c <"$T/$name.dat") bytes read): $(tail -n 2 "$T/$name.err")"
	fi
done

# The host's end of the guest's eth0, in a namespace petrel runs in.
ns="petrel-virtio-$$"
ip netns add "$ns" || skip "cannot create a network namespace"
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$T"' EXIT
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip tuntap add dev ptap0 mode tap
in_ns ip addr add 10.0.2.1/24 dev ptap0
in_ns ip link set ptap0 up

name=stock
truncate -s 8M "$T/stock-data.img"
vm_config "$name" stock-vmlinuz stock-initrd.cpio.gz "$args petrel.test=devices,net" \
	"\"drives\": [ $(drive data "$T/stock-data.img" false Async) ],
  \"network-interfaces\": [ { \"iface_id\": \"eth0\", \"host_dev_name\": \"ptap0\",
                            \"guest_mac\": \"06:00:0a:00:02:02\" } ],
  \"entropy\": {}"
set +e
in_ns timeout -k 5 300 "$PETREL_BIN" --no-api --config-file "$T/$name.json" \
	</dev/null >"$T/$name.out" 2>&1
RC=$?
set -e
expect_line "$name" "petrel-guest: devices blk=1 net=1 rng=virtio_rng\.[0-9]+[[:cntrl:]]?$" \
	"stock: one drive, one interface and the virtio hwrng, found through ACPI"
expect_line "$name" "petrel-guest: hwrng ok" "stock: 64 KiB read from /dev/hwrng"
expect_line "$name" "petrel-guest: ping ok" "stock: the guest pings the host over the tap"
expect_rc "$name" 0 "stock: guest powers off"
grep -E "petrel-guest: (devices|hwrng|ping|blk)" "$T"/*.out | sed "s|^$T/|    |" || true
finish
