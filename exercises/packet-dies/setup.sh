#!/bin/bash
# Starting state: two pods on exd-br0 (exercises/_lib/two-pods.sh) that look fine to `ip link` and
# `ip addr`, and two faults on the path that only the packet shows: the bridge does not forward on pod B's
# port (its STP state is "disabled"), and a firewall rule inside pod B drops pod A's pings (next to a rule
# that must stay).
set -euo pipefail
. "$(dirname "$0")/../_lib/two-pods.sh"
two_pods exd
ip -n "$A" addr add 10.231.14.11/24 dev eth0
ip -n "$A" link set eth0 up
ip -n "$B" addr add 10.231.14.12/24 dev eth0
ip -n "$B" link set eth0 up
# fault 1: the bridge port of pod B stops forwarding (STP state 0 = disabled; the link stays UP)
bridge link set dev exd-b state 0
# fault 2: pod B's own firewall drops pod A's pings; the telnet rule is legitimate and must stay
ip netns exec "$B" nft -f - <<NFT
table inet exd {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport 23 counter drop
    ip saddr 10.231.14.11 icmp type echo-request counter drop
  }
}
NFT
write_pods
echo "pod A: $A (10.231.14.11, host end exd-a)"
echo "pod B: $B (10.231.14.12, host end exd-b)"
