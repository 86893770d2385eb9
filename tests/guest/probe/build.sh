#!/usr/bin/env bash
# Build the probe guest: tests/guest/probe/build.sh OUTDIR -> OUTDIR/probe.elf
# Needs only Debian's gcc and binutils. The ELF is reused when nothing here
# is newer than it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
elf=$out/probe.elf

if [ -f "$elf" ] &&
   [ -z "$(find "$here" -type f ! -name '*.md' -newer "$elf" -print -quit)" ]; then
	exit 0
fi

cflags=(
	-std=gnu11 -O2 -ffreestanding -fno-pic -fno-stack-protector
	-fcf-protection=none -fno-asynchronous-unwind-tables -fno-unwind-tables
	-fno-tree-loop-distribute-patterns
	-mcmodel=small -mno-red-zone -mgeneral-regs-only -mno-sse -mno-mmx
	-Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes
	-Wmissing-prototypes
)
ldflags=(
	-nostdlib -static -no-pie -Wl,-T,"$here/probe.ld"
	-Wl,--build-id=none -Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack
	-Wl,--orphan-handling=error -Wl,--fatal-warnings
)

obj=$(mktemp -d "$out/probe-build.XXXXXX")
trap 'rm -rf "$obj"' EXIT
for src in "$here"/*.S "$here"/*.c; do
	gcc "${cflags[@]}" -c "$src" -o "$obj/$(basename "$src").o"
done
gcc "${cflags[@]}" "${ldflags[@]}" -o "$obj/probe.elf" "$obj"/*.o
mv "$obj/probe.elf" "$elf"
echo "probe: built $elf ($(stat -c %s "$elf") bytes)"
