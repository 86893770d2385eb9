#!/usr/bin/env bash
# Runs inside the test host VM (bench/uffd-linux.sh): the micro kernel booted
# to its shell on its root drive and snapshotted (Full), then restored by a
# fresh petrel each time, PUT /snapshot/load (resume_vm) -> the shell's answer
# to "echo ready" (bench/apiclient answer): once through petrel-uffd-handler
# --record, then RUNS rounds, interleaved, of the File backend, the handler
# serving faults on demand (plain) and the handler with --prefetch of the
# recorded list. Every result is a line "@FILE TEXT" on stdout as soon as it
# is known (MODE.load, MODE.answer µs; MODE.faults, MODE.prefetched pages;
# pages, versions, commands), so a run cut short still leaves what it measured.
#   inner-uffd-linux.sh [RUNS]   (default 10)
set -euo pipefail
runs=${1:-10}
ac=$PETREL_SRC/build/bench/apiclient
handler=$PETREL_UFFD_HANDLER
w=/tmp/uffd-bench
rm -rf "$w"
mkdir -p "$w"
emit() {	# emit FILE TEXT: a line for FILE (none when TEXT is empty)
	[ -z "$2" ] || echo "@$1 $2"
}
show() {	# a command line, words with spaces quoted, the folder as $WORK
	local a line=
	for a in "$@"; do
		[[ $a == *" "* ]] && a="\"$a\""
		line+="${line:+ }$a"
	done
	echo "$line" | sed -e "s|$w|\$WORK|g" -e "s|$PETREL_GUEST_DIR/|\$GUESTS/|g" \
		-e "s|$PETREL_BIN|petrel|g" -e "s|$handler|petrel-uffd-handler|g" -e "s|$ac|apiclient|g"
}
# wait_for FILE REGEX SECONDS
wait_for() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -Eqs -- "$2" "$1" && return 0
		sleep 0.1
	done
	echo "inner-uffd-linux: no '$2' in $1 after $3 s" >&2
	tail -n 20 "$1" >&2
	return 1
}
api() {	# METHOD PATH BODY
	local code
	code=$(curl -s -o "$w/api.out" -w '%{http_code}' --unix-socket "$w/src.sock" \
		-X "$1" "http://localhost$2" -H 'Content-Type: application/json' -d "$3")
	[ "$code" = 204 ] || { echo "inner-uffd-linux: $1 $2: $code $(cat "$w/api.out")" >&2; return 1; }
}

emit versions "l1-kernel $(uname -r)"

# --- the snapshot: the micro kernel at its shell -----------------------------
cp "$PETREL_GUEST_DIR/rootfs.ext4" "$w/root.ext4"
cat > "$w/micro.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$PETREL_GUEST_DIR/micro-bzImage",
                   "boot_args": "console=ttyS0 reboot=k panic=1 quiet" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 },
  "drives": [ { "drive_id": "rootfs", "path_on_host": "$w/root.ext4", "is_root_device": true } ]
}
JSON
mkfifo "$w/src.in"
"$PETREL_BIN" --api-sock "$w/src.sock" --config-file "$w/micro.json" \
	<"$w/src.in" >"$w/src.out" 2>"$w/src.log" &
src=$!
exec {con}>"$w/src.in"
trap 'kill -9 "$src" 2>/dev/null || true' EXIT
wait_for "$w/src.out" "petrel-guest: init started" 300
# The shell reads: it answers (once more, for a shell not reading yet).
for i in 1 2 3 4 5 6; do
	printf 'echo up""ok\n' >&"$con"
	! wait_for "$w/src.out" "^upok" 10 2>/dev/null || break
done
wait_for "$w/src.out" "^upok" 1
sleep 1
api PATCH /vm '{"state":"Paused"}'
api PUT /snapshot/create \
	"{\"snapshot_path\":\"$w/st\",\"mem_file_path\":\"$w/mem\",\"snapshot_type\":\"Full\"}"
kill "$src"
wait "$src" 2>/dev/null || true
exec {con}>&-
echo "inner-uffd-linux: snapshot taken ($(du -k "$w/mem" | cut -f1) KiB of memory on disk)" >&2

# --- the restores ---------------------------------------------------------------
p=("$PETREL_BIN" --api-sock "$w/vm.sock")
emit commands "$(show "${p[@]}" --config-file "$w/micro.json")   # to the shell; PATCH /vm Paused; PUT /snapshot/create Full"
emit commands "$(show "$ac" answer "$w/vm.sock" "$w/st" File "$w/mem" "${p[@]}")"
emit commands "$(show "$handler" [--record "$w/pages" \| --prefetch "$w/pages"] "$w/h.sock" "$w/mem")"
emit commands "$(show "$ac" answer "$w/vm.sock" "$w/st" Uffd "$w/h.sock" "${p[@]}")"

# restore MODE [HANDLER_ARGS...]: one sample of MODE; File without a handler.
restore() {
	local mode=$1 hpid="" load="" ready="" line=""
	shift
	rm -f "$w/h.sock" "$w/h.log"
	if [ "$mode" = file ]; then
		read -r load ready < <("$ac" answer "$w/vm.sock" "$w/st" File "$w/mem" "${p[@]}" \
			2>>"$w/petrel.log" || true) || true
	else
		"$handler" "$@" "$w/h.sock" "$w/mem" 2>"$w/h.log" &
		hpid=$!
		wait_for_socket
		read -r load ready < <("$ac" answer "$w/vm.sock" "$w/st" Uffd "$w/h.sock" "${p[@]}" \
			2>>"$w/petrel.log" || true) || true
		# The handler ends with its VM, and says what it served.
		for _ in $(seq 100); do kill -0 "$hpid" 2>/dev/null || break; sleep 0.1; done
		kill "$hpid" 2>/dev/null || true
		wait "$hpid" 2>/dev/null || true
		line=$(sed -n 's/^petrel-uffd-handler: served \([0-9]*\) faults, prefetched \([0-9]*\) pages$/\1 \2/p' "$w/h.log")
	fi
	if [ -z "${ready:-}" ]; then
		echo "inner-uffd-linux: $mode: no answer" >&2
		tail -n 5 "$w/petrel.log" "$w/h.log" >&2 2>/dev/null || true
		return 0
	fi
	emit "$mode.load" "$load"
	emit "$mode.answer" "$ready"
	if [ -n "$line" ]; then
		emit "$mode.faults" "${line% *}"
		[ "$mode" != prefetch ] || emit "$mode.prefetched" "${line#* }"
	fi
}
wait_for_socket() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -S "$w/h.sock" ] && return 0
		sleep 0.05
	done
	echo "inner-uffd-linux: the handler never listened: $(cat "$w/h.log")" >&2
	return 1
}

restore record --record "$w/pages"
[ -s "$w/pages" ] || { echo "inner-uffd-linux: the recording run left no pages" >&2; exit 1; }
emit pages "$(sort -u "$w/pages" | wc -l)"
for r in $(seq "$runs"); do
	restore file
	restore plain
	restore prefetch --prefetch "$w/pages"
	echo "uffd-linux: round $r of $runs done" >&2
done
