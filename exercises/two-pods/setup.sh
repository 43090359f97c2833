#!/bin/bash
# Starting state: two pods on ext-br0 (exercises/_lib/two-pods.sh), with three faults: pod B's host end off
# the bridge and down, pod B's address a /32, pod A's eth0 down.
set -euo pipefail
. "$(dirname "$0")/../_lib/two-pods.sh"
two_pods ext
ip link set ext-b nomaster down
ip -n "$A" addr add 10.231.2.11/24 dev eth0
ip -n "$B" -batch - <<IP
addr add 10.231.2.12/32 dev eth0
link set eth0 up
IP
write_pods
echo "pod A: $A (10.231.2.11, host end ext-a)"
echo "pod B: $B (10.231.2.12, host end ext-b)"
