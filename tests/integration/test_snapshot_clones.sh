#!/usr/bin/env bash
# Clones: one counting probe snapshotted after a few ticks, then 50 petrels started at
# once, each on its own API socket, load it from the File backend with resume_vm. Every
# clone goes on at the next tick; the memory file's pages are shared among them (each
# clone's PSS is far below guest RAM); each ends with exit 0 on SIGTERM.
. "$(dirname "$0")/api_lib.sh"
need_kvm
probe=$(probe_elf)
N=50
MEM_MIB=128

start_petrel src
expect_api 204 "" PUT /boot-source \
	"{\"kernel_image_path\":\"$probe\",\"boot_args\":\"console=ttyS0 probe.action=count\"}"
expect_api 204 "" PUT /machine-config "{\"vcpu_count\":1,\"mem_size_mib\":$MEM_MIB}"
expect_api 204 "" PUT /actions '{"action_type":"InstanceStart"}'
wait_line src "^probe: tick 3$" 20
expect_api 204 "" PATCH /vm '{"state":"Paused"}'
last=$(grep -c "^probe: tick" "$T/src.out")
next=$((last + 1))
expect_api 204 "" PUT /snapshot/create "{\"snapshot_path\":\"$T/st\",\"mem_file_path\":\"$T/mem\"}"
kill -9 "$PID"
wait "$PID" 2>/dev/null || true

# All started before any loads: each its own socket, console and log.
declare -A CPID
for i in $(seq $N); do
	"$PETREL_BIN" --api-sock "$T/c$i.sock" </dev/null >"$T/c$i.out" 2>"$T/c$i.log" &
	CPID[$i]=$!
	PIDS+=("$!")
done
for i in $(seq $N); do
	# Generous: 50 petrels starting on a shared 2-core machine; proves "does not hang".
	for _ in $(seq 600); do
		grep -q "API server listening on $T/c$i.sock " "$T/c$i.log" && break
		kill -0 "${CPID[$i]}" 2>/dev/null || break
		sleep 0.05
	done
done
body="{\"snapshot_path\":\"$T/st\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$T/mem\"},\"resume_vm\":true}"
LPIDS=()
for i in $(seq $N); do
	curl -s -o "$T/c$i.resp" -w '%{http_code}' --max-time 60 --unix-socket "$T/c$i.sock" \
		-X PUT -H 'Content-Type: application/json' --data-binary "$body" \
		http://localhost/snapshot/load >"$T/c$i.code" &
	LPIDS+=("$!")
done
for p in "${LPIDS[@]}"; do
	wait "$p" || true
done
bad=0
for i in $(seq $N); do
	[ "$(cat "$T/c$i.code")" = 204 ] || { bad=$((bad + 1)); echo "    | clone $i: $(cat "$T/c$i.code") $(cat "$T/c$i.resp")"; }
done
[ $bad = 0 ] && pass "all $N loads answered 204" || fail "$bad of $N loads failed"

# Each clone's first tick is the next one; give them all time to print it. The probe
# spins between ticks: a clone that has printed is paused, to leave the CPUs to the rest.
for i in $(seq $N); do
	for _ in $(seq 600); do
		grep -q "^probe: tick $next$" "$T/c$i.out" && break
		sleep 0.05
	done
	SOCK=$T/c$i.sock
	api PATCH /vm '{"state":"Paused"}'
done
bad=0
for i in $(seq $N); do
	first=$(grep -m1 "^probe: tick" "$T/c$i.out" || true)
	[ "$first" = "probe: tick $next" ] || { bad=$((bad + 1)); echo "    | clone $i began at '$first'"; }
	grep -q "probe: action=count" "$T/c$i.out" && { bad=$((bad + 1)); echo "    | clone $i restarted"; }
done
[ $bad = 0 ] && pass "every clone goes on at tick $next, none restarts" ||
	fail "$bad clone(s) did not go on at tick $next"

# Proves sharing: a private copy of the memory file would be guest RAM's size, and the
# probe writes only a few pages; the shared ones are split among the clones.
limit=$((MEM_MIB * 1024 / 4))
bad=0 max=0
for i in $(seq $N); do
	pss=$(awk '/^Pss:/ { print $2 }' "/proc/${CPID[$i]}/smaps_rollup" 2>/dev/null || echo 999999)
	[ "$pss" -gt "$max" ] && max=$pss
	[ "$pss" -lt "$limit" ] || { bad=$((bad + 1)); echo "    | clone $i: PSS $pss KiB"; }
done
[ $bad = 0 ] && pass "each clone's PSS is below a quarter of guest RAM (largest $max KiB)" ||
	fail "$bad clone(s) with PSS of $limit KiB or more"

for i in $(seq $N); do
	kill -TERM "${CPID[$i]}" 2>/dev/null || true
done
bad=0
for i in $(seq $N); do
	PID=${CPID[$i]}
	wait_exit 20
	[ "$RC" = 0 ] || { bad=$((bad + 1)); echo "    | clone $i: exit $RC"; tail -3 "$T/c$i.log"; }
done
[ $bad = 0 ] && pass "all $N clones exit 0 on SIGTERM" || fail "$bad clone(s) did not exit 0"
finish
