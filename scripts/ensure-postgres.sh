#!/usr/bin/env bash
# The PostgreSQL runs of the test suite (TEST_DATABASE=postgresql, see the Makefile) start a
# throwaway cluster of Debian's PostgreSQL on a loopback port (tests/support/postgres.py).
# Idempotent: does nothing when initdb is there, else installs Debian's package.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    exit 0
fi
echo "ensure-postgres: PostgreSQL is missing; installing Debian's postgresql package" >&2
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
else
    echo "ensure-postgres: not root and no sudo: install it with 'apt-get install -y postgresql'" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends postgresql
# Debian's package starts a cluster of its own; the tests use their own, so stop it.
$SUDO service postgresql stop >/dev/null 2>&1 || true
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || {
    echo "ensure-postgres: installed, but initdb is still missing" >&2
    exit 1
}
