#!/bin/bash
set -euo pipefail
cat > "$WORK/duo.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: duo
  namespace: ex-localhost
spec:
  containers:
  - name: web
    image: nginx:1.21
    ports:
    - containerPort: 8080
  - name: sidecar
    image: busybox
    command: ['sh', '-c', 'while true; do wget -q -O- localhost:8080; sleep 2; done']
YAML
cnilab pod run "$WORK/duo.yaml"
# the sidecar's first fetch
for _ in $(seq 50); do
  cnilab pod logs ex-localhost/duo -c sidecar | grep -q 'Welcome to nginx' && exit 0
  sleep 0.1
done
echo "the sidecar has not fetched the page yet" >&2
exit 1
