#!/usr/bin/env bash
# All the benchmarks, petrel beside QEMU microvm, and docs/benchmarks.md with
# its charts (docs/benchmarks/*.png) written from their results.
#   bench/run.sh [options]
#     --only LIST     some of: boot,linux,api,memory,density,blk,net,devices,sandbox,
#                     snapshot,uffd,timeline,linux-timeline,mmds,vsock,balloon,ratelimit,
#                     kernelload
#                     (default all; startup is the old name of api);
#                     the others' results from an earlier run stay on the page
#     --baseline COMMIT  with api: build petrel as it was at COMMIT (a git
#                     worktree and a release build in a temporary folder under
#                     build/) and run apiload against it too, in turn with
#                     this petrel, to show what the API server's changes since
#                     did (8d7fe5d: the last commit before its epoll loop).
#                     Off unless given.
#     --runs N        runs of each measurement (default 10)
#     --density LIST  how many VMs at once (default 50,100,200)
#     --clones LIST   how many clones of one snapshot at once (default 100,500,1000)
#     --blk-mib N     MiB the probe writes and reads back (default 64)
#     --net-frames N  frames each way (default 10000)
#     --requests N    API requests in each rate and apiload run (default 100000)
#     --smoke         one run of each, small sizes, the Linux guests only if built
#                     (a short test host VM boot for each); proves the scripts work.
#                     Writes build/bench/smoke/ unless --results/--page say otherwise
#     --results DIR   raw samples (default build/bench/results)
#     --page FILE     the page (default docs/benchmarks.md)
# Root (network namespace, tap). Needs build/petrel, gnuplot, qemu-system-x86_64.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
all=(boot linux api memory density blk net devices sandbox snapshot uffd timeline linux-timeline mmds vsock balloon
	ratelimit kernelload)
only=$(IFS=,; echo "${all[*]}")
runs=10 density=50,100,200 clones=100,500,1000 blk_mib=64 blk_ms=1000 net_frames=10000 requests=100000
rl_mib=8
smoke=0 results="" page="" baseline=""
while [ $# -gt 0 ]; do
	case "$1" in
	--only) only=${2:?}; shift 2 ;;
	--runs) runs=${2:?}; shift 2 ;;
	--density) density=${2:?}; shift 2 ;;
	--clones) clones=${2:?}; shift 2 ;;
	--blk-mib) blk_mib=${2:?}; shift 2 ;;
	--net-frames) net_frames=${2:?}; shift 2 ;;
	--requests) requests=${2:?}; shift 2 ;;
	--baseline) baseline=${2:?}; shift 2 ;;
	--smoke) smoke=1; shift ;;
	--results) results=${2:?}; shift 2 ;;
	--page) page=${2:?}; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option '$1' (--help)" >&2; exit 2 ;;
	esac
done
if [ "$smoke" = 1 ]; then
	runs=1 density=5 clones=5 blk_mib=4 blk_ms=100 net_frames=500 requests=1000 rl_mib=4
	results=${results:-$src/build/bench/smoke}
	page=${page:-$src/build/bench/smoke/benchmarks.md}
fi
results=${results:-$src/build/bench/results}
page=${page:-$src/docs/benchmarks.md}
IFS=, read -r -a selected <<< "${only//startup/api}"
for b in "${selected[@]}"; do
	[[ " ${all[*]} " == *" $b "* ]] || { echo "run.sh: no benchmark '$b' (${all[*]})" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root (network namespace, tap)" >&2; exit 1; }
for c in gnuplot "$qemu_bin" ip python3 curl strip; do
	command -v "$c" >/dev/null || { echo "run.sh: $c is missing" >&2; exit 1; }
done
[ -x "$petrel" ] || { echo "run.sh: no petrel at $petrel (build it first)" >&2; exit 1; }
if [ -n "$baseline" ]; then
	[[ " ${selected[*]} " == *" api "* ]] || { echo "run.sh: --baseline is for api" >&2; exit 2; }
	git -C "$src" rev-parse -q --verify "$baseline^{commit}" >/dev/null ||
		{ echo "run.sh: --baseline $baseline: no such commit" >&2; exit 2; }
fi
"$src/tests/guest/build.sh" probe >/dev/null
mkdir -p "$results"

# baseline_build: petrel at $baseline, built in a worktree of its own under
# build/ (removed on exit), as $baseline_bin.
baseline_dir="" baseline_bin=""
baseline_clean() {
	[ -n "$baseline_dir" ] || return 0
	git -C "$src" worktree remove --force "$baseline_dir/src" 2>/dev/null || true
	rm -rf "$baseline_dir"
}
trap baseline_clean EXIT
baseline_build() {
	local short opts=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
	short=$(git -C "$src" rev-parse --short "$baseline^{commit}")
	mkdir -p "$src/build"
	baseline_dir=$(mktemp -d "$src/build/baseline.XXXXXX")
	printf '=== building petrel at %s for the baseline (%ss)\n' "$short" "$SECONDS" >&2
	git -C "$src" worktree add -q --detach "$baseline_dir/src" "$short"
	! grep -q 'option(PETREL_TESTS' "$baseline_dir/src/CMakeLists.txt" || opts+=(-DPETREL_TESTS=OFF)
	cmake -S "$baseline_dir/src" -B "$baseline_dir/build" "${opts[@]}" >/dev/null
	cmake --build "$baseline_dir/build" -j2 --target petrel > "$baseline_dir/build.log" 2>&1 ||
		{ cat "$baseline_dir/build.log" >&2; return 1; }
	baseline_bin=$baseline_dir/petrel-$short
	cp "$baseline_dir/build/petrel" "$baseline_bin"
}

# What ran where: the machine and the versions, for the page.
machine() {
	local kvm=none m
	for m in kvm_pvm kvm_intel kvm_amd; do
		[ -d "/sys/module/$m" ] && { kvm=$m; break; }
	done
	echo "cpu $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)"
	echo "cores $(nproc)"
	echo "memory $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "os $(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "kernel $(uname -r)"
	echo "kvm $kvm"
	echo "petrel $("$petrel" --version), commit $(git -C "$src" describe --always --dirty 2>/dev/null ||
		echo unknown)"
	echo "qemu $("$qemu_bin" --version | sed -n '1s/.*version \([^ ]*\).*/\1/p')"
	echo "qemu-package $(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || echo '?')"
	[ ! -f "$guest_dir/micro.config" ] ||
		echo "micro $(sed -n 's/^# Linux\/x86_64 \([^ ]*\) Kernel Configuration/\1/p' "$guest_dir/micro.config")"
	[ ! -f "$guest_dir/cloud-kernel/VERSION" ] || echo "stock $(cat "$guest_dir/cloud-kernel/VERSION")"
}
machine > "$results/machine"

# in_l1 NAME: a benchmark that runs in the test host VM.
in_l1() { [ "$1" = linux ] || [ "$1" = uffd ] || [ "$1" = linux-timeline ]; }
linux_ready() {
	local f
	for f in micro-vmlinux micro-bzImage micro-initrd.cpio.gz stock-vmlinuz stock-initrd.cpio.gz \
		rootfs.ext4; do
		[ -f "$guest_dir/$f" ] || return 1
	done
}

# bench NAME CMD...: run one benchmark into a fresh results/NAME.
failed=()
bench() {
	local name=$1 dir=$results/$1
	shift
	rm -rf "$dir"
	mkdir -p "$dir"
	echo "$runs" > "$dir/runs"
	echo "start $(date -u '+%Y-%m-%d %H:%M UTC') load $(cut -d' ' -f1-3 /proc/loadavg)" > "$dir/when"
	echo "commit $(git -C "$src" describe --always --dirty 2>/dev/null || echo unknown)" >> "$dir/when"
	printf '=== %s (%ss)\n' "$name" "$SECONDS" >&2
	if ! "$@" "$dir"; then
		echo "run.sh: benchmark $name failed" >&2
		failed+=("$name")
	fi
	echo "end $(date -u '+%H:%M UTC') load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$dir/when"
}

run_boot() { "$here/boot.sh" "$1" "$runs"; }
run_timeline() { "$here/timeline.sh" "$1" "$runs"; }
# The Linux guests' timelines, in the test host VM like linux (one L1; a smoke
# run boots each kernel once).
run_linux-timeline() { "$here/linux-timeline.sh" "$1" "$runs"; }
run_api() {
	if [ -n "$baseline_bin" ]; then
		echo "commit $(git -C "$src" rev-parse --short "$baseline^{commit}")" > "$1/baseline"
		echo "subject $(git -C "$src" log -1 --format=%s "$baseline")" >> "$1/baseline"
	fi
	"$here/api.sh" "$1" "$runs" "$requests" "$baseline_bin"
}
run_memory() { "$here/memory.sh" "$1" "$runs"; }
run_density() {
	local counts
	IFS=, read -r -a counts <<< "$density"
	"$here/density.sh" "$1" "$runs" "${counts[@]}"
}
run_snapshot() {
	local counts
	IFS=, read -r -a counts <<< "$clones"
	"$here/snapshot.sh" "$1" "$runs" "${counts[@]}"
}
run_blk() { "$here/blk.sh" "$1" "$runs" "$blk_mib" "$blk_ms"; }
run_net() { "$here/net.sh" "$1" "$runs" "$net_frames"; }
run_ratelimit() { "$here/ratelimit.sh" "$1" "$runs" "$rl_mib"; }
# The host's own device figures: three runs (each takes minutes), one in a smoke run.
run_devices() {
	echo $((smoke ? 1 : 3)) > "$1/runs"
	BLK_MIB=$blk_mib NET_FRAMES=$((net_frames * 2)) "$here/devices.sh" "$(cat "$1/runs")" \
		> "$1/tables.md"
}
run_sandbox() { "$here/sandbox.sh" "$runs" > "$1/tables.md"; }
run_mmds() { "$here/mmds.sh" "$1" "$runs" $((smoke ? 200 : 2000)) > /dev/null; }
# vsock on the probe: 16 MiB each way and 200 connections a run (smoke: 1 MiB, 20).
run_vsock() {
	if [ "$smoke" = 1 ]; then
		"$here/vsock.sh" "$1" "$runs" $((1 << 20)) 20
	else
		"$here/vsock.sh" "$1" "$runs"
	fi
}
run_balloon() { "$here/balloon.sh" "$1" "$runs"; }
# The loaders alone on this host, before (a baseline build) and after.
run_kernelload() { "$here/kernelload.sh" "$1" "$runs" > /dev/null; }
# Uffd restore of the micro kernel, in the test host VM like linux.
run_uffd() { "$here/uffd-linux.sh" "$1" "$runs"; }
run_linux() {
	if [ "$smoke" = 1 ]; then
		# One short L1 boot: one kernel, once by each monitor.
		"$here/linux-boot.sh" "$1" 1 micro-vmlinux
	else
		"$here/linux-boot.sh" "$1" "$runs"
	fi
}

if [ -n "$baseline" ]; then
	baseline_build
fi
for b in "${selected[@]}"; do
	if in_l1 "$b" && [ "${PETREL_SKIP_SLOW:-0}" = 1 ]; then
		echo "run.sh: $b skipped: PETREL_SKIP_SLOW=1 (no test host VM)" >&2
		continue
	fi
	# kernelload reads the Linux images on this host, without booting them
	if { in_l1 "$b" || [ "$b" = kernelload ]; } && ! linux_ready; then
		if [ "$smoke" = 1 ]; then
			echo "run.sh: $b skipped: the Linux guests are not built" \
				"(tests/guest/build.sh micro stock rootfs)" >&2
			continue
		fi
		"$src/tests/guest/build.sh" micro stock rootfs
	fi
	bench "$b" "run_$b"
done

"$here/report.sh" "$results" "$page" || failed+=(report)
echo "run.sh: wrote $page (${SECONDS}s)" >&2
[ ${#failed[@]} -eq 0 ] || { echo "run.sh: failed: ${failed[*]}" >&2; exit 1; }
