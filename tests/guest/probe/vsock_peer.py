#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The host's end of the probe's vsock tests and benchmarks.

  vsock_peer.py echo UDS PORT BYTES [DELAY_MS]
      CONNECT to guest PORT, send BYTES random bytes while reading them back
      in 4 KiB reads, sleeping DELAY_MS after each (a slow reader); print
      "echo sent=N got=N sha_equal=1 MBps=X".
  vsock_peer.py many UDS PORT N
      open N connections at once (all handshakes first), then one message
      on each, read every echo back, close them; print "many ok=N".
  vsock_peer.py vanish UDS PORT BYTES
      CONNECT, send BYTES, then exit without reading or closing first.
  vsock_peer.py listen PATH MODE SECONDS
      serve guest connections on PATH (echo, sink or noread) for SECONDS or
      until one connection ends; print "listen conns=N bytes=N MBps=X".
  vsock_peer.py sink UDS PORT BYTES
      CONNECT to a sink guest, send BYTES, half-close, wait for the guest's
      end; print "sink bytes=N MBps=X".
  vsock_peer.py rate UDS PORT N
      N connections one after the other (CONNECT, OK, close); print
      "rate conns=N per_s=X".
"""
import hashlib
import os
import socket
import sys
import time


def connect(uds, port, timeout=20):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(uds)
    s.sendall(b"CONNECT %d\n" % port)
    line = b""
    while not line.endswith(b"\n"):
        b = s.recv(1)
        if not b:
            raise ConnectionError("closed before OK (got %r)" % line)
        line += b
    if not line.startswith(b"OK "):
        raise ConnectionError("bad answer %r" % line)
    return s


def echo(uds, port, nbytes, delay_ms):
    data = os.urandom(nbytes)
    s = connect(uds, port)
    s.setblocking(False)
    sent, got = 0, hashlib.sha256()
    ngot = 0
    start = time.monotonic()
    while ngot < nbytes:
        if sent < nbytes:
            try:
                sent += s.send(data[sent:sent + 65536])
            except BlockingIOError:
                pass
        try:
            chunk = s.recv(4096)
        except BlockingIOError:
            chunk = None
            time.sleep(0.0005)
        if chunk == b"":
            break
        if chunk:
            got.update(chunk)
            ngot += len(chunk)
            if delay_ms:
                time.sleep(delay_ms / 1000)
    secs = time.monotonic() - start
    equal = got.digest() == hashlib.sha256(data).digest()
    print("echo sent=%d got=%d sha_equal=%d MBps=%.1f" %
          (sent, ngot, equal and ngot == nbytes, ngot / secs / 1e6))
    s.close()
    return 0 if equal else 1


def many(uds, port, n):
    conns = [connect(uds, port, timeout=60) for _ in range(n)]
    for i, s in enumerate(conns):
        s.sendall(b"message %06d\n" % i)
    ok = 0
    for i, s in enumerate(conns):
        want = b"message %06d\n" % i
        got = b""
        while len(got) < len(want):
            b = s.recv(len(want) - len(got))
            if not b:
                break
            got += b
        ok += got == want
    print("many ok=%d open=%d" % (ok, len(conns)))
    for s in conns:
        s.close()
    return 0 if ok == n else 1


def vanish(uds, port, nbytes):
    s = connect(uds, port)
    s.sendall(os.urandom(nbytes))
    os._exit(0)


def listen(path, mode, seconds):
    if os.path.exists(path):
        os.unlink(path)
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(64)
    ls.settimeout(seconds)
    conns = total = 0
    start = None
    held = []
    print("listening", flush=True)
    try:
        while True:
            s, _ = ls.accept()
            conns += 1
            if mode == "noread":
                held.append(s)	# never read: the guest runs out of credit
                continue
            s.settimeout(seconds)
            while True:
                b = s.recv(65536)
                if start is None:
                    start = time.monotonic()
                if not b:
                    break
                total += len(b)
                if mode == "echo":
                    s.sendall(b)
            s.close()
            break
    except socket.timeout:
        pass
    secs = (time.monotonic() - start) if start else 0
    print("listen conns=%d bytes=%d MBps=%.1f" %
          (conns, total, total / secs / 1e6 if secs else 0))
    return 0


def sink(uds, port, nbytes):
    s = connect(uds, port)
    data = b"\xa5" * 65536
    start = time.monotonic()
    sent = 0
    while sent < nbytes:
        sent += s.send(data[:min(65536, nbytes - sent)])
    s.shutdown(socket.SHUT_WR)
    while s.recv(4096):
        pass
    secs = time.monotonic() - start
    print("sink bytes=%d MBps=%.1f" % (sent, sent / secs / 1e6))
    return 0


def rate(uds, port, n):
    start = time.monotonic()
    for _ in range(n):
        connect(uds, port).close()
    secs = time.monotonic() - start
    print("rate conns=%d per_s=%.0f" % (n, n / secs))
    return 0


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "echo":
        return echo(args[0], int(args[1]), int(args[2]), int(args[3]) if len(args) > 3 else 0)
    if cmd == "many":
        return many(args[0], int(args[1]), int(args[2]))
    if cmd == "vanish":
        return vanish(args[0], int(args[1]), int(args[2]))
    if cmd == "listen":
        return listen(args[0], args[1], float(args[2]))
    if cmd == "sink":
        return sink(args[0], int(args[1]), int(args[2]))
    if cmd == "rate":
        return rate(args[0], int(args[1]), int(args[2]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
