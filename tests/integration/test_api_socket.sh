#!/usr/bin/env bash
# The API socket's path: a second petrel on a live socket refuses to start
# (naming the path) and leaves the first alone; a stale socket is replaced;
# a file that is not a socket is kept and refused; the path goes at exit,
# whether petrel is signalled or the guest powers off.
. "$(dirname "$0")/api_lib.sh"
need_kvm
probe=$(probe_elf)

start_petrel first
first=$PID
run_petrel second 10 --api-sock "$SOCK"
expect_rc second 1 "a second petrel on a live socket"
expect_out second "API socket $SOCK: another server answers there" "the refusal names the path"
expect_api 200 '"state":"Not started"' GET /
PID=$first
stop_petrel
[ ! -e "$SOCK" ] && pass "SIGTERM: the socket is removed" || fail "socket left behind"

# A socket nobody listens on, as a killed petrel leaves it.
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/stale.sock"
[ -S "$T/stale.sock" ] || fail "could not make a stale socket"
start_petrel stale
expect_api 200 '"state":"Not started"' GET /
expect_out stale "API socket $T/stale.sock: replacing a stale socket" "a stale socket is replaced"
kill -9 "$PID"
wait_exit
[ -S "$SOCK" ] && pass "SIGKILL leaves the socket" || fail "no socket after SIGKILL"
start_petrel stale2
expect_api 200 '"state":"Not started"' GET /
stop_petrel

echo keep >"$T/file.sock"
run_petrel file 10 --api-sock "$T/file.sock"
expect_rc file 1 "a path that is a regular file"
expect_out file "API socket $T/file.sock: exists and is not a socket" "the refusal says why"
[ "$(cat "$T/file.sock")" = keep ] && pass "the file is untouched" || fail "the file changed"

run_petrel long 10 --api-sock "$T/$(printf 'a%.0s' $(seq 120)).sock"
expect_rc long 1 "a socket path longer than sun_path"
expect_out long "the path must be 1\.\.107 bytes" "the refusal gives the limit"

# The guest powers off: petrel exits 0 and removes the socket.
write_config "$T/vm.json" "$probe" "console=ttyS0 probe.action=poweroff"
run_petrel withfile 30 --api-sock "$T/withfile.sock" --config-file "$T/vm.json"
expect_rc withfile 0 "API and --config-file: the file's VM boots and powers off"
expect_out withfile '^probe: action=poweroff' "the config file's guest ran"
[ ! -e "$T/withfile.sock" ] && pass "poweroff: the socket is removed" || fail "socket left behind"

# With --config-file, the API stays up while the file's VM runs.
write_config "$T/halt.json" "$probe" "console=ttyS0 probe.action=halt"
start_petrel halt --config-file "$T/halt.json"
wait_line halt '^probe: halting$'
expect_api 200 '"state":"Running"' GET /
expect_api 200 '"kernel_image_path":"' GET /vm/config
stop_petrel
finish
