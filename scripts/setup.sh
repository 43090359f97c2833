#!/usr/bin/env bash
# cnilab setup, the README's first command: on a fresh Debian 12 machine, as root, installs everything
# cnilab needs (Debian packages, npm packages, the CNI plugin executables, the `cnilab` command on PATH),
# checks the machine with `cnilab doctor`, then runs every lab, verified and torn down.
# Set CNILAB_SETUP_ONLY=1 to install without running the labs.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

if [ "$(id -u)" != 0 ]; then
  echo "setup: run as root (sudo bash scripts/setup.sh): the labs create network namespaces" >&2
  exit 2
fi

# Debian packages the labs and tests run: iproute2 (ip), iputils-ping, util-linux (nsenter, unshare),
# busybox-static (app processes, httpd, wget), catatonit (the pause holder), iptables/nftables (ipMasq),
# containernetworking-plugins (the reference plugins the conformance suite compares against), jq (the
# exercises print hand-run commands that use it), time (GNU time: `cnilab bench plugin` reads peak memory),
# libxml2-utils (xmllint: the tests validate the exercise report's JUnit XML against its schema), tcpdump
# (`cnilab trace` captures on every hop), tmux (the step-mode test drives `cnilab run --step` through a real
# pseudo-terminal), chromium (the browser tests and `cnilab bench ui` drive it through playwright-core),
# podman and runc (`cnilab bench sandbox` compares a podman pod sandbox with cnilab's).
packages=(iproute2 iputils-ping util-linux procps busybox-static catatonit iptables nftables containernetworking-plugins jq time libxml2-utils tcpdump tmux chromium podman runc)
command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "setup: npm ci"
npm ci --no-audit --no-fund --loglevel=error
if node -e 'process.exit(require("./package.json").scripts?.build ? 0 : 1)'; then
  echo "setup: building the CNI plugin executables (npm run build)"
  npm run --silent build
fi
ln -sf "$PWD/bin/cnilab" /usr/local/bin/cnilab
echo "setup: 'cnilab' is on PATH (/usr/local/bin/cnilab -> $PWD/bin/cnilab)"

bin/cnilab doctor
[ "${CNILAB_SETUP_ONLY:-}" = 1 ] && exit 0
exec bin/cnilab run all
