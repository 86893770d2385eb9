#!/usr/bin/env bash
# The kernel_loaded phase alone, without a boot (this host's KVM cannot boot
# Linux): petrel's loaders read a kernel and a 64 MiB initrd into fresh guest
# memory of 512 MiB (build/bench/kernelload, bench/kernelload.c), for the
# micro vmlinux (ELF, PVH), the micro bzImage and the stock kernel (bzImage).
# The loaders of BASELINE (built in a git worktree under build/, removed on
# exit) beside this tree's, runs interleaved; cold: the page cache dropped
# before each run (echo 3 > /proc/sys/vm/drop_caches), warm: the files read
# just before.
#   bench/kernelload.sh OUT [RUNS] [BASELINE]
#     RUNS default 10; BASELINE default 5eb14d1, the last commit whose loaders
#     read each file whole into the heap, then copied it into guest memory.
# Writes OUT/VARIANT.KERNEL.MODE.{kernel,initrd,total}-us (one sample a line),
# OUT/tables.md and OUT/commands. Root (drop_caches).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
out=$1
runs=${2:-10}
baseline=${3:-5eb14d1}
after=$src/build/bench/kernelload
kernels=(micro-vmlinux micro-bzImage stock-vmlinuz)
mem_mib=512
[ "$(id -u)" -eq 0 ] || { echo "kernelload.sh: needs root (drop_caches)" >&2; exit 1; }
[ -x "$after" ] || { echo "kernelload.sh: no $after (cmake --build build)" >&2; exit 1; }
for k in "${kernels[@]}"; do
	[ -f "$guest_dir/$k" ] || { echo "kernelload.sh: no $guest_dir/$k" \
		"(tests/guest/build.sh micro stock)" >&2; exit 1; }
done
mkdir -p "$out" "$src/build"
work=$(mktemp -d "$src/build/kernelload.XXXXXX")
clean() {
	git -C "$src" worktree remove --force "$work/src" 2>/dev/null || true
	rm -rf "$work"
}
trap clean EXIT

# The baseline's petrel_core, and the same harness linked against it.
short=$(git -C "$src" rev-parse --short "$baseline^{commit}")
echo "=== building the loaders at $short" >&2
git -C "$src" worktree add -q --detach "$work/src" "$short"
cmake -S "$work/src" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPETREL_TESTS=OFF \
	>/dev/null
cmake --build "$work/build" -j2 --target petrel_core > "$work/build.log" 2>&1 ||
	{ cat "$work/build.log" >&2; exit 1; }
before=$work/kernelload-$short
gcc -O2 -g -D_GNU_SOURCE -I "$work/src/include" -o "$before" "$here/kernelload.c" \
	"$work/build/libpetrel_core.a" -ljansson -luring -lseccomp -lcap-ng -llzma -lpthread
echo "commit $short" > "$out/baseline"
echo "subject $(git -C "$src" log -1 --format=%s "$short")" >> "$out/baseline"

# A 64 MiB initrd of random bytes, on disk (not in the page cache once dropped).
initrd=$work/initrd
head -c $((64 << 20)) /dev/urandom > "$initrd"
sync "$initrd"

# one VARIANT BIN KERNEL MODE: one run, its samples filed.
one() {
	local f=$out/$1.$3.$4 k i
	[ "$4" = warm ] || { sync; echo 3 > /proc/sys/vm/drop_caches; }
	[ "$4" = cold ] || cat "$guest_dir/$3" "$initrd" > /dev/null
	read -r k i < <("$2" "$guest_dir/$3" "$initrd" "$mem_mib" 1)
	echo "$k" >> "$f.kernel-us"
	echo "$i" >> "$f.initrd-us"
	echo $((k + i)) >> "$f.total-us"
}

for k in "${kernels[@]}"; do
	for mode in cold warm; do
		rm -f "$out"/*."$k.$mode".*
		for _ in $(seq "$runs"); do
			one before "$before" "$k" "$mode"
			one after "$after" "$k" "$mode"
		done
	done
done

# ms: min / median / p90 of a sample file (µs)
ms() {
	"$here/stats.sh" < "$1" |
		awk '{ printf "%.1f / %.1f / %.1f", $1 / 1000, $2 / 1000, $3 / 1000 }'
}
ratio() {
	awk -v a="$("$here/stats.sh" < "$1" | cut -d' ' -f2)" \
		-v b="$("$here/stats.sh" < "$2" | cut -d' ' -f2)" 'BEGIN { printf "%.2f", a / b }'
}
{
	echo "| kernel (file size) | page cache | part | before ($short), ms min / median / p90 | after, ms min / median / p90 | after / before (median) |"
	echo "|---|---|---|---|---|---|"
	for k in "${kernels[@]}"; do
		size=$(awk -v b="$(stat -c %s "$guest_dir/$k")" 'BEGIN { printf "%.1f MiB", b / 1048576 }')
		for mode in cold warm; do
			for part in kernel initrd total; do
				b=$out/before.$k.$mode.$part-us a=$out/after.$k.$mode.$part-us
				echo "| $k ($size) | $mode | $part | $(ms "$b") | $(ms "$a") | **$(ratio "$a" "$b")** |"
			done
		done
	done
} > "$out/tables.md"
{
	echo "bench/kernelload.sh \$OUT $runs $short"
	echo "  # per run, before and after in turn, cold: sync; echo 3 > /proc/sys/vm/drop_caches"
	echo "  # warm: cat \$GUESTS/KERNEL \$WORK/initrd > /dev/null"
	echo "build/bench/kernelload \$GUESTS/KERNEL \$WORK/initrd $mem_mib 1"
	echo "\$WORK/kernelload-$short \$GUESTS/KERNEL \$WORK/initrd $mem_mib 1   # bench/kernelload.c on $short's petrel_core"
} > "$out/commands"
cat "$out/tables.md"
