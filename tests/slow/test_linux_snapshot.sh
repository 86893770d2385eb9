#!/usr/bin/env bash
# Snapshots of real Linux guests, each restored by a new petrel:
# - the micro kernel on a copy of rootfs.ext4, with eth0 on a tap, paused at its
#   shell and snapshotted (Full); petrel ended; a new petrel loads it with
#   network_overrides onto another tap and resume_vm: the shell answers a typed
#   command and the guest answers a ping over the new tap (the old one is gone);
# - three clones of that snapshot at once, each in its own network namespace
#   with its own tap, each given its own copy of the root drive (loaded paused,
#   PATCH /drives, resumed): each answers on its console and to a ping, and
#   writes a file only its copy holds;
# - the same snapshot through the Uffd backend, served by petrel-uffd-handler:
#   the shell answers;
# - Debian's stock kernel (2 vCPUs) snapshotted at its shell: once restored it
#   mounts its virtio drive and reads a file it had never read, and its eth0
#   answers a ping.
. "${PETREL_SRC:-$(dirname "$0")/../..}/tests/integration/api_lib.sh"
. "$PETREL_SRC/tests/slow/linux.sh"
need_kvm
need_guest micro-bzImage rootfs.ext4 stock-vmlinuz stock-initrd.cpio.gz
[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces and taps"
for c in mke2fs debugfs ip ping; do
	command -v "$c" >/dev/null || skip "needs $c (e2fsprogs, iproute2, ping)"
done
uffd_handler=${PETREL_UFFD_HANDLER:-$PETREL_SRC/build/examples/uffd/petrel-uffd-handler}
[ -x "$uffd_handler" ] || { echo "FAIL: no petrel-uffd-handler at $uffd_handler"; exit 1; }

NSS=()
cleanup() {
	local p n
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	for n in "${NSS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
	# In the test host VM, run.sh --output-dir brings the consoles and logs back.
	[ -z "${PETREL_OUT:-}" ] || cp "$T"/*.out "$T"/*.log "$PETREL_OUT/" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

# netns NAME TAP: a namespace of ours with TAP up as 10.0.2.1/24, the guest's peer.
netns() {
	ip netns add "$1" || { fail "cannot create network namespace $1"; exit 1; }
	NSS+=("$1")
	tap_add "$1" "$2"
}
tap_add() {
	ip -n "$1" tuntap add dev "$2" mode tap
	ip -n "$1" addr add 10.0.2.1/24 dev "$2"
	ip -n "$1" link set "$2" up
}

# vm_start NAME NETNS [ARGS...]: petrel in NETNS on $T/NAME.sock (SOCK, PID),
# its console input a FIFO held open on fd CON[NAME].
declare -A CON
vm_start() {
	local name=$1 ns=$2 fd
	shift 2
	SOCK=$T/$name.sock
	mkfifo "$T/$name.in"
	ip netns exec "$ns" "$PETREL_BIN" --api-sock "$SOCK" "$@" \
		<"$T/$name.in" >"$T/$name.out" 2>"$T/$name.log" &
	PID=$!
	PIDS+=("$PID")
	exec {fd}>"$T/$name.in"
	CON[$name]=$fd
	wait_line "$name" "API server listening on $SOCK " 20
}

# vm_use NAME PID: talk to that petrel's API from now on.
vm_use() { SOCK=$T/$1.sock PID=$2; }

# ask NAME WORD COMMAND [SECONDS]: types "COMMAND; echo WORD" on NAME's console
# (WORD split so the typed line's echo does not match) and waits for WORD on a
# line of its own; once more halfway, for a shell that was not reading yet.
ask() {
	local name=$1 word=$2 cmd=$3 secs=${4:-60} i
	for i in 1 2; do
		printf '%s; echo %s""%s\n' "$cmd" "${word:0:1}" "${word:1}" >&"${CON[$name]}"
		if wait_quiet "$name" "^$word[[:cntrl:]]*$" $((secs / 2)); then
			pass "$name: the shell answered '$cmd'"
			return 0
		fi
	done
	fail "$name: no answer to '$cmd' in $secs s"
	output "$name" | sed 's/^/    | /' | tail -15
	return 1
}
wait_quiet() {
	local i
	for i in $(seq $(($3 * 10))); do
		grep -Eqs -- "$2" "$T/$1.out" && return 0
		sleep 0.1
	done
	return 1
}

# ping_guest NETNS TAP WHAT: the guest at 10.0.2.2 answers a ping over TAP,
# the only tap of NETNS.
ping_guest() {
	local i
	for i in $(seq 20); do
		if ip netns exec "$1" ping -c 1 -W 2 10.0.2.2 >"$T/ping" 2>&1; then
			pass "$3: the guest answers a ping over $2"
			return 0
		fi
	done
	fail "$3: no answer to ping over $2: $(tail -n 2 "$T/ping")"
}

# snapshot NAME: pause the VM on SOCK, write NAME.st and NAME.mem, end petrel.
snapshot() {
	expect_api 204 "" PATCH /vm '{"state":"Paused"}'
	expect_api 204 "" PUT /snapshot/create \
		"{\"snapshot_path\":\"$T/$1.st\",\"mem_file_path\":\"$T/$1.mem\",\"snapshot_type\":\"Full\"}"
	stop_petrel
}

# load STATE BACKEND_TYPE BACKEND_PATH RESUME [EXTRA_JSON]
load() {
	expect_api 204 "" PUT /snapshot/load "{\"snapshot_path\":\"$T/$1.st\",
		\"mem_backend\":{\"backend_type\":\"$2\",\"backend_path\":\"$3\"},
		\"resume_vm\":$4${5:+,$5}}"
}

net_json() {
	printf '"network-interfaces": [ { "iface_id": "eth0", "host_dev_name": "%s", ' "$1"
	printf '"guest_mac": "06:00:0a:00:02:02" } ]'
}
override() { echo "\"network_overrides\":[{\"iface_id\":\"eth0\",\"host_dev_name\":\"$1\"}]"; }

# quiet: each console byte is a nested exit.
args="console=ttyS0 reboot=k panic=1 quiet"
netup="ip addr add 10.0.2.2/24 dev eth0; ip link set eth0 up"

# --- the micro kernel, snapshotted at its shell -----------------------------
netns "petrel-snap-$$" ptap0
ns=petrel-snap-$$
cp "$PETREL_GUEST_DIR/rootfs.ext4" "$T/root.ext4"
cat > "$T/micro.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$PETREL_GUEST_DIR/micro-bzImage", "boot_args": "$args" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 },
  "drives": [ { "drive_id": "rootfs", "path_on_host": "$T/root.ext4", "is_root_device": true } ],
  $(net_json ptap0)
}
JSON
vm_start src "$ns" --config-file "$T/micro.json"
wait_line src "petrel-guest: init started" 120
sleep 1
ask src netup "$netup"
ping_guest "$ns" ptap0 "micro before the snapshot"
snapshot micro
# The clones' and the Uffd restore's own root drives: the disk as the snapshot saw it.
for i in 1 2 3 4; do cp "$T/root.ext4" "$T/root$i.ext4"; done

# A new petrel, on another tap of the namespace: the old tap is gone.
ip -n "$ns" link del ptap0
tap_add "$ns" ptap1
vm_start moved "$ns"
load micro File "$T/micro.mem" true "$(override ptap1)"
expect_api 200 '"state":"Running"' GET /
# sleep: the guest's timers fire after the restore.
ask moved restored "sleep 1; uname -r"
ping_guest "$ns" ptap1 "micro restored onto ptap1"
ip -n "$ns" link show ptap0 >/dev/null 2>&1 && fail "petrel opened the snapshot's ptap0" ||
	pass "the restored VM uses ptap1 only"
grep -q "petrel-guest: init started" "$T/moved.out" && fail "the restored guest booted again" ||
	pass "no boot after the restore"
stop_petrel

# --- three clones at once ---------------------------------------------------
declare -A CPID
for i in 1 2 3; do
	netns "petrel-clone$i-$$" ctap$i
	vm_start clone$i "petrel-clone$i-$$"
	CPID[$i]=$PID
	load micro File "$T/micro.mem" false "$(override ctap$i)"
	expect_api 204 "" PATCH /drives/rootfs \
		"{\"drive_id\":\"rootfs\",\"path_on_host\":\"$T/root$i.ext4\"}"
	expect_api 204 "" PATCH /vm '{"state":"Resumed"}'
done
for i in 1 2 3; do
	vm_use clone$i "${CPID[$i]}"
	ask clone$i clone$i-up "echo clone$i > /clone$i; sync; mount -o remount,ro /"
	ping_guest "petrel-clone$i-$$" ctap$i "clone $i"
done
for i in 1 2 3; do
	vm_use clone$i "${CPID[$i]}"
	stop_petrel
done
for i in 1 2 3; do
	got=$(debugfs -R "cat /clone$i" "$T/root$i.ext4" 2>/dev/null)
	others=$(debugfs -R "ls -l /" "$T/root$i.ext4" 2>/dev/null | grep -o 'clone[0-9]' |
		grep -v "clone$i" | tr '\n' ' ' || true)
	[ "$got" = "clone$i" ] && [ -z "$others" ] &&
		pass "clone $i wrote to its own copy of the root drive only" ||
		fail "root$i.ext4: /clone$i is '$got', other clones' files: '$others'"
done
debugfs -R "ls -l /" "$T/root.ext4" 2>/dev/null | grep -q clone &&
	fail "a clone wrote to the snapshot's own root drive" || true

# --- Uffd ----------------------------------------------------------------------
"$uffd_handler" "$T/handler.sock" "$T/micro.mem" >"$T/handler.log" 2>&1 &
hpid=$!
PIDS+=("$hpid")
for _ in $(seq 100); do [ -S "$T/handler.sock" ] && break; sleep 0.1; done
vm_start uffd "$ns"
load micro Uffd "$T/handler.sock" false "$(override ptap1)"
expect_api 204 "" PATCH /drives/rootfs "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$T/root4.ext4\"}"
expect_api 204 "" PATCH /vm '{"state":"Resumed"}'
ask uffd uffd-ok "cat /proc/version"
ping_guest "$ns" ptap1 "micro restored through Uffd"
stop_petrel
for _ in $(seq 50); do kill -0 "$hpid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$hpid" 2>/dev/null && fail "petrel-uffd-handler still runs after its VM ended" ||
	pass "petrel-uffd-handler ended with its VM"

# --- the stock kernel, 2 vCPUs ---------------------------------------------------
mkdir "$T/data"
echo "petrel snapshot data $$" > "$T/data/hello.txt"
mke2fs -q -t ext4 -d "$T/data" "$T/data.ext4" 8M
cat > "$T/stock.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$PETREL_GUEST_DIR/stock-vmlinuz",
                   "initrd_path": "$PETREL_GUEST_DIR/stock-initrd.cpio.gz", "boot_args": "$args" },
  "machine-config": { "vcpu_count": 2, "mem_size_mib": 256 },
  "drives": [ { "drive_id": "data", "path_on_host": "$T/data.ext4", "is_root_device": false,
                "is_read_only": true } ],
  $(net_json ptap1)
}
JSON
vm_start stock "$ns" --config-file "$T/stock.json"
wait_line stock "petrel-guest: init started cpus=2" 180
sleep 1
ask stock stock-up "mkdir -p /mnt"
snapshot stock
vm_start stock2 "$ns"
load stock File "$T/stock.mem" true
ask stock2 stock-read "mount -t ext4 -o ro /dev/vda /mnt && cat /mnt/hello.txt; $netup"
grep -q "^petrel snapshot data $$" "$T/stock2.out" &&
	pass "stock: the restored kernel reads a file from its virtio drive" ||
	fail "stock: no hello.txt after the restore"
ping_guest "$ns" ptap1 "stock restored"
# A task pinned to each vCPU in turn runs, and sleeps: both vCPUs go on.
ask stock2 stock-cpus "taskset 1 sh -c 'sleep 1; echo on-cpu0'; taskset 2 sh -c 'sleep 1; echo on-cpu1'"
grep -q "^on-cpu0" "$T/stock2.out" && grep -q "^on-cpu1" "$T/stock2.out" &&
	pass "stock: tasks pinned to vCPU 0 and vCPU 1 run after the restore" ||
	fail "stock: a pinned task did not run: $(grep "on-cpu" "$T/stock2.out" | tr '\r\n' '  ')"
stop_petrel

# No restored kernel complained (quiet still shows warnings and worse): no
# lockup, stall, oops or warning, and the clocksource stayed.
for f in moved clone1 clone2 clone3 uffd stock2; do
	if grep -Eq "BUG|Oops|WARNING|[Pp]anic|lockup|stall|clocksource|unstable" "$T/$f.out"; then
		fail "$f: the restored kernel complained:"
		grep -E "BUG|Oops|WARNING|[Pp]anic|lockup|stall|clocksource|unstable" "$T/$f.out" |
			head -5 | sed 's/^/    | /'
	else
		pass "$f: no complaint from the restored kernel"
	fi
done
finish
