#!/usr/bin/env bash
# petrel jail: a jailed VM (uid/gid 10000, cgroup limits, rlimits, its own
# mount, pid and network namespaces) boots the probe through its API socket
# inside the chroot, and the host sees every part of the jail: ids, no
# capabilities, namespaces, cgroup values, limits, a chroot holding only
# what the jail put there, every thread filtered, a snapshot made beneath
# the jail's root. Bad input fails with a
# message and leaves nothing behind, so the same id works next time.
. "$(dirname "$0")/api_lib.sh"
need_kvm
[ "$(id -u)" -eq 0 ] || skip "the jailer needs root"
probe=$(probe_elf)
base=$T/jail
id=jt-$$
root=$base/petrel/$id/root
uid=10000

# ---- which cgroups this host has: v2 memory.max and cpu.max, else v1 ----
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
	cgv=2
	cgroot=/sys/fs/cgroup
	parent=petrel-test-$$
	grep -qw memory "$cgroot/cgroup.controllers" && grep -qw cpu "$cgroot/cgroup.controllers" ||
		skip "cgroup v2 without the memory and cpu controllers"
	cgargs=(--cgroup memory.max=268435456 --cgroup "cpu.max=50000 100000")
	checks=("memory.max:268435456" "cpu.max:50000 100000")
	hier=("$cgroot")
else
	cgv=1
	[ -d /sys/fs/cgroup/memory ] && [ -d /sys/fs/cgroup/cpu ] || skip "no cgroup v1 memory and cpu"
	# Below our own memory cgroup, so the VM's memory stays accounted where ours is.
	own=$(sed -n 's/^[0-9]*:[^:]*\bmemory\b[^:]*://p' /proc/self/cgroup)
	parent=${own#/}${own:+/}petrel-test-$$
	parent=${parent#/}
	cgargs=(--cgroup memory.limit_in_bytes=268435456 --cgroup cpu.cfs_quota_us=50000)
	checks=("memory.limit_in_bytes:268435456" "cpu.cfs_quota_us:50000")
	hier=(/sys/fs/cgroup/memory /sys/fs/cgroup/cpu)
fi
# Folders of parent/id that exist now are not ours to remove afterwards.
cg_dirs() {
	local h p="" part
	for h in "${hier[@]}"; do
		p=""
		for part in ${parent//\// } "$id"; do
			p+=/$part
			echo "$h$p"
		done
	done
}
existing=$(for d in $(cg_dirs); do if [ -d "$d" ]; then echo "$d"; fi; done)
cleanup() {
	local d
	if mountpoint -q "$base" 2>/dev/null; then umount -l "$base" || true; fi
	if [ -f "$root/petrel.pid" ]; then kill -9 "$(cat "$root/petrel.pid")" 2>/dev/null || true; fi
	sleep 0.2
	for d in $(cg_dirs | sort -r); do
		grep -qxF "$d" <<<"$existing" || rmdir "$d" 2>/dev/null || true
	done
	[ -z "${ns:-}" ] || ip netns del "$ns" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

netns_args=()
ns=""
if command -v ip >/dev/null && ip netns add "petrel-jail-$$" 2>/dev/null; then
	ns=petrel-jail-$$
	netns_args=(--netns "/var/run/netns/$ns")
fi

# jail NAME ARGS...: petrel jail, output in $T/NAME.log, status in RC
jail() {
	local name=$1
	shift
	set +e
	timeout -k 5 30 "$PETREL_BIN" jail "$@" </dev/null >"$T/$name.log" 2>&1
	RC=$?
	set -e
}

# nothing_left WHAT: no chroot folder, no cgroup folder of this id
nothing_left() {
	local left="" d
	[ -z "$(ls -A "$base" 2>/dev/null)" ] || left+=" $(find "$base" | head -3 | tr '\n' ' ')"
	for d in $(cg_dirs); do
		grep -qxF "$d" <<<"$existing" || [ ! -e "$d" ] || left+=" $d"
	done
	[ -z "$left" ] && pass "$1: nothing left behind" || fail "$1: left behind:$left"
}

# bad_input NAME MESSAGE ARGS...: fails, says MESSAGE, leaves nothing
bad_input() {
	local name=$1 msg=$2
	shift 2
	jail "$name" "$@"
	if [ "$RC" -ne 0 ] && grep -qF -- "$msg" "$T/$name.log"; then
		pass "$name: refused ($(head -1 "$T/$name.log"))"
	else
		fail "$name: exit $RC, expected a failure saying '$msg': $(cat "$T/$name.log")"
	fi
	nothing_left "$name"
}

common=(--id "$id" --uid "$uid" --gid "$uid" --chroot-base-dir "$base")
# Checks past the exec file's need a static one: a sanitizer build's petrel is not.
exec_ok=()
ldd "$PETREL_BIN" >/dev/null 2>&1 && exec_ok=(--exec-file /bin/busybox)
bad_input "bad id" "--id: 'a/b' must be" --id a/b --uid $uid --gid $uid \
	--chroot-base-dir "$base"
bad_input "uid not a number" "--uid: expected a number" --id "$id" --uid ten --gid $uid \
	--chroot-base-dir "$base"
bad_input "missing exec file" "step 'exec file' failed: $T/nope" "${common[@]}" \
	--exec-file "$T/nope"
bad_input "unknown cgroup file" "no such cgroup file" "${common[@]}" "${exec_ok[@]}" \
	--cgroup-version $cgv \
	--parent-cgroup "$parent" --cgroup memory.no_such_file=1
bad_input "unknown resource" "--resource-limit: unknown resource" "${common[@]}" "${exec_ok[@]}" \
	--resource-limit cores=1

# An exec file that cannot run alone in the chroot is refused, naming it.
printf '#!/bin/sh\nexit 0\n' > "$T/script.sh"
cp "$(type -P true)" "$T/dynamic"
chmod 755 "$T/script.sh" "$T/dynamic"
for pidns in "" --new-pid-ns; do
	bad_input "script${pidns:+ $pidns}" "$T/script.sh is a script" "${common[@]}" \
		--exec-file "$T/script.sh" $pidns
	if ldd "$T/dynamic" >/dev/null 2>&1; then
		bad_input "dynamic binary${pidns:+ $pidns}" "$T/dynamic is dynamically linked" \
			"${common[@]}" --exec-file "$T/dynamic" $pidns
	fi
done

# ---- the same id again, now right: a jailed VM ----
# The chroot holds the binary alone: a dynamically linked one (a sanitizer
# build) cannot start there.
if ldd "$PETREL_BIN" >/dev/null 2>&1; then
	echo "note: $PETREL_BIN is dynamically linked; the jailed boot needs the static build"
	finish
	exit 0
fi

# An exec that fails after the privileges are gone (the chroot on a noexec
# mount): the jail and the cgroups are removed all the same, and the exit
# code says so, from the outer process too with a new pid namespace.
mkdir -p "$base"
if mount -t tmpfs -o noexec,size=256m petrel-test "$base" 2>/dev/null; then
	for how in "" "--new-pid-ns" "--new-pid-ns --daemonize"; do
		bad_input "exec refused${how:+ $how}" "step 'exec' failed: /petrel: Permission denied" \
			"${common[@]}" --cgroup-version $cgv --parent-cgroup "$parent" "${cgargs[@]}" \
			$how -- --api-sock /run/petrel.socket
	done
	mount -o remount,exec "$base"
else
	echo "note: no tmpfs mount here; an exec failing after the privilege drop is not checked"
fi
jail start "${common[@]}" --cgroup-version $cgv --parent-cgroup "$parent" "${cgargs[@]}" \
	--resource-limit fsize=1073741824 --resource-limit no-file=1024 "${netns_args[@]}" \
	--daemonize --new-pid-ns -- --api-sock /run/petrel.socket
expect_rc start 0 "the jailer starts the jailed petrel and returns"
SOCK=$root/run/petrel.socket
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
PID=$(cat "$root/petrel.pid" 2>/dev/null || echo 0)
[ -S "$SOCK" ] && pass "API socket in the chroot: $SOCK" || { fail "no socket at $SOCK"; finish; }
PIDS+=("$PID")

jailed=$(cd "$root" && find . | sort | tr '\n' ' ')
want=". ./dev ./dev/kvm ./dev/net ./dev/net/tun ./dev/urandom ./petrel ./petrel.pid ./run ./run/petrel.socket "
[ "$jailed" = "$want" ] && pass "the chroot holds only what the jail made (no /dev/userfaultfd)" ||
	fail "chroot: '$jailed', expected '$want'"

cp "$probe" "$root/probe.elf"
expect_api 204 "" PUT /boot-source \
	'{"kernel_image_path": "/probe.elf", "boot_args": "console=ttyS0 probe.action=count probe.ticks=40"}'
expect_api 204 "" PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 128}'
expect_api 204 "" PUT /actions '{"action_type": "InstanceStart"}'
expect_api 200 '"id":"'"$id"'","state":"Running"' GET /

status() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$PID/status"; }
[ "$(status Uid)" = "$uid	$uid	$uid	$uid" ] && [ "$(status Gid)" = "$uid	$uid	$uid	$uid" ] &&
	pass "runs as $uid:$uid" || fail "ids: Uid $(status Uid), Gid $(status Gid)"
[ -z "$(status Groups)" ] && pass "no supplementary groups" || fail "groups: $(status Groups)"
[ "$(status CapEff)" = 0000000000000000 ] && [ "$(status CapBnd)" = 0000000000000000 ] &&
	[ "$(status CapPrm)" = 0000000000000000 ] && pass "CapEff, CapPrm and CapBnd are zero" ||
	fail "capabilities: CapEff $(status CapEff) CapBnd $(status CapBnd)"
for n in mnt pid ${ns:+net}; do
	[ "$(readlink "/proc/$PID/ns/$n")" != "$(readlink /proc/self/ns/$n)" ] &&
		pass "its own $n namespace" || fail "$n namespace shared with the host"
done
for c in "${checks[@]}"; do
	file=${c%%:*} want=${c#*:} dir=""
	for h in "${hier[@]}"; do [ -e "$h/$parent/$id/$file" ] && dir=$h/$parent/$id; done
	got=$(cat "$dir/$file" 2>/dev/null || echo missing)
	[ "$got" = "$want" ] && pass "cgroup $file = $want" || fail "cgroup $file: '$got', expected '$want'"
	grep -qx "$PID" "$dir/cgroup.procs" && pass "petrel is in $dir" || fail "petrel not in $dir"
done
grep -Eq "^Max file size +1073741824 +1073741824 " "/proc/$PID/limits" &&
	pass "rlimit fsize" || fail "fsize: $(grep 'file size' "/proc/$PID/limits")"
grep -Eq "^Max open files +1024 +1024 " "/proc/$PID/limits" &&
	pass "rlimit no-file" || fail "no-file: $(grep 'open files' "/proc/$PID/limits")"
bad=""
for t in /proc/"$PID"/task/*; do grep -q "^Seccomp:[[:space:]]*2$" "$t/status" || bad+=" $(cat "$t/comm")"; done
[ -z "$bad" ] && pass "every thread filtered" || fail "unfiltered threads:$bad"

# Snapshots beneath the jail's root (--jailed, no /proc there), not only beside the socket.
mkdir "$root/snaps"
chown "$uid:$uid" "$root/snaps"
expect_api 204 "" PATCH /vm '{"state": "Paused"}'
expect_api 204 "" PUT /snapshot/create '{"snapshot_path": "/snaps/state", "mem_file_path": "/snaps/mem"}'
[ -s "$root/snaps/state" ] && [ -s "$root/snaps/mem" ] &&
	pass "a snapshot is created beneath the jail's root" || fail "no snapshot in $root/snaps"
expect_api 204 "" PATCH /vm '{"state": "Resumed"}'

for _ in $(seq 200); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
kill -0 "$PID" 2>/dev/null && fail "the jailed petrel did not end with its guest" ||
	pass "the jailed petrel ended with its guest"
[ ! -e "$SOCK" ] && pass "the socket is removed at exit" || fail "socket left behind"
finish
