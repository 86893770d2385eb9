#!/usr/bin/env bash
# What the seccomp filters cost at boot: the probe guest's exec -> hello line
# with the built-in filters and with --no-seccomp, runs interleaved, and
# what compiling the three filters at startup takes (petrel's debug line).
#   bench/sandbox.sh [RUNS]     (default 10) prints a markdown table.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
runs=${1:-10}
petrel=${PETREL_BIN:-$src/build/petrel}
guest_dir=${PETREL_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/petrel/guest}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/linetime" "$here/linetime.c"
cat > "$work/vm.json" <<JSON
{ "boot-source": { "kernel_image_path": "$guest_dir/probe.elf", "boot_args": "console=ttyS0 probe.action=poweroff" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 } }
JSON
for _ in $(seq "$runs"); do
	"$work/linetime" "probe: hello" "$petrel" --no-api --config-file "$work/vm.json" \
		>> "$work/on" 2>/dev/null
	"$work/linetime" "probe: hello" "$petrel" --no-api --no-seccomp \
		--config-file "$work/vm.json" >> "$work/off" 2>/dev/null
done
read -r amin amed ap90 an < <("$here/stats.sh" < "$work/on")
read -r bmin bmed bp90 bn < <("$here/stats.sh" < "$work/off")
echo "| probe boot, exec → hello line (µs) | runs | min | median | p90 |"
echo "|---|---|---|---|---|"
echo "| built-in seccomp filters | $an | $amin | $amed | $ap90 |"
echo "| --no-seccomp | $bn | $bmin | $bmed | $bp90 |"
for _ in $(seq "$runs"); do
	"$petrel" --no-api --level Debug --config-file "$work/vm.json" 2>&1 >/dev/null |
		sed -n 's/.*seccomp: filters compiled in \([0-9]*\) us.*/\1/p'
done > "$work/compile"
read -r cmin cmed cp90 cn < <("$here/stats.sh" < "$work/compile")
echo "| compiling the three filters at startup | $cn | $cmin | $cmed | $cp90 |"
