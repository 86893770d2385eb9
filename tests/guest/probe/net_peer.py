#!/usr/bin/env python3
# The host end of probe.action=net, on a tap device (run as root, in the
# tap's network namespace):
#   net_peer.py recv IFACE COUNT [SECONDS]   count the probe's frames, check sums
#   net_peer.py send IFACE COUNT [SIZE]      send COUNT frames of SIZE bytes
# A frame: broadcast, EtherType 0x88b5, u32 sequence and u32 sum (both
# big-endian), then data; sum = 32-bit sum of the data as little-endian
# 32-bit words, the last zero-padded.
import socket
import struct
import sys
import time

ETH_P_PROBE = 0x88B5
HEAD = struct.Struct("!6s6sHII")


def data_sum(data):
    padded = data + b"\0" * (-len(data) % 4)
    return sum(struct.unpack("<%dI" % (len(padded) // 4), padded)) & 0xFFFFFFFF


def rate(frames, nbytes, seconds):
    """ MBps (10^6 bytes) and frames per second, as the probe prints them."""
    if seconds <= 0:
        return " MBps=- fps=-"
    return f" MBps={nbytes / seconds / 1e6:.1f} fps={frames / seconds:.0f}"


def open_socket(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_PROBE))
    s.bind((iface, ETH_P_PROBE))
    return s


def recv(iface, count, seconds):
    s = open_socket(iface)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    s.settimeout(0.5)
    frames = nbytes = bad = 0
    first = last = 0.0
    seqs = set()
    deadline = time.monotonic() + seconds
    while frames < count and time.monotonic() < deadline:
        try:
            frame = s.recv(65536)
        except socket.timeout:
            continue
        if len(frame) < HEAD.size:
            bad += 1
            continue
        _, _, proto, seq, total = HEAD.unpack_from(frame)
        if proto != ETH_P_PROBE:
            continue
        last = time.monotonic()
        first = first or last
        frames += 1
        nbytes += len(frame)
        seqs.add(seq)
        bad += data_sum(frame[HEAD.size:]) != total
    # The rate runs from the first frame to the last, as the probe's does.
    print(f"net_peer: rx frames={frames} bytes={nbytes} bad={bad} distinct={len(seqs)}"
          + rate(frames, nbytes, last - first))
    return 0 if frames >= count and not bad else 1


def send(iface, count, size):
    s = open_socket(iface)
    mac = s.getsockname()[4][:6]
    data = bytes(i * 7 & 0xFF for i in range(size - HEAD.size))
    total = data_sum(data)
    start = time.monotonic()
    for seq in range(count):
        s.send(HEAD.pack(b"\xff" * 6, mac, ETH_P_PROBE, seq, total) + data)
    seconds = time.monotonic() - start
    print(f"net_peer: tx frames={count} bytes={count * size}" + rate(count, count * size, seconds))
    return 0


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ("recv", "send"):
        sys.exit("usage: net_peer.py recv IFACE COUNT [SECONDS] | send IFACE COUNT [SIZE]")
    iface, count = sys.argv[2], int(sys.argv[3])
    if sys.argv[1] == "recv":
        sys.exit(recv(iface, count, float(sys.argv[4]) if len(sys.argv) > 4 else 30))
    sys.exit(send(iface, count, int(sys.argv[4]) if len(sys.argv) > 4 else 1514))


if __name__ == "__main__":
    main()
