#!/usr/bin/env bash
# Regenerates the shipped module metadata of a reference kernel from a Debian kernel package:
#   apt-get download PACKAGE; dpkg -x; depmod -b  (see ../shared/research/matching.md §2.2)
# Usage (as root, with apt and kmod):
#   scripts/update-kernel-data.sh linux-image-6.1.0-56-amd64
#       writes data/kernel/<release>/{modules.alias,.order,.builtin,.builtin.modinfo,.softdep,.dep} and depmod's
#       binary indexes modules.{alias,dep,builtin,builtin.alias}.bin, which autoconfig reads as libkmod does (the
#       text files are its fallback and what the tests compare with)
#   scripts/update-kernel-data.sh --index-root DIR [--no-data] PACKAGE
#   scripts/update-kernel-data.sh --suite trixie linux-image-6.12.117+deb13-amd64
#       takes the package from another Debian suite through a private apt configuration (scripts/apt-suite.sh):
#       Debian 13's kernel on a Debian 12 machine. The suite is recorded in data/kernel/<release>/SOURCE.
#       also (or only) keeps DIR/lib/modules/<release>/modules.* including depmod's binary .bin indexes, without
#       the .ko files: a tree `modprobe -d DIR -S <release>` can resolve aliases in (the kmod cross-check tests).
# The release is the package's /lib/modules/<release>; Debian changes it (the ABI number) with security updates:
#   apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2}'
#   scripts/apt-suite.sh trixie apt-cache depends linux-image-amd64      (the same for Debian 13)
# Not run in CI for data/: the shipped files change only when someone runs this and commits the result.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
index_root=''
write_data=1
suite=''
while [ $# -gt 1 ]; do
  case "$1" in
    --index-root) index_root=$2; shift 2 ;;
    --no-data) write_data=0; shift ;;
    --suite) suite=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || { echo "usage: $0 [--index-root DIR] [--no-data] [--suite SUITE] PACKAGE" >&2; exit 2; }
package=$1
for tool in apt-get dpkg depmod; do
  command -v "$tool" >/dev/null || [ -x "/sbin/$tool" ] || [ -x "/usr/sbin/$tool" ] ||
    { echo "$0: $tool is needed (apt-get install -y kmod)" >&2; exit 1; }
done
export PATH="$PATH:/sbin:/usr/sbin"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# apt-get download as root into a directory _apt cannot write warns and goes on; a stale package list is
# refreshed once.
if [ -n "$suite" ]; then
  bash "$repo/scripts/apt-suite.sh" "$suite" apt-get download -q "$package" >/dev/null 2>apt.log || { cat apt.log >&2; exit 1; }
elif ! apt-get download -q "$package" >/dev/null 2>apt.log; then
  apt-get update -q >/dev/null 2>>apt.log || true
  apt-get download -q "$package" >/dev/null 2>>apt.log || { cat apt.log >&2; exit 1; }
fi
deb=$(ls ./*.deb)
dpkg -x ./*.deb root
# Debian 13 ships modules under /usr/lib/modules (merged /usr); Debian 12's depmod -b reads <root>/lib/modules.
if [ ! -d root/lib/modules ] && [ -d root/usr/lib/modules ]; then mkdir -p root/lib && mv root/usr/lib/modules root/lib/; fi
release=$(ls root/lib/modules)
[ "$(echo "$release" | wc -l)" -eq 1 ] || { echo "$0: expected one release in $package, got: $release" >&2; exit 1; }
depmod -b root "$release"
src=root/lib/modules/$release

if [ "$write_data" = 1 ]; then
  dest=$repo/data/kernel/$release
  mkdir -p "$dest"
  for f in modules.alias modules.order modules.builtin modules.builtin.modinfo modules.softdep modules.dep \
    modules.alias.bin modules.dep.bin modules.builtin.bin modules.builtin.alias.bin; do
    cp "$src/$f" "$dest/$f"
  done
  # Where the files came from, for the tests that rebuild the same tree for kmod (test/modalias/_kmod.ts), and the
  # Xen series the same Debian release ships (xen-hypervisor-X.Y-amd64): the plan reads this kernel's data as the
  # reference for that Xen and newer (src/plan/decide.ts).
  xen=$(bash "$repo/scripts/apt-suite.sh" "${suite:-$(. /etc/os-release; echo "$VERSION_CODENAME")}" apt-cache pkgnames xen-hypervisor- 2>/dev/null |
    sed -n 's/^xen-hypervisor-\([0-9][0-9.]*\)-amd64$/\1/p' | sort -V | tail -n1)
  printf 'package=%s\nversion=%s\nsuite=%s\nxen=%s\n' "$package" "$(dpkg-deb -f "$deb" Version)" "${suite:-default}" "$xen" >"$dest/SOURCE"
  echo "wrote $dest" >&2
fi
if [ -n "$index_root" ]; then
  dest=$index_root/lib/modules/$release
  mkdir -p "$dest"
  cp "$src"/modules.* "$dest/"
  echo "wrote $dest" >&2
fi
echo "$release"
