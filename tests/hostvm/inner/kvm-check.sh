#!/bin/sh
# Inside the test host VM: show the kernel, the CPU's SVM flag and /dev/kvm,
# leave two files in $PETREL_OUT, then exit 3 so that the caller can check
# the status comes back.
uname -r
grep -c svm /proc/cpuinfo
ls -l /dev/kvm
# Something for --output-dir to bring back.
uname -r > "$PETREL_OUT/uname.txt"
mkdir -p "$PETREL_OUT/sub"
ls -l /dev/kvm > "$PETREL_OUT/sub/kvm.txt"
exit 3
