#!/usr/bin/env bash
# The balloon, petrel beside QEMU microvm's virtio-balloon-device, on the
# probe's driver (probe.action=balloon; 1 vCPU, 256 MiB, a 128 MiB pool it
# writes to first), RUNS times each, interleaved:
# - inflate 64 MiB: petrel's PATCH /balloon {"amount_mib": 64}, QEMU's QMP
#   balloon to 192 MiB; request -> the probe's "balloon actual=16384" line,
#   and the monitor's VmRSS before and after.
# - free page reporting: the probe reports the pool's last 64 MiB as free,
#   2 MiB a buffer as Linux does; the time the probe counts (TSC) and the
#   VmRSS before and after.
#   bench/balloon.sh OUT [RUNS]   (default 10) writes samples into OUT.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_out "$@"
bench_work
sock=$work/api.sock
pool="probe.action=balloon probe.balloon_pool_mib=128"
# The probe waits this long before reporting, for the RSS to be read first.
report_args="probe.balloon_report_mib=64 probe.balloon_report_wait_ms=1000"

# QEMU's probe command line with 256 MiB, as petrel's.
q=() prev=
for a in "${qemu_probe[@]}"; do
	[ "$prev" != -m ] || a=256
	q+=("$a")
	prev=$a
done
q+=(-qmp "unix:$work/qmp.sock,server=on,wait=off")

petrel_json() {
	cat > "$1" <<JSON
{ "boot-source": { "kernel_image_path": "$probe", "boot_args": "console=ttyS0 $pool $2" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 256 },
  "balloon": { "amount_mib": 0, "deflate_on_oom": false, "free_page_reporting": $3 } }
JSON
}
petrel_json "$work/inflate.json" "" false
petrel_json "$work/report.json" "$report_args" true

rss_kib() {
	local k
	k=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
	[ -n "$k" ] || { echo "balloon.sh: no VmRSS for pid $pid" >&2; exit 1; }
	echo "$k"
}

# ask_time KIND CONSOLE: sends the inflate (KIND petrel: PATCH /balloon on
# $sock; qemu: QMP balloon on $work/qmp.sock, connected beforehand) and prints
# the microseconds from the request to the probe's line, the console polled
# every 0.2 ms.
ask_time() {
	python3 - "$1" "$2" "$sock" "$work/qmp.sock" <<'PY'
import json, socket, sys, time
kind, console, api, qmp = sys.argv[1:]
line = b"probe: balloon actual=16384"
s = socket.socket(socket.AF_UNIX)
if kind == "petrel":
    s.connect(api)
    body = b'{"amount_mib": 64}'
    req = (b"PATCH /balloon HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
else:
    s.connect(qmp)
    f = s.makefile("rw")
    f.readline()
    f.write('{"execute": "qmp_capabilities"}\n'); f.flush()
    f.readline()
    req = b'{"execute": "balloon", "arguments": {"value": %d}}\n' % (192 << 20)
with open(console, "rb") as c:
    seen = c.read()
    t0 = time.monotonic()
    s.sendall(req)
    answer = s.recv(4096)
    if not (answer.startswith(b"HTTP/1.1 204") or b'"return"' in answer):
        sys.exit("balloon.sh: %s refused the inflate: %r" % (kind, answer))
    while line not in seen:
        if time.monotonic() - t0 > 30:
            sys.exit("balloon.sh: %s: no '%s' in 30 s" % (kind, line.decode()))
        seen += c.read()
        time.sleep(0.0002)
    print(int((time.monotonic() - t0) * 1e6))
PY
}

# start KIND NAME [QEMU_DEVICE_OPTIONS]: the monitor (pid), its console in $work/NAME.out.
start() {
	local c=$work/$2.out
	# Emptied here: the redirection below happens in the child, maybe after wait_line looks.
	rm -f "$sock" "$work/qmp.sock" "$c"
	: > "$c"
	if [ "$1" = petrel ]; then
		"$petrel" --api-sock "$sock" --config-file "$work/$2.json" </dev/null >"$c" 2>"$work/$2.log" &
	else
		local args=$pool
		[ "$2" != report ] || args="$pool $report_args"
		"${q[@]}" -append "$args" -device "virtio-balloon-device${3:-}" </dev/null >"$c" 2>"$work/$2.log" &
	fi
	pid=$!
	wait_line "$c" "probe: balloon ready" 30 ||
		{ echo "balloon.sh: $1 $2: the probe's balloon never got ready" >&2; tail -5 "$c" "$work/$2.log" >&2; exit 1; }
}

stop() {
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=
}

# inflate KIND: one run of the 64 MiB inflate.
inflate() {
	local before us
	start "$1" inflate
	before=$(rss_kib)
	us=$(ask_time "$1" "$work/inflate.out")
	sample "$out/$1.inflate-us" "$us"
	sample "$out/$1.inflate-drop-kib" $((before - $(rss_kib)))
	stop
}

# report KIND: one run of reporting 64 MiB free; again when the host was too
# slow to read the RSS before the probe reported.
report() {
	local before c=$work/report.out try
	for try in 1 2 3; do
		start "$1" report ",free-page-reporting=on"
		before=$(rss_kib)
		! grep -q "balloon reported" "$c" || before=
		[ -z "$before" ] || break
		echo "balloon.sh: $1: the RSS was read after the report (try $try)" >&2
		stop
	done
	[ -n "$before" ] || exit 1
	wait_line "$c" "probe: balloon reported mib=64 " 30 ||
		{ echo "balloon.sh: $1: no report line" >&2; tail -5 "$c" >&2; exit 1; }
	sample "$out/$1.report-us" "$(sed -n 's/.*balloon reported mib=64 us=\([0-9]*\).*/\1/p' "$c" | tr -d '\r')"
	sample "$out/$1.report-drop-kib" $((before - $(rss_kib)))
	stop
}

{
	show "$petrel" --api-sock api.sock --config-file inflate.json
	echo "   # PATCH /balloon {\"amount_mib\": 64}"
	show_file "$work/inflate.json"
	show "$petrel" --api-sock api.sock --config-file report.json
	show_file "$work/report.json"
	echo "$(show "${q[@]}" -append "$pool" -device virtio-balloon-device)   # QMP balloon 192 MiB"
	show "${q[@]}" -append "$pool $report_args" -device virtio-balloon-device,free-page-reporting=on
} > "$out/commands"

for _ in $(seq "$runs"); do
	for k in petrel qemu; do
		inflate "$k"
		report "$k"
	done
done

# median FILE DIV: the median over DIV, one decimal.
median() { sort -n "$1" | awk -v d="$2" '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / d }'; }
for k in petrel qemu; do
	echo "$k: inflate 64 MiB $(median "$out/$k.inflate-us" 1000) ms, RSS -$(median "$out/$k.inflate-drop-kib" 1024) MiB;" \
		"report 64 MiB $(median "$out/$k.report-us" 1000) ms, RSS -$(median "$out/$k.report-drop-kib" 1024) MiB (medians)"
done
