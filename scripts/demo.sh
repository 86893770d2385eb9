#!/usr/bin/env bash
# Build petrel and a small Linux guest (the project's micro kernel from
# Debian's linux-source, a busybox root on an ext4 virtio drive), boot it
# with 2 vCPUs, a network interface on a tap in a network namespace of its
# own and an entropy device, and put the guest's shell on this terminal;
# "poweroff" in the guest ends the demo. Where /dev/kvm cannot boot Linux
# (PVM-based KVM, or none at all) the same guest runs under petrel inside
# the test host VM (tests/hostvm), its console on this terminal.
usage() {
	cat <<'EOF'
usage: scripts/demo.sh [--probe] [--run 'COMMANDS']
  (none)          boot Linux and put its shell on this terminal (root: it makes
                  a network namespace and a tap)
  --probe         boot the probe test guest instead: type a line, it echoes it
  --run COMMANDS  type COMMANDS into the guest's shell (or PETREL_DEMO_INPUT),
                  show what it printed, check the shell was reached and exit
                  with petrel's status: 'uname -a; poweroff' for CI
environment: PETREL_DEMO_MODE=direct|hostvm forces where Linux runs;
  PETREL_BIN, a petrel already built (no build); PETREL_GUEST_DIR, the guest
  images' cache (default ~/.cache/petrel/guest)
EOF
}
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
say() { echo "petrel demo: $*"; }
die() { echo "petrel demo: error: $*" >&2; exit 1; }

input=${PETREL_DEMO_INPUT:-} probe=0
while [ $# -gt 0 ]; do
	case "$1" in
	--probe) probe=1 ;;
	--run) input=${2:?--run needs the commands}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
t0=$EPOCHREALTIME
sec() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# Where Linux can boot. The PVM-based KVM (kvm_pvm, nested) emulates guest
# kernel code and no Linux reaches init on it; without /dev/kvm nothing runs.
linux_kvm() {
	case "${PETREL_DEMO_MODE:-}" in
	direct) return 0 ;;
	hostvm) why="PETREL_DEMO_MODE=hostvm"; return 1 ;;
	'') ;;
	*) die "PETREL_DEMO_MODE is direct or hostvm, not '$PETREL_DEMO_MODE'" ;;
	esac
	if [ ! -e /dev/kvm ]; then
		why="there is no /dev/kvm here"
		return 1
	fi
	if [ -d /sys/module/kvm_pvm ]; then
		why="/dev/kvm here is PVM-based (kvm_pvm module), which cannot boot Linux"
		return 1
	fi
	return 0
}

build() {
	bin=${PETREL_BIN:-}
	[ -z "$bin" ] || { [ -x "$bin" ] || die "PETREL_BIN=$bin is not a program"; return 0; }
	"$src/scripts/deps.sh"
	cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$src/build" -j"$(nproc)" --target petrel >/dev/null
	bin=$src/build/petrel
}

probe_demo() {
	"$src/tests/guest/build.sh" probe
	cat > "$tmp/vm.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$PETREL_GUEST_DIR/probe.elf",
                   "boot_args": "console=ttyS0 probe.action=echo" },
  "machine-config": { "vcpu_count": 2, "mem_size_mib": 128 }
}
JSON
	say "booting the probe guest; type a line to see it echoed, 'poweroff' to stop"
	"$bin" --no-api --boot-timer --config-file "$tmp/vm.json"
}

# petrel's log: all of it to a file; on the terminal the boot time, what to
# try, and any warning or error.
log_filter() {
	local line ms
	while IFS= read -r line; do
		printf '%s\n' "$line" >> "$tmp/petrel.log"
		case "$line" in
		*"Guest-boot-time = "*)
			ms=${line##*us }
			say "Linux booted in ${ms% ms} ms (petrel's boot timer: InstanceStart to the guest's init)"
			say "try:  ip addr   cat /proc/cpuinfo   ping -c 1 10.0.2.1   poweroff (ends the demo)" ;;
		*:WARN\]* | *:ERROR\]*)
			printf '%s\n' "$line" ;;
		esac
	done
}

vm_config() {
	cp "$PETREL_GUEST_DIR/rootfs.ext4" "$tmp/root.ext4"	# the guest writes to its root
	cat > "$tmp/vm.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$PETREL_GUEST_DIR/micro-bzImage",
                   "boot_args": "console=ttyS0 reboot=k panic=1 quiet petrel.demo=1" },
  "machine-config": { "vcpu_count": 2, "mem_size_mib": 256 },
  "drives": [ { "drive_id": "root", "path_on_host": "$tmp/root.ext4", "is_root_device": true } ],
  "network-interfaces": [ { "iface_id": "eth0", "host_dev_name": "ptap0",
                            "guest_mac": "06:00:0a:00:02:02" } ],
  "entropy": {}
}
JSON
}

# The guest's eth0 (10.0.2.2) reaches 10.0.2.1, the tap in a namespace of its own.
make_netns() {
	ns=petrel-demo-$$
	ip netns add "$ns" || die "cannot make a network namespace (ip netns add)"
	ip netns exec "$ns" ip link set lo up
	ip netns exec "$ns" ip tuntap add dev ptap0 mode tap
	ip netns exec "$ns" ip addr add 10.0.2.1/24 dev ptap0
	ip netns exec "$ns" ip link set ptap0 up
}

petrel() {
	ip netns exec "$ns" "$bin" --no-api --boot-timer --show-level --config-file "$tmp/vm.json" "$@"
}

# CI: the commands typed at the first prompt; the VM must end by itself.
run_commands() {
	local pid fpid i rc prompt='petrel-demo:[^ ]*# '
	mkfifo "$tmp/in"
	petrel <"$tmp/in" > >(tee "$tmp/console") 2> >(log_filter) &
	pid=$!
	exec 3>"$tmp/in"
	for i in $(seq 3000); do	# 300 s: bounds a guest that never gets there
		grep -Eqs "$prompt" "$tmp/console" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if grep -Eqs "$prompt" "$tmp/console"; then
		echo
		say "the guest's shell answered $(sec "$t0" "$EPOCHREALTIME") s after the demo started"
		printf '%s\n' "$input" >&3 2>/dev/null || true
	fi
	for i in $(seq 1200); do	# 120 s for the commands
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "the commands did not end the VM: typing poweroff"
		printf 'poweroff\n' >&3 2>/dev/null || true
		sleep 30
		kill "$pid" 2>/dev/null || true
	fi
	set +e
	wait "$pid"
	rc=$?
	set -e
	exec 3>&-
	sleep 0.2	# tee and the log filter finish
	if ! grep -Eqs "$prompt" "$tmp/console"; then
		say "the guest never reached its shell"
		[ "$rc" != 0 ] || rc=1
	fi
	if ! grep -qs "Guest-boot-time" "$tmp/petrel.log"; then
		say "no boot time in petrel's log"
		[ "$rc" != 0 ] || rc=1
	fi
	[ "$rc" = 0 ] || { say "petrel exited $rc; its log:"; tail -n 20 "$tmp/petrel.log"; }
	return "$rc"
}

boot_linux() {
	[ "$(id -u)" = 0 ] || die "run as root: the demo makes a network namespace and a tap"
	for f in micro-bzImage rootfs.ext4; do
		[ -f "$PETREL_GUEST_DIR/$f" ] || die "no guest image $PETREL_GUEST_DIR/$f"
	done
	make_netns
	vm_config
	if [ -n "$input" ]; then
		run_commands
		return
	fi
	say "booting Linux: micro kernel, 2 vCPUs, 256 MiB, a virtio root drive, eth0 and an entropy device"
	set +e
	petrel 2> >(log_filter)
	rc=$?
	set -e
	sleep 0.2
	[ "$rc" = 0 ] || { say "petrel exited $rc; its log:"; tail -n 20 "$tmp/petrel.log"; }
	return "$rc"
}

via_hostvm() {
	local args=(--retries 2 --stall 45)
	say "$why: running it inside the test host VM instead (Linux under QEMU's" \
		"software emulation, with a real KVM inside), slower: the guest's shell comes after 10 s or so"
	if [ -z "$input" ]; then
		args+=(--console --timeout 86400)
	else
		args+=(--timeout 600)
	fi
	PETREL_BIN=$bin "$src/tests/hostvm/run.sh" "${args[@]}" "$src/scripts/demo.sh" \
		${input:+--run "$input"}
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/petrel-demo.XXXXXX")
ns=
saved_tty=$( [ -t 0 ] && stty -g 2>/dev/null || true)
cleanup() {
	[ -z "$ns" ] || ip netns del "$ns" 2>/dev/null || true
	[ -z "$saved_tty" ] || stty "$saved_tty" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ "${PETREL_HOSTVM:-0}" = 1 ]; then	# inside the test host VM: all is there
	bin=$PETREL_BIN
	boot_linux
	exit
fi
export PETREL_GUEST_DIR=${PETREL_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/petrel/guest}
build
if [ "$probe" = 1 ]; then
	probe_demo
	exit
fi
say "building the guest images (the first time: a Linux kernel, a few minutes)"
"$src/tests/guest/build.sh" micro rootfs
if linux_kvm; then
	boot_linux
else
	via_hostvm
fi
