#!/bin/bash
set -euo pipefail
. "$WORK/pods"
ip link set ext-b master ext-br0 up
ip -n "$POD_B" addr del 10.231.2.12/32 dev eth0
ip -n "$POD_B" addr add 10.231.2.12/24 dev eth0
ip -n "$POD_A" link set eth0 up
