#!/bin/bash
# "05-" sorts before "10-": containerd (max_conf_num 1) loads only this one.
set -euo pipefail
cat > "$WORK/net.d/05-ex-pick.conflist" <<'JSON'
{
  "cniVersion": "1.0.0",
  "name": "ex-pick",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "expick0",
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "10.231.3.0/24" }]] }
    }
  ]
}
JSON
