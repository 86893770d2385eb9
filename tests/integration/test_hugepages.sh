#!/usr/bin/env bash
# huge_pages "2M": boots on reserved 2 MiB pages; without enough of them,
# fails before boot naming what is needed, what is free, and the sysfs file.
. "$(dirname "$0")/lib.sh"
need_kvm
probe=$(probe_elf)
sysfs=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
[ -w "$sysfs" ] || skip "cannot reserve hugepages ($sysfs not writable)"
orig=$(cat "$sysfs")
trap 'echo "$orig" > "$sysfs"; rm -rf "$T"' EXIT

echo 0 > "$sysfs"
write_config "$T/hp.json" "$probe" "probe.action=poweroff" 1 128 2M
run_petrel none 30 --no-api --config-file "$T/hp.json"
expect_rc none 1 "2M without reserved pages fails"
expect_line none "64 needed" "message says how many pages are needed"
expect_line none "0 free" "message says how many are free"
expect_line none "$sysfs" "message names the sysfs file"
if grep -q "probe: hello" "$T/none.out"; then fail "guest ran without hugepages"; fi

echo 64 > "$sysfs"
[ "$(cat "$sysfs")" -ge 64 ] || skip "the host could not reserve 64 hugepages"
run_petrel hp 30 --no-api --config-file "$T/hp.json"
expect_line hp "^probe: hello cpus=1" "guest boots on 2 MiB pages"
expect_rc hp 0 "hugepage guest powers off"

write_config "$T/thp.json" "$probe" "probe.action=poweroff" 1 128 Transparent
run_petrel thp 30 --no-api --config-file "$T/thp.json"
expect_line thp "^probe: hello cpus=1" "guest boots with transparent hugepages"
finish
