# shellcheck shell=bash
# Sourced by the bench/ scripts: where things are, the QEMU command line that
# boots the probe, petrel's config for it, and small helpers.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
petrel=${PETREL_BIN:-$src/build/petrel}
guest_dir=${PETREL_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/petrel/guest}
probe=$guest_dir/probe.elf
qemu_bin=$(command -v qemu-system-x86_64 || echo qemu-system-x86_64)
# shellcheck disable=SC2034,SC2054 # used by the scripts that source this; the commas are QEMU's
qemu_probe=("$qemu_bin" -M microvm -enable-kvm -cpu host,-arch-capabilities -m 128 -smp 1
	    -nodefaults -no-user-config -nographic -serial stdio
	    -global virtio-mmio.force-legacy=false -kernel "$probe")

# probe_json FILE BOOT_ARGS [MORE_JSON]: a petrel config for the probe, 1 vCPU, 128 MiB.
probe_json() {
	cat > "$1" <<JSON
{ "boot-source": { "kernel_image_path": "$probe", "boot_args": "console=ttyS0 $2" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 }${3:+,
  $3} }
JSON
}

# bench_out OUT [RUNS]: out and runs (default 10) from a script's first two
# arguments; OUT is made.
bench_out() {
	out=$1
	runs=${2:-10}
	mkdir -p "$out"
}

# bench_work: work, a temporary folder removed at exit, and pid, the monitor a
# run has under way (empty between runs), killed at exit: a run cut short
# leaves none behind.
bench_work() {
	work=$(mktemp -d)
	pid=
	trap '[ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
}

# bench_hostvm: the test host VM's inner scripts take petrel and the guests
# from the environment.
bench_hostvm() {
	export PETREL_BIN=$petrel PETREL_GUEST_DIR=$guest_dir
}

# bench_cc OUT SOURCE [FLAGS...]: build a helper (SOURCE relative to bench/), static,
# so the test host VM can run it too; again when SOURCE or bench/bench.h is newer.
bench_cc() {
	{ [ "$1" -nt "$here/$2" ] && [ "$1" -nt "$here/bench.h" ]; } || gcc -O2 -static -Wall -Wextra -o "$1" "$here/$2" "${@:3}"
}

# wait_line FILE TEXT [SECONDS]: until FILE holds a line with TEXT (default 10 s).
wait_line() {
	local i
	for ((i = 0; i < ${3:-10} * 100; i++)); do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.01
	done
	return 1
}

# hostvm_samples OUT: file the lines of an inner script run in the test host
# VM (tests/hostvm/run.sh's output, on stdin). "@FILE TEXT" appends TEXT to
# OUT/FILE (versions and commands keep each line once); other lines go to
# stderr.
hostvm_samples() {
	local line f
	while IFS= read -r line; do
		line=${line%$'\r'}
		if [[ $line =~ ^@([A-Za-z0-9._-]+)\ (.*)$ ]]; then
			f=$1/${BASH_REMATCH[1]}
			case "${BASH_REMATCH[1]}" in
			versions | commands) ! grep -qxF -- "${BASH_REMATCH[2]}" "$f" 2>/dev/null || continue ;;
			esac
			echo "${BASH_REMATCH[2]}" >> "$f"
		else
			echo "$line" >&2
		fi
	done
}

# show ARGS...: a command line as the page shows it, with the scripts' own
# paths given short names ($WORK is the script's temporary folder).
show() {
	local a line=
	for a in "$@"; do
		[[ $a =~ [[:space:]\"] ]] && a="\"$a\""
		line+="${line:+ }$a"
	done
	short <<< "$line"
}
short() {
	sed -e "s|${work:-/nonexistent}|\$WORK|g" -e "s|$petrel|petrel|g" -e "s|$probe|probe.elf|g" \
	    -e "s|$qemu_bin|qemu-system-x86_64|g" -e "s|$guest_dir/|\$GUESTS/|g"
}

# show_file FILE: "FILE:" and its text, short names as in show.
show_file() {
	echo "\$WORK/${1##*/}:"
	short < "$1"
}

# sample FILE VALUE...: append each VALUE that is a number to FILE (one a line).
sample() {
	local f=$1 v
	shift
	for v in "$@"; do
		[[ $v =~ ^-?[0-9]+(\.[0-9]+)?$ ]] && echo "$v" >> "$f"
	done
	return 0
}
