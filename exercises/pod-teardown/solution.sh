#!/bin/bash
set -euo pipefail
line=$(cnilab pod ls | grep ' victim ')
ip=$(awk '{print $7}' <<<"$line")
netns=$(awk '{print $9}' <<<"$line")
peer=$(ip -n "$netns" -o link show eth0 | sed -n 's/.*eth0@if\([0-9]*\):.*/\1/p')
veth=$(ip -o link | sed -n "s/^$peer: \([^@:]*\).*/\1/p")
printf 'ip=%s\nnetns=%s\nveth=%s\n' "$ip" "$netns" "$veth" > "$WORK/answers"
cat "$WORK/answers"
cnilab pod rm ex-teardown/victim
