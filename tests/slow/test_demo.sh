#!/usr/bin/env bash
# slow: on the host (scripts/demo.sh picks the test host VM itself)
# README's first command, as CI runs it: scripts/demo.sh --run types
# "uname -a; poweroff" into the Linux guest's shell. Through the test host
# VM (here, or wherever /dev/kvm cannot boot Linux), and directly where it
# can: the kernel's uname line comes back and the demo exits 0.
. "${PETREL_SRC:-$(dirname "$0")/../..}/tests/integration/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "the demo needs root (a network namespace and a tap)"
"$PETREL_SRC/tests/guest/build.sh" micro rootfs >/dev/null

# demo NAME MODE: the demo in MODE, its output in $T/NAME.out, status in RC
demo() {
	set +e
	PETREL_DEMO_MODE=$2 timeout -k 5 700 "$PETREL_SRC/scripts/demo.sh" \
		--run 'uname -a; poweroff' </dev/null >"$T/$1.out" 2>&1
	RC=$?
	set -e
	expect_line "$1" "^Linux petrel-demo [^ ]+ .* x86_64" "$1: uname -a ran in the guest's shell"
	expect_line "$1" "Linux booted in [0-9]+ ms" "$1: the boot time printed before the shell"
	expect_rc "$1" 0 "$1: poweroff in the guest ends the demo"
	grep -E "booted in|shell answered" "$T/$1.out" | sed 's/^/    /' || true
}

demo hostvm hostvm
if [ -e /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then
	demo direct direct
else
	echo "SKIP direct mode: /dev/kvm here cannot boot Linux (PVM-based or missing)"
fi
finish
