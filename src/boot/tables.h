/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the files of src/boot only: what the ACPI and MP tables have in common. */
#ifndef PETREL_BOOT_TABLES_H
#define PETREL_BOOT_TABLES_H

#include <stddef.h>
#include <stdint.h>

/* The byte that makes [p, p+len) sum to 0 mod 256 (ACPI and MP tables). */
uint8_t boot_checksum(const void *p, size_t len);

#endif
