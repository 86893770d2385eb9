#!/usr/bin/env bash
# The balloon under Debian's stock kernel (its virtio_balloon module, found
# through ACPI), driven from the guest's shell on the console:
# - a 256 MiB guest fills a tmpfs with most of its free memory, then frees it:
#   petrel now holds those pages; PATCH /balloon to 100 MiB lowers petrel's
#   RSS by about 100 MiB, and the guest's shell still answers;
# - with deflate_on_oom the guest then writes more than what is left outside
#   the balloon: the balloon gives pages back (actual falls), the write
#   succeeds, and nothing is killed for want of memory.
# Waits are generous bounds that prove "does not hang", never timings.
. "${PETREL_SRC:-$(dirname "$0")/../..}/tests/integration/api_lib.sh"
. "$PETREL_SRC/tests/slow/linux.sh"
need_kvm
need_guest stock-vmlinuz stock-initrd.cpio.gz

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	# In the test host VM, run.sh --output-dir brings the console and log back.
	[ -z "${PETREL_OUT:-}" ] || cp "$T"/*.out "$T"/*.log "$PETREL_OUT/" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

rss_mib() { awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$PID/status"; }

# ask WORD COMMAND [SECONDS]: types "COMMAND; echo WORD" on the console (WORD
# split so the typed line's echo does not match) and waits for WORD on a line
# of its own.
ask() {
	local word=$1 cmd=$2 secs=${3:-60}
	printf '%s; echo %s""%s\n' "$cmd" "${word:0:1}" "${word:1}" >&3
	for _ in $(seq $((secs * 10))); do
		grep -Eqs -- "^${word}[[:cntrl:]]*$" "$T/vm.out" && return 0
		sleep 0.1
	done
	fail "no answer to '$cmd' in $secs s"
	sed 's/^/    | /' "$T/vm.out" | tail -15
	return 1
}

# guest_num NAME: the last "bal: NAME=N" the guest printed.
guest_num() { grep -ao "^bal: $1=[0-9]*" "$T/vm.out" | tail -n 1 | cut -d= -f2; }

# actual_mib: what the guest's balloon holds, from GET /balloon/statistics.
actual_mib() {
	api GET /balloon/statistics
	sed -n 's/.*"actual_mib":\([0-9]*\).*/\1/p' <<<"$RESP"
}

# wait_actual MIB SECONDS: until the balloon holds MIB.
wait_actual() {
	local a
	for _ in $(seq "$2"); do
		a=$(actual_mib)
		[ -n "$a" ] && [ "$a" -eq "$1" ] && return 0
		sleep 1
	done
	fail "the balloon's actual_mib is ${a:-?}, not $1, after $2 s: $RESP"
	return 1
}

mkfifo "$T/vm.in"
SOCK=$T/vm.sock
"$PETREL_BIN" --api-sock "$SOCK" <"$T/vm.in" >"$T/vm.out" 2>"$T/vm.log" &
PID=$!
PIDS+=("$PID")
exec 3>"$T/vm.in"
wait_line_in() {
	for _ in $(seq $(($3 * 10))); do
		grep -qs -- "$2" "$T/$1" && return 0
		sleep 0.1
	done
	return 1
}
wait_line_in vm.log "API server listening on $SOCK " 20 || { fail "no API server"; exit 1; }

# quiet: each console byte is a nested exit.
expect_api 204 "" PUT /boot-source "{\"kernel_image_path\":\"$PETREL_GUEST_DIR/stock-vmlinuz\",
	\"initrd_path\":\"$PETREL_GUEST_DIR/stock-initrd.cpio.gz\",
	\"boot_args\":\"console=ttyS0 reboot=k panic=1 quiet\"}"
expect_api 204 "" PUT /machine-config '{"vcpu_count":1,"mem_size_mib":256}'
expect_api 204 "" PUT /balloon '{"amount_mib":0,"deflate_on_oom":true,"stats_polling_interval_s":1}'
expect_api 204 "" PUT /actions '{"action_type":"InstanceStart"}'
wait_line_in vm.out "petrel-guest: init started" 300 ||
	{ fail "the guest did not reach its init"; tail -n 20 "$T/vm.out"; exit 1; }
sleep 2
# Once more for a shell that was not reading yet.
ask ready "ls -d /sys/bus/virtio/drivers/virtio_balloon/virtio*" 60 ||
	ask ready "ls -d /sys/bus/virtio/drivers/virtio_balloon/virtio*" 60 || exit 1
grep -aq '^/sys/bus/virtio/drivers/virtio_balloon/virtio' "$T/vm.out" &&
	pass "the stock kernel's virtio_balloon drives petrel's balloon" ||
	fail "no virtio device bound to virtio_balloon"

# Most of what is free, 24 MiB kept for the kernel and the shell.
ask touched 'mkdir -p /t && mount -t tmpfs -o size=240m tmpfs /t &&
n=$(awk "/^MemAvailable:/ { print int(\$2 / 1024) - 24 }" /proc/meminfo) && echo "bal: n=$n" &&
dd if=/dev/zero of=/t/fill bs=1M count=$n 2>/dev/null && rm /t/fill' 300 || exit 1
n=$(guest_num n)
[ -n "$n" ] && [ "$n" -ge 120 ] && pass "the guest filled and freed $n MiB" ||
	fail "the guest had only ${n:-?} MiB to fill"
sleep 1
before=$(rss_mib)

expect_api 204 "" PATCH /balloon '{"amount_mib":100}'
wait_actual 100 180
sleep 1
after=$(rss_mib)
drop=$((before - after))
echo "    RSS $before MiB -> $after MiB after the inflate to 100 MiB (-$drop MiB)"
[ "$drop" -ge 90 ] && pass "PATCH /balloon 100 MiB: petrel's RSS $before -> $after MiB" ||
	fail "PATCH /balloon 100 MiB lowered RSS by only $drop MiB ($before -> $after)"
ask alive "echo hel\"\"lo" 60 && grep -aq '^hello' "$T/vm.out" &&
	pass "the guest runs on with 100 MiB in its balloon" ||
	fail "the guest's shell does not answer after the inflate"

# More than is left outside the balloon: the guest takes pages back from it.
ask grown 'grep "^MemAvailable:" /proc/meminfo;
dd if=/dev/zero of=/t/fill bs=1M count='"$n"' 2>/dev/null; echo "bal: dd=$?";
echo "bal: killed=$(dmesg | grep -c "Killed process")"' 300 || exit 1
[ "$(guest_num dd)" = 0 ] && pass "with deflate_on_oom the guest writes $n MiB again" ||
	fail "the guest's write of $n MiB failed: dd exit $(guest_num dd)"
[ "$(guest_num killed)" = 0 ] && pass "nothing was killed for want of memory" ||
	fail "the OOM killer ran: $(grep -a 'Killed process' "$T/vm.out" | head -n 2)"
left=$(actual_mib)
[ -n "$left" ] && [ "$left" -lt 100 ] &&
	pass "the balloon gave the guest $((100 - left)) MiB back (actual $left MiB)" ||
	fail "the balloon's actual_mib is ${left:-?} after the guest ran short: $RESP"
echo "    RSS $(rss_mib) MiB with $n MiB written again, the balloon at ${left:-?} MiB"
kill -0 "$PID" && pass "petrel runs on" || fail "petrel ended"
finish
