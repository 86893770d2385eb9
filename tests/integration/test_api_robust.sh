#!/usr/bin/env bash
# The API under load and misbehaving clients: 10,000 GET / leave petrel's fd
# count and RSS where they were; a client that leaves mid-body, or stalls
# mid-request, never stops the VM and the next client is served; an idle
# keep-alive client keeps its connection beside others; pipelined requests
# and Expect: 100-continue work.
. "$(dirname "$0")/api_lib.sh"
need_kvm
command -v python3 >/dev/null || skip "python3 is needed for raw HTTP clients"
probe=$(probe_elf)
RSS_SLACK_KB=256	# allocator noise; a leak of one allocation per request is 10,000 of them

fd_count() { ls "/proc/$PID/fd" | wc -l; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status"; }
ticks() { grep -c '^probe: tick' "$T/$1.out" || true; }

# 100 connections of 100 keep-alive GET / each: how many were answered 200.
get_many() {
	local i ok=0 n
	for i in $(seq "$1"); do
		n=$(curl -s --unix-socket "$SOCK" -w '\n%{http_code}\n' \
			"http://localhost/?[1-100]" | grep -c '^200$' || true)
		ok=$((ok + n))
	done
	echo "$ok"
}

start_petrel load
expect_api 204 "" PUT /boot-source \
	"{\"kernel_image_path\": \"$probe\", \"boot_args\": \"console=ttyS0 probe.action=count probe.ticks=900\"}"
expect_api 204 "" PUT /actions '{"action_type": "InstanceStart"}'
get_many 5 >/dev/null
fds=$(fd_count)
rss=$(rss_kb)
start=$(date +%s%N)
ok=$(get_many 100)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ok" -eq 10000 ] && pass "10,000 GET / answered 200 ($ms ms, 100 connections)" ||
	fail "only $ok of 10,000 GET / answered 200"
[ "$(fd_count)" -eq "$fds" ] && pass "fd count unchanged ($fds)" ||
	fail "fd count $fds -> $(fd_count)"
grow=$(( $(rss_kb) - rss ))
if grep -q libasan "/proc/$PID/maps"; then
	pass "VmRSS +${grow} kB: not checked under AddressSanitizer (its quarantine keeps freed memory)"
elif [ "$grow" -le "$RSS_SLACK_KB" ]; then
	pass "VmRSS ${rss} kB -> +${grow} kB (slack $RSS_SLACK_KB)"
else
	fail "VmRSS grew by $grow kB over 10,000 requests"
fi

# A client that leaves mid-body: nothing applied, the next one served at once.
raw_http 's.sendall(b"PUT /boot-source HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"kern"); s.close()'
expect_api 200 '"state":"Running"' GET /
expect_api 200 'probe.action=count' GET /vm/config

# Pipelined requests in one write, answered in order.
raw_http '
s.sendall(b"GET /version HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.decode())' >"$T/pipe.out"
if [ "$(grep -o 'HTTP/1.1 200 OK' "$T/pipe.out" | wc -l)" -eq 2 ] &&
   grep -q 'firecracker_version.*"state":"Running"' <(tr -d '\r\n' <"$T/pipe.out"); then
	pass "two pipelined requests, two answers in order"
else
	fail "pipelining: $(cat "$T/pipe.out")"
fi

# Expect: 100-continue gets its interim answer.
body=$(printf '{"mem_size_mib": 64%2000s}' '')
curl -sv --unix-socket "$SOCK" -X PATCH -H 'Expect: 100-continue' \
	-H 'Content-Type: application/json' --data-binary "$body" \
	http://localhost/machine-config >"$T/expect.out" 2>&1 || true
grep -q '< HTTP/1.1 100 Continue' "$T/expect.out" && grep -q '< HTTP/1.1 400' "$T/expect.out" &&
	pass "Expect: 100-continue, then the answer (400: after boot)" ||
	fail "expect: $(grep '^<' "$T/expect.out")"

# An idle keep-alive client keeps its connection while others are served,
# and its next request on it is answered.
mkfifo "$T/idle.fifo"
raw_http '
s.sendall(b"GET / HTTP/1.1\r\n\r\n")
s.recv(4096)
print("answered", flush=True)
s.settimeout(10)
sys.stdin.readline()
s.sendall(b"GET /version HTTP/1.1\r\n\r\n")
print("again" if b"firecracker_version" in s.recv(4096) else "closed", flush=True)' \
	<"$T/idle.fifo" >"$T/idle.out" 2>&1 &
idle=$!
exec 3>"$T/idle.fifo"
for _ in $(seq 100); do grep -q answered "$T/idle.out" && break; sleep 0.05; done
t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 10 --unix-socket "$SOCK" http://localhost/)
awk -v t="$t" 'BEGIN { exit !(t < 1) }' && pass "another client served beside an idle one (${t} s)" ||
	fail "the next client waited ${t} s beside an idle one"
echo >&3
exec 3>&-
wait "$idle" || true
grep -q again "$T/idle.out" && pass "the idle client kept its connection and was answered again" ||
	fail "idle client: $(cat "$T/idle.out")"
stop_petrel

# A client stalled mid-request: the VM runs on, the next client is served,
# and the guest's end still ends petrel.
start_petrel stall
expect_api 204 "" PUT /boot-source \
	"{\"kernel_image_path\": \"$probe\", \"boot_args\": \"console=ttyS0 probe.action=count probe.ticks=80\"}"
expect_api 204 "" PUT /actions '{"action_type": "InstanceStart"}'
wait_line stall '^probe: tick 2$'
# Each stalled client ends when petrel closes its connection.
stall='s.sendall(b"GET / HT"); print("sent", flush=True); s.settimeout(30); s.recv(1)'
raw_http "$stall" >"$T/stalled.out" 2>&1 &
stalled=$!
for _ in $(seq 200); do grep -q sent "$T/stalled.out" && break; sleep 0.05; done
sleep 0.2
before=$(ticks stall)
t=$(curl -s -o "$T/resp" -w '%{time_total}' --max-time 15 --unix-socket "$SOCK" http://localhost/)
sleep 3		# the stalled client is still open: petrel closes it at 5 s
after=$(ticks stall)
grep -q '"state":"Running"' "$T/resp" && awk -v t="$t" 'BEGIN { exit !(t < 1) }' &&
	pass "the next client was served beside the stall (${t} s)" ||
	fail "no prompt answer beside a stalled client (${t} s): $(cat "$T/resp")"
[ "$after" -ge $((before + 20)) ] && pass "the VM ticked on meanwhile ($before -> $after)" ||
	fail "the VM stalled with the client: ticks $before -> $after"
raw_http "$stall" >/dev/null 2>&1 &
stalled2=$!
wait_exit 20
expect_rc stall 0 "the guest powered off with a client stalled mid-request"
expect_out stall '^probe: tick 80$' "all the ticks"
wait "$stalled" "$stalled2" || true
finish
