#!/usr/bin/env bash
# Install the Debian packages multiqueue-shm needs to build and test, if any
# are missing. Uses sudo when not run as root.
set -euo pipefail

packages=(build-essential cmake pkg-config libyaml-dev libjansson-dev libcriterion-dev graphviz tmux
  # the Python module and `type: python` blocks (Debian's python3 and numpy)
  python3-dev python3-numpy
  # the GStreamer bridge blocks, and the elements the examples and tests use
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools gstreamer1.0-plugins-base
  gstreamer1.0-plugins-base-apps gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly)
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
