#!/usr/bin/env bash
# MMDS: requests per second and mean latency of a guest's GET to the
# metadata service, the probe's client (probe.action=mmds, bench step) on
# one keep-alive connection over virtio-net, V1 and V2 (a token first, sent
# with every GET), RUNS times each, interleaved. petrel alone: QEMU has no
# metadata service. Rates are counted in the guest (TSC).
#   bench/mmds.sh OUT [RUNS] [REQUESTS]   (default 10, 2000) writes samples and
#   tables.md into OUT. Root (network namespace, tap).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
out=$1
runs=${2:-10}
requests=${3:-2000}
[ "$(id -u)" -eq 0 ] || { echo "mmds.sh: needs root (network namespace, tap)" >&2; exit 1; }
mkdir -p "$out"
work=$(mktemp -d)
ns=petrel-bench-mmds-$$
trap 'ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"' EXIT
in_ns() { ip netns exec "$ns" "$@"; }
ip netns add "$ns"
in_ns ip tuntap add dev ptap0 mode tap
in_ns ip link set ptap0 up
echo '{"latest": {"meta-data": {"ami-id": "ami-12345678", "instance-type": "m5.large"}}}' \
	> "$work/meta.json"

for v in V1 V2; do
	steps="bench:/latest/meta-data/ami-id:$requests"
	[ "$v" = V1 ] || steps="token:600,$steps"
	probe_json "$work/$v.json" "probe.action=mmds probe.mmds=$steps" \
		"\"network-interfaces\": [ { \"iface_id\": \"eth0\", \"host_dev_name\": \"ptap0\",
    \"guest_mac\": \"06:00:ac:10:00:02\" } ],
  \"mmds-config\": { \"network_interfaces\": [\"eth0\"], \"version\": \"$v\" }"
done
{
	echo "ip netns add NS; ip netns exec NS ip tuntap add dev ptap0 mode tap; ip link set ptap0 up"
	for v in V1 V2; do
		show ip netns exec NS "$petrel" --no-api --config-file "$v.json" --metadata meta.json
		show_file "$work/$v.json"
	done
} > "$out/commands"

for i in $(seq "$runs"); do
	for v in V1 V2; do
		in_ns timeout -k 5 120 "$petrel" --no-api --config-file "$work/$v.json" \
			--metadata "$work/meta.json" </dev/null >"$work/out" 2>&1 || true
		line=$(grep -m1 '^probe: mmds bench ' "$work/out" || true)
		if ! grep -q "ok=$requests " <<<"$line"; then
			echo "mmds.sh: $v run $i: ${line:-no bench line}" >&2
			tail -5 "$work/out" >&2
			exit 1
		fi
		sed -n 's/.* rps=\([0-9]*\) mean_us=\([0-9]*\).*/\1 \2/p' <<<"$line" >> "$out/$v"
	done
done

# median FILE COLUMN
median() { cut -d' ' -f"$2" "$1" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
{
	echo "| version | requests per second (median) | mean latency, µs (median) | runs |"
	echo "|---|---|---|---|"
	for v in V1 V2; do
		echo "| $v | $(median "$out/$v" 1) | $(median "$out/$v" 2) | $(wc -l < "$out/$v") |"
	done
} > "$out/tables.md"
cat "$out/tables.md"
