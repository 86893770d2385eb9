#!/usr/bin/env bash
# The API under load (tests/load/apiload.c): 50 clients at once, half with a
# keep-alive connection and half with a connection per request, 20,000
# requests in all (GET /, /machine-config, /vm/config, /metrics, PATCH /vm
# Paused and Resumed, requests refused with 400), while the probe guest boots
# and is paused and resumed over and over: every request gets a whole,
# well-formed answer its request allows, none is lost, none is 5xx. No
# connection is left open afterwards, and a second such load on the running
# VM leaves petrel's fd count and RSS where they were.
. "$(dirname "$0")/api_lib.sh"
need_kvm
apiload=${PETREL_APILOAD:-$PETREL_SRC/build/tests/apiload}
[ -x "$apiload" ] || skip "no load client at $apiload (build the tests)"
probe=$(probe_elf)
# Allocator noise; a leak of one 32-byte allocation per request is 625 kB.
RSS_SLACK_KB=512

fd_count() { ls "/proc/$PID/fd" | wc -l; }
socket_count() { find "/proc/$PID/fd" -lname 'socket:*' | wc -l; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status"; }
ticks() { grep -c '^probe: tick' "$T/load.out" || true; }

# settle COUNT_FN WANT: until COUNT_FN prints WANT (petrel closes its side of
# connections as it sees them end), at most 5 s; prints the last count
settle() {
	local n
	for _ in $(seq 100); do
		n=$($1)
		[ "$n" -eq "$2" ] && break
		sleep 0.05
	done
	echo "$n"
}

# load NAME: 20,000 requests from 50 clients; the summary in $T/NAME.sum
load() {
	"$apiload" -c 50 -n 20000 -k mixed -m all "$SOCK" >"$T/$1.sum" 2>"$T/$1.err"
}

# check_load NAME RC: every request answered as allowed, no 5xx
check_load() {
	local summary
	summary=$(grep '^requests' "$T/$1.sum" || true)
	if [ "$2" -eq 0 ] && grep -q '^requests 20000 answered 20000 ' "$T/$1.sum"; then
		pass "$1: 20,000 requests from 50 clients, each answered as allowed ($summary)"
	else
		fail "$1: not every request was answered as allowed (exit $2): $summary"
		sed 's/^/    | /' "$T/$1.sum" "$T/$1.err" | head -30
	fi
	grep -q '^status 5' "$T/$1.sum" && fail "$1: 5xx answers: $(grep '^status 5' "$T/$1.sum")" ||
		pass "$1: no 5xx"
}

start_petrel load
# The allocator's high-water mark with 50 clients, before anything is measured.
"$apiload" -c 50 -n 2000 -k mixed -m all "$SOCK" >"$T/warm.sum" 2>&1 ||
	fail "warm-up: $(grep '^requests' "$T/warm.sum")"
sockets=$(settle socket_count 1)
[ "$sockets" -eq 1 ] || fail "after the warm-up, $sockets sockets (the listening one expected)"

# The guest boots while the load runs; its PATCH /vm requests pause and resume it.
set +e
load boot &
loader=$!
expect_api 204 "" PUT /boot-source \
	"{\"kernel_image_path\": \"$probe\", \"boot_args\": \"console=ttyS0 probe.action=count probe.ticks=0\"}"
expect_api 204 "" PUT /actions '{"action_type": "InstanceStart"}'
wait "$loader"
rc=$?
set -e
check_load boot "$rc"
paused=$(awk '$1 == "status" && $2 == 204 { print $3 }' "$T/boot.sum")
[ "${paused:-0}" -gt 0 ] && pass "boot: $paused PATCH /vm applied to the running VM during the load" ||
	fail "boot: the VM was never paused or resumed during the load"
n=$(settle socket_count "$sockets")
[ "$n" -eq "$sockets" ] && pass "boot: no connection left open ($n socket)" ||
	fail "boot: $sockets sockets before the load, $n after"

# The same load on the running VM: fds and RSS unchanged.
expect_api 204 "" PATCH /vm '{"state": "Resumed"}'
fds=$(fd_count)
rss=$(rss_kb)
set +e
load running
rc=$?
set -e
check_load running "$rc"
n=$(settle fd_count "$fds")
[ "$n" -eq "$fds" ] && pass "running: fd count unchanged ($fds)" || fail "running: fd count $fds -> $n"
grow=$(( $(rss_kb) - rss ))
if grep -q libasan "/proc/$PID/maps"; then
	pass "VmRSS +${grow} kB: not checked under AddressSanitizer (its quarantine keeps freed memory)"
elif [ "$grow" -le "$RSS_SLACK_KB" ]; then
	pass "running: VmRSS ${rss} kB -> +${grow} kB (slack $RSS_SLACK_KB)"
else
	fail "running: VmRSS grew by $grow kB over 20,000 requests"
fi

# The guest ran through it all and runs on.
expect_api 204 "" PATCH /vm '{"state": "Resumed"}'
expect_api 200 '"state":"Running"' GET /
before=$(ticks)
sleep 0.5
[ "$(ticks)" -gt "$before" ] && pass "the guest ticks on after the loads ($before -> $(ticks))" ||
	fail "the guest stopped ticking ($before)"
stop_petrel
expect_rc load 0 "SIGTERM after the loads: a clean exit"
finish
