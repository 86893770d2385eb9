#!/usr/bin/env bash
# Device throughput with the probe guest on this host's /dev/kvm: virtio-blk
# (Sync and Async io_engine) and virtio-net, with QEMU's microvm on the same
# guest and the host's own figures beside them, in the same run.
#   bench/devices.sh [RUNS]      (default 3) prints markdown tables.
# Root: the tap lives in a network namespace of the script's own.
# BLK_MIB (64): MiB the probe writes and reads back sequentially, of a
# 256 MiB image; its 4 KiB random tests cover the last 8 MiB of them.
# NET_FRAMES (20000): frames of 1514 bytes each way.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
runs=${1:-3}
petrel=${PETREL_BIN:-$src/build/petrel}
guest_dir=${PETREL_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/petrel/guest}
probe=$guest_dir/probe.elf
peer=$src/tests/guest/probe/net_peer.py
img_mib=256
blk_mib=${BLK_MIB:-64}
net_frames=${NET_FRAMES:-20000}
blk_ms=1000

[ "$(id -u)" -eq 0 ] || { echo "devices.sh: needs root (network namespace, tap)" >&2; exit 1; }
for c in qemu-system-x86_64 python3 ip jq; do
	command -v "$c" >/dev/null || { echo "devices.sh: $c is missing" >&2; exit 1; }
done
have_fio=$(command -v fio >/dev/null && echo 1 || echo 0)
"$src/tests/guest/build.sh" probe >/dev/null

work=$(mktemp -d "${TMPDIR:-/var/tmp}/petrel-devices.XXXXXX")
ns=petrel-bench-$$
trap 'ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"' EXIT
img=$work/data.img
# Allocated and written, so the host's own reads come from the disk.
dd if=/dev/zero of="$img" bs=1M count="$img_mib" oflag=direct status=none

# shellcheck disable=SC2054 # the commas are QEMU's
qemu=(qemu-system-x86_64 -M microvm -enable-kvm -cpu host,-arch-capabilities -m 128 -smp 1
      -nodefaults -no-user-config -nographic -serial stdio -kernel "$probe"
      -global virtio-mmio.force-legacy=false)

# vm_json ARGS DEVICES: a petrel config for the probe.
vm_json() {
	cat > "$work/vm.json" <<JSON
{ "boot-source": { "kernel_image_path": "$probe", "boot_args": "console=ttyS0 $1" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 },
  $2 }
JSON
}

# "seq-write seq-read iops-read iops-write" from a probe's blk line on stdin.
blk_figures() {
	sed -n 's/.*seq-write MBps=\([0-9.]*\) seq-read MBps=\([0-9.]*\) iops4k-read=\([0-9]*\) iops4k-write=\([0-9]*\).*/\1 \2 \3 \4/p' |
		grep . || echo "- - - -"
}

blk_args="probe.action=blk probe.blk_mib=$blk_mib probe.blk_ms=$blk_ms"

petrel_blk() {   # petrel_blk ENGINE
	vm_json "$blk_args" "\"drives\": [ { \"drive_id\": \"data\", \"path_on_host\": \"$img\",
    \"is_root_device\": false, \"cache_type\": \"Writeback\", \"io_engine\": \"$1\" } ]"
	timeout 600 "$petrel" --no-api --config-file "$work/vm.json" </dev/null 2>&1 | blk_figures
}

qemu_blk() {
	timeout 600 "${qemu[@]}" -append "$blk_args" \
		-device virtio-blk-device,drive=d0,serial=data \
		-drive id=d0,file="$img",format=raw,if=none </dev/null 2>&1 | blk_figures
}

# mbps MIB SECONDS
mbps() { awk -v m="$1" -v s="$2" 'BEGIN { printf "%.1f", m * 1048576 / 1e6 / s }'; }

# timed_dd ARGS...: MB/s of a dd of blk_mib MiB at 1 MiB blocks.
timed_dd() {
	local t0=$EPOCHREALTIME
	dd bs=1M count="$blk_mib" status=none "$@"
	mbps "$blk_mib" "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')"
}

# fio_iops RW DIRECT: 4 KiB random, 16 in flight, over the probe's last 8 MiB.
fio_iops() {
	[ "$have_fio" = 1 ] || { echo -; return; }
	fio --name=r --filename="$img" --rw="$1" --direct="$2" --bs=4k --iodepth=16 \
		--ioengine=io_uring --offset="$((blk_mib - 8))M" --size=8M --time_based \
		--runtime="$((blk_ms / 1000))" --output-format=json |
		jq -r --arg k "${1#rand}" '.jobs[0][$k].iops | floor'
}

host_blk() {   # host_blk DIRECT(0|1)
	local oflag=() iflag=() w r
	if [ "$1" = 1 ]; then oflag=(oflag=direct); iflag=(iflag=direct); fi
	w=$(timed_dd if=/dev/zero of="$img" conv=notrunc "${oflag[@]}")
	r=$(timed_dd if="$img" of=/dev/null "${iflag[@]}")
	echo "$w $r $(fio_iops randread "$1") $(fio_iops randwrite "$1")"
}

# The tap, in our namespace, with a queue deep enough that the host's burst
# waits for the guest instead of being dropped.
in_ns() { ip netns exec "$ns" "$@"; }
ip netns add "$ns"
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
in_ns ip tuntap add dev ptap0 mode tap
in_ns ip link set ptap0 txqueuelen "$((net_frames + 1000))" up

net_args="probe.action=net probe.net_count=$net_frames probe.net_size=1514 probe.net_rx=$net_frames"

# rate PREFIX FILE: "fps MBps" from a probe or net_peer line.
rate() {
	sed -n "s/.*$1 .*MBps=\([0-9.-]*\) fps=\([0-9-]*\).*/\2 \1/p" "$2" | grep . || echo "- -"
}

# net_run CMD...: the monitor in the namespace, the peer receiving, then
# sending once the probe is ready; prints "gtx-fps gtx-MBps hrx-fps hrx-MBps
# htx-fps htx-MBps grx-fps grx-MBps grx-frames".
net_run() {
	local out=$work/net.out vm
	: > "$out"
	in_ns python3 "$peer" recv ptap0 "$net_frames" 120 > "$work/peer_rx" 2>&1 &
	local prx=$!
	for _ in $(seq 100); do
		in_ns awk 'NR > 1 && $4 == "88b5" { f = 1 } END { exit !f }' /proc/net/packet && break
		sleep 0.05
	done
	in_ns timeout 300 "$@" </dev/null > "$out" 2>&1 &
	vm=$!
	for _ in $(seq 3000); do
		grep -q "probe: net rx ready" "$out" && break
		sleep 0.1
	done
	in_ns python3 "$peer" send ptap0 "$net_frames" 1514 > "$work/peer_tx" 2>&1 || true
	wait "$vm" || true
	wait "$prx" || true
	echo "$(rate "probe: net tx" "$out") $(rate "net_peer: rx" "$work/peer_rx")" \
		"$(rate "net_peer: tx" "$work/peer_tx") $(rate "probe: net rx" "$out")" \
		"$(sed -n 's/.*probe: net rx frames=\([0-9]*\).*/\1/p' "$out" | grep . || echo -)"
}

petrel_net() {
	vm_json "$net_args" '"network-interfaces": [ { "iface_id": "eth0",
    "host_dev_name": "ptap0", "guest_mac": "06:00:ac:10:00:02" } ]'
	net_run "$petrel" --no-api --config-file "$work/vm.json"
}

qemu_net() {
	net_run "${qemu[@]}" -append "$net_args" \
		-netdev tap,id=n0,ifname=ptap0,script=no,downscript=no \
		-device virtio-net-device,netdev=n0,mac=06:00:ac:10:00:02
}

# row RUN WHAT FIGURES...
row() { local r=$1 w=$2; shift 2; local f="$*"; echo "| $r | $w | ${f// / | } |"; }

# record KIND WHO FIGURES: a row for the table, a line for the medians.
record() {
	echo "$3" >> "$work/$1.$(echo "$2" | tr -c 'a-zA-Z0-9\n' _)"
	row "$run" "$2" "$3" >> "$work/$1.rows"
}

# medians KIND WHO...: a row of each column's median over the runs.
medians() {
	local kind=$1 who f n i out
	shift
	for who in "$@"; do
		f=$work/$kind.$(echo "$who" | tr -c 'a-zA-Z0-9\n' _)
		n=$(head -n 1 "$f" | wc -w)
		out=()
		for i in $(seq "$n"); do
			out+=("$(awk -v i="$i" '$i != "-" { print $i }' "$f" | "$here/stats.sh" | cut -d' ' -f2)")
		done
		row median "$who" "${out[*]}"
	done
}

blk_who=("petrel Sync" "petrel Async" "QEMU microvm" "host, page cache" "host, O_DIRECT")
net_who=(petrel "QEMU microvm")
for run in $(seq "$runs"); do
	record blk "petrel Sync" "$(petrel_blk Sync)"
	record blk "petrel Async" "$(petrel_blk Async)"
	record blk "QEMU microvm" "$(qemu_blk)"
	record blk "host, page cache" "$(host_blk 0)"
	record blk "host, O_DIRECT" "$(host_blk 1)"
	record net petrel "$(petrel_net)"
	record net "QEMU microvm" "$(qemu_net)"
done

echo "Block: probe.action=blk, $blk_mib MiB sequential of a $img_mib MiB image (1 MiB"
echo "blocks on the host), 4 KiB random over its last 8 MiB with 16 in flight for"
echo "$blk_ms ms each (fio, io_uring, on the host). MB/s are 10^6 bytes."
echo
echo "| run | who | seq write MB/s | seq read MB/s | 4k read IOPS | 4k write IOPS |"
echo "|---|---|---|---|---|---|"
medians blk "${blk_who[@]}"
cat "$work/blk.rows"
echo
echo "Net: probe.action=net, $net_frames frames of 1514 bytes each way; the host's"
echo "end is net_peer.py on the tap (packet socket), tap queue $((net_frames + 1000))."
echo
echo "| run | monitor | guest tx fps | guest tx MB/s | host rx fps | host rx MB/s |" \
	"host tx fps | host tx MB/s | guest rx fps | guest rx MB/s | guest rx frames |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
medians net "${net_who[@]}"
cat "$work/net.rows"
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
