#!/usr/bin/env bash
# The balloon across a snapshot: the restored device knows its target, what
# the guest holds and which pages are in the balloon, polls statistics again,
# and inflates further; with the File backend the pages it gives back are not
# read from the memory file again (a second snapshot has holes there).
. "$(dirname "$0")/api_lib.sh"
need_kvm
probe=$(probe_elf)

metric() { api GET /metrics; awk -v m="petrel_balloon_$1" '$1 == m { print $2 }' <<<"$RESP"; }
alloc_mib() { echo $(( $(stat -c '%b * %B' "$1") / 1048576 )); }
load() {
	expect_api 204 "" PUT /snapshot/load "{\"snapshot_path\":\"$T/st$1\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$T/mem$1\"},\"resume_vm\":true}"
}

start_petrel src
expect_api 204 "" PUT /boot-source "{\"kernel_image_path\":\"$probe\",\"boot_args\":\"console=ttyS0 probe.action=balloon probe.balloon_pool_mib=128\"}"
expect_api 204 "" PUT /machine-config '{"vcpu_count":1,"mem_size_mib":256}'
expect_api 204 "" PUT /balloon '{"amount_mib":32,"deflate_on_oom":true,"stats_polling_interval_s":1}'
expect_api 204 "" PUT /actions '{"action_type":"InstanceStart"}'
wait_line src "^probe: balloon actual=8192$" 30
wait_line src "^probe: balloon stats sent=2$" 10
expect_api 204 "" PATCH /vm '{"state":"Paused"}'
expect_api 204 "" PUT /snapshot/create "{\"snapshot_path\":\"$T/st1\",\"mem_file_path\":\"$T/mem1\"}"
stop_petrel
first=$(alloc_mib "$T/mem1")

start_petrel clone
load 1
expect_api 200 '"amount_mib":32' GET /balloon
expect_api 200 '"target_pages":8192,"actual_pages":8192' GET /balloon/statistics
wait_line clone "^probe: balloon stats sent=" 10
expect_api 204 "" PATCH /balloon '{"amount_mib":64}'
wait_line clone "^probe: balloon actual=16384$" 30
[ "$(metric pages_given_back)" = 8192 ] && [ "$(metric bad_pfns)" = 0 ] &&
	pass "the restored balloon takes 32 MiB more, no PFN refused" ||
	fail "restored: given back $(metric pages_given_back), bad PFNs $(metric bad_pfns)"
expect_api 204 "" PATCH /vm '{"state":"Paused"}'
expect_api 204 "" PUT /snapshot/create "{\"snapshot_path\":\"$T/st2\",\"mem_file_path\":\"$T/mem2\"}"
stop_petrel
second=$(alloc_mib "$T/mem2")
[ "$second" -le $((first - 28)) ] &&
	pass "pages given back after a File restore are gone: memory file $first -> $second MiB" ||
	fail "the second memory file holds $second MiB, the first $first MiB"

# A page taken twice across the restore is still refused: the set of pages came along.
start_petrel clone2
load 2
expect_api 204 "" PATCH /balloon '{"amount_mib":16}'
wait_line clone2 "^probe: balloon actual=4096$" 30
wait_line clone2 "^probe: balloon deflated ok$" 10
[ "$(metric bad_pfns)" = 0 ] && pass "a second restore: deflating pages inflated before both" ||
	fail "bad PFNs after the second restore: $(metric bad_pfns)"
stop_petrel
finish
