#!/usr/bin/env bash
# Startup of the control plane, RUNS times each, interleaved: petrel's exec ->
# its API socket accepting (and -> the first GET / answered, and petrel's own
# main() -> listening), beside QEMU's exec -> its QMP socket accepting (and
# -> the QMP greeting). QEMU cannot start without a machine: it gets the
# probe's (-S, not running); petrel starts with no VM at all.
# Then GET / requests per second over one keep-alive connection (petrel with
# no VM, then with the probe guest halted), three times each; and with the
# guest halted, tests/load/apiload's requests per second and p99 latency (us)
# for REQUESTS GET / from 1 and from 50 keep-alive clients at once, three
# times each.
#   bench/api.sh OUT [RUNS] [REQUESTS]   (default 10 and 100000) writes samples into OUT.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
out=$1
runs=${2:-10}
requests=${3:-100000}
mkdir -p "$out"
work=$(mktemp -d)
pid=
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
bench_cc "$work/apiclient" apiclient.c
bench_cc "$work/apiload" ../tests/load/apiload.c -pthread
sock=$work/api.sock
qsock=$work/qmp.sock
p=("$petrel" --api-sock "$sock")
q=("${qemu_probe[@]}" -append "probe.action=halt" -S -qmp "unix:$qsock,server=on,wait=off")
{
	show apiclient startup SOCK "${p[@]}"
	show apiclient qmp SOCK "${q[@]}"
	show apiclient rate SOCK "$requests"
	for c in 1 50; do show apiload -c "$c" -n "$requests" -k keep SOCK; done
} > "$out/commands"
for _ in $(seq "$runs"); do
	read -r a g < <("$work/apiclient" startup "$sock" "${p[@]}" 2>> "$work/log" || echo - -)
	sample "$out/petrel.accept" "$a"
	sample "$out/petrel.answer" "$g"
	read -r a g < <("$work/apiclient" qmp "$qsock" "${q[@]}" </dev/null 2>/dev/null || echo - -)
	sample "$out/qemu.accept" "$a"
	sample "$out/qemu.answer" "$g"
done
# petrel's own process_startup_time_us: from main() to listening
sed -n 's/.*API server listening on .* (\([0-9]*\) us after start)/\1/p' "$work/log" \
	>> "$out/petrel.main-listening"

rm -f "$sock"
"$petrel" --api-sock "$sock" >/dev/null 2>&1 &
pid=$!
until [ -S "$sock" ]; do sleep 0.01; done
for _ in 1 2 3; do "$work/apiclient" rate "$sock" "$requests" >> "$out/petrel.rate-idle"; done
curl -s --unix-socket "$sock" -X PUT http://localhost/boot-source \
	-d "{\"kernel_image_path\": \"$probe\", \"boot_args\": \"probe.action=halt\"}"
curl -s --unix-socket "$sock" -X PUT http://localhost/actions -d '{"action_type": "InstanceStart"}'
for _ in 1 2 3; do "$work/apiclient" rate "$sock" "$requests" >> "$out/petrel.rate-running"; done
# apiload's last line: rps N p50_us N p99_us N max_us N
for c in 1 50; do
	for _ in 1 2 3; do
		read -r _ rps _ _ _ p99 _ < <("$work/apiload" -c "$c" -n "$requests" -k keep "$sock" |
			tail -1 || echo - - - - - -)
		sample "$out/petrel.load$c-rps" "$rps"
		sample "$out/petrel.load$c-p99" "$p99"
	done
done
kill "$pid"
wait "$pid" || true
pid=
