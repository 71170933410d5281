#!/usr/bin/env bash
# The browser tests (tests/browser) drive Debian's Chromium at /usr/bin/chromium through
# Playwright's Python package; Playwright's own browser downloads are never used.
# Idempotent: does nothing when Chromium is there, else installs Debian's package.
set -euo pipefail
CHROMIUM=${ASSAY_CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] && exit 0
echo "ensure-chromium: $CHROMIUM is missing; installing Debian's chromium package" >&2
bash "$(dirname "$0")/debian-install.sh" chromium fonts-liberation
[ -x "$CHROMIUM" ] || { echo "ensure-chromium: installed, but $CHROMIUM is still missing" >&2; exit 1; }
