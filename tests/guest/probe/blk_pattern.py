#!/usr/bin/env python3
# Check (or write) the pattern probe.action=blk leaves on a disk image:
#   blk_pattern.py check IMAGE [MIB [SEED]]   exit 0 if the first MIB MiB match
#   blk_pattern.py write IMAGE [MIB [SEED]]   put it there (for read-only tests)
# Sector s holds 64 copies of the little-endian 64-bit word pattern(seed, s).
import struct
import sys

SECTOR = 512
MASK = (1 << 64) - 1


def pattern(seed, sector):
    x = (seed * 0x9E3779B97F4A7C15 + sector) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def sector_bytes(seed, sector):
    return struct.pack("<Q", pattern(seed, sector)) * (SECTOR // 8)


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("check", "write"):
        sys.exit(__doc__ or "usage: blk_pattern.py check|write IMAGE [MIB [SEED]]")
    image = sys.argv[2]
    mib = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    sectors = mib * 1024 * 1024 // SECTOR
    if sys.argv[1] == "write":
        with open(image, "r+b") as f:
            for s in range(sectors):
                f.write(sector_bytes(seed, s))
        return
    with open(image, "rb") as f:
        for s in range(sectors):
            if f.read(SECTOR) != sector_bytes(seed, s):
                print(f"blk_pattern: sector {s} differs", file=sys.stderr)
                sys.exit(1)
    print(f"blk_pattern: {sectors} sectors ok (seed {seed})")


if __name__ == "__main__":
    main()
