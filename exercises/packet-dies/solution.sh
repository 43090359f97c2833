#!/bin/bash
set -euo pipefail
. "$WORK/pods"
bridge link set dev exd-b state 3
handle=$(ip netns exec "$POD_B" nft -a list chain inet exd input | sed -n 's/.*icmp type echo-request .* # handle \([0-9]*\)$/\1/p')
ip netns exec "$POD_B" nft delete rule inet exd input handle "$handle"
