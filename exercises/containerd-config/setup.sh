#!/bin/bash
# Starting state: a containerd config (version 2) whose CRI [cni] table points into the exercise's directory.
set -euo pipefail
cat > "$WORK/config.toml" <<TOML
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"

[grpc]
  address = "/run/containerd/containerd.sock"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.9"

  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$WORK/node/opt/cni/bin"
    conf_dir = "$WORK/node/etc/cni/net.d"
    max_conf_num = 1
    conf_template = ""
TOML
cp "$WORK/config.toml" "$WORK/.config.orig"
