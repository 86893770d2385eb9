#!/usr/bin/env bash
# 1000 vsock connections open at once on one VM: every handshake completes
# before any data moves, each connection's message comes back on it alone,
# and petrel counts them all; then a hostile guest (wrong cids, an unknown
# op and type, lengths its chains lack, bytes beyond the credit given) is
# counted and reset, never served, and the device keeps working.
. "$(dirname "$0")/vsock_lib.sh"

[ "$(ulimit -Hn)" -ge 1200 ] || skip "the open file limit ($(ulimit -Hn)) is below 1200"
ulimit -n "$(ulimit -Hn)"

vsock_boot many "probe.action=vsock-echo probe.port=1234"
wait_line many "^probe: vsock echo ready" 20
# The bound only proves no hang: 1000 handshakes through the emulated probe.
out=$(timeout 240 python3 "$peer" many "$T/many.vsock" 1234 1000 2>&1) || true
grep -q "many ok=1000 open=1000" <<<"$out" &&
	pass "1000 connections open at once, each echoed its own message" || fail "many: $out"
wait_line many "^probe: vsock idle accepted=1000 " 60 && pass "the guest accepted all 1000"
[ "$(vsock_metric conns_added)" = 1000 ] && pass "conns_added=1000" ||
	fail "conns_added: $(vsock_metric conns_added)"
[ "$(vsock_metric conns_removed)" = 1000 ] && pass "all 1000 removed once closed" ||
	fail "conns_removed: $(vsock_metric conns_removed)"
stop_petrel
expect_rc many 0 "petrel ends cleanly"

# Hostile: its port's host reader accepts and never reads.
vsock_listen "$T/hostile.vsock_7000" noread 120 "$T/listen.out"
vsock_boot hostile "probe.action=vsock-hostile probe.port=7000 probe.end=halt"
wait_line hostile "^probe: vsock hostile alive=" 120
expect_out hostile "^probe: vsock hostile strays=2$" \
	"an unknown op and a seqpacket request are reset, the wrong cids dropped unanswered"
expect_out hostile "^probe: vsock hostile credit reset=1 " \
	"bytes beyond the credit given reset the connection"
expect_out hostile "^probe: vsock hostile alive=1$" "the device serves a new connection after"
[ "$(vsock_metric malformed_packets)" -ge 6 ] && pass "malformed packets counted ($(vsock_metric malformed_packets))" ||
	fail "malformed_packets: $(vsock_metric malformed_packets)"
[ "$(vsock_metric credit_violations)" = 1 ] && pass "one credit violation counted" ||
	fail "credit_violations: $(vsock_metric credit_violations)"
[ "$(vsock_metric queue_errors)" = 0 ] && pass "the device was never failed" ||
	fail "queue_errors: $(vsock_metric queue_errors)"
kill -0 "$PID" && pass "petrel is still running" || fail "petrel died"
stop_petrel
expect_rc hostile 0 "petrel ends cleanly"
kill "$LPID" 2>/dev/null || true
finish
