#!/bin/bash
# Starting state: two pods on ext-br0, with three faults (pod B's host end off the bridge and down, pod B's
# address a /32, pod A's eth0 down). Links carry the exercise owner's mark, so `cnilab clean` knows them.
set -euo pipefail
A=cni-ext-$(cat /proc/sys/kernel/random/uuid)
B=cni-ext-$(cat /proc/sys/kernel/random/uuid)
ip netns add "$A"
ip netns add "$B"
ip -batch - <<IP
link add ext-br0 type bridge
link set ext-br0 alias $CNILAB_MARK
link set ext-br0 up
link add ext-a type veth peer name eth0 netns $A
link set ext-a alias $CNILAB_MARK
link set ext-a master ext-br0 up
link add ext-b type veth peer name eth0 netns $B
link set ext-b alias $CNILAB_MARK
IP
ip -n "$A" -batch - <<IP
link set lo up
addr add 10.231.2.11/24 dev eth0
IP
ip -n "$B" -batch - <<IP
link set lo up
addr add 10.231.2.12/32 dev eth0
link set eth0 up
IP
printf 'POD_A=%s\nPOD_B=%s\n' "$A" "$B" > "$WORK/pods"
echo "pod A: $A (10.231.2.11, host end ext-a)"
echo "pod B: $B (10.231.2.12, host end ext-b)"
