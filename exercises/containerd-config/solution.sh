#!/bin/bash
set -euo pipefail
conf_dir=$(sed -n 's/^ *conf_dir = "\(.*\)"/\1/p' "$WORK/config.toml")
bin_dir=$(sed -n 's/^ *bin_dir = "\(.*\)"/\1/p' "$WORK/config.toml")
mkdir -p "$conf_dir" "$bin_dir"
ln -s /usr/lib/cni/bridge /usr/lib/cni/host-local "$bin_dir/"
cat > "$conf_dir/10-ex-cri.conflist" <<'JSON'
{
  "cniVersion": "1.0.0",
  "name": "ex-cri",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "excri0",
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "10.231.4.0/24" }]] }
    }
  ]
}
JSON
