#!/usr/bin/env bash
# Helpers for the control API tests (sourced after lib.sh's setup): start
# petrel serving a socket in $T, talk to it with curl, check the answers.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v curl >/dev/null || skip "curl is needed for the API tests"

PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT
trap 'exit 143' TERM	# so that the EXIT trap stops the petrels of a test that is stopped
trap 'exit 130' INT

# start_petrel NAME [ARGS...]: petrel on $T/NAME.sock (SOCK; in $SOCK_DIR if set), the
# guest console in $T/NAME.out, petrel's log in $T/NAME.log, pid in PID
start_petrel() {
	local name=$1
	shift
	SOCK=${SOCK_DIR:-$T}/$name.sock
	"$PETREL_BIN" --api-sock "$SOCK" "$@" </dev/null >"$T/$name.out" 2>"$T/$name.log" &
	PID=$!
	PIDS+=("$PID")
	# The log line, not the path: a stale socket may already be there.
	for _ in $(seq 250); do
		grep -qs "API server listening on $SOCK " "$T/$name.log" && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.02
	done
	fail "$name: petrel did not create $SOCK"
	output "$name" | sed 's/^/    | /' | tail -10
	return 1
}

# output NAME: what petrel NAME printed, console and log
output() {
	local f
	for f in "$T/$1.out" "$T/$1.log"; do
		[ ! -f "$f" ] || cat "$f"
	done
}

# expect_out NAME REGEX DESCRIPTION: a line of the console or the log matches
expect_out() {
	if output "$1" | grep -E -- "$2" >/dev/null; then
		pass "$3"
	else
		fail "$3: no line matching '$2' in:"
		output "$1" | sed 's/^/    | /' | tail -10
	fi
}

# stop_petrel: SIGTERM, then RC is its exit status
stop_petrel() {
	kill -TERM "$PID" 2>/dev/null || true
	wait_exit
}

# wait_exit [SECONDS]: wait for PID to end (killed after SECONDS, default 10); RC
wait_exit() {
	local i
	for i in $(seq $((${1:-10} * 20))); do
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$PID" 2>/dev/null && kill -9 "$PID"
	set +e
	wait "$PID"
	RC=$?
	set -e
}

# api METHOD PATH [BODY]: the status in CODE, the answer in RESP
api() {
	local args=(-s -o "$T/resp" -w '%{http_code}' --max-time 20 --unix-socket "$SOCK" -X "$1")
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	CODE=$(curl "${args[@]}" "http://localhost$2") || true
	RESP=$(cat "$T/resp" 2>/dev/null || true)
}

# expect_api STATUS WORD METHOD PATH [BODY]: the status, and WORD (if not empty) in
# the answer; a 4xx/5xx answer must be a JSON fault_message.
expect_api() {
	local status=$1 word=$2
	shift 2
	api "$@"
	if [ "$CODE" != "$status" ]; then
		fail "$1 $2: HTTP $CODE, expected $status: $RESP"
	elif [ "$status" -ge 400 ] && ! grep -q '^{"fault_message":".*"}$' <<<"$RESP"; then
		fail "$1 $2: $status without a fault_message: $RESP"
	elif [ -n "$word" ] && ! grep -qF -- "$word" <<<"$RESP"; then
		fail "$1 $2: the answer lacks '$word': ${RESP:0:300}"
	else
		pass "$1 $2 -> $status${word:+: $word}"
	fi
}

# wait_line NAME REGEX [SECONDS]: until the output has a matching line
wait_line() {
	local i
	for i in $(seq $((${3:-10} * 20))); do
		output "$1" | grep -E -- "$2" >/dev/null && return 0
		sleep 0.05
	done
	fail "$1: no line matching '$2' after ${3:-10} s"
	output "$1" | sed 's/^/    | /' | tail -10
	return 1
}

# raw_http PYTHON: run a Python snippet with s (a socket connected to SOCK)
raw_http() {
	python3 -c "
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
$1" "$SOCK"
}

# load_body STATE MEM [EXTRA]: a PUT /snapshot/load body for the state file STATE
# and the memory file MEM, with EXTRA's fields
load_body() {
	echo "{\"snapshot_path\":\"$1\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$2\"}${3:+,$3}}"
}
