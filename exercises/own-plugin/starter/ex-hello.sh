#!/bin/bash
# ex-hello: your CNI plugin, in bash. Copy this file to ${WORK}/bin/ex-hello, make it executable, fill in
# ADD and DEL. The network config arrives on stdin; CNI_COMMAND, CNI_NETNS, CNI_IFNAME in the environment.
set -uo pipefail
conf=$(cat) # read it always: the runtime writes it to stdin
version=1.0.0
case "${CNI_COMMAND:-}" in
  VERSION)
    printf '{"cniVersion":"%s","supportedVersions":["%s"]}\n' "$version" "$version"
    ;;
  ADD)
    # TODO: a veth pair: $CNI_IFNAME inside the namespace at $CNI_NETNS (up, with the config's address),
    # the other end on the host named exo... (up). Then print the result JSON (see the task).
    ;;
  DEL)
    # TODO: delete $CNI_IFNAME in the namespace; succeed also when it or the namespace is gone.
    ;;
  *)
    printf '{"cniVersion":"%s","code":4,"msg":"unknown CNI_COMMAND %s"}\n' "$version" "${CNI_COMMAND:-}"
    exit 1
    ;;
esac
