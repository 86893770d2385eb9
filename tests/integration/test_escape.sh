#!/usr/bin/env bash
# The vmm thread's sandbox against what a hijacked vmm thread would try:
# petrel_escape puts the sandbox on as petrel does at InstanceStart, then
# appends to a host file, patches its own memory through /proc/self/mem,
# removes a host file, makes a new one (with creat, and with the O_EXCL open
# snapshots use, outside the allowed directories). Each is killed (148) or
# refused, and the host files are as they were; the writable image, a new
# file in a --snapshot-dir and the API socket's removal still work, and a
# kernel without Landlock gets one
# warning. On the API, PATCH /drives may not swap a writable drive for a
# file the sandbox would not let petrel write: a 400 says which and why.
. "$(dirname "$0")/api_lib.sh"
: "${PETREL_ESCAPE:=$PETREL_SRC/build/tests/petrel_escape}"
[ -x "$PETREL_ESCAPE" ] || skip "no $PETREL_ESCAPE"

mkdir -p "$T/vm/snaps" "$T/host"
truncate -s 1M "$T/vm/rw.img"
echo "host data" > "$T/host/file.txt"
touch "$T/vm/api.sock"

# escape NAME ACTION [FILE]: the output in $T/NAME.out and .log, status in RC
escape() {
	local name=$1
	shift
	set +e
	timeout -k 5 20 "$PETREL_ESCAPE" "$T/vm" "$@" </dev/null >"$T/$name.out" 2>"$T/$name.log"
	RC=$?
	set -e
}

# killed_or_refused NAME: exit 148 naming the syscall, or 0 saying "refused"
killed_or_refused() {
	if [ "$RC" -eq 148 ] && grep -q "seccomp: the vmm thread made a forbidden syscall" "$T/$1.log"; then
		pass "$1: killed ($(grep -o 'syscall [0-9]* ([a-z_0-9]*)' "$T/$1.log"))"
	elif [ "$RC" -eq 0 ] && grep -q "^refused: " "$T/$1.out"; then
		pass "$1: $(cat "$T/$1.out")"
	else
		fail "$1: exit $RC: $(cat "$T/$1.out" "$T/$1.log")"
	fi
}

host_intact() {
	[ "$(cat "$T/host/file.txt" 2>/dev/null)" = "host data" ] && pass "$1: the host file is intact" ||
		fail "$1: the host file changed: $(ls -l "$T/host")"
}

escape append append "$T/host/file.txt"
killed_or_refused append
host_intact append

escape procmem procmem
killed_or_refused procmem
grep -q "^escaped" "$T/procmem.out" && fail "procmem: petrel's memory was written"

escape unlink unlink "$T/host/file.txt"
killed_or_refused unlink
host_intact unlink

escape creat creat "$T/host/new.txt"
killed_or_refused creat
[ ! -e "$T/host/new.txt" ] && pass "creat: no file made" || fail "creat: $T/host/new.txt exists"

# A new file as a snapshot is made, outside the allowed directories.
escape create create "$T/host/new.txt"
killed_or_refused create
[ ! -e "$T/host/new.txt" ] && pass "create: no file made" || fail "create: $T/host/new.txt exists"

# What petrel itself does after start still works.
escape drive drive
expect_rc drive 0 "drive: the writable image is written"
[ "$(head -c 7 "$T/vm/rw.img")" = "escaped" ] && pass "drive: the bytes are in the image" || fail "drive: nothing in the image"
escape socket socket
expect_rc socket 0 "socket: the API socket is removed"
[ ! -e "$T/vm/api.sock" ] && pass "socket: gone" || fail "socket: still there"
escape snapdir create "$T/vm/snaps/state"
grep -q "^escaped: create" "$T/snapdir.out" && [ -e "$T/vm/snaps/state" ] &&
	pass "create: a new file in the --snapshot-dir is made" ||
	fail "create in the --snapshot-dir: $(cat "$T/snapdir.out" "$T/snapdir.log")"

# A kernel without Landlock: one warning naming the missing protection, and on.
escape fallback fallback
expect_rc fallback 0 "no Landlock: the sandbox still goes on"
n=$(grep -c "landlock: not available" "$T/fallback.log" || true)
[ "$n" -eq 1 ] && grep -q "file writes are not confined to the writable drives" "$T/fallback.log" &&
	pass "no Landlock: one warning says what is missing" || fail "no Landlock: $n warnings: $(cat "$T/fallback.log")"

# ---- PATCH /drives: a writable drive's new image must be where petrel may write ----
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	probe=$(probe_elf)
	truncate -s 1M "$T/vm/next.img" "$T/host/other.img"
	start_petrel patch --id esc-patch
	expect_api 204 "" PUT /boot-source \
		"{\"kernel_image_path\": \"$probe\", \"boot_args\": \"console=ttyS0 probe.action=count probe.ticks=40\"}"
	expect_api 204 "" PUT /drives/rw \
		"{\"drive_id\": \"rw\", \"path_on_host\": \"$T/vm/rw.img\", \"is_root_device\": false}"
	expect_api 204 "" PUT /drives/ro \
		"{\"drive_id\": \"ro\", \"path_on_host\": \"$T/vm/rw.img\", \"is_root_device\": false, \"is_read_only\": true}"
	expect_api 204 "" PUT /actions '{"action_type": "InstanceStart"}'
	expect_api 400 "$T/host/other.img: not beside a writable drive's image at start" \
		PATCH /drives/rw "{\"drive_id\": \"rw\", \"path_on_host\": \"$T/host/other.img\"}"
	expect_api 200 "\"path_on_host\":\"$T/vm/rw.img\"" GET /vm/config
	expect_api 204 "" PATCH /drives/rw "{\"drive_id\": \"rw\", \"path_on_host\": \"$T/vm/next.img\"}"
	expect_api 204 "" PATCH /drives/ro "{\"drive_id\": \"ro\", \"path_on_host\": \"$T/host/other.img\"}"
	stop_petrel
	expect_rc patch 0 "PATCH session: SIGTERM ends petrel cleanly"
	grep -q "forbidden syscall" "$T/patch.log" && fail "patch: a syscall was trapped"
	[ ! -e "$T/patch.sock" ] && pass "the API socket is removed at exit" || fail "socket left behind"
else
	echo "note: PATCH /drives not checked (no usable /dev/kvm)"
fi
finish
