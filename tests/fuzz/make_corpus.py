#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the seed corpora in tests/fuzz/corpus/<target>/: small valid inputs
(requests, config files, kernel headers, register and descriptor sequences)
that start each fuzz target deep in its parser instead of at its first byte.
Deterministic: running it again rewrites the same files. Seeds a fuzzer
found (crashes fixed since) sit beside these and are left alone."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def op(kind, a, off, val):
    """The 8-byte operation the register and device targets share: u8 u8 u16 u32."""
    return struct.pack("<BBHI", kind, a, off & 0xffff, val & 0xffffffff)


# ---- HTTP heads, API bodies, config files, seccomp policies ----

def http():
    heads = {
        "get-root": "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "get-version-1.0": "GET /version HTTP/1.0\r\nAccept: */*\r\n\r\n",
        "put-machine": "PUT /machine-config HTTP/1.1\r\nHost: localhost\r\n"
                       "Content-Type: application/json\r\nContent-Length: 39\r\n\r\n",
        "patch-vm": "PATCH /vm HTTP/1.1\r\nContent-Length: 19\r\n\r\n",
        "put-expect": "PUT /actions HTTP/1.1\r\nContent-Length: 33\r\n"
                      "Expect: 100-continue\r\n\r\n",
        "put-no-length": "PUT /drives/rootfs HTTP/1.1\r\nHost: x\r\n\r\n",
        "chunked": "PUT /logger HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "http2": "GET / HTTP/2.0\r\n\r\n",
        "query": "GET /vm/config?x=1 HTTP/1.1\r\n\r\n",
        "delete": "DELETE /drives/rootfs HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    }
    for name, head in heads.items():
        write("fuzz_http", name, head)


API_TARGETS = [
    "/boot-source", "/machine-config", "PATCH /machine-config", "/drives/rootfs",
    "PATCH /drives/rootfs", "/network-interfaces/eth0", "/entropy", "/logger", "/metrics",
    "/actions", "PATCH /vm", "GET /", "GET /version", "GET /vm/config", "DELETE",
    "/drives/", "PATCH /network-interfaces/eth0", "/serial",
]

# The limiter seeds' buckets: both kinds, a burst, zeros (no limit).
LIMITER = {"bandwidth": {"size": 2097152, "one_time_burst": 1048576, "refill_time": 1000},
           "ops": {"size": 100, "refill_time": 10}}

API_BODIES = [
    ("boot-source", 0, {"kernel_image_path": "/vm/vmlinux",
                        "boot_args": "console=ttyS0 reboot=k panic=1",
                        "initrd_path": "/vm/initrd.cpio"}),
    ("machine", 1, {"vcpu_count": 2, "mem_size_mib": 256, "smt": False,
                    "huge_pages": "None", "track_dirty_pages": False,
                    "cpu_template": "None"}),
    ("machine-patch", 2, {"mem_size_mib": 512}),
    ("drive", 3, {"drive_id": "rootfs", "path_on_host": "/vm/rootfs.ext4",
                  "is_root_device": True, "is_read_only": False, "cache_type": "Unsafe",
                  "io_engine": "Sync"}),
    ("drive-partuuid", 3, {"drive_id": "rootfs", "path_on_host": "/vm/disk.img",
                           "is_root_device": True, "partuuid": "0eaa91a0-01",
                           "is_read_only": True}),
    ("drive-patch", 4, {"drive_id": "rootfs", "path_on_host": "/vm/rootfs-2.ext4"}),
    ("net", 5, {"iface_id": "eth0", "host_dev_name": "tap0",
                "guest_mac": "06:00:ac:10:00:02"}),
    ("entropy", 6, {}),
    ("logger", 7, {"log_path": "/vm/petrel.log", "level": "Debug", "show_level": True,
                   "show_log_origin": False}),
    ("metrics", 8, {"metrics_path": "/vm/metrics.json"}),
    ("action-start", 9, {"action_type": "InstanceStart"}),
    ("action-ctrl-alt-del", 9, {"action_type": "SendCtrlAltDel"}),
    ("action-flush", 9, {"action_type": "FlushMetrics"}),
    ("vm-pause", 10, {"state": "Paused"}),
    ("vm-resume", 10, {"state": "Resumed"}),
    ("get-root", 11, None),
    ("drive-unknown-field", 3, {"drive_id": "rootfs", "path_on_host": "/x",
                                "is_root_device": False, "is_read_only": False,
                                "rate_limiter": {"bandwidth": {"size": 1}}}),
    ("drive-limited", 3, {"drive_id": "rootfs", "path_on_host": "/x",
                          "is_root_device": False, "rate_limiter": LIMITER}),
    ("drive-patch-limiter", 4, {"drive_id": "rootfs",
                                "rate_limiter": {"ops": {"size": 0, "refill_time": 0}}}),
    ("net-limited", 5, {"iface_id": "eth0", "host_dev_name": "tap0", "mtu": 9000,
                        "rx_rate_limiter": LIMITER, "tx_rate_limiter": {"ops": None}}),
    ("net-patch", 16, {"iface_id": "eth0", "rx_rate_limiter": LIMITER,
                       "tx_rate_limiter": {"bandwidth": {"size": 1, "refill_time": 1}}}),
    ("entropy-limited", 6, {"rate_limiter": {"ops": {"size": 10, "refill_time": 100}}}),
    ("serial", 17, {"serial_out_path": "/vm/console.log",
                    "rate_limiter": {"size": 4096, "one_time_burst": 0, "refill_time": 1000}}),
]


def api_json():
    assert API_TARGETS[10] == "PATCH /vm"
    for name, target, body in API_BODIES:
        text = "" if body is None else json.dumps(body)
        write("fuzz_api_json", name, bytes([target]) + text.encode())


def config():
    full = {
        "boot-source": {"kernel_image_path": "/vm/vmlinux",
                        "boot_args": "console=ttyS0 reboot=k panic=1",
                        "initrd_path": "/vm/initrd.cpio.gz"},
        "machine-config": {"vcpu_count": 2, "mem_size_mib": 256, "smt": False,
                           "huge_pages": "None", "track_dirty_pages": False,
                           "cpu_template": "None"},
        "drives": [{"drive_id": "rootfs", "path_on_host": "/vm/rootfs.ext4",
                    "is_root_device": True, "is_read_only": False},
                   {"drive_id": "data", "path_on_host": "/vm/data.img",
                    "is_root_device": False, "is_read_only": True,
                    "io_engine": "Async", "cache_type": "Writeback"}],
        "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0",
                                "guest_mac": "06:00:ac:10:00:02"}],
        "entropy": {},
        "logger": {"log_path": "/tmp/petrel.log", "level": "Info", "show_level": True,
                   "show_log_origin": False},
        "metrics": {"metrics_path": "/tmp/petrel.metrics"},
    }
    write("fuzz_config", "full.json", json.dumps(full, indent=2))
    with open(os.path.join(HERE, "..", "..", "examples", "vm-config.json"), "rb") as f:
        write("fuzz_config", "example.json", f.read())
    minimal = {"boot-source": {"kernel_image_path": "/vm/vmlinux"},
               "machine-config": {"vcpu_count": 1, "mem_size_mib": 128}}
    write("fuzz_config", "minimal.json", json.dumps(minimal))
    hugepages = dict(minimal)
    hugepages["machine-config"] = {"vcpu_count": 32, "mem_size_mib": 2048,
                                   "huge_pages": "2M", "smt": True}
    write("fuzz_config", "hugepages.json", json.dumps(hugepages))
    limited = dict(full)
    limited["drives"] = [dict(full["drives"][0], rate_limiter=LIMITER)]
    limited["network-interfaces"] = [dict(full["network-interfaces"][0], mtu=1500,
                                          rx_rate_limiter=LIMITER,
                                          tx_rate_limiter={"ops": LIMITER["ops"]})]
    limited["entropy"] = {"rate_limiter": {"bandwidth": LIMITER["bandwidth"]}}
    limited["serial"] = {"serial_out_path": "/tmp/console", "rate_limiter": LIMITER["ops"]}
    write("fuzz_config", "limited.json", json.dumps(limited, indent=2))
    write("fuzz_config", "unsupported.json",
          json.dumps({"boot-source": {"kernel_image_path": "/k"}, "vsock": {},
                      "balloon": None, "mmds-config": {}}))


def seccomp_json():
    rules = {
        "vcpu": {"default_action": "trap", "filter_action": "allow",
                 "filter": [{"syscall": "futex"},
                            {"syscall": "ioctl", "comment": "KVM_RUN",
                             "args": [{"index": 1, "type": "dword", "op": "eq",
                                       "val": 44672}]},
                            {"syscall": "mmap",
                             "args": [{"index": 3, "type": "dword",
                                       "op": {"masked_eq": 4294950911}, "val": 34}]}]},
        "api": {"default_action": {"errno": 1}, "filter_action": "allow",
                "filter": [{"syscall": "accept4"}, {"syscall": "epoll_wait"},
                           {"syscall": "write", "args": [
                               {"index": 2, "type": "qword", "op": "le", "val": 65536}]}]},
        "vmm": {"default_action": "kill_process", "filter_action": "log",
                "filter": [{"syscall": "read"},
                           {"syscall": "openat", "args": [
                               {"index": 2, "type": "dword", "op": "ne", "val": 1},
                               {"index": 3, "type": "qword", "op": "gt", "val": 0}]}]},
    }
    write("fuzz_seccomp_json", "all-threads.json", json.dumps(rules, indent=1))
    write("fuzz_seccomp_json", "actions.json", json.dumps({
        "vcpu": {"default_action": "kill", "filter": []},
        "api": {"default_action": "kill_thread", "filter": [{"syscall": "poll"}]},
        "vmm": {"default_action": {"trace": 7}, "filter_action": "log",
                "filter": [{"syscall": "close", "args": [
                    {"index": 0, "type": "dword", "op": "lt", "val": 3},
                    {"index": 0, "type": "dword", "op": "ge", "val": 0}]}]}}))


def jailer_args():
    argvs = {
        "minimal": ["--id", "vm1", "--uid", "1000", "--gid", "1000"],
        "full": ["--id", "a-b-c", "--exec-file", "/usr/bin/petrel", "--uid", "123",
                 "--gid", "456", "--chroot-base-dir", "/srv/jailer", "--netns",
                 "/var/run/netns/vm1", "--cgroup-version", "2", "--cgroup",
                 "memory.max=256M", "--cgroup", "cpu.max=50000 100000",
                 "--parent-cgroup", "petrel/tenants", "--resource-limit", "fsize=1048576",
                 "--resource-limit", "no-file=1024", "--daemonize", "--new-pid-ns", "--",
                 "--api-sock", "/run/petrel.sock"],
        "equals": ["--id=vm2", "--uid=0", "--gid=0", "--cgroup-version=1",
                   "--", "--config-file", "vm.json"],
        "bad-parent": ["--id", "vm3", "--uid", "1", "--gid", "1", "--parent-cgroup",
                       "a/../b"],
        "help": ["--help"],
    }
    for name, argv in argvs.items():
        write("fuzz_jailer_args", name, b"\0".join(a.encode() for a in argv))


# ---- kernels: ELF with and without a PVH note, a bzImage header ----

def elf(pvh):
    phnum = 2 if pvh else 1
    note = struct.pack("<III", 4, 4, 18) + b"Xen\0" + struct.pack("<I", 0x1000000)
    phoff, code_off = 64, 0x100
    note_off = phoff + 56 * phnum
    eh = (b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) +
          struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x1000000, phoff, 0, 0, 64, 56, phnum,
                      64, 0, 0))
    load = struct.pack("<IIQQQQQQ", 1, 5, code_off, 0x1000000, 0x1000000, 0x40, 0x2000,
                       0x1000)
    ph = load
    if pvh:
        ph += struct.pack("<IIQQQQQQ", 4, 4, note_off, 0, 0, len(note), len(note), 4)
    data = eh + ph + (note if pvh else b"")
    data += bytes(code_off - len(data)) + b"\xf4" * 0x40
    return data


def bzimage():
    setup_sects = 1
    hdr = bytearray(512 * (setup_sects + 1) + 0x400)
    hdr[0x1f1] = setup_sects
    struct.pack_into("<H", hdr, 0x1fe, 0xaa55)
    hdr[0x200:0x202] = b"\xeb\x66"                   # jump past the header
    hdr[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", hdr, 0x206, 0x020f)       # boot protocol 2.15
    hdr[0x211] = 0x01                                # loadflags: LOADED_HIGH
    struct.pack_into("<I", hdr, 0x230, 0x200000)     # kernel_alignment
    hdr[0x234] = 1                                   # relocatable_kernel
    struct.pack_into("<H", hdr, 0x236, 0x1 | 0x2)    # xloadflags: KERNEL_64, CAN_BE_LOADED_ABOVE_4G
    struct.pack_into("<I", hdr, 0x238, 2047)         # cmdline_size
    struct.pack_into("<Q", hdr, 0x258, 0x1000000)    # pref_address
    struct.pack_into("<I", hdr, 0x260, 0x20000)      # init_size
    return bytes(hdr)


def kernel():
    write("fuzz_kernel", "pvh.elf", elf(True))
    write("fuzz_kernel", "linux64.elf", elf(False))
    write("fuzz_kernel", "bzimage", bzimage())


# ---- the virtio transport and split rings ----

def virtio_mmio():
    READ, WRITE, STORE, BRING_UP, OFFER, CONFIG_CHANGED = range(6)
    ident = b"".join(op(READ, 2, off, 0) for off in (0x000, 0x004, 0x008, 0x00c, 0x010))
    up = op(BRING_UP, 0, 0x100, 3 | 8 << 8 | 10 << 16)
    up_event = op(BRING_UP, 0, 0x200, 4 | 16 << 8 | 20 << 16 | 0x30000000)
    offers = b"".join(op(OFFER, 0, i, 0x1000 + 0x100 * i | (0x3f << 16)) for i in range(4))
    write("fuzz_virtio_mmio", "identify", ident)
    write("fuzz_virtio_mmio", "bring-up-offer", ident + up + offers + op(READ, 2, 0x060, 0) +
          op(WRITE, 2, 0x064, 1))
    write("fuzz_virtio_mmio", "event-idx", up_event + offers + offers +
          op(CONFIG_CHANGED, 0, 0, 0) + op(READ, 2, 0x0fc, 0))
    write("fuzz_virtio_mmio", "reset-and-again", up + offers + op(WRITE, 2, 0x070, 0) + up +
          offers)
    write("fuzz_virtio_mmio", "bad-ring", up + op(STORE, 0, 0x100, 0xffffff00) + offers)


def desc(addr, length, flags, nxt):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def virtq():
    NEXT, WRITE, INDIRECT = 1, 2, 4

    def image(size_log2, event_idx, descs, avail, extra=()):
        header = struct.pack("<BBHHIII", size_log2, event_idx, 0, 0, 0x100, 0x400, 0x600)
        ram = bytearray(0x2000)
        for i, d in enumerate(descs):
            ram[0x100 + 16 * i:0x110 + 16 * i] = d
        ram[0x400:0x404] = struct.pack("<HH", 0, len(avail))
        for i, head in enumerate(avail):
            ram[0x404 + 2 * i:0x406 + 2 * i] = struct.pack("<H", head)
        for at, data in extra:
            ram[at:at + len(data)] = data
        return header + bytes(ram)

    write("fuzz_virtq", "chain", image(2, 0, [desc(0x1000, 16, NEXT, 1),
                                              desc(0x1100, 64, WRITE, 0)], [0]))
    write("fuzz_virtq", "two-chains-event-idx",
          image(3, 1, [desc(0x1000, 12, NEXT, 1), desc(0x1010, 100, NEXT, 2),
                       desc(0x1100, 64, WRITE, 0), desc(0x1200, 1, WRITE, 0)], [0, 3]))
    table = desc(0x1300, 8, NEXT, 1) + desc(0x1400, 32, WRITE, 0)
    write("fuzz_virtq", "indirect", image(2, 0, [desc(0x1800, 32, INDIRECT, 0)], [0],
                                          [(0x1800, table)]))
    # A buffer in the second region (gpa 0x10000), past the hole.
    write("fuzz_virtq", "second-region", image(1, 0, [desc(0x10100, 256, WRITE, 0)], [0]) +
          bytes(0x200))


# ---- virtio-net ----

def virtio_net():
    READ, WRITE, STORE, BRING_UP, CHAIN, KICK, LOOP, SEND, RECV, USED = range(10)
    MRG, EVENT_IDX, INDIRECT, GUEST_CSUM, CSUM = 1 << 15, 1 << 29, 1 << 28, 1 << 1, 1
    sizes = 4 | 4 << 4                    # 16-entry queues

    def rx(nseg=1, length=2048, kick=True, tiny=False, extra=0):
        return op(CHAIN, 0 | (nseg - 1) << 1 | (0x40 if kick else 0) |
                  (0x80 if tiny else 0) | extra, 0, length)

    def tx(nseg=1, length=60, off=0, kick=True, extra=0):
        return op(CHAIN, 1 | (nseg - 1) << 1 | (0x40 if kick else 0) | extra, off, length)

    def send(length, fill=0x5a):
        return op(SEND, fill, 0, length)

    reap = op(USED, 0, 0, 0) + op(USED, 1, 0, 0) + op(RECV, 0, 0, 0)
    loop = op(LOOP, 0, 0, 0)
    config = b"".join(op(READ, 0, 0x100 + i, 0) for i in range(8))
    write("fuzz_virtio_net", "identify", b"".join(op(READ, 2, o, 0) for o in
                                                 (0, 4, 8, 0x10)) + config)
    plain = op(BRING_UP, sizes, 0, 0)
    write("fuzz_virtio_net", "tx-rx", plain + tx() + tx(3, 1514, 0x10) + loop + reap +
          rx() + rx() + send(74) + send(1514) + loop + loop + reap)
    mrg = op(BRING_UP, sizes, 0, MRG | GUEST_CSUM | CSUM)
    write("fuzz_virtio_net", "mrg-rxbuf", mrg + rx(1, 1024) + rx(1, 1024) + rx(2, 1024) +
          send(3000) + loop + reap + send(12) + send(13) + rx() + loop + reap)
    write("fuzz_virtio_net", "mrg-event-idx-indirect",
          op(BRING_UP, sizes, 0, MRG | EVENT_IDX | INDIRECT) + rx(4, 4096, extra=0x20) +
          rx(2, 4096) + rx(4, 4096, extra=0x20) + tx(2, 200, 0x40, extra=0x20) +
          send(9000) + loop + loop + reap)
    write("fuzz_virtio_net", "big-frame", op(BRING_UP, 0 | 2 << 4, 0, INDIRECT) +
          rx(8, 0x10000, extra=0x20) + send(65000) + loop + reap)
    write("fuzz_virtio_net", "no-room", plain + send(100) + send(100) + loop + rx(1, 64) +
          loop + rx(1, 2048) + op(KICK, 0, 0, 0) + send(100) + loop + reap)
    write("fuzz_virtio_net", "bad-chains", plain + tx(1, 8) + loop + reap +
          op(BRING_UP, sizes, 0, MRG) + rx(3, 0x0102, tiny=True) + send(200) + loop + reap +
          plain + tx(2, 100, extra=0x10) + loop + reap)
    write("fuzz_virtio_net", "tx-burst", plain + b"".join(tx(2, 1000 + i, i * 8, kick=False)
                                                          for i in range(16)) +
          op(KICK, 1, 0, 0) + loop + loop + reap + tx() + loop + reap)
    write("fuzz_virtio_net", "reset", plain + rx() + send(100) + op(WRITE, 2, 0x070, 0) +
          loop + plain + rx() + op(KICK, 0, 0, 0) + loop + reap)


def virtio_balloon():
    """First byte: features offered (1 deflate_on_oom, 2 stats, 4 hinting, 8 reporting)."""
    READ, WRITE, STORE, BRING_UP, CHAIN, KICK, LOOP, API, SAVE, RAW = range(10)
    STATS, HINT, REPORT = 1 << 1, 1 << 3, 1 << 5
    loop = op(LOOP, 0, 0, 0)
    buf = 0x1000                          # chains at off * 16: 64 KiB, clear of the rings

    def pfns(first, n):
        return b"".join(op(STORE, (i * 4) % 64, buf * 16 // 64 + (i * 4) // 64, first + i)
                        for i in range(n))

    def chain(q, length, writable=0, nseg=1):
        return op(CHAIN, q | (nseg - 1) << 3, buf, length | writable << 16)

    config = b"".join(op(READ, 0, 0x100 + 4 * i, 0) for i in range(4))
    write("fuzz_virtio_balloon", "identify", bytes([15]) + b"".join(
        op(READ, 0, o, 0) for o in (0, 4, 8, 0x10)) + config)
    up = op(BRING_UP, 4, 0, 0)
    write("fuzz_virtio_balloon", "inflate-deflate", bytes([1]) + op(API, 0, 0, 1) + up +
          pfns(100, 16) + chain(0, 64) + op(KICK, 0, 0, 0) + loop + chain(1, 64) +
          op(KICK, 1, 0, 0) + loop + op(WRITE, 0, 0x104, 16))
    write("fuzz_virtio_balloon", "hostile-pfns", bytes([0]) + up +
          pfns(0xfffffff0, 8) + pfns(100, 4) + pfns(100, 4) + chain(0, 64, nseg=2) +
          chain(0, 0x4000) + op(KICK, 0, 0, 0) + loop + chain(1, 0x100, 1) +
          op(KICK, 1, 0, 0) + loop)
    write("fuzz_virtio_balloon", "stats", bytes([2]) + op(BRING_UP, 4, 0, STATS) +
          op(STORE, 0, buf * 16 // 64, 5) + op(STORE, 4, buf * 16 // 64, 0x1000) +
          chain(2, 20) + op(KICK, 2, 0, 0) + loop + op(API, 1, 0, 2) + op(API, 5, 0, 0) +
          chain(2, 10) + op(KICK, 2, 0, 0) + loop + op(SAVE, 0, 0, 0) + loop)
    write("fuzz_virtio_balloon", "hinting", bytes([4]) + op(BRING_UP, 4, 0, HINT) +
          op(API, 2, 0, 1) + op(STORE, 0, buf * 16 // 64, 2) + chain(2, 4) +
          op(CHAIN, 2 | 1 << 3, buf + 0x100, 0x2000 | 3 << 16) + op(KICK, 2, 0, 0) + loop +
          op(STORE, 0, buf * 16 // 64, 0) + chain(2, 4) + op(KICK, 2, 0, 0) + loop +
          op(API, 4, 0, 0) + op(API, 3, 0, 0) + op(SAVE, 0, 0, 0))
    write("fuzz_virtio_balloon", "reporting", bytes([8]) + op(BRING_UP, 4, 0, REPORT) +
          op(CHAIN, 2 | 3 << 3, buf + 0x100, 0x1000 | 0xf << 16) + op(KICK, 2, 0, 0) + loop +
          op(SAVE, 0, 0, 0) + op(RAW, 0, 0, 40) + bytes(40))


def virtio_vsock():
    (READ, WRITE, STORE, BRING_UP, BUF, TX, KICK, LOOP, USED, CONNECT, HWRITE, HREAD, SHUT,
     CLOSE, LISTEN, ACCEPT) = range(16)
    REQUEST, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST = range(1, 8)
    STREAM, REPLY, OTHER_CID, CUT = 1 << 3, 0x40, 0x20, 0x80

    def pkt(o, length=0, flags=0, extra=0, buf_alloc=16):
        return op(TX, o | STREAM | extra, flags << 8, length | buf_alloc << 12)

    up = op(BRING_UP, 0, 0, 0)
    rx = b"".join(op(BUF, 2 if i == 7 else 0, 0, 4096) for i in range(8))
    ev = op(BUF, 3, 0, 4)
    loop, reap = op(LOOP, 0, 0, 0), b"".join(op(USED, q, 0, 0) for q in range(3))
    write("fuzz_virtio_vsock", "config", b"".join(op(READ, 2, o, 0) for o in
                                                  (0, 4, 8, 0x10, 0x100, 0x104)))
    # The host connects, the guest accepts, bytes both ways, the host half-closes.
    write("fuzz_virtio_vsock", "host-connect", up + rx + ev + op(CONNECT, 0, 1, 0) + loop +
          loop + reap + pkt(RESPONSE, extra=REPLY) + loop + op(HREAD, 0, 0, 64) +
          op(HWRITE, 0, 0, 3000) + loop + reap + pkt(RW, 100, extra=REPLY) + loop +
          op(HREAD, 0, 0, 4096) + op(SHUT, 0, 0, 0) + loop + reap +
          pkt(SHUTDOWN, flags=3, extra=REPLY) + loop + reap)
    # The guest connects to a listener, and to a port nobody serves.
    write("fuzz_virtio_vsock", "guest-connect", up + rx + op(LISTEN, 0, 0, 0) +
          pkt(REQUEST) + op(ACCEPT, 0, 1, 0) + loop + reap + pkt(RW, 500) +
          op(HREAD, 1, 0, 4096) + op(HWRITE, 1, 0, 70000) + loop + loop + reap + rx +
          loop + reap + pkt(CREDIT_REQUEST) + pkt(REQUEST, extra=0, flags=0) + loop +
          op(TX, REQUEST | STREAM, 4, 0) + loop + reap + op(CLOSE, 1, 0, 0) + loop + reap +
          pkt(RST))
    # Beyond the credit: the host never reads, the guest keeps sending.
    write("fuzz_virtio_vsock", "credit", up + rx + op(LISTEN, 0, 0, 0) + pkt(REQUEST) +
          op(ACCEPT, 0, 1, 0) + loop + reap + b"".join(pkt(RW, 4000) + reap
                                                       for _ in range(40)) + loop + reap)
    # Packets no driver sends.
    write("fuzz_virtio_vsock", "hostile", up + rx + pkt(REQUEST, extra=OTHER_CID) +
          op(TX, 7 | 2 << 3, 0, 0) + op(TX, 0 | STREAM, 0, 0) + op(TX, RW | STREAM | CUT, 0,
                                                                   0x20000000 | 100) +
          pkt(RW, 0xfff) + op(CONNECT, 1, 0, 9) + op(CONNECT, 2, 0, 15) + loop + reap +
          op(WRITE, 2, 0x070, 0) + loop + up + rx + loop + reap)


# ---- legacy devices on port I/O ----

def pio(kind, port_index, size_log2, val):
    return op(kind, size_log2, port_index, val)


def serial():
    IN, OUT, HOST, DRAIN = 0, 1, 2, 3
    base = 2                               # window starts at 0x3f6

    def out(reg, v):
        return pio(OUT, base + reg, 0, v)

    def inb(reg):
        return pio(IN, base + reg, 0, 0)

    linux_probe = (out(3, 0x80) + out(0, 0x01) + out(1, 0x00) + out(3, 0x03) +
                   out(2, 0xc7) + out(4, 0x0b) + out(1, 0x0f) + inb(5) + inb(2) +
                   out(0, ord("h")) + out(0, ord("i")) + inb(2) + inb(5))
    loopback = out(4, 0x10) + b"".join(out(0, c) for c in b"loop") + inb(6) + \
        b"".join(inb(0) for _ in range(4)) + out(4, 0x0b)
    write("fuzz_serial", "linux-probe", linux_probe)
    write("fuzz_serial", "loopback", loopback)
    write("fuzz_serial", "input", out(1, 0x01) + op(HOST, 0, 0, 0x41000010) + inb(2) +
          inb(5) + b"".join(inb(0) for _ in range(16)) + inb(5))
    write("fuzz_serial", "input-full-drain", op(HOST, 0, 0, 0x1fff) +
          b"".join(inb(0) for _ in range(8)) + op(HOST, 0, 0, 0x20))
    write("fuzz_serial", "fifo-full-then-cleared", op(HOST, 0, 0, 0x1fff) + out(2, 0x07) +
          op(HOST, 0, 0, 0x10))
    write("fuzz_serial", "output-backlog", out(3, 0x03) +
          b"".join(out(0, c) for c in b"a console nobody reads fills up" * 3) +
          op(DRAIN, 0, 0, 40) + out(0, ord("!")) + op(DRAIN, 0, 0, 0xffff))
    write("fuzz_serial", "wide-access", pio(IN, base, 2, 0) + pio(OUT, base + 4, 1, 0x1234) +
          pio(IN, base + 6, 2, 0) + pio(OUT, 0, 0, 0))


def i8042():
    IN, OUT, CAD, DRAIN = 0, 1, 2, 3
    data, cmd = 2, 6                       # window starts at 0x5e

    def outb(port, v):
        return pio(OUT, port, 0, v)

    def inb(port):
        return pio(IN, port, 0, 0)

    probe = (inb(cmd) + outb(cmd, 0xaa) + inb(cmd) + inb(data) + outb(cmd, 0x20) +
             inb(data) + outb(cmd, 0x60) + outb(data, 0x47) + outb(cmd, 0xab) + inb(data) +
             outb(cmd, 0xa9) + inb(data) + outb(cmd, 0xae))
    keyboard = (outb(data, 0xff) + inb(data) + inb(data) + outb(data, 0xf2) +
                op(DRAIN, 0, 0, 0) + outb(data, 0xed) + outb(data, 0x07) +
                outb(data, 0xf0) + outb(data, 0x02) + op(DRAIN, 0, 0, 0))
    write("fuzz_i8042", "linux-probe", probe)
    write("fuzz_i8042", "keyboard", keyboard)
    write("fuzz_i8042", "ctrl-alt-del", op(CAD, 0, 0, 0) + op(CAD, 0, 0, 0) +
          op(CAD, 0, 0, 0) + op(DRAIN, 0, 0, 0) + outb(cmd, 0x60) + outb(data, 0x00) +
          op(CAD, 0, 0, 0) + op(DRAIN, 0, 0, 0))
    write("fuzz_i8042", "reset", outb(cmd, 0xd0) + inb(data) + outb(cmd, 0xd1) +
          outb(data, 0xfe) + outb(cmd, 0xfe))


def acpi_pm():
    IN, OUT = 0, 1
    ctl, sts, rst = 4, 5, 6                # window starts at 0x3bc
    write("fuzz_acpi_pm", "poweroff", pio(IN, sts, 0, 0) + pio(OUT, ctl, 0, 5 << 2 | 1 << 5))
    write("fuzz_acpi_pm", "reset", pio(OUT, rst, 0, 1))
    write("fuzz_acpi_pm", "near-misses", pio(OUT, ctl, 0, 5 << 2) + pio(OUT, ctl, 0, 4 << 2 | 32) +
          pio(OUT, rst, 0, 2) + pio(OUT, sts, 1, 0x0100) + pio(IN, ctl, 2, 0) +
          pio(OUT, ctl, 1, 0x0134) + pio(IN, 3, 0, 0))


# ---- the metadata service: guest requests, and frames at its address ----

MMDS_HEADS = {
    "get-listing": "GET /latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n",
    "get-json": "GET /latest/meta-data/ami-id HTTP/1.1\r\nAccept: application/json\r\n\r\n",
    "put-token": "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 60\r\n\r\n",
    "get-token": "GET /latest HTTP/1.1\r\nX-metadata-token: " + "ab" * 32 + "\r\n\r\n",
    "pointer": "GET /latest/meta-data/a~0b~1c/x/1 HTTP/1.0\r\nConnection: close\r\n\r\n",
    "body": "PUT /latest/api/token HTTP/1.1\r\nContent-Length: 3\r\n"
            "X-aws-ec2-metadata-token-ttl-seconds: 1\r\n\r\nabc",
}


def mmds_http():
    for name, head in MMDS_HEADS.items():
        write("fuzz_mmds_http", name, head)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


GUEST_MAC = bytes([6, 0, 0, 0, 0, 2])
MMDS_MAC = bytes([6, 1, 0x23, 0x45, 0x67, 1])
GUEST_IP = bytes([169, 254, 1, 2])
MMDS_IP = bytes([169, 254, 169, 254])


def vnet(frame):
    """A frame as the endpoint gets it: the virtio-net header, then its u16 length first."""
    f = bytes(12) + frame
    return struct.pack("<H", len(f)) + f


def arp_request():
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + GUEST_MAC + GUEST_IP + bytes(6) + MMDS_IP
    return vnet(b"\xff" * 6 + GUEST_MAC + b"\x08\x06" + arp)


def tcp(seq, ack, flags, payload=b""):
    t = struct.pack("!HHIIBBHHH", 40000, 80, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    pseudo = GUEST_IP + MMDS_IP + struct.pack("!BBH", 0, 6, len(t))
    t = t[:16] + struct.pack("!H", csum(pseudo + t)) + t[18:]
    ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(t), 1, 0x4000, 64, 6, 0) + GUEST_IP + MMDS_IP
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return vnet(MMDS_MAC + GUEST_MAC + b"\x08\x00" + ip + t)


def mmds_frames():
    get = MMDS_HEADS["get-listing"].encode()
    write("fuzz_mmds_frames", "arp", arp_request())
    # Fuzz builds start the server's sequence numbers at 0: its SYN-ACK is acknowledged by 1.
    write("fuzz_mmds_frames", "syn-get-fin", arp_request() + tcp(100, 0, 2) +
          tcp(101, 1, 0x18, get) + tcp(101 + len(get), 1, 0x11))
    write("fuzz_mmds_frames", "no-connection", tcp(5, 5, 0x18, get) + tcp(9, 0, 4))
    write("fuzz_mmds_frames", "syn-flood", b"".join(tcp(i, 0, 2)[:-2] + b"\0\0" for i in range(20)))


def main():
    mmds_http()
    mmds_frames()
    http()
    api_json()
    config()
    seccomp_json()
    jailer_args()
    kernel()
    virtio_mmio()
    virtq()
    virtio_net()
    virtio_balloon()
    virtio_vsock()
    serial()
    i8042()
    acpi_pm()


if __name__ == "__main__":
    main()
