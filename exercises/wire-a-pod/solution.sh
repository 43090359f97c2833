#!/bin/bash
# Reference solution: what containerd (the namespace) and the bridge plugin (everything else) do.
set -euo pipefail
NS=cni-exw-$(cat /proc/sys/kernel/random/uuid)
ip netns add "$NS"
ip link add exw-br0 type bridge
ip addr add 10.231.1.1/24 dev exw-br0
ip link set exw-br0 up
ip link add exw-veth0 type veth peer name eth0 netns "$NS"
ip link set exw-veth0 master exw-br0 up
ip -n "$NS" link set lo up
ip -n "$NS" link set eth0 up
ip -n "$NS" addr add 10.231.1.10/24 dev eth0
ip -n "$NS" route add default via 10.231.1.1
echo "pod namespace: $NS"
