#!/usr/bin/env bash
# petrel's stdin reaches the guest's serial port: the probe echoes what it
# reads, and powers off when it reads the line "poweroff".
. "$(dirname "$0")/lib.sh"
need_kvm
probe=$(probe_elf)

write_config "$T/echo.json" "$probe" "probe.action=echo"
mkfifo "$T/in"
set +e
timeout -k 5 30 "$PETREL_BIN" --no-api --config-file "$T/echo.json" <"$T/in" >"$T/echo.out" 2>"$T/echo.log" &
pid=$!
exec 3>"$T/in"
for _ in $(seq 100); do grep -q "probe: echo ready" "$T/echo.out" && break; sleep 0.1; done
printf 'hello from the host\npoweroff\n' >&3
wait "$pid"; RC=$?
exec 3>&-
set -e
expect_line echo "^probe: echo ready" "probe waits for input"
expect_line echo "hello from the host" "typed line came back"
expect_rc echo 0 "poweroff typed on the console"
finish
