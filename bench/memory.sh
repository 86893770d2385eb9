#!/usr/bin/env bash
# Memory overhead of the monitor process with the probe guest idle (1 vCPU,
# 128 MiB, probe.action=halt), petrel beside QEMU microvm, RUNS times each:
# one second after the probe's "halting" line, /proc/PID/smaps without the
# guest RAM mapping (the one anonymous mapping of exactly 128 MiB, for both):
#   anon   resident pages of anonymous mappings (heap, stacks, ...) and the
#          private copies in file mappings (relocated data)
#   file   resident pages of file mappings that are still the file's own
#          (text, read-only data; shared with other processes or not)
#   pss    the process's proportional share of everything
#   guest  resident pages of the guest RAM mapping (for reference)
# (KiB), and the sizes of the binaries (bytes).
#   bench/memory.sh OUT [RUNS]   (default 10) writes samples into OUT.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_out "$@"
bench_work
guest_kib=$((128 * 1024))
probe_json "$work/vm.json" "probe.action=halt"
p=("$petrel" --no-api --config-file "$work/vm.json")
q=("${qemu_probe[@]}" -append "probe.action=halt")
{
	show "${p[@]}"
	show "${q[@]}"
	show_file "$work/vm.json"
} > "$out/commands"

# smaps PID: "anon file pss guest" in KiB.
smaps() {
	awk -v guest="$guest_kib" '
	function flush() {
		if (!size) return
		if (!isguest) { pss_t += pss; if (path ~ /^\//) { file += rss - an; anon += an } else anon += rss }
		else grss += rss
	}
	/^[0-9a-f]+-[0-9a-f]+ / { flush(); path = $6; size = 0; isguest = 0; next }
	/^Size:/ { size = $2; isguest = ($2 == guest && path == "" && !seen++) }
	/^Rss:/ { rss = $2 }
	/^Pss:/ { pss = $2 }
	/^Anonymous:/ { an = $2 }
	END { flush(); print anon, file, pss_t, grss }' "/proc/$1/smaps"
}

# measure WHO CMD...: one run.
measure() {
	local who=$1 a f s g
	shift
	"$@" < /dev/null > "$work/console" 2>/dev/null &
	pid=$!
	if wait_line "$work/console" "probe: halting"; then
		sleep 1
		read -r a f s g < <(smaps "$pid")
		sample "$out/$who.anon" "$a"
		sample "$out/$who.file" "$f"
		sample "$out/$who.total" "$((a + f))"
		sample "$out/$who.pss" "$s"
		sample "$out/$who.guest" "$g"
	fi
	kill "$pid"
	wait "$pid" || true
	pid=
}

for _ in $(seq "$runs"); do
	measure petrel "${p[@]}"
	measure qemu "${q[@]}"
done

# Sizes: petrel is one static binary; QEMU is its binary and its shared libraries.
strip -o "$work/petrel.stripped" "$petrel"
mapfile -t libs < <(ldd "$qemu_bin" | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
{
	echo "petrel.binary $(stat -L -c %s "$petrel")"
	echo "petrel.stripped $(stat -c %s "$work/petrel.stripped")"
	echo "qemu.binary $(stat -L -c %s "$qemu_bin")"
	echo "qemu.libs $(stat -L -c %s "${libs[@]}" | awk '{ s += $1 } END { print s }')"
	echo "qemu.nlibs ${#libs[@]}"
} > "$out/sizes"
