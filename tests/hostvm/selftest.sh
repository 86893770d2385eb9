#!/usr/bin/env bash
# Check the test host VM end to end: a script's output, exit status and
# $PETREL_OUT files come back, /dev/kvm is real KVM, a timeout is reported,
# QEMU boots a Linux guest (L2) on that KVM, and an L1 that panics or stops
# its heartbeat is reported (and retried when asked).
#   tests/hostvm/selftest.sh [L2_RUNS]    (default 3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=${1:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
ok() { echo "selftest: ok: $*"; }
bad() { echo "selftest: FAILED: $*"; fails=$((fails + 1)); }

echo "selftest: 1. kvm-check.sh: output, exit status 3, --output-dir"
rc=0
"$here/run.sh" --times --output-dir "$work/out" "$here/inner/kvm-check.sh" |
	tee "$work/stdout" || rc=$?
[ "$rc" = 3 ] && ok "exit status 3" || bad "exit status $rc, not 3"
grep -q '^crw.* /dev/kvm$' "$work/stdout" && ok "/dev/kvm listed" || bad "no /dev/kvm line"
[ "$(sed -n 2p "$work/stdout")" -ge 1 ] 2>/dev/null && ok "svm in /proc/cpuinfo" ||
	bad "svm count '$(sed -n 2p "$work/stdout")'"
[ "$(cat "$work/out/uname.txt" 2>/dev/null)" = "$(head -n 1 "$work/stdout")" ] &&
	[ -s "$work/out/sub/kvm.txt" ] && ok "\$PETREL_OUT copied back" ||
	bad "\$PETREL_OUT not copied back"

echo "selftest: 2. --timeout 20 on a script that sleeps"
printf '#!/bin/sh\necho sleeping\nsleep 600\n' > "$work/sleep.sh"
rc=0
"$here/run.sh" --timeout 20 "$work/sleep.sh" > "$work/stdout" 2>"$work/stderr" || rc=$?
[ "$rc" = 124 ] && grep -q sleeping "$work/stdout" && grep -q timeout "$work/stderr" &&
	ok "exit 124 with a message" || bad "timeout: exit $rc, $(cat "$work/stderr")"

echo "selftest: 3. QEMU microvm boots Linux on L1's /dev/kvm, $runs times"
rc=0
"$here/run.sh" --times "$here/inner/qemu-l2-boot.sh" "$runs" quiet | tee "$work/stdout" || rc=$?
[ "$rc" = 0 ] && ok "L2 reached init $runs times" || bad "L2 boot: exit $rc"

echo "selftest: 4. an L1 that panics is reported, and retried with --retries 1"
printf '#!/bin/sh\necho crashing\necho c > /proc/sysrq-trigger\nsleep 60\n' > "$work/panic.sh"
rc=0
"$here/run.sh" --timeout 120 --retries 1 "$work/panic.sh" > "$work/stdout" 2>"$work/stderr" || rc=$?
[ "$rc" = 125 ] && [ "$(grep -c crashing "$work/stdout")" = 2 ] &&
	grep -q "L1 stopped while the script ran" "$work/stderr" && grep -q "retry 1 of 1" "$work/stderr" &&
	ok "exit 125, two L1s" || bad "panic: exit $rc, $(grep hostvm: "$work/stderr" | head -n 3)"

echo "selftest: 5. an L1 whose heartbeat stops counts as hung (--stall 20)"
printf '#!/bin/sh\nkillall -STOP sleep\necho frozen\nexec tail -f /dev/null\n' > "$work/stall.sh"
rc=0
"$here/run.sh" --timeout 120 --stall 20 "$work/stall.sh" > "$work/stdout" 2>"$work/stderr" || rc=$?
[ "$rc" = 125 ] && grep -q frozen "$work/stdout" && grep -q "no heartbeat for 20 s" "$work/stderr" &&
	ok "exit 125, no heartbeat" || bad "stall: exit $rc, $(grep hostvm: "$work/stderr" | head -n 3)"

[ "$fails" = 0 ] && echo "selftest: all passed" || echo "selftest: $fails failed"
[ "$fails" = 0 ]
