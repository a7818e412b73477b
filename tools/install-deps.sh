#!/usr/bin/env bash
# Install the Debian packages multiqueue-shm needs to build and test, if any
# are missing. Uses sudo when not run as root.
set -euo pipefail

packages=(build-essential cmake pkg-config libyaml-dev libjansson-dev libcriterion-dev graphviz tmux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
