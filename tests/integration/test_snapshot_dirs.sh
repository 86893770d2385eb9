#!/usr/bin/env bash
# Where the sandbox lets a snapshot be created: beneath the API socket's
# directory and each --snapshot-dir. A path elsewhere (a symlink out of an
# allowed directory included) is a 400 naming the field and the path, listing
# the allowed directories and saying how to add one, and nothing is made; a bad
# --snapshot-dir stops petrel at start, naming it.
. "$(dirname "$0")/api_lib.sh"
need_kvm
probe=$(probe_elf)
mkdir -p "$T/api" "$T/snaps/sub" "$T/out"
touch "$T/file"
ln -s "$T/out" "$T/snaps/link"

# bad_dir NAME WORDS ARG: petrel refuses to start, naming the directory
bad_dir() {
	set +e
	timeout -k 5 20 "$PETREL_BIN" --api-sock "$T/api/bad.sock" --snapshot-dir "$3" \
		</dev/null >/dev/null 2>"$T/$1.log"
	RC=$?
	set -e
	[ "$RC" -eq 1 ] && grep -qF -- "--snapshot-dir $3: $2" "$T/$1.log" &&
		pass "$1: refused ($(cat "$T/$1.log"))" || fail "$1: exit $RC: $(cat "$T/$1.log")"
}
bad_dir missing "No such file or directory" "$T/nope"
bad_dir file "not a directory" "$T/file"
bad_dir root "the root directory" /
"$PETREL_BIN" --help | grep -q -- "--snapshot-dir DIR" && pass "--help names --snapshot-dir" ||
	fail "--help lacks --snapshot-dir"

SOCK_DIR=$T/api start_petrel src --snapshot-dir "$T/snaps"
expect_api 204 "" PUT /boot-source \
	"{\"kernel_image_path\":\"$probe\",\"boot_args\":\"console=ttyS0 probe.action=count\"}"
expect_api 204 "" PUT /machine-config '{"vcpu_count":1,"mem_size_mib":32}'
expect_api 204 "" PUT /actions '{"action_type":"InstanceStart"}'
wait_line src "^probe: tick 2$" 20
expect_api 204 "" PATCH /vm '{"state":"Paused"}'
allowed="not in a directory where the sandbox lets petrel create files ($T/api/, $T/snaps/); start petrel with --snapshot-dir DIR"
expect_api 400 "snapshot_path $T/out/st: $allowed" PUT /snapshot/create \
	"{\"snapshot_path\":\"$T/out/st\",\"mem_file_path\":\"$T/out/mem\"}"
expect_api 400 "mem_file_path $T/out/mem: not in a directory" PUT /snapshot/create \
	"{\"snapshot_path\":\"$T/snaps/st\",\"mem_file_path\":\"$T/out/mem\"}"
expect_api 400 "snapshot_path $T/snaps/link/st: not in a directory" PUT /snapshot/create \
	"{\"snapshot_path\":\"$T/snaps/link/st\",\"mem_file_path\":\"$T/snaps/mem\"}"
[ -z "$(ls -A "$T/out")" ] && [ ! -e "$T/snaps/st" ] && [ ! -e "$T/snaps/mem" ] &&
	pass "the refused creates made no file" || fail "files made: $(ls "$T/out" "$T/snaps")"
expect_api 204 "" PUT /snapshot/create \
	"{\"snapshot_path\":\"$T/snaps/sub/st\",\"mem_file_path\":\"$T/snaps/mem\"}"
expect_api 204 "" PUT /snapshot/create \
	"{\"snapshot_path\":\"$T/api/st\",\"mem_file_path\":\"$T/api/mem\"}"
[ -s "$T/snaps/sub/st" ] && [ -s "$T/snaps/mem" ] && [ -s "$T/api/st" ] &&
	pass "created beneath --snapshot-dir and beside the socket" || fail "files missing"
grep -q "forbidden syscall" "$T/src.log" && fail "a syscall was trapped"
stop_petrel

# What was written beneath --snapshot-dir loads and runs on.
SOCK_DIR=$T/api start_petrel dst
expect_api 204 "" PUT /snapshot/load "{\"snapshot_path\":\"$T/snaps/sub/st\",\
\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$T/snaps/mem\"},\"resume_vm\":true}"
wait_line dst "^probe: tick [0-9]+$" 20 && pass "the snapshot from --snapshot-dir runs on" ||
	fail "no tick after the load: $(output dst | tail -3)"
stop_petrel
finish
