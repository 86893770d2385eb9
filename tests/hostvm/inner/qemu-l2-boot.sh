#!/usr/bin/env bash
# Inside the test host VM: boot a Linux guest (L2) with QEMU microvm on the
# real /dev/kvm, RUNS times, and report how long each boot took.
#   qemu-l2-boot.sh [RUNS]
# Boots micro-bzImage + micro-initrd.cpio.gz from $PETREL_GUEST_DIR when they
# are there, else the cloud kernel with a busybox initramfs made here (with
# "quiet": each console byte is a nested exit, expensive under L1's emulation).
set -euo pipefail
runs=${1:-3}
g=$PETREL_GUEST_DIR
work=$(mktemp -d)

# A one-line init: say so, power off.
tiny_initrd() {
	local tree=$work/tree
	mkdir -p "$tree"/{bin,dev,proc}
	cp /bin/busybox "$tree/bin/"
	ln -s busybox "$tree/bin/sh"
	cat > "$tree/init" <<'INIT'
#!/bin/sh
/bin/busybox mount -t proc proc /proc
echo "petrel-guest: init started (tiny), uptime $(/bin/busybox cut -d' ' -f1 /proc/uptime) s"
/bin/busybox poweroff -f
INIT
	chmod +x "$tree/init"
	(cd "$tree" && find . | cpio -o -H newc 2>/dev/null) > "$work/initrd.cpio"
	echo "$work/initrd.cpio"
}

if [ -f "$g/micro-bzImage" ] && [ -f "$g/micro-initrd.cpio.gz" ]; then
	what=micro kernel=$g/micro-bzImage initrd=$g/micro-initrd.cpio.gz extra=
else
	what="cloud kernel" extra=quiet
	kernel=$(ls "$g"/cloud-kernel/boot/vmlinuz-* | head -n 1)
	initrd=$(tiny_initrd)
fi
echo "L2: $what: $kernel"

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
fails=0
for i in $(seq "$runs"); do
	t0=$EPOCHREALTIME
	t_init=
	while IFS= read -r line; do
		line=${line%$'\r'}
		echo "  | $line"
		case "$line" in
		*"petrel-guest: init started"*) [ -n "$t_init" ] || t_init=$EPOCHREALTIME ;;
		esac
	done < <(timeout 120 qemu-system-x86_64 -M microvm,acpi=on -enable-kvm -cpu host -m 256 \
		-nodefaults -no-user-config -nographic -serial stdio -no-reboot \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 reboot=k panic=1 petrel.poweroff $extra" </dev/null 2>&1; echo "qemu-exit $?")
	t1=$EPOCHREALTIME
	echo "L2 boot $i: to init output $( [ -n "$t_init" ] && ms "$t0" "$t_init" || echo '?') ms, to QEMU exit $(ms "$t0" "$t1") ms"
	[ -n "$t_init" ] || fails=$((fails + 1))
done
rm -rf "$work"
[ "$fails" -eq 0 ]
