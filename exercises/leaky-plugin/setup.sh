#!/bin/bash
# Starting state: the network, the leaky plugin, and three pods that came and went (their addresses leaked).
set -euo pipefail
mkdir -p "$WORK/net.d" "$WORK/bin" "$WORK/ipam"
install -m 0755 "$EXDIR/ex-ipam" "$WORK/bin/ex-ipam"
cat > "$WORK/net.d/10-ex-leak.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "ex-leak",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "exl-br0",
      "ipam": {
        "type": "ex-ipam",
        "ranges": [[{ "subnet": "10.231.9.0/28" }]],
        "dataDir": "$WORK/ipam"
      }
    }
  ]
}
JSON
export NETCONFPATH="$WORK/net.d" CNI_PATH="$WORK/bin:/usr/lib/cni"
for i in 1 2 3; do
  ns=cni-exl-$(cat /proc/sys/kernel/random/uuid)
  ip netns add "$ns"
  cnilab cni add ex-leak "/var/run/netns/$ns" > /dev/null
  cnilab cni del ex-leak "/var/run/netns/$ns"
  ip netns del "$ns"
done
ip link set exl-br0 alias "$CNILAB_MARK"
echo "three pods came and went; reserved now: $(ls "$WORK/ipam/ex-leak" | grep -c '^10\.' || true) addresses"
