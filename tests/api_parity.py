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

# method, path, what petrel does: "petrel" (walked here), "refused" (400
# naming the resource, walked here), "other" (served by another part of
# petrel and its own tests: MMDS, vsock, balloon, serial, rate limiters).
OPS = [
    ("GET", "/", "petrel"),
    ("PUT", "/actions", "petrel"),
    ("GET", "/balloon", "other"),
    ("PUT", "/balloon", "other"),
    ("PATCH", "/balloon", "other"),
    ("GET", "/balloon/statistics", "other"),
    ("PATCH", "/balloon/statistics", "other"),
    ("PATCH", "/balloon/hinting/start", "other"),
    ("GET", "/balloon/hinting/status", "other"),
    ("PATCH", "/balloon/hinting/stop", "other"),
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
    ("PUT", "/mmds", "other"),
    ("PATCH", "/mmds", "other"),
    ("GET", "/mmds", "other"),
    ("PUT", "/mmds/config", "other"),
    ("PUT", "/entropy", "petrel"),
    ("PUT", "/serial", "other"),
    ("PUT", "/hotplug/memory", "refused"),
    ("PATCH", "/hotplug/memory", "refused"),
    ("GET", "/hotplug/memory", "refused"),
    ("PUT", "/network-interfaces/{iface_id}", "petrel"),
    ("PATCH", "/network-interfaces/{iface_id}", "other"),
    ("PUT", "/snapshot/create", "petrel"),
    ("PUT", "/snapshot/load", "petrel"),
    ("GET", "/version", "petrel"),
    ("PATCH", "/vm", "petrel"),
    ("GET", "/vm/config", "petrel"),
    ("PUT", "/vsock", "other"),
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
            err = item(x, "%s[%d]" % (where, i))
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
DRIVE = obj({"drive_id": str, "is_root_device": bool},
            {"partuuid": str, "cache_type": enum("Unsafe", "Writeback"), "is_read_only": bool,
             "path_on_host": str, "io_engine": enum("Sync", "Async"), "socket": str})
NET = obj({"iface_id": str, "host_dev_name": str}, {"guest_mac": str})
LOGGER = obj({}, {"level": str, "log_path": str, "show_level": bool, "show_log_origin": bool,
                  "module": str})
METRICS = obj({"metrics_path": str}, {"emit_id": bool, "properties": dict})
VM_CONFIG = obj({"boot-source": obj({"kernel_image_path": str},
                                    {"boot_args": str, "initrd_path": str})},
                {"drives": array(DRIVE), "network-interfaces": array(NET),
                 "machine-config": MACHINE, "logger": LOGGER, "metrics": METRICS,
                 "entropy": obj({})})


def state_is(name):
    return lambda v: INSTANCE_INFO(v) or (None if v["state"] == name else
                                          "state %r, expected %r" % (v["state"], name))


def walk_boot(binary, kernel, tmp):
    """Every pre-boot request with every field, InstanceStart, then the runtime ones."""
    for name, size in (("disk.img", 1 << 20), ("data.img", 1 << 20), ("data2.img", 1 << 20),
                       ("initrd", 4096)):
        with open(os.path.join(tmp, name), "wb") as f:
            f.truncate(size)
    p = Petrel(binary, tmp, "boot")
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
        expect(p, "PUT", "/drives/rootfs", {"drive_id": "rootfs", "partuuid": "0eaa91a0-01",
                                            "is_root_device": True, "cache_type": "Writeback",
                                            "is_read_only": False,
                                            "path_on_host": tmp + "/disk.img",
                                            "io_engine": "Sync"}, 204)
        expect(p, "PUT", "/drives/data", {"drive_id": "data", "is_root_device": False,
                                          "cache_type": "Unsafe", "is_read_only": True,
                                          "path_on_host": tmp + "/data.img",
                                          "io_engine": "Async"}, 204)
        expect(p, "PUT", "/entropy", {}, 204)
        refusals(p)
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
        expect(p, "PATCH", "/drives/data", {"drive_id": "data",
                                            "path_on_host": tmp + "/data2.img"}, 204)
        expect(p, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128}, 400,
               word="not supported after starting")
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


def refusals(p):
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


def walk_load(binary, tmp):
    """PUT /snapshot/load with every field, in both memory forms, each on a fresh petrel."""
    p = Petrel(binary, tmp, "load")
    try:
        expect(p, "PUT", "/snapshot/load", {"snapshot_path": tmp + "/state",
                                            "mem_backend": {"backend_type": "File",
                                                            "backend_path": tmp + "/mem"},
                                            "track_dirty_pages": True, "resume_vm": True,
                                            "network_overrides": [], "clock_realtime": False,
                                            "huge_pages": "Snapshot"}, 204)
        expect(p, "GET", "/", None, 200, state_is("Running"))
        expect(p, "GET", "/vm/config", None, 200, VM_CONFIG)
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


def walk_net(binary, tmp):
    """A network interface with every field but the rate limiters (checked, never booted)."""
    p = Petrel(binary, tmp, "net")
    try:
        expect(p, "PUT", "/network-interfaces/eth0", {"iface_id": "eth0",
                                                      "guest_mac": "06:00:ac:10:00:02",
                                                      "host_dev_name": "tapparity0"}, 204)
        cfg = expect(p, "GET", "/vm/config", None, 200, VM_CONFIG)
        if cfg and [n["iface_id"] for n in cfg.get("network-interfaces", [])] != ["eth0"]:
            fail("GET /vm/config lacks eth0: %s" % cfg)
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
    ap.add_argument("--openapi", help="Firecracker's firecracker.yaml, to check OPS is whole")
    a = ap.parse_args()

    if a.openapi:
        missing = openapi_ops(a.openapi) - {(m, p) for m, p, _ in OPS}
        if missing:
            fail("not in OPS: %s" % sorted(missing))
        else:
            ok("every method and path of %s is in OPS" % a.openapi)
    walk_boot(a.petrel, a.kernel, a.tmp)
    walk_load(a.petrel, a.tmp)
    walk_net(a.petrel, a.tmp)
    unwalked = [(m, p) for m, p, v in OPS if v != "other" and (m, p) not in WALKED]
    if unwalked:
        fail("never sent: %s" % unwalked)
    if FAILS:
        print("%d check(s) failed" % FAILS)
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
