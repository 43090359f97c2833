#!/bin/bash
# Reference solution: installs one of the two reference plugins as $WORK/bin/ex-hello: bash (the default)
# or TypeScript with zx, run by cnilab's Bun ('cnilab exercise solve own-plugin ts').
set -euo pipefail
case "${1:-sh}" in
  sh | bash) install -m 0755 "$EXDIR/solution/ex-hello.sh" "$WORK/bin/ex-hello" ;;
  ts | zx)
    { echo "#!$REPO/node_modules/.bin/bun"; tail -n +2 "$EXDIR/solution/ex-hello.ts"; } > "$WORK/bin/ex-hello"
    chmod 0755 "$WORK/bin/ex-hello"
    ;;
  *)
    echo "solution: 'sh' or 'ts', not '$1'" >&2
    exit 2
    ;;
esac
