#!/bin/bash
set -euo pipefail
NS=cni-exf-$(cat /proc/sys/kernel/random/uuid)
ip netns add "$NS"
NETCONFPATH=$WORK/net.d CNI_PATH=/usr/lib/cni \
  CNI_ARGS='IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web' \
  cnilab cni add ex-flow "/var/run/netns/$NS" > "$WORK/result.json"
cat "$WORK/result.json"
