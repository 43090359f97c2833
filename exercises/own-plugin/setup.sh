#!/bin/bash
# Starting state: the network that uses ex-hello, and two starters to copy to bin/ex-hello: bash, or
# TypeScript with zx run by cnilab's Bun. A node_modules link lets a plugin in $WORK import "zx".
set -euo pipefail
mkdir -p "$WORK/net.d" "$WORK/bin" "$WORK/starter"
cat > "$WORK/net.d/10-ex-own.conflist" <<'JSON'
{
  "cniVersion": "1.0.0",
  "name": "ex-own",
  "plugins": [{ "type": "ex-hello", "address": "10.231.10.2/24" }]
}
JSON
install -m 0644 "$EXDIR/starter/ex-hello.sh" "$WORK/starter/ex-hello.sh"
{ echo "#!$REPO/node_modules/.bin/bun"; tail -n +2 "$EXDIR/starter/ex-hello.ts"; } > "$WORK/starter/ex-hello.ts"
ln -s "$REPO/node_modules" "$WORK/node_modules"
