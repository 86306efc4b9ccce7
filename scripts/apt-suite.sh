#!/usr/bin/env bash
# Runs apt-get or apt-cache against another Debian suite (e.g. trixie on a bookworm machine) through a private
# apt configuration: its own sources list, package lists and cache, so the machine's own apt setup is neither read
# for sources nor changed. The suite comes from the machine's Debian mirror (the first deb.debian.org-style URI in
# its sources), signed by the machine's debian-archive-keyring.
# Usage:  scripts/apt-suite.sh SUITE apt-get download PACKAGE...
#         scripts/apt-suite.sh SUITE apt-cache depends linux-image-amd64
# The lists live in $XENOPPIX_APT_CACHE/<suite> (default /var/cache/xenoppix-autoconfig/apt, else a temp dir when
# that is not writable) and are refreshed when older than a day.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 SUITE apt-get|apt-cache ARGS..." >&2; exit 2; }
suite=$1; tool=$2; shift 2
case "$suite" in *[!a-z0-9-]*|'') echo "$0: bad suite name: $suite" >&2; exit 2 ;; esac
case "$tool" in apt-get|apt-cache) ;; *) echo "$0: only apt-get or apt-cache, not $tool" >&2; exit 2 ;; esac

mirror() {
  # deb822 sources first (bookworm's default), then one-line sources; the main archive, not security.
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/{print $2}' | grep -v -- '-security' | head -n1 || true)
  [ -n "$uri" ] || uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1=="deb"{for(i=2;i<=NF;i++) if($i ~ /^https?:/){print $i; exit}}' | grep -v -- '-security' | head -n1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

base=${XENOPPIX_APT_CACHE:-/var/cache/xenoppix-autoconfig/apt}
if ! mkdir -p "$base" 2>/dev/null || [ ! -w "$base" ]; then base=${TMPDIR:-/tmp}/xenoppix-apt-$(id -u); fi
dir=$base/$suite
mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
echo "deb [signed-by=$keyring] $(mirror) $suite main" >"$dir/sources.list"
opts=(
  -o "Dir::Etc::sourcelist=$dir/sources.list" -o Dir::Etc::sourceparts=-
  -o "Dir::State::lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o Dir::State::status=/dev/null
  -o APT::Sandbox::User=root
)
# Refresh the lists once a day (or when missing); a failed refresh with old lists still lets the command try.
if [ -z "$(find "$dir/lists" -maxdepth 1 -name '*_Packages*' -mtime -1 2>/dev/null)" ]; then
  apt-get "${opts[@]}" -q update >"$dir/update.log" 2>&1 || { cat "$dir/update.log" >&2; [ -n "$(ls "$dir/lists" | grep Packages)" ] || exit 1; }
fi
exec "$tool" "${opts[@]}" "$@"
