#!/usr/bin/env bash
# virtio-blk with the probe's driver (probe.action=blk): the pattern it writes
# to a data drive is on the host image, with both io_engines; a read-only
# drive refuses writes and its image is unchanged; requests past the end fail;
# GET_ID returns the drive id; the root drive puts root= on the command line.
. "$(dirname "$0")/lib.sh"
need_kvm
probe=$(probe_elf)
pattern="$PETREL_SRC/tests/guest/probe/blk_pattern.py"
command -v python3 >/dev/null || skip "python3 is needed to check the image"

# blk_config NAME BOOT_ARGS DRIVES_JSON
blk_config() {
	cat > "$T/$1.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$probe", "boot_args": "$2" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 },
  "drives": [ $3 ],
  "logger": { "level": "Debug" }
}
JSON
}

# drive ID PATH RO CACHE ENGINE [ROOT]
drive() {
	printf '{ "drive_id": "%s", "path_on_host": "%s", "is_root_device": %s, ' \
		"$1" "$2" "${6:-false}"
	printf '"is_read_only": %s, "cache_type": "%s", "io_engine": "%s" }' "$3" "$4" "$5"
}

args="console=ttyS0 probe.action=blk probe.blk_mib=8 probe.blk_ms=100"

for engine in Sync Async; do
	seed=$([ "$engine" = Sync ] && echo 7 || echo 11)
	truncate -s 16M "$T/$engine.img"
	blk_config "$engine" "$args probe.seed=$seed" \
		"$(drive scratch "$T/$engine.img" false Writeback "$engine")"
	run_petrel "$engine" 60 --no-api --config-file "$T/$engine.json"
	expect_line "$engine" "^probe: blk capacity=32768 ro=0\$" \
		"$engine: capacity of a 16 MiB image"
	expect_line "$engine" "^probe: blk write ok bytes=8388608\$" "$engine: 8 MiB written"
	expect_line "$engine" "^probe: blk flush ok\$" "$engine: Writeback offers flush"
	expect_line "$engine" "^probe: blk verify ok\$" "$engine: read back what was written"
	expect_line "$engine" "^probe: blk id=scratch\$" "$engine: GET_ID is the drive id"
	expect_line "$engine" "^probe: blk read-past-end status=1\$" \
		"$engine: read past the end is IOERR"
	expect_line "$engine" "^probe: blk read-straddle-end status=1\$" \
		"$engine: read across the end is IOERR"
	expect_rc "$engine" 0 "$engine: probe powers off"
	if python3 "$pattern" check "$T/$engine.img" 8 "$seed" >"$T/$engine.check" 2>&1; then
		pass "$engine: the host image holds the guest's pattern"
	else
		fail "$engine: host image check: $(cat "$T/$engine.check")"
	fi
	grep -E "seq-write MBps" "$T/$engine.out" | sed "s/^/    $engine: /" || true
done

# Unsafe: no FLUSH feature offered.
truncate -s 8M "$T/unsafe.img"
blk_config unsafe "$args probe.blk_mib=4" "$(drive scratch "$T/unsafe.img" false Unsafe Sync)"
run_petrel unsafe 60 --no-api --config-file "$T/unsafe.json"
expect_line unsafe "^probe: blk flush unsupported\$" "Unsafe: flush not offered"
expect_line unsafe "^probe: blk verify ok\$" "Unsafe: data still read back"

# Read-only: the write fails (IOERR), reads work, the image does not change.
truncate -s 8M "$T/ro.img"
python3 "$pattern" write "$T/ro.img" 4 3
sum_before=$(sha256sum < "$T/ro.img")
blk_config ro "$args probe.blk_mib=4" "$(drive base "$T/ro.img" true Unsafe Async)"
run_petrel ro 60 --no-api --config-file "$T/ro.json"
expect_line ro "^probe: blk capacity=16384 ro=1\$" "read-only: RO feature seen"
expect_line ro "^probe: blk write status=1\$" "read-only: write answered IOERR"
expect_line ro "^probe: blk read ok bytes=4194304\$" "read-only: reads work"
expect_rc ro 0 "read-only: probe powers off"
if [ "$(sha256sum < "$T/ro.img")" = "$sum_before" ]; then
	pass "read-only: image checksum unchanged"
else
	fail "read-only: image changed"
fi

# A missing image fails the build, naming the drive and the file.
blk_config missing "$args" "$(drive data "$T/nope.img" false Unsafe Sync)"
run_petrel missing 30 --no-api --config-file "$T/missing.json"
expect_line missing "drives\[data\].path_on_host: $T/nope.img: No such file" \
	"missing image: drive id and path named"
if [ "$RC" -ne 0 ]; then
	pass "missing image: petrel fails (exit $RC)"
else
	fail "missing image: exit 0"
fi

# The root drive: root=/dev/vda (or the PARTUUID) and rw/ro, unless boot_args has root=.
truncate -s 1M "$T/root.img"
blk_config root "console=ttyS0" "$(drive rootfs "$T/root.img" false Unsafe Sync true)"
run_petrel root 30 --no-api --config-file "$T/root.json"
expect_line root "kernel command line: console=ttyS0 root=/dev/vda rw " \
	"root drive: root=/dev/vda rw"
sed -e 's/"is_root_device": true/"is_root_device": true, "partuuid": "0eaa91a0-01"/' \
	-e 's/"is_read_only": false/"is_read_only": true/' "$T/root.json" > "$T/rootpu.json"
run_petrel rootpu 30 --no-api --config-file "$T/rootpu.json"
expect_line rootpu "kernel command line: console=ttyS0 root=PARTUUID=0eaa91a0-01 ro " \
	"root drive: root=PARTUUID=... ro"
blk_config rootarg "console=ttyS0 root=/dev/vdb" \
	"$(drive rootfs "$T/root.img" false Unsafe Sync true)"
run_petrel rootarg 30 --no-api --config-file "$T/rootarg.json"
expect_line rootarg "kernel command line: console=ttyS0 root=/dev/vdb virtio_mmio" \
	"root drive: boot_args root= kept, nothing added"
finish
