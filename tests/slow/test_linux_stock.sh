#!/usr/bin/env bash
# Debian's cloud kernel, unchanged (bzImage, relocatable, LZ4): finds its
# CPUs through the ACPI MADT, powers off through the ACPI sleep register,
# and prints no ACPI errors.
. "${PETREL_SRC:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$PETREL_SRC/tests/slow/linux.sh"
need_kvm
need_guest stock-vmlinuz stock-initrd.cpio.gz
boot_linux stock stock-vmlinuz stock-initrd.cpio.gz
if grep -E "ACPI (BIOS )?Error" "$T/stock.out"; then fail "ACPI errors on the stock kernel's console"; else pass "no ACPI Error lines"; fi
finish
