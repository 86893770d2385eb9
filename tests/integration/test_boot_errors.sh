#!/usr/bin/env bash
# Bad input before boot gets a clear message naming the file or field, and
# petrel exits non-zero without starting a guest.
. "$(dirname "$0")/lib.sh"
need_kvm
probe=$(probe_elf)

write_config "$T/missing.json" "$T/no-such-kernel" "console=ttyS0"
run_petrel missing 20 --no-api --config-file "$T/missing.json"
expect_rc missing 1 "missing kernel fails"
expect_line missing "$T/no-such-kernel" "missing kernel: message names the file"

head -c 3000 "$probe" > "$T/truncated.elf"
write_config "$T/trunc.json" "$T/truncated.elf" "console=ttyS0"
run_petrel trunc 20 --no-api --config-file "$T/trunc.json"
expect_rc trunc 1 "truncated kernel fails"
expect_line trunc "$T/truncated.elf" "truncated kernel: message names the file"

head -c 100 /dev/urandom > "$T/garbage.bin"
write_config "$T/garbage.json" "$T/garbage.bin" "console=ttyS0"
run_petrel garbage 20 --no-api --config-file "$T/garbage.json"
expect_rc garbage 1 "garbage kernel fails"
expect_line garbage "$T/garbage.bin" "garbage kernel: message names the file"

cat > "$T/initrd.json" <<JSON
{ "boot-source": { "kernel_image_path": "$probe", "initrd_path": "$T/no-such-initrd" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 } }
JSON
run_petrel initrd 20 --no-api --config-file "$T/initrd.json"
expect_rc initrd 1 "missing initrd fails"
expect_line initrd "$T/no-such-initrd" "missing initrd: message names the file"

cat > "$T/field.json" <<JSON
{ "boot-source": { "kernel_image_path": "$probe" },
  "machine-config": { "vcpu_count": 33, "mem_size_mib": 128 } }
JSON
run_petrel field 20 --no-api --config-file "$T/field.json"
expect_rc field 1 "vcpu_count 33 refused"
expect_line field "machine-config.vcpu_count" "out-of-range field is named"

run_petrel nofile 20 --no-api --config-file "$T/absent.json"
expect_rc nofile 1 "missing config file refused"
expect_line nofile "$T/absent.json" "missing config file is named"
finish
