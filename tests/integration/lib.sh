#!/usr/bin/env bash
# Shared helpers for the integration tests (sourced). Each test boots real
# guests with the real petrel binary and checks what they printed.
set -euo pipefail

: "${PETREL_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${PETREL_BIN:=$PETREL_SRC/build/petrel}"
: "${PETREL_GUEST_DIR:=${XDG_CACHE_HOME:-$HOME/.cache}/petrel/guest}"
export PETREL_SRC PETREL_BIN PETREL_GUEST_DIR

T=$(mktemp -d "${TMPDIR:-/tmp}/petrel-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
FAILS=0

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
finish() { [ "$FAILS" -eq 0 ] || { echo "$FAILS check(s) failed"; exit 1; }; echo "all passed"; }

need_kvm() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no usable /dev/kvm"
}

probe_elf() {
	"$PETREL_SRC/tests/guest/build.sh" probe >/dev/null
	echo "$PETREL_GUEST_DIR/probe.elf"
}

# write_config FILE KERNEL BOOT_ARGS [VCPUS] [MEM_MIB] [HUGE_PAGES]
write_config() {
	cat > "$1" <<JSON
{
  "boot-source": { "kernel_image_path": "$2", "boot_args": "$3" },
  "machine-config": { "vcpu_count": ${4:-1}, "mem_size_mib": ${5:-128},
                      "huge_pages": "${6:-None}" }
}
JSON
}

# run_petrel NAME TIMEOUT ARGS... : the guest console (stdout) in $T/NAME.out,
# petrel's log (stderr) in $T/NAME.log, so log lines never split console lines;
# status in RC
run_petrel() {
	local name=$1 secs=$2
	shift 2
	set +e
	timeout -k 5 "$secs" "$PETREL_BIN" "$@" </dev/null >"$T/$name.out" 2>"$T/$name.log"
	RC=$?
	set -e
}

# expect_line NAME REGEX DESCRIPTION: in the console or the log
expect_line() {
	if grep -Eqs -- "$2" "$T/$1.out" "$T/$1.log"; then
		pass "$3"
	else
		fail "$3: no line matching '$2' in output:"
		cat "$T/$1.out" "$T/$1.log" 2>/dev/null | sed 's/^/    | /' | tail -20
	fi
}

expect_rc() {
	if [ "$RC" -eq "$2" ]; then
		pass "$3 (exit $RC)"
	else
		fail "$3: exit $RC, expected $2"
		cat "$T/$1.out" "$T/$1.log" 2>/dev/null | sed 's/^/    | /' | tail -20
	fi
}

# netns_taps NAME TAP...: a network namespace of the test's own (NS) holding
# the taps TAP..., up; removed at exit, with $T and the processes in PIDS.
# Skips where that cannot be made. in_ns CMD...: CMD run in it.
netns_taps() {
	local tap
	[ "$(id -u)" -eq 0 ] || skip "needs root for a network namespace and a tap"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun"
	command -v ip >/dev/null || skip "needs iproute2"
	NS="petrel-$1-$$"
	shift
	ip netns add "$NS" || skip "cannot create a network namespace"
	trap 'for p in ${PIDS[@]+"${PIDS[@]}"}; do kill -9 "$p" 2>/dev/null || true; done
	      ip netns del "$NS" 2>/dev/null; rm -rf "$T"' EXIT
	for tap in "$@"; do
		in_ns ip tuntap add dev "$tap" mode tap
		in_ns ip link set "$tap" up
	done
}
in_ns() { ip netns exec "$NS" "$@"; }
