#!/usr/bin/env bash
# Install Debian packages for the test setup: as root, or through passwordless sudo.
# Usage: debian-install.sh PACKAGE...   (the ensure-*.sh scripts call it when needed)
set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
else
    echo "debian-install: not root and no sudo: install them with 'apt-get install -y $*'" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "$@"
