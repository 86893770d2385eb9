#!/usr/bin/env bash
# virtio-balloon with the probe's driver: inflating 64 MiB gives petrel's RSS
# back to the host, deflating makes the pages usable again; statistics come at
# the polling interval and PATCH changes it; a free page hinting run and free
# page reporting give memory back too; a hostile driver's PFNs are counted and
# ignored. Waits are generous bounds that prove "does not hang", never timings.
. "$(dirname "$0")/api_lib.sh"
need_kvm
probe=$(probe_elf)

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status"; }
metric() { api GET /metrics; awk -v m="petrel_balloon_$1" '$1 == m { print $2 }' <<<"$RESP"; }

# boot NAME BALLOON_JSON [PROBE_ARGS]: a 256 MiB probe whose 128 MiB pool is touched
boot() {
	start_petrel "$1" || return 1
	expect_api 204 "" PUT /boot-source "{\"kernel_image_path\":\"$probe\",\"boot_args\":\"console=ttyS0 probe.action=balloon probe.balloon_pool_mib=128 ${3:-}\"}"
	expect_api 204 "" PUT /machine-config '{"vcpu_count":1,"mem_size_mib":256}'
	expect_api 204 "" PUT /balloon "$2"
	expect_api 204 "" PUT /actions '{"action_type":"InstanceStart"}'
	wait_line "$1" "^probe: balloon ready pool_mib=128" 30
}

# ---- inflate, deflate, statistics ----
boot main '{"amount_mib":0,"deflate_on_oom":true,"stats_polling_interval_s":1}'
before=$(rss_kib)
expect_api 204 "" PATCH /balloon '{"amount_mib":64}'
wait_line main "^probe: balloon actual=16384$" 30
after=$(rss_kib)
drop=$(( (before - after) / 1024 ))
[ $((before - after)) -ge $((60 * 1024)) ] &&
	pass "inflating 64 MiB: RSS $((before / 1024)) -> $((after / 1024)) MiB (-$drop MiB)" ||
	fail "inflating 64 MiB lowered RSS by only $drop MiB ($before -> $after KiB)"
expect_api 200 '"amount_mib":64' GET /balloon
[ "$(metric pages_given_back)" = 16384 ] && pass "16384 pages given back, in the metrics" ||
	fail "pages_given_back: $(metric pages_given_back)"

# Statistics: the driver's figures, the target and what it holds.
wait_line main "^probe: balloon stats sent=3$" 10
expect_api 200 '"target_mib":64,"actual_mib":64' GET /balloon/statistics
grep -q '"total_memory":134217728' <<<"$RESP" && pass "the guest's total_memory is reported" ||
	fail "statistics lack the guest's total_memory: $RESP"
grep -q '"free_memory":67108864' <<<"$RESP" && pass "free_memory follows the inflate" ||
	fail "statistics lack free_memory 64 MiB: $RESP"

# A longer interval: within 4 s at most 2 polls (1 s would make 4).
expect_api 204 "" PATCH /balloon/statistics '{"stats_polling_interval_s":3}'
n0=$(grep -c "^probe: balloon stats sent" "$T/main.out")
sleep 4
n1=$(grep -c "^probe: balloon stats sent" "$T/main.out")
[ $((n1 - n0)) -ge 1 ] && [ $((n1 - n0)) -le 2 ] &&
	pass "PATCH /balloon/statistics 3 s: $((n1 - n0)) poll(s) in 4 s" ||
	fail "interval 3 s: $((n1 - n0)) polls in 4 s"
expect_api 400 "statistics are turned on or off only before the microVM starts" \
	PATCH /balloon/statistics '{"stats_polling_interval_s":0}'

expect_api 204 "" PATCH /balloon '{"amount_mib":0}'
wait_line main "^probe: balloon actual=0$" 30
wait_line main "^probe: balloon deflated ok$" 10
[ "$(rss_kib)" -ge $((before - 8 * 1024)) ] && pass "deflated pages are the guest's again" ||
	fail "after the deflate RSS is $(rss_kib) KiB, before the inflate $before"
[ "$(metric bad_pfns)" = 0 ] && pass "a well-behaved driver: no bad PFNs" ||
	fail "bad_pfns $(metric bad_pfns) from a well-behaved driver"
expect_api 400 "Free page hinting is not enabled" PATCH /balloon/hinting/stop ""
stop_petrel

# ---- free page reporting ----
boot report '{"amount_mib":0,"deflate_on_oom":false,"free_page_reporting":true}' \
	"probe.balloon_report_mib=64"
wait_line report "^probe: balloon reported mib=64 us=[0-9]+$" 30
rss=$(rss_kib)
[ "$rss" -le $((80 * 1024)) ] &&
	pass "reporting 64 MiB of the 128 MiB touched: RSS $((rss / 1024)) MiB" ||
	fail "after reporting 64 MiB RSS is still $((rss / 1024)) MiB"
[ "$(metric pages_reported)" = 16384 ] && pass "16384 pages reported" ||
	fail "pages_reported: $(metric pages_reported)"
expect_api 400 "Statistics for the balloon device are not enabled" GET /balloon/statistics
expect_api 400 "Free page hinting is not enabled" PATCH /balloon/hinting/start ""
stop_petrel

# ---- free page hinting ----
boot hint '{"amount_mib":0,"deflate_on_oom":false,"free_page_hinting":true}' \
	"probe.balloon_hint_mib=32"
expect_api 200 '{"host_cmd":0}' GET /balloon/hinting/status
before=$(rss_kib)
expect_api 204 "" PATCH /balloon/hinting/start '{"acknowledge_on_stop":false}'
wait_line hint "^probe: balloon hint cmd=2 ranges=16$" 20
expect_api 200 '{"host_cmd":2,"guest_cmd":0}' GET /balloon/hinting/status
[ $((before - $(rss_kib))) -ge $((30 * 1024)) ] && pass "a hinting run of 32 MiB lowers RSS" ||
	fail "hinting 32 MiB: RSS $before -> $(rss_kib) KiB"
expect_api 204 "" PATCH /balloon/hinting/stop '{}'
wait_line hint "^probe: balloon hint done$" 10
expect_api 200 '"host_cmd":1' GET /balloon/hinting/status
# Acknowledged on the guest's stop (the default, with an empty body): the next run ends by itself.
expect_api 204 "" PATCH /balloon/hinting/start ""
wait_line hint "^probe: balloon hint cmd=3 ranges=16$" 20
wait_line hint "^probe: balloon hint done$" 10
expect_api 200 '{"host_cmd":1,"guest_cmd":0}' GET /balloon/hinting/status
stop_petrel

# ---- a hostile driver ----
boot hostile '{"amount_mib":0,"deflate_on_oom":false}' "probe.balloon_hostile=1"
wait_line hostile "^probe: balloon hostile sent=" 30
[ "$(metric bad_pfns)" = 777 ] &&
	pass "PFNs outside RAM, twice, past the target, deflated uninflated: 777 counted" ||
	fail "bad_pfns $(metric bad_pfns), expected 777"
expect_api 204 "" PATCH /balloon '{"amount_mib":16}'
wait_line hostile "^probe: balloon actual=4096$" 30
[ "$(metric pages_given_back)" = $((256 + 4096)) ] &&
	pass "after the hostile PFNs the balloon still works" ||
	fail "pages_given_back $(metric pages_given_back) after the hostile run"
kill -0 "$PID" && pass "petrel runs on" || fail "petrel ended"
stop_petrel
finish
