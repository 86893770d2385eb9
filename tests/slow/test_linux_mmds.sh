#!/usr/bin/env bash
# The metadata service as a Linux guest sees it: the micro kernel, from a copy
# of rootfs.ext4, brings eth0 up with a route to 169.254.169.254 through it
# (petrel.test=mmds in resources/guest/init) and asks with Linux's own
# ARP and TCP. With V1, busybox wget reads a value and a listing; with V2
# wget's tokenless GET is refused (401), and httpc, a static client in the
# root filesystem, PUTs /latest/api/token with a TTL, reads with the token
# (text and JSON), and is refused without it or with a wrong one. V1, as
# Firecracker's, serves a GET whatever token it carries.
. "${PETREL_SRC:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$PETREL_SRC/tests/slow/linux.sh"
need_kvm
need_guest micro-bzImage rootfs.ext4
[ "$(id -u)" -eq 0 ] || skip "needs root for a network namespace and a tap"
command -v ip >/dev/null || skip "needs ip (iproute2)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"

# The tap the interface needs, in a namespace petrel runs in.
ns="petrel-mmds-$$"
ip netns add "$ns" || skip "cannot create a network namespace"
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$T"' EXIT
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip tuntap add dev ptap0 mode tap
in_ns ip link set ptap0 up

cat > "$T/metadata.json" <<'JSON'
{ "latest": { "meta-data": { "ami-id": "ami-0badcafe", "hostname": "petrel-linux",
                             "placement": { "zone": "zone-a" } } } }
JSON

# boot VERSION: the guest's run against an MMDS of that version.
boot() {
	local name=mmds-$1
	cp "$PETREL_GUEST_DIR/rootfs.ext4" "$T/$name-root.ext4"
	cat > "$T/$name.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$PETREL_GUEST_DIR/micro-bzImage",
                   "boot_args": "console=ttyS0 reboot=k panic=1 quiet petrel.test=mmds" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 256 },
  "drives": [ { "drive_id": "rootfs", "path_on_host": "$T/$name-root.ext4",
                "is_root_device": true, "is_read_only": false } ],
  "network-interfaces": [ { "iface_id": "eth0", "host_dev_name": "ptap0",
                            "guest_mac": "06:00:0a:00:02:02" } ],
  "mmds-config": { "network_interfaces": ["eth0"], "version": "$1" }
}
JSON
	set +e
	in_ns timeout -k 5 300 "$PETREL_BIN" --no-api --config-file "$T/$name.json" \
		--metadata "$T/metadata.json" </dev/null >"$T/$name.out" 2>&1
	RC=$?
	set -e
	expect_line "$name" "petrel-guest: init started cpus=1 " "$name: init from the ext4 root drive"
	expect_rc "$name" 0 "$name: guest powers off"
}

# got NAME WHAT REGEX MESSAGE: the guest's "mmds WHAT ..." line matches REGEX.
got() {
	expect_line "$1" "petrel-guest: mmds $2 $3 ?[[:cntrl:]]?$" "$1: $4"
}

token="status=200 body=[0-9a-f]{64}"
listing="ami-id hostname placement/"
json='\{"ami-id":"ami-0badcafe","hostname":"petrel-linux","placement":\{"zone":"zone-a"\}\}'

boot V1
got mmds-V1 "wget latest/meta-data/ami-id" "ok body=ami-0badcafe" "wget reads a value"
got mmds-V1 "wget latest/meta-data/" "ok body=$listing" "wget reads the IMDS listing"
got mmds-V1 no-token "status=200 body=ami-0badcafe" "a GET without a token is served"
got mmds-V1 wrong-token "status=200 body=ami-0badcafe" "a wrong token is no matter on V1"
got mmds-V1 token "$token" "a token is handed out on V1 too"
got mmds-V1 json "status=200 body=$json" "Accept: application/json gives JSON"

boot V2
got mmds-V2 "wget latest/meta-data/ami-id" "failed: .*401.*" "wget without a token: 401"
got mmds-V2 badttl "status=400 body=Invalid time to live.*" "a TTL of 0 is refused"
got mmds-V2 token "$token" "PUT /latest/api/token with a TTL gives a token"
got mmds-V2 with-token "status=200 body=ami-0badcafe" "a GET with the token is served"
got mmds-V2 json "status=200 body=$json" "with the token, JSON"
got mmds-V2 wrong-token "status=401 body=MMDS token not valid\." "a wrong token: 401"
got mmds-V2 no-token "status=401 body=No MMDS token provided.*" "no token: 401"
grep -h "petrel-guest: mmds" "$T"/*.out | sed 's/^/    /' || true
finish
