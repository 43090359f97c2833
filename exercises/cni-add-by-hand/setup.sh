#!/bin/bash
# Starting state: the network's conflist (host-local keeps its reservations in the exercise's directory).
set -euo pipefail
mkdir -p "$WORK/net.d"
cat > "$WORK/net.d/10-ex-flow.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "ex-flow",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "exf-br0",
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "10.231.5.0/24" }]],
        "dataDir": "$WORK/ipam"
      }
    }
  ]
}
JSON
