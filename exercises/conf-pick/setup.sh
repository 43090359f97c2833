#!/bin/bash
# Starting state: a conf dir holding the cluster's network, and a pristine copy to prove it stays untouched.
set -euo pipefail
mkdir -p "$WORK/net.d"
cat > "$WORK/net.d/10-cluster.conflist" <<'JSON'
{
  "cniVersion": "1.0.0",
  "name": "cluster-net",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "10.244.1.0/24" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
cp "$WORK/net.d/10-cluster.conflist" "$WORK/.cluster.orig"
