#!/usr/bin/env bash
# virtio-vsock with the probe's driver, configured through the API: PUT /vsock's
# errors name the field and a started VM refuses it; the host's CONNECT/OK
# handshake reaches a guest listener and 10 MiB come back whole through a slow
# host reader (flow control: petrel stops reading when the guest has no room);
# a port nobody listens on closes the host socket; a host peer that vanishes
# mid-stream resets the guest's connection and petrel serves on; the guest
# connects to the host's "<uds_path>_<port>" listener, and is refused where
# there is none; GET /vm/config and GET /metrics show the device.
. "$(dirname "$0")/vsock_lib.sh"

# Bad input: a 400 naming the field, and nothing configured.
start_petrel bad
expect_api 400 "vsock.guest_cid: expected an integer 3..4294967294, got 2" PUT /vsock \
	"{\"guest_cid\":2,\"uds_path\":\"$T/x.vsock\"}"
expect_api 400 'vsock: missing required field \"uds_path\"' PUT /vsock '{"guest_cid":3}'
expect_api 400 'vsock: missing required field \"guest_cid\"' PUT /vsock \
	"{\"uds_path\":\"$T/x.vsock\"}"
expect_api 400 'vsock: unknown field \"cid\"' PUT /vsock \
	"{\"cid\":3,\"guest_cid\":3,\"uds_path\":\"$T/x.vsock\"}"
expect_api 400 "vsock.uds_path: expected at most 96 bytes" PUT /vsock \
	"{\"guest_cid\":3,\"uds_path\":\"$T/$(printf 'x%.0s' $(seq 100))\"}"
expect_api 400 "vsock.guest_cid: expected an integer" PUT /vsock \
	"{\"guest_cid\":\"3\",\"uds_path\":\"$T/x.vsock\"}"
api GET /vm/config
grep -q '"vsock":{' <<<"$RESP" && fail "a refused PUT /vsock configured one: $RESP" ||
	pass "refused PUTs configure nothing"
# A uds_path where no socket can be made: the start says so, by the path.
expect_api 204 "" PUT /boot-source "{\"kernel_image_path\":\"$probe\"}"
expect_api 204 "" PUT /vsock "{\"guest_cid\":3,\"uds_path\":\"$T/nodir/v.sock\"}"
expect_api 400 "vsock: uds_path $T/nodir/v.sock: cannot listen there" PUT /actions \
	'{"action_type":"InstanceStart"}'
stop_petrel

# Host -> guest: the handshake, 10 MiB echoed through a reader slower than the guest.
vsock_boot echo "probe.action=vsock-echo probe.port=1234"
wait_line echo "^probe: vsock echo ready cid=3 port=1234" 20
expect_api 400 "not supported after starting" PUT /vsock \
	"{\"guest_cid\":4,\"uds_path\":\"$T/other.vsock\"}"
expect_api 200 "\"vsock\":{\"vsock_id\":\"vsock0\",\"guest_cid\":3,\"uds_path\":\"$T/echo.vsock\"}" \
	GET /vm/config
# The reader sleeps 2 ms per 4 KiB (at most 2 MB/s): the bound only proves no hang.
out=$(timeout 120 python3 "$peer" echo "$T/echo.vsock" 1234 $((10 << 20)) 2 2>&1) || true
grep -q "sent=10485760 got=10485760 sha_equal=1" <<<"$out" &&
	pass "10 MiB echoed through a slow reader, sha256 equal ($out)" || fail "echo: $out"
stalls=$(vsock_metric credit_stalls)
[ "${stalls:-0}" -gt 0 ] && pass "petrel left the host socket unread while the guest was full ($stalls stalls)" ||
	fail "no credit stall counted: the slow reader never held the guest back"
[ "$(vsock_metric credit_violations)" = 0 ] && pass "the probe never sent beyond its credit" ||
	fail "credit violations by a well-behaved guest"

# A port nobody listens on: the guest resets it, petrel closes the host socket.
out=$(vsock_send_line "$T/echo.vsock" $'CONNECT 999\n' 10)
[ "$out" = closed ] && pass "CONNECT to a closed guest port: the host socket is closed" ||
	fail "refused port: $out"
# Not a CONNECT line: closed as well.
out=$(vsock_send_line "$T/echo.vsock" $'HELLO 1234\n' 10)
[ "$out" = closed ] && pass "a bad handshake line closes the host socket" || fail "bad line: $out"

# A host peer that vanishes mid-stream: the guest gets an RST, petrel serves on.
timeout 20 python3 "$peer" vanish "$T/echo.vsock" 1234 300000 || true
wait_line echo "^probe: vsock reset by host port=[0-9]+" 20 &&
	pass "the guest's connection is reset when the host peer vanishes"
out=$(timeout 60 python3 "$peer" echo "$T/echo.vsock" 1234 100000 2>&1) || true
grep -q "sha_equal=1" <<<"$out" && pass "petrel serves new connections after it" ||
	fail "after the vanished peer: $out"
kill -0 "$PID" && pass "petrel is still running" || fail "petrel died"
[ "$(vsock_metric conns_added)" -ge 4 ] && pass "metrics count the connections" ||
	fail "conns_added: $(vsock_metric conns_added)"
stop_petrel
expect_rc echo 0 "petrel ends cleanly"

# Guest -> host: "<uds_path>_5000" echoes; nobody at _5001.
vsock_listen "$T/out.vsock_5000" echo 60 "$T/listen.out"
vsock_boot out "probe.action=vsock-connect probe.port=5000 probe.vsock_bytes=200000 probe.end=halt"
wait_line out "^probe: vsock connect " 60
expect_out out "^probe: vsock connect conns=1 ok=1 refused=0 bad=0 bytes=200000 " \
	"the guest connects to <uds_path>_5000 and 200000 bytes come back"
wait "$LPID" || true
grep -q "listen conns=1 bytes=200000" "$T/listen.out" && pass "the host listener saw them" ||
	fail "listener: $(cat "$T/listen.out")"
stop_petrel
vsock_boot refused "probe.action=vsock-connect probe.port=5001 probe.end=halt"
wait_line refused "^probe: vsock connect " 30
expect_out refused "^probe: vsock connect conns=1 ok=0 refused=1 " \
	"no listener at <uds_path>_5001: the guest's connection is reset"
[ "$(vsock_metric resets_sent)" -ge 1 ] && pass "the reset is counted" || fail "resets_sent: $(vsock_metric resets_sent)"
stop_petrel
finish
