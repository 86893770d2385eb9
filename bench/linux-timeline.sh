#!/usr/bin/env bash
# Where a Linux guest's boot time goes: petrel's boot timeline over RUNS
# boots of each kernel inside the test host VM (tests/hostvm: L1 under QEMU's
# software emulation, real KVM inside), bench/inner-linux-timeline.sh; the
# probe's on this host is bench/timeline.sh.
#   bench/linux-timeline.sh OUT [RUNS] [GUEST...]
#     (default 10, micro-vmlinux micro-bzImage stock-vmlinuz)
# writes OUT/GUEST.runs (a boot a line: each phase's µs since process start,
# in the order of OUT/phases) as boots end, so a run cut short keeps them,
# and from it OUT/GUEST.PHASE, one sample a line.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_out "$@"
shift 2 || shift $#
bench_hostvm
[ $# -gt 0 ] || set -- micro-vmlinux micro-bzImage stock-vmlinuz
[ ! -f "$guest_dir/cloud-kernel/VERSION" ] || echo "stock $(cat "$guest_dir/cloud-kernel/VERSION")" > "$out/versions"

have() { [ -s "$out/$1.runs" ] && wc -l < "$out/$1.runs" || echo 0; }

# missing: GUEST:N for each guest still N boots short.
missing() {
	local g n
	for g in "$@"; do
		n=$((runs - $(have "$g")))
		[ "$n" -le 0 ] || echo "$g:$n"
	done
}

# One L1 for all the boots still needed: a boot of a Linux guest takes
# 5 to 15 s there, 60 s each is room for a loaded host.
batch() {	# batch GUEST:N...
	local a total=0
	for a in "$@"; do total=$((total + ${a##*:})); done
	"$src/tests/hostvm/run.sh" --timeout $((300 + total * 60)) \
		--include "$here/inner-linux-timeline.sh" \
		"$here/inner-linux-timeline.sh" "$@" |
		hostvm_samples "$out"
}

# L1 itself hangs now and then (tests/hostvm/README.md): the boots measured
# so far stay, and a new L1 takes those still missing, up to 3 L1s.
for attempt in 1 2 3; do
	mapfile -t todo < <(missing "$@")
	[ ${#todo[@]} -gt 0 ] || break
	[ "$attempt" = 1 ] || echo "linux-timeline: a new L1 for ${todo[*]}" >&2
	batch "${todo[@]}" || true
done

# One file a phase, as bench/timeline.sh leaves them ("-": not reached).
# (Each L1 names the phases: the first line stays.)
[ -s "$out/phases" ] || { echo "linux-timeline: no phases from L1" >&2; exit 1; }
read -r -a phases < "$out/phases"
echo "${phases[*]}" > "$out/phases"
for g in "$@"; do
	for i in "${!phases[@]}"; do
		rm -f "$out/$g.${phases[i]}"
		[ -s "$out/$g.runs" ] || continue
		while read -r -a v; do
			sample "$out/$g.${phases[i]}" "${v[i]:-}"
		done < "$out/$g.runs"
	done
done
rc=0
for g in "$@"; do
	[ "$(have "$g")" -ge "$runs" ] && continue
	echo "linux-timeline: $g: $(have "$g") of $runs boots" >&2
	rc=1
done
exit "$rc"
