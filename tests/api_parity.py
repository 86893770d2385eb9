#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Walk the requests of Firecracker's OpenAPI file against petrel.

Every method and path of Firecracker's API (firecracker.yaml, 1.17.0-dev) is
in OPS, with what petrel does with it. The walk sends each request the file
describes, with every field it lists, and checks the status code and the
shape of the answer the file names: 200 with the schema's required members
and their types, 204 with no body, 400 with {"fault_message": "..."} alone.
Resources petrel does not have are refused by name. With --openapi FILE,
every method and path of FILE must be in OPS, so a newer file shows what is
new.

Standard library only: tests/integration/test_api_parity.sh runs it against
the release build with the probe kernel.
"""
import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time

# method, path, what petrel does: "petrel" (served as Firecracker documents
# it) or "refused" (400 naming the resource); the walk sends every one.
OPS = [
    ("GET", "/", "petrel"),
    ("PUT", "/actions", "petrel"),
    ("GET", "/balloon", "petrel"),
    ("PUT", "/balloon", "petrel"),
    ("PATCH", "/balloon", "petrel"),
    ("GET", "/balloon/statistics", "petrel"),
    ("PATCH", "/balloon/statistics", "petrel"),
    ("PATCH", "/balloon/hinting/start", "petrel"),
    ("GET", "/balloon/hinting/status", "petrel"),
    ("PATCH", "/balloon/hinting/stop", "petrel"),
    ("PUT", "/boot-source", "petrel"),
    ("PUT", "/cpu-config", "refused"),
    ("PUT", "/drives/{drive_id}", "petrel"),
    ("PATCH", "/drives/{drive_id}", "petrel"),
    ("PUT", "/pmem/{id}", "refused"),
    ("PATCH", "/pmem/{id}", "refused"),
    ("PUT", "/logger", "petrel"),
    ("GET", "/machine-config", "petrel"),
    ("PUT", "/machine-config", "petrel"),
    ("PATCH", "/machine-config", "petrel"),
    ("PUT", "/metrics", "petrel"),
    ("PUT", "/mmds", "petrel"),
    ("PATCH", "/mmds", "petrel"),
    ("GET", "/mmds", "petrel"),
    ("PUT", "/mmds/config", "petrel"),
    ("PUT", "/entropy", "petrel"),
    ("PUT", "/serial", "petrel"),
    ("PUT", "/hotplug/memory", "refused"),
    ("PATCH", "/hotplug/memory", "refused"),
    ("GET", "/hotplug/memory", "refused"),
    ("PUT", "/network-interfaces/{iface_id}", "petrel"),
    ("PATCH", "/network-interfaces/{iface_id}", "petrel"),
    ("PUT", "/snapshot/create", "petrel"),
    ("PUT", "/snapshot/load", "petrel"),
    ("GET", "/version", "petrel"),
    ("PATCH", "/vm", "petrel"),
    ("GET", "/vm/config", "petrel"),
    ("PUT", "/vsock", "petrel"),
]

FAILS = 0
WALKED = set()


def ok(what):
    print("ok: " + what)


def fail(what):
    global FAILS
    FAILS += 1
    print("FAIL: " + what)


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=20)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(self.unix_path)
        self.sock = s


class Petrel:
    """One petrel serving the API on DIR/NAME.sock, its output in DIR/NAME.{out,log}."""

    def __init__(self, binary, tmp, name, *args):
        self.sock = os.path.join(tmp, name + ".sock")
        self.log = os.path.join(tmp, name + ".log")
        with open(os.path.join(tmp, name + ".out"), "wb") as out, open(self.log, "wb") as err:
            self.proc = subprocess.Popen([binary, "--api-sock", self.sock, *args],
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        # Generous: proves it came up, not how fast.
        for _ in range(500):
            if self.proc.poll() is not None:
                break
            with open(self.log, errors="replace") as f:
                if "API server listening on " + self.sock + " " in f.read():
                    return
            time.sleep(0.02)
        raise RuntimeError(name + ": petrel did not start: " + open(self.log).read()[-500:])

    def request(self, method, path, body=None):
        conn = UnixHTTP(self.sock)
        data = None if body is None else json.dumps(body).encode()
        headers = {} if data is None else {"Content-Type": "application/json"}
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        text = r.read().decode()
        conn.close()
        return r.status, text

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def template(path):
    """The OpenAPI path an actual path stands for: /drives/x -> /drives/{drive_id}."""
    for m, p, _ in OPS:
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", p), path):
            return p
    return path


def expect(p, method, path, body, status, shape=None, word=None):
    """The status, the answer's shape, and word in a fault_message; the JSON answer."""
    WALKED.add((method, template(path)))
    what = "%s %s%s -> %d" % (method, path, " " + json.dumps(body) if body is not None else "",
                              status)
    got, text = p.request(method, path, body)
    if got != status:
        fail("%s: got %d %s" % (what, got, text[:300]))
        return None
    try:
        answer = json.loads(text) if text else None
    except ValueError:
        fail("%s: not JSON: %s" % (what, text[:300]))
        return None
    if status == 204 and text:
        fail("%s: a body with 204: %s" % (what, text[:300]))
        return None
    if status >= 400:
        if not (isinstance(answer, dict) and list(answer) == ["fault_message"] and
                isinstance(answer["fault_message"], str)):
            fail("%s: not an Error object: %s" % (what, text[:300]))
            return None
        if word and word not in answer["fault_message"]:
            fail("%s: the fault_message lacks '%s': %s" % (what, word, text[:300]))
            return None
    if shape:
        err = shape(answer)
        if err:
            fail("%s: %s: %s" % (what, err, text[:300]))
            return None
    ok(what + (": " + word if word else ""))
    return answer


def typed(v, t, where):
    """v is of type t (a Python type, or a check of our own)."""
    if not isinstance(t, type):
        return t(v, where)
    if isinstance(v, t) and not (t is int and isinstance(v, bool)):
        return None
    return "%s is not %s" % (where, t.__name__)


def obj(required, optional=None):
    """A schema check: required members with their types, optional ones typed if present."""
    def check(v, where="answer"):
        if not isinstance(v, dict):
            return "%s is not an object" % where
        for k in required:
            if k not in v:
                return "%s lacks required %s" % (where, k)
        for k, t in {**(optional or {}), **required}.items():
            err = typed(v[k], t, where + "." + k) if v.get(k) is not None else None
            if err:
                return err
        return None
    return check


def array(item):
    def check(v, where):
        if not isinstance(v, list):
            return where + " is not an array"
        for i, x in enumerate(v):
            err = typed(x, item, "%s[%d]" % (where, i))
            if err:
                return err
        return None
    return check


def enum(*names):
    def check(v, where):
        return None if v in names else "%s is %r, not one of %s" % (where, v, names)
    return check


INSTANCE_INFO = obj({"app_name": str, "id": str, "vmm_version": str,
                     "state": enum("Not started", "Running", "Paused")})
VERSION = obj({"firecracker_version": str})
MACHINE = obj({"vcpu_count": int, "mem_size_mib": int},
              {"smt": bool, "track_dirty_pages": bool,
               "huge_pages": enum("None", "Transparent", "2M"), "cpu_template": str})
BUCKET = obj({"size": int, "refill_time": int}, {"one_time_burst": int})
LIMITER = obj({}, {"bandwidth": BUCKET, "ops": BUCKET})
DRIVE = obj({"drive_id": str, "is_root_device": bool},
            {"partuuid": str, "cache_type": enum("Unsafe", "Writeback"), "is_read_only": bool,
             "path_on_host": str, "io_engine": enum("Sync", "Async"), "socket": str,
             "rate_limiter": LIMITER})
NET = obj({"iface_id": str, "host_dev_name": str},
          {"guest_mac": str, "mtu": int, "rx_rate_limiter": LIMITER, "tx_rate_limiter": LIMITER})
LOGGER = obj({}, {"level": str, "log_path": str, "show_level": bool, "show_log_origin": bool,
                  "module": str})
METRICS = obj({"metrics_path": str}, {"emit_id": bool, "properties": dict})
BALLOON = obj({"amount_mib": int, "deflate_on_oom": bool},
              {"stats_polling_interval_s": int, "free_page_hinting": bool,
               "free_page_reporting": bool})
BALLOON_STATS = obj({k: int for k in ("target_pages", "actual_pages", "target_mib",
                                      "actual_mib")},
                    {k: int for k in ("swap_in", "swap_out", "major_faults", "minor_faults",
                                      "free_memory", "total_memory", "available_memory",
                                      "disk_caches", "hugetlb_allocations",
                                      "hugetlb_failures", "oom_kill", "alloc_stall",
                                      "async_scan", "direct_scan", "async_reclaim",
                                      "direct_reclaim")})
HINTING = obj({"host_cmd": int}, {"guest_cmd": int})
MMDS_CONFIG = obj({"network_interfaces": array(str)},
                  {"version": enum("V1", "V2"), "ipv4_address": str, "imds_compat": bool})
VSOCK = obj({"guest_cid": int, "uds_path": str}, {"vsock_id": str})
ENTROPY = obj({}, {"rate_limiter": LIMITER})
VM_CONFIG = obj({"boot-source": obj({"kernel_image_path": str},
                                    {"boot_args": str, "initrd_path": str})},
                {"drives": array(DRIVE), "network-interfaces": array(NET),
                 "machine-config": MACHINE, "logger": LOGGER, "metrics": METRICS,
                 "entropy": ENTROPY, "balloon": BALLOON, "mmds-config": MMDS_CONFIG,
                 "vsock": VSOCK})


def state_is(name):
    return lambda v: INSTANCE_INFO(v) or (None if v["state"] == name else
                                          "state %r, expected %r" % (v["state"], name))


def equals(want):
    return lambda v: None if v == want else "expected %s" % json.dumps(want)


def bucket(size, burst, refill):
    return {"size": size, "one_time_burst": burst, "refill_time": refill}


def limiter(n):
    """A RateLimiter with every field of both TokenBuckets, told apart by n."""
    return {"bandwidth": bucket(1048576 * n, 4096 * n, 100 * n),
            "ops": bucket(1000 * n, 10 * n, 1000 + n)}


def has(section, got, want):
    """Each field given is shown back as given in GET /vm/config."""
    if got is None:
        fail("GET /vm/config: %s is null" % section)
        return
    wrong = {k: got.get(k) for k in want if got.get(k) != want[k]}
    if wrong:
        fail("GET /vm/config: %s shows %s, not %s" % (section, wrong,
                                                       {k: want[k] for k in wrong}))
    else:
        ok("GET /vm/config: %s as given" % section)


def bad_limiters(p, method, path, base, key, where):
    """A wrong type, out-of-range value, missing or unknown field in each part of a
    RateLimiter at base[key]: each a 400 naming it."""
    cases = [
        ({"bandwidth": {"size": -1, "refill_time": 100}}, ".bandwidth.size"),
        ({"bandwidth": {"size": 1, "refill_time": 100, "one_time_burst": "8"}},
         ".bandwidth.one_time_burst"),
        ({"bandwidth": {"size": 1, "refill_time": 4294967296}}, ".bandwidth.refill_time"),
        ({"ops": {"size": 1.5, "refill_time": 100}}, ".ops.size"),
        ({"ops": {"size": 1, "refill_time": 100, "one_time_burst": -2}}, ".ops.one_time_burst"),
        ({"ops": {"size": 1, "refill_time": True}}, ".ops.refill_time"),
        ({"ops": {"size": 1}}, ".ops: missing required field \"refill_time\""),
        ({"bandwidth": {"refill_time": 1}}, ".bandwidth: missing required field \"size\""),
        ({"ops": {"size": 1, "refill_time": 1, "burst": 1}}, ".ops: unknown field \"burst\""),
        ({"iops": {"size": 1, "refill_time": 1}}, ": unknown field \"iops\""),
        ({"ops": 5}, ".ops"),
        (7, ""),
    ]
    for lim, word in cases:
        expect(p, method, path, {**base, key: lim}, 400, word=where + "." + key + word)


def bad_bucket(p, method, path, base, key, where):
    """PUT /serial's rate_limiter is one TokenBucket."""
    for b, word in (({"size": -1, "refill_time": 1}, ".size"),
                    ({"size": 1, "refill_time": "1"}, ".refill_time"),
                    ({"size": 1, "refill_time": 1, "one_time_burst": 0.5}, ".one_time_burst"),
                    ({"size": 1}, ": missing required field \"refill_time\""),
                    ({"size": 1, "refill_time": 1, "bandwidth": {}},
                     ": unknown field \"bandwidth\"")):
        expect(p, method, path, {**base, key: b}, 400, word=where + "." + key + word)


def walk_boot(binary, kernel, tmp, tap):
    """Every pre-boot request with every field, InstanceStart, then the runtime ones."""
    for name, size in (("disk.img", 1 << 20), ("data.img", 1 << 20), ("data2.img", 1 << 20),
                       ("initrd", 4096)):
        with open(os.path.join(tmp, name), "wb") as f:
            f.truncate(size)
    # A small MMDS limit, to reach 413 with a body the API still takes.
    p = Petrel(binary, tmp, "boot", "--mmds-size-limit", "2048")
    try:
        expect(p, "GET", "/", None, 200, state_is("Not started"))
        expect(p, "GET", "/version", None, 200, VERSION)
        expect(p, "GET", "/machine-config", None, 200, MACHINE)
        cfg = expect(p, "GET", "/vm/config", None, 200, VM_CONFIG)
        if cfg and cfg["boot-source"].get("kernel_image_path") != "":
            fail("GET /vm/config before PUT /boot-source: kernel_image_path is not \"\"")
        # Firecracker's VmmConfig: a section not set is null, an empty list [].
        for key in ("balloon", "cpu-config", "logger", "metrics", "mmds-config", "vsock",
                    "entropy", "memory-hotplug"):
            if cfg and (key not in cfg or cfg[key] is not None):
                fail(f"GET /vm/config before any PUT: {key} is not null")
        for key in ("drives", "network-interfaces", "pmem"):
            if cfg and cfg.get(key) != []:
                fail(f"GET /vm/config before any PUT: {key} is not []")
        expect(p, "PUT", "/logger", {"level": "warning"}, 204)
        expect(p, "PUT", "/logger", {"level": "Info", "log_path": tmp + "/fc.log",
                                     "show_level": True, "show_log_origin": True,
                                     "module": "vmm"}, 204)
        expect(p, "PUT", "/metrics", {"metrics_path": tmp + "/metrics", "emit_id": True,
                                      "properties": {"bundle_id": "fn-abc"}}, 204)
        expect(p, "PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 128, "smt": False,
                                             "track_dirty_pages": True, "huge_pages": "None",
                                             "cpu_template": "None"}, 204)
        expect(p, "PATCH", "/machine-config", {"huge_pages": "Transparent"}, 204)
        expect(p, "PATCH", "/machine-config", {"vcpu_count": 1, "huge_pages": "None"}, 204)
        m = expect(p, "GET", "/machine-config", None, 200, MACHINE)
        if m and (m["vcpu_count"], m["track_dirty_pages"]) != (1, True):
            fail("GET /machine-config after PATCH: %s" % m)
        expect(p, "PUT", "/boot-source", {"kernel_image_path": kernel,
                                          "boot_args": "console=ttyS0 probe.action=halt",
                                          "initrd_path": tmp + "/initrd"}, 204)
        root = {"drive_id": "rootfs", "partuuid": "0eaa91a0-01", "is_root_device": True,
                "cache_type": "Writeback", "is_read_only": False,
                "path_on_host": tmp + "/disk.img", "io_engine": "Sync",
                "rate_limiter": limiter(1)}
        expect(p, "PUT", "/drives/rootfs", root, 204)
        expect(p, "PUT", "/drives/data", {"drive_id": "data", "is_root_device": False,
                                          "cache_type": "Unsafe", "is_read_only": True,
                                          "path_on_host": tmp + "/data.img",
                                          "io_engine": "Async"}, 204)
        eth0 = {"iface_id": "eth0", "guest_mac": "06:00:ac:10:00:02", "host_dev_name": tap,
                "mtu": 1500, "rx_rate_limiter": limiter(2), "tx_rate_limiter": limiter(3)}
        expect(p, "PUT", "/network-interfaces/eth0", eth0, 204)
        # Firecracker: PATCH /network-interfaces is post-boot only.
        expect(p, "PATCH", "/network-interfaces/eth0", {"iface_id": "eth0",
                                                        "rx_rate_limiter": limiter(4)}, 400,
               word="not supported before starting")
        entropy = {"rate_limiter": limiter(5)}
        expect(p, "PUT", "/entropy", entropy, 204)
        expect(p, "PUT", "/serial", {"serial_out_path": tmp + "/serial.out",
                                     "rate_limiter": bucket(65536, 1024, 1000)}, 204)
        mmds_cfg = {"version": "V2", "network_interfaces": ["eth0"],
                    "ipv4_address": "169.254.170.2", "imds_compat": True}
        expect(p, "PUT", "/mmds/config", mmds_cfg, 204)
        walk_mmds(p)
        vsock = {"guest_cid": 3, "uds_path": tmp + "/v.sock", "vsock_id": "vsock0"}
        expect(p, "PUT", "/vsock", {**vsock, "guest_cid": 4}, 204)
        expect(p, "PUT", "/vsock", vsock, 204)  # a second PUT before start replaces it
        balloon = {"amount_mib": 16, "deflate_on_oom": True, "stats_polling_interval_s": 1,
                   "free_page_hinting": True, "free_page_reporting": True}
        expect(p, "PUT", "/balloon", balloon, 204)
        expect(p, "GET", "/balloon", None, 200, equals(balloon))
        # Firecracker: PATCH /balloon and /balloon/statistics before or after the start;
        # the statistics and hinting only after it.
        expect(p, "PATCH", "/balloon", {"amount_mib": 8}, 204)
        expect(p, "PATCH", "/balloon/statistics", {"stats_polling_interval_s": 2}, 204)
        balloon.update(amount_mib=8, stats_polling_interval_s=2)
        expect(p, "GET", "/balloon", None, 200, equals(balloon))
        expect(p, "GET", "/balloon/statistics", None, 400, word="not supported before starting")
        expect(p, "GET", "/balloon/hinting/status", None, 400,
               word="not supported before starting")
        cfg = expect(p, "GET", "/vm/config", None, 200, VM_CONFIG)
        if cfg:
            has("drives[0]", (cfg.get("drives") or [None])[0], root)
            has("network-interfaces[0]", (cfg.get("network-interfaces") or [None])[0], eth0)
            has("entropy", cfg.get("entropy"), entropy)
            has("mmds-config", cfg.get("mmds-config"), mmds_cfg)
            has("vsock", cfg.get("vsock"), vsock)
            has("balloon", cfg.get("balloon"), balloon)
        refusals(p, tmp)
        if cfg:
            after = expect(p, "GET", "/vm/config", None, 200, VM_CONFIG)
            if after == cfg:
                ok("the refused requests changed nothing in GET /vm/config")
            elif after:
                fail("a refused request changed GET /vm/config: %s" % after)
        expect(p, "PUT", "/actions", {"action_type": "InstanceStart"}, 204)
        expect(p, "GET", "/", None, 200, state_is("Running"))
        cfg = expect(p, "GET", "/vm/config", None, 200, VM_CONFIG)
        if cfg and (cfg.get("logger", {}).get("module") != "vmm" or
                    cfg.get("metrics", {}).get("emit_id") is not True or
                    [d["drive_id"] for d in cfg.get("drives", [])] != ["rootfs", "data"]):
            fail("GET /vm/config lacks what was put: %s" % cfg)
        expect(p, "PUT", "/actions", {"action_type": "FlushMetrics"}, 204)
        with open(tmp + "/metrics") as f:
            line = json.loads(f.readline())
        if line.get("id") == "anonymous-instance" and line.get("properties") == {"bundle_id":
                                                                                 "fn-abc"}:
            ok("the metrics line has id and properties")
        else:
            fail("metrics line without id and properties: %s" % str(line)[:300])
        walk_running(p, tmp, tap, vsock, balloon, eth0)
        expect(p, "PATCH", "/vm", {"state": "Paused"}, 204)
        expect(p, "GET", "/", None, 200, state_is("Paused"))
        expect(p, "PUT", "/snapshot/create", {"mem_file_path": tmp + "/mem",
                                              "snapshot_path": tmp + "/state",
                                              "snapshot_type": "Full"}, 204)
        expect(p, "PUT", "/snapshot/create", {"mem_file_path": tmp + "/mem.diff",
                                              "snapshot_path": tmp + "/state.diff",
                                              "snapshot_type": "Diff"}, 204)
        expect(p, "PATCH", "/vm", {"state": "Resumed"}, 204)
        expect(p, "PUT", "/actions", {"action_type": "SendCtrlAltDel"}, 204)
        expect(p, "PUT", "/snapshot/create", {"mem_file_path": tmp + "/m2",
                                              "snapshot_path": tmp + "/s2"}, 400,
               word="pause it first")
    finally:
        p.stop()


def walk_mmds(p):
    """PUT, PATCH and GET /mmds: the store, RFC 7396 merges, 413 over the limit."""
    # Not initialized before the first PUT, as Firecracker: null, and a PATCH is 400.
    expect(p, "GET", "/mmds", None, 200, equals(None))
    expect(p, "PATCH", "/mmds", {"a": 1}, 400, word="The MMDS data store is not initialized.")
    store = {"latest": {"meta-data": {"ami-id": "ami-1", "tags": ["a", "b"], "n": 7}}}
    expect(p, "PUT", "/mmds", store, 204)
    expect(p, "PATCH", "/mmds", {"latest": {"meta-data": {"n": None, "zone": "z1"}}}, 204)
    store = {"latest": {"meta-data": {"ami-id": "ami-1", "tags": ["a", "b"], "zone": "z1"}}}
    expect(p, "GET", "/mmds", None, 200, equals(store))
    expect(p, "PUT", "/mmds", {"big": "x" * 3000}, 413)
    expect(p, "PATCH", "/mmds", {"big": "x" * 3000}, 413)
    expect(p, "PUT", "/mmds", ["not", "an", "object"], 400)
    expect(p, "PATCH", "/mmds", 5, 400)
    expect(p, "GET", "/mmds", None, 200, equals(store))


def refusals(p, tmp):
    """Bad input named in the 400, and what petrel does not have refused by name."""
    expect(p, "PUT", "/logger", {"module": 5}, 400, word="logger.module")
    expect(p, "PUT", "/metrics", {"metrics_path": "/m", "emit_id": "yes"}, 400,
           word="metrics.emit_id")
    expect(p, "PUT", "/metrics", {"metrics_path": "/m", "properties": {"a": 1}}, 400,
           word="metrics.properties")
    expect(p, "PUT", "/drives/vhost", {"drive_id": "vhost", "is_root_device": False,
                                       "socket": "/run/vhost.sock"}, 400, word="drive.socket")
    expect(p, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128,
                                         "cpu_template": "T2"}, 400,
           word="machine-config.cpu_template")
    expect(p, "PUT", "/actions", {"action_type": "Reboot"}, 400, word="action_type")
    expect(p, "PUT", "/cpu-config", {"cpuid_modifiers": []}, 400, word="cpu-config")
    expect(p, "PUT", "/pmem/pm0", {"id": "pm0", "path_on_host": "/p", "root_device": False,
                                   "read_only": True}, 400, word="pmem")
    expect(p, "PATCH", "/pmem/pm0", {"id": "pm0"}, 400, word="pmem")
    expect(p, "PUT", "/hotplug/memory", {"total_size_mib": 1024, "slot_size_mib": 128,
                                         "block_size_mib": 2}, 400, word="hotplug")
    expect(p, "PATCH", "/hotplug/memory", {"requested_size_mib": 0}, 400, word="hotplug")
    expect(p, "GET", "/hotplug/memory", None, 400, word="hotplug")

    # Every rate limiter field, where each RateLimiter and TokenBucket goes.
    d = {"drive_id": "d2", "is_root_device": False, "path_on_host": tmp + "/data2.img"}
    bad_limiters(p, "PUT", "/drives/d2", d, "rate_limiter", "drive")
    n = {"iface_id": "eth1", "host_dev_name": "tapnone"}
    bad_limiters(p, "PUT", "/network-interfaces/eth1", n, "rx_rate_limiter",
                 "network-interface")
    bad_limiters(p, "PUT", "/network-interfaces/eth1", n, "tx_rate_limiter",
                 "network-interface")
    bad_limiters(p, "PUT", "/entropy", {}, "rate_limiter", "entropy")
    bad_bucket(p, "PUT", "/serial", {"serial_out_path": tmp + "/s"}, "rate_limiter", "serial")
    expect(p, "PUT", "/serial", {"serial_out_path": 5}, 400, word="serial.serial_out_path")
    expect(p, "PUT", "/serial", {"path": "/x"}, 400, word="serial: unknown field \"path\"")
    expect(p, "PUT", "/entropy", {"rng": 1}, 400, word="entropy: unknown field \"rng\"")

    # mtu: 68..65535.
    for mtu in (67, 65536, "1500", -1):
        expect(p, "PUT", "/network-interfaces/eth1", {**n, "mtu": mtu}, 400,
               word="network-interface.mtu")

    # MmdsConfig.
    m = {"network_interfaces": ["eth0"]}
    for body, word in (
            ({**m, "version": "V3"}, "mmds-config.version"),
            ({**m, "version": 2}, "mmds-config.version"),
            ({"network_interfaces": []}, "mmds-config.network_interfaces"),
            ({"network_interfaces": "eth0"}, "mmds-config.network_interfaces"),
            ({"network_interfaces": ["eth9"]}, "mmds-config.network_interfaces"),
            ({"network_interfaces": [5]}, "mmds-config.network_interfaces"),
            ({"version": "V1"}, "mmds-config: missing required field \"network_interfaces\""),
            ({**m, "ipv4_address": "10.0.0.1"}, "mmds-config.ipv4_address"),
            ({**m, "ipv4_address": "169.254.0.9"}, "mmds-config.ipv4_address"),
            ({**m, "ipv4_address": "169.254.255.1"}, "mmds-config.ipv4_address"),
            ({**m, "ipv4_address": 169}, "mmds-config.ipv4_address"),
            ({**m, "imds_compat": "yes"}, "mmds-config.imds_compat"),
            ({**m, "port": 80}, "mmds-config: unknown field \"port\"")):
        expect(p, "PUT", "/mmds/config", body, 400, word=word)

    # Vsock.
    v = {"guest_cid": 3, "uds_path": tmp + "/v.sock"}
    for body, word in (
            ({**v, "guest_cid": 2}, "vsock.guest_cid"),
            ({**v, "guest_cid": "3"}, "vsock.guest_cid"),
            ({**v, "guest_cid": 4294967296}, "vsock.guest_cid"),
            ({**v, "uds_path": 5}, "vsock.uds_path"),
            ({**v, "uds_path": tmp + "/" + "u" * 100}, "vsock.uds_path"),
            ({**v, "vsock_id": 1}, "vsock.vsock_id"),
            ({"guest_cid": 3}, "vsock: missing required field \"uds_path\""),
            ({"uds_path": "/v"}, "vsock: missing required field \"guest_cid\""),
            ({**v, "cid": 3}, "vsock: unknown field \"cid\"")):
        expect(p, "PUT", "/vsock", body, 400, word=word)

    # Balloon, BalloonUpdate, BalloonStatsUpdate.
    b = {"amount_mib": 1, "deflate_on_oom": True}
    for body, word in (
            ({**b, "amount_mib": "1"}, "balloon.amount_mib"),
            ({**b, "amount_mib": 129}, "balloon.amount_mib"),
            ({**b, "deflate_on_oom": "yes"}, "balloon.deflate_on_oom"),
            ({**b, "stats_polling_interval_s": -1}, "balloon.stats_polling_interval_s"),
            ({**b, "free_page_hinting": 1}, "balloon.free_page_hinting"),
            ({**b, "free_page_reporting": "on"}, "balloon.free_page_reporting"),
            ({"deflate_on_oom": True}, "balloon: missing required field \"amount_mib\""),
            ({"amount_mib": 1}, "balloon: missing required field \"deflate_on_oom\""),
            ({**b, "size": 1}, "balloon: unknown field \"size\"")):
        expect(p, "PUT", "/balloon", body, 400, word=word)
    expect(p, "PATCH", "/balloon", {"amount_mib": True}, 400, word="balloon.amount_mib")
    expect(p, "PATCH", "/balloon", {"amount_mib": 200}, 400, word="balloon.amount_mib")
    expect(p, "PATCH", "/balloon", {}, 400, word="balloon: missing required field \"amount_mib\"")
    expect(p, "PATCH", "/balloon", {"amount_mib": 1, "deflate_on_oom": False}, 400,
           word="balloon: unknown field \"deflate_on_oom\"")
    expect(p, "PATCH", "/balloon/statistics", {"stats_polling_interval_s": "x"}, 400,
           word="stats_polling_interval_s")
    expect(p, "PATCH", "/balloon/statistics", {"stats_polling_interval_s": 65536}, 400,
           word="stats_polling_interval_s")
    expect(p, "PATCH", "/balloon/statistics", {}, 400,
           word="missing required field \"stats_polling_interval_s\"")
    expect(p, "PATCH", "/balloon/statistics", {"stats_polling_interval_s": 1, "x": 1}, 400,
           word="unknown field \"x\"")


def walk_running(p, tmp, tap, vsock, balloon, eth0):
    """After InstanceStart, Firecracker's rules: pre-boot resources refused, runtime ones
    served, each runtime body checked field by field."""
    after = "not supported after starting"
    expect(p, "PUT", "/vsock", vsock, 400, word=after)
    expect(p, "PUT", "/mmds/config", {"network_interfaces": ["eth0"]}, 400, word=after)
    expect(p, "PUT", "/balloon", {"amount_mib": 1, "deflate_on_oom": False}, 400, word=after)
    expect(p, "PUT", "/serial", {"serial_out_path": tmp + "/serial2.out"}, 400, word=after)
    expect(p, "PUT", "/entropy", {}, 400, word=after)
    expect(p, "PUT", "/network-interfaces/eth0", eth0, 400, word=after)
    expect(p, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128}, 400,
           word=after)

    # MMDS stays the host's to change.
    expect(p, "PATCH", "/mmds", {"latest": {"meta-data": {"zone": "z2"}}}, 204)
    got = expect(p, "GET", "/mmds", None, 200)
    if got is not None and got.get("latest", {}).get("meta-data", {}).get("zone") != "z2":
        fail("GET /mmds after a PATCH while running: %s" % got)
    expect(p, "PUT", "/mmds", {"v": 1}, 204)
    expect(p, "GET", "/mmds", None, 200, equals({"v": 1}))

    # The balloon at run time.
    expect(p, "PATCH", "/balloon", {"amount_mib": 4}, 204)
    expect(p, "PATCH", "/balloon/statistics", {"stats_polling_interval_s": 3}, 204)
    balloon.update(amount_mib=4, stats_polling_interval_s=3)
    expect(p, "GET", "/balloon", None, 200, equals(balloon))
    st = expect(p, "GET", "/balloon/statistics", None, 200, BALLOON_STATS)
    if st and (st["target_pages"], st["target_mib"]) != (4 * 256, 4):
        fail("GET /balloon/statistics: target is not 4 MiB: %s" % st)
    # Statistics are turned on or off only before the start.
    expect(p, "PATCH", "/balloon/statistics", {"stats_polling_interval_s": 0}, 400,
           word="stats_polling_interval_s")
    expect(p, "PATCH", "/balloon/hinting/start", {"acknowledge_on_stop": 1}, 400,
           word="acknowledge_on_stop")
    expect(p, "PATCH", "/balloon/hinting/start", {"ack": True}, 400, word="unknown field \"ack\"")
    expect(p, "PATCH", "/balloon/hinting/start", {"acknowledge_on_stop": False}, 204)
    st = expect(p, "GET", "/balloon/hinting/status", None, 200, HINTING)
    if st and st["host_cmd"] < 2:
        fail("GET /balloon/hinting/status after start: host_cmd %d, not a run's id" %
             st["host_cmd"])
    expect(p, "PATCH", "/balloon/hinting/stop", None, 204)
    st = expect(p, "GET", "/balloon/hinting/status", None, 200, HINTING)
    if st and st["host_cmd"] != 1:
        fail("GET /balloon/hinting/status after stop: host_cmd %d, not 1 (done)" %
             st["host_cmd"])
    expect(p, "PATCH", "/balloon/hinting/start", None, 204)  # the body is optional

    # PATCH of the rate limiters, drives and network interfaces.
    expect(p, "PATCH", "/drives/rootfs", {"drive_id": "rootfs", "rate_limiter": limiter(6)}, 204)
    expect(p, "PATCH", "/network-interfaces/eth0", {"iface_id": "eth0",
                                                    "rx_rate_limiter": limiter(7),
                                                    "tx_rate_limiter": limiter(8)}, 204)
    expect(p, "PATCH", "/network-interfaces/eth0", {"iface_id": "eth0"}, 204)
    cfg = expect(p, "GET", "/vm/config", None, 200, VM_CONFIG)
    if cfg:
        has("drives[0] after PATCH", (cfg.get("drives") or [None])[0],
            {"rate_limiter": limiter(6)})
        has("network-interfaces[0] after PATCH", (cfg.get("network-interfaces") or [None])[0],
            {"rx_rate_limiter": limiter(7), "tx_rate_limiter": limiter(8), "mtu": 1500})
        has("balloon after PATCH", cfg.get("balloon"), balloon)
    bad_limiters(p, "PATCH", "/drives/rootfs", {"drive_id": "rootfs"}, "rate_limiter", "drive")
    for key in ("rx_rate_limiter", "tx_rate_limiter"):
        bad_limiters(p, "PATCH", "/network-interfaces/eth0", {"iface_id": "eth0"}, key,
                     "network-interface")
    expect(p, "PATCH", "/network-interfaces/eth0", {"iface_id": "eth0", "mtu": 9000}, 400,
           word="unknown field \"mtu\"")
    expect(p, "PATCH", "/network-interfaces/eth9", {"iface_id": "eth9"}, 400, word="eth9")
    expect(p, "PATCH", "/network-interfaces/eth0", {"iface_id": "eth1"}, 400,
           word="iface_id \"eth1\"")
    expect(p, "PATCH", "/drives/data", {"drive_id": "data",
                                        "path_on_host": tmp + "/data2.img"}, 204)


def walk_load(binary, tmp, tap2):
    """PUT /snapshot/load with every field, in both memory forms, each on a fresh petrel."""
    p = Petrel(binary, tmp, "load")
    try:
        good = {"snapshot_path": tmp + "/state",
                "mem_backend": {"backend_type": "File", "backend_path": tmp + "/mem"},
                "track_dirty_pages": True, "resume_vm": True,
                "network_overrides": [{"iface_id": "eth0", "host_dev_name": tap2}],
                "vsock_override": {"uds_path": tmp + "/v2.sock"},
                "clock_realtime": False, "huge_pages": "Snapshot"}
        for change, word in (
                ({"vsock_override": {"uds_path": 5}}, "snapshot/load.vsock_override.uds_path"),
                ({"vsock_override": {}}, "vsock_override: missing required field \"uds_path\""),
                ({"vsock_override": {"uds_path": "/v", "cid": 3}},
                 "vsock_override: unknown field \"cid\""),
                ({"vsock_override": "/v"}, "snapshot/load.vsock_override"),
                ({"network_overrides": {"iface_id": "eth0"}}, "snapshot/load.network_overrides"),
                ({"network_overrides": [{"iface_id": "eth0"}]},
                 "missing required field \"host_dev_name\""),
                ({"network_overrides": [{"iface_id": "eth0", "host_dev_name": 1}]},
                 "network_overrides[].host_dev_name"),
                ({"network_overrides": [{"iface_id": "eth0", "host_dev_name": tap2,
                                         "mac": "x"}]}, "unknown field \"mac\""),
                ({"network_overrides": [{"iface_id": "eth7", "host_dev_name": tap2}]}, "eth7"),
                ({"clock_realtime": "no"}, "snapshot/load.clock_realtime"),
                ({"huge_pages": "1G"}, "snapshot/load.huge_pages"),
                ({"resume": True}, "snapshot/load: unknown field \"resume\"")):
            expect(p, "PUT", "/snapshot/load", {**good, **change}, 400, word=word)
        expect(p, "GET", "/", None, 200, state_is("Not started"))
        expect(p, "PUT", "/snapshot/load", good, 204)
        expect(p, "GET", "/", None, 200, state_is("Running"))
        cfg = expect(p, "GET", "/vm/config", None, 200, VM_CONFIG)
        if cfg:
            has("network-interfaces[0] after network_overrides",
                (cfg.get("network-interfaces") or [None])[0], {"host_dev_name": tap2})
            has("vsock after vsock_override", cfg.get("vsock"),
                {"uds_path": tmp + "/v2.sock", "guest_cid": 3})
            for key in ("balloon", "mmds-config", "entropy"):
                if cfg.get(key) is None:
                    fail("GET /vm/config of the restored VM: %s is null" % key)
        if os.path.exists(tmp + "/v2.sock"):
            ok("the restored vsock listens at vsock_override's uds_path")
        else:
            fail("no socket at vsock_override's uds_path")
        expect(p, "PUT", "/vsock", {"guest_cid": 3, "uds_path": tmp + "/v3.sock"}, 400,
               word="not supported after starting")
        expect(p, "PATCH", "/balloon", {"amount_mib": 2}, 204)
    finally:
        p.stop()
    p = Petrel(binary, tmp, "load_old")
    try:
        expect(p, "PUT", "/snapshot/load", {"snapshot_path": tmp + "/state",
                                            "mem_file_path": tmp + "/mem",
                                            "enable_diff_snapshots": True,
                                            "resume_vm": False}, 204)
        expect(p, "GET", "/", None, 200, state_is("Paused"))
    finally:
        p.stop()


def openapi_ops(path):
    """(method, path) pairs of an OpenAPI 2 YAML file, read by indentation."""
    ops, cur, in_paths = set(), None, False
    with open(path) as f:
        for line in f:
            if re.match(r"^\S", line):
                in_paths = line.startswith("paths:")
            elif in_paths:
                m = re.match(r"^  (/\S*):\s*$", line)
                if m:
                    cur = m.group(1)
                m = re.match(r"^    (get|put|patch|post|delete):\s*$", line)
                if m and cur:
                    ops.add((m.group(1).upper(), cur))
    return ops


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--petrel", required=True)
    ap.add_argument("--kernel", required=True, help="the probe guest")
    ap.add_argument("--tmp", required=True, help="a directory of this run's own")
    ap.add_argument("--tap", required=True, nargs=2, metavar=("TAP", "TAP2"),
                    help="two taps petrel may open (run in their network namespace)")
    ap.add_argument("--openapi", help="Firecracker's firecracker.yaml, to check OPS is whole")
    a = ap.parse_args()

    if a.openapi:
        missing = openapi_ops(a.openapi) - {(m, p) for m, p, _ in OPS}
        if missing:
            fail("not in OPS: %s" % sorted(missing))
        else:
            ok("every method and path of %s is in OPS" % a.openapi)
    walk_boot(a.petrel, a.kernel, a.tmp, a.tap[0])
    walk_load(a.petrel, a.tmp, a.tap[1])
    unwalked = [(m, p) for m, p, _ in OPS if (m, p) not in WALKED]
    if unwalked:
        fail("never sent: %s" % unwalked)
    if FAILS:
        print("%d check(s) failed" % FAILS)
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
