#!/usr/bin/env bash
# Runs inside the test host VM (bench/linux-timeline.sh): Linux guests booted
# by petrel with --boot-timer, each boot's timeline read from its last
# metrics line (boot_timeline, docs/api.md). Boots go round the guests, so a
# change of load in L1 falls on all of them alike. Every boot that reached
# the boot timer is a line "@GUEST.runs V..." on stdout as soon as it ends:
# its phases' µs since process start in the order of "@phases" ("-" for a
# phase it lacks), so a run cut short keeps what it measured.
#   inner-linux-timeline.sh GUEST:RUNS...   (micro-vmlinux:5 stock-vmlinuz:5)
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: inner-linux-timeline.sh GUEST:RUNS..." >&2; exit 2; }
g=$PETREL_GUEST_DIR
w=/tmp/linux-timeline
args="console=ttyS0 reboot=k panic=1 petrel.poweroff"
# api_socket_ready never comes with --no-api: the VM builds at once.
phases=(instance_start memory_mapped devices_attached kernel_loaded first_kvm_run
	first_console_output boot_timer)
rm -rf "$w"
mkdir -p "$w"
emit() {	# emit FILE TEXT: a line for FILE (none when TEXT is empty)
	[ -z "$2" ] || echo "@$1 $2"
}
show() {	# a command line, words with spaces quoted, short names for the paths
	local a line=
	for a in "$@"; do
		[[ $a == *" "* ]] && a="\"$a\""
		line+="${line:+ }$a"
	done
	echo "$line" | short
}
short() { sed -e "s|$w|\$WORK|g" -e "s|$g/|\$GUESTS/|g" -e "s|$PETREL_BIN|petrel|g"; }
config() {	# config GUEST: $w/GUEST.json, its metrics into $w/GUEST.m
	cat > "$w/$1.json" <<JSON
{ "boot-source": { "kernel_image_path": "$g/$1", "initrd_path": "$g/${1%%-*}-initrd.cpio.gz",
                   "boot_args": "$args" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 256 },
  "metrics": { "metrics_path": "$w/$1.m" } }
JSON
}

# boot GUEST: one boot; its phases, or a line on stderr saying why not.
boot() {
	local n=$1 line rc=0
	rm -f "$w/$n.m" "$w/log"
	# A guest that never powers off would stop every boot after it: 300 s
	# is far beyond a boot here (10 to 30 s), only a bound against a hang.
	timeout -s KILL 300 "$PETREL_BIN" --no-api --boot-timer --log-path "$w/log" \
		--config-file "$w/$n.json" </dev/null >"$w/console" 2>&1 || rc=$?
	line=$(tail -n 1 "$w/$n.m" 2>/dev/null | jq -r --arg p "${phases[*]}" \
		'.boot_timeline.since_start_us as $t | [($p | split(" "))[] | $t[.] // "-"] | join(" ")' \
		2>/dev/null || true)
	if [ -z "$line" ] || [[ " $line " == *" - " ]]; then
		echo "inner-linux-timeline: $n: no boot timer in the timeline (exit $rc)" >&2
		tail -n 5 "$w/log" "$w/console" >&2 || true
		return 0
	fi
	emit "$n.runs" "$line"
}

emit versions "l1-kernel $(uname -r)"
emit phases "${phases[*]}"
max=0
for a in "$@"; do
	n=${a%%:*}
	r=${a##*:}
	if ! [[ $r =~ ^[0-9]+$ ]] || [ ! -f "$g/$n" ]; then
		echo "inner-linux-timeline: '$a' is not GUEST:RUNS of a guest in $g" >&2
		exit 2
	fi
	config "$n"
	# Every boot finds its images in L1's page cache, as on a host that boots
	# VMs all day; else the first boot's kernel_loaded is a disk read.
	cat "$g/$n" "$g/${n%%-*}-initrd.cpio.gz" > /dev/null
	emit commands "$(show "$PETREL_BIN" --no-api --boot-timer --log-path "$w/log" --config-file "$w/$n.json")"
	emit commands "$(echo "$w/$n.json: $(jq -c . "$w/$n.json")" | short)"
	[ "$r" -le "$max" ] || max=$r
done
for i in $(seq "$max"); do
	for a in "$@"; do
		[ "${a##*:}" -ge "$i" ] || continue
		boot "${a%%:*}"
		echo "${a%%:*}: boot $i of ${a##*:} done" >&2
	done
done
