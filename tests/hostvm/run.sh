#!/usr/bin/env bash
# Run SCRIPT as root inside the test host VM: an L1 Linux under QEMU's
# software emulator (TCG, -cpu max) whose /dev/kvm is real, SVM-backed KVM.
# See tests/hostvm/README.md.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

usage() {
	cat <<'EOF'
usage: tests/hostvm/run.sh [options] SCRIPT [ARGS...]
Runs SCRIPT as root in the test host VM, with /dev/kvm; its output goes to
stdout and its exit status is run.sh's. Inside, SCRIPT sees:
  PETREL_BIN        the petrel binary (carried from $PETREL_BIN, default build/petrel)
  PETREL_UFFD_HANDLER  petrel-uffd-handler (carried from $PETREL_UFFD_HANDLER,
                    default build/examples/uffd/petrel-uffd-handler)
  PETREL_GUEST_DIR  the guest images (carried from $PETREL_GUEST_DIR, default build/guest)
  PETREL_SRC        a copy of the repository's tests/ tree (PETREL_SRC/tests/...)
  PETREL_OUT        an empty folder; --output-dir copies it back
  PETREL_HOSTVM=1
options:
  --timeout SECS     whole run, boot included (default 600); exit 124 when it expires
  --stall SECS       L1 counts as hung when its heartbeat (every 10 s while the
                     script runs) stops this long (default 90); exit 125
  --retries N        when L1 itself fails (never ready, hung, panicked), start
                     a new L1 and run the script again, up to N times (default 0)
  --memory MB        L1 memory (default 4096)
  --smp N            L1 vCPUs (default 1: with 2, QEMU's emulation of nested
                     SVM stalls a 2-vCPU guest about once in 15 boots, whichever
                     monitor runs it; see README.md)
  --output-dir DIR   copy what the script wrote under $PETREL_OUT into DIR
  --out-size MB      free space on the payload disk for $PETREL_OUT (default 1024)
  --include PATH     also carry this repository path (file or folder) into PETREL_SRC
  --env NAME=VALUE   set NAME in the script's environment (PETREL_* are passed on anyway)
  --tool PROGRAM     also stage this host program and its libraries in L1's /usr/bin
  --times            print the phase times to stderr at the end
  --verbose          also stream L1's kernel console to stderr
  --keep             keep the work folder (payload image, console log)
exit status: the script's; 124 on timeout; 125 when L1 failed (boot, /dev/kvm).
EOF
}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
t_begin=$EPOCHREALTIME

log() { echo "hostvm: $*" >&2; }
die() { echo "hostvm: error: $*" >&2; exit 125; }

timeout=600 memory=4096 smp=1 outdir='' out_size=1024 times=0 verbose=0 keep=0 console=0
retries=0 stall=90
includes=() envs=()
while [ $# -gt 0 ]; do
	case "$1" in
	--timeout) timeout=${2:?}; shift 2 ;;
	--memory) memory=${2:?}; shift 2 ;;
	--smp) smp=${2:?}; shift 2 ;;
	--retries) retries=${2:?}; shift 2 ;;
	--stall) stall=${2:?}; shift 2 ;;
	--output-dir) outdir=${2:?}; shift 2 ;;
	--out-size) out_size=${2:?}; shift 2 ;;
	--include) includes+=("${2:?}"); shift 2 ;;
	--env) envs+=("${2:?}"); shift 2 ;;
	--tool) export PETREL_HOSTVM_TOOLS="${PETREL_HOSTVM_TOOLS:-} ${2:?}"; shift 2 ;;
	--times) times=1; shift ;;
	--verbose) verbose=1; times=1; shift ;;
	--keep) keep=1; shift ;;
	--console) console=1; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	-*) usage >&2; die "unknown option '$1'" ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || { usage >&2; exit 2; }
script=$1
shift
[ -f "$script" ] || die "no script '$script'"
for n in "$timeout" "$memory" "$smp" "$out_size" "$retries" "$stall"; do
	[[ $n =~ ^[0-9]+$ ]] || die "'$n' is not a number"
done
for e in ${envs[@]+"${envs[@]}"}; do
	[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--env '$e' is not NAME=VALUE"
done

gdir=${PETREL_GUEST_DIR:-$root/build/guest}
mkdir -p "$gdir"
gdir=$(cd "$gdir" && pwd)
bin=${PETREL_BIN:-$root/build/petrel}
uffd=${PETREL_UFFD_HANDLER:-$root/build/examples/uffd/petrel-uffd-handler}

mapfile -t images < <("$here/images.sh" "$gdir")
[ ${#images[@]} = 3 ] || die "images.sh failed"
kernel=${images[0]} initrd=${images[1]} usrimg=${images[2]}

work=$(mktemp -d "$gdir/hostvm/run.XXXXXX")
qpid=
cleanup() {
	[ -z "$qpid" ] || kill "$qpid" 2>/dev/null || true
	if [ "$keep" = 1 ]; then log "work folder kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- payload: /hostvm in L1 ----------------------------------------------
stage=$work/stage
mkdir -p "$stage"/{bin,guest,src,out,script,.hostvm}

# Hard links when the files share a file system with the work folder.
carry() { cp -RlL "$1" "$2" 2>/dev/null || cp -RL --preserve=mode,timestamps "$1" "$2"; }

[ -f "$bin" ] && carry "$bin" "$stage/bin/petrel"
[ -f "$uffd" ] && carry "$uffd" "$stage/bin/petrel-uffd-handler"
# The guest images, not the build trees or this cache; from the cloud kernel
# only boot/ (its modules are L1's /usr/lib/modules).
(cd "$gdir" && find . -mindepth 1 -maxdepth 1 ! -name hostvm ! -name work \
	! -name '*.tmp' ! -name cloud-kernel -print0) |
	while IFS= read -r -d '' f; do carry "$gdir/$f" "$stage/guest/"; done
if [ -d "$gdir/cloud-kernel/boot" ]; then
	mkdir -p "$stage/guest/cloud-kernel"
	carry "$gdir/cloud-kernel/boot" "$stage/guest/cloud-kernel/"
	cp "$gdir/cloud-kernel/VERSION" "$stage/guest/cloud-kernel/" 2>/dev/null || true
fi

# The tests tree, --include paths and the script, at their repository paths.
carry_src() {   # carry_src ABSPATH: place it at its path relative to $root
	local rel=${1#"$root"/}
	mkdir -p "$stage/src/$(dirname "$rel")"
	[ -e "$stage/src/$rel" ] || carry "$1" "$stage/src/$rel"
}
carry_src "$root/tests"
for p in ${includes[@]+"${includes[@]}"}; do
	p=$(realpath -e "$p" 2>/dev/null) || die "--include: no such path"
	case "$p" in "$root"/*) carry_src "$p" ;; *) die "--include: $p is outside $root" ;; esac
done
script=$(realpath "$script")
case "$script" in
"$root"/*)
	carry_src "$script"
	inner_script=/hostvm/src/${script#"$root"/} ;;
*)
	cp "$script" "$stage/script/"
	inner_script=/hostvm/script/${script##*/} ;;
esac
f=$stage${inner_script#/hostvm}
if [ ! -x "$f" ]; then   # a copy: chmod on a hard link would change the original
	cp --remove-destination "$script" "$f"
	chmod +x "$f"
fi

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }   # single-quote for sh
{
	echo "export PETREL_HOSTVM=1"
	echo "export PETREL_BIN=/hostvm/bin/petrel PETREL_GUEST_DIR=/hostvm/guest"
	echo "export PETREL_UFFD_HANDLER=/hostvm/bin/petrel-uffd-handler"
	echo "export PETREL_SRC=/hostvm/src PETREL_OUT=/hostvm/out TMPDIR=/tmp"
	while IFS='=' read -r -d '' name value; do
		case "$name" in
		PETREL_HOSTVM | PETREL_BIN | PETREL_UFFD_HANDLER | PETREL_GUEST_DIR | PETREL_SRC | \
		PETREL_OUT) ;;
		PETREL_*) echo "export $name=$(q "$value")" ;;
		esac
	done < <(env -0)
	for e in ${envs[@]+"${envs[@]}"}; do echo "export ${e%%=*}=$(q "${e#*=}")"; done
	echo "export PETREL_HOSTVM_CONSOLE=$console"
} > "$stage/.hostvm/env"
{
	printf 'set -- %s' "$(q "$inner_script")"
	for a in "$@"; do printf ' %s' "$(q "$a")"; done
	echo
} > "$stage/.hostvm/cmd"

size=$(du -sm "$stage" | cut -f1)
payload_mb=$((size + size / 8 + out_size + 16))
t_staged=$EPOCHREALTIME

cmdline="console=ttyS1 loglevel=$((verbose ? 7 : 4)) panic=-1 rdinit=/init 8250.nr_uarts=3"
cmdline+=" mitigations=off nowatchdog random.trust_cpu=on tsc=reliable cryptomgr.notests"
cmdline+=" ${PETREL_HOSTVM_APPEND:-}"

console_tail() {
	[ "$verbose" = 1 ] && return 0
	log "last lines of L1's console:"
	tail -n 25 "$work/console.log" | tr -d '\r' | sed 's/^/  | /' >&2
	[ ! -s "$work/qemu.err" ] || sed 's/^/  qemu: /' "$work/qemu.err" >&2
}

# attempt: one L1 from a fresh payload; sets rc, t_start, t_end and l1_fault
# (1 when L1 itself failed: never ready, hung, panicked or never booted).
attempt() {
	local deadline status exit_line fail_line last_size=0 size_now last_change
	mkfs.ext4 -q -F -L hostvm-payload -O ^has_journal -E root_owner=0:0 -d "$stage" \
		"$work/payload.ext4" "${payload_mb}M" >/dev/null ||
		die "mkfs.ext4 of the payload failed"
	: > "$work/console.log"
	: > "$work/status"
	: > "$work/qemu.err"
	# --console: QEMU's stdio serial reads this terminal (and sets it raw until it ends).
	if [ "$console" = 1 ]; then exec {qin}<&0; else exec {qin}</dev/null; fi
	qemu-system-x86_64 -M q35 -accel "tcg,thread=${PETREL_HOSTVM_TCG_THREAD:-multi}" \
		-cpu max -smp "$smp" -m "$memory" \
		-nodefaults -no-user-config -display none -no-reboot \
		-kernel "$kernel" -initrd "$initrd" -append "$cmdline" \
		-chardev stdio,id=out,signal=off -serial chardev:out \
		-serial "file:$work/console.log" -serial "file:$work/status" \
		-drive "if=none,id=usr,file=$usrimg,format=raw,readonly=on" \
		-device virtio-blk-pci,drive=usr,serial=hostvm-usr \
		-drive "if=none,id=payload,file=$work/payload.ext4,format=raw,cache=unsafe" \
		-device virtio-blk-pci,drive=payload,serial=hostvm-payload \
		<&"$qin" 2>"$work/qemu.err" &
	qpid=$!
	tail_pid=
	if [ "$verbose" = 1 ]; then
		tail -n +1 -f --pid="$qpid" "$work/console.log" | sed -u 's/^/L1: /' >&2 &
		tail_pid=$!
	fi

	# Wait for QEMU to end, noting when the script started. Kill it on
	# timeout, or when L1's heartbeat (a status line every 10 s while the
	# script runs) stops for $stall seconds: then L1 itself hangs.
	deadline=$(( ${t_begin%.*} + timeout ))
	t_start='' timed_out=0 hung=0 last_change=${EPOCHREALTIME%.*}
	while kill -0 "$qpid" 2>/dev/null; do
		size_now=$(stat -c %s "$work/status")
		if [ "$size_now" != "$last_size" ]; then
			last_size=$size_now last_change=${EPOCHREALTIME%.*}
		fi
		if [ -z "$t_start" ] && grep -q '^start ' "$work/status"; then
			t_start=$EPOCHREALTIME
		fi
		if [ "${EPOCHREALTIME%.*}" -ge "$deadline" ]; then
			timed_out=1
		elif [ -n "$t_start" ] && [ $(( ${EPOCHREALTIME%.*} - last_change )) -ge "$stall" ]; then
			hung=1
		fi
		if [ "$timed_out" = 1 ] || [ "$hung" = 1 ]; then
			kill "$qpid" 2>/dev/null || true
			break
		fi
		sleep 0.05
	done
	wait "$qpid" 2>/dev/null || true
	exec {qin}<&-
	qpid=
	[ -z "$tail_pid" ] || wait "$tail_pid" 2>/dev/null || true
	t_end=$EPOCHREALTIME
	[ -n "$t_start" ] || ! grep -q '^start ' "$work/status" || t_start=$t_end

	status=$(tr -d '\r' < "$work/status")
	exit_line=$(grep '^exit ' <<<"$status" | tail -n 1 || true)
	fail_line=$(grep '^fail ' <<<"$status" | tail -n 1 || true)
	l1_fault=1
	if [ -n "$exit_line" ]; then
		read -r _ rc _ <<<"$exit_line"
		l1_fault=0
	elif [ "$hung" = 1 ]; then
		log "L1 stopped responding while the script ran (no heartbeat for ${stall} s)"
		console_tail
		rc=125
	elif [ "$timed_out" = 1 ]; then
		if [ -n "$t_start" ]; then
			log "timeout: the script ran longer than the ${timeout} s allowed"
			console_tail
			l1_fault=0
		else
			log "timeout: L1 not ready within ${timeout} s"
			console_tail
		fi
		rc=124
	elif [ -n "$fail_line" ]; then
		log "L1 failed: ${fail_line#fail }"
		console_tail
		rc=125
	elif [ -n "$t_start" ]; then
		log "L1 stopped while the script ran (kernel panic or power-off?)"
		console_tail
		rc=125
	elif grep -q '^booted' <<<"$status"; then
		log "L1 booted but its init did not reach the script"
		console_tail
		rc=125
	else
		log "L1 failed to boot (QEMU or the kernel; no word from its init)"
		console_tail
		rc=125
	fi
}

# --- L1 -----------------------------------------------------------------
tries=0
while :; do
	attempt
	[ "$l1_fault" = 1 ] && [ "$tries" -lt "$retries" ] || break
	[ "${EPOCHREALTIME%.*}" -lt $(( ${t_begin%.*} + timeout - 30 )) ] || break
	tries=$((tries + 1))
	log "L1 itself failed, not the script: starting a new L1 (retry $tries of $retries)"
done

if [ -n "$outdir" ]; then
	mkdir -p "$outdir"
	if debugfs -R "rdump /out \"$work\"" "$work/payload.ext4" >/dev/null 2>"$work/debugfs.err" &&
		[ -d "$work/out" ]; then
		cp -a "$work/out/." "$outdir/"
	else
		log "could not copy \$PETREL_OUT back: $(head -n 3 "$work/debugfs.err")"
	fi
fi

if [ "$times" = 1 ]; then
	sec() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
	msg="staging $(sec "$t_begin" "$t_staged") s"
	[ "$tries" = 0 ] || msg+=", $tries L1 retries"
	if [ -n "$t_start" ]; then
		msg+=", L1 ready (last try) from command start $(sec "$t_begin" "$t_start") s"
		msg+=", script and power-off $(sec "$t_start" "$t_end") s"
	fi
	log "times: $msg, total $(sec "$t_begin" "$t_end") s; exit $rc"
fi
exit "$rc"
