#!/usr/bin/env bash
# A person can type into the guest's shell: "echo hello" over petrel's stdin
# prints hello on the console; "reboot -f" then ends the VM with exit 0.
. "${PETREL_SRC:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$PETREL_SRC/tests/slow/linux.sh"
need_kvm
need_guest micro-bzImage micro-initrd.cpio.gz
linux_config "$T/sh.json" "$PETREL_GUEST_DIR/micro-bzImage" \
	"$PETREL_GUEST_DIR/micro-initrd.cpio.gz" 1 "console=ttyS0 reboot=k panic=1"
mkfifo "$T/in"
set +e
timeout -k 5 300 "$PETREL_BIN" --no-api --config-file "$T/sh.json" <"$T/in" >"$T/sh.out" 2>"$T/sh.log" &
pid=$!
exec 3>"$T/in"
for _ in $(seq 600); do grep -q "petrel-guest: init started" "$T/sh.out" && break; sleep 0.5; done
sleep 2
printf 'echo hel""lo\n' >&3
for _ in $(seq 60); do grep -q "^hello" "$T/sh.out" && break; sleep 0.5; done
printf 'reboot -f\n' >&3
wait "$pid"; RC=$?
exec 3>&-
set -e
expect_line sh "petrel-guest: init started" "shell guest reached init"
expect_line sh "^hello" "typed command ran in the guest shell"
expect_rc sh 0 "reboot from the shell ends petrel"
finish
