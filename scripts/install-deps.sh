#!/usr/bin/env bash
# Installs everything pgd needs to build, test and run, from Debian's archive.
# Idempotent: a machine that has it all makes no network call.
set -euo pipefail

PACKAGES=(
  # build
  g++ cmake ninja-build pkg-config dpkg-dev
  # libraries
  libcli11-dev nlohmann-json3-dev libfmt-dev libexpected-dev libgtest-dev
  libpq-dev libsqlite3-dev libbtrfsutil-dev
  # runtime
  postgresql-15 postgresql-client-15 btrfs-progs xfsprogs util-linux mount passwd procps iproute2 openssl
  # tests and demo (zsh: the zsh completion is tested; man-db: the man page)
  jq zsh man-db
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}; run as root (sudo) to install them" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
