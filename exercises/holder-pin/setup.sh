#!/bin/bash
set -euo pipefail
mkdir -p "$WORK/www"
echo "served from inside the pinned namespace" > "$WORK/www/index.html"
