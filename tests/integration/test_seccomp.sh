#!/usr/bin/env bash
# Seccomp: every thread of a running VM is filtered (API and config-file
# modes); probe boots driving block (Sync and Async), entropy and net, and
# an API session (drive patched after boot, pause, resume, metrics), all
# work under the filters; each thread kind's filter really kills (exit 148,
# the log names the syscall, seccomp.num_faults in the metrics); a user
# filter in JSON is taken, and a bad one refused naming the field.
. "$(dirname "$0")/api_lib.sh"
need_kvm
probe=$(probe_elf)

# no_faults NAME: petrel NAME's log has no trapped syscall
no_faults() {
	if grep -q "forbidden syscall" "$T/$1.log"; then
		fail "$1: a syscall was trapped: $(grep "forbidden syscall" "$T/$1.log")"
	else
		pass "$1: no syscall trapped"
	fi
}

# all_filtered NAME PID MIN: each of PID's threads (at least MIN) shows Seccomp: 2
all_filtered() {
	local n=0 bad="" t
	for t in /proc/"$2"/task/*; do
		n=$((n + 1))
		grep -q "^Seccomp:[[:space:]]*2$" "$t/status" || bad+=" $(cat "$t/comm")"
	done
	if [ -z "$bad" ] && [ "$n" -ge "$3" ]; then
		pass "$1: all $n threads filtered ($(cat /proc/"$2"/task/*/comm | sort -u | tr '\n' ' '))"
	else
		fail "$1: $n threads, unfiltered:${bad:- none}"
	fi
}

# running NAME PID: wait until the probe ticks, i.e. the VM runs
running() {
	wait_line "$1" '^probe: tick 2$' 10
}

# vm_json NAME BOOT_ARGS [MORE_JSON]
vm_json() {
	cat > "$T/$1.json" <<JSON
{ "boot-source": { "kernel_image_path": "$probe", "boot_args": "console=ttyS0 $2" },
  "machine-config": { "vcpu_count": 2, "mem_size_mib": 128 }${3:+, $3} }
JSON
}

# ---- config-file mode: every thread filtered while the VM runs ----
truncate -s 4M "$T/d.img"
vm_json file "probe.action=count probe.ticks=30" \
	"\"drives\": [{ \"drive_id\": \"d\", \"path_on_host\": \"$T/d.img\", \"is_root_device\": false, \"io_engine\": \"Async\" }], \"entropy\": {}"
"$PETREL_BIN" --no-api --config-file "$T/file.json" </dev/null >"$T/file.out" 2>"$T/file.log" &
PID=$!
PIDS+=("$PID")
running file && all_filtered "config file" "$PID" 3
wait_exit 10
expect_rc file 0 "config file: the guest powers off"
no_faults file

# ---- the device back ends under the filters ----
for engine in Sync Async; do
	truncate -s 16M "$T/$engine.img"
	vm_json "$engine" "probe.action=blk probe.blk_mib=4 probe.blk_ms=100" \
		"\"drives\": [{ \"drive_id\": \"scratch\", \"path_on_host\": \"$T/$engine.img\", \"is_root_device\": false, \"cache_type\": \"Writeback\", \"io_engine\": \"$engine\" }]"
	run_petrel "$engine" 60 --no-api --config-file "$T/$engine.json"
	expect_line "$engine" "^probe: blk verify ok\$" "block $engine: written and read back"
	expect_line "$engine" "^probe: blk flush ok\$" "block $engine: flushed"
	expect_rc "$engine" 0 "block $engine: powers off"
	no_faults "$engine"
done
vm_json rng "probe.action=rng probe.rng_kib=64" '"entropy": {}'
run_petrel rng 60 --no-api --config-file "$T/rng.json"
expect_line rng "^probe: rng bytes=65536 " "entropy: 64 KiB read"
expect_rc rng 0 "entropy: powers off"
no_faults rng

if [ "$(id -u)" -eq 0 ] && [ -c /dev/net/tun ] && command -v ip >/dev/null &&
   ns="petrel-sc-$$" && ip netns add "$ns" 2>/dev/null; then
	trap 'ip netns del "$ns" 2>/dev/null; for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT
	ip netns exec "$ns" ip tuntap add dev sctap0 mode tap
	ip netns exec "$ns" ip link set sctap0 up
	vm_json net "probe.action=net probe.net_count=200 probe.net_size=600" \
		'"network-interfaces": [{ "iface_id": "eth0", "host_dev_name": "sctap0" }]'
	set +e
	ip netns exec "$ns" timeout -k 5 60 "$PETREL_BIN" --no-api --config-file "$T/net.json" \
		</dev/null >"$T/net.out" 2>"$T/net.log"
	RC=$?
	set -e
	expect_line net "^probe: net tx frames=200 " "net: 200 frames sent through the tap"
	expect_rc net 0 "net: powers off"
	no_faults net
else
	echo "note: net under seccomp not checked (needs root, /dev/net/tun, ip)"
fi

# ---- an API session: configure, start, every thread filtered, post-boot requests ----
truncate -s 1M "$T/a.img" "$T/b.img"
start_petrel api --id sc-api
expect_api 204 "" PUT /boot-source \
	"{\"kernel_image_path\": \"$probe\", \"boot_args\": \"console=ttyS0 probe.action=count probe.ticks=40\"}"
expect_api 204 "" PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 128}'
expect_api 204 "" PUT /drives/a \
	"{\"drive_id\": \"a\", \"path_on_host\": \"$T/a.img\", \"is_root_device\": false, \"io_engine\": \"Async\"}"
expect_api 204 "" PUT /entropy '{}'
expect_api 204 "" PUT /metrics "{\"metrics_path\": \"$T/api.metrics\"}"
expect_api 204 "" PUT /actions '{"action_type": "InstanceStart"}'
running api && all_filtered "API" "$PID" 4
expect_api 204 "" PATCH /drives/a "{\"drive_id\": \"a\", \"path_on_host\": \"$T/b.img\"}"
expect_api 204 "" PATCH /vm '{"state": "Paused"}'
expect_api 204 "" PATCH /vm '{"state": "Resumed"}'
expect_api 200 '"state":"Running"' GET /
expect_api 200 'petrel_vcpu_exit_io_out' GET /metrics
expect_api 204 "" PUT /actions '{"action_type": "FlushMetrics"}'
stop_petrel
expect_rc api 0 "API: SIGTERM ends petrel cleanly"
no_faults api

# ---- --no-seccomp: nothing filtered ----
vm_json off "probe.action=count probe.ticks=20"
"$PETREL_BIN" --no-api --no-seccomp --config-file "$T/off.json" </dev/null >"$T/off.out" \
	2>"$T/off.log" &
PID=$!
PIDS+=("$PID")
if running off && ! grep -q "^Seccomp:[[:space:]]*[12]" /proc/"$PID"/task/*/status; then
	pass "--no-seccomp: no thread filtered"
else
	fail "--no-seccomp: a thread is filtered"
fi
wait_exit 10

# ---- each allowlist kills: a forbidden call on each kind of thread ----
"$PETREL_BIN" --print-seccomp > "$T/policy.txt"
# allowed KIND SYSCALL: the built-in KIND filter lets SYSCALL through whatever
# its arguments (sanitizer builds widen the lists for their runtimes)
allowed() {
	awk -v k="$1:" -v s="$2" '/^[a-z]+: / { in_k = ($1 == k) } in_k && $1 == s && NF == 1 { f = 1 }
		END { exit !f }' "$T/policy.txt"
}
for kind in api vmm vcpu; do
	for call in execve:execve socket:socket open:openat; do
		if allowed "$kind" "${call#*:}"; then
			echo "note: this build's $kind filter allows ${call#*:} (a sanitizer build)"
			continue
		fi
		run_petrel "st-$kind-${call%%:*}" 10 --seccomp-selftest "$kind:${call%%:*}"
		expect_rc "st-$kind-${call%%:*}" 148 "$kind thread: ${call%%:*} kills petrel"
		expect_line "st-$kind-${call%%:*}" \
			"seccomp: the $kind thread made a forbidden syscall [0-9]+ \\(${call#*:}\\)" \
			"$kind thread: the log names ${call#*:}"
	done
done

run_petrel st-off 10 --no-seccomp --seccomp-selftest vcpu:open
expect_rc st-off 1 "the selftest itself fails when no filter stops the call"
expect_line st-off "open was allowed on the unfiltered thread" "--no-seccomp: the open went through"

# ---- a user filter: JSON in Firecracker's shape ----
"$PETREL_BIN" --print-seccomp > "$T/builtin.txt"
python3 - "$T/builtin.txt" "$T/user.json" <<'PY'
# The built-in policy as JSON, with the vcpu thread's KVM_RUN left out.
import json, re, sys
ops = {"eq": "eq", "ne": "ne", "lt": "lt", "le": "le", "gt": "gt", "ge": "ge"}
pol, cur = {}, None
for line in open(sys.argv[1]):
    m = re.match(r"(\w+): ", line)
    if m:
        cur = pol.setdefault(m.group(1), {"default_action": "trap", "filter_action": "allow", "filter": []})
        continue
    words = line.split()
    rule = {"syscall": words[0]}
    args, i = [], 1
    while i < len(words):
        if words[i] in ("if", "&&"):
            idx = int(words[i + 1][3:])
            if words[i + 2] == "&":
                arg = {"index": idx, "op": {"masked_eq": int(words[i + 3], 16)}, "val": int(words[i + 5], 16)}
                i += 6
            else:
                arg = {"index": idx, "op": ops[words[i + 2]], "val": int(words[i + 3], 16)}
                i += 4
            arg["type"] = "dword" if i < len(words) and words[i] == "(dword)" else "qword"
            i += arg["type"] == "dword"
            args.append(arg)
        else:
            i += 1
    if args:
        rule["args"] = args
    if not (words[0] == "ioctl" and args and args[0]["val"] == 0xAE80):
        cur["filter"].append(rule)
json.dump(pol, open(sys.argv[2], "w"), indent=1)
PY
"$PETREL_BIN" --seccomp-filter "$T/user.json" --print-seccomp > "$T/user.txt"
if diff <(grep -v "0xae80 (dword)" "$T/builtin.txt" | sed 's/^vcpu: [0-9]* syscalls, [0-9]* rules/vcpu/') \
	<(sed 's/^vcpu: [0-9]* syscalls, [0-9]* rules/vcpu/' "$T/user.txt") >/dev/null; then
	pass "--seccomp-filter: the JSON form of the built-in policy prints the same"
else
	fail "--seccomp-filter: the user policy prints differently"
fi
vm_json nokvmrun "probe.action=poweroff" "\"metrics\": { \"metrics_path\": \"$T/nokvmrun.metrics\" }"
run_petrel nokvmrun 20 --no-api --seccomp-filter "$T/user.json" --config-file "$T/nokvmrun.json"
expect_rc nokvmrun 148 "a user vcpu filter without KVM_RUN kills at the first KVM_RUN"
expect_line nokvmrun "fc_vcpu [0-9]+\\] seccomp: the vcpu thread made a forbidden syscall 16 \\(ioctl\\)" \
	"the log names the vCPU thread and ioctl"
if grep -Eq '"seccomp":{"num_faults":[1-9]' "$T/nokvmrun.metrics" 2>/dev/null; then
	pass "metrics: seccomp.num_faults counted before exit"
else
	fail "metrics: no num_faults line: $(cat "$T/nokvmrun.metrics" 2>/dev/null)"
fi

# Bad filters are refused, naming the field.
bad_filter() {
	printf '%s' "$1" > "$T/bad.json"
	run_petrel bad 10 --no-api --seccomp-filter "$T/bad.json" --config-file "$T/off.json"
	if [ "$RC" -eq 1 ] && grep -qF -- "$2" "$T/bad.log"; then
		pass "bad filter refused: $2"
	else
		fail "bad filter: exit $RC, expected 1 and '$2' in: $(cat "$T/bad.log")"
	fi
}
ok='{"default_action": "trap", "filter": []}'
bad_filter "{\"api\": $ok, \"vmm\": $ok}" 'vcpu: missing'
bad_filter "{\"api\": $ok, \"vmm\": $ok, \"vcpu\": {\"default_action\": \"trap\", \"filter\": [{\"syscall\": \"nosuchcall\"}]}}" \
	'vcpu.filter[0].syscall: unknown syscall "nosuchcall"'
bad_filter "{\"api\": $ok, \"vmm\": {\"default_action\": \"trap\", \"filter\": [{\"syscall\": \"ioctl\", \"args\": [{\"index\": 1, \"type\": \"dword\", \"op\": \"between\", \"val\": 1}]}]}, \"vcpu\": $ok}" \
	'vmm.filter[0].args[0].op: expected eq, ne'
bad_filter "{\"api\": {\"default_action\": \"maybe\", \"filter\": []}, \"vmm\": $ok, \"vcpu\": $ok}" \
	'api.default_action: unknown action "maybe"'
bad_filter '{"api": ' 'invalid JSON'
finish
