#!/usr/bin/env bash
# The control API: time from exec to the socket accepting (and to the first
# GET / answered, and petrel's own main() -> listening), over RUNS starts,
# and GET / requests per second over one keep-alive connection (petrel with
# no VM, then with the probe guest running).
#   bench/api.sh [RUNS] [REQUESTS]     (default 20 and 100000) prints a markdown table.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
runs=${1:-20}
requests=${2:-100000}
petrel=${PETREL_BIN:-$src/build/petrel}
probe=${PETREL_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/petrel/guest}/probe.elf
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
pid=
gcc -O2 -o "$work/apiclient" "$here/apiclient.c"
sock=$work/api.sock

for _ in $(seq "$runs"); do
	"$work/apiclient" startup "$sock" "$petrel" --api-sock "$sock" >> "$work/startup" \
		2>> "$work/log"
done
read -r amin amed ap90 an < <(cut -d' ' -f1 "$work/startup" | "$here/stats.sh")
read -r gmin gmed gp90 gn < <(cut -d' ' -f2 "$work/startup" | "$here/stats.sh")
# petrel's own process_startup_time_us: from main() to listening
read -r mmin mmed mp90 mn < <(sed -n 's/.*API server listening on .* (\([0-9]*\) us after start)/\1/p' \
	"$work/log" | "$here/stats.sh")

# rate LABEL: requests per second, median of three runs
rate() {
	for _ in 1 2 3; do "$work/apiclient" rate "$sock" "$requests"; done | "$here/stats.sh" |
		awk '{ print $2 }'
}
"$petrel" --api-sock "$sock" 2>/dev/null &
pid=$!
until [ -S "$sock" ]; do sleep 0.01; done
idle=$(rate)
curl -s --unix-socket "$sock" -X PUT http://localhost/boot-source \
	-d "{\"kernel_image_path\": \"$probe\", \"boot_args\": \"probe.action=halt\"}"
curl -s --unix-socket "$sock" -X PUT http://localhost/actions -d '{"action_type": "InstanceStart"}'
running=$(rate)
kill "$pid"

echo "| measure | min | median | p90 | n |"
echo "|---|---|---|---|---|"
echo "| exec → API socket accepting, µs | $amin | $amed | $ap90 | $an |"
echo "| main() → listening (process_startup_time_us), µs | $mmin | $mmed | $mp90 | $mn |"
echo "| exec → first GET / answered, µs | $gmin | $gmed | $gp90 | $gn |"
echo
echo "GET / over one keep-alive connection ($requests requests, median of 3):"
echo "$idle requests/s with no VM, $running requests/s with the probe guest running (halted)."
