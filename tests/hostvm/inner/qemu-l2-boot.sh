#!/usr/bin/env bash
# Inside the test host VM: boot a Linux guest (L2) with QEMU microvm on the
# real /dev/kvm, RUNS times, and report how long each took to reach its init
# and to power off.
#   qemu-l2-boot.sh [RUNS [EXTRA KERNEL ARGS...]]
# Boots micro-bzImage + micro-initrd.cpio.gz from $PETREL_GUEST_DIR when they
# are there, else the cloud kernel with a busybox initramfs made here. The
# first run's console is shown; a guest that has not powered off 3 s after
# its init line is stopped. Each console byte of L2 is a nested exit, which
# L1's emulation makes slow: "quiet" in the extra args shows the difference.
set -euo pipefail
runs=${1:-3}
shift || true
extra=$*
g=$PETREL_GUEST_DIR
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Prints the line the tests wait for, and powers off.
tiny_initrd() {
	local tree=$work/tree
	mkdir -p "$tree"/{bin,dev,proc}
	cp /bin/busybox "$tree/bin/"
	ln -s busybox "$tree/bin/sh"
	cat > "$tree/init" <<'INIT'
#!/bin/sh
/bin/busybox mount -t proc proc /proc
echo "petrel-guest: init started (tiny initramfs)"
/bin/busybox poweroff -f
INIT
	chmod +x "$tree/init"
	(cd "$tree" && find . | cpio -o -H newc 2>/dev/null) > "$work/initrd.cpio"
	echo "$work/initrd.cpio"
}

if [ -f "$g/micro-bzImage" ] && [ -f "$g/micro-initrd.cpio.gz" ]; then
	what=micro kernel=$g/micro-bzImage initrd=$g/micro-initrd.cpio.gz
else
	what="cloud kernel"
	kernel=$(ls "$g"/cloud-kernel/boot/vmlinuz-* | head -n 1)
	initrd=$(tiny_initrd)
fi
append="console=ttyS0 reboot=k panic=1 petrel.poweroff${extra:+ $extra}"
echo "L2: $what: ${kernel##*/}, ${initrd##*/}"
echo "L2: qemu-system-x86_64 -M microvm,acpi=on -enable-kvm -cpu host -m 256 ... -append \"$append\""

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
mkfifo "$work/console"
fails=0
for i in $(seq "$runs"); do
	t0=$EPOCHREALTIME
	qemu-system-x86_64 -M microvm,acpi=on -enable-kvm -cpu host -m 256 \
		-nodefaults -no-user-config -nographic -serial stdio -no-reboot \
		-kernel "$kernel" -initrd "$initrd" -append "$append" \
		</dev/null >"$work/console" 2>&1 &
	qpid=$!
	t_init='' t_end='' wait_s=60
	: > "$work/log"
	while true; do
		if IFS= read -r -t "$wait_s" line; then
			line=${line%$'\r'}
			echo "$line" >> "$work/log"
			[ "$i" != 1 ] || echo "  | $line"
			case "$line" in
			*"petrel-guest: init started"*)
				[ -n "$t_init" ] || t_init=$EPOCHREALTIME
				wait_s=3 ;;
			esac
		elif [ $? -gt 128 ]; then
			kill "$qpid" 2>/dev/null || true
			break
		else
			t_end=$EPOCHREALTIME
			break
		fi
	done < "$work/console"
	wait "$qpid" 2>/dev/null || true
	msg="L2 boot $i:"
	if [ -n "$t_init" ]; then
		msg+=" init after $(ms "$t0" "$t_init") ms"
	else
		msg+=" init NOT reached"
		fails=$((fails + 1))
		[ "$i" = 1 ] || sed 's/^/  | /' "$work/log"
	fi
	if [ -n "$t_end" ]; then
		msg+=", QEMU exited after $(ms "$t0" "$t_end") ms"
	else
		msg+=", no power-off (QEMU stopped)"
	fi
	echo "$msg"
done
[ "$fails" -eq 0 ]
