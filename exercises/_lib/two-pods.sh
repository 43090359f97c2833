# Sourced by an exercise's setup.sh: two pods on one bridge, the way the labs build them. Each pod is a
# namespace cni-<p>-<uuid> with lo up and eth0 (down, no address); eth0's host end <p>-a / <p>-b is enslaved
# to the bridge <p>-br0 and up. Every host link carries the exercise owner's mark ($CNILAB_MARK), so
# `cnilab clean` knows it. Addresses and faults are each exercise's own.

# two_pods PREFIX: makes them, and sets A and B to the namespaces' names.
two_pods() {
  local p=$1
  A=cni-$p-$(cat /proc/sys/kernel/random/uuid)
  B=cni-$p-$(cat /proc/sys/kernel/random/uuid)
  ip netns add "$A"
  ip netns add "$B"
  ip -batch - <<IP
link add $p-br0 type bridge
link set $p-br0 alias $CNILAB_MARK
link set $p-br0 up
link add $p-a type veth peer name eth0 netns $A
link set $p-a alias $CNILAB_MARK
link set $p-a master $p-br0 up
link add $p-b type veth peer name eth0 netns $B
link set $p-b alias $CNILAB_MARK
link set $p-b master $p-br0 up
IP
  ip -n "$A" link set lo up
  ip -n "$B" link set lo up
}

# write_pods: the pods' names, where the checks and the solution read them.
write_pods() {
  printf 'POD_A=%s\nPOD_B=%s\n' "$A" "$B" >"$WORK/pods"
}
