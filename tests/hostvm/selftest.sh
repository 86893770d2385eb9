#!/usr/bin/env bash
# Check the test host VM end to end: a script's output, exit status and
# $PETREL_OUT files come back, /dev/kvm is real KVM, a timeout is reported,
# and QEMU boots a Linux guest (L2) on that KVM.
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

[ "$fails" = 0 ] && echo "selftest: all passed" || echo "selftest: $fails failed"
[ "$fails" = 0 ]
