#!/usr/bin/env bash
# Snapshots, petrel beside QEMU microvm, on the probe counting ticks (1 vCPU,
# 128 MiB), paused just after "probe: tick 3":
# - create, RUNS times: petrel's PUT /snapshot/create (Full, then a Diff two
#   ticks later with track_dirty_pages), request -> answer; QEMU's QMP stop,
#   then migrate "exec:cat > FILE" -> query-migrate completed. The files'
#   size: apparent and allocated on disk (state and memory together).
# - restore, RUNS times, interleaved: petrel's PUT /snapshot/load (File
#   backend, resume_vm) request -> answer, exec -> answer and exec -> the
#   next tick line (bench/apiclient restore); QEMU's -incoming defer, QMP
#   migrate-incoming "exec:cat FILE" -> query-status running, exec -> running
#   and exec -> the next tick line (apiclient incoming); and QEMU's fast-clone
#   path: guest RAM a memory-backend-file with share=on and the x-ignore-shared
#   capability, so the stream holds no RAM (a fresh copy of the RAM file each
#   run: a shared-RAM guest writes into it).
# - fan-out, once for each N: N clones of one snapshot started at once
#   (bench/clones): exec of the first -> every clone's next tick line, clones
#   per second, each clone's PSS (median and largest; shared pages split
#   among their users). QEMU's clones restore a live migration's stream (one
#   from a stopped source would stay paused). petrel clones map the memory file MAP_PRIVATE; QEMU's
#   each load the whole stream into private RAM (share=on would make them
#   write into one file). An N the host's memory cannot hold (from 10 clones
#   measured first) is skipped with a note in OUT/skipped.
#   bench/snapshot.sh OUT [RUNS] [N...]   (default 10; 100 500 1000)
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
out=$1
runs=${2:-10}
shift 2 || shift $#
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(100 500 1000)
mkdir -p "$out"
work=$(mktemp -d)
pids=()
trap 'for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; rm -rf "$work"' EXIT
bench_cc "$work/apiclient" apiclient.c
bench_cc "$work/clones" clones.c
mkdir -p "$work/socks"
sock=$work/api.sock
qsock=$work/qmp.sock
boot_args="probe.action=count"
q=("${qemu_probe[@]}" -append "$boot_args" -qmp "unix:$qsock,server=on,wait=off")
qshared=(-object "memory-backend-file,id=ram,size=128M,mem-path=$work/qram,share=on"
	 -machine memory-backend=ram)
qclone=("${qemu_probe[@]}" -append "$boot_args" -incoming "exec:cat $work/live.mig")
caps='{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "x-ignore-shared", "state": true}]}}'
# 1000 clones hold two descriptors each here
ulimit -n "$(( $(ulimit -Hn) < 8192 ? $(ulimit -Hn) : 8192 ))"

# qmp SOCK COMMAND...: each JSON command in turn on one QMP connection; the
# last answer on stdout. A command "wait-migrate" polls query-migrate until
# completed and prints the microseconds it took from the command before.
qmp() {
	python3 - "$@" <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
def rd():
    while True:
        m = json.loads(f.readline())
        if "event" not in m:
            return m
def ex(c):
    f.write(json.dumps(c) + "\n"); f.flush()
    m = rd()
    if "error" in m:
        sys.exit("qmp: %s: %s" % (c["execute"], m["error"]["desc"]))
    return m
rd()
ex({"execute": "qmp_capabilities"})
t0 = time.monotonic()
for a in sys.argv[2:]:
    if a == "wait-migrate":
        while ex({"execute": "query-migrate"})["return"].get("status") != "completed":
            time.sleep(0.0005)
        print(int((time.monotonic() - t0) * 1e6))
        continue
    t0 = time.monotonic()
    ex(json.loads(a))
PY
}

# api METHOD PATH BODY: petrel's answer must be 2xx; prints microseconds taken.
api() {
	curl -fsS -o /dev/null -w '%{time_total}\n' --unix-socket "$sock" -X "$1" \
		-H 'Content-Type: application/json' --data-binary "$3" "http://localhost$2" |
		awk '{ printf "%d\n", $1 * 1e6 }'
}

# disk FILE...: "apparent allocated" bytes of the files together.
disk() {
	echo "$(cat "$@" | wc -c) $(du -c --block-size=1 "$@" | tail -n 1 | cut -f1)"
}

# petrel_snap TAG: a counting probe paused after tick 3: Full as TAG.{st,mem},
# then two ticks later a Diff as TAG.dst, TAG.dmem; times and sizes sampled.
petrel_snap() {
	local t=$work/$1 a b
	rm -f "$sock"
	"$petrel" --api-sock "$sock" </dev/null >"$t.out" 2>"$t.log" &
	pids+=($!)
	wait_line "$t.log" "API server listening" 10
	api PUT /boot-source "{\"kernel_image_path\": \"$probe\", \"boot_args\": \"console=ttyS0 $boot_args\"}" >/dev/null
	api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128, "track_dirty_pages": true}' >/dev/null
	api PUT /actions '{"action_type": "InstanceStart"}' >/dev/null
	wait_line "$t.out" "probe: tick 3" 20
	api PATCH /vm '{"state": "Paused"}' >/dev/null
	sample "$out/petrel.create-full" "$(api PUT /snapshot/create "{\"snapshot_path\": \"$t.st\", \"mem_file_path\": \"$t.mem\"}")"
	api PATCH /vm '{"state": "Resumed"}' >/dev/null
	wait_line "$t.out" "probe: tick 5" 20
	api PATCH /vm '{"state": "Paused"}' >/dev/null
	sample "$out/petrel.create-diff" "$(api PUT /snapshot/create "{\"snapshot_path\": \"$t.dst\", \"mem_file_path\": \"$t.dmem\", \"snapshot_type\": \"Diff\"}")"
	kill "${pids[-1]}"
	wait "${pids[-1]}" || true
	read -r a b < <(disk "$t.st" "$t.mem")
	sample "$out/petrel.size-full" "$a"
	sample "$out/petrel.disk-full" "$b"
	read -r a b < <(disk "$t.dst" "$t.dmem")
	sample "$out/petrel.size-diff" "$a"
	sample "$out/petrel.disk-diff" "$b"
}

# qemu_snap TAG [shared|live]: the same probe under QEMU, stopped after tick 3
# and migrated to TAG.mig (shared: RAM in TAG.ram, not in the stream; live:
# not stopped first, so that its restores run on their own, for the clones;
# not sampled).
qemu_snap() {
	local t=$work/$1 mode=${2:-} extra=() pre=() stop='{"execute": "stop"}' a b us
	[ "$mode" != shared ] || { extra=("${qshared[@]}"); pre=("$caps"); }
	[ "$mode" != shared ] || extra[1]=${extra[1]//$work\/qram/$t.ram}
	[ "$mode" != live ] || stop='{"execute": "query-status"}'
	rm -f "$qsock"
	"${q[@]}" "${extra[@]}" </dev/null >"$t.out" 2>"$t.log" &
	pids+=($!)
	wait_line "$t.out" "probe: tick 3" 20
	us=$(qmp "$qsock" "${pre[@]}" "$stop" \
		"{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"exec:cat > $t.mig\"}}" wait-migrate)
	kill "${pids[-1]}"
	wait "${pids[-1]}" || true
	[ "$mode" != live ] || return 0
	sample "$out/qemu${mode:+-$mode}.create" "$us"
	read -r a b < <(disk "$t.mig" ${mode:+"$t.ram"})
	sample "$out/qemu${mode:+-$mode}.size-full" "$a"
	sample "$out/qemu${mode:+-$mode}.disk-full" "$b"
}

{
	echo "$(show "$petrel" --api-sock SOCK)   # PUT /snapshot/create; apiclient restore SOCK STATE MEM"
	echo "$(show "${q[@]}")   # QMP stop, migrate exec:cat > FILE"
	echo "$(show "${q[@]}" -incoming defer)   # QMP migrate-incoming exec:cat FILE"
	echo "$(show "${qshared[@]}")   # added for shared RAM, with x-ignore-shared"
	show clones N "probe: tick" SOCKDIR STATE MEM "$petrel"
	show clones N "probe: tick" - - - "${qclone[@]}"
} > "$out/commands"

for i in $(seq "$runs"); do
	petrel_snap "p$i"
	qemu_snap "q$i"
	qemu_snap "s$i" shared
done

# restores, interleaved; each QEMU shared-RAM run on a fresh copy of the RAM file
for _ in $(seq "$runs"); do
	read -r l a t < <("$work/apiclient" restore "$sock" "$work/p1.st" "$work/p1.mem" \
		"$petrel" --api-sock "$sock" 2>/dev/null || echo - - -)
	sample "$out/petrel.restore" "$l"
	sample "$out/petrel.exec-answer" "$a"
	sample "$out/petrel.exec-tick" "$t"
	read -r l a t < <(INCOMING="exec:cat $work/q1.mig" "$work/apiclient" incoming "$qsock" \
		"${q[@]}" -incoming defer </dev/null 2>/dev/null || echo - - -)
	sample "$out/qemu.restore" "$l"
	sample "$out/qemu.exec-answer" "$a"
	sample "$out/qemu.exec-tick" "$t"
	cp --sparse=always "$work/s1.ram" "$work/qram"
	read -r l a t < <(INCOMING="exec:cat $work/s1.mig" INCOMING_CAPS="$caps" \
		"$work/apiclient" incoming "$qsock" "${q[@]}" "${qshared[@]}" -incoming defer \
		</dev/null 2>/dev/null || echo - - -)
	sample "$out/qemu-shared.restore" "$l"
	sample "$out/qemu-shared.exec-answer" "$a"
	sample "$out/qemu-shared.exec-tick" "$t"
done

qemu_snap live live
# fan WHO N CMD...: one fan-out of N clones.
fan() {
	local who=$1 n=$2 us started loaded marked clean pss pssmax drop
	shift 2
	read -r us started loaded marked clean pss pssmax drop < <("$work/clones" "$n" "probe: tick" \
		"$work/socks" "$@" </dev/null 2>/dev/null || true)
	echo "$who N=$n: ${us:-?} us, started ${started:-?}, loaded ${loaded:-?}, marked ${marked:-?}, clean ${clean:-?}" >&2
	sample "$out/$who.$n.failed" "$((n - ${clean:-0}))"
	sample "$out/$who.$n.pss" "${pss:-}"
	sample "$out/$who.$n.pss-max" "${pssmax:-}"
	sample "$out/$who.$n.drop" "${drop:-}"
	[ "${us:--1}" -ge 0 ] || return 0
	sample "$out/$who.$n.all" "$us"
	sample "$out/$who.$n.rate" "$(awk -v n="$n" -v us="$us" 'BEGIN { printf "%.1f", n * 1e6 / us }')"
}

# fits WHO N: the host's MemAvailable holds N clones at what 10 took (their
# MemAvailable drop or largest PSS, whichever is more, plus 4 MiB for each
# one's kernel side), with a quarter to spare.
fits() {
	local per avail
	per=$(awk '{ print $1 }' "$out/$1.10.drop" 2>/dev/null | head -n 1)
	per=$(( ${per:-0} / 10 ))
	[ "$per" -ge "$(head -n 1 "$out/$1.10.pss-max")" ] || per=$(head -n 1 "$out/$1.10.pss-max")
	per=$((per + 4096))
	avail=$(awk '/MemAvailable/ { print $2 }' /proc/meminfo)
	[ $(( $2 * per )) -lt $(( avail * 3 / 4 )) ] && return 0
	echo "$1 N=$2: skipped, $2 x $((per / 1024)) MiB does not fit in 3/4 of $((avail / 1024)) MiB available" |
		tee -a "$out/skipped" >&2
	return 1
}

fan petrel 10 "$work/p1.st" "$work/p1.mem" "$petrel"
fan qemu 10 - - "${qclone[@]}"
echo "${counts[*]}" > "$out/counts"
for n in "${counts[@]}"; do
	! fits petrel "$n" || fan petrel "$n" "$work/p1.st" "$work/p1.mem" "$petrel"
	! fits qemu "$n" || fan qemu "$n" - - "${qclone[@]}"
done
