#!/bin/bash
set -euo pipefail
unshare --net /usr/bin/catatonit -P </dev/null >/dev/null 2>&1 &
HOLDER=$!
NS=cni-exh-$(cat /proc/sys/kernel/random/uuid)
# unshare needs a moment before the holder's namespace is its own
for _ in $(seq 50); do
  [ "$(readlink /proc/$HOLDER/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break
  sleep 0.02
done
ip netns attach "$NS" "$HOLDER"
ip -n "$NS" link set lo up
ip netns exec "$NS" busybox httpd -p 127.0.0.1:8090 -h "$WORK/www" </dev/null >/dev/null 2>&1
# the app dies and comes back; the namespace stays
app=$(for p in $(ip netns pids "$NS"); do [ "$(cat /proc/$p/comm)" = busybox ] && echo $p; done | head -1)
kill "$app"
ip netns exec "$NS" busybox httpd -p 127.0.0.1:8090 -h "$WORK/www" </dev/null >/dev/null 2>&1
echo "holder $HOLDER pins $NS"
