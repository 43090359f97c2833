#!/bin/bash
set -euo pipefail
mkdir -p "$WORK/net.d" "$WORK/bin"
cat > "$WORK/net.d/10-ex-own.conflist" <<'JSON'
{
  "cniVersion": "1.0.0",
  "name": "ex-own",
  "plugins": [{ "type": "ex-hello", "address": "10.231.10.2/24" }]
}
JSON
