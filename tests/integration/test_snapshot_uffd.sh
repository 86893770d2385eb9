#!/usr/bin/env bash
# Snapshots through the Uffd memory backend: a counting probe's snapshot restored
# with petrel-uffd-handler serving its memory goes on at the next tick, and again
# with the pages the first run recorded prefetched (the handler says how many
# faults it served and pages it prefetched: as many as it recorded); a socket nobody listens on is a
# 400 naming it and petrel can still load; a handler that takes the memory and never
# serves a fault leaves petrel answering and ending on SIGTERM.
. "$(dirname "$0")/api_lib.sh"
need_kvm
probe=$(probe_elf)
HANDLER=${PETREL_UFFD_HANDLER:-$(dirname "$PETREL_BIN")/examples/uffd/petrel-uffd-handler}
[ -x "$HANDLER" ] || skip "no $HANDLER (build petrel first)"
uffd_body() {	# SOCKET [EXTRA]
	echo "{\"snapshot_path\":\"$T/st\",\"mem_backend\":{\"backend_type\":\"Uffd\",\"backend_path\":\"$1\"}${2:+,$2}}"
}
# wait_file PATH: the handler's socket appears once it listens
wait_file() {
	for _ in $(seq 200); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	fail "$1 did not appear"
	return 1
}
# wait_pid PID SECONDS: until PID ends; 1 if it did not
wait_pid() {
	for _ in $(seq $(($2 * 20))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}

start_petrel src
expect_api 204 "" PUT /boot-source \
	"{\"kernel_image_path\":\"$probe\",\"boot_args\":\"console=ttyS0 probe.action=count\"}"
expect_api 204 "" PUT /machine-config '{"vcpu_count":2,"mem_size_mib":64}'
expect_api 204 "" PUT /actions '{"action_type":"InstanceStart"}'
wait_line src "^probe: tick 3$" 20
expect_api 204 "" PATCH /vm '{"state":"Paused"}'
sleep 0.3	# the console's last line reaches the file
last=$(grep -c "^probe: tick" "$T/src.out")
n1=$((last + 1)) n2=$((last + 2)) n3=$((last + 3))
expect_api 204 "" PUT /snapshot/create "{\"snapshot_path\":\"$T/st\",\"mem_file_path\":\"$T/mem\"}"
kill -9 "$PID"
wait "$PID" 2>/dev/null || true

# restore NAME HANDLER_ARGS...: the handler on $T/NAME.uffd, a new petrel loading
# through it, resumed; the first three ticks must be the ones after the source's last.
restore() {
	local name=$1 ticks
	shift
	"$HANDLER" "$@" "$T/$name.uffd" "$T/mem" 2>"$T/$name.handler.log" &
	HPID=$!
	PIDS+=("$HPID")
	wait_file "$T/$name.uffd" || return 1
	start_petrel "$name"
	expect_api 204 "" PUT /snapshot/load "$(uffd_body "$T/$name.uffd" '"resume_vm":true')"
	expect_api 200 '"state":"Running"' GET /
	wait_line "$name" "^probe: tick $n3$" 20
	ticks=$(grep "^probe: tick" "$T/$name.out" | head -3 | tr '\n' ' ')
	[ "$ticks" = "probe: tick $n1 probe: tick $n2 probe: tick $n3 " ] &&
		pass "$name: the probe goes on at tick $n1 through the handler: $ticks" ||
		fail "$name: after the restore: '$ticks' (expected ticks $n1, $n2, $n3)"
	grep -q "probe: action=count" "$T/$name.out" && fail "$name: the probe started again"
	stop_petrel
	[ "$RC" = 0 ] && pass "$name: petrel ends cleanly" || fail "$name: petrel exited $RC"
	wait_pid "$HPID" 10 && pass "$name: the handler ends with the VM" ||
		fail "$name: the handler is still running"
}

# served NAME: "FAULTS PAGES" from the line the handler writes as it ends.
served() {
	sed -n 's/^petrel-uffd-handler: served \([0-9]*\) faults, prefetched \([0-9]*\) pages$/\1 \2/p' \
		"$T/$1.handler.log"
}

restore rec --record "$T/pages"
[ -s "$T/pages" ] && pass "the handler recorded $(wc -l <"$T/pages") pages faulted in" ||
	fail "no page recorded"
read -r faults pages <<< "$(served rec)"
[ "${faults:-}" = "$(wc -l <"$T/pages")" ] && [ "$pages" = 0 ] &&
	pass "rec: the handler says it served the $faults faults it recorded, prefetched none" ||
	fail "rec: the handler says '$(served rec)' (recorded $(wc -l <"$T/pages") faults)"
restore pre --prefetch "$T/pages"
read -r faults pages <<< "$(served pre)"
unique=$(sort -u "$T/pages" | wc -l)
[ "${pages:-}" = "$unique" ] && [ -n "$faults" ] &&
	pass "pre: the handler says it prefetched the $unique pages listed, then served $faults faults" ||
	fail "pre: the handler says '$(served pre)' (listed $unique pages)"

# Nobody listens: a missing socket and one left behind by a handler that is gone.
start_petrel bad
expect_api 400 "$T/none.uffd" PUT /snapshot/load "$(uffd_body "$T/none.uffd")"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/stale.uffd"
expect_api 400 "mem_backend.backend_path: $T/stale.uffd: Connection refused" PUT /snapshot/load \
	"$(uffd_body "$T/stale.uffd")"
expect_api 200 '"state":"Not started"' GET /
"$HANDLER" "$T/bad.uffd" "$T/mem" 2>"$T/bad.handler.log" &
HPID=$!
PIDS+=("$HPID")
wait_file "$T/bad.uffd"
expect_api 204 "" PUT /snapshot/load "$(uffd_body "$T/bad.uffd" '"resume_vm":true')"
wait_line bad "^probe: tick $n1$" 20 && pass "after the refused loads, a good one runs"
stop_petrel
wait_pid "$HPID" 10 || fail "the handler is still running"

# A handler that takes the userfaultfd and never serves a fault: the vCPUs wait on
# their first fault, petrel itself does not. (The bounds only prove "does not hang".)
python3 - "$T/mute.uffd" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1] + ".tmp")
s.listen(1)
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = s.accept()
msg, anc, _, _ = c.recvmsg(4096, socket.CMSG_SPACE(4))
time.sleep(600)
PY
MPID=$!
PIDS+=("$MPID")
wait_file "$T/mute.uffd"
start_petrel mute
expect_api 204 "" PUT /snapshot/load "$(uffd_body "$T/mute.uffd" '"resume_vm":true')"
expect_api 200 '"state":"Running"' GET /
sleep 0.5
grep -q "^probe: tick" "$T/mute.out" && fail "a tick without its memory served" ||
	pass "the guest waits for its pages"
api PATCH /vm '{"state":"Paused"}'
[ -n "$CODE" ] && [ "$CODE" != 000 ] && pass "pause answered ($CODE) while the vCPUs wait" ||
	fail "pause did not answer"
expect_api 200 '"state"' GET /
kill -TERM "$PID"
wait_pid "$PID" 15 && pass "petrel ends on SIGTERM with its vCPUs waiting on faults" ||
	fail "petrel did not end on SIGTERM"
kill "$MPID" 2>/dev/null || true
wait "$MPID" 2>/dev/null || true
finish
