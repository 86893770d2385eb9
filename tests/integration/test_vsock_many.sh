#!/usr/bin/env bash
# 1000 vsock connections open at once on one VM: every handshake completes
# before any data moves, each connection's message comes back on it alone,
# and petrel counts them all; then a hostile guest (wrong cids, an unknown
# op and type, lengths its chains lack, bytes beyond the credit given) is
# counted and reset, never served, and the device keeps working.
. "$(dirname "$0")/api_lib.sh"
need_kvm
command -v python3 >/dev/null || skip "needs python3 for the host's end"
probe=$(probe_elf)
peer="$PETREL_SRC/tests/guest/probe/vsock_peer.py"

# boot NAME BOOT_ARGS
boot() {
	start_petrel "$1" || return 1
	expect_api 204 "" PUT /boot-source \
		"{\"kernel_image_path\":\"$probe\",\"boot_args\":\"console=ttyS0 $2\"}"
	expect_api 204 "" PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$T/$1.vsock\"}"
	expect_api 204 "" PUT /actions '{"action_type":"InstanceStart"}'
}

metric() {
	api GET /metrics
	awk -v m="petrel_vsock_$1" '$1 == m { print $2 }' <<<"$RESP"
}

[ "$(ulimit -Hn)" -ge 1200 ] || skip "the open file limit ($(ulimit -Hn)) is below 1200"
ulimit -n "$(ulimit -Hn)"

boot many "probe.action=vsock-echo probe.port=1234"
wait_line many "^probe: vsock echo ready" 20
# The bound only proves no hang: 1000 handshakes through the emulated probe.
out=$(timeout 240 python3 "$peer" many "$T/many.vsock" 1234 1000 2>&1) || true
grep -q "many ok=1000 open=1000" <<<"$out" &&
	pass "1000 connections open at once, each echoed its own message" || fail "many: $out"
wait_line many "^probe: vsock idle accepted=1000 " 60 && pass "the guest accepted all 1000"
[ "$(metric conns_added)" = 1000 ] && pass "conns_added=1000" ||
	fail "conns_added: $(metric conns_added)"
[ "$(metric conns_removed)" = 1000 ] && pass "all 1000 removed once closed" ||
	fail "conns_removed: $(metric conns_removed)"
stop_petrel
expect_rc many 0 "petrel ends cleanly"

# Hostile: its port's host reader accepts and never reads.
python3 "$peer" listen "$T/hostile.vsock_7000" noread 120 >"$T/listen.out" 2>&1 &
lpid=$!
PIDS+=("$lpid")
for _ in $(seq 100); do grep -q listening "$T/listen.out" && break; sleep 0.05; done
boot hostile "probe.action=vsock-hostile probe.port=7000 probe.end=halt"
wait_line hostile "^probe: vsock hostile alive=" 120
expect_out hostile "^probe: vsock hostile strays=2$" \
	"an unknown op and a seqpacket request are reset, the wrong cids dropped unanswered"
expect_out hostile "^probe: vsock hostile credit reset=1 " \
	"bytes beyond the credit given reset the connection"
expect_out hostile "^probe: vsock hostile alive=1$" "the device serves a new connection after"
[ "$(metric malformed_packets)" -ge 6 ] && pass "malformed packets counted ($(metric malformed_packets))" ||
	fail "malformed_packets: $(metric malformed_packets)"
[ "$(metric credit_violations)" = 1 ] && pass "one credit violation counted" ||
	fail "credit_violations: $(metric credit_violations)"
[ "$(metric queue_errors)" = 0 ] && pass "the device was never failed" ||
	fail "queue_errors: $(metric queue_errors)"
kill -0 "$PID" && pass "petrel is still running" || fail "petrel died"
stop_petrel
expect_rc hostile 0 "petrel ends cleanly"
kill "$lpid" 2>/dev/null || true
finish
