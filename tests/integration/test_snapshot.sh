#!/usr/bin/env bash
# Snapshots: a counting probe paused after tick 5, snapshotted and killed goes on at
# the next tick in a new petrel (no restart, no repeat, no gap); every bad input to a load is
# a 400 naming the file and leaves petrel able to load a good snapshot; create while
# running and load after configuration are refused.
. "$(dirname "$0")/api_lib.sh"
need_kvm
probe=$(probe_elf)

start_petrel src
expect_api 204 "" PUT /boot-source \
	"{\"kernel_image_path\":\"$probe\",\"boot_args\":\"console=ttyS0 probe.action=count\"}"
expect_api 204 "" PUT /machine-config '{"vcpu_count":2,"mem_size_mib":64}'
expect_api 204 "" PUT /actions '{"action_type":"InstanceStart"}'
wait_line src "^probe: tick 2$" 20
expect_api 400 "pause it first" PUT /snapshot/create \
	"{\"snapshot_path\":\"$T/st\",\"mem_file_path\":\"$T/mem\"}"
[ ! -e "$T/st" ] && pass "a refused create makes no file" || fail "$T/st made while running"
# Pause between tick 5 and tick 6: a tick is 100 ms after the previous line.
wait_line src "^probe: tick 5$" 20
expect_api 204 "" PATCH /vm '{"state":"Paused"}'
# Under load the pause may land after tick 6: the restored probe must go on right
# after the last tick the source printed, whichever it was.
last=$(grep -c "^probe: tick" "$T/src.out")
grep -q "^probe: tick $last$" "$T/src.out" || fail "the source's ticks are not 1..$last"
n1=$((last + 1)) n2=$((last + 2)) n3=$((last + 3))
expect_api 400 "Diff" PUT /snapshot/create \
	"{\"snapshot_path\":\"$T/st\",\"mem_file_path\":\"$T/mem\",\"snapshot_type\":\"Diff\"}"
expect_api 400 "track_dirty_pages" PUT /snapshot/create \
	"{\"snapshot_path\":\"$T/st\",\"mem_file_path\":\"$T/mem\",\"snapshot_type\":\"Diff\"}"
expect_api 204 "" PUT /snapshot/create "{\"snapshot_path\":\"$T/st\",\"mem_file_path\":\"$T/mem\"}"
expect_api 400 "petrel writes only new files" PUT /snapshot/create \
	"{\"snapshot_path\":\"$T/st\",\"mem_file_path\":\"$T/mem2\"}"
expect_api 200 '"state":"Paused"' GET /
[ "$(stat -c %s "$T/mem")" = $((64 << 20)) ] && pass "the memory file is guest RAM's size" ||
	fail "memory file of $(stat -c %s "$T/mem") bytes"
[ "$(du -k "$T/mem" | cut -f1)" -lt 16384 ] && pass "untouched pages stay holes" ||
	fail "memory file uses $(du -k "$T/mem" | cut -f1) KiB"
sleep 0.3	# paused: no tick may come
[ "$(grep -c "^probe: tick" "$T/src.out")" = "$last" ] && pass "no tick while paused" ||
	fail "ticks came while paused"
kill -9 "$PID"
wait "$PID" 2>/dev/null || true

# Bad inputs: each a 400 naming the file or field, petrel still Not started.
start_petrel dst
head -c 4000 "$T/st" >"$T/truncated"
cp "$T/st" "$T/corrupt"
printf 'X' | dd of="$T/corrupt" bs=1 seek=3000 conv=notrunc status=none
head -c 1000 /dev/urandom >"$T/foreign"
# A CPUID KVM refuses (48 or 57 virtual address bits only), the CRC made good again.
python3 - "$T/st" "$T/cpuid" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
def crc64(b):
    c = 0xffffffffffffffff
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ (0xc96c5795d7870f42 if c & 1 else 0)
    return c ^ 0xffffffffffffffff
pos, hits = 24, 0
while True:
    sid, inst, ver, _, n = struct.unpack_from("<HHHHI", d, pos)
    pos += 12
    if sid == 0:
        break
    if sid == 4:	# vcpu: register files, TSC kHz, MSRs, then CPUID
        p = pos
        for _ in range(8):
            p += 4 + struct.unpack_from("<I", d, p)[0]
        p += 4
        p += 4 + 12 * struct.unpack_from("<I", d, p)[0]
        nent, esize = struct.unpack_from("<II", d, p)
        for e in range(p + 8, p + 8 + nent * esize, esize):
            if struct.unpack_from("<I", d, e)[0] == 0x80000008:
                d[e + 12 + 1] = 40
                hits += 1
    pos += n
assert hits, "no CPUID leaf 0x80000008"
d[pos:pos + 8] = struct.pack("<Q", crc64(d[:pos]))
open(sys.argv[2], "wb").write(d)
PY
truncate -s $((32 << 20)) "$T/short"
cp "$T/st" "$T/version"
printf '\x09' | dd of="$T/version" bs=1 seek=16 conv=notrunc status=none
expect_api 400 "$T/truncated: truncated" PUT /snapshot/load "$(load_body "$T/truncated" "$T/mem")"
expect_api 400 "$T/corrupt: CRC mismatch" PUT /snapshot/load "$(load_body "$T/corrupt" "$T/mem")"
expect_api 400 "$T/foreign: not a petrel snapshot" PUT /snapshot/load \
	"$(load_body "$T/foreign" "$T/mem")"
expect_api 400 "version 9.0, this petrel reads 1.x" PUT /snapshot/load \
	"$(load_body "$T/version" "$T/mem")"
expect_api 400 "$T/cpuid: section vcpu[0]: KVM refused its CPUID" PUT /snapshot/load \
	"$(load_body "$T/cpuid" "$T/mem")"
expect_api 400 "$T/nothing" PUT /snapshot/load "$(load_body "$T/nothing" "$T/mem")"
expect_api 400 "$T/short" PUT /snapshot/load "$(load_body "$T/st" "$T/short")"
expect_api 400 "exactly one of" PUT /snapshot/load \
	"{\"snapshot_path\":\"$T/st\",\"mem_file_path\":\"$T/mem\",\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"$T/mem\"}}"
expect_api 400 "exactly one of" PUT /snapshot/load "{\"snapshot_path\":\"$T/st\"}"
expect_api 400 "vsock_override: the snapshot has no vsock device" PUT /snapshot/load \
	"$(load_body "$T/st" "$T/mem" '"vsock_override":{"uds_path":"/x"}')"
expect_api 400 "snapshot/load.vsock_override: missing required field" PUT /snapshot/load \
	"$(load_body "$T/st" "$T/mem" '"vsock_override":{}')"
expect_api 400 "no network interface \\\"eth0\\\"" PUT /snapshot/load \
	"$(load_body "$T/st" "$T/mem" '"network_overrides":[{"iface_id":"eth0","host_dev_name":"tap0"}]')"
expect_api 400 "backend_type" PUT /snapshot/load \
	"{\"snapshot_path\":\"$T/st\",\"mem_backend\":{\"backend_type\":\"Disk\",\"backend_path\":\"$T/mem\"}}"
expect_api 400 'snapshot/load.huge_pages: \"1G\" is not one of' PUT /snapshot/load \
	"$(load_body "$T/st" "$T/mem" '"huge_pages":"1G"')"
expect_api 400 'load it with the \"Uffd\" backend' PUT /snapshot/load \
	"$(load_body "$T/st" "$T/mem" '"huge_pages":"2M"')"
expect_api 200 '"state":"Not started"' GET /
expect_api 400 "before starting" PATCH /vm '{"state":"Resumed"}'

# The good snapshot after all that, through the deprecated mem_file_path, resumed.
expect_api 204 "" PUT /snapshot/load \
	"{\"snapshot_path\":\"$T/st\",\"mem_file_path\":\"$T/mem\",\"resume_vm\":true,\"huge_pages\":\"Snapshot\"}"
expect_api 200 '"state":"Running"' GET /
wait_line dst "^probe: tick $n3$" 20
ticks=$(grep "^probe: tick" "$T/dst.out" | head -3 | tr '\n' ' ')
[ "$ticks" = "probe: tick $n1 probe: tick $n2 probe: tick $n3 " ] &&
	pass "the restored probe goes on at tick $n1, after the source's last: $ticks" ||
	fail "after the restore: '$ticks' (expected ticks $n1, $n2, $n3)"
grep -q "probe: action=count" "$T/dst.out" && fail "the probe started again" ||
	pass "no restart"
expect_api 200 '"vcpu_count":2' GET /vm/config
grep -qF "\"kernel_image_path\":\"$probe\"" "$T/resp" && pass "GET /vm/config: the boot source" ||
	fail "GET /vm/config: $RESP"
expect_api 204 "" PATCH /vm '{"state":"Paused"}'
expect_api 200 "load_snapshot" GET /metrics
expect_api 400 "" PUT /snapshot/load "$(load_body "$T/st" "$T/mem")"
stop_petrel

# Load is for a fresh petrel only; a loaded one stays paused without resume_vm.
start_petrel cfg
expect_api 204 "" PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64}'
expect_api 400 "configured already" PUT /snapshot/load "$(load_body "$T/st" "$T/mem")"
stop_petrel
start_petrel paused
expect_api 204 "" PUT /snapshot/load "$(load_body "$T/st" "$T/mem")"
expect_api 200 '"state":"Paused"' GET /
sleep 0.3
grep -q "^probe: tick" "$T/paused.out" && fail "a paused restore ran" || pass "restored paused"
expect_api 204 "" PATCH /vm '{"state":"Resumed"}'
wait_line paused "^probe: tick $n1$" 20 && pass "resumed at tick $n1"
[ "$(grep "^probe: tick" "$T/paused.out" | head -1)" = "probe: tick $n1" ] ||
	fail "the paused restore began at $(grep "^probe: tick" "$T/paused.out" | head -1)"
stop_petrel

# petrel snapshot info / --describe-snapshot
"$PETREL_BIN" snapshot info "$T/st" >"$T/info" 2>&1 || fail "snapshot info failed"
grep -q '^format version: 1.0$' "$T/info" && grep -q '"vcpu_count":2' "$T/info" &&
	grep -q '^memory: 64 MiB' "$T/info" && grep -q 'vcpu\[1\]' "$T/info" &&
	pass "snapshot info: version, configuration, memory, sections" || fail "info: $(cat "$T/info")"
[ "$("$PETREL_BIN" --describe-snapshot "$T/st")" = v1.0 ] && pass "--describe-snapshot: v1.0" ||
	fail "--describe-snapshot: $("$PETREL_BIN" --describe-snapshot "$T/st" 2>&1)"
"$PETREL_BIN" snapshot info "$T/corrupt" 2>"$T/info.err" && fail "info of a corrupt file" ||
	grep -q "CRC mismatch" "$T/info.err" && pass "snapshot info: a corrupt file named"

# Diff: Full at tick 3, more ticks, Diff at tick 6; the diff rebased onto a copy
# of the full memory file restores at the tick after the Diff's (with the Full's
# memory alone the count would go back to 4).
start_petrel diff
expect_api 204 "" PUT /boot-source \
	"{\"kernel_image_path\":\"$probe\",\"boot_args\":\"console=ttyS0 probe.action=count\"}"
expect_api 204 "" PUT /machine-config '{"vcpu_count":1,"mem_size_mib":64,"track_dirty_pages":true}'
expect_api 204 "" PUT /actions '{"action_type":"InstanceStart"}'
wait_line diff "^probe: tick 3$" 20
expect_api 204 "" PATCH /vm '{"state":"Paused"}'
expect_api 204 "" PUT /snapshot/create "{\"snapshot_path\":\"$T/fst\",\"mem_file_path\":\"$T/fmem\"}"
expect_api 204 "" PATCH /vm '{"state":"Resumed"}'
wait_line diff "^probe: tick 6$" 20
expect_api 204 "" PATCH /vm '{"state":"Paused"}'
d=$(grep -c "^probe: tick" "$T/diff.out")
expect_api 204 "" PUT /snapshot/create \
	"{\"snapshot_path\":\"$T/dst\",\"mem_file_path\":\"$T/dmem\",\"snapshot_type\":\"Diff\"}"
expect_api 200 "diff_create_snapshot" GET /metrics
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
[ "$(stat -c %s "$T/dmem")" = $((64 << 20)) ] && pass "the diff memory file is RAM's size" ||
	fail "diff memory file of $(stat -c %s "$T/dmem") bytes"
cp --sparse=always "$T/fmem" "$T/rmem"
"$PETREL_BIN" snapshot rebase --base "$T/rmem" --diff "$T/dmem" && pass "snapshot rebase" ||
	fail "snapshot rebase failed"
start_petrel rebased
expect_api 204 "" PUT /snapshot/load "$(load_body "$T/dst" "$T/rmem" '"resume_vm":true')"
wait_line rebased "^probe: tick $((d + 2))$" 20
ticks=$(grep "^probe: tick" "$T/rebased.out" | head -2 | tr '\n' ' ')
[ "$ticks" = "probe: tick $((d + 1)) probe: tick $((d + 2)) " ] &&
	pass "the rebased diff goes on at tick $((d + 1))" ||
	fail "after the rebased diff: '$ticks' (expected $((d + 1)), $((d + 2)))"
stop_petrel
finish
