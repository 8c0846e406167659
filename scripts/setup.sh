#!/usr/bin/env bash
# Installs everything egressgw needs on a Debian machine, from scratch: the Linux tools
# the dataplane and the namespace tests drive, then the npm packages (including Node 24,
# which npm brings in as a package: the system's Node 20 only runs npm itself), then
# builds the packet core and the host.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "setup needs root for apt-get (the tests and the demo need it for network namespaces too)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  iproute2 nftables iperf3 ethtool iputils-ping procps >/dev/null

# `npm install` rather than `npm ci`: the registry reachable here lacks some platforms'
# optional packages (biome's for Windows, macOS, Android), so the lock file cannot list
# them and `npm ci` refuses it; `npm install` still installs exactly the locked versions.
npm install --no-audit --no-fund
npm run build
