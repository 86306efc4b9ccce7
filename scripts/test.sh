#!/usr/bin/env bash
# Every test from a fresh clone: the real tools the tests compare against (lspci, modprobe, lsusb, dash),
# the npm dependencies, then type checks and vitest. Installing tools needs root (as on CI); without it the
# tests that compare with a missing tool are skipped and say so.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v lspci >/dev/null || need+=(pciutils)
command -v modprobe >/dev/null || [ -x /sbin/modprobe ] || [ -x /usr/sbin/modprobe ] || need+=(kmod)
command -v lsusb >/dev/null || need+=(usbutils)
command -v dash >/dev/null || need+=(dash)
command -v patch >/dev/null || need+=(patch)
command -v grub-script-check >/dev/null || need+=(grub-common)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${need[*]} for the cross-check tests" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "warning: ${need[*]} missing and cannot be installed here; tests comparing with them will be skipped" >&2
  fi
fi
npm ci --no-audit --no-fund
npm test
