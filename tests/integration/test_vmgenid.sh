#!/usr/bin/env bash
# VMGenID: the probe finds the device in the DSDT (_HID "VMGENCTR", its ADDR
# method) and prints the 16-byte generation id; every boot has its own id.
# With probe.action=vmgenid-wait it finds the GED's GSI, routes it and waits:
# nothing notifies a VM that was never restored.
. "$(dirname "$0")/lib.sh"
need_kvm
probe=$(probe_elf)
id_re='^probe: vmgenid [0-9a-f]{32}$'

write_config "$T/vm.json" "$probe" "console=ttyS0 probe.action=poweroff"
for n in 1 2; do
	run_petrel "boot$n" 30 --no-api --config-file "$T/vm.json"
	expect_line "boot$n" "$id_re" "boot $n: the probe reads a generation id"
	expect_rc "boot$n" 0 "boot $n: poweroff"
done
id1=$(grep -E "$id_re" "$T/boot1.out" | head -1 | cut -d" " -f3 || true)
id2=$(grep -E "$id_re" "$T/boot2.out" | head -1 | cut -d" " -f3 || true)
if [ -n "$id1" ] && [ "$id1" != "$id2" ]; then
	pass "two boots, two generation ids ($id1, $id2)"
else
	fail "two boots gave the ids '$id1' and '$id2'"
fi
if [ "$id1" != 00000000000000000000000000000000 ]; then
	pass "the id is not left zero"
else
	fail "the generation id is all zeros"
fi

# 4 GiB of RAM (a second region above the hole): the id stays in low memory.
write_config "$T/big.json" "$probe" "probe.action=poweroff" 1 4096
run_petrel big 30 --no-api --config-file "$T/big.json"
expect_line big "$id_re" "4 GiB guest: the probe reads a generation id"

# The GED's interrupt is found and routed; with no restore, no notification.
write_config "$T/wait.json" "$probe" "console=ttyS0 probe.action=vmgenid-wait"
"$PETREL_BIN" --no-api --config-file "$T/wait.json" </dev/null >"$T/wait.out" 2>"$T/wait.log" &
pid=$!
# 30 s: a generous bound for the probe to get there on a loaded host, not a timing.
for _ in $(seq 300); do
	grep -q 'vmgenid waiting' "$T/wait.out" && break
	sleep 0.1
done
sleep 1		# time for a spurious notification to show
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
expect_line wait '^probe: vmgenid waiting gsi=3$' "the probe finds the GED on GSI 3 and waits"
if grep -q 'vmgenid notified' "$T/wait.out"; then
	fail "a VM never restored was notified of a new generation"
else
	pass "no notification without a restore"
fi
finish
