#!/usr/bin/env bash
# VMGenID after a restore: a probe snapshotted while it waits for the VMGenID's
# notification is notified as soon as it is restored, with an id other than its
# boot's; two clones of one snapshot get two different ids.
. "$(dirname "$0")/api_lib.sh"
need_kvm
probe=$(probe_elf)
id_re='^probe: vmgenid [0-9a-f]{32}$'

start_petrel src
expect_api 204 "" PUT /boot-source \
	"{\"kernel_image_path\":\"$probe\",\"boot_args\":\"console=ttyS0 probe.action=vmgenid-wait\"}"
expect_api 204 "" PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64}'
expect_api 204 "" PUT /actions '{"action_type":"InstanceStart"}'
wait_line src "^probe: vmgenid waiting gsi=3$" 30
expect_api 204 "" PATCH /vm '{"state":"Paused"}'
expect_api 204 "" PUT /snapshot/create "{\"snapshot_path\":\"$T/st\",\"mem_file_path\":\"$T/mem\"}"
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
boot=$(grep -E "$id_re" "$T/src.out" | head -1 | cut -d" " -f3 || true)
[ -n "$boot" ] || fail "the source printed no generation id"
grep -q "vmgenid notified" "$T/src.out" && fail "the source was notified before any restore"

for n in 1 2; do
	start_petrel "clone$n"
	expect_api 204 "" PUT /snapshot/load "{\"snapshot_path\":\"$T/st\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$T/mem\"},\"resume_vm\":true}"
	wait_line "clone$n" "^probe: vmgenid notified [0-9a-f]{32}$" 20
	stop_petrel
done
id1=$(grep "^probe: vmgenid notified" "$T/clone1.out" | cut -d" " -f4 || true)
id2=$(grep "^probe: vmgenid notified" "$T/clone2.out" | cut -d" " -f4 || true)
[ -n "$id1" ] && [ "$id1" != "$boot" ] &&
	pass "the restored probe is notified, with a new id ($boot -> $id1)" ||
	fail "after the restore: id '$id1', at boot '$boot'"
[ -n "$id2" ] && [ "$id2" != "$id1" ] && [ "$id2" != "$boot" ] &&
	pass "two clones of one snapshot, two ids ($id1, $id2)" ||
	fail "the clones' ids: '$id1' and '$id2' (boot '$boot')"
finish
