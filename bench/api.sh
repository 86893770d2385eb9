#!/usr/bin/env bash
# The control API, measured from outside.
# Startup, RUNS times each, interleaved: petrel's exec -> its API socket
# accepting (and -> the first GET / answered, and petrel's own main() ->
# listening), beside QEMU's exec -> its QMP socket accepting (and -> the QMP
# greeting). QEMU cannot start without a machine: it gets the probe's (-S,
# not running); petrel starts with no VM at all.
# Then GET / requests per second over one keep-alive connection (petrel with
# no VM, then with the probe guest halted), three times each; and with the
# guest halted, tests/load/apiload's REQUESTS GET / from 1 and from 50
# clients at once, each holding one keep-alive connection (keep) or half of
# them opening a connection per request (mixed; one client alone opens one
# per request), three times each: requests answered per second, p99 latency
# (us) and the requests answered and failed.
# BASELINE, another petrel binary (an earlier commit's), serves the same
# apiload runs, each in turn with this petrel's, its own guest halted too.
#   bench/api.sh OUT [RUNS] [REQUESTS] [BASELINE]   (default 10 and 100000)
# writes samples into OUT.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
out=$1
runs=${2:-10}
requests=${3:-100000}
baseline=${4:-}
mkdir -p "$out"
work=$(mktemp -d)
pids=()
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"' EXIT
bench_cc "$work/apiclient" apiclient.c
bench_cc "$work/apiload" ../tests/load/apiload.c -pthread
sock=$work/api.sock
qsock=$work/qmp.sock
bsock=$work/baseline.sock
p=("$petrel" --api-sock "$sock")
q=("${qemu_probe[@]}" -append "probe.action=halt" -S -qmp "unix:$qsock,server=on,wait=off")
if [ -n "$baseline" ]; then
	cp "$baseline" "$work/"
	baseline=$work/${baseline##*/}
fi
modes=(keep mixed)
clients=(1 50)
{
	show apiclient startup SOCK "${p[@]}"
	show apiclient qmp SOCK "${q[@]}"
	show apiclient rate SOCK "$requests"
	for k in "${modes[@]}"; do
		for c in "${clients[@]}"; do show apiload -c "$c" -n "$requests" -k "$k" SOCK; done
	done
	[ -z "$baseline" ] ||
		echo "$(show "$baseline" --api-sock "$bsock")   # the same apiload runs, in turn"
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

# serve BIN SOCK: BIN listening on SOCK (within 10 s), with no VM yet.
serve() {
	local i
	rm -f "$2"
	"$1" --api-sock "$2" >/dev/null 2>&1 &
	pids+=($!)
	for ((i = 0; i < 1000; i++)); do
		[ -S "$2" ] && return 0
		sleep 0.01
	done
	echo "api.sh: $1 never listened on $2" >&2
	return 1
}

# boot SOCK: the probe guest started through the API on SOCK; it halts.
boot() {
	curl -fsS --unix-socket "$1" -X PUT http://localhost/boot-source \
		-d "{\"kernel_image_path\": \"$probe\", \"boot_args\": \"probe.action=halt\"}"
	curl -fsS --unix-socket "$1" -X PUT http://localhost/actions \
		-d '{"action_type": "InstanceStart"}'
}

# load WHO SOCK MODE CLIENTS: one apiload run into OUT/WHO.MODECLIENTS-*. Its
# own bound is 30 s a request; 15 minutes for the whole run only proves it
# does not hang.
load() {
	local f=$out/$1.$3$4 r kind
	r=$(timeout 900 "$work/apiload" -c "$4" -n "$requests" -k "$3" "$2" \
		2>> "$work/$1.complaints") || true
	# apiload's rps counts every request sent, failed ones too: only answers here
	sample "$f-rps" "$(awk '$1 == "requests" { n = $2; a = $4 }
		$1 == "rps" && n { printf "%.0f\n", $2 * a / n }' <<< "$r")"
	sample "$f-p99" "$(awk '$1 == "rps" { print $6 }' <<< "$r")"
	sample "$f-answered" "$(awk '$1 == "requests" { print $4 }' <<< "$r")"
	for kind in lost malformed unexpected idle_closed; do
		sample "$f-$kind" "$(awk -v k="$kind" '$1 == k { print $2 }' <<< "$r")"
	done
}

serve "$petrel" "$sock"
for _ in 1 2 3; do "$work/apiclient" rate "$sock" "$requests" >> "$out/petrel.rate-idle"; done
boot "$sock"
for _ in 1 2 3; do "$work/apiclient" rate "$sock" "$requests" >> "$out/petrel.rate-running"; done
if [ -n "$baseline" ]; then
	serve "$baseline" "$bsock"
	boot "$bsock"
fi
for k in "${modes[@]}"; do
	for c in "${clients[@]}"; do
		for _ in 1 2 3; do
			load petrel "$sock" "$k" "$c"
			[ -z "$baseline" ] || load baseline "$bsock" "$k" "$c"
		done
	done
done
for f in "$work"/*.complaints; do
	[ -s "$f" ] || continue
	f_who=${f##*/}
	echo "api.sh: apiload's failures against ${f_who%.complaints}, by kind:" >&2
	sed 's/client [0-9]*/client N/' "$f" | sort | uniq -c | sort -rn | head -n 10 >&2
done
for pid in "${pids[@]}"; do
	kill "$pid"
	wait "$pid" || true
done
pids=()
