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
# ifupdown's own parser judges the xenbr0 file (ifquery, ifup --no-act); dhclient is what its dhcp method runs.
command -v ifquery >/dev/null || [ -x /sbin/ifquery ] || need+=(ifupdown)
command -v dhclient >/dev/null || [ -x /sbin/dhclient ] || need+=(isc-dhcp-client)
# corpus --html is rendered by a real headless browser (test/corpus).
command -v chromium >/dev/null || need+=(chromium)
# The boot test (test/boot): QEMU boots GRUB -> Xen -> Dom0 from Debian's packages (Xen, the kernel and xen-utils
# are downloaded by the test itself with apt-get download and cached in /var/cache/xenoppix-autoconfig).
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -e /usr/lib/grub/i386-pc/cdboot.img ] || need+=(grub-pc-bin)
[ -e /usr/lib/grub/x86_64-efi/modinfo.sh ] || need+=(grub-efi-amd64-bin)
command -v xorriso >/dev/null || need+=(xorriso)
command -v mformat >/dev/null || need+=(mtools)
[ -e /usr/share/OVMF/OVMF_CODE_4M.fd ] || need+=(ovmf)
command -v busybox >/dev/null || need+=(busybox-static)
command -v mke2fs >/dev/null || [ -x /sbin/mke2fs ] || need+=(e2fsprogs)
command -v cpio >/dev/null || need+=(cpio)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${need[*]} for the cross-check tests" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "warning: ${need[*]} missing and cannot be installed here; tests comparing with them will be skipped" >&2
  fi
fi
npm ci --no-audit --no-fund
npm run build # the CLI bundle, its code cache and the declaration files (as `npm pack` makes them)
npm test
