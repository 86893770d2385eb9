#!/usr/bin/env bash
# The micro kernel (no ACPI: MP table and command-line discovery) boots as
# an ELF through PVH and as a bzImage through the 64-bit entry.
. "${PETREL_SRC:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$PETREL_SRC/tests/slow/linux.sh"
need_kvm
need_guest micro-vmlinux micro-bzImage micro-initrd.cpio.gz
boot_linux micro-pvh micro-vmlinux micro-initrd.cpio.gz
boot_linux micro-bzimage micro-bzImage micro-initrd.cpio.gz
finish
