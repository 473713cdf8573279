#!/usr/bin/env bash
# deps.sh — install the Debian packages nestvm's build, tests and demo need.
# Idempotent; installs only what is missing.  Needs root (or sudo) the first time.
set -euo pipefail
pkgs=(build-essential make gcc libc6-dev linux-image-cloud-amd64 busybox-static cpio gzip
      bc tmux python3 kmod linux-libc-dev binutils)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
