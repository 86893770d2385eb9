#!/usr/bin/env bash
# virtio-vsock under Linux: Debian's stock kernel with its own vsock modules
# (the initramfs loads vmw_vsock_virtio_transport) and Debian's socat, read
# from the root filesystem image on a read-only drive (petrel.test=vsock in
# resources/guest/init). Against socat on this side:
# - the guest connects to host port 6000 (VSOCK-CONNECT:2:6000): petrel
#   connects it to "<uds_path>_6000", the guest's line arrives there and the
#   host's line comes back;
# - the guest sends 4 MiB of random bytes to host port 6001: the file the
#   host's listener wrote has the sha256 the guest printed;
# - the host connects to uds_path, writes "CONNECT 5000\n" and 4 MiB, gets
#   "OK <port>" and then, on the same socket, the sha256 the guest's
#   VSOCK-LISTEN:5000 computed of what it received: bytes both ways, the
#   host's half-close seen by the guest as the end of its input.
. "${PETREL_SRC:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$PETREL_SRC/tests/slow/linux.sh"
need_kvm
need_guest rootfs.ext4 stock-vmlinuz stock-initrd.cpio.gz
for c in socat sha256sum; do
	command -v "$c" >/dev/null ||
		{ echo "FAIL: needs $c on the host (the test host VM stages socat when this host has it)"; exit 1; }
done

uds=$T/v.sock
pids=()
cleanup() {
	local p
	for p in ${pids[@]+"${pids[@]}"}; do kill "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT

# The host's listeners, one connection each.
socat UNIX-LISTEN:"${uds}_6000" SYSTEM:"echo hello from the host; cat > $T/g1.txt" &
pids+=($!)
socat -u UNIX-LISTEN:"${uds}_6001" CREATE:"$T/g3.bin" &
pids+=($!)

cat > "$T/vm.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$PETREL_GUEST_DIR/stock-vmlinuz",
                   "initrd_path": "$PETREL_GUEST_DIR/stock-initrd.cpio.gz",
                   "boot_args": "console=ttyS0 reboot=k panic=1 quiet petrel.test=vsock" },
  "machine-config": { "vcpu_count": 2, "mem_size_mib": 256 },
  "drives": [ { "drive_id": "tools", "path_on_host": "$PETREL_GUEST_DIR/rootfs.ext4",
                "is_root_device": false, "is_read_only": true } ],
  "vsock": { "guest_cid": 3, "uds_path": "$uds" }
}
JSON
timeout -k 5 300 "$PETREL_BIN" --no-api --config-file "$T/vm.json" \
	</dev/null >"$T/vm.out" 2>"$T/vm.log" &
vm=$!
pids+=("$vm")

# The guest says when its listener has been up a while (its own two
# connections came first); a refused CONNECT closes the socket: try again.
for _ in $(seq 600); do
	grep -q "petrel-guest: vsock listening on 5000" "$T/vm.out" && break
	kill -0 "$vm" 2>/dev/null || break
	sleep 0.5
done
head -c 4194304 /dev/urandom > "$T/h.bin"
for _ in 1 2 3 4 5; do
	{ printf 'CONNECT 5000\n'; cat "$T/h.bin"; } |
		timeout 120 socat -t 60 - UNIX-CONNECT:"$uds" > "$T/h.out" 2>"$T/h.err" || true
	grep -q '^OK ' "$T/h.out" && break
	sleep 1
done

set +e
wait "$vm"
RC=$?
set -e

expect_line vm "petrel-guest: init started cpus=2 " "stock kernel reaches init"
expect_line vm "petrel-guest: vsock host said: hello from the host" \
	"guest -> host port 6000: the host listener's line reached the guest's socat"
if [ "$(cat "$T/g1.txt" 2>/dev/null)" = "hello from the guest" ]; then
	pass "guest -> host port 6000: the guest's line reached <uds_path>_6000"
else
	fail "guest -> host port 6000: the host listener got '$(head -c 100 "$T/g1.txt" 2>/dev/null)'"
fi
sum=$(sha256sum < "$T/g3.bin" | cut -c1-64)
size=$(stat -c %s "$T/g3.bin" 2>/dev/null || echo 0)
expect_line vm "petrel-guest: vsock sent sha256=$sum" \
	"guest -> host port 6001: 4 MiB arrived whole ($size bytes, sha256 as the guest's)"
[ "$size" = 4194304 ] || fail "guest -> host port 6001: $size bytes, not 4194304"
if head -n 1 "$T/h.out" | grep -Eq '^OK [0-9]+$'; then
	pass "host -> guest port 5000: CONNECT answered $(head -n 1 "$T/h.out")"
else
	fail "host -> guest port 5000: no OK line: $(head -c 100 "$T/h.out") $(cat "$T/h.err")"
fi
want=$(sha256sum < "$T/h.bin" | cut -c1-64)
got=$(sed -n 2p "$T/h.out" | cut -c1-64)
if [ "$got" = "$want" ]; then
	pass "host -> guest port 5000: the guest's sha256 of the 4 MiB sent matches"
else
	fail "host -> guest port 5000: the guest computed '$got', the host sent $want"
fi
expect_line vm "petrel-guest: vsock listener done rc=0" "the guest's listener ended cleanly"
expect_rc vm 0 "guest powers off"
grep -E "petrel-guest: vsock" "$T/vm.out" | sed 's/^/    /' || true
finish
