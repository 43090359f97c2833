#!/bin/bash
set -euo pipefail
unshare --net /usr/bin/catatonit -P </dev/null >/dev/null 2>&1 &
HOLDER=$!
NS=cni-exh-$(cat /proc/sys/kernel/random/uuid)
# unshare needs a moment before the holder's namespace is its own (longer on a busy machine); naming the
# holder's namespace before that would name this shell's
for _ in $(seq 500); do
  [ "$(readlink /proc/$HOLDER/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break
  sleep 0.02
done
if [ "$(readlink /proc/$HOLDER/ns/net)" = "$(readlink /proc/self/ns/net)" ]; then
  echo "the holder $HOLDER has no namespace of its own after 10 s" >&2
  exit 1
fi
ip netns attach "$NS" "$HOLDER"
ip -n "$NS" link set lo up
ip netns exec "$NS" busybox httpd -p 127.0.0.1:8090 -h "$WORK/www" </dev/null >/dev/null 2>&1
# the app dies and comes back; the namespace stays
# (a loop, not `… && echo | head -1`: under `set -e -o pipefail` a last pid that is not busybox, or head
# closing the pipe early, would end the script with exit 1 and no word)
app=
for p in $(ip netns pids "$NS"); do
  if [ "$(cat "/proc/$p/comm")" = busybox ]; then
    app=$p
    break
  fi
done
kill "$app"
# until it is gone, its socket holds the port (a zombie no longer does)
for _ in $(seq 500); do
  [ -d "/proc/$app" ] && [ "$(cut -d' ' -f3 "/proc/$app/stat" 2>/dev/null)" != Z ] || break
  sleep 0.02
done
ip netns exec "$NS" busybox httpd -p 127.0.0.1:8090 -h "$WORK/www" </dev/null >/dev/null 2>&1
echo "holder $HOLDER pins $NS"
