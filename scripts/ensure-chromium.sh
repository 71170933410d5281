#!/usr/bin/env bash
# The browser tests (tests/browser) drive Debian's Chromium at /usr/bin/chromium through
# Playwright's Python package; Playwright's own browser downloads are never used.
# Idempotent: does nothing when Chromium is there, else installs Debian's package.
set -euo pipefail
CHROMIUM=${ASSAY_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
echo "ensure-chromium: $CHROMIUM is missing; installing Debian's chromium package" >&2
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
else
    echo "ensure-chromium: not root and no sudo: install it with 'apt-get install -y chromium'" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-liberation
if [ ! -x "$CHROMIUM" ]; then
    echo "ensure-chromium: installed, but $CHROMIUM is still missing" >&2
    exit 1
fi
