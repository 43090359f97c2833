#!/bin/bash
# ex-hello: a minimal CNI plugin. A veth pair: $CNI_IFNAME in the pod with the config's address, exo<hex> on the host.
set -uo pipefail
conf=$(cat)
version=1.0.0
case "${CNI_COMMAND:-}" in
  VERSION)
    printf '{"cniVersion":"%s","supportedVersions":["%s"]}\n' "$version" "$version"
    ;;
  ADD)
    set -e
    addr=$(sed -n 's/.*"address" *: *"\([^"]*\)".*/\1/p' <<<"$conf")
    ns=${CNI_NETNS##*/}
    host=exo$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
    ip link add "$host" type veth peer name "$CNI_IFNAME" netns "$ns"
    ip link set "$host" up
    ip -n "$ns" addr add "$addr" dev "$CNI_IFNAME"
    ip -n "$ns" link set "$CNI_IFNAME" up
    printf '{"cniVersion":"%s","interfaces":[{"name":"%s","sandbox":"%s"}],"ips":[{"address":"%s","interface":0}]}\n' \
      "$version" "$CNI_IFNAME" "$CNI_NETNS" "$addr"
    ;;
  DEL)
    if [ -n "${CNI_NETNS:-}" ] && [ -e "$CNI_NETNS" ]; then
      ip -n "${CNI_NETNS##*/}" link del "$CNI_IFNAME" 2>/dev/null || true
    fi
    ;;
  *)
    printf '{"cniVersion":"%s","code":4,"msg":"unknown CNI_COMMAND %s"}\n' "$version" "${CNI_COMMAND:-}"
    exit 1
    ;;
esac
