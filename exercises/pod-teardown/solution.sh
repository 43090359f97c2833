#!/bin/bash
set -euo pipefail
pod=$(cnilab pod ls --json | jq -c '.[] | select(.name == "victim")')
ip=$(jq -r '.status.ip' <<<"$pod")
netns=$(jq -r '.netns.name' <<<"$pod")
peer=$(ip -n "$netns" -o link show eth0 | sed -n 's/.*eth0@if\([0-9]*\):.*/\1/p')
veth=$(ip -o link | sed -n "s/^$peer: \([^@:]*\).*/\1/p")
printf 'ip=%s\nnetns=%s\nveth=%s\n' "$ip" "$netns" "$veth" > "$WORK/answers"
cat "$WORK/answers"
cnilab pod rm ex-teardown/victim
